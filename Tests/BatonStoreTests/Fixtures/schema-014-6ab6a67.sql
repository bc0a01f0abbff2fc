--
-- PostgreSQL database dump
--

\restrict wrW8kJ2tRuXze0W7UuURDjoZcgxGLGpdc4Zf4VLZa6READuQzA034axgzr7tiI5

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: job_desired_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.job_desired_status AS ENUM (
    'processing',
    'terminating'
);


--
-- Name: TYPE job_desired_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.job_desired_status IS 'What a person wants of the job: keep processing, or terminate it.';


--
-- Name: job_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.job_status AS ENUM (
    'created',
    'waiting',
    'processing',
    'success',
    'warning',
    'error',
    'terminating',
    'terminated',
    'cancelled'
);


--
-- Name: TYPE job_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TYPE public.job_status IS 'created -> waiting -> processing -> success|warning|error; terminating -> terminated; cancelled. Final: success, warning, error, terminated, cancelled.';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id bigint NOT NULL,
    run_id text NOT NULL,
    parent_run_id text,
    project_id text NOT NULL,
    status public.job_status DEFAULT 'created'::public.job_status NOT NULL,
    desired_status public.job_desired_status DEFAULT 'processing'::public.job_desired_status NOT NULL,
    component_id text NOT NULL,
    config_id text NOT NULL,
    mode text DEFAULT 'run'::text NOT NULL,
    type text DEFAULT 'standard'::text NOT NULL,
    config_data jsonb,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    executor jsonb NOT NULL,
    created_time timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    start_time timestamp with time zone,
    end_time timestamp with time zone,
    duration_seconds double precision,
    result jsonb,
    waiting_reason text,
    worker_id text,
    attempt integer DEFAULT 0 NOT NULL,
    heartbeat_time timestamp with time zone,
    lease_expires timestamp with time zone,
    retries integer DEFAULT 0 NOT NULL,
    retry_delay_seconds double precision DEFAULT 10 NOT NULL,
    delayed_start_time timestamp with time zone,
    orchestration_job_id bigint,
    orchestration_task_id text,
    orchestration_phase_id text,
    only_orchestration_task_ids text[],
    previous_job_id bigint,
    timeout_seconds double precision,
    project_slot integer,
    token_id bigint,
    acting_token_id bigint,
    initialized_by text DEFAULT 'manual'::text NOT NULL,
    CONSTRAINT jobs_check CHECK (((status = 'waiting'::public.job_status) = (waiting_reason IS NOT NULL))),
    CONSTRAINT jobs_initialized_by_check CHECK ((initialized_by = ANY (ARRAY['manual'::text, 'schedule'::text, 'api'::text]))),
    CONSTRAINT jobs_mode_check CHECK ((mode = ANY (ARRAY['run'::text, 'debug'::text, 'forceRun'::text]))),
    CONSTRAINT jobs_retries_check CHECK ((retries >= 0)),
    CONSTRAINT jobs_retry_delay_seconds_check CHECK ((retry_delay_seconds >= (0)::double precision)),
    CONSTRAINT jobs_timeout_seconds_check CHECK ((timeout_seconds > (0)::double precision)),
    CONSTRAINT jobs_type_check CHECK ((type = ANY (ARRAY['standard'::text, 'orchestrationContainer'::text]))),
    CONSTRAINT jobs_waiting_reason_check CHECK ((waiting_reason = ANY (ARRAY['configuration-lock'::text, 'project-limit'::text])))
)
WITH (fillfactor='80');


--
-- Name: TABLE jobs; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.jobs IS 'One row per execution. Field names follow Keboola''s Job Queue (id, runId, status, desiredStatus, ...).';


--
-- Name: COLUMN jobs.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.id IS 'Job id.';


--
-- Name: COLUMN jobs.run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.run_id IS 'runId: the id for a root job; parentRunId || ''.'' || id for a child.';


--
-- Name: COLUMN jobs.parent_run_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.parent_run_id IS 'parentRunId: the runId of the job that started this one, or NULL for a root job.';


--
-- Name: COLUMN jobs.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.project_id IS 'Owning project; counts against its max_parallel_jobs while processing or terminating.';


--
-- Name: COLUMN jobs.status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.status IS 'Current status; see the job_status type.';


--
-- Name: COLUMN jobs.desired_status; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.desired_status IS 'processing, or terminating once someone asked for a kill.';


--
-- Name: COLUMN jobs.component_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.component_id IS 'component: the componentId run by this job.';


--
-- Name: COLUMN jobs.config_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.config_id IS 'config: the configuration run; jobs of one (project, component, config) are serialized.';


--
-- Name: COLUMN jobs.mode; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.mode IS 'run (default), debug or forceRun.';


--
-- Name: COLUMN jobs.type; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.type IS 'standard for a job a worker runs; orchestrationContainer for an orchestration run (the parent), which the coordinator runs.';


--
-- Name: COLUMN jobs.config_data; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.config_data IS 'configData: the parameters given at job creation that override the saved configuration''s top-level keys.';


--
-- Name: COLUMN jobs.parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.parameters IS 'Effective parameters, frozen at creation: configuration parameters overlaid with config_data.';


--
-- Name: COLUMN jobs.executor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.executor IS 'The component''s executor settings, frozen at creation so editing the component does not change a queued job.';


--
-- Name: COLUMN jobs.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.created_time IS 'createdTime.';


--
-- Name: COLUMN jobs.start_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.start_time IS 'startTime: when a worker claimed the job (processing began).';


--
-- Name: COLUMN jobs.end_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.end_time IS 'endTime: when the job reached a final status.';


--
-- Name: COLUMN jobs.duration_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.duration_seconds IS 'durationSeconds: processing time only, end_time - start_time.';


--
-- Name: COLUMN jobs.result; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.result IS 'result: {"message": ..., ...} written when the job ends.';


--
-- Name: COLUMN jobs.waiting_reason; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.waiting_reason IS 'Why a waiting job is held back: configuration-lock or project-limit. NULL unless status = waiting. (Children of a later phase are created only once they may run.)';


--
-- Name: COLUMN jobs.worker_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.worker_id IS 'The worker that claimed the job most recently.';


--
-- Name: COLUMN jobs.attempt; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.attempt IS 'Number of claims so far; a worker''s report must carry the attempt it claimed (fencing).';


--
-- Name: COLUMN jobs.heartbeat_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.heartbeat_time IS 'Last heartbeat from the worker running the job.';


--
-- Name: COLUMN jobs.lease_expires; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.lease_expires IS 'The running worker''s lease; past it, the job counts as lost.';


--
-- Name: COLUMN jobs.retries; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.retries IS 'Automatic retries: a failed attempt (error, a lost worker) is queued again while attempt <= retries.';


--
-- Name: COLUMN jobs.retry_delay_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.retry_delay_seconds IS 'Delay before an automatic retry starts.';


--
-- Name: COLUMN jobs.delayed_start_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.delayed_start_time IS 'delayedStartTime: the job is not claimed before this time (automatic retries).';


--
-- Name: COLUMN jobs.orchestration_job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.orchestration_job_id IS 'orchestrationJobId: for a task''s job, the orchestration run (parent job) that created it.';


--
-- Name: COLUMN jobs.orchestration_task_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.orchestration_task_id IS 'orchestrationTaskId: the task of the orchestration this job runs.';


--
-- Name: COLUMN jobs.orchestration_phase_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.orchestration_phase_id IS 'orchestrationPhaseId: the phase of that task.';


--
-- Name: COLUMN jobs.only_orchestration_task_ids; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.only_orchestration_task_ids IS 'onlyOrchestrationTaskIds: for an orchestration run, the task ids selected to run (enabled, chosen, not excluded).';


--
-- Name: COLUMN jobs.previous_job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.previous_job_id IS 'previousJobId: the run this one retries.';


--
-- Name: COLUMN jobs.timeout_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.timeout_seconds IS 'Stop the job (like a kill) once it has been processing this long; it then ends error with reason timeout. NULL: no limit.';


--
-- Name: COLUMN jobs.project_slot; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.project_slot IS 'The project slot (0 .. max_parallel_jobs - 1) a running job of type standard holds; at most max_parallel_jobs run at once per project. Meaningless once the job stops running.';


--
-- Name: COLUMN jobs.token_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.token_id IS 'The token that created the job (the API caller); NULL for jobs made from the CLI or by the coordinator.';


--
-- Name: COLUMN jobs.acting_token_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.acting_token_id IS 'The token the job acts as: an orchestration run and its tasks act as the orchestration''s own token.';


--
-- Name: COLUMN jobs.initialized_by; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.jobs.initialized_by IS 'What started the job: manual (CLI or console), schedule, or api.';


--
-- Name: claim_jobs(text, integer, text[], double precision, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision, p_containers boolean DEFAULT false) RETURNS SETOF public.jobs
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision, p_containers boolean); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.claim_jobs(p_worker text, p_limit integer, p_components text[], p_lease_seconds double precision, p_containers boolean) IS 'Claims up to p_limit claimable jobs for p_worker: at most one per configuration, none whose configuration runs; work within project limits, each job taking a free project slot (p_containers false), or orchestration runs for the coordinator (true). Held-back candidates become waiting with a reason.';


--
-- Name: configurations_add_orchestration_token(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.configurations_add_orchestration_token() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.component_id = 'keboola.orchestrator' THEN
        INSERT INTO tokens (project_id, scope, orchestration_id, description, secret_sha256)
        VALUES (NEW.project_id, 'orchestration', NEW.id, 'orchestration ' || NEW.id,
                sha256(convert_to(gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;


--
-- Name: enqueue_long_notifications(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.enqueue_long_notifications() RETURNS integer
    LANGUAGE sql
    AS $$
    WITH processing_long AS (
        -- over the average of the orchestration's last 20 successful runs by the subscription's
        -- percentage (no successful run yet: no notification)
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT j.project_id, j.id, 'job-processing-long', s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM jobs j
        JOIN notification_subscriptions s
          ON s.project_id = j.project_id AND s.enabled AND 'job-processing-long' = ANY (s.events)
         AND (s.orchestration_id IS NULL OR s.orchestration_id = j.config_id)
        CROSS JOIN LATERAL (
            SELECT avg(h.duration_seconds) AS seconds FROM (
                SELECT p.duration_seconds FROM jobs p
                WHERE p.project_id = j.project_id AND p.component_id = j.component_id AND p.config_id = j.config_id
                  AND p.type = 'orchestrationContainer' AND p.status = 'success' AND p.duration_seconds IS NOT NULL
                ORDER BY p.id DESC LIMIT 20) h) history
        WHERE j.type = 'orchestrationContainer' AND j.status = 'processing' AND j.initialized_by <> 'manual'
          AND history.seconds IS NOT NULL
          AND extract(epoch FROM clock_timestamp() - j.start_time) > history.seconds * (1 + s.processing_long_percent / 100)
        ON CONFLICT DO NOTHING
        RETURNING 1),
    waiting_long AS (
        -- created or waiting for more than the subscription's minutes
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT j.project_id, j.id, 'job-waiting-long', s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM jobs j
        JOIN notification_subscriptions s
          ON s.project_id = j.project_id AND s.enabled AND 'job-waiting-long' = ANY (s.events)
         AND (s.orchestration_id IS NULL OR s.orchestration_id = j.config_id)
        WHERE j.type = 'orchestrationContainer' AND j.status IN ('created', 'waiting') AND j.initialized_by <> 'manual'
          AND clock_timestamp() - j.created_time > make_interval(secs => s.waiting_long_minutes * 60)
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT ((SELECT count(*) FROM processing_long) + (SELECT count(*) FROM waiting_long))::integer
$$;


--
-- Name: enqueue_notifications(public.jobs, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.enqueue_notifications(run public.jobs, event_name text) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    written integer := 0;
BEGIN
    IF run.initialized_by = 'manual' THEN
        IF event_name IN ('job-failed', 'job-succeeded-with-warning') THEN
            INSERT INTO notifications (project_id, job_id, event, channel, target)
            SELECT run.project_id, run.id, event_name, 'email', t.owner_email
            FROM tokens t WHERE t.id = run.token_id AND t.owner_email IS NOT NULL
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS written = ROW_COUNT;
        END IF;
    ELSE
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT run.project_id, run.id, event_name, s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM notification_subscriptions s
        WHERE s.project_id = run.project_id AND s.enabled AND event_name = ANY (s.events)
          AND (s.orchestration_id IS NULL OR s.orchestration_id = run.config_id)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS written = ROW_COUNT;
    END IF;
    RETURN written;
END $$;


--
-- Name: finish_jobs(text, bigint[], integer[], public.job_status[], jsonb[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[]) RETURNS SETOF bigint
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[]); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.finish_jobs(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[]) IS 'Records the outcome of jobs a worker ran; returns the ids accepted. Notifies baton_jobs ''finished'' when someone can act on it: a task of an orchestration run finished, an attempt was queued again, or jobs wait for the configuration or project slot freed.';


--
-- Name: jobs_notify_created(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.jobs_notify_created() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: FUNCTION jobs_notify_created(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.jobs_notify_created() IS 'NOTIFY baton_jobs ''created:FIRST_ID:COUNT'' once per inserting statement that made claimable jobs.';


--
-- Name: jobs_notify_run_end(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.jobs_notify_run_end() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM enqueue_notifications(NEW, CASE NEW.status
        WHEN 'error' THEN 'job-failed'
        WHEN 'warning' THEN 'job-succeeded-with-warning'
        ELSE 'job-succeeded' END);
    RETURN NULL;
END $$;


--
-- Name: jobs_set_run_id(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.jobs_set_run_id() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.run_id := CASE WHEN NEW.parent_run_id IS NULL THEN NEW.id::text
                       ELSE NEW.parent_run_id || '.' || NEW.id::text END;
    IF NEW.acting_token_id IS NULL THEN
        IF NEW.orchestration_job_id IS NOT NULL THEN
            SELECT acting_token_id INTO NEW.acting_token_id FROM jobs WHERE id = NEW.orchestration_job_id;
        ELSIF NEW.type = 'orchestrationContainer' THEN
            SELECT id INTO NEW.acting_token_id FROM tokens
            WHERE project_id = NEW.project_id AND scope = 'orchestration' AND orchestration_id = NEW.config_id;
        ELSE
            NEW.acting_token_id := NEW.token_id;
        END IF;
    END IF;
    RETURN NEW;
END $$;


--
-- Name: kill_job(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.kill_job(p_id bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    target   jobs;
    stopping bigint[];
BEGIN
    SELECT * INTO target FROM jobs WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not-found';
    END IF;
    IF target.status IN ('success', 'warning', 'error', 'terminated', 'cancelled') THEN
        RETURN 'finished';
    END IF;

    -- Not started: cancelled, with nothing to stop.
    UPDATE jobs SET status = 'cancelled', desired_status = 'terminating', waiting_reason = NULL,
                    end_time = clock_timestamp(), result = '{"message": "cancelled before it started"}'
    WHERE (id = p_id OR orchestration_job_id = p_id) AND status IN ('created', 'waiting');

    -- Running: terminating until its worker (or, for a run, the coordinator) stops it.
    WITH marked AS (
        UPDATE jobs SET status = 'terminating', desired_status = 'terminating'
        WHERE (id = p_id OR orchestration_job_id = p_id) AND status IN ('processing', 'terminating')
        RETURNING id, type
    )
    SELECT array_agg(id) FILTER (WHERE type = 'standard') INTO stopping FROM marked;

    IF stopping IS NOT NULL THEN
        PERFORM pg_notify('baton_jobs', 'kill:' || array_to_string(stopping, ','));
    END IF;
    PERFORM pg_notify('baton_jobs', 'finished');
    RETURN CASE WHEN target.status IN ('created', 'waiting') THEN 'cancelled' ELSE 'terminating' END;
END $$;


--
-- Name: FUNCTION kill_job(p_id bigint); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.kill_job(p_id bigint) IS 'Kills a job (and the task jobs of an orchestration run): not started -> cancelled; running -> terminating. Returns not-found, finished, cancelled or terminating.';


--
-- Name: projects_add_orchestrator(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.projects_add_orchestrator() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO components (project_id, id, executor) VALUES (NEW.id, 'keboola.orchestrator', '{"type": "orchestrator"}')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;


--
-- Name: prune_finished_jobs(timestamp with time zone, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.prune_finished_jobs(cutoff timestamp with time zone, batch_size integer) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH doomed AS (
        SELECT id FROM jobs
        WHERE created_time < cutoff
          AND status IN ('success', 'warning', 'error', 'terminated', 'cancelled')
          AND orchestration_job_id IS NULL
          AND coalesce(end_time, created_time) < cutoff
        ORDER BY created_time
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED),
    deleted AS (DELETE FROM jobs j USING doomed WHERE j.id = doomed.id RETURNING 1)
    SELECT count(*)::integer FROM deleted
$$;


--
-- Name: rescue_expired_leases(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.rescue_expired_leases() RETURNS TABLE(job_id bigint, outcome text)
    LANGUAGE sql
    AS $$
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


--
-- Name: FUNCTION rescue_expired_leases(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.rescue_expired_leases() IS 'Ends or re-queues jobs whose lease expired (their worker is lost): terminating -> terminated, retries left -> created, else error with reason worker-lost.';


--
-- Name: take_worker_rank(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.take_worker_rank() RETURNS integer
    LANGUAGE plpgsql
    AS $$
BEGIN
    FOR k IN 0 .. 9999 LOOP
        IF pg_try_advisory_lock(1650553710, k) THEN
            RETURN k;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;


--
-- Name: FUNCTION take_worker_rank(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.take_worker_rank() IS 'Takes the lowest free worker rank (session advisory lock 1650553710, rank) on this connection; released with pg_advisory_unlock or when the connection ends.';


--
-- Name: worker_ranks(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.worker_ranks() RETURNS integer[]
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(array_agg(objid::integer ORDER BY objid), '{}') FROM pg_locks
    WHERE locktype = 'advisory' AND classid = 1650553710 AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;


--
-- Name: FUNCTION worker_ranks(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.worker_ranks() IS 'Worker ranks held in this database (see take_worker_rank), sorted.';


--
-- Name: worker_turn(text, bigint[], integer[], public.job_status[], jsonb[], integer, text[], double precision); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.worker_turn(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[], p_limit integer, p_components text[], p_lease_seconds double precision) RETURNS TABLE(accepted bigint[], job public.jobs)
    LANGUAGE plpgsql
    AS $$
DECLARE
    ok bigint[] := '{}';
BEGIN
    IF cardinality(p_ids) > 0 THEN
        SELECT coalesce(array_agg(f), '{}') INTO ok FROM finish_jobs(p_worker, p_ids, p_attempts, p_statuses, p_results) f;
    END IF;
    RETURN QUERY SELECT ok, c FROM claim_jobs(p_worker, p_limit, p_components, p_lease_seconds, false) c;
    IF NOT FOUND THEN
        RETURN QUERY SELECT ok, NULL::jobs;
    END IF;
END $$;


--
-- Name: FUNCTION worker_turn(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[], p_limit integer, p_components text[], p_lease_seconds double precision); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION public.worker_turn(p_worker text, p_ids bigint[], p_attempts integer[], p_statuses public.job_status[], p_results jsonb[], p_limit integer, p_components text[], p_lease_seconds double precision) IS 'One worker turn in one statement: finish_jobs for the outcomes, then claim_jobs for up to p_limit jobs. Returns the accepted outcome ids on every row, and one row per claimed job (a single row with a NULL job when none).';


--
-- Name: components; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.components (
    project_id text NOT NULL,
    id text NOT NULL,
    executor jsonb NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    updated_time timestamp with time zone DEFAULT now() NOT NULL,
    timeout_seconds double precision,
    CONSTRAINT components_executor_check CHECK ((executor ? 'type'::text)),
    CONSTRAINT components_id_check CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'::text)),
    CONSTRAINT components_timeout_seconds_check CHECK ((timeout_seconds > (0)::double precision))
);


--
-- Name: TABLE components; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.components IS 'Things that can run: a component id mapped to an executor and its settings.';


--
-- Name: COLUMN components.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.project_id IS 'Owning project.';


--
-- Name: COLUMN components.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.id IS 'componentId, e.g. keboola.ex-db-snowflake or my-extractor.';


--
-- Name: COLUMN components.executor; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.executor IS 'Executor and its settings: {"type": "process"|"http"|"sql"|"noop"|"sleep"|"fail", ...}.';


--
-- Name: COLUMN components.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.created_time IS 'When the component was first applied.';


--
-- Name: COLUMN components.updated_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.updated_time IS 'When the component was last applied.';


--
-- Name: COLUMN components.timeout_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.components.timeout_seconds IS 'Default timeout of this component''s jobs; a job''s or task''s own timeoutSeconds wins.';


--
-- Name: configurations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.configurations (
    project_id text NOT NULL,
    component_id text NOT NULL,
    id text NOT NULL,
    name text NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    updated_time timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT configurations_id_check CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'::text)),
    CONSTRAINT configurations_parameters_check CHECK ((jsonb_typeof(parameters) = 'object'::text))
);


--
-- Name: TABLE configurations; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.configurations IS 'Saved parameters for a component. Jobs of one configuration never run at the same time.';


--
-- Name: COLUMN configurations.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.project_id IS 'Owning project.';


--
-- Name: COLUMN configurations.component_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.component_id IS 'Component this configuration runs.';


--
-- Name: COLUMN configurations.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.id IS 'configId, unique within the component.';


--
-- Name: COLUMN configurations.name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.name IS 'Human-readable name.';


--
-- Name: COLUMN configurations.parameters; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.parameters IS 'Parameters passed to the executor; a job may override top-level keys.';


--
-- Name: COLUMN configurations.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.created_time IS 'When the configuration was first applied.';


--
-- Name: COLUMN configurations.updated_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.configurations.updated_time IS 'When the configuration was last applied.';


--
-- Name: job_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_events (
    id bigint NOT NULL,
    job_id bigint NOT NULL,
    "time" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    stream text NOT NULL,
    message text NOT NULL,
    CONSTRAINT job_events_stream_check CHECK ((stream = ANY (ARRAY['stdout'::text, 'stderr'::text, 'system'::text])))
);


--
-- Name: TABLE job_events; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.job_events IS 'What a job said: each stdout/stderr line of a process, and system messages (claimed, finished, errors).';


--
-- Name: COLUMN job_events.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.job_events.id IS 'Event id; orders events of a job.';


--
-- Name: COLUMN job_events.job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.job_events.job_id IS 'The job.';


--
-- Name: COLUMN job_events."time"; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.job_events."time" IS 'When the event was recorded.';


--
-- Name: COLUMN job_events.stream; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.job_events.stream IS 'stdout, stderr or system.';


--
-- Name: COLUMN job_events.message; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.job_events.message IS 'One line of text.';


--
-- Name: job_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.job_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.job_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: notification_subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notification_subscriptions (
    project_id text NOT NULL,
    id text NOT NULL,
    orchestration_id text,
    events text[] NOT NULL,
    channel text NOT NULL,
    target text NOT NULL,
    secret text,
    timeout_seconds double precision DEFAULT 10 NOT NULL,
    processing_long_percent double precision DEFAULT 50 NOT NULL,
    waiting_long_minutes double precision DEFAULT 30 NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    updated_time timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT notification_subscriptions_channel_check CHECK ((channel = ANY (ARRAY['webhook'::text, 'email'::text]))),
    CONSTRAINT notification_subscriptions_check CHECK (((channel = 'webhook'::text) = (secret IS NOT NULL))),
    CONSTRAINT notification_subscriptions_events_check CHECK (((cardinality(events) > 0) AND (events <@ ARRAY['job-failed'::text, 'job-succeeded-with-warning'::text, 'job-succeeded'::text, 'job-processing-long'::text, 'job-waiting-long'::text]))),
    CONSTRAINT notification_subscriptions_id_check CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'::text)),
    CONSTRAINT notification_subscriptions_processing_long_percent_check CHECK ((processing_long_percent >= (0)::double precision)),
    CONSTRAINT notification_subscriptions_timeout_seconds_check CHECK ((timeout_seconds > (0)::double precision)),
    CONSTRAINT notification_subscriptions_waiting_long_minutes_check CHECK ((waiting_long_minutes > (0)::double precision))
);


--
-- Name: TABLE notification_subscriptions; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.notification_subscriptions IS 'Who hears of which runs: kind: notification documents.';


--
-- Name: COLUMN notification_subscriptions.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.project_id IS 'Project whose runs it follows.';


--
-- Name: COLUMN notification_subscriptions.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.id IS 'Subscription id.';


--
-- Name: COLUMN notification_subscriptions.orchestration_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.orchestration_id IS 'The orchestration whose runs it follows; NULL: every orchestration of the project.';


--
-- Name: COLUMN notification_subscriptions.events; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.events IS 'job-failed, job-succeeded-with-warning, job-succeeded, job-processing-long, job-waiting-long.';


--
-- Name: COLUMN notification_subscriptions.channel; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.channel IS 'webhook (JSON POST signed with HMAC-SHA256) or email (SMTP).';


--
-- Name: COLUMN notification_subscriptions.target; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.target IS 'The webhook URL or the email address.';


--
-- Name: COLUMN notification_subscriptions.secret; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.secret IS 'Webhook only: the HMAC-SHA256 key of the X-Baton-Signature header.';


--
-- Name: COLUMN notification_subscriptions.timeout_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.timeout_seconds IS 'Webhook only: seconds one delivery attempt may take.';


--
-- Name: COLUMN notification_subscriptions.processing_long_percent; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.processing_long_percent IS 'job-processing-long: a run is long when it runs this many percent over the average of the last 20 successful runs.';


--
-- Name: COLUMN notification_subscriptions.waiting_long_minutes; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.waiting_long_minutes IS 'job-waiting-long: a run waits long after this many minutes created or waiting.';


--
-- Name: COLUMN notification_subscriptions.enabled; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.enabled IS 'Disabled subscriptions are not notified.';


--
-- Name: COLUMN notification_subscriptions.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.created_time IS 'When it was made.';


--
-- Name: COLUMN notification_subscriptions.updated_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notification_subscriptions.updated_time IS 'Last apply.';


--
-- Name: notifications; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notifications (
    id bigint NOT NULL,
    project_id text NOT NULL,
    job_id bigint NOT NULL,
    event text NOT NULL,
    subscription_id text,
    channel text NOT NULL,
    target text NOT NULL,
    secret text,
    timeout_seconds double precision DEFAULT 10 NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_time timestamp with time zone DEFAULT now() NOT NULL,
    lease_until timestamp with time zone,
    delivered_time timestamp with time zone,
    failed_time timestamp with time zone,
    last_error text,
    CONSTRAINT notifications_channel_check CHECK ((channel = ANY (ARRAY['webhook'::text, 'email'::text])))
);


--
-- Name: TABLE notifications; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.notifications IS 'The outbox: one row per recipient of an event of a run, written with the status change, delivered by the coordinator.';


--
-- Name: COLUMN notifications.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.id IS 'Notification id: sent as X-Baton-Notification-Id, so a receiver can drop a repeat.';


--
-- Name: COLUMN notifications.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.project_id IS 'Project of the run.';


--
-- Name: COLUMN notifications.job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.job_id IS 'The run it tells of.';


--
-- Name: COLUMN notifications.event; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.event IS 'job-failed, job-succeeded-with-warning, job-succeeded, job-processing-long or job-waiting-long.';


--
-- Name: COLUMN notifications.subscription_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.subscription_id IS 'The subscription it came from; NULL for the owner of a manual run''s token.';


--
-- Name: COLUMN notifications.channel; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.channel IS 'webhook or email.';


--
-- Name: COLUMN notifications.target; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.target IS 'URL or email address.';


--
-- Name: COLUMN notifications.secret; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.secret IS 'Webhook HMAC key, copied from the subscription.';


--
-- Name: COLUMN notifications.timeout_seconds; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.timeout_seconds IS 'Seconds one attempt may take.';


--
-- Name: COLUMN notifications.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.created_time IS 'When the event happened (the outbox row was written with it).';


--
-- Name: COLUMN notifications.attempts; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.attempts IS 'Delivery attempts started.';


--
-- Name: COLUMN notifications.next_attempt_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.next_attempt_time IS 'Not attempted before this time (backoff after a failed attempt).';


--
-- Name: COLUMN notifications.lease_until; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.lease_until IS 'A coordinator attempts it until then; after it, another may.';


--
-- Name: COLUMN notifications.delivered_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.delivered_time IS 'When a delivery succeeded (a 2xx answer, or the SMTP server accepted the message).';


--
-- Name: COLUMN notifications.failed_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.failed_time IS 'When delivery was given up after the last attempt.';


--
-- Name: COLUMN notifications.last_error; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.notifications.last_error IS 'Why the last attempt failed.';


--
-- Name: notifications_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.notifications ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.notifications_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.projects (
    id text NOT NULL,
    name text NOT NULL,
    max_parallel_jobs integer DEFAULT 10 NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT projects_id_check CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'::text)),
    CONSTRAINT projects_max_parallel_jobs_check CHECK ((max_parallel_jobs > 0))
);


--
-- Name: TABLE projects; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.projects IS 'Tenants. Components, configurations, jobs and limits belong to one project.';


--
-- Name: COLUMN projects.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.projects.id IS 'Project id, used in every other table.';


--
-- Name: COLUMN projects.name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.projects.name IS 'Human-readable project name.';


--
-- Name: COLUMN projects.max_parallel_jobs; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.projects.max_parallel_jobs IS 'At most this many jobs of the project are processing or terminating at once; more wait with reason project-limit.';


--
-- Name: COLUMN projects.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.projects.created_time IS 'When the project was created.';


--
-- Name: schedule_firings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedule_firings (
    project_id text NOT NULL,
    schedule_id text NOT NULL,
    fire_time timestamp with time zone NOT NULL,
    fired_time timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    outcome text NOT NULL,
    job_id bigint,
    CONSTRAINT schedule_firings_outcome_check CHECK ((outcome = ANY (ARRAY['created'::text, 'queued'::text, 'skipped'::text, 'replaced'::text])))
);


--
-- Name: TABLE schedule_firings; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.schedule_firings IS 'One row per fired slot of a schedule: the key makes a second firing of a slot impossible.';


--
-- Name: COLUMN schedule_firings.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.project_id IS 'Project of the schedule.';


--
-- Name: COLUMN schedule_firings.schedule_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.schedule_id IS 'The schedule.';


--
-- Name: COLUMN schedule_firings.fire_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.fire_time IS 'The cron slot fired (UTC, to the minute).';


--
-- Name: COLUMN schedule_firings.fired_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.fired_time IS 'When the coordinator fired it.';


--
-- Name: COLUMN schedule_firings.outcome; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.outcome IS 'created (a run started), queued (a run waits behind an unfinished one), skipped (onOverlap skip), replaced (waiting runs were cancelled for this one).';


--
-- Name: COLUMN schedule_firings.job_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedule_firings.job_id IS 'The run created, if any.';


--
-- Name: schedules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedules (
    project_id text NOT NULL,
    id text NOT NULL,
    orchestration_id text NOT NULL,
    cron text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    on_overlap text DEFAULT 'queue'::text NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    updated_time timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schedules_id_check CHECK ((id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'::text)),
    CONSTRAINT schedules_on_overlap_check CHECK ((on_overlap = ANY (ARRAY['queue'::text, 'skip'::text, 'replace'::text])))
);


--
-- Name: TABLE schedules; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.schedules IS 'Orchestrations run unattended at the times of a cron expression (UTC).';


--
-- Name: COLUMN schedules.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.project_id IS 'Project of the schedule and its orchestration.';


--
-- Name: COLUMN schedules.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.id IS 'Schedule id.';


--
-- Name: COLUMN schedules.orchestration_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.orchestration_id IS 'The orchestration (a configuration of keboola.orchestrator) it runs.';


--
-- Name: COLUMN schedules.cron; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.cron IS '5-field cron expression, UTC: minute hour day-of-month month day-of-week.';


--
-- Name: COLUMN schedules.enabled; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.enabled IS 'Disabled schedules do not fire; slots passed while disabled are not fired later.';


--
-- Name: COLUMN schedules.on_overlap; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.on_overlap IS 'When a run of the orchestration is unfinished: queue (the new run waits), skip (no new run; the firing is recorded skipped), replace (cancel the waiting runs, keep the newest).';


--
-- Name: COLUMN schedules.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.created_time IS 'When the schedule was made.';


--
-- Name: COLUMN schedules.updated_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schedules.updated_time IS 'Last apply, enable or disable: no slot before it is fired.';


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_time timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: TABLE schema_migrations; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.schema_migrations IS 'Migrations of sql/ applied by baton migrate.';


--
-- Name: COLUMN schema_migrations.version; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schema_migrations.version IS 'The number the migration file starts with.';


--
-- Name: COLUMN schema_migrations.name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schema_migrations.name IS 'The migration file name.';


--
-- Name: COLUMN schema_migrations.applied_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.schema_migrations.applied_time IS 'When it was applied.';


--
-- Name: tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tokens (
    id bigint NOT NULL,
    project_id text NOT NULL,
    scope text NOT NULL,
    orchestration_id text,
    description text DEFAULT ''::text NOT NULL,
    secret_sha256 bytea NOT NULL,
    created_time timestamp with time zone DEFAULT now() NOT NULL,
    owner_email text,
    CONSTRAINT tokens_check CHECK (((scope = ANY (ARRAY['trigger'::text, 'orchestration'::text])) = (orchestration_id IS NOT NULL))),
    CONSTRAINT tokens_scope_check CHECK ((scope = ANY (ARRAY['admin'::text, 'read'::text, 'trigger'::text, 'orchestration'::text])))
);


--
-- Name: TABLE tokens; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.tokens IS 'API tokens: each acts for one project with one scope. Only a hash of the secret is kept.';


--
-- Name: COLUMN tokens.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.id IS 'Token id (token.id in the jobs API).';


--
-- Name: COLUMN tokens.project_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.project_id IS 'The only project this token sees.';


--
-- Name: COLUMN tokens.scope; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.scope IS 'admin: everything in the project; read: GET only; trigger: run orchestration_id and read its runs; orchestration: what the runs of orchestration_id act as.';


--
-- Name: COLUMN tokens.orchestration_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.orchestration_id IS 'The orchestration of a trigger or orchestration token; NULL otherwise.';


--
-- Name: COLUMN tokens.description; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.description IS 'What the token is for (token.description in the jobs API).';


--
-- Name: COLUMN tokens.secret_sha256; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.secret_sha256 IS 'sha256 of the secret; the secret itself is never stored.';


--
-- Name: COLUMN tokens.created_time; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.created_time IS 'When the token was made.';


--
-- Name: COLUMN tokens.owner_email; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.tokens.owner_email IS 'Address of the person the token belongs to: a run they start by hand notifies only them.';


--
-- Name: tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Data for Name: components; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.components (project_id, id, executor, created_time, updated_time, timeout_seconds) FROM stdin;
default	keboola.orchestrator	{"type": "orchestrator"}	2026-11-29 09:50:57.991316+00	2026-11-29 09:50:57.991316+00	\N
default	extract	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00	\N
default	load	{"type": "sql", "databaseUrlEnv": "WAREHOUSE_URL"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00	\N
default	pause	{"type": "sleep"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00	\N
acme	keboola.orchestrator	{"type": "orchestrator"}	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00	\N
acme	s	{"type": "sleep"}	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00	600
\.


--
-- Data for Name: configurations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.configurations (project_id, component_id, id, name, parameters, created_time, updated_time) FROM stdin;
default	extract	orders	Extract orders	{"since": "2026-10-01", "table": "orders"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	extract	customers	Extract customers	{"table": "customers"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	extract	ads	Extract ads (its source is down)	{"table": "ads", "unreachable": true}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	load	orders-table	Create the orders table	{"sql": "CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, amount numeric NOT NULL);\\nINSERT INTO orders VALUES (1, 10.5), (2, 20), (3, 7.25) ON CONFLICT (id) DO NOTHING;\\n"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	load	daily-summary	Daily summary	{"sql": "CREATE TABLE IF NOT EXISTS daily_summary (day date PRIMARY KEY, runs int NOT NULL);\\nINSERT INTO daily_summary VALUES (current_date, 1)\\n  ON CONFLICT (day) DO UPDATE SET runs = daily_summary.runs + 1;\\n"}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	pause	short	short	{"seconds": 0.5}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
default	keboola.orchestrator	nightly	Nightly load	{"tasks": [{"id": "orders", "name": "Orders", "task": {"mode": "run", "configId": "orders", "componentId": "extract"}, "phase": "extract", "enabled": true, "continueOnFailure": false}, {"id": "ads", "name": "Ads", "task": {"mode": "run", "configId": "ads", "componentId": "extract"}, "phase": "extract", "enabled": true, "continueOnFailure": true}, {"id": "orders-table", "name": "Orders table", "task": {"mode": "run", "configId": "orders-table", "componentId": "load"}, "phase": "transform", "enabled": true, "continueOnFailure": false}, {"id": "summary", "name": "Daily summary", "task": {"mode": "run", "configId": "daily-summary", "componentId": "load"}, "phase": "transform", "enabled": true, "continueOnFailure": false}, {"id": "pause", "name": "Publish", "task": {"mode": "run", "configId": "short", "componentId": "pause"}, "phase": "publish", "enabled": true, "continueOnFailure": false}], "phases": [{"id": "extract", "name": "Extract", "dependsOn": []}, {"id": "transform", "name": "Transform", "dependsOn": ["extract"]}, {"id": "publish", "name": "Publish", "dependsOn": ["transform"]}]}	2026-11-29 09:50:58.195617+00	2026-11-29 09:50:58.195617+00
acme	s	one	one	{"seconds": 0}	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00
acme	s	two	two	{"seconds": 0}	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00
acme	keboola.orchestrator	flow	flow	{"tasks": [{"id": "a", "name": "A", "task": {"mode": "run", "configId": "one", "componentId": "s"}, "phase": "1", "enabled": true, "continueOnFailure": false}, {"id": "b", "name": "B", "task": {"mode": "run", "configId": "two", "componentId": "s"}, "phase": "2", "enabled": true, "continueOnFailure": false}], "phases": [{"id": "1", "name": "One", "dependsOn": []}, {"id": "2", "name": "Two", "dependsOn": ["1"]}]}	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00
\.


--
-- Data for Name: job_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.job_events (id, job_id, "time", stream, message) FROM stdin;
1	2	2026-11-29 09:51:05.252394+00	system	started sh as process 13290
2	3	2026-11-29 09:51:05.252824+00	system	started sh as process 13289
3	2	2026-11-29 09:51:05.25283+00	stdout	job 2 (run 1.2) extracting with parameters: {"since":"2026-10-01","table":"orders"}
4	2	2026-11-29 09:51:05.252834+00	stdout	extracted batch 1 of 3
5	3	2026-11-29 09:51:05.252837+00	stdout	job 3 (run 1.3) extracting with parameters: {"table":"ads","unreachable":true}
6	3	2026-11-29 09:51:05.25284+00	stderr	source did not answer
7	2	2026-11-29 09:51:05.646847+00	stdout	extracted batch 2 of 3
8	2	2026-11-29 09:51:05.950093+00	stdout	extracted batch 3 of 3
9	2	2026-11-29 09:51:06.151258+00	stdout	done
10	11	2026-11-29 09:51:08.179101+00	system	started sh as process 13338
11	11	2026-11-29 09:51:08.179147+00	stdout	job 11 (run 11) extracting with parameters: {"table":"ads","unreachable":true}
12	11	2026-11-29 09:51:08.17915+00	stderr	source did not answer
\.


--
-- Data for Name: jobs; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.jobs (id, run_id, parent_run_id, project_id, status, desired_status, component_id, config_id, mode, type, config_data, parameters, executor, created_time, start_time, end_time, duration_seconds, result, waiting_reason, worker_id, attempt, heartbeat_time, lease_expires, retries, retry_delay_seconds, delayed_start_time, orchestration_job_id, orchestration_task_id, orchestration_phase_id, only_orchestration_task_ids, previous_job_id, timeout_seconds, project_slot, token_id, acting_token_id, initialized_by) FROM stdin;
3	1.3	1	default	error	processing	extract	ads	run	standard	\N	{"table": "ads", "unreachable": true}	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:51:05.222684+00	2026-11-29 09:51:05.234948+00	2026-11-29 09:51:05.259298+00	0.02435	{"output": ["job 3 (run 1.3) extracting with parameters: {\\"table\\":\\"ads\\",\\"unreachable\\":true}", "source did not answer"], "message": "sh failed with exit 2: source did not answer", "exitCode": 2}	\N	vm-13256	1	2026-11-29 09:51:05.234948+00	\N	0	10	\N	1	ads	extract	\N	\N	\N	5	\N	1	manual
2	1.2	1	default	success	processing	extract	orders	run	standard	\N	{"since": "2026-10-01", "table": "orders"}	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:51:05.221969+00	2026-11-29 09:51:05.234408+00	2026-11-29 09:51:06.154397+00	0.919989	{"output": ["job 2 (run 1.2) extracting with parameters: {\\"since\\":\\"2026-10-01\\",\\"table\\":\\"orders\\"}", "extracted batch 1 of 3", "extracted batch 2 of 3", "extracted batch 3 of 3", "done"], "message": "exit 0", "exitCode": 0}	\N	vm-13256	1	2026-11-29 09:51:05.234408+00	\N	0	10	\N	1	orders	extract	\N	\N	\N	2	\N	1	manual
5	1.5	1	default	success	processing	load	daily-summary	run	standard	\N	{"sql": "CREATE TABLE IF NOT EXISTS daily_summary (day date PRIMARY KEY, runs int NOT NULL);\\nINSERT INTO daily_summary VALUES (current_date, 1)\\n  ON CONFLICT (day) DO UPDATE SET runs = daily_summary.runs + 1;\\n"}	{"type": "sql", "databaseUrlEnv": "WAREHOUSE_URL"}	2026-11-29 09:51:06.163414+00	2026-11-29 09:51:06.168385+00	2026-11-29 09:51:06.198576+00	0.030191	{"message": "ran 2 statements", "statements": 2}	\N	vm-13256	1	2026-11-29 09:51:06.168385+00	\N	0	10	\N	1	summary	transform	\N	\N	\N	5	\N	1	manual
4	1.4	1	default	success	processing	load	orders-table	run	standard	\N	{"sql": "CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, amount numeric NOT NULL);\\nINSERT INTO orders VALUES (1, 10.5), (2, 20), (3, 7.25) ON CONFLICT (id) DO NOTHING;\\n"}	{"type": "sql", "databaseUrlEnv": "WAREHOUSE_URL"}	2026-11-29 09:51:06.16321+00	2026-11-29 09:51:06.16824+00	2026-11-29 09:51:06.20296+00	0.03472	{"message": "ran 2 statements", "statements": 2}	\N	vm-13256	1	2026-11-29 09:51:06.16824+00	\N	0	10	\N	1	orders-table	transform	\N	\N	\N	6	\N	1	manual
6	1.6	1	default	success	processing	pause	short	run	standard	\N	{"seconds": 0.5}	{"type": "sleep"}	2026-11-29 09:51:06.210697+00	2026-11-29 09:51:06.215254+00	2026-11-29 09:51:06.719744+00	0.50449	{"message": "slept 0.5 s"}	\N	vm-13256	1	2026-11-29 09:51:06.215254+00	\N	0	10	\N	1	pause	publish	\N	\N	\N	2	\N	1	manual
1	1	\N	default	warning	processing	keboola.orchestrator	nightly	run	orchestrationContainer	\N	{"tasks": [{"id": "orders", "name": "Orders", "task": {"mode": "run", "configId": "orders", "componentId": "extract"}, "phase": "extract", "enabled": true, "continueOnFailure": false}, {"id": "ads", "name": "Ads", "task": {"mode": "run", "configId": "ads", "componentId": "extract"}, "phase": "extract", "enabled": true, "continueOnFailure": true}, {"id": "orders-table", "name": "Orders table", "task": {"mode": "run", "configId": "orders-table", "componentId": "load"}, "phase": "transform", "enabled": true, "continueOnFailure": false}, {"id": "summary", "name": "Daily summary", "task": {"mode": "run", "configId": "daily-summary", "componentId": "load"}, "phase": "transform", "enabled": true, "continueOnFailure": false}, {"id": "pause", "name": "Publish", "task": {"mode": "run", "configId": "short", "componentId": "pause"}, "phase": "publish", "enabled": true, "continueOnFailure": false}], "phases": [{"id": "extract", "name": "Extract", "dependsOn": []}, {"id": "transform", "name": "Transform", "dependsOn": ["extract"]}, {"id": "publish", "name": "Publish", "dependsOn": ["transform"]}]}	{"type": "orchestrator"}	2026-11-29 09:51:05.191781+00	2026-11-29 09:51:05.207058+00	2026-11-29 09:51:06.727697+00	1.520639	{"phases": [{"id": "extract", "name": "Extract", "status": "warning"}, {"id": "transform", "name": "Transform", "status": "success"}, {"id": "publish", "name": "Publish", "status": "success"}], "message": "finished with failures allowed to continue in phase 'Extract'"}	\N	coordinator-vm-13257	1	2026-11-29 09:51:05.207058+00	\N	0	10	\N	\N	\N	\N	{orders,ads,orders-table,summary,pause}	\N	\N	\N	\N	1	manual
8	7.8	7	acme	success	processing	s	one	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:07.822832+00	2026-11-29 09:51:07.830044+00	2026-11-29 09:51:07.833929+00	0.003885	{"message": "slept 0.0 s"}	\N	vm-13256	1	2026-11-29 09:51:07.830044+00	\N	0	10	\N	7	a	1	\N	\N	600	0	\N	2	manual
9	7.9	7	acme	success	processing	s	two	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:07.841165+00	2026-11-29 09:51:07.844979+00	2026-11-29 09:51:07.847666+00	0.002687	{"message": "slept 0.0 s"}	\N	vm-13256	1	2026-11-29 09:51:07.844979+00	\N	0	10	\N	7	b	2	\N	\N	600	2	\N	2	manual
7	7	\N	acme	success	processing	keboola.orchestrator	flow	run	orchestrationContainer	\N	{"tasks": [{"id": "a", "name": "A", "task": {"mode": "run", "configId": "one", "componentId": "s"}, "phase": "1", "enabled": true, "continueOnFailure": false}, {"id": "b", "name": "B", "task": {"mode": "run", "configId": "two", "componentId": "s"}, "phase": "2", "enabled": true, "continueOnFailure": false}], "phases": [{"id": "1", "name": "One", "dependsOn": []}, {"id": "2", "name": "Two", "dependsOn": ["1"]}]}	{"type": "orchestrator"}	2026-11-29 09:51:07.804305+00	2026-11-29 09:51:07.816541+00	2026-11-29 09:51:07.853626+00	0.037085	{"phases": [{"id": "1", "name": "One", "status": "success"}, {"id": "2", "name": "Two", "status": "success"}], "message": "all phases succeeded"}	\N	coordinator-vm-13257	1	2026-11-29 09:51:07.816541+00	\N	0	10	\N	\N	\N	\N	{a,b}	\N	\N	\N	\N	2	manual
10	10	\N	acme	success	processing	s	one	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:07.9977+00	2026-11-29 09:51:08.004026+00	2026-11-29 09:51:08.008274+00	0.004248	{"message": "slept 0.0 s"}	\N	vm-13256	1	2026-11-29 09:51:08.004027+00	\N	0	10	\N	\N	\N	\N	\N	\N	600	2	\N	\N	manual
11	11	\N	default	error	processing	extract	ads	run	standard	\N	{"table": "ads", "unreachable": true}	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:51:08.166394+00	2026-11-29 09:51:08.171954+00	2026-11-29 09:51:08.181015+00	0.009061	{"output": ["job 11 (run 11) extracting with parameters: {\\"table\\":\\"ads\\",\\"unreachable\\":true}", "source did not answer"], "message": "sh failed with exit 2: source did not answer", "exitCode": 2}	\N	vm-13256	1	2026-11-29 09:51:08.171954+00	\N	0	10	\N	\N	\N	\N	\N	\N	\N	9	\N	\N	manual
12	12	\N	acme	processing	processing	s	one	run	standard	{"seconds": 100}	{"seconds": 100}	{"type": "sleep"}	2026-11-29 09:51:08.461783+00	2026-11-29 09:51:08.653264+00	\N	\N	\N	\N	fixture-worker	1	2026-11-29 09:51:08.653264+00	2026-11-29 19:51:08.653264+00	0	10	\N	\N	\N	\N	\N	\N	600	0	\N	\N	manual
14	14	\N	acme	waiting	processing	s	one	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:08.726225+00	\N	\N	\N	\N	configuration-lock	\N	0	\N	\N	0	10	\N	\N	\N	\N	\N	\N	600	\N	\N	\N	manual
16	16	\N	default	created	processing	extract	orders	run	standard	\N	{"since": "2026-10-01", "table": "orders"}	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:51:08.895799+00	\N	\N	\N	\N	\N	\N	0	\N	\N	0	10	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	manual
17	17	\N	default	cancelled	terminating	extract	customers	run	standard	\N	{"table": "customers"}	{"type": "process", "command": ["sh", "examples/extract.sh"]}	2026-11-29 09:51:08.975056+00	\N	2026-11-29 09:51:13.097485+00	\N	{"message": "cancelled before it started"}	\N	\N	0	\N	\N	0	10	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	manual
13	13	\N	acme	terminated	terminating	s	two	run	standard	{"seconds": 100}	{"seconds": 100}	{"type": "sleep"}	2026-11-29 09:51:08.547141+00	2026-11-29 09:51:08.653627+00	2026-11-29 09:51:13.138654+00	4.485027	{"message": "terminated on request"}	\N	fixture-worker	1	2026-11-29 09:51:08.653627+00	\N	0	10	\N	\N	\N	\N	\N	\N	600	2	\N	\N	manual
15	15	\N	acme	terminating	terminating	s	two	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:08.814308+00	2026-11-29 09:51:13.143979+00	\N	\N	\N	\N	fixture-worker	1	2026-11-29 09:51:13.143979+00	2026-11-29 19:51:13.143979+00	0	10	\N	\N	\N	\N	\N	\N	600	1	\N	\N	manual
18	18	\N	acme	waiting	processing	s	two	run	standard	\N	{"seconds": 0}	{"type": "sleep"}	2026-11-29 09:51:13.256622+00	\N	\N	\N	\N	configuration-lock	\N	0	\N	\N	2	30	\N	\N	\N	\N	\N	\N	600	\N	\N	\N	manual
19	19	\N	acme	created	processing	keboola.orchestrator	flow	run	orchestrationContainer	\N	{"tasks": [{"id": "a", "name": "A", "task": {"mode": "run", "configId": "one", "componentId": "s"}, "phase": "1", "enabled": true, "continueOnFailure": false}, {"id": "b", "name": "B", "task": {"mode": "run", "configId": "two", "componentId": "s"}, "phase": "2", "enabled": true, "continueOnFailure": false}], "phases": [{"id": "1", "name": "One", "dependsOn": []}, {"id": "2", "name": "Two", "dependsOn": ["1"]}]}	{"type": "orchestrator"}	2026-11-29 09:51:13.336599+00	\N	\N	\N	\N	\N	\N	0	\N	\N	0	10	\N	\N	\N	\N	{a,b}	\N	\N	\N	\N	2	manual
\.


--
-- Data for Name: notification_subscriptions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.notification_subscriptions (project_id, id, orchestration_id, events, channel, target, secret, timeout_seconds, processing_long_percent, waiting_long_minutes, enabled, created_time, updated_time) FROM stdin;
acme	hook	flow	{job-failed}	webhook	https://hooks.example.com/x	0123456789abcdef0123	10	50	30	t	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00
\.


--
-- Data for Name: notifications; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.notifications (id, project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds, created_time, attempts, next_attempt_time, lease_until, delivered_time, failed_time, last_error) FROM stdin;
\.


--
-- Data for Name: projects; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.projects (id, name, max_parallel_jobs, created_time) FROM stdin;
default	Default project	10	2026-11-29 09:50:57.902625+00
acme	acme	3	2026-11-29 09:50:58.282795+00
\.


--
-- Data for Name: schedule_firings; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedule_firings (project_id, schedule_id, fire_time, fired_time, outcome, job_id) FROM stdin;
\.


--
-- Data for Name: schedules; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedules (project_id, id, orchestration_id, cron, enabled, on_overlap, created_time, updated_time) FROM stdin;
acme	nightly	flow	0 2 * * *	t	queue	2026-11-29 09:50:58.282795+00	2026-11-29 09:50:58.282795+00
\.


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schema_migrations (version, name, applied_time) FROM stdin;
1	001_foundation.sql	2026-11-29 09:50:57.902625+00
2	002_claim.sql	2026-11-29 09:50:57.98515+00
3	003_orchestrations.sql	2026-11-29 09:50:57.991316+00
4	004_lifecycle.sql	2026-11-29 09:50:58.003828+00
5	005_project_slots.sql	2026-11-29 09:50:58.01291+00
6	006_worker_turn.sql	2026-11-29 09:50:58.022637+00
7	007_wake_one.sql	2026-11-29 09:50:58.025445+00
8	008_tokens.sql	2026-11-29 09:50:58.036657+00
9	009_previous_job_index.sql	2026-11-29 09:50:58.0566+00
10	010_queue_heads.sql	2026-11-29 09:50:58.060423+00
11	011_schedules.sql	2026-11-29 09:50:58.068292+00
12	012_notifications.sql	2026-11-29 09:50:58.089569+00
13	013_retention.sql	2026-11-29 09:50:58.128961+00
14	014_quiet_notifications.sql	2026-11-29 09:50:58.135193+00
\.


--
-- Data for Name: tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tokens (id, project_id, scope, orchestration_id, description, secret_sha256, created_time, owner_email) FROM stdin;
1	default	orchestration	nightly	orchestration nightly	\\xa61cee026f1b72da55ed7ce39439fe36d256ec94d359298d486d40f253887396	2026-11-29 09:50:58.195617+00	\N
2	acme	orchestration	flow	orchestration flow	\\x22939c89bd90b4167d997ddc01b810bc06839103643f4a42bead014b65eb7d93	2026-11-29 09:50:58.282795+00	\N
3	acme	admin	\N	fixture	\\xed153b70807cce1f3d36fd7aeab69cfac75a092ed731d4e0b24fafa1499a26d1	2026-11-29 09:50:58.347237+00	\N
\.


--
-- Name: job_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.job_events_id_seq', 12, true);


--
-- Name: jobs_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.jobs_id_seq', 19, true);


--
-- Name: notifications_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.notifications_id_seq', 1, false);


--
-- Name: tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.tokens_id_seq', 3, true);


--
-- Name: components components_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.components
    ADD CONSTRAINT components_pkey PRIMARY KEY (project_id, id);


--
-- Name: configurations configurations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.configurations
    ADD CONSTRAINT configurations_pkey PRIMARY KEY (project_id, component_id, id);


--
-- Name: job_events job_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_pkey PRIMARY KEY (id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: notification_subscriptions notification_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_subscriptions
    ADD CONSTRAINT notification_subscriptions_pkey PRIMARY KEY (project_id, id);


--
-- Name: notifications notifications_job_id_event_channel_target_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_job_id_event_channel_target_key UNIQUE (job_id, event, channel, target);


--
-- Name: notifications notifications_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);


--
-- Name: projects projects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_pkey PRIMARY KEY (id);


--
-- Name: schedule_firings schedule_firings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedule_firings
    ADD CONSTRAINT schedule_firings_pkey PRIMARY KEY (project_id, schedule_id, fire_time);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (project_id, id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: tokens tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_pkey PRIMARY KEY (id);


--
-- Name: tokens tokens_secret_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_secret_sha256_key UNIQUE (secret_sha256);


--
-- Name: job_events_by_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX job_events_by_job ON public.job_events USING btree (job_id, id);


--
-- Name: jobs_by_configuration; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_by_configuration ON public.jobs USING btree (project_id, component_id, config_id, id);


--
-- Name: jobs_by_created_time; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_by_created_time ON public.jobs USING btree (created_time);


--
-- Name: jobs_by_parent_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_by_parent_run ON public.jobs USING btree (parent_run_id) WHERE (parent_run_id IS NOT NULL);


--
-- Name: jobs_by_previous_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_by_previous_job ON public.jobs USING btree (previous_job_id) WHERE (previous_job_id IS NOT NULL);


--
-- Name: jobs_claimable; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_claimable ON public.jobs USING btree (id) WHERE (status = ANY (ARRAY['created'::public.job_status, 'waiting'::public.job_status]));


--
-- Name: jobs_leases; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_leases ON public.jobs USING btree (lease_expires) WHERE (status = ANY (ARRAY['processing'::public.job_status, 'terminating'::public.job_status]));


--
-- Name: jobs_one_per_orchestration_task; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX jobs_one_per_orchestration_task ON public.jobs USING btree (orchestration_job_id, orchestration_task_id) WHERE (orchestration_job_id IS NOT NULL);


--
-- Name: jobs_one_per_project_slot; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX jobs_one_per_project_slot ON public.jobs USING btree (project_id, project_slot) WHERE (status = ANY (ARRAY['processing'::public.job_status, 'terminating'::public.job_status]));


--
-- Name: jobs_one_running_per_configuration; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX jobs_one_running_per_configuration ON public.jobs USING btree (project_id, component_id, config_id) WHERE (status = ANY (ARRAY['processing'::public.job_status, 'terminating'::public.job_status]));


--
-- Name: jobs_running_orchestrations; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_running_orchestrations ON public.jobs USING btree (id) WHERE ((type = 'orchestrationContainer'::text) AND (status = ANY (ARRAY['processing'::public.job_status, 'terminating'::public.job_status])));


--
-- Name: jobs_unfinished_per_configuration_by_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_unfinished_per_configuration_by_id ON public.jobs USING btree (project_id, component_id, config_id, id) WHERE (status = ANY (ARRAY['created'::public.job_status, 'waiting'::public.job_status, 'processing'::public.job_status, 'terminating'::public.job_status]));


--
-- Name: jobs_waiting_for_project; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_waiting_for_project ON public.jobs USING btree (project_id) WHERE ((status = 'waiting'::public.job_status) AND (waiting_reason = 'project-limit'::text));


--
-- Name: notifications_by_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX notifications_by_job ON public.notifications USING btree (job_id);


--
-- Name: notifications_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX notifications_pending ON public.notifications USING btree (next_attempt_time) WHERE ((delivered_time IS NULL) AND (failed_time IS NULL));


--
-- Name: tokens_one_per_orchestration; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX tokens_one_per_orchestration ON public.tokens USING btree (project_id, orchestration_id) WHERE (scope = 'orchestration'::text);


--
-- Name: configurations configurations_add_orchestration_token; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER configurations_add_orchestration_token AFTER INSERT ON public.configurations FOR EACH ROW EXECUTE FUNCTION public.configurations_add_orchestration_token();


--
-- Name: jobs jobs_notify_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER jobs_notify_created AFTER INSERT ON public.jobs REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.jobs_notify_created();


--
-- Name: jobs jobs_notify_run_end; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER jobs_notify_run_end AFTER UPDATE OF status ON public.jobs FOR EACH ROW WHEN (((new.type = 'orchestrationContainer'::text) AND (new.status = ANY (ARRAY['success'::public.job_status, 'warning'::public.job_status, 'error'::public.job_status])) AND (old.status IS DISTINCT FROM new.status))) EXECUTE FUNCTION public.jobs_notify_run_end();


--
-- Name: jobs jobs_set_run_id; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER jobs_set_run_id BEFORE INSERT ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.jobs_set_run_id();


--
-- Name: projects projects_add_orchestrator; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER projects_add_orchestrator AFTER INSERT ON public.projects FOR EACH ROW EXECUTE FUNCTION public.projects_add_orchestrator();


--
-- Name: components components_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.components
    ADD CONSTRAINT components_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id);


--
-- Name: configurations configurations_project_id_component_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.configurations
    ADD CONSTRAINT configurations_project_id_component_id_fkey FOREIGN KEY (project_id, component_id) REFERENCES public.components(project_id, id);


--
-- Name: job_events job_events_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_events
    ADD CONSTRAINT job_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;


--
-- Name: jobs jobs_orchestration_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_orchestration_job_id_fkey FOREIGN KEY (orchestration_job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;


--
-- Name: jobs jobs_previous_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_previous_job_id_fkey FOREIGN KEY (previous_job_id) REFERENCES public.jobs(id) ON DELETE SET NULL;


--
-- Name: jobs jobs_project_id_component_id_config_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_project_id_component_id_config_id_fkey FOREIGN KEY (project_id, component_id, config_id) REFERENCES public.configurations(project_id, component_id, id);


--
-- Name: jobs jobs_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id);


--
-- Name: notification_subscriptions notification_subscriptions_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_subscriptions
    ADD CONSTRAINT notification_subscriptions_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id);


--
-- Name: notifications notifications_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;


--
-- Name: schedule_firings schedule_firings_project_id_schedule_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedule_firings
    ADD CONSTRAINT schedule_firings_project_id_schedule_id_fkey FOREIGN KEY (project_id, schedule_id) REFERENCES public.schedules(project_id, id) ON DELETE CASCADE;


--
-- Name: schedules schedules_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id);


--
-- Name: tokens tokens_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id);


--
-- PostgreSQL database dump complete
--

\unrestrict wrW8kJ2tRuXze0W7UuURDjoZcgxGLGpdc4Zf4VLZa6READuQzA034axgzr7tiI5

