//! Wolfi and Chainguard: rolling apk distros with one advisory stream each (osv.dev's
//! `Wolfi` and `Chainguard` ecosystems, no release part). Their `VERSION_ID` is a build
//! date, not a release.

use super::{defaults, Spec};

fn wolfi(_: &str) -> Vec<String> {
    vec!["Wolfi".into()]
}

fn chainguard(_: &str) -> Vec<String> {
    vec!["Chainguard".into()]
}

pub const WOLFI: Spec = Spec {
    id: "wolfi",
    name: "Wolfi",
    purl_namespace: "wolfi",
    rolling: true,
    ecosystems: wolfi,
    osv_names: &["Wolfi"],
    feeds: &["osv-Wolfi"],
    vendor: "wolfi",
    vendor_ratings: &["wolfi"],
    ..defaults::APK
};

pub const CHAINGUARD: Spec = Spec {
    id: "chainguard",
    name: "Chainguard",
    purl_namespace: "chainguard",
    rolling: true,
    ecosystems: chainguard,
    osv_names: &["Chainguard"],
    feeds: &["osv-Chainguard"],
    vendor: "chainguard",
    vendor_ratings: &["chainguard"],
    ..defaults::APK
};
