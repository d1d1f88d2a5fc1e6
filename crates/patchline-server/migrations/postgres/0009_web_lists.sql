-- The dashboard's lists (issue 13, image and CVE pages).
-- `/cves` groups the open findings by vulnerability with their severity, KEV, EPSS, CVSS,
-- fix and image: covering, so the list reads this index and never the findings' rows
-- (each carries its finding document: 10,000 images' findings are hundreds of MB).
CREATE INDEX findings_cve_list ON findings (state, vuln_id, image_id, severity, kev, epss, cvss, fixed_version);
-- Images with an open KEV finding (the KEV filters of `/images` and an image's page): a
-- handful of rows, where (image_id, state, severity) would read every open finding's row.
CREATE INDEX findings_open_kev ON findings (image_id) WHERE state = 'open' AND kev = 1;
-- Images by owner team (the team filter of `/images` reads the catalog documents' owner):
-- the expression the query writes, `(c.doc::jsonb #>> '{owner,team}')`.
CREATE INDEX catalog_entries_team ON catalog_entries ((doc::jsonb #>> '{owner,team}'));
