-- enqueue_long_notifications: runs that go on or wait too long (job-processing-long,
-- job-waiting-long); called by the active coordinator every few seconds. A run is told of once
-- per event (the outbox key). Returns the rows written.

CREATE OR REPLACE FUNCTION enqueue_long_notifications() RETURNS integer LANGUAGE sql AS $$
    WITH processing_long AS (
        -- over the average of the orchestration's last 20 successful runs by the subscription's
        -- percentage (no successful run yet: no notification)
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT j.project_id, j.id, 'job-processing-long', s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM jobs j
        JOIN notification_subscriptions s
          ON s.project_id = j.project_id AND s.enabled AND 'job-processing-long' = ANY (s.events)
         AND (s.orchestration_id IS NULL OR s.orchestration_id = j.config_id)
        CROSS JOIN LATERAL (
            SELECT avg(h.duration_seconds) AS seconds FROM (
                SELECT p.duration_seconds FROM jobs p
                WHERE p.project_id = j.project_id AND p.component_id = j.component_id AND p.config_id = j.config_id
                  AND p.type = 'orchestrationContainer' AND p.status = 'success' AND p.duration_seconds IS NOT NULL
                ORDER BY p.id DESC LIMIT 20) h) history
        WHERE j.type = 'orchestrationContainer' AND j.status = 'processing' AND j.initialized_by <> 'manual'
          AND history.seconds IS NOT NULL
          AND extract(epoch FROM clock_timestamp() - j.start_time) > history.seconds * (1 + s.processing_long_percent / 100)
        ON CONFLICT DO NOTHING
        RETURNING 1),
    waiting_long AS (
        -- created or waiting for more than the subscription's minutes
        INSERT INTO notifications (project_id, job_id, event, subscription_id, channel, target, secret, timeout_seconds)
        SELECT j.project_id, j.id, 'job-waiting-long', s.id, s.channel, s.target, s.secret, s.timeout_seconds
        FROM jobs j
        JOIN notification_subscriptions s
          ON s.project_id = j.project_id AND s.enabled AND 'job-waiting-long' = ANY (s.events)
         AND (s.orchestration_id IS NULL OR s.orchestration_id = j.config_id)
        WHERE j.type = 'orchestrationContainer' AND j.status IN ('created', 'waiting') AND j.initialized_by <> 'manual'
          AND clock_timestamp() - j.created_time > make_interval(secs => s.waiting_long_minutes * 60)
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT ((SELECT count(*) FROM processing_long) + (SELECT count(*) FROM waiting_long))::integer
$$;
