-- Queries an operator runs by hand: psql "$DATABASE_URL" -f sql/inspect.sql, or copy one.

-- Queue depth by status and component.
SELECT component_id, status, count(*) AS jobs
FROM jobs
WHERE status NOT IN ('success', 'warning', 'error', 'terminated', 'cancelled')
GROUP BY component_id, status
ORDER BY component_id, status;

-- The fleet: workers running now (heard from within two leases), their slots and load, and the
-- ones that stopped or went silent in the last hour.
SELECT * FROM (
    SELECT id, host, pid, version, concurrency, running, components,
           CASE WHEN stopped_time IS NOT NULL THEN 'stopped'
                WHEN seen_time > now() - make_interval(secs => 2 * lease_seconds) THEN 'live'
                ELSE 'gone' END AS state,
           now() - seen_time AS last_heard, started_time
    FROM workers
    WHERE stopped_time IS NULL OR stopped_time > now() - interval '1 hour'
) w
ORDER BY state = 'live' DESC, id;

-- Running jobs per configuration and worker, oldest first, with lease health.
SELECT worker_id, project_id, component_id, config_id, id AS job_id, status,
       now() - start_time AS running_for,
       lease_expires - now() AS lease_left
FROM jobs
WHERE status IN ('processing', 'terminating')
ORDER BY start_time;

-- Jobs waiting, and why (configuration-lock, project-limit, paused), with what holds them: the
-- running job of their configuration, the project's limit in use, the pause (baton pauses list).
SELECT w.id AS job_id, w.component_id, w.config_id, w.waiting_reason,
       now() - w.created_time AS waiting_for,
       (SELECT r.id FROM jobs r
         WHERE (r.project_id, r.component_id, r.config_id) = (w.project_id, w.component_id, w.config_id)
           AND r.status IN ('processing', 'terminating')) AS held_by_job,
       (SELECT count(*) FROM jobs r WHERE r.project_id = w.project_id AND r.status IN ('processing', 'terminating'))
           || ' / ' || p.max_parallel_jobs AS project_running,
       (SELECT string_agg(concat_ws('/', s.project_id, s.component_id, s.config_id), ', ') FROM pauses s
         WHERE s.project_id = w.project_id AND (s.component_id IS NULL OR s.component_id = w.component_id)
           AND (s.config_id IS NULL OR s.config_id = w.config_id)) AS paused_by
FROM jobs w JOIN projects p ON p.id = w.project_id
WHERE w.status = 'waiting'
ORDER BY w.id
LIMIT 100;

-- Slowest jobs today (UTC).
SELECT id AS job_id, component_id, config_id, status, round(duration_seconds::numeric, 3) AS seconds, worker_id
FROM jobs
WHERE end_time >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
ORDER BY duration_seconds DESC NULLS LAST
LIMIT 20;

-- Outcomes of the last hour per component.
SELECT component_id, status, count(*) AS jobs, round(avg(duration_seconds)::numeric, 3) AS avg_seconds
FROM jobs
WHERE end_time > now() - interval '1 hour'
GROUP BY component_id, status
ORDER BY component_id, status;

-- Tokens: which are live, expired or revoked, when each was last used, and its open console
-- sessions (baton tokens list shows the same; baton tokens revoke ID ends one).
SELECT t.id, t.project_id, t.scope, t.orchestration_id, t.description,
       CASE WHEN t.revoked_time IS NOT NULL THEN 'revoked'
            WHEN t.expires_time <= now() THEN 'expired' ELSE 'live' END AS state,
       t.expires_time, t.last_used_time,
       (SELECT count(*) FROM console_sessions s WHERE s.token_id = t.id AND s.expires_time > now()) AS console_sessions
FROM tokens t
WHERE t.scope <> 'orchestration'
ORDER BY t.project_id, t.id;

-- Stored secrets that are not sealed (written before BATON_SECRET_KEYS was set up): baton
-- secrets reseal seals them.
SELECT 'component' AS kind, project_id, id, NULL AS component_id FROM components
WHERE jsonb_path_exists(executor, 'strict $.** ? (@.type() == "object").keyvalue() ? (@.key starts with "#" && @.value.type() == "string" && !(@.value starts with "BATON::ENC::"))')
UNION ALL
SELECT 'configuration', project_id, id, component_id FROM configurations
WHERE jsonb_path_exists(parameters, 'strict $.** ? (@.type() == "object").keyvalue() ? (@.key starts with "#" && @.value.type() == "string" && !(@.value starts with "BATON::ENC::"))');

-- What retention removes: finished jobs (and runs, with their task jobs) older than the
-- coordinator's --retention-days, here 30 days; set the interval to yours.
SELECT project_id, component_id, count(*) AS jobs, min(created_time) AS oldest,
       (SELECT count(*) FROM job_events e JOIN jobs t ON t.id = e.job_id
         WHERE t.project_id = j.project_id AND t.component_id = j.component_id
           AND t.created_time < now() - interval '30 days'
           AND t.status IN ('success', 'warning', 'error', 'terminated', 'cancelled')) AS events
FROM jobs j
WHERE created_time < now() - interval '30 days'
  AND status IN ('success', 'warning', 'error', 'terminated', 'cancelled')
  AND orchestration_job_id IS NULL
GROUP BY project_id, component_id
ORDER BY jobs DESC;
