-- renew_leases: a worker's heartbeat (WorkerSession.heartbeat), every quarter of the lease, with
-- or without jobs: it marks the worker's row seen (workers), and extends the lease of the job attempts the worker runs and returns those it still holds, each
-- with whether someone asked to kill it (the fallback when the kill's NOTIFY was missed). An
-- attempt it sent that is not returned is no longer its own (rescued, finished, claimed again):
-- the worker stops it at once. Fenced in the UPDATE's WHERE by worker, attempt, status and an
-- unexpired lease, so a rescue that committed first is never undone, and a lease that ran out
-- (its worker was stopped past it, say) is not brought back before the rescuer gets to it.
DROP FUNCTION IF EXISTS renew_leases(text, bigint[], integer[], double precision);

CREATE OR REPLACE FUNCTION renew_leases(p_worker text, p_ids bigint[], p_attempts integer[], p_lease_seconds double precision,
                                        p_running integer DEFAULT NULL)
RETURNS TABLE (job_id bigint, kill boolean)
LANGUAGE sql VOLATILE AS $$
    -- The worker's own row: heard from now (also when it runs nothing).
    UPDATE workers SET seen_time = now(), running = coalesce(p_running, running) WHERE id = p_worker;
    UPDATE jobs j SET heartbeat_time = clock_timestamp(), lease_expires = clock_timestamp() + make_interval(secs => p_lease_seconds)
    FROM unnest(p_ids, p_attempts) AS h(id, attempt)
    WHERE j.id = h.id AND j.attempt = h.attempt AND j.worker_id = p_worker AND j.status IN ('processing', 'terminating')
      AND j.lease_expires > clock_timestamp()   -- a lease that ran out is gone, rescued or not yet
    RETURNING j.id, j.desired_status = 'terminating'
$$;
COMMENT ON FUNCTION renew_leases(text, bigint[], integer[], double precision, integer) IS
    'A worker heartbeat: marks the worker seen, renews the leases of the given job attempts it still holds; returns them, with kill = true for those someone asked to kill.';
