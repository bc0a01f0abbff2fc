-- release_jobs: a worker that reconnected gives back the jobs the database says it holds but it
-- does not run (WorkerSession.releaseJobs): their claim committed, but the reply was lost with the
-- connection, so the worker never started them. Each goes back to the queue at once, as if never
-- claimed (its attempt count undone), instead of waiting out the lease and ending worker-lost;
-- one someone asked to kill meanwhile ends cancelled (it never started). p_keep lists the
-- attempts the worker runs, or stopped itself, or inherited from an earlier process with the
-- same worker id: those stay for the coordinator's rescuer. Returns the jobs released.
CREATE OR REPLACE FUNCTION release_jobs(p_worker text, p_keep_ids bigint[], p_keep_attempts integer[])
RETURNS TABLE (job_id bigint, outcome text)
LANGUAGE sql VOLATILE AS $$
    WITH unrun AS (
        SELECT j.id FROM jobs j
        WHERE j.worker_id = p_worker AND j.status IN ('processing', 'terminating') AND j.type = 'standard'
          AND (j.id, j.attempt) NOT IN (SELECT * FROM unnest(p_keep_ids, p_keep_attempts))
        FOR UPDATE
    ), released AS (
        UPDATE jobs j SET
            status = CASE WHEN j.desired_status = 'terminating' THEN 'cancelled'::job_status ELSE 'created'::job_status END,
            attempt = CASE WHEN j.desired_status = 'terminating' THEN j.attempt ELSE j.attempt - 1 END,
            end_time = CASE WHEN j.desired_status = 'terminating' THEN clock_timestamp() END,
            result = CASE WHEN j.desired_status = 'terminating' THEN '{"message": "cancelled before it started"}'::jsonb ELSE j.result END,
            start_time = NULL, worker_id = NULL, heartbeat_time = NULL, lease_expires = NULL, waiting_reason = NULL
        FROM unrun
        WHERE j.id = unrun.id AND j.worker_id = p_worker AND j.status IN ('processing', 'terminating')
        RETURNING j.id, j.status::text AS outcome
    ), events AS (
        INSERT INTO job_events (job_id, stream, message)
        SELECT id, 'system', format('worker %s reconnected and does not run this job (the reply to its claim was lost): %s', p_worker,
                                    CASE outcome WHEN 'created' THEN 'queued again' ELSE outcome END)
        FROM released
    ), wake AS (
        SELECT pg_notify('baton_jobs', 'created:' || min(id) || ':' || count(*)) FROM released HAVING count(*) > 0
    )
    SELECT id, outcome FROM released, (SELECT count(*) FROM wake) w;
$$;
COMMENT ON FUNCTION release_jobs(text, bigint[], integer[]) IS
    'Gives back the jobs a reconnected worker holds in the database but does not run (a lost claim reply): queued again as if never claimed, or cancelled if killed meanwhile.';
