-- 003: orchestrations. An orchestration is a configuration of component keboola.orchestrator;
-- a run of it is a job of type orchestrationContainer (the parent) that the coordinator, not a
-- worker, runs: it creates the child jobs of a phase once the phases it depends on are done.
-- Children exist only once they may run, so no job waits with reason 'phase'.

ALTER TABLE jobs
    ADD COLUMN orchestration_job_id bigint REFERENCES jobs (id),
    ADD COLUMN orchestration_task_id text,
    ADD COLUMN orchestration_phase_id text,
    ADD COLUMN only_orchestration_task_ids text[],
    ADD COLUMN previous_job_id bigint REFERENCES jobs (id),
    ADD CONSTRAINT jobs_type_check CHECK (type IN ('standard', 'orchestrationContainer')),
    DROP CONSTRAINT jobs_waiting_reason_check,
    ADD CONSTRAINT jobs_waiting_reason_check CHECK (waiting_reason IN ('configuration-lock', 'project-limit'));
COMMENT ON COLUMN jobs.type IS 'standard for a job a worker runs; orchestrationContainer for an orchestration run (the parent), which the coordinator runs.';
COMMENT ON COLUMN jobs.waiting_reason IS 'Why a waiting job is held back: configuration-lock or project-limit. NULL unless status = waiting. (Children of a later phase are created only once they may run.)';
COMMENT ON COLUMN jobs.orchestration_job_id IS 'orchestrationJobId: for a task''s job, the orchestration run (parent job) that created it.';
COMMENT ON COLUMN jobs.orchestration_task_id IS 'orchestrationTaskId: the task of the orchestration this job runs.';
COMMENT ON COLUMN jobs.orchestration_phase_id IS 'orchestrationPhaseId: the phase of that task.';
COMMENT ON COLUMN jobs.only_orchestration_task_ids IS 'onlyOrchestrationTaskIds: for an orchestration run, the task ids selected to run (enabled, chosen, not excluded).';
COMMENT ON COLUMN jobs.previous_job_id IS 'previousJobId: the run this one retries.';

-- A doubled advancement cannot create a task's job twice.
CREATE UNIQUE INDEX jobs_one_per_orchestration_task ON jobs (orchestration_job_id, orchestration_task_id)
    WHERE orchestration_job_id IS NOT NULL;
CREATE INDEX jobs_running_orchestrations ON jobs (id)
    WHERE type = 'orchestrationContainer' AND status IN ('processing', 'terminating');

DROP FUNCTION claim_jobs(text, integer, text[], double precision);

-- As in 002, with p_containers: false claims work for workers (never orchestration runs, and
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

-- The orchestrator component exists in every project, present and future.
INSERT INTO components (project_id, id, executor)
SELECT id, 'keboola.orchestrator', '{"type": "orchestrator"}' FROM projects
ON CONFLICT DO NOTHING;

CREATE FUNCTION projects_add_orchestrator() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO components (project_id, id, executor) VALUES (NEW.id, 'keboola.orchestrator', '{"type": "orchestrator"}')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER projects_add_orchestrator AFTER INSERT ON projects FOR EACH ROW EXECUTE FUNCTION projects_add_orchestrator();
