-- rescue_expired_leases: run by the active coordinator every 2 s (CoordinatorSession.rescueExpiredLeases).
--
-- Rescues jobs whose worker stopped heart-beating (died, lost its machine or its connection):
-- past its lease a job is lost. One someone asked to kill ends terminated; one with automatic
-- retries left is queued again; any other ends error with reason worker-lost. Run by the
-- active coordinator. A late report from the lost worker is then refused by finish_jobs'
-- fencing (the job is no longer processing under its attempt).
CREATE OR REPLACE FUNCTION rescue_expired_leases() RETURNS TABLE (job_id bigint, outcome text)
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
