-- The API's filters (issue 12, H5).
-- Open findings per image (an image page's and a list page's counts, the images list's
-- KEV and severity filters): without it the planner walks the (state, severity) index
-- over every image's findings.
CREATE INDEX findings_image_state ON findings (image_id, state, severity);
-- Findings by package name.
CREATE INDEX findings_package ON findings (package);
-- The audit log by actor and by action, newest first (the API pages both by id).
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
-- An image's catalog references (its page's place in the hierarchy).
CREATE INDEX catalog_entries_image ON catalog_entries (image_id);
