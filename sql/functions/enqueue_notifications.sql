-- enqueue_notifications: writes the outbox rows of one event of one run (called by the
-- jobs_notify_run_end trigger): the manual rule (a run started by hand notifies only the owner of
-- the token that started it, of failures and warnings), else the matching subscriptions. It does
-- not NOTIFY baton_jobs: that woke every worker at each run's end; the coordinator that ends a run
-- wakes its own notifier.

CREATE OR REPLACE FUNCTION enqueue_notifications(run jobs, event_name text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    written integer := 0;
BEGIN
    IF run.initialized_by = 'manual' THEN
        IF event_name IN ('job-failed', 'job-succeeded-with-warning') THEN
            INSERT INTO notifications (project_id, job_id, event, channel, target)
            SELECT run.project_id, run.id, event_name, 'email', t.owner_email
            FROM tokens t WHERE t.id = run.token_id AND t.owner_email IS NOT NULL
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS written = ROW_COUNT;
        END IF;
    ELSE
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT run.project_id, run.id, event_name, s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM notification_subscriptions s
        WHERE s.project_id = run.project_id AND s.enabled AND event_name = ANY (s.events)
          AND (s.orchestration_id IS NULL OR s.orchestration_id = run.config_id)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS written = ROW_COUNT;
    END IF;
    RETURN written;
END $$;
COMMENT ON FUNCTION enqueue_notifications(jobs, text) IS 'Writes the notifications outbox rows of one event of one run; returns how many.';
