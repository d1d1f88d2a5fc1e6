//! Azure Linux, formerly CBL-Mariner (`ID=azurelinux` from 3.0, `ID=mariner` before):
//! tdnf. Releases `2.0`, `3.0`. Recognised; patchline reads no advisories for it yet.

use super::{defaults, Spec};

fn release(v: &str) -> Option<String> {
    super::major(v).map(|m| format!("{m}.0"))
}

pub const AZURE_LINUX: Spec = Spec {
    id: "azurelinux",
    name: "Azure Linux",
    other_ids: &["mariner"],
    aliases: &["cbl-mariner", "azure linux", "common base linux mariner"],
    purl_namespace: "azurelinux",
    release,
    // osv.dev's name; no feed is fetched for it yet.
    osv_names: &["Azure Linux"],
    eol: &[("1.0", (2023, 7, 31)), ("2.0", (2025, 7, 31))],
    vendor: "azurelinux",
    vendor_ratings: &["azurelinux", "mariner"],
    ..defaults::TDNF
};
