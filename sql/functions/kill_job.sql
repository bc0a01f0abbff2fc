-- kill_job: `baton jobs kill`, the API's kill and the console's Kill button (Store.killJob).
--
-- Kills a job: one not yet started ends cancelled (it did nothing); a running one becomes
-- terminating until its worker stops it and reports terminated. Killing an orchestration run
-- kills its task jobs the same way and starts no more phases; the coordinator ends the run once
-- none of them runs. Returns what happened: not-found, finished (nothing to kill), cancelled,
-- or terminating. Workers learn of it through NOTIFY baton_jobs 'kill:ID,ID,...'.
CREATE OR REPLACE FUNCTION kill_job(p_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    target   jobs;
    stopping bigint[];
BEGIN
    SELECT * INTO target FROM jobs WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not-found';
    END IF;
    IF target.status IN ('success', 'warning', 'error', 'terminated', 'cancelled') THEN
        RETURN 'finished';
    END IF;

    -- Not started: cancelled, with nothing to stop.
    UPDATE jobs SET status = 'cancelled', desired_status = 'terminating', waiting_reason = NULL,
                    end_time = clock_timestamp(), result = '{"message": "cancelled before it started"}'
    WHERE (id = p_id OR orchestration_job_id = p_id) AND status IN ('created', 'waiting');

    -- Running: terminating until its worker (or, for a run, the coordinator) stops it.
    WITH marked AS (
        UPDATE jobs SET status = 'terminating', desired_status = 'terminating'
        WHERE (id = p_id OR orchestration_job_id = p_id) AND status IN ('processing', 'terminating')
        RETURNING id, type
    )
    SELECT array_agg(id) FILTER (WHERE type = 'standard') INTO stopping FROM marked;

    IF stopping IS NOT NULL THEN
        PERFORM pg_notify('baton_jobs', 'kill:' || array_to_string(stopping, ','));
    END IF;
    PERFORM pg_notify('baton_jobs', 'finished');
    RETURN CASE WHEN target.status IN ('created', 'waiting') THEN 'cancelled' ELSE 'terminating' END;
END $$;
COMMENT ON FUNCTION kill_job(bigint) IS
    'Kills a job (and the task jobs of an orchestration run): not started -> cancelled; running -> terminating. Returns not-found, finished, cancelled or terminating.';
