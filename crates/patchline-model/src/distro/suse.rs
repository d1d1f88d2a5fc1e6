//! SUSE Linux Enterprise and openSUSE. Releases are `15.5`-style (`VERSION_ID`); osv.dev
//! names them `SUSE:Linux Enterprise Server 15 SP5` and `openSUSE:Leap 15.5`. Recognised;
//! patchline does not fetch these feeds by default yet (no real sample has verified the
//! ecosystem spellings against the matcher).

use super::{defaults, major_minor, Spec};

fn sles_release(v: &str) -> Option<String> {
    major_minor(v).or_else(|| super::major(v))
}

fn sles(release: &str) -> Vec<String> {
    let (major, sp) = release.split_once('.').unwrap_or((release, "0"));
    if sp == "0" {
        vec![format!("SUSE:Linux Enterprise Server {major}")]
    } else {
        vec![format!("SUSE:Linux Enterprise Server {major} SP{sp}")]
    }
}

fn leap(release: &str) -> Vec<String> {
    vec![format!("openSUSE:Leap {release}")]
}

fn tumbleweed(_: &str) -> Vec<String> {
    vec!["openSUSE:Tumbleweed".into()]
}

pub const SLES: Spec = Spec {
    id: "sles",
    name: "SUSE Linux Enterprise Server",
    other_ids: &["sled", "sle-micro", "sl-micro", "sle_hpc"],
    aliases: &[
        "suse",
        "suse linux enterprise server",
        "suse linux enterprise micro",
        "sle",
    ],
    // SLES for SAP: upgraded like SLES (patch plans), not matched as SLES.
    derivatives: &["sles_sap"],
    purl_namespace: "suse",
    release: sles_release,
    ecosystems: sles,
    osv_names: &["SUSE"],
    vendor: "suse",
    vendor_ratings: &["suse"],
    ..defaults::ZYPPER
};

pub const OPENSUSE_LEAP: Spec = Spec {
    id: "opensuse-leap",
    name: "openSUSE Leap",
    other_ids: &["opensuse"],
    aliases: &["opensuse.leap", "opensuse leap"],
    derivatives: &["opensuse-leap-micro"],
    purl_namespace: "opensuse",
    release: major_minor,
    ecosystems: leap,
    osv_names: &["openSUSE"],
    vendor: "suse",
    vendor_ratings: &["suse"],
    ..defaults::ZYPPER
};

pub const OPENSUSE_TUMBLEWEED: Spec = Spec {
    id: "opensuse-tumbleweed",
    name: "openSUSE Tumbleweed",
    aliases: &["opensuse.tumbleweed", "opensuse tumbleweed"],
    derivatives: &["opensuse-microos", "opensuse-slowroll"],
    purl_namespace: "opensuse",
    rolling: true,
    ecosystems: tumbleweed,
    vendor: "suse",
    vendor_ratings: &["suse"],
    ..defaults::ZYPPER
};
