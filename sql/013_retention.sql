-- 013: retention. The active coordinator (with --retention-days) deletes finished jobs older than
-- the retention age in small batches, each its own short transaction, so claims never wait on
-- it: it touches only finished rows, which no claim reads. A run's task jobs go with the run;
-- events and notifications go with their job (ON DELETE CASCADE); a later run that retried a
-- pruned one keeps its row with previous_job_id set to NULL.

ALTER TABLE jobs DROP CONSTRAINT jobs_orchestration_job_id_fkey,
    ADD CONSTRAINT jobs_orchestration_job_id_fkey FOREIGN KEY (orchestration_job_id) REFERENCES jobs (id) ON DELETE CASCADE;
ALTER TABLE jobs DROP CONSTRAINT jobs_previous_job_id_fkey,
    ADD CONSTRAINT jobs_previous_job_id_fkey FOREIGN KEY (previous_job_id) REFERENCES jobs (id) ON DELETE SET NULL;
-- ON DELETE CASCADE finds a run's task jobs through jobs_one_per_orchestration_task (003), and
-- the retries of a run through jobs_by_previous_job (009).

-- The function lives in sql/functions/prune_finished_jobs.sql.
