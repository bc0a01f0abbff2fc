-- 014: writing a notification no longer NOTIFYs baton_jobs. That woke every worker for nothing
-- at each run's end; the coordinator that ends a run wakes its own notifier instead.

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
