-- The API's filters (issue 12, H5): findings by package name, the audit log by actor and
-- by action, newest first (the API pages both by id).
CREATE INDEX findings_package ON findings (package);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
