-- take_worker_rank: the lowest free worker rank, taken as a session advisory lock (key
-- 1650553710, rank) on the calling connection (a worker's LISTEN connection, Store.listenForJobs);
-- NULL when 10,000 are taken. See jobs_notify_created for what ranks are for.

CREATE OR REPLACE FUNCTION take_worker_rank() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR k IN 0 .. 9999 LOOP
        IF pg_try_advisory_lock(1650553710, k) THEN
            RETURN k;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION take_worker_rank() IS
    'Takes the lowest free worker rank (session advisory lock 1650553710, rank) on this connection; released with pg_advisory_unlock or when the connection ends.';
