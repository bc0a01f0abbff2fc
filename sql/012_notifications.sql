-- 012: notifications. Subscriptions say who hears of which runs of an orchestration (or of every
-- orchestration of a project). When a run ends, a trigger writes one outbox row per recipient in
-- the same transaction as the status change, so no notification is lost when a process dies
-- after the change; the active coordinator delivers the outbox (webhook or email), retrying with
-- backoff. Runs that go on too long or wait too long are found by the coordinator and written to
-- the same outbox. The (job, event, channel, target) key means nobody is told twice of one event.
--
-- The seed's rule: a run started by hand (initialized_by = 'manual') notifies only the owner of
-- the token that started it, by email, when the token has an owner address, and only of failures
-- and warnings; subscriptions are for runs started by a schedule or through the API.

ALTER TABLE tokens ADD COLUMN owner_email text;
COMMENT ON COLUMN tokens.owner_email IS 'Address of the person the token belongs to: a run they start by hand notifies only them.';

CREATE TABLE notification_subscriptions (
    project_id              text NOT NULL REFERENCES projects (id),
    id                      text NOT NULL CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    orchestration_id        text,
    events                  text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                                'job-failed', 'job-succeeded-with-warning', 'job-succeeded',
                                'job-processing-long', 'job-waiting-long']::text[]),
    channel                 text NOT NULL CHECK (channel IN ('webhook', 'email')),
    target                  text NOT NULL,
    secret                  text,
    timeout_seconds         double precision NOT NULL DEFAULT 10 CHECK (timeout_seconds > 0),
    processing_long_percent double precision NOT NULL DEFAULT 50 CHECK (processing_long_percent >= 0),
    waiting_long_minutes    double precision NOT NULL DEFAULT 30 CHECK (waiting_long_minutes > 0),
    enabled                 boolean NOT NULL DEFAULT true,
    created_time            timestamptz NOT NULL DEFAULT now(),
    updated_time            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, id),
    CHECK ((channel = 'webhook') = (secret IS NOT NULL))
);
COMMENT ON TABLE notification_subscriptions IS 'Who hears of which runs: kind: notification documents.';
COMMENT ON COLUMN notification_subscriptions.project_id IS 'Project whose runs it follows.';
COMMENT ON COLUMN notification_subscriptions.id IS 'Subscription id.';
COMMENT ON COLUMN notification_subscriptions.orchestration_id IS 'The orchestration whose runs it follows; NULL: every orchestration of the project.';
COMMENT ON COLUMN notification_subscriptions.events IS 'job-failed, job-succeeded-with-warning, job-succeeded, job-processing-long, job-waiting-long.';
COMMENT ON COLUMN notification_subscriptions.channel IS 'webhook (JSON POST signed with HMAC-SHA256) or email (SMTP).';
COMMENT ON COLUMN notification_subscriptions.target IS 'The webhook URL or the email address.';
COMMENT ON COLUMN notification_subscriptions.secret IS 'Webhook only: the HMAC-SHA256 key of the X-Baton-Signature header.';
COMMENT ON COLUMN notification_subscriptions.timeout_seconds IS 'Webhook only: seconds one delivery attempt may take.';
COMMENT ON COLUMN notification_subscriptions.processing_long_percent IS 'job-processing-long: a run is long when it runs this many percent over the average of the last 20 successful runs.';
COMMENT ON COLUMN notification_subscriptions.waiting_long_minutes IS 'job-waiting-long: a run waits long after this many minutes created or waiting.';
COMMENT ON COLUMN notification_subscriptions.enabled IS 'Disabled subscriptions are not notified.';
COMMENT ON COLUMN notification_subscriptions.created_time IS 'When it was made.';
COMMENT ON COLUMN notification_subscriptions.updated_time IS 'Last apply.';

CREATE TABLE notifications (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        text NOT NULL,
    job_id            bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    event             text NOT NULL,
    subscription_id   text,
    channel           text NOT NULL CHECK (channel IN ('webhook', 'email')),
    target            text NOT NULL,
    secret            text,
    timeout_seconds   double precision NOT NULL DEFAULT 10,
    created_time      timestamptz NOT NULL DEFAULT now(),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    lease_until       timestamptz,
    delivered_time    timestamptz,
    failed_time       timestamptz,
    last_error        text,
    UNIQUE (job_id, event, channel, target)
);
COMMENT ON TABLE notifications IS 'The outbox: one row per recipient of an event of a run, written with the status change, delivered by the coordinator.';
COMMENT ON COLUMN notifications.id IS 'Notification id: sent as X-Baton-Notification-Id, so a receiver can drop a repeat.';
COMMENT ON COLUMN notifications.project_id IS 'Project of the run.';
COMMENT ON COLUMN notifications.job_id IS 'The run it tells of.';
COMMENT ON COLUMN notifications.event IS 'job-failed, job-succeeded-with-warning, job-succeeded, job-processing-long or job-waiting-long.';
COMMENT ON COLUMN notifications.subscription_id IS 'The subscription it came from; NULL for the owner of a manual run''s token.';
COMMENT ON COLUMN notifications.channel IS 'webhook or email.';
COMMENT ON COLUMN notifications.target IS 'URL or email address.';
COMMENT ON COLUMN notifications.secret IS 'Webhook HMAC key, copied from the subscription.';
COMMENT ON COLUMN notifications.timeout_seconds IS 'Seconds one attempt may take.';
COMMENT ON COLUMN notifications.created_time IS 'When the event happened (the outbox row was written with it).';
COMMENT ON COLUMN notifications.attempts IS 'Delivery attempts started.';
COMMENT ON COLUMN notifications.next_attempt_time IS 'Not attempted before this time (backoff after a failed attempt).';
COMMENT ON COLUMN notifications.lease_until IS 'A coordinator attempts it until then; after it, another may.';
COMMENT ON COLUMN notifications.delivered_time IS 'When a delivery succeeded (a 2xx answer, or the SMTP server accepted the message).';
COMMENT ON COLUMN notifications.failed_time IS 'When delivery was given up after the last attempt.';
COMMENT ON COLUMN notifications.last_error IS 'Why the last attempt failed.';
CREATE INDEX notifications_pending ON notifications (next_attempt_time) WHERE delivered_time IS NULL AND failed_time IS NULL;
CREATE INDEX notifications_by_job ON notifications (job_id);

-- Writes the outbox rows of one event of one run: the manual rule, else matching subscriptions.
CREATE FUNCTION enqueue_notifications(run jobs, event_name text) RETURNS integer LANGUAGE plpgsql AS $$
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
    IF written > 0 THEN
        PERFORM pg_notify('baton_jobs', 'notification');
    END IF;
    RETURN written;
END $$;

CREATE FUNCTION jobs_notify_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enqueue_notifications(NEW, CASE NEW.status
        WHEN 'error' THEN 'job-failed'
        WHEN 'warning' THEN 'job-succeeded-with-warning'
        ELSE 'job-succeeded' END);
    RETURN NULL;
END $$;
-- Only runs (orchestration containers) notify; the WHEN clause keeps the trigger off the hot path
-- of plain jobs.
CREATE TRIGGER jobs_notify_run_end AFTER UPDATE OF status ON jobs FOR EACH ROW
    WHEN (NEW.type = 'orchestrationContainer' AND NEW.status IN ('success', 'warning', 'error')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jobs_notify_run_end();

-- Runs that go on or wait too long: called by the active coordinator every few seconds. A run is
-- told of once per event (the outbox key). Returns the rows written.
CREATE FUNCTION enqueue_long_notifications() RETURNS integer LANGUAGE sql AS $$
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
