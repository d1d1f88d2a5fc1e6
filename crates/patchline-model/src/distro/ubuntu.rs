//! Ubuntu. Releases are `YY.MM`; LTS releases are the even years' `.04`. osv.dev writes
//! LTS ecosystems as `Ubuntu:22.04:LTS` (and `Ubuntu:Pro:18.04:LTS`); every other feed
//! and patchline's DB say `Ubuntu:22.04`, so the `:LTS` marker is dropped on import and
//! lookups use the bare release. End of life is the end of standard support (ESM data
//! needs Ubuntu Pro).

use super::{defaults, major_minor, Spec};

pub const CODENAMES: &[(&str, &str)] = &[
    ("trusty", "14.04"),
    ("xenial", "16.04"),
    ("bionic", "18.04"),
    ("cosmic", "18.10"),
    ("disco", "19.04"),
    ("eoan", "19.10"),
    ("focal", "20.04"),
    ("groovy", "20.10"),
    ("hirsute", "21.04"),
    ("impish", "21.10"),
    ("jammy", "22.04"),
    ("kinetic", "22.10"),
    ("lunar", "23.04"),
    ("mantic", "23.10"),
    ("noble", "24.04"),
    ("oracular", "24.10"),
    ("plucky", "25.04"),
    ("questing", "25.10"),
];

fn ecosystems(release: &str) -> Vec<String> {
    vec![format!("Ubuntu:{release}")]
}

/// `Ubuntu:22.04:LTS` → `Ubuntu:22.04`; `Ubuntu:Pro:18.04:LTS` → `Ubuntu:Pro:18.04`.
fn normalize_ecosystem(ecosystem: &str) -> Option<String> {
    ecosystem
        .strip_suffix(":LTS")
        .filter(|_| ecosystem.starts_with("Ubuntu:"))
        .map(str::to_string)
}

/// Is the release an LTS one (`22.04`)?
pub fn is_lts(release: &str) -> bool {
    match release.split_once('.') {
        Some((major, "04")) => major.parse::<u32>().is_ok_and(|m| m % 2 == 0),
        _ => false,
    }
}

pub const UBUNTU: Spec = Spec {
    id: "ubuntu",
    name: "Ubuntu",
    purl_namespace: "ubuntu",
    codenames: CODENAMES,
    release: major_minor,
    ecosystems,
    osv_names: &["Ubuntu"],
    normalize_ecosystem: Some(normalize_ecosystem),
    feeds: &["osv-Ubuntu"],
    eol: &[
        ("14.04", (2019, 4, 30)),
        ("16.04", (2021, 4, 30)),
        ("18.04", (2023, 5, 31)),
        ("20.04", (2025, 5, 31)),
        ("21.04", (2022, 1, 20)),
        ("21.10", (2022, 7, 14)),
        ("22.04", (2027, 5, 31)),
        ("22.10", (2023, 7, 20)),
        ("23.04", (2024, 1, 25)),
        ("23.10", (2024, 7, 11)),
        ("24.04", (2029, 5, 31)),
        ("24.10", (2025, 7, 10)),
    ],
    vendor: "ubuntu",
    vendor_ratings: &["ubuntu"],
    ..defaults::DPKG
};
