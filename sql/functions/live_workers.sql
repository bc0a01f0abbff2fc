-- live_workers: the workers that run now (not stopped, heard from within two of their leases),
-- by id: a worker's position in this list is its rank, which decides which new jobs it claims
-- first (Mailbox.isFirstPick). Store.listenForJobs reads it at start, when a worker announces
-- itself or leaves (NOTIFY baton_jobs 'ranks'), and every 10 s.
CREATE OR REPLACE FUNCTION live_workers() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM workers
    WHERE stopped_time IS NULL AND seen_time > now() - make_interval(secs => 2 * lease_seconds)
$$;
COMMENT ON FUNCTION live_workers() IS 'Ids of the workers running now (not stopped, seen within two leases), sorted: the worker ranks.';
