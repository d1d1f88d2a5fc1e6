-- Dashboard sessions (web/session.rs). The cookie holds a random session id; only its
-- SHA-256 is stored, so a copy of the store does not log anyone in. A session belongs
-- to the API token it was opened with: the token's revocation or expiry ends it (the
-- lookup joins api_tokens), and deleting the token deletes its sessions.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_token ON web_sessions (token_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
