-- jobs_notify_created (trigger, AFTER INSERT ON jobs, per statement): NOTIFY baton_jobs
-- 'created:FIRST_ID:COUNT[:COMPONENTS]' once per inserting statement that made claimable jobs
-- (COMPONENTS: their component ids, comma-separated, when there are at most 4; the wake-up
-- relay wakes only workers that run them, WakeRouter in BatonModel). The payload
-- says which jobs are new, so only the workers whose rank is FIRST_ID mod (number of ranks) ..
-- + COUNT - 1 claim at once and the others 25 ms later (Mailbox in BatonEngine; ranks: live_workers):
-- with every idle worker reacting to every job, 4 claims raced for one job on 2 cores (enqueue ->
-- start p50 3.1 ms with 4 workers, 2.0 ms with 1). Jobs that start waiting wake nobody.

CREATE OR REPLACE FUNCTION jobs_notify_created() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first_id   bigint;
    n          bigint;
    components text[];
BEGIN
    SELECT min(id), count(*), array_agg(DISTINCT component_id) INTO first_id, n, components FROM inserted WHERE status = 'created';
    IF n > 0 THEN
        -- The components, when a few: the relay wakes only workers that run them.
        PERFORM pg_notify('baton_jobs', 'created:' || first_id || ':' || n
                          || CASE WHEN cardinality(components) <= 4 THEN ':' || array_to_string(components, ',') ELSE '' END);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER jobs_notify_created AFTER INSERT ON jobs REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify_created();
COMMENT ON FUNCTION jobs_notify_created() IS
    'NOTIFY baton_jobs ''created:FIRST_ID:COUNT[:COMPONENTS]'' once per inserting statement that made claimable jobs.';
