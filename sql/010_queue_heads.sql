-- 010: claims look only at the head of each configuration's queue.
--
-- The hot-keys bench (1,000 configurations x 10 jobs queued one after the other) ran at about
-- half the speed of the same jobs on distinct configurations: the claim's candidate window
-- (oldest claimable jobs) was mostly jobs queued behind one another, of which a claim may take
-- one per configuration. Now the window holds only jobs with no older waiting job of their
-- configuration. The index of unfinished jobs per configuration gains the id, so that check
-- is one index probe.

CREATE INDEX jobs_unfinished_per_configuration_by_id ON jobs (project_id, component_id, config_id, id)
    WHERE status IN ('created', 'waiting', 'processing', 'terminating');
DROP INDEX jobs_unfinished_per_configuration;

-- The claim: sql/functions/claim_jobs.sql.
