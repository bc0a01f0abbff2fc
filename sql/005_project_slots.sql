-- 005: project limits without a project-wide lock.
--
-- Before, a claim took one advisory lock per project and held it to commit, so the claims of
-- all workers in a project ran one after another, commit fsync included: in bench/run the
-- claims spent 3.7 ms of their 5.4 ms waiting for that lock (pg_stat_statements) and the
-- fleet topped out near 3,500 jobs/s. Now a project of limit L has slots 0..L-1; a running job
-- holds one (jobs.project_slot), taken under a try-lock like a configuration, so claimers
-- proceed side by side and the limit still holds exactly (a unique index backs it).

ALTER TABLE jobs ADD COLUMN project_slot integer;
COMMENT ON COLUMN jobs.project_slot IS 'The project slot (0 .. max_parallel_jobs - 1) a running job of type standard holds; at most max_parallel_jobs run at once per project. Meaningless once the job stops running.';

-- Backstop for the project limit, and the lookup of slots in use (replaces jobs_running_per_project).
CREATE UNIQUE INDEX jobs_one_per_project_slot ON jobs (project_id, project_slot)
    WHERE status IN ('processing', 'terminating');
DROP INDEX jobs_running_per_project;

-- The claim that takes project slots: sql/functions/claim_jobs.sql.
