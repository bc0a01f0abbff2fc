-- register_worker: a worker's row at start (Store.registerWorker); stop_worker at shutdown.
-- A worker id used again (a restarted process with --worker-id) takes its row over. Rows of
-- workers not heard from for 7 days are deleted here (each restart of a worker with the default
-- id, host-pid, makes a new row), so the table stays the size of the recent fleet.
CREATE OR REPLACE FUNCTION register_worker(p_id text, p_host text, p_pid integer, p_version text, p_concurrency integer,
                                          p_components text[], p_lease_seconds double precision)
RETURNS void LANGUAGE sql VOLATILE AS $$
    DELETE FROM workers WHERE seen_time < now() - interval '7 days' AND id <> p_id;
    INSERT INTO workers (id, host, pid, version, concurrency, components, lease_seconds)
    VALUES (p_id, p_host, p_pid, p_version, p_concurrency, p_components, p_lease_seconds)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
        concurrency = excluded.concurrency, components = excluded.components, lease_seconds = excluded.lease_seconds,
        running = 0, started_time = now(), seen_time = now(), stopped_time = NULL;
    SELECT pg_notify('baton_jobs', 'ranks');
$$;
COMMENT ON FUNCTION register_worker(text, text, integer, text, integer, text[], double precision) IS
    'Registers a worker process (its row in workers), deletes rows unseen for 7 days, and tells the others the ranks changed.';

CREATE OR REPLACE FUNCTION stop_worker(p_id text) RETURNS void LANGUAGE sql VOLATILE AS $$
    UPDATE workers SET stopped_time = now(), running = 0 WHERE id = p_id;
    SELECT pg_notify('baton_jobs', 'ranks');
$$;
COMMENT ON FUNCTION stop_worker(text) IS 'Marks a worker stopped (a graceful shutdown) and tells the others the ranks changed.';
