//! VMware Photon OS (`ID=photon`, `VERSION_ID=4.0`): tdnf. Recognised; patchline reads
//! no Photon advisories yet.

use super::{defaults, major_minor, Spec};

fn release(v: &str) -> Option<String> {
    major_minor(v).or_else(|| super::major(v).map(|m| format!("{m}.0")))
}

pub const PHOTON: Spec = Spec {
    id: "photon",
    name: "Photon OS",
    aliases: &["photon os", "vmware photon os"],
    purl_namespace: "photon",
    release,
    vendor: "photon",
    vendor_ratings: &["photon"],
    ..defaults::TDNF
};
