-- finish_jobs: records the outcomes a worker reports (called by worker_turn); returns the ids
-- accepted. A failed attempt with automatic retries left is queued again.
--
-- Exactly one outcome: the fence (the job is still processing or terminating, under this
-- worker and this attempt) is in the UPDATE's own WHERE, and the retry is decided from the row
-- in the SET. Under READ COMMITTED an UPDATE that waited for another transaction's lock on the
-- row re-reads the row as committed and re-checks its WHERE and SET against it: a rescue, kill
-- or cancel that commits first wins, and this report then changes nothing and is not accepted
-- (a check in a CTE on the statement's snapshot let a late report overwrite a rescue).
--
-- It NOTIFYs baton_jobs 'finished' only when someone can act on it: a task of an orchestration
-- run finished (the coordinator), an attempt was queued again, or jobs wait for the finished
-- job's configuration or for a slot of its project. Waking every worker on every finish cost
-- each idle worker an empty turn per job (8 empty turns a job in the latency bench).

CREATE OR REPLACE FUNCTION finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[])
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    wake   boolean;
    ids    bigint[];
BEGIN
    WITH finished AS (
        UPDATE jobs j SET
            status = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing') THEN 'created'
                          ELSE f.status END,
            end_time = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing') THEN NULL
                            ELSE clock_timestamp() END,
            duration_seconds = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing') THEN NULL
                                    ELSE extract(epoch FROM clock_timestamp() - j.start_time) END,
            start_time = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing') THEN NULL
                              ELSE j.start_time END,
            delayed_start_time = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing')
                                      THEN clock_timestamp() + make_interval(secs => j.retry_delay_seconds) ELSE j.delayed_start_time END,
            worker_id = CASE WHEN (j.attempt <= j.retries AND f.status = 'error' AND j.desired_status = 'processing') THEN NULL
                             ELSE j.worker_id END,
            result = f.result,
            lease_expires = NULL
        FROM unnest(p_ids, p_attempts, p_statuses, p_results) AS f(id, attempt, status, result)
        WHERE j.id = f.id AND j.attempt = f.attempt AND j.worker_id = p_worker
          AND j.status IN ('processing', 'terminating')
        RETURNING j.id, j.status = 'created' AS retry, j.attempt, j.retries, j.retry_delay_seconds, j.project_id, j.component_id,
                  j.config_id, j.orchestration_job_id
    ), retry_events AS (
        INSERT INTO job_events (job_id, stream, message)
        SELECT id, 'system', format('attempt %s of %s failed; retrying in %s s', attempt, retries + 1, retry_delay_seconds)
        FROM finished WHERE retry
    )
    -- One statement for the whole batch (a PL/pgSQL loop over the jobs cost a statement each).
    SELECT coalesce(array_agg(f.id), '{}'),
           coalesce(bool_or(f.retry OR f.orchestration_job_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM jobs w
                               WHERE w.project_id = f.project_id AND w.component_id = f.component_id
                                 AND w.config_id = f.config_id AND w.status = 'waiting')
                    OR EXISTS (SELECT 1 FROM jobs w
                               WHERE w.project_id = f.project_id AND w.status = 'waiting' AND w.waiting_reason = 'project-limit')), false)
      INTO ids, wake
    FROM finished f;
    IF wake THEN
        PERFORM pg_notify('baton_jobs', 'finished');
    END IF;
    RETURN QUERY SELECT unnest(ids);
END $$;
COMMENT ON FUNCTION finish_jobs(text, bigint[], integer[], job_status[], jsonb[]) IS
    'Records the outcome of jobs a worker ran; returns the ids accepted. Notifies baton_jobs ''finished'' when someone can act on it: a task of an orchestration run finished, an attempt was queued again, or jobs wait for the configuration or project slot freed.';
