-- Delta rescans (rescan.rs). The advisory keys each image's inventory is matched under,
-- spelled as the advisory DB's change log spells them: the distro release's OSV
-- ecosystem ("Debian:12") and the source package name for OS packages, the OSV
-- ecosystem and normalised name for language packages. image_packages (binary names,
-- inventory ecosystems) cannot be joined to them.
--
-- Stored once per distinct key set (named by the SHA-256 of its sorted keys): the builds
-- of one application, and images on one base without packages of their own, hold the
-- same names at other versions, so 10,000 images make a few hundred sets, not millions
-- of rows.
CREATE TABLE rescan_keysets (
    keyset TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    PRIMARY KEY (keyset, ecosystem, package)
);
CREATE INDEX rescan_keysets_key ON rescan_keysets (ecosystem, package);
-- Each image's key set, and which version of its inventory it was computed from (its
-- updated_at and stored size): a replaced inventory is indexed again before the next
-- delta rescan.
CREATE TABLE rescan_indexed (
    image_id BIGINT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    inventory_updated_at BIGINT NOT NULL,
    inventory_size BIGINT NOT NULL,
    keyset TEXT NOT NULL
);
CREATE INDEX rescan_indexed_keyset ON rescan_indexed (keyset);
