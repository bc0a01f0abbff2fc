-- 004: kill and timeouts.

ALTER TABLE jobs ADD COLUMN timeout_seconds double precision CHECK (timeout_seconds > 0);
ALTER TABLE components ADD COLUMN timeout_seconds double precision CHECK (timeout_seconds > 0);
COMMENT ON COLUMN components.timeout_seconds IS 'Default timeout of this component''s jobs; a job''s or task''s own timeoutSeconds wins.';
COMMENT ON COLUMN jobs.timeout_seconds IS 'Stop the job (like a kill) once it has been processing this long; it then ends error with reason timeout. NULL: no limit.';

CREATE INDEX jobs_leases ON jobs (lease_expires) WHERE status IN ('processing', 'terminating');

-- The functions live in sql/functions/: kill_job.sql, rescue_expired_leases.sql.
