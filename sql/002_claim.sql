-- 002: claiming and finishing jobs.
--
-- Serialization per configuration follows "take the lock, then check, in a later statement":
-- a VOLATILE PL/pgSQL function gets a fresh snapshot for each statement (READ COMMITTED), so the
-- check that no job of the configuration is running sees every claim committed before the
-- advisory lock was granted. Checking in the same statement as the lock let pairs overlap.

-- The functions live in sql/functions/: claim_jobs.sql, finish_jobs.sql.
