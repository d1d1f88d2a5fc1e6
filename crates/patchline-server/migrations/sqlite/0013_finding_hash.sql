-- A fingerprint of each finding's stored JSON: a rescan that finds the same finding with
-- the same content writes nothing for it (the finding's last sighting is then the image's
-- last scan: images.last_scanned_at).
ALTER TABLE findings ADD COLUMN doc_hash TEXT;
