-- worker_ranks: the ranks held now, sorted (Store.listenForJobs): a worker's position in it
-- decides which new jobs it claims first.

CREATE OR REPLACE FUNCTION worker_ranks() RETURNS integer[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(objid::integer ORDER BY objid), '{}') FROM pg_locks
    WHERE locktype = 'advisory' AND classid = 1650553710 AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
$$;
COMMENT ON FUNCTION worker_ranks() IS 'Worker ranks held in this database (see take_worker_rank), sorted.';
