-- Leadership with a term (sql/017_leaders.sql), for the coordinator (Coordinator.lead,
-- CoordinatorSession). Every statement stands alone, so it works through a pooler in
-- transaction mode; nothing lives on a connection.
--
-- take_lead: the leadership if it is free (no row, lease run out, or resigned) or already the
-- caller's; returns the new term, or NULL while another holder's lease runs.
CREATE OR REPLACE FUNCTION take_lead(p_name text, p_holder text, p_seconds double precision) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    INSERT INTO leaders AS l (name, holder, term, expires)
    VALUES (p_name, p_holder, 1, clock_timestamp() + make_interval(secs => p_seconds))
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, term = l.term + 1, expires = excluded.expires, taken_time = now()
        WHERE l.expires < clock_timestamp() OR l.holder = excluded.holder
    RETURNING term
$$;
COMMENT ON FUNCTION take_lead(text, text, double precision) IS
    'Takes a leadership that is free, run out or already the caller''s, for p_seconds; returns the new term (NULL: another holder leads).';

-- keep_lead: renews the lease of the term the caller holds; false when it no longer holds it.
CREATE OR REPLACE FUNCTION keep_lead(p_name text, p_holder text, p_term bigint, p_seconds double precision) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    WITH kept AS (
        UPDATE leaders SET expires = clock_timestamp() + make_interval(secs => p_seconds)
        WHERE name = p_name AND holder = p_holder AND term = p_term
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM kept)
$$;
COMMENT ON FUNCTION keep_lead(text, text, bigint, double precision) IS
    'Renews the lease of a term the caller holds; false when the term is no longer its own.';

-- resign_lead: ends the caller's term now, so a standby takes over at its next try.
CREATE OR REPLACE FUNCTION resign_lead(p_name text, p_holder text, p_term bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE leaders SET expires = '-infinity' WHERE name = p_name AND holder = p_holder AND term = p_term
$$;
COMMENT ON FUNCTION resign_lead(text, text, bigint) IS 'Ends a term the caller holds at once.';

-- lead_fence: the first statement of a leader's step (a transaction): locks the row FOR SHARE
-- if the term is still the caller's and its lease runs, so a take-over waits for the step; else
-- raises (SQLSTATE BT001), and the step changes nothing.
CREATE OR REPLACE FUNCTION lead_fence(p_name text, p_holder text, p_term bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM leaders WHERE name = p_name AND holder = p_holder AND term = p_term AND expires > clock_timestamp() FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'leadership of % lost: term % is no longer held by %', p_name, p_term, p_holder USING ERRCODE = 'BT001';
    END IF;
END $$;
COMMENT ON FUNCTION lead_fence(text, text, bigint) IS
    'A leader''s step begins with it: locks its leadership row if the term still holds, else raises BT001.';
