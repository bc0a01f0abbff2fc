-- configurations_add_orchestration_token (trigger, AFTER INSERT ON configurations): an
-- orchestration gets its own token when it is created (a random secret nobody sees); its runs
-- act as it (jobs.acting_token_id).

CREATE OR REPLACE FUNCTION configurations_add_orchestration_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.component_id = 'keboola.orchestrator' THEN
        INSERT INTO tokens (project_id, scope, orchestration_id, description, secret_sha256)
        VALUES (NEW.project_id, 'orchestration', NEW.id, 'orchestration ' || NEW.id,
                sha256(convert_to(gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER configurations_add_orchestration_token AFTER INSERT ON configurations
    FOR EACH ROW EXECUTE FUNCTION configurations_add_orchestration_token();
