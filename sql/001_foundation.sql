-- 001: projects, components, configurations, jobs, job events.
-- Applied by `baton migrate` in one transaction; the runner records the version in schema_migrations.

CREATE TABLE projects (
    id                text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
    name              text NOT NULL,
    max_parallel_jobs integer NOT NULL DEFAULT 10 CHECK (max_parallel_jobs > 0),
    created_time      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE projects IS 'Tenants. Components, configurations, jobs and limits belong to one project.';
COMMENT ON COLUMN projects.id IS 'Project id, used in every other table.';
COMMENT ON COLUMN projects.name IS 'Human-readable project name.';
COMMENT ON COLUMN projects.max_parallel_jobs IS 'At most this many jobs of the project are processing or terminating at once; more wait with reason project-limit.';
COMMENT ON COLUMN projects.created_time IS 'When the project was created.';

INSERT INTO projects (id, name) VALUES ('default', 'Default project');

CREATE TABLE components (
    project_id   text NOT NULL REFERENCES projects (id),
    id           text NOT NULL CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    executor     jsonb NOT NULL CHECK (executor ? 'type'),
    created_time timestamptz NOT NULL DEFAULT now(),
    updated_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE components IS 'Things that can run: a component id mapped to an executor and its settings.';
COMMENT ON COLUMN components.project_id IS 'Owning project.';
COMMENT ON COLUMN components.id IS 'componentId, e.g. keboola.ex-db-snowflake or my-extractor.';
COMMENT ON COLUMN components.executor IS 'Executor and its settings: {"type": "process"|"http"|"sql"|"noop"|"sleep"|"fail", ...}.';
COMMENT ON COLUMN components.created_time IS 'When the component was first applied.';
COMMENT ON COLUMN components.updated_time IS 'When the component was last applied.';

CREATE TABLE configurations (
    project_id   text NOT NULL,
    component_id text NOT NULL,
    id           text NOT NULL CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    name         text NOT NULL,
    parameters   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(parameters) = 'object'),
    created_time timestamptz NOT NULL DEFAULT now(),
    updated_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, component_id, id),
    FOREIGN KEY (project_id, component_id) REFERENCES components (project_id, id)
);
COMMENT ON TABLE configurations IS 'Saved parameters for a component. Jobs of one configuration never run at the same time.';
COMMENT ON COLUMN configurations.project_id IS 'Owning project.';
COMMENT ON COLUMN configurations.component_id IS 'Component this configuration runs.';
COMMENT ON COLUMN configurations.id IS 'configId, unique within the component.';
COMMENT ON COLUMN configurations.name IS 'Human-readable name.';
COMMENT ON COLUMN configurations.parameters IS 'Parameters passed to the executor; a job may override top-level keys.';
COMMENT ON COLUMN configurations.created_time IS 'When the configuration was first applied.';
COMMENT ON COLUMN configurations.updated_time IS 'When the configuration was last applied.';

CREATE TYPE job_status AS ENUM (
    'created', 'waiting', 'processing', 'success', 'warning', 'error', 'terminating', 'terminated', 'cancelled'
);
COMMENT ON TYPE job_status IS 'created -> waiting -> processing -> success|warning|error; terminating -> terminated; cancelled. Final: success, warning, error, terminated, cancelled.';

CREATE TYPE job_desired_status AS ENUM ('processing', 'terminating');
COMMENT ON TYPE job_desired_status IS 'What a person wants of the job: keep processing, or terminate it.';

CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id           text NOT NULL,
    parent_run_id    text,
    project_id       text NOT NULL REFERENCES projects (id),
    status           job_status NOT NULL DEFAULT 'created',
    desired_status   job_desired_status NOT NULL DEFAULT 'processing',
    component_id     text NOT NULL,
    config_id        text NOT NULL,
    mode             text NOT NULL DEFAULT 'run' CHECK (mode IN ('run', 'debug', 'forceRun')),
    type             text NOT NULL DEFAULT 'standard',
    config_data      jsonb,
    parameters       jsonb NOT NULL DEFAULT '{}'::jsonb,
    executor         jsonb NOT NULL,
    created_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    start_time       timestamptz,
    end_time         timestamptz,
    duration_seconds double precision,
    result           jsonb,
    waiting_reason   text CHECK (waiting_reason IN ('configuration-lock', 'project-limit', 'phase')),
    worker_id        text,
    attempt          integer NOT NULL DEFAULT 0,
    heartbeat_time   timestamptz,
    lease_expires    timestamptz,
    retries          integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
    retry_delay_seconds double precision NOT NULL DEFAULT 10 CHECK (retry_delay_seconds >= 0),
    delayed_start_time timestamptz,
    CHECK ((status = 'waiting') = (waiting_reason IS NOT NULL)),
    FOREIGN KEY (project_id, component_id, config_id) REFERENCES configurations (project_id, component_id, id)
);
COMMENT ON TABLE jobs IS 'One row per execution. Field names follow Keboola''s Job Queue (id, runId, status, desiredStatus, ...).';
COMMENT ON COLUMN jobs.id IS 'Job id.';
COMMENT ON COLUMN jobs.run_id IS 'runId: the id for a root job; parentRunId || ''.'' || id for a child.';
COMMENT ON COLUMN jobs.parent_run_id IS 'parentRunId: the runId of the job that started this one, or NULL for a root job.';
COMMENT ON COLUMN jobs.project_id IS 'Owning project; counts against its max_parallel_jobs while processing or terminating.';
COMMENT ON COLUMN jobs.status IS 'Current status; see the job_status type.';
COMMENT ON COLUMN jobs.desired_status IS 'processing, or terminating once someone asked for a kill.';
COMMENT ON COLUMN jobs.component_id IS 'component: the componentId run by this job.';
COMMENT ON COLUMN jobs.config_id IS 'config: the configuration run; jobs of one (project, component, config) are serialized.';
COMMENT ON COLUMN jobs.mode IS 'run (default), debug or forceRun.';
COMMENT ON COLUMN jobs.type IS 'standard for a plain job.';
COMMENT ON COLUMN jobs.config_data IS 'configData: the parameters given at job creation that override the saved configuration''s top-level keys.';
COMMENT ON COLUMN jobs.parameters IS 'Effective parameters, frozen at creation: configuration parameters overlaid with config_data.';
COMMENT ON COLUMN jobs.executor IS 'The component''s executor settings, frozen at creation so editing the component does not change a queued job.';
COMMENT ON COLUMN jobs.created_time IS 'createdTime.';
COMMENT ON COLUMN jobs.start_time IS 'startTime: when a worker claimed the job (processing began).';
COMMENT ON COLUMN jobs.end_time IS 'endTime: when the job reached a final status.';
COMMENT ON COLUMN jobs.duration_seconds IS 'durationSeconds: processing time only, end_time - start_time.';
COMMENT ON COLUMN jobs.result IS 'result: {"message": ..., ...} written when the job ends.';
COMMENT ON COLUMN jobs.waiting_reason IS 'Why a waiting job is held back: configuration-lock, project-limit or phase. NULL unless status = waiting.';
COMMENT ON COLUMN jobs.worker_id IS 'The worker that claimed the job most recently.';
COMMENT ON COLUMN jobs.attempt IS 'Number of claims so far; a worker''s report must carry the attempt it claimed (fencing).';
COMMENT ON COLUMN jobs.heartbeat_time IS 'Last heartbeat from the worker running the job.';
COMMENT ON COLUMN jobs.lease_expires IS 'The running worker''s lease; past it, the job counts as lost.';
COMMENT ON COLUMN jobs.retries IS 'Automatic retries: a failed attempt (error, a lost worker) is queued again while attempt <= retries.';
COMMENT ON COLUMN jobs.retry_delay_seconds IS 'Delay before an automatic retry starts.';
COMMENT ON COLUMN jobs.delayed_start_time IS 'delayedStartTime: the job is not claimed before this time (automatic retries).';

-- The claim queue: claimable jobs in FIFO order. Leading column is the sort key.
CREATE INDEX jobs_claimable ON jobs (id) WHERE status IN ('created', 'waiting');
-- Backstop for serialization: at most one running job per configuration.
CREATE UNIQUE INDEX jobs_one_running_per_configuration ON jobs (project_id, component_id, config_id)
    WHERE status IN ('processing', 'terminating');
CREATE INDEX jobs_running_per_project ON jobs (project_id) WHERE status IN ('processing', 'terminating');
CREATE INDEX jobs_by_configuration ON jobs (project_id, component_id, config_id, id);
-- Unfinished jobs per configuration: a new job queued behind one of these starts as waiting.
CREATE INDEX jobs_unfinished_per_configuration ON jobs (project_id, component_id, config_id)
    WHERE status IN ('created', 'waiting', 'processing', 'terminating');
CREATE INDEX jobs_by_created_time ON jobs (created_time);
CREATE INDEX jobs_by_parent_run ON jobs (parent_run_id) WHERE parent_run_id IS NOT NULL;
ALTER TABLE jobs SET (fillfactor = 80);

CREATE TABLE job_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    stream  text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
    message text NOT NULL
);
COMMENT ON TABLE job_events IS 'What a job said: each stdout/stderr line of a process, and system messages (claimed, finished, errors).';
COMMENT ON COLUMN job_events.id IS 'Event id; orders events of a job.';
COMMENT ON COLUMN job_events.job_id IS 'The job.';
COMMENT ON COLUMN job_events.time IS 'When the event was recorded.';
COMMENT ON COLUMN job_events.stream IS 'stdout, stderr or system.';
COMMENT ON COLUMN job_events.message IS 'One line of text.';
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- Its triggers' functions live in sql/functions/: jobs_prepare_insert.sql, jobs_notify_created.sql.
