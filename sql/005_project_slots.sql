-- 005: project limits without a project-wide lock.
--
-- Before, a claim took one advisory lock per project and held it to commit, so the claims of
-- all workers in a project ran one after another, commit fsync included: in bench/run the
-- claims spent 3.7 ms of their 5.4 ms waiting for that lock (pg_stat_statements) and the
-- fleet topped out near 3,500 jobs/s. Now a project of limit L has slots 0..L-1; a running job
-- holds one (jobs.project_slot), taken under a try-lock like a configuration, so claimers
-- proceed side by side and the limit still holds exactly (a unique index backs it).

ALTER TABLE jobs ADD COLUMN project_slot integer;
COMMENT ON COLUMN jobs.project_slot IS 'The project slot (0 .. max_parallel_jobs - 1) a running job of type standard holds; at most max_parallel_jobs run at once per project. Meaningless once the job stops running.';

-- Backstop for the project limit, and the lookup of slots in use (replaces jobs_running_per_project).
CREATE UNIQUE INDEX jobs_one_per_project_slot ON jobs (project_id, project_slot)
    WHERE status IN ('processing', 'terminating');
DROP INDEX jobs_running_per_project;

CREATE OR REPLACE FUNCTION claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision,
                           p_containers boolean DEFAULT false)
RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidates  bigint[];
    cand        record;
    project     text;
    free        integer;
    lim         integer;
    slot        integer;
    running     integer;
    i           integer;
    used        integer[];
    tries       integer[];
    got         integer[];
    wanted      bigint[];
    taken_slots integer[] := '{}';
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
    -- No row locks: a job is claimed only under its configuration's advisory lock, so two
    -- claimers never take the same job, and the final UPDATE re-checks that it is still
    -- claimable. (FOR UPDATE SKIP LOCKED here wrote a lock on every candidate, 4 per job claimed.)
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
    ) c;
    IF candidates IS NULL THEN
        RETURN;
    END IF;

    FOR cand IN SELECT id, project_id, component_id, config_id FROM jobs WHERE id = ANY (candidates) ORDER BY id LOOP
        EXIT WHEN cardinality(eligible) >= p_limit;
        key := cand.project_id || '/' || cand.component_id || '/' || cand.config_id;
        -- Advisory locks are re-entrant within a session: one job per configuration per batch.
        -- Under the lock no other claimer can take this job, so saying why it waits is safe.
        IF key = ANY (taken_keys) THEN
            held_ids := held_ids || cand.id; held_why := held_why || 'configuration-lock'::text;
            CONTINUE;
        END IF;
        -- Another claimer holds the configuration right now: leave its jobs to it, untouched.
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtext('baton.configuration'), hashtext(key));
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
        taken_slots := array_fill(NULL::integer, ARRAY[cardinality(eligible)]);
    ELSE
        -- Project limits, last: a project of limit L has slots 0..L-1 and a running job holds
        -- one. A slot is taken like a configuration: try its advisory lock, then check in a later
        -- statement that no running job holds it. Claimers take different slots side by side;
        -- one lock per project held to commit (as before) made every claim of a project wait
        -- for the one before it, fsync included.
        FOR project IN SELECT DISTINCT project_id FROM jobs WHERE id = ANY (eligible) ORDER BY 1 LOOP
            SELECT p.max_parallel_jobs INTO lim FROM projects p WHERE p.id = project;
            lim := coalesce(lim, 0);
            SELECT array_agg(id ORDER BY id) INTO wanted FROM jobs WHERE id = ANY (eligible) AND project_id = project;
            got := '{}';
            -- Slots that look free now (a pre-filter; each is re-checked under its lock).
            SELECT coalesce(array_agg(r.project_slot) FILTER (WHERE r.project_slot IS NOT NULL), '{}'),
                   count(*) FILTER (WHERE r.type = 'standard')
              INTO used, running FROM jobs r
            WHERE r.project_id = project AND r.status IN ('processing', 'terminating');
            free := lim - running;
            IF free > 0 THEN
                IF lim <= 64 OR free <= 64 THEN
                    -- Few slots: every free one, in random order so claimers spread out.
                    SELECT coalesce(array_agg(g ORDER BY random()), '{}') INTO tries
                    FROM generate_series(0, lim - 1) g WHERE g <> ALL (used);
                ELSE
                    -- Many free slots: random picks, nearly all free.
                    SELECT coalesce(array_agg(DISTINCT g), '{}') INTO tries FROM (
                        SELECT floor(random() * lim)::integer AS g
                        FROM generate_series(1, cardinality(wanted) * 2 + 8)) r
                    WHERE g <> ALL (used);
                END IF;
                FOREACH slot IN ARRAY tries LOOP
                    EXIT WHEN cardinality(got) >= cardinality(wanted);
                    CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtext('baton.project-slot'), hashtext(project || '#' || slot));
                    -- A later statement: its snapshot includes every claim committed before the lock.
                    CONTINUE WHEN EXISTS (SELECT 1 FROM jobs r
                                          WHERE r.project_id = project AND r.project_slot = slot
                                            AND r.status IN ('processing', 'terminating'));
                    got := got || slot;
                END LOOP;
            END IF;
            FOR i IN 1 .. cardinality(wanted) LOOP
                IF i <= cardinality(got) THEN
                    taken := taken || wanted[i];
                    taken_slots := taken_slots || got[i];
                ELSE
                    held_ids := held_ids || wanted[i]; held_why := held_why || 'project-limit'::text;
                END IF;
            END LOOP;
        END LOOP;
    END IF;

    -- Say why the candidates left behind wait.
    UPDATE jobs j SET status = 'waiting', waiting_reason = h.why
    FROM unnest(held_ids, held_why) AS h(id, why)
    WHERE j.id = h.id AND j.status IN ('created', 'waiting')
      AND (j.status, j.waiting_reason) IS DISTINCT FROM ('waiting'::job_status, h.why);

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
        lease_expires = clock_timestamp() + make_interval(secs => p_lease_seconds),
        project_slot = t.slot
    FROM unnest(taken, taken_slots) AS t(id, slot)
    WHERE j.id = t.id AND j.status IN ('created', 'waiting')   -- not killed since it was picked
    RETURNING j.*;
END $$;

COMMENT ON FUNCTION claim_jobs(text, integer, text[], double precision, boolean) IS
    'Claims up to p_limit claimable jobs for p_worker: at most one per configuration, none whose configuration runs; work within project limits, each job taking a free project slot (p_containers false), or orchestration runs for the coordinator (true). Held-back candidates become waiting with a reason.';

-- finish_jobs, unchanged in what it does, now in PL/pgSQL: PostgreSQL 15 plans the body of a
-- LANGUAGE sql function on every call, PL/pgSQL keeps the plan. pg_stat_statements in bench/run:
-- 1.33 ms a call of which the statement itself took 0.52 ms.
CREATE OR REPLACE FUNCTION finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses job_status[], p_results jsonb[])
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY
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
END $$;
