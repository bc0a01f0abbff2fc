-- jobs_set_run_id (trigger, BEFORE INSERT ON jobs): runId of a root job is its id, a child's is
-- parentRunId.id; a run acts as its orchestration's token, and its task jobs as their run.

CREATE OR REPLACE FUNCTION jobs_set_run_id() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE TRIGGER jobs_set_run_id BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_set_run_id();
