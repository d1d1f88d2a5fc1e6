//! Alpine Linux. Releases are branches `major.minor` (`3.16`, from `VERSION_ID` `3.16.0`,
//! a purl's `v3.16` or `alpine-3.16.0`); feeds name them `Alpine:v3.16` (the secdb's
//! `distroversion` and osv.dev alike). `edge` is no release. End of life is the end of
//! the branch's security support.

use super::{defaults, major_minor, Spec};

fn ecosystems(release: &str) -> Vec<String> {
    vec![format!("Alpine:v{release}")]
}

pub const ALPINE: Spec = Spec {
    id: "alpine",
    name: "Alpine Linux",
    aliases: &["alpine linux"],
    derivatives: &["postmarketos"],
    purl_namespace: "alpine",
    release: major_minor,
    ecosystems,
    osv_names: &["Alpine"],
    feeds: &["osv-Alpine"],
    eol: &[
        ("3.8", (2020, 5, 1)),
        ("3.9", (2021, 1, 1)),
        ("3.10", (2021, 5, 1)),
        ("3.11", (2021, 11, 1)),
        ("3.12", (2022, 5, 1)),
        ("3.13", (2022, 11, 1)),
        ("3.14", (2023, 5, 1)),
        ("3.15", (2023, 11, 1)),
        ("3.16", (2024, 5, 23)),
        ("3.17", (2024, 11, 22)),
        ("3.18", (2025, 5, 9)),
        ("3.19", (2025, 11, 1)),
        ("3.20", (2026, 4, 1)),
        ("3.21", (2026, 11, 1)),
        ("3.22", (2027, 5, 1)),
    ],
    vendor: "alpine",
    vendor_ratings: &["alpine"],
    ..defaults::APK
};

/// The secdb's `distroversion` (`v3.16`) as an ecosystem string.
pub fn secdb_ecosystem(distroversion: &str) -> String {
    let v = distroversion.trim();
    match ALPINE.resolve_release(Some(v), None) {
        Some(rel) => ecosystems(&rel).remove(0),
        // `edge` and anything unexpected keep the feed's own spelling.
        None => format!("Alpine:{v}"),
    }
}
