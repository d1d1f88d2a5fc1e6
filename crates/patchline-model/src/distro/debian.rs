//! Debian (and distroless, whose os-release says `ID=debian`).
//!
//! Releases are the major version (`12`); the security tracker names them by code name,
//! osv.dev as `Debian:<n>`. End of life is the end of LTS: the tracker keeps tracking a
//! release through LTS.

use super::{defaults, major, Spec};

/// Code name → release, every one the tracker or an SBOM may name.
pub const CODENAMES: &[(&str, &str)] = &[
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The unstable suite: the tracker's name for it, never a numbered release.
pub const UNSTABLE: &str = "sid";

fn ecosystems(release: &str) -> Vec<String> {
    vec![format!("Debian:{release}")]
}

pub const DEBIAN: Spec = Spec {
    id: "debian",
    name: "Debian",
    aliases: &["distroless", "debian gnu/linux", "google distroless"],
    derivatives: &[
        "raspbian",
        "devuan",
        "kali",
        "linuxmint",
        "pop",
        "elementary",
    ],
    purl_namespace: "debian",
    codenames: CODENAMES,
    release: major,
    version_id_is_release: true,
    ecosystems,
    osv_names: &["Debian"],
    feeds: &["debian-tracker"],
    eol: &[
        ("7", (2018, 5, 31)),
        ("8", (2020, 6, 30)),
        ("9", (2022, 6, 30)),
        ("10", (2024, 6, 30)),
        ("11", (2026, 8, 31)),
        ("12", (2028, 6, 30)),
        ("13", (2030, 6, 30)),
    ],
    vendor: "debian",
    vendor_ratings: &["debian"],
    ..defaults::DPKG
};

/// The release the security tracker's code name stands for, as its `Debian:<release>`
/// ecosystem names it: `bookworm` → `12`, `sid` → `sid`. `None` for a code name this
/// module does not know.
pub fn tracker_release(codename: &str) -> Option<&'static str> {
    if codename == UNSTABLE {
        return Some(UNSTABLE);
    }
    DEBIAN.codename_release(codename)
}
