-- claim_jobs: claims up to p_limit jobs for a worker (worker_turn), or starts orchestration runs
-- for the coordinator (p_containers; CoordinatorSession.startRuns).
--
-- The rules it keeps (README, "Jobs and their statuses"):
-- * Serialization per configuration: take the configuration's advisory lock, then check in a
--   LATER statement that no job of it is running. A VOLATILE PL/pgSQL function takes a fresh
--   snapshot per statement (READ COMMITTED), so the check sees every claim committed before the
--   lock was granted; checking in the same statement let pairs overlap. Advisory locks are
--   re-entrant in a session, so a batch takes at most one job per configuration. The unique
--   index jobs_one_running_per_configuration is the backstop.
-- * Only queue heads are candidates (no older claimable job of the same configuration): with
--   1,000 configurations x 10 queued jobs, a window of plain oldest jobs held mostly jobs queued
--   behind one another.
-- * Project limits: a project of limit L has slots 0..L-1 and a running job holds one
--   (jobs.project_slot), taken under a try-lock like a configuration, so claimers of one project
--   proceed side by side (one lock per project held to commit made them queue, fsync included;
--   3.7 of 5.4 ms per claim). The unique index jobs_one_per_project_slot is the backstop.

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

    -- The oldest claimable jobs that head their configuration's queue (no older job of the
    -- same configuration is waiting, but for one whose retry delay has not passed) and whose
    -- configuration is not running: a pre-filter, re-checked below. Only heads can run next, so a window a little larger than
    -- the batch is enough; before, jobs queued behind each other filled the window (10 in a row
    -- of one configuration left a claim of 32 with about 14 configurations to choose from).
    -- No row locks: a job is claimed only under its configuration's advisory lock, so two
    -- claimers never take the same job, and the final UPDATE re-checks that it is still claimable.
    SELECT array_agg(id ORDER BY id) INTO candidates FROM (
        SELECT j.id FROM jobs j
        WHERE j.status IN ('created', 'waiting')
          AND j.type = want_type
          AND (j.delayed_start_time IS NULL OR j.delayed_start_time <= clock_timestamp())
          AND (p_components IS NULL OR j.component_id = ANY (p_components))
          AND (j.project_id, j.component_id, j.config_id) NOT IN (
              SELECT r.project_id, r.component_id, r.config_id FROM jobs r
              WHERE r.status IN ('processing', 'terminating'))
          AND NOT EXISTS (
              SELECT 1 FROM jobs e
              WHERE e.project_id = j.project_id AND e.component_id = j.component_id AND e.config_id = j.config_id
                AND e.id < j.id AND e.status IN ('created', 'waiting')
                AND (e.delayed_start_time IS NULL OR e.delayed_start_time <= clock_timestamp()))
        ORDER BY j.id
        LIMIT p_limit * 2 + 8
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
