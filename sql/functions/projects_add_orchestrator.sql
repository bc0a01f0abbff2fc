-- projects_add_orchestrator (trigger, AFTER INSERT ON projects): the orchestrator component
-- (keboola.orchestrator) exists in every project.

CREATE OR REPLACE FUNCTION projects_add_orchestrator() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO components (project_id, id, executor) VALUES (NEW.id, 'keboola.orchestrator', '{"type": "orchestrator"}')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER projects_add_orchestrator AFTER INSERT ON projects FOR EACH ROW EXECUTE FUNCTION projects_add_orchestrator();
