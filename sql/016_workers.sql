-- 016: one row per worker process, so a fleet is visible without session state: which workers
-- run, since when, with how many slots, and when each was last heard from. A worker registers
-- when it starts, its heartbeat (every quarter of its lease, with or without jobs) keeps the row
-- fresh, and it marks the row stopped when it shuts down. Worker ranks (which worker a new job
-- wakes first) come from these rows instead of session advisory locks, which a pooler in
-- transaction mode cannot carry.

CREATE TABLE workers (
    id            text PRIMARY KEY,
    host          text NOT NULL,
    pid           integer NOT NULL,
    version       text NOT NULL,
    concurrency   integer NOT NULL CHECK (concurrency > 0),
    components    text[],
    lease_seconds double precision NOT NULL CHECK (lease_seconds > 0),
    running       integer NOT NULL DEFAULT 0,
    started_time  timestamptz NOT NULL DEFAULT now(),
    seen_time     timestamptz NOT NULL DEFAULT now(),
    stopped_time  timestamptz
);
COMMENT ON TABLE workers IS 'Worker processes: registered at start, kept fresh by their heartbeats, marked stopped at shutdown. A worker not seen for two leases is gone; its row is deleted after 7 days unseen.';
COMMENT ON COLUMN workers.id IS 'The worker id (jobs.worker_id of the jobs it runs).';
COMMENT ON COLUMN workers.host IS 'Host name of the machine it runs on.';
COMMENT ON COLUMN workers.pid IS 'Its process id on that host.';
COMMENT ON COLUMN workers.version IS 'The baton version it runs.';
COMMENT ON COLUMN workers.concurrency IS 'Its slots: jobs it runs at once at most.';
COMMENT ON COLUMN workers.components IS 'The components it claims (NULL: all).';
COMMENT ON COLUMN workers.lease_seconds IS 'The lease of its jobs; it is heard from every quarter of it.';
COMMENT ON COLUMN workers.running IS 'Jobs it ran at its last heartbeat.';
COMMENT ON COLUMN workers.started_time IS 'When this process started.';
COMMENT ON COLUMN workers.seen_time IS 'Its last heartbeat.';
COMMENT ON COLUMN workers.stopped_time IS 'When it shut down; NULL while it runs (or until it is found gone).';

-- The functions: sql/functions/register_worker.sql, renew_leases.sql, live_workers.sql.

-- Ranks were session advisory locks (take_worker_rank, worker_ranks; sql/007_wake_one.sql);
-- they are rows of workers now (live_workers).
DROP FUNCTION IF EXISTS take_worker_rank();
DROP FUNCTION IF EXISTS worker_ranks();
DELETE FROM schema_functions WHERE name IN ('take_worker_rank.sql', 'worker_ranks.sql');
