-- 004: kill and timeouts.

ALTER TABLE jobs ADD COLUMN timeout_seconds double precision CHECK (timeout_seconds > 0);
ALTER TABLE components ADD COLUMN timeout_seconds double precision CHECK (timeout_seconds > 0);
COMMENT ON COLUMN components.timeout_seconds IS 'Default timeout of this component''s jobs; a job''s or task''s own timeoutSeconds wins.';
COMMENT ON COLUMN jobs.timeout_seconds IS 'Stop the job (like a kill) once it has been processing this long; it then ends error with reason timeout. NULL: no limit.';

-- Kills a job: one not yet started ends cancelled (it did nothing); a running one becomes
-- terminating until its worker stops it and reports terminated. Killing an orchestration run
-- kills its task jobs the same way and starts no more phases; the coordinator ends the run once
-- none of them runs. Returns what happened: not-found, finished (nothing to kill), cancelled,
-- or terminating. Workers learn of it through NOTIFY baton_jobs 'kill:ID,ID,...'.
CREATE FUNCTION kill_job(p_id bigint) RETURNS text
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

CREATE INDEX jobs_leases ON jobs (lease_expires) WHERE status IN ('processing', 'terminating');

-- Rescues jobs whose worker stopped heart-beating (died, lost its machine or its connection):
-- past its lease a job is lost. One someone asked to kill ends terminated; one with automatic
-- retries left is queued again; any other ends error with reason worker-lost. Run by the
-- active coordinator. A late report from the lost worker is then refused by finish_jobs'
-- fencing (the job is no longer processing under its attempt).
CREATE FUNCTION rescue_expired_leases() RETURNS TABLE (job_id bigint, outcome text)
LANGUAGE sql VOLATILE AS $$
    WITH lost AS (
        SELECT id FROM jobs
        WHERE status IN ('processing', 'terminating') AND type = 'standard' AND lease_expires < clock_timestamp()
        FOR UPDATE SKIP LOCKED
    ), rescued AS (
        UPDATE jobs j SET
            status = CASE WHEN j.status = 'terminating' THEN 'terminated'::job_status
                          WHEN j.attempt <= j.retries THEN 'created'::job_status
                          ELSE 'error'::job_status END,
            end_time = CASE WHEN j.status <> 'terminating' AND j.attempt <= j.retries THEN NULL ELSE clock_timestamp() END,
            duration_seconds = CASE WHEN j.status <> 'terminating' AND j.attempt <= j.retries THEN NULL
                                    ELSE extract(epoch FROM clock_timestamp() - j.start_time) END,
            start_time = CASE WHEN j.status <> 'terminating' AND j.attempt <= j.retries THEN NULL ELSE j.start_time END,
            delayed_start_time = CASE WHEN j.status <> 'terminating' AND j.attempt <= j.retries
                                      THEN clock_timestamp() + make_interval(secs => j.retry_delay_seconds) ELSE j.delayed_start_time END,
            result = jsonb_build_object('message', format('worker %s lost: no heartbeat since %s', j.worker_id, j.heartbeat_time),
                                        'reason', 'worker-lost'),
            lease_expires = NULL
        FROM lost WHERE j.id = lost.id
        RETURNING j.id, j.status::text AS outcome, j.worker_id
    ), events AS (
        INSERT INTO job_events (job_id, stream, message)
        SELECT id, 'system', format('worker %s lost (lease expired): %s', worker_id, outcome) FROM rescued
    ), wake AS (
        SELECT pg_notify('baton_jobs', 'finished') FROM (SELECT 1 FROM rescued LIMIT 1) x
    )
    SELECT id, outcome FROM rescued, (SELECT count(*) FROM wake) w;
$$;
COMMENT ON FUNCTION rescue_expired_leases() IS
    'Ends or re-queues jobs whose lease expired (their worker is lost): terminating -> terminated, retries left -> created, else error with reason worker-lost.';
