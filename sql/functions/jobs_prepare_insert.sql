-- jobs_prepare_insert (trigger, BEFORE INSERT ON jobs): what every new job gets, whichever path
-- inserts it (Store.createJobs, a run, a run's task jobs, a schedule's run).
--
-- * runId: a root job's id; a child's parentRunId.id.
-- * The token it acts as: a run acts as its orchestration's token, its task jobs as their run,
--   a plain job as the token that created it.
-- * Queued behind its configuration (JobTransition create-behind): a job created while another
--   job of its configuration is unfinished starts `waiting` with reason `configuration-lock`.
--   A row-level BEFORE trigger sees the rows its statement inserted before this one, so the
--   second of `jobs create --count 5` waits too.
-- * In a paused scope (JobTransition create-paused): a job of a paused project, component or
--   configuration starts `waiting` with reason `paused` (sql/functions/pauses.sql).
DROP TRIGGER IF EXISTS jobs_set_run_id ON jobs;
DROP FUNCTION IF EXISTS jobs_set_run_id();

CREATE OR REPLACE FUNCTION jobs_prepare_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF NEW.status = 'created' AND EXISTS (
        SELECT 1 FROM jobs u
        WHERE u.project_id = NEW.project_id AND u.component_id = NEW.component_id AND u.config_id = NEW.config_id
          AND u.status IN ('created', 'waiting', 'processing', 'terminating')) THEN
        NEW.status := 'waiting';
        NEW.waiting_reason := 'configuration-lock';
    END IF;
    IF NEW.status IN ('created', 'waiting') AND NEW.type = 'standard' AND is_paused(NEW.project_id, NEW.component_id, NEW.config_id) THEN
        NEW.status := 'waiting';
        NEW.waiting_reason := 'paused';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER jobs_prepare_insert BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_prepare_insert();
COMMENT ON FUNCTION jobs_prepare_insert() IS 'Trigger: runId, the acting token, waiting (configuration-lock) for a job queued behind an unfinished job of its configuration, waiting (paused) in a paused scope.';
