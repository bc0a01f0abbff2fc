-- 006: a worker's turn in one statement.
--
-- A turn records the outcomes a worker has and claims for its free slots. It was BEGIN,
-- finish_jobs, claim_jobs, COMMIT: four round trips. As one function call in autocommit it is
-- one round trip and still one transaction (the advisory locks are held until its commit).
-- Each row is a claimed job (NULL when none was claimed, so the accepted ids always arrive).

-- The function lives in sql/functions/worker_turn.sql.
