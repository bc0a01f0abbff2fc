-- 019: pauses. A project, a component of a project, or one configuration can be paused: its
-- queued jobs wait with reason `paused` (new ones too) and no claim takes them, until it is
-- resumed. Jobs already running go on. A pause is a row, so it survives restarts, and it is
-- taken and lifted in one transaction with the jobs it holds (sql/functions/pauses.sql).

CREATE TABLE pauses (
    id            bigserial PRIMARY KEY,
    project_id    text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    component_id  text,
    config_id     text,
    paused_time   timestamptz NOT NULL DEFAULT now(),
    paused_by     text NOT NULL,
    CHECK (config_id IS NULL OR component_id IS NOT NULL),
    UNIQUE NULLS NOT DISTINCT (project_id, component_id, config_id)
);
COMMENT ON TABLE pauses IS 'Paused scopes: a project (component and configuration NULL), a component of it (configuration NULL), or one configuration. Their queued jobs wait with reason paused.';
COMMENT ON COLUMN pauses.id IS 'Identifies the pause.';
COMMENT ON COLUMN pauses.project_id IS 'The project paused, or holding what is paused.';
COMMENT ON COLUMN pauses.component_id IS 'The component paused (NULL: the whole project).';
COMMENT ON COLUMN pauses.config_id IS 'The configuration paused (NULL: the whole component or project).';
COMMENT ON COLUMN pauses.paused_time IS 'When it was paused.';
COMMENT ON COLUMN pauses.paused_by IS 'Who paused it: a token''s description, or cli.';

-- NOT VALID: the old check was stricter, so every row passes; validating would read the whole
-- table under this migration's exclusive lock. New and updated rows are checked all the same.
ALTER TABLE jobs DROP CONSTRAINT jobs_waiting_reason_check,
    ADD CONSTRAINT jobs_waiting_reason_check CHECK (waiting_reason IN ('configuration-lock', 'project-limit', 'paused')) NOT VALID;
COMMENT ON COLUMN jobs.waiting_reason IS 'Why a waiting job is held back: configuration-lock, project-limit or paused. NULL unless status = waiting.';
