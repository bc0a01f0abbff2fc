-- 002: claiming and finishing jobs.
--
-- Serialization per configuration follows "take the lock, then check, in a later statement":
-- a VOLATILE PL/pgSQL function gets a fresh snapshot for each statement (READ COMMITTED), so the
-- check that no job of the configuration is running sees every claim committed before the
-- advisory lock was granted. Checking in the same statement as the lock let pairs overlap.

-- p_containers false claims work for workers (never orchestration runs, and
-- within project limits, which count only work); true starts orchestration runs for the
-- coordinator (serialized per orchestration like any configuration, no project limit).
CREATE FUNCTION claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision,
                           p_containers boolean DEFAULT false)
RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidates  bigint[];
    cand        record;
    project     text;
    free        integer;
    key         text;
    want_type   text := CASE WHEN p_containers THEN 'orchestrationContainer' ELSE 'standard' END;
    eligible    bigint[] := '{}';
    taken       bigint[] := '{}';
    taken_keys  text[] := '{}';
    held_ids    bigint[] := '{}';
    held_why    text[] := '{}';
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RETURN;
    END IF;

    -- Oldest claimable jobs whose configuration is not running (a pre-filter, re-checked
    -- below). NOT IN over the few running jobs becomes one hashed lookup per scanned row.
    SELECT array_agg(id ORDER BY id) INTO candidates FROM (
        SELECT j.id FROM jobs j
        WHERE j.status IN ('created', 'waiting')
          AND j.type = want_type
          AND (j.delayed_start_time IS NULL OR j.delayed_start_time <= clock_timestamp())
          AND (p_components IS NULL OR j.component_id = ANY (p_components))
          AND (j.project_id, j.component_id, j.config_id) NOT IN (
              SELECT r.project_id, r.component_id, r.config_id FROM jobs r
              WHERE r.status IN ('processing', 'terminating'))
        ORDER BY j.id
        LIMIT p_limit * 4 + 16
        FOR UPDATE OF j SKIP LOCKED
    ) c;
    IF candidates IS NULL THEN
        RETURN;
    END IF;

    FOR cand IN SELECT id, project_id, component_id, config_id FROM jobs WHERE id = ANY (candidates) ORDER BY id LOOP
        EXIT WHEN cardinality(eligible) >= p_limit;
        key := cand.project_id || '/' || cand.component_id || '/' || cand.config_id;
        -- Advisory locks are re-entrant within a session: one job per configuration per batch.
        IF key = ANY (taken_keys) THEN
            held_ids := held_ids || cand.id; held_why := held_why || 'configuration-lock'::text;
            CONTINUE;
        END IF;
        IF NOT pg_try_advisory_xact_lock(hashtext('baton.configuration'), hashtext(key)) THEN
            held_ids := held_ids || cand.id; held_why := held_why || 'configuration-lock'::text;
            CONTINUE;
        END IF;
        -- A later statement: its snapshot includes every claim committed before the lock.
        IF EXISTS (SELECT 1 FROM jobs r
                   WHERE r.project_id = cand.project_id AND r.component_id = cand.component_id
                     AND r.config_id = cand.config_id AND r.status IN ('processing', 'terminating')) THEN
            held_ids := held_ids || cand.id; held_why := held_why || 'configuration-lock'::text;
            CONTINUE;
        END IF;
        eligible := eligible || cand.id;
        taken_keys := taken_keys || key;
    END LOOP;

    IF p_containers THEN
        taken := eligible;
    ELSE
        -- Project limits, last, so the project lock is held only for the count, the updates and
        -- the commit: lock each project (sorted, so claimers never deadlock), then count in a
        -- later statement, whose snapshot includes every claim committed before the lock.
        FOR project IN SELECT DISTINCT project_id FROM jobs WHERE id = ANY (eligible) ORDER BY 1 LOOP
            PERFORM pg_advisory_xact_lock(hashtext('baton.project'), hashtext(project));
            SELECT p.max_parallel_jobs - (
                       SELECT count(*) FROM jobs r
                       WHERE r.project_id = p.id AND r.status IN ('processing', 'terminating')
                         AND r.type = 'standard')
              INTO free FROM projects p WHERE p.id = project;
            FOR cand IN SELECT id FROM jobs WHERE id = ANY (eligible) AND project_id = project ORDER BY id LOOP
                IF coalesce(free, 0) > 0 THEN
                    taken := taken || cand.id;
                    free := free - 1;
                ELSE
                    held_ids := held_ids || cand.id; held_why := held_why || 'project-limit'::text;
                END IF;
            END LOOP;
        END LOOP;
    END IF;

    -- Say why the candidates left behind wait.
    UPDATE jobs j SET status = 'waiting', waiting_reason = h.why
    FROM unnest(held_ids, held_why) AS h(id, why)
    WHERE j.id = h.id AND (j.status, j.waiting_reason) IS DISTINCT FROM ('waiting'::job_status, h.why);

    IF cardinality(taken) = 0 THEN
        RETURN;
    END IF;

    RETURN QUERY
    UPDATE jobs j SET
        status = 'processing',
        waiting_reason = NULL,
        start_time = clock_timestamp(),
        worker_id = p_worker,
        attempt = j.attempt + 1,
        heartbeat_time = clock_timestamp(),
        lease_expires = clock_timestamp() + make_interval(secs => p_lease_seconds)
    WHERE j.id = ANY (taken)
    RETURNING j.*;
END $$;
COMMENT ON FUNCTION claim_jobs(text, integer, text[], double precision, boolean) IS
    'Claims up to p_limit claimable jobs for p_worker: at most one per configuration, none whose configuration runs; work within project limits (p_containers false) or orchestration runs for the coordinator (true). Held-back candidates become waiting with a reason.';

-- Ends claimed jobs. A report is accepted only from the worker and attempt that hold the job
-- (fencing), and only while it runs, so a job never has two outcomes. An error while automatic
-- retries remain (attempt <= retries, nobody asked to kill it) queues the job again after its
-- retry delay instead of ending it.
CREATE FUNCTION finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[])
RETURNS SETOF bigint
LANGUAGE sql VOLATILE AS $$
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
        RETURNING j.id, r.retry, j.attempt, j.retries, j.retry_delay_seconds
    ), retry_events AS (
        INSERT INTO job_events (job_id, stream, message)
        SELECT id, 'system', format('attempt %s of %s failed; retrying in %s s', attempt, retries + 1, retry_delay_seconds)
        FROM finished WHERE retry
    ), wake AS (
        SELECT pg_notify('baton_jobs', 'finished') FROM (SELECT 1 FROM finished LIMIT 1) x
    )
    SELECT id FROM finished, (SELECT count(*) FROM wake) w;
$$;
COMMENT ON FUNCTION finish_jobs(text, bigint[], integer[], job_status[], jsonb[]) IS
    'Records the outcome of jobs a worker ran; returns the ids accepted. Notifies baton_jobs so jobs waiting for the configuration or project slot are claimed at once.';
