-- worker_turn: a worker's turn in one statement (WorkerSession.turn): finish_jobs for the
-- outcomes it has, then claim_jobs for its free slots. As BEGIN, finish, claim, COMMIT it was four
-- round trips; as one function call in autocommit it is one, and still one transaction (the
-- claim's advisory locks are held until its commit). Each row is a claimed job (one row with a
-- NULL job when none was claimed, so the accepted ids always arrive).

CREATE OR REPLACE FUNCTION worker_turn(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[],
                            p_limit integer, p_components text[], p_lease_seconds double precision)
RETURNS TABLE (accepted bigint[], job jobs)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ok bigint[] := '{}';
BEGIN
    IF cardinality(p_ids) > 0 THEN
        SELECT coalesce(array_agg(f), '{}') INTO ok FROM finish_jobs(p_worker, p_ids, p_attempts, p_statuses, p_results) f;
    END IF;
    RETURN QUERY SELECT ok, c FROM claim_jobs(p_worker, p_limit, p_components, p_lease_seconds, false) c;
    IF NOT FOUND THEN
        RETURN QUERY SELECT ok, NULL::jobs;
    END IF;
END $$;
COMMENT ON FUNCTION worker_turn(text, bigint[], integer[], job_status[], jsonb[], integer, text[], double precision) IS
    'One worker turn in one statement: finish_jobs for the outcomes, then claim_jobs for up to p_limit jobs. Returns the accepted outcome ids on every row, and one row per claimed job (a single row with a NULL job when none).';
