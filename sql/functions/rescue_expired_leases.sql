-- rescue_expired_leases: run by the active coordinator every 2 s (CoordinatorSession.rescueExpiredLeases).
--
-- Rescues jobs whose worker stopped renewing their lease (it died, lost its machine or its
-- connection, or was stopped): past its lease a job is lost. By then its processes have stopped:
-- a worker stops a job whose lease it could not renew at two thirds of the lease, and a process
-- job's baton-shim does so even when its worker is dead or frozen. One someone asked to kill
-- ends terminated; one with automatic retries left is queued again; any other ends error with
-- reason worker-lost.
--
-- Exactly one outcome: the rows are locked with SKIP LOCKED (a row a finish or a kill holds is
-- left for the next round) and the UPDATE's WHERE re-checks that each is still running past its
-- lease, so a finish or a heartbeat that committed first wins. A late report from the lost
-- worker is refused by finish_jobs (the job is no longer processing under its attempt).
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
        FROM lost
        WHERE j.id = lost.id AND j.status IN ('processing', 'terminating') AND j.lease_expires < clock_timestamp()
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
