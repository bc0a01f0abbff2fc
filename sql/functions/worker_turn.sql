-- worker_turn: a worker's turn in one statement (WorkerSession.turn): finish_jobs for the
-- outcomes it has, then claim_jobs for its free slots, visiting projects from p_after (the
-- cursor the worker's previous turn returned). As BEGIN, finish, claim, COMMIT it was four
-- round trips; as one function call in autocommit it is one, and still one transaction (the
-- claim's advisory locks are held until its commit). Each row is a claimed job (one row with a
-- NULL job when none was claimed, so the accepted ids and the cursor always arrive).
DROP FUNCTION IF EXISTS worker_turn(text, bigint[], integer[], job_status[], jsonb[], integer, text[], double precision);

CREATE OR REPLACE FUNCTION worker_turn(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[],
                                       p_limit integer, p_components text[], p_lease_seconds double precision, p_after text DEFAULT NULL)
RETURNS TABLE (accepted bigint[], claim_cursor text, job jobs)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ok bigint[] := '{}';
    claimed jobs[];
BEGIN
    IF cardinality(p_ids) > 0 THEN
        SELECT coalesce(array_agg(f), '{}') INTO ok FROM finish_jobs(p_worker, p_ids, p_attempts, p_statuses, p_results) f;
    END IF;
    claimed := ARRAY(SELECT c FROM claim_jobs(p_worker, p_limit, p_components, p_lease_seconds, false, p_after) c);
    IF cardinality(claimed) = 0 THEN
        RETURN QUERY SELECT ok, nullif(current_setting('baton.claim_cursor', true), ''), NULL::jobs;
    ELSE
        RETURN QUERY SELECT ok, nullif(current_setting('baton.claim_cursor', true), ''), c FROM unnest(claimed) c;
    END IF;
END $$;
COMMENT ON FUNCTION worker_turn(text, bigint[], integer[], job_status[], jsonb[], integer, text[], double precision, text) IS
    'One worker turn in one statement: finish_jobs for the outcomes, then claim_jobs for up to p_limit jobs from project p_after on. Returns the accepted outcome ids and the claim''s cursor on every row, and one row per claimed job (a single row with a NULL job when none).';
