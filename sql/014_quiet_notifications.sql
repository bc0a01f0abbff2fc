-- 014: writing a notification no longer NOTIFYs baton_jobs. That woke every worker for nothing
-- at each run's end; the coordinator that ends a run wakes its own notifier instead.

-- The function lives in sql/functions/enqueue_notifications.sql.
