-- Pauses (sql/019_pauses.sql): pause_scope and resume_scope, each one transaction with the jobs
-- it holds or releases (Store.pause, Store.resume). A scope is a project (p_component and
-- p_config NULL), a component of it (p_config NULL), or one configuration. JobTransition rows:
-- pause, resume, resume-behind; new jobs in a paused scope: create-paused (jobs_prepare_insert);
-- claims pass paused scopes by (claim_jobs). A job queued again while its scope is paused (a
-- retry, a rescue, a release) stays `created`, and no claim takes it until the resume.

-- is_paused: whether a job of (project, component, configuration) is in a paused scope.
CREATE OR REPLACE FUNCTION is_paused(p_project text, p_component text, p_config text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pauses s
                   WHERE s.project_id = p_project AND (s.component_id IS NULL OR s.component_id = p_component)
                     AND (s.config_id IS NULL OR s.config_id = p_config))
$$;
COMMENT ON FUNCTION is_paused(text, text, text) IS 'Whether jobs of this project, component and configuration are in a paused scope.';

-- pause_scope: pauses a scope (a second pause of the same scope changes nothing) and makes its
-- queued jobs wait with reason paused. Returns whether it was new and how many jobs now wait.
CREATE OR REPLACE FUNCTION pause_scope(p_project text, p_component text, p_config text, p_by text)
RETURNS TABLE (created boolean, jobs integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    made boolean;
    n    integer;
BEGIN
    INSERT INTO pauses (project_id, component_id, config_id, paused_by) VALUES (p_project, p_component, p_config, p_by)
    ON CONFLICT (project_id, component_id, config_id) DO NOTHING;
    made := FOUND;
    UPDATE jobs j SET status = 'waiting', waiting_reason = 'paused'
    WHERE j.project_id BETWEEN p_project AND p_project AND j.status IN ('created', 'waiting') AND j.type = 'standard'
      AND (p_component IS NULL OR j.component_id = p_component) AND (p_config IS NULL OR j.config_id = p_config)
      AND j.waiting_reason IS DISTINCT FROM 'paused';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN QUERY SELECT made, n;
END $$;
COMMENT ON FUNCTION pause_scope(text, text, text, text) IS
    'Pauses a project, component or configuration: its queued jobs wait with reason paused. Returns (new pause, jobs held).';

-- resume_scope: lifts the pause of exactly this scope. Its jobs that no other pause holds are
-- queued again: `created`, or `waiting` (configuration-lock) behind an older unfinished job of
-- their configuration, as a new job would be; then the workers are told (NOTIFY). Returns
-- whether there was such a pause and how many jobs were released.
CREATE OR REPLACE FUNCTION resume_scope(p_project text, p_component text, p_config text)
RETURNS TABLE (existed boolean, jobs integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    had   boolean;
    first bigint;
    n     integer;
BEGIN
    DELETE FROM pauses
    WHERE project_id = p_project AND component_id IS NOT DISTINCT FROM p_component AND config_id IS NOT DISTINCT FROM p_config;
    had := FOUND;
    WITH released AS (
        UPDATE jobs j SET status = CASE WHEN behind THEN 'waiting'::job_status ELSE 'created'::job_status END,
                          waiting_reason = CASE WHEN behind THEN 'configuration-lock' END
        FROM (SELECT q.id, EXISTS (SELECT 1 FROM jobs u
                                   WHERE u.project_id = q.project_id AND u.component_id = q.component_id AND u.config_id = q.config_id
                                     AND u.id < q.id AND u.status IN ('created', 'waiting', 'processing', 'terminating')) AS behind
              FROM jobs q
              WHERE q.project_id BETWEEN p_project AND p_project AND q.status = 'waiting' AND q.waiting_reason = 'paused'
                AND (p_component IS NULL OR q.component_id = p_component) AND (p_config IS NULL OR q.config_id = p_config)
                AND NOT is_paused(q.project_id, q.component_id, q.config_id)) r
        WHERE j.id = r.id AND j.status = 'waiting' AND j.waiting_reason = 'paused'
        RETURNING j.id, j.component_id
    )
    SELECT min(id), count(*) INTO first, n FROM released;
    IF n > 0 THEN
        PERFORM pg_notify('baton_jobs', 'created:' || first || ':' || n);
    ELSIF had THEN
        -- Jobs queued again (a retry) while it was paused stayed created: a worker may take them now.
        PERFORM pg_notify('baton_jobs', 'finished');
    END IF;
    RETURN QUERY SELECT had, n;
END $$;
COMMENT ON FUNCTION resume_scope(text, text, text) IS
    'Lifts the pause of a project, component or configuration; its jobs no other pause holds are queued again. Returns (there was a pause, jobs released).';
