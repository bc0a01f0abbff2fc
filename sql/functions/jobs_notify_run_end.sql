-- jobs_notify_run_end (trigger, AFTER UPDATE OF status ON jobs): when a run ends, its outbox rows
-- are written in the same transaction as the status change, so no notification is lost when a
-- process dies after it. Only runs notify: the WHEN clause keeps the trigger off the hot path of
-- plain jobs.

CREATE OR REPLACE FUNCTION jobs_notify_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enqueue_notifications(NEW, CASE NEW.status
        WHEN 'error' THEN 'job-failed'
        WHEN 'warning' THEN 'job-succeeded-with-warning'
        ELSE 'job-succeeded' END);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER jobs_notify_run_end AFTER UPDATE OF status ON jobs FOR EACH ROW
    WHEN (NEW.type = 'orchestrationContainer' AND NEW.status IN ('success', 'warning', 'error')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION jobs_notify_run_end();

