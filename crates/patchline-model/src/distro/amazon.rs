//! Amazon Linux (`ID=amzn`): releases `2` and `2023` (and the first generation's
//! `2018.03`). Recognised; patchline reads no ALAS advisories yet.

use super::{defaults, Spec};

fn release(v: &str) -> Option<String> {
    let major = super::major(v)?;
    // Amazon Linux 1 versions are dates (`2018.03`).
    Some(
        if major.len() == 4 && major != "2023" && major.as_str() < "2023" {
            "1".to_string()
        } else {
            major
        },
    )
}

pub const AMAZON: Spec = Spec {
    id: "amzn",
    name: "Amazon Linux",
    aliases: &["amazon", "amazon linux", "amazon linux ami", "amazonlinux"],
    purl_namespace: "amzn",
    release,
    eol: &[
        ("1", (2023, 12, 31)),
        ("2", (2026, 6, 30)),
        ("2023", (2029, 6, 30)),
    ],
    vendor: "amazon",
    vendor_ratings: &["amazon"],
    upgrade: super::Upgrade {
        tool: "yum",
        command: "yum upgrade -y {pkgs} && yum clean all",
    },
    upgrade_minimal: None,
    ..defaults::DNF
};
