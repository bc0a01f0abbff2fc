-- 007: wake one worker per new job, not all of them.
--
-- Every idle worker used to react to every 'created' notification: with 4 idle workers, 4
-- claims raced for one job on 2 cores and the winner waited for the losers (enqueue -> start
-- p50 3.1 ms with 4 workers, 2.0 ms with 1; bench/bench.py latency). Now the payload says
-- which jobs are new, 'created:FIRST_ID:COUNT', and each worker holds a rank (a session
-- advisory lock on its LISTEN connection, freed when the connection goes): the workers whose
-- position among the held ranks is FIRST_ID mod (number of ranks) .. + COUNT - 1 claim at once,
-- the others 25 ms later as a fallback (the Mailbox in BatonEngine). Jobs that
-- start waiting (queued behind their configuration) wake nobody: a finish does that.
--
-- A finish, too, woke every worker and the coordinator ('finished'), so each job cost every
-- idle worker an empty turn (8 empty turns a job in the latency bench). Now finish_jobs
-- notifies only when someone can act on it: a finished task of an orchestration run (the
-- coordinator), a failed attempt queued again, or jobs waiting for a finished job's
-- configuration or for a slot of its project.

CREATE INDEX jobs_waiting_for_project ON jobs (project_id) WHERE status = 'waiting' AND waiting_reason = 'project-limit';

-- The functions live in sql/functions/: jobs_notify_created.sql, take_worker_rank.sql, worker_ranks.sql, finish_jobs.sql.
