-- 007: wake one worker per new job, not all of them.
--
-- Every idle worker used to react to every 'created' notification: with 4 idle workers, 4
-- claims raced for one job on 2 cores and the winner waited for the losers (enqueue -> start
-- p50 3.1 ms with 4 workers, 2.0 ms with 1; bench/bench.py latency). Now the payload says
-- which jobs are new, 'created:FIRST_ID:COUNT', and each worker holds a rank (a session
-- advisory lock on its LISTEN connection, freed when the connection goes): the workers whose
-- position among the held ranks is FIRST_ID mod (number of ranks) .. + COUNT - 1 claim at once,
-- the others 25 ms later as a fallback (the Mailbox in BatonEngine). Jobs that
-- start waiting (queued behind their configuration) wake nobody: a finish does that.
--
-- A finish, too, woke every worker and the coordinator ('finished'), so each job cost every
-- idle worker an empty turn (8 empty turns a job in the latency bench). Now finish_jobs
-- notifies only when someone can act on it: a finished task of an orchestration run (the
-- coordinator), a failed attempt queued again, or jobs waiting for a finished job's
-- configuration or for a slot of its project.

CREATE OR REPLACE FUNCTION jobs_notify_created() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first_id bigint;
    n        bigint;
BEGIN
    SELECT min(id), count(*) INTO first_id, n FROM inserted WHERE status = 'created';
    IF n > 0 THEN
        PERFORM pg_notify('baton_jobs', 'created:' || first_id || ':' || n);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER jobs_notify_created ON jobs;
CREATE TRIGGER jobs_notify_created AFTER INSERT ON jobs REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_created();
COMMENT ON FUNCTION jobs_notify_created() IS
    'NOTIFY baton_jobs ''created:FIRST_ID:COUNT'' once per inserting statement that made claimable jobs.';

-- The lowest free worker rank, taken as a session advisory lock (key 1650553710, rank) on the
-- calling connection; NULL when 10,000 are taken.
CREATE FUNCTION take_worker_rank() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR k IN 0 .. 9999 LOOP
        IF pg_try_advisory_lock(1650553710, k) THEN
            RETURN k;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION take_worker_rank() IS
    'Takes the lowest free worker rank (session advisory lock 1650553710, rank) on this connection; released with pg_advisory_unlock or when the connection ends.';

-- The ranks held now, sorted: a worker's position in it decides which new jobs it claims first.
CREATE FUNCTION worker_ranks() RETURNS integer[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(objid::integer ORDER BY objid), '{}') FROM pg_locks
    WHERE locktype = 'advisory' AND classid = 1650553710 AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;
COMMENT ON FUNCTION worker_ranks() IS 'Worker ranks held in this database (see take_worker_rank), sorted.';

CREATE INDEX jobs_waiting_for_project ON jobs (project_id) WHERE status = 'waiting' AND waiting_reason = 'project-limit';

CREATE OR REPLACE FUNCTION finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[])
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    done   record;
    wake   boolean := false;
    ids    bigint[] := '{}';
BEGIN
    FOR done IN
        WITH reported AS (
            SELECT f.*, j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing' AS retry
            FROM unnest(p_ids, p_attempts, p_statuses, p_results) AS f(id, attempt, status, result)
            JOIN jobs j ON j.id = f.id AND j.attempt = f.attempt AND j.worker_id = p_worker
                       AND j.status IN ('processing', 'terminating')
        ), finished AS (
            UPDATE jobs j SET
                status = CASE WHEN r.retry THEN 'created' ELSE r.status END,
                end_time = CASE WHEN r.retry THEN NULL ELSE clock_timestamp() END,
                duration_seconds = CASE WHEN r.retry THEN NULL ELSE extract(epoch FROM clock_timestamp() - j.start_time) END,
                start_time = CASE WHEN r.retry THEN NULL ELSE j.start_time END,
                delayed_start_time = CASE WHEN r.retry THEN clock_timestamp() + make_interval(secs => j.retry_delay_seconds) ELSE j.delayed_start_time END,
                worker_id = CASE WHEN r.retry THEN NULL ELSE j.worker_id END,
                result = r.result,
                lease_expires = NULL
            FROM reported r
            WHERE j.id = r.id
            RETURNING j.id, r.retry, j.attempt, j.retries, j.retry_delay_seconds, j.project_id, j.component_id, j.config_id,
                      j.orchestration_job_id
        ), retry_events AS (
            INSERT INTO job_events (job_id, stream, message)
            SELECT id, 'system', format('attempt %s of %s failed; retrying in %s s', attempt, retries + 1, retry_delay_seconds)
            FROM finished WHERE retry
        )
        SELECT * FROM finished
    LOOP
        ids := ids || done.id;
        wake := wake OR done.retry OR done.orchestration_job_id IS NOT NULL;
        IF NOT wake THEN
            wake := EXISTS (SELECT 1 FROM jobs w
                            WHERE w.project_id = done.project_id AND w.component_id = done.component_id
                              AND w.config_id = done.config_id AND w.status = 'waiting')
                 OR EXISTS (SELECT 1 FROM jobs w
                            WHERE w.project_id = done.project_id AND w.status = 'waiting' AND w.waiting_reason = 'project-limit');
        END IF;
    END LOOP;
    IF wake THEN
        PERFORM pg_notify('baton_jobs', 'finished');
    END IF;
    RETURN QUERY SELECT unnest(ids);
END $$;
COMMENT ON FUNCTION finish_jobs(text, bigint[], integer[], job_status[], jsonb[]) IS
    'Records the outcome of jobs a worker ran; returns the ids accepted. Notifies baton_jobs ''finished'' when someone can act on it: a task of an orchestration run finished, an attempt was queued again, or jobs wait for the configuration or project slot freed.';
