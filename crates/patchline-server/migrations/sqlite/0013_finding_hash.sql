-- A fingerprint of each finding's stored JSON: a rescan that finds the same finding with
-- the same content writes nothing for it (the finding's last sighting is then the image's
-- last scan: images.last_scanned_at).
ALTER TABLE findings ADD COLUMN doc_hash TEXT;

-- The inventory's distro id (`debian`, `alpine`): what plans need of it, without
-- decompressing and parsing the whole inventory of every affected image.
ALTER TABLE inventories ADD COLUMN distro_id TEXT;

-- Each finding's aliases (a GHSA's CVE, a DSA's CVEs) as rows: finding every open
-- finding of a CVE across the organisation is an index lookup, not a scan of every
-- finding's JSON.
CREATE TABLE finding_aliases (
    alias TEXT NOT NULL,
    finding_id INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    PRIMARY KEY (alias, finding_id)
);
CREATE INDEX finding_aliases_finding ON finding_aliases (finding_id);
INSERT OR IGNORE INTO finding_aliases (alias, finding_id)
    SELECT j.value, f.id FROM findings f, json_each(f.aliases) j
    WHERE f.aliases IS NOT NULL AND f.aliases <> '[]' AND json_valid(f.aliases);
