-- 018: token lifecycle and console sessions. A token may expire and be revoked (it answers 401
-- from then on) and records when it was last used. The web console keeps a session of its own
-- on the server: the browser's cookie holds a random session id, never the API secret; only the
-- id's SHA-256 is stored, with the CSRF token its forms carry and its expiry.

ALTER TABLE tokens
    ADD COLUMN expires_time timestamptz,
    ADD COLUMN revoked_time timestamptz,
    ADD COLUMN last_used_time timestamptz;
COMMENT ON COLUMN tokens.expires_time IS 'After this time the token answers 401 (tokens create --expires-in, expiresIn); NULL: it does not expire.';
COMMENT ON COLUMN tokens.revoked_time IS 'When the token was revoked (tokens revoke, DELETE /v1/tokens/ID); it answers 401 from then on and its console sessions are gone.';
COMMENT ON COLUMN tokens.last_used_time IS 'When the token last authenticated an API call or a console login, to the minute (written at most once a minute).';

CREATE TABLE console_sessions (
    id_sha256    bytea PRIMARY KEY,
    token_id     bigint NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_time timestamptz NOT NULL DEFAULT now(),
    expires_time timestamptz NOT NULL
);
COMMENT ON TABLE console_sessions IS 'Web console sessions: one row per login, deleted at logout, when its token is revoked, and after it expires.';
COMMENT ON COLUMN console_sessions.id_sha256 IS 'sha256 of the session id in the browser''s cookie; the id itself is never stored.';
COMMENT ON COLUMN console_sessions.token_id IS 'The token the person logged in with: the session sees what that token sees, and ends when it is revoked or expires.';
COMMENT ON COLUMN console_sessions.created_time IS 'When the person logged in.';
COMMENT ON COLUMN console_sessions.csrf_token IS 'The token every console form carries (hidden field csrf); a POST without it is refused.';
COMMENT ON COLUMN console_sessions.expires_time IS 'The session ends at this time (baton api --session-hours, 12 by default).';
CREATE INDEX console_sessions_by_token ON console_sessions (token_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_time);
