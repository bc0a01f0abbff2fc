-- Raw ceiling for Baton's throughput: claim :batch job(s) and finish them, in one transaction.
-- Run by bench/run with: pgbench -n -M prepared -c 8 -j 2 -T SECONDS -D batch=1|10 -f bench/sql/claim.sql
-- Minimal SQL equivalent of claim_jobs + finish_jobs (sql/functions/) without the
-- per-configuration and project-limit rules: take the oldest claimable rows of the project with
-- FOR UPDATE SKIP LOCKED through the partial index jobs_queue_by_project (read the way
-- claim_jobs reads it, project_id BETWEEN, so the planner cannot take the primary key), mark them
-- processing with the same columns a claim writes, then success with the columns a finish writes.
BEGIN;
WITH picked AS (
    SELECT id FROM jobs
    WHERE project_id BETWEEN 'default' AND 'default' AND status IN ('created', 'waiting') AND type = 'standard'
    ORDER BY project_id, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE jobs j SET
        status = 'processing',
        waiting_reason = NULL,
        start_time = clock_timestamp(),
        worker_id = 'pgbench',
        attempt = j.attempt + 1,
        heartbeat_time = clock_timestamp(),
        lease_expires = clock_timestamp() + interval '60 seconds'
    FROM picked
    WHERE j.id = picked.id
    RETURNING j.id
)
SELECT coalesce(array_agg(id), '{}') AS ids FROM claimed
\gset
UPDATE jobs SET
    status = 'success',
    end_time = clock_timestamp(),
    duration_seconds = extract(epoch FROM clock_timestamp() - start_time),
    result = '{"message": "ok"}',
    lease_expires = NULL
WHERE id = ANY (:ids::bigint[]) AND status = 'processing';
COMMIT;
