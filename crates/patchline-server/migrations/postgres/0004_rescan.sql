-- Delta rescans (rescan.rs). The advisory keys each image's inventory is matched under,
-- spelled as the advisory DB's change log spells them: the distro release's OSV
-- ecosystem ("Debian:12") and the source package name for OS packages, the OSV
-- ecosystem and normalised name for language packages. image_packages (binary names,
-- inventory ecosystems) cannot be joined to them.
CREATE TABLE rescan_keys (
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, package, image_id)
);
CREATE INDEX rescan_keys_image ON rescan_keys (image_id);
-- Which version of each inventory rescan_keys was computed from (its updated_at and
-- stored size): a replaced inventory is indexed again before the next delta rescan.
CREATE TABLE rescan_indexed (
    image_id BIGINT PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    inventory_updated_at BIGINT NOT NULL,
    inventory_size BIGINT NOT NULL
);
