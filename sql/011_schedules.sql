-- 011: schedules. A schedule runs an orchestration at the times of a UTC cron expression. The
-- active coordinator fires due schedules; each firing is a row keyed by (schedule, fire time),
-- so two coordinators, a restart or a clock hiccup never fire one slot twice, and slots missed
-- while no coordinator ran are fired once, for the latest of them.

CREATE TABLE schedules (
    project_id       text NOT NULL REFERENCES projects (id),
    id               text NOT NULL CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    orchestration_id text NOT NULL,
    cron             text NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    on_overlap       text NOT NULL DEFAULT 'queue' CHECK (on_overlap IN ('queue', 'skip', 'replace')),
    created_time     timestamptz NOT NULL DEFAULT now(),
    updated_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id)
);
COMMENT ON TABLE schedules IS 'Orchestrations run unattended at the times of a cron expression (UTC).';
COMMENT ON COLUMN schedules.project_id IS 'Project of the schedule and its orchestration.';
COMMENT ON COLUMN schedules.id IS 'Schedule id.';
COMMENT ON COLUMN schedules.orchestration_id IS 'The orchestration (a configuration of keboola.orchestrator) it runs.';
COMMENT ON COLUMN schedules.cron IS '5-field cron expression, UTC: minute hour day-of-month month day-of-week.';
COMMENT ON COLUMN schedules.enabled IS 'Disabled schedules do not fire; slots passed while disabled are not fired later.';
COMMENT ON COLUMN schedules.on_overlap IS 'When a run of the orchestration is unfinished: queue (the new run waits), skip (no new run; the firing is recorded skipped), replace (cancel the waiting runs, keep the newest).';
COMMENT ON COLUMN schedules.created_time IS 'When the schedule was made.';
COMMENT ON COLUMN schedules.updated_time IS 'Last apply, enable or disable: no slot before it is fired.';

CREATE TABLE schedule_firings (
    project_id  text NOT NULL,
    schedule_id text NOT NULL,
    fire_time   timestamptz NOT NULL,
    fired_time  timestamptz NOT NULL DEFAULT clock_timestamp(),
    outcome     text NOT NULL CHECK (outcome IN ('created', 'queued', 'skipped', 'replaced')),
    job_id      bigint,
    PRIMARY KEY (project_id, schedule_id, fire_time),
    FOREIGN KEY (project_id, schedule_id) REFERENCES schedules (project_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE schedule_firings IS 'One row per fired slot of a schedule: the key makes a second firing of a slot impossible.';
COMMENT ON COLUMN schedule_firings.project_id IS 'Project of the schedule.';
COMMENT ON COLUMN schedule_firings.schedule_id IS 'The schedule.';
COMMENT ON COLUMN schedule_firings.fire_time IS 'The cron slot fired (UTC, to the minute).';
COMMENT ON COLUMN schedule_firings.fired_time IS 'When the coordinator fired it.';
COMMENT ON COLUMN schedule_firings.outcome IS 'created (a run started), queued (a run waits behind an unfinished one), skipped (onOverlap skip), replaced (waiting runs were cancelled for this one).';
COMMENT ON COLUMN schedule_firings.job_id IS 'The run created, if any.';

ALTER TABLE jobs ADD COLUMN initialized_by text NOT NULL DEFAULT 'manual' CHECK (initialized_by IN ('manual', 'schedule', 'api'));
COMMENT ON COLUMN jobs.initialized_by IS 'What started the job: manual (CLI or console), schedule, or api.';
