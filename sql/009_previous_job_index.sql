-- 009: an index for the foreign key jobs.previous_job_id.
--
-- Deleting a job checks that no job names it as previousJobId; without an index each deleted
-- job scanned the whole table. bench/bench.py history deleted 2,000 queued jobs beside
-- 1,000,000 finished ones and had not finished after 2 minutes; retention (pruning old jobs)
-- would do the same. Partial: few jobs are retries.
CREATE INDEX jobs_by_previous_job ON jobs (previous_job_id) WHERE previous_job_id IS NOT NULL;
