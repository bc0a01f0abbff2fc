-- 008: tokens. A token acts for one project with one scope: admin (everything in the project),
-- read (GET only), trigger (run one orchestration and read its runs), or orchestration (the
-- token an orchestration's runs act as, made with the orchestration). Only the SHA-256 of the
-- secret is stored; the secret is shown once, when the token is created.

CREATE TABLE tokens (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id       text NOT NULL REFERENCES projects (id),
    scope            text NOT NULL CHECK (scope IN ('admin', 'read', 'trigger', 'orchestration')),
    orchestration_id text,
    description      text NOT NULL DEFAULT '',
    secret_sha256    bytea NOT NULL UNIQUE,
    created_time     timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope IN ('trigger', 'orchestration')) = (orchestration_id IS NOT NULL))
);
COMMENT ON TABLE tokens IS 'API tokens: each acts for one project with one scope. Only a hash of the secret is kept.';
COMMENT ON COLUMN tokens.id IS 'Token id (token.id in the jobs API).';
COMMENT ON COLUMN tokens.project_id IS 'The only project this token sees.';
COMMENT ON COLUMN tokens.scope IS 'admin: everything in the project; read: GET only; trigger: run orchestration_id and read its runs; orchestration: what the runs of orchestration_id act as.';
COMMENT ON COLUMN tokens.orchestration_id IS 'The orchestration of a trigger or orchestration token; NULL otherwise.';
COMMENT ON COLUMN tokens.description IS 'What the token is for (token.description in the jobs API).';
COMMENT ON COLUMN tokens.secret_sha256 IS 'sha256 of the secret; the secret itself is never stored.';
COMMENT ON COLUMN tokens.created_time IS 'When the token was made.';
CREATE UNIQUE INDEX tokens_one_per_orchestration ON tokens (project_id, orchestration_id) WHERE scope = 'orchestration';

ALTER TABLE jobs ADD COLUMN token_id bigint, ADD COLUMN acting_token_id bigint;
COMMENT ON COLUMN jobs.token_id IS 'The token that created the job (the API caller); NULL for jobs made from the CLI or by the coordinator.';
COMMENT ON COLUMN jobs.acting_token_id IS 'The token the job acts as: an orchestration run and its tasks act as the orchestration''s own token.';

INSERT INTO tokens (project_id, scope, orchestration_id, description, secret_sha256)
SELECT project_id, 'orchestration', id, 'orchestration ' || id, sha256(convert_to(gen_random_uuid()::text, 'UTF8'))
FROM configurations WHERE component_id = 'keboola.orchestrator';

-- The functions live in sql/functions/: configurations_add_orchestration_token.sql, jobs_prepare_insert.sql.
