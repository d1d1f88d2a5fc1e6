-- The scheduler's periodic jobs: one row per schedule (`db-watch`, `sync:<registry>`, ...)
-- holding when it is next due. A process enqueues a periodic job only after moving
-- `next_at` forward in the same statement (`... DO UPDATE ... WHERE next_at <= now`), so
-- any number of processes' schedulers enqueue each period's job once.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY,
    next_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Claims look for runnable jobs by state and time; lease expiry by lease_until.
CREATE INDEX jobs_lease ON jobs (state, lease_until);
