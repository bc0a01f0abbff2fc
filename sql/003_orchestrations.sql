-- 003: orchestrations. An orchestration is a configuration of component keboola.orchestrator;
-- a run of it is a job of type orchestrationContainer (the parent) that the coordinator, not a
-- worker, runs: it creates the child jobs of a phase once the phases it depends on are done.
-- Children exist only once they may run, so no job waits with reason 'phase'.

ALTER TABLE jobs
    ADD COLUMN orchestration_job_id bigint REFERENCES jobs (id),
    ADD COLUMN orchestration_task_id text,
    ADD COLUMN orchestration_phase_id text,
    ADD COLUMN only_orchestration_task_ids text[],
    ADD COLUMN previous_job_id bigint REFERENCES jobs (id),
    ADD CONSTRAINT jobs_type_check CHECK (type IN ('standard', 'orchestrationContainer')),
    DROP CONSTRAINT jobs_waiting_reason_check,
    ADD CONSTRAINT jobs_waiting_reason_check CHECK (waiting_reason IN ('configuration-lock', 'project-limit'));
COMMENT ON COLUMN jobs.type IS 'standard for a job a worker runs; orchestrationContainer for an orchestration run (the parent), which the coordinator runs.';
COMMENT ON COLUMN jobs.waiting_reason IS 'Why a waiting job is held back: configuration-lock or project-limit. NULL unless status = waiting. (Children of a later phase are created only once they may run.)';
COMMENT ON COLUMN jobs.orchestration_job_id IS 'orchestrationJobId: for a task''s job, the orchestration run (parent job) that created it.';
COMMENT ON COLUMN jobs.orchestration_task_id IS 'orchestrationTaskId: the task of the orchestration this job runs.';
COMMENT ON COLUMN jobs.orchestration_phase_id IS 'orchestrationPhaseId: the phase of that task.';
COMMENT ON COLUMN jobs.only_orchestration_task_ids IS 'onlyOrchestrationTaskIds: for an orchestration run, the task ids selected to run (enabled, chosen, not excluded).';
COMMENT ON COLUMN jobs.previous_job_id IS 'previousJobId: the run this one retries.';

-- A doubled advancement cannot create a task's job twice.
CREATE UNIQUE INDEX jobs_one_per_orchestration_task ON jobs (orchestration_job_id, orchestration_task_id)
    WHERE orchestration_job_id IS NOT NULL;
CREATE INDEX jobs_running_orchestrations ON jobs (id)
    WHERE type = 'orchestrationContainer' AND status IN ('processing', 'terminating');

-- The orchestrator component exists in every project, present and future.
INSERT INTO components (project_id, id, executor)
SELECT id, 'keboola.orchestrator', '{"type": "orchestrator"}' FROM projects
ON CONFLICT DO NOTHING;

-- The trigger that adds the orchestrator to new projects: sql/functions/projects_add_orchestrator.sql.
