-- Harbor's pluggable scanner: one row per scan request Harbor made. `credential` is the
-- short-lived registry credential Harbor gave (a robot account's), kept only until the scan
-- job ends, then erased.
CREATE TABLE harbor_scans (
    id TEXT PRIMARY KEY,
    registry TEXT NOT NULL,        -- the request's registry URL (a configured registry's)
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    tag TEXT,
    mime_type TEXT NOT NULL,
    credential TEXT,
    job_id INTEGER,
    state TEXT NOT NULL,           -- queued | done | failed
    error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX harbor_scans_created ON harbor_scans (created_at);
