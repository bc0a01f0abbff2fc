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

-- The functions live in sql/functions/: enqueue_notifications.sql, jobs_notify_run_end.sql, enqueue_long_notifications.sql.
