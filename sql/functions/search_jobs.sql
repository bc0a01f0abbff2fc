-- search_jobs: the jobs a search, a count or a bulk action of the API and the console matches
-- (Store.jobs, jobCounts, killJobs, failedRoots). Every argument is optional (NULL: any). One
-- function, so a listing, its counts by status and "kill every job that matches" can never
-- disagree about which jobs match. A plain SQL function: the planner inlines it.
--   p_run: a job id or a run id; matches that job and, for a run id, the jobs under it.
--   p_orchestration: runs of that orchestration and their task jobs.
--   p_roots_only: only jobs no other job started (plain jobs and orchestration runs).
--   p_not_retried: only jobs no later job retried (no job has it as previous_job_id).
CREATE OR REPLACE FUNCTION search_jobs(p_project text, p_statuses text[], p_component text, p_config text,
                                       p_parent_run text, p_ids bigint[], p_from timestamptz, p_to timestamptz,
                                       p_orchestration text, p_initialized_by text, p_run text,
                                       p_roots_only boolean, p_not_retried boolean)
RETURNS SETOF jobs
LANGUAGE sql STABLE AS $$
    SELECT * FROM jobs j
    WHERE (p_project IS NULL OR j.project_id = p_project)
      AND (p_statuses IS NULL OR j.status::text = ANY (p_statuses))
      AND (p_component IS NULL OR j.component_id = p_component)
      AND (p_config IS NULL OR j.config_id = p_config)
      AND (p_parent_run IS NULL OR j.parent_run_id = p_parent_run)
      AND (p_ids IS NULL OR j.id = ANY (p_ids))
      AND (p_from IS NULL OR j.created_time >= p_from)
      AND (p_to IS NULL OR j.created_time < p_to)
      AND (p_orchestration IS NULL
           OR (j.component_id = 'keboola.orchestrator' AND j.config_id = p_orchestration)
           OR j.orchestration_job_id IN (SELECT o.id FROM jobs o WHERE o.project_id = j.project_id
                                           AND o.component_id = 'keboola.orchestrator' AND o.config_id = p_orchestration))
      AND (p_initialized_by IS NULL OR j.initialized_by = p_initialized_by)
      AND (p_run IS NULL OR j.run_id = p_run OR j.id::text = p_run OR left(j.run_id, length(p_run) + 1) = p_run || '.')
      AND (NOT coalesce(p_roots_only, false) OR j.parent_run_id IS NULL)
      AND (NOT coalesce(p_not_retried, false) OR NOT EXISTS (SELECT 1 FROM jobs r WHERE r.previous_job_id = j.id))
$$;
COMMENT ON FUNCTION search_jobs(text, text[], text, text, text, bigint[], timestamptz, timestamptz, text, text, text, boolean, boolean) IS
    'The jobs a search, its counts and bulk kill/retry match (all arguments optional); see sql/functions/search_jobs.sql.';
