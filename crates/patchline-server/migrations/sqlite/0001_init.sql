-- patchline server store, version 1. Timestamps are unix seconds; JSON documents are text.
-- The PostgreSQL twin (migrations/postgres/0001_init.sql) has the same tables and columns.

-- API tokens: only a SHA-256 of the secret is kept; `prefix` (the first characters) lets a
-- person tell tokens apart in lists and logs.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,            -- admin | security | team | scanner | viewer
    team TEXT,                     -- for role team
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);

-- Append-only: who did what, when, with the state before and after.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before_doc TEXT,
    after_doc TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Images by manifest digest (the one the registry serves for the tag / the platform's).
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    registry TEXT NOT NULL,        -- host[:port], '' for uploads without one
    repository TEXT NOT NULL,
    reference TEXT NOT NULL,       -- what was scanned: host/repo@digest or host/repo:tag
    config_digest TEXT,
    created TEXT,                  -- the image config's created time, as written
    first_seen INTEGER NOT NULL,
    last_scanned_at INTEGER,
    scan_status TEXT NOT NULL DEFAULT 'pending', -- pending | scanned | failed
    scan_error TEXT,
    deleted_at INTEGER,
    source TEXT NOT NULL DEFAULT 'registry'      -- registry | upload | sync
);
CREATE INDEX images_repository ON images (registry, repository);

-- Where each tag points now; tag_history keeps every move (campaigns start from them).
CREATE TABLE tags (
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (registry, repository, tag)
);
CREATE TABLE tag_history (
    id INTEGER PRIMARY KEY,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    old_digest TEXT,
    new_digest TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- Layers by diff_id: one row however many images share the layer.
CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY,
    size INTEGER,
    analyzed_at INTEGER NOT NULL
);
CREATE TABLE image_layers (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    diff_id TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_layers_diff_id ON image_layers (diff_id);

-- The inventory of each image (patchline's inventory JSON, zstd-compressed) and the
-- (ecosystem, name) of every package in it: the index a delta rescan starts from.
CREATE TABLE inventories (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    doc BLOB NOT NULL,
    packages INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE image_packages (
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, name, image_id)
);
CREATE INDEX image_packages_image ON image_packages (image_id);

-- Every scan and rematch, with its counts (the trend charts read these).
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,            -- pull | upload | rescan
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    db_built TEXT,                 -- the advisory DB snapshot matched against
    critical INTEGER NOT NULL DEFAULT 0,
    high INTEGER NOT NULL DEFAULT 0,
    medium INTEGER NOT NULL DEFAULT 0,
    low INTEGER NOT NULL DEFAULT 0,
    unknown INTEGER NOT NULL DEFAULT 0,
    kev INTEGER NOT NULL DEFAULT 0,
    new_findings INTEGER NOT NULL DEFAULT 0,
    resolved_findings INTEGER NOT NULL DEFAULT 0,
    unmatched INTEGER NOT NULL DEFAULT 0,
    warnings TEXT                  -- JSON array
);
CREATE INDEX scans_image ON scans (image_id, started_at);

-- Findings per image; a finding's key is (image, vulnerability, ecosystem, package,
-- version). Resolved findings stay, with resolved_at, so history and notifications
-- have something to point at.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    vuln_id TEXT NOT NULL,
    aliases TEXT,                  -- JSON array
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    severity TEXT NOT NULL,        -- critical | high | medium | low | unknown
    cvss REAL,
    kev INTEGER NOT NULL DEFAULT 0,
    epss REAL,
    fix_state TEXT,
    fixed_version TEXT,
    layer_diff_id TEXT,
    summary TEXT,
    state TEXT NOT NULL,           -- open | resolved | suppressed
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    resolved_at INTEGER,
    doc TEXT,                      -- the report's finding JSON
    UNIQUE (image_id, vuln_id, ecosystem, package, version)
);
CREATE INDEX findings_vuln ON findings (vuln_id);
CREATE INDEX findings_open ON findings (state, severity);

-- What changed per finding and when: new, resolved, severity, kev.
CREATE TABLE finding_events (
    id INTEGER PRIMARY KEY,
    finding_id INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT
);
CREATE INDEX finding_events_at ON finding_events (at);

-- The job queue. A job is claimed by setting lease_owner/lease_until; a worker that
-- dies leaves a lease that runs out, and the job is claimed again. dedupe_key keeps one
-- live job per thing (a digest's scan, a registry's sync).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    state TEXT NOT NULL,           -- queued | running | done | failed
    priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_after INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT
);
CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs (state, run_after, priority);

-- The lineage catalog's entries (patchline-lineage CatalogEntry JSON), by reference.
CREATE TABLE catalog_entries (
    reference TEXT PRIMARY KEY,
    image_id INTEGER REFERENCES images (id) ON DELETE SET NULL,
    doc TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Teams (the catalog's teams: with notify: channels and SLAs), as JSON.
CREATE TABLE teams (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Notifications: one per (team, dedupe_key), ever; deliveries log each attempt.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    team TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    kind TEXT NOT NULL,            -- fix | waiting | vendor | digest | escalation
    urgent INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,           -- pending | sent | failed
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    UNIQUE (team, dedupe_key)
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    status TEXT,
    next_attempt_at INTEGER
);

-- Rebuild campaigns and each descendant's part.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- base-moved | cve
    title TEXT NOT NULL,
    root_reference TEXT NOT NULL,
    old_digest TEXT,
    new_digest TEXT,
    vuln_id TEXT,
    state TEXT NOT NULL,           -- open | done | cancelled
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    plan TEXT                      -- the patch plan JSON
);
CREATE TABLE campaign_items (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    team TEXT,
    wave INTEGER NOT NULL,
    parent_reference TEXT,
    state TEXT NOT NULL,           -- waiting | to-rebuild | rebuilt | verified | overdue | exempt
    due_at INTEGER,
    old_digest TEXT,
    new_digest TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, reference)
);

-- The governance team's approved external images.
CREATE TABLE trusted_images (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,           -- requested | approved | rejected | revoked | expired
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    reason TEXT,
    expires_at INTEGER,
    scan_summary TEXT,             -- JSON counts from the scan on request
    UNIQUE (repository, digest)
);

-- Exceptions (patchline-policy's exception JSON), owned by a team.
CREATE TABLE exceptions (
    id INTEGER PRIMARY KEY,
    team TEXT,
    doc TEXT NOT NULL,
    state TEXT NOT NULL,           -- pending | approved | rejected | revoked
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
);

-- Small named values: the advisory DB snapshot last rematched, sync cursors, schedules.
CREATE TABLE server_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
