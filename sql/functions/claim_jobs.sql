-- claim_jobs: claims up to p_limit jobs for a worker (worker_turn), or starts orchestration runs
-- for the coordinator (p_containers; CoordinatorSession.startRuns).
--
-- The rules it keeps (README, "Jobs and their statuses"):
-- * Serialization per configuration: take the configuration's advisory lock, then check in a
--   LATER statement that no job of it is running. A VOLATILE PL/pgSQL function takes a fresh
--   snapshot per statement (READ COMMITTED), so the check sees every claim committed before the
--   lock was granted; checking in the same statement let pairs overlap. Only queue heads are
--   candidates (no older claimable job of the same configuration), so a batch holds at most one
--   job per configuration, which matters because advisory locks are re-entrant in a session.
--   The unique index jobs_one_running_per_configuration is the backstop.
-- * Project limits: a project of limit L has slots 0..L-1 and a running job holds one
--   (jobs.project_slot), taken under a try-lock and checked in a later statement like a
--   configuration, so claimers of one project proceed side by side (one lock per project held to
--   commit made them queue, fsync included: 3.7 of 5.4 ms per claim). The unique index
--   jobs_one_per_project_slot is the backstop. A limit takes effect at the next claim: a project
--   whose running jobs still hold slots at or above a lowered limit is claimed for under a
--   project lock, counting its running jobs, until none does.
-- * Pauses (sql/functions/pauses.sql): jobs of a paused project, component or configuration
--   are not candidates; a job paused after it was picked is not claimed (the final UPDATE
--   re-checks its row).
-- * Fair share: projects with claimable jobs are visited in turn, from p_after (the last
--   project this worker's previous claim visited; worker_turn passes it back) round the key
--   space, each project's heads oldest first. A project at its limit costs an index look-up, not
--   a scan of its backlog. The last project visited is left in the setting baton.claim_cursor.
--
-- Set-based: a handful of statements per claim and per project visited, not a dozen per candidate.

DROP FUNCTION IF EXISTS claim_jobs(text, integer, text[], double precision, boolean);

CREATE OR REPLACE FUNCTION claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision,
                                      p_containers boolean DEFAULT false, p_after text DEFAULT NULL)
RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE
-- A claim reads a few dozen rows: a parallel plan (which a generic plan over a large backlog
-- can get) cost 10 ms of worker start-up each time in pgbench.
SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    now_        timestamptz := clock_timestamp();
    projects_   text[];
    project_    text;
    last_       text;
    lim         integer;
    running     integer;
    used        integer[];
    top         integer;
    want        integer;
    heads       bigint[];
    head_keys   text[];
    slots       integer[];
    c_ids       bigint[] := '{}';     -- candidates, in the order they are served
    c_keys      text[] := '{}';       -- their configuration's lock key
    c_projects  text[] := '{}';
    c_components text[] := '{}';
    c_configs   text[] := '{}';
    head_components text[];
    head_configs text[];
    c_slots     integer[] := '{}';    -- the slot each one got (NULL for runs)
    locked      bigint[];
    blocked     bigint[];
    held_ids    bigint[] := '{}';
    held_why    text[] := '{}';
    remaining   integer := p_limit;
    scan        integer;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        RETURN;
    END IF;

    IF p_containers THEN
        -- Orchestration runs: the oldest heads, serialized per orchestration; no project limit.
        SELECT coalesce(array_agg(h.id ORDER BY h.id), '{}'),
               coalesce(array_agg(h.project_id || '/' || h.component_id || '/' || h.config_id ORDER BY h.id), '{}'),
               coalesce(array_agg(h.project_id ORDER BY h.id), '{}'), coalesce(array_agg(h.component_id ORDER BY h.id), '{}'),
               coalesce(array_agg(h.config_id ORDER BY h.id), '{}')
          INTO c_ids, c_keys, c_projects, c_components, c_configs
        FROM (
            SELECT j.id, j.project_id, j.component_id, j.config_id FROM jobs j
            WHERE j.status IN ('created', 'waiting') AND j.type = 'orchestrationContainer'
              AND NOT EXISTS (SELECT 1 FROM jobs e
                              WHERE e.project_id = j.project_id AND e.component_id = j.component_id AND e.config_id = j.config_id
                                AND e.id < j.id AND e.status IN ('created', 'waiting'))
              AND NOT EXISTS (SELECT 1 FROM jobs r
                              WHERE r.project_id = j.project_id AND r.component_id = j.component_id AND r.config_id = j.config_id
                                AND r.status IN ('processing', 'terminating'))
            ORDER BY j.id LIMIT p_limit) h;
    ELSE
        -- Projects with claimable work, in turn from p_after: each step is one descent of
        -- jobs_queue_by_project. At most a batch's worth (and some) per claim.
        scan := p_limit * 2 + 8;
        projects_ := ARRAY(
            WITH RECURSIVE visit(p, n) AS (
                SELECT (SELECT j.project_id FROM jobs j
                        WHERE j.status IN ('created', 'waiting') AND j.type = 'standard' AND j.project_id > coalesce(p_after, '')
                        ORDER BY j.project_id LIMIT 1), 1
                UNION ALL
                SELECT (SELECT j.project_id FROM jobs j
                        WHERE j.status IN ('created', 'waiting') AND j.type = 'standard' AND j.project_id > v.p
                        ORDER BY j.project_id LIMIT 1), v.n + 1
                FROM visit v WHERE v.p IS NOT NULL AND v.n < scan
            ) SELECT p FROM visit WHERE p IS NOT NULL);
        IF p_after IS NOT NULL AND cardinality(projects_) < scan THEN
            -- Round the key space: the projects up to and including p_after.
            projects_ := projects_ || ARRAY(
                WITH RECURSIVE visit(p, n) AS (
                    SELECT (SELECT j.project_id FROM jobs j
                            WHERE j.status IN ('created', 'waiting') AND j.type = 'standard'
                            ORDER BY j.project_id LIMIT 1), 1
                    UNION ALL
                    SELECT (SELECT j.project_id FROM jobs j
                            WHERE j.status IN ('created', 'waiting') AND j.type = 'standard' AND j.project_id > v.p
                            ORDER BY j.project_id LIMIT 1), v.n + 1
                    FROM visit v WHERE v.p IS NOT NULL AND v.p < p_after AND v.n < scan
                ) SELECT p FROM visit WHERE p IS NOT NULL AND p <= p_after AND NOT (p = ANY (projects_)));
        END IF;

        FOREACH project_ IN ARRAY projects_ LOOP
            EXIT WHEN remaining <= 0;
            last_ := project_;
            -- Its limit and what runs now (an index-only look at its running jobs).
            SELECT p.max_parallel_jobs, r.n, r.used, r.top INTO lim, running, used, top
            FROM projects p,
                 LATERAL (SELECT count(x.project_slot)::integer AS n,
                                 coalesce(array_agg(x.project_slot) FILTER (WHERE x.project_slot IS NOT NULL), '{}') AS used,
                                 coalesce(max(x.project_slot), -1) AS top
                          FROM jobs x WHERE x.project_id = project_ AND x.status IN ('processing', 'terminating')) r
            WHERE p.id = project_;
            IF lim IS NULL THEN CONTINUE; END IF;

            IF top >= lim THEN
                -- A lowered limit with jobs still above it: claims of this project take turns
                -- under a project lock and count in a later statement what runs.
                CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtext('baton.project'), hashtext(project_));
                SELECT count(x.project_slot)::integer, coalesce(array_agg(x.project_slot) FILTER (WHERE x.project_slot IS NOT NULL), '{}')
                  INTO running, used
                FROM jobs x WHERE x.project_id = project_ AND x.status IN ('processing', 'terminating');
            END IF;

            want := least(lim - running, remaining);
            IF want <= 0 THEN
                -- At its limit: say so on its oldest job, once (an index probe when it is said already).
                UPDATE jobs j SET status = 'waiting', waiting_reason = 'project-limit'
                WHERE j.id = (SELECT q.id FROM jobs q
                              WHERE q.project_id BETWEEN project_ AND project_ AND q.status IN ('created', 'waiting') AND q.type = 'standard'
                              ORDER BY q.project_id, q.id LIMIT 1)
                  AND j.status IN ('created', 'waiting') AND j.waiting_reason IS DISTINCT FROM 'configuration-lock'
                  AND j.waiting_reason IS DISTINCT FROM 'paused'
                  AND (j.status, j.waiting_reason) IS DISTINCT FROM ('waiting'::job_status, 'project-limit');
                CONTINUE;
            END IF;

            -- Its oldest heads whose configuration is not running (a pre-filter, checked again below).
            SELECT coalesce(array_agg(h.id ORDER BY h.id), '{}'), coalesce(array_agg(h.key ORDER BY h.id), '{}'),
                   coalesce(array_agg(h.component_id ORDER BY h.id), '{}'), coalesce(array_agg(h.config_id ORDER BY h.id), '{}')
              INTO heads, head_keys, head_components, head_configs
            FROM (
                SELECT j.id, j.project_id || '/' || j.component_id || '/' || j.config_id AS key, j.component_id, j.config_id FROM jobs j
                -- BETWEEN, not =: with an equality the planner may walk the primary key in id
                -- order (it gives the same order for one project) through every finished job;
                -- the generic plan a worker's session keeps did, once, and a claim took 18 ms.
                WHERE j.project_id BETWEEN project_ AND project_ AND j.status IN ('created', 'waiting') AND j.type = 'standard'
                  AND (j.delayed_start_time IS NULL OR j.delayed_start_time <= now_)
                  AND (p_components IS NULL OR j.component_id = ANY (p_components))
                  AND NOT is_paused(j.project_id, j.component_id, j.config_id)
                  AND NOT EXISTS (SELECT 1 FROM jobs e
                                  WHERE e.project_id = j.project_id AND e.component_id = j.component_id AND e.config_id = j.config_id
                                    AND e.id < j.id AND e.status IN ('created', 'waiting')
                                    AND (e.delayed_start_time IS NULL OR e.delayed_start_time <= now_))
                  -- NOT IN over the project's few running jobs: one hashed look-up per row.
                  AND (j.component_id, j.config_id) NOT IN (
                      SELECT r.component_id, r.config_id FROM jobs r
                      WHERE r.project_id = project_ AND r.status IN ('processing', 'terminating'))
                ORDER BY j.project_id, j.id LIMIT want * 2 + 8) h;
            -- Their configurations' locks, oldest first, until `want` are held: other claimers
            -- look at the same oldest heads, so some are theirs by now and the next ones serve.
            SELECT coalesce(array_agg(c.id ORDER BY c.n), '{}'), coalesce(array_agg(c.key ORDER BY c.n), '{}'),
                   coalesce(array_agg(c.component ORDER BY c.n), '{}'), coalesce(array_agg(c.config ORDER BY c.n), '{}')
              INTO heads, head_keys, head_components, head_configs
            FROM (SELECT c.id, c.key, c.component, c.config, c.n
                  FROM unnest(heads, head_keys, head_components, head_configs) WITH ORDINALITY AS c(id, key, component, config, n)
                  WHERE pg_try_advisory_xact_lock(hashtext('baton.configuration'), hashtext(c.key))
                  LIMIT want) c;   -- no ORDER BY here: rows are pulled (and locked) in order, only until `want` hold
            c_ids := c_ids || heads;
            c_keys := c_keys || head_keys;
            c_projects := c_projects || array_fill(project_, ARRAY[cardinality(heads)]);
            c_components := c_components || head_components;
            c_configs := c_configs || head_configs;
            remaining := remaining - cardinality(heads);
        END LOOP;
        PERFORM set_config('baton.claim_cursor', coalesce(last_, ''), true);
    END IF;

    IF cardinality(c_ids) = 0 THEN
        RETURN;
    END IF;

    -- Configuration locks (the runs' here; the work's were taken project by project above, and
    -- taking one again is free), then (a later statement, a later snapshot) the configurations
    -- that run now.
    locked := ARRAY(SELECT c.id FROM unnest(c_ids, c_keys) AS c(id, key)
                    WHERE pg_try_advisory_xact_lock(hashtext('baton.configuration'), hashtext(c.key)));
    blocked := ARRAY(
        SELECT c.id FROM unnest(c_ids, c_projects, c_components, c_configs) AS c(id, project, component, config)
        WHERE c.id = ANY (locked)
          AND EXISTS (SELECT 1 FROM jobs r
                      WHERE r.project_id = c.project AND r.component_id = c.component AND r.config_id = c.config
                        AND r.status IN ('processing', 'terminating')));
    IF p_containers THEN
        c_slots := array_fill(NULL::integer, ARRAY[cardinality(c_ids)]);
    ELSE
        -- Slots for the candidates that hold their configuration, project by project: free ones
        -- below the limit, in random order so claimers spread out, each taken under its try-lock
        -- (rows are pulled only until enough are locked), then checked in a later statement.
        c_slots := array_fill(NULL::integer, ARRAY[cardinality(c_ids)]);
        FOREACH project_ IN ARRAY ARRAY(SELECT DISTINCT p FROM unnest(c_projects) p) LOOP
            want := (SELECT count(*) FROM unnest(c_ids, c_projects) c(id, p)
                     WHERE c.p = project_ AND c.id = ANY (locked) AND NOT (c.id = ANY (blocked)));
            CONTINUE WHEN want = 0;
            SELECT p.max_parallel_jobs, coalesce(array_agg(x.project_slot) FILTER (WHERE x.project_slot IS NOT NULL), '{}')
              INTO lim, used
            FROM projects p LEFT JOIN jobs x ON x.project_id = p.id AND x.status IN ('processing', 'terminating')
            WHERE p.id = project_ GROUP BY p.max_parallel_jobs;
            IF lim - cardinality(used) <= 64 THEN
                -- Few free: every free one, in random order.
                slots := ARRAY(
                    SELECT s FROM (SELECT g AS s FROM generate_series(0, lim - 1) g WHERE g <> ALL (used) ORDER BY random()) f
                    WHERE pg_try_advisory_xact_lock(hashtext('baton.project-slot'), hashtext(project_ || '#' || s))
                    LIMIT want);
            ELSE
                -- Many free: random picks, nearly all free (sorting every slot of a large limit cost more than the claim).
                slots := ARRAY(
                    SELECT s FROM (SELECT DISTINCT floor(random() * lim)::integer AS s FROM generate_series(1, want * 2 + 8)) f
                    WHERE s <> ALL (used) AND pg_try_advisory_xact_lock(hashtext('baton.project-slot'), hashtext(project_ || '#' || s))
                    LIMIT want);
            END IF;
            -- A later statement: the slots a claim committed since they looked free are not free.
            slots := ARRAY(SELECT s FROM unnest(slots) s
                           WHERE NOT EXISTS (SELECT 1 FROM jobs r WHERE r.project_id = project_ AND r.project_slot = s
                                                                    AND r.status IN ('processing', 'terminating')));
            -- Oldest first get them.
            want := 0;
            FOR i IN 1 .. cardinality(c_ids) LOOP
                IF c_projects[i] = project_ AND c_ids[i] = ANY (locked) AND NOT (c_ids[i] = ANY (blocked)) THEN
                    want := want + 1;
                    IF want <= cardinality(slots) THEN c_slots[i] := slots[want]; END IF;
                END IF;
            END LOOP;
        END LOOP;
    END IF;

    -- Say why the candidates left behind wait; the others go to this worker.
    SELECT coalesce(array_agg(c.id), '{}'), coalesce(array_agg(CASE WHEN c.id = ANY (blocked) THEN 'configuration-lock' ELSE 'project-limit' END), '{}')
      INTO held_ids, held_why
    FROM unnest(c_ids, c_slots) AS c(id, slot)
    WHERE c.id = ANY (locked) AND (c.id = ANY (blocked) OR (NOT p_containers AND c.slot IS NULL));
    IF cardinality(held_ids) > 0 THEN
        UPDATE jobs j SET status = 'waiting', waiting_reason = h.why
        FROM unnest(held_ids, held_why) AS h(id, why)
        WHERE j.id = h.id AND j.status IN ('created', 'waiting')
          AND (j.status, j.waiting_reason) IS DISTINCT FROM ('waiting'::job_status, h.why);
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
    FROM unnest(c_ids, c_slots) AS t(id, slot)
    WHERE j.id = t.id AND t.id = ANY (locked) AND NOT (t.id = ANY (blocked)) AND (p_containers OR t.slot IS NOT NULL)
      -- Not killed, claimed or paused since it was picked, and its retry delay has passed.
      AND j.status IN ('created', 'waiting') AND j.waiting_reason IS DISTINCT FROM 'paused'
      AND (j.delayed_start_time IS NULL OR j.delayed_start_time <= clock_timestamp())
    RETURNING j.*;
END $$;

COMMENT ON FUNCTION claim_jobs(text, integer, text[], double precision, boolean, text) IS
    'Claims up to p_limit claimable jobs for p_worker: queue heads, at most one per configuration, none whose configuration runs; work within project limits (project slots), projects visited in turn from p_after (the last one visited is left in baton.claim_cursor); or orchestration runs for the coordinator (p_containers). Held-back candidates become waiting with a reason.';
