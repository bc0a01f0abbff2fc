-- 015: the claim visits projects in turn (sql/functions/claim_jobs.sql), and fewer indexes are
-- written per job.
--
-- * jobs_queue_by_project: a project's claimable jobs, oldest first; also the index the claim
--   walks from project to project (one descent each). jobs_queue_of_runs: the coordinator's.
--   They replace jobs_claimable (id), whose id order made a project at its limit with a large
--   backlog fill every claim's window, so that other projects starved.
-- * jobs_leases goes: lease_expires changes at every heartbeat, and an indexed column made every
--   heartbeat a non-HOT update writing a new entry into every index of jobs. The rescuer finds
--   running jobs through jobs_one_running_per_configuration (the same predicate) instead.
-- * jobs_by_created_time becomes a BRIN index: created_time follows id, and a B-tree entry per
--   row version was written on every update that was not HOT.

CREATE INDEX jobs_queue_by_project ON jobs (project_id, id) WHERE status IN ('created', 'waiting') AND type = 'standard';
CREATE INDEX jobs_queue_of_runs ON jobs (id) WHERE status IN ('created', 'waiting') AND type = 'orchestrationContainer';
DROP INDEX jobs_claimable;
DROP INDEX jobs_leases;
DROP INDEX jobs_by_created_time;
CREATE INDEX jobs_by_created_time ON jobs USING brin (created_time);
