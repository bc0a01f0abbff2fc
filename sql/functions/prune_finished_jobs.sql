-- prune_finished_jobs: retention (the active coordinator with --retention-days). Deletes up to
-- batch_size finished top-level jobs (standalone jobs and runs, with their task jobs) created
-- before cutoff and ended before it; returns how many top-level jobs went. Each call is its own
-- short transaction touching only finished rows, which no claim reads. SKIP LOCKED: a row someone
-- holds (a kill, a retry reading it) waits for the next batch.

CREATE OR REPLACE FUNCTION prune_finished_jobs(cutoff timestamptz, batch_size integer) RETURNS integer LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT id FROM jobs
        WHERE created_time < cutoff
          AND status IN ('success', 'warning', 'error', 'terminated', 'cancelled')
          AND orchestration_job_id IS NULL
          AND coalesce(end_time, created_time) < cutoff
        ORDER BY created_time
        LIMIT batch_size
        FOR UPDATE SKIP LOCKED),
    deleted AS (DELETE FROM jobs j USING doomed WHERE j.id = doomed.id RETURNING 1)
    SELECT count(*)::integer FROM deleted
$$;
