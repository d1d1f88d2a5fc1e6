//! The Red Hat family: RHEL and the distros built from its sources (CentOS, Rocky Linux,
//! AlmaLinux, Oracle Linux), and Fedora. Releases are the major version (`8` from
//! `8.9`). CentOS publishes no feed: like Trivy, patchline reads Red Hat's data for it.
//! Oracle Linux and Fedora are recognised but patchline reads no advisories for them
//! yet. End of life is the end of maintenance support.

use super::{defaults, Spec};

fn red_hat(release: &str) -> Vec<String> {
    vec![format!("Red Hat:{release}")]
}

fn rocky(release: &str) -> Vec<String> {
    vec![format!("Rocky Linux:{release}")]
}

fn alma(release: &str) -> Vec<String> {
    vec![format!("AlmaLinux:{release}")]
}

/// Release files every Red Hat-family image may carry; their line names the distro
/// (`Red Hat Enterprise Linux release 8.9 (Ootpa)`), so they are read after the
/// distro-specific ones and claim nobody by themselves.
pub const GENERIC_RELEASE_FILES: &[&str] = &["etc/redhat-release", "etc/system-release"];

pub const RHEL: Spec = Spec {
    id: "rhel",
    name: "Red Hat Enterprise Linux",
    aliases: &[
        "redhat",
        "red hat",
        "red hat enterprise linux",
        "red hat enterprise linux server",
        "red hat enterprise linux workstation",
        "red hat enterprise linux for x86_64",
    ],
    derivatives: &["eurolinux", "circle", "scientific"],
    purl_namespace: "redhat",
    ecosystems: red_hat,
    osv_names: &["Red Hat"],
    eol: &[
        ("6", (2020, 11, 30)),
        ("7", (2024, 6, 30)),
        ("8", (2029, 5, 31)),
        ("9", (2032, 5, 31)),
    ],
    vendor: "redhat",
    vendor_ratings: &["redhat"],
    ..defaults::DNF
};

pub const CENTOS: Spec = Spec {
    id: "centos",
    name: "CentOS",
    aliases: &["centos linux", "centos stream"],
    purl_namespace: "centos",
    release_files: &["etc/centos-release"],
    version_id_is_release: true,
    ecosystems: red_hat,
    eol: &[
        ("6", (2020, 11, 30)),
        ("7", (2024, 6, 30)),
        ("8", (2021, 12, 31)),
    ],
    vendor: "redhat",
    vendor_ratings: &["redhat"],
    ..defaults::DNF
};

pub const ROCKY: Spec = Spec {
    id: "rocky",
    name: "Rocky Linux",
    aliases: &["rocky linux", "rockylinux"],
    purl_namespace: "rocky",
    release_files: &["etc/rocky-release"],
    ecosystems: rocky,
    osv_names: &["Rocky Linux"],
    feeds: &["osv-Rocky Linux"],
    eol: &[("8", (2029, 5, 31)), ("9", (2032, 5, 31))],
    vendor: "rocky",
    vendor_ratings: &["rocky"],
    ..defaults::DNF
};

pub const ALMA: Spec = Spec {
    id: "almalinux",
    name: "AlmaLinux",
    aliases: &["alma", "alma linux"],
    purl_namespace: "almalinux",
    release_files: &["etc/almalinux-release"],
    ecosystems: alma,
    osv_names: &["AlmaLinux"],
    feeds: &["osv-AlmaLinux"],
    eol: &[("8", (2029, 5, 31)), ("9", (2032, 5, 31))],
    vendor: "alma",
    vendor_ratings: &["alma"],
    ..defaults::DNF
};

pub const ORACLE: Spec = Spec {
    id: "ol",
    name: "Oracle Linux",
    aliases: &[
        "oracle",
        "oracle linux",
        "oracle linux server",
        "oraclelinux",
    ],
    purl_namespace: "ol",
    release_files: &["etc/oracle-release"],
    eol: &[
        ("7", (2024, 12, 31)),
        ("8", (2029, 7, 31)),
        ("9", (2032, 6, 30)),
    ],
    vendor: "oracle",
    vendor_ratings: &["oracle"],
    ..defaults::DNF
};

pub const FEDORA: Spec = Spec {
    id: "fedora",
    name: "Fedora",
    aliases: &["fedora linux"],
    purl_namespace: "fedora",
    release_files: &["etc/fedora-release"],
    vendor: "fedora",
    vendor_ratings: &["fedora"],
    ..defaults::DNF
};
