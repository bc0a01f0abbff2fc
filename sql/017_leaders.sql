-- 017: leadership as a row with a term (a fencing token) instead of a session advisory lock, so
-- a coordinator works through a pooler in transaction mode, where no session state survives a
-- transaction. The active coordinator holds the row's lease and renews it; a standby takes the
-- row over once the lease has run out (a coordinator that dies hands over after its lease), or
-- at once when the leader resigns (a graceful stop). Each take-over raises the term, and the
-- leader's steps lock the row FOR SHARE with its term: a take-over waits for a step in flight,
-- and a step of a leader that was taken over from changes nothing.
--
-- Upgrading: stop coordinators of earlier versions (they lead with the advisory lock
-- hashtext('baton.coordinator')) before starting these.

CREATE TABLE leaders (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    term        bigint NOT NULL,
    expires     timestamptz NOT NULL,
    taken_time  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE leaders IS 'One row per leadership (''coordinator''): who holds it, in which term, until when. See sql/functions/leaders.sql.';
COMMENT ON COLUMN leaders.name IS 'What is led: coordinator.';
COMMENT ON COLUMN leaders.holder IS 'The id of the process that holds it (the coordinator id).';
COMMENT ON COLUMN leaders.term IS 'Raised by every take-over: the fencing token the leader''s steps check.';
COMMENT ON COLUMN leaders.expires IS 'The lease: until then nobody else takes over; the leader renews it.';
COMMENT ON COLUMN leaders.taken_time IS 'When this term began.';
