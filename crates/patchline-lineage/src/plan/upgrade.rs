//! Upgrade steps: the `RUN` command a root of the fix gets, from the distro registry
//! ([`patchline_model::distro`]): each distro's package manager and command, a derivative
//! (`raspbian`, `kali`) upgraded like the distro it derives from, and the minimal package
//! manager (`microdnf`) when the image's base names say `minimal`. An unknown distro gets
//! no command, and the plan a note instead of a guess.

use patchline_model::distro::Registry;

use super::{PlanImage, UpgradeStep};

/// Package names come from scanned images; each must look like a package name before it
/// is put in a shell command.
pub(super) fn valid_package(p: &str) -> bool {
    let mut chars = p.chars();
    p.len() <= 200
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._+:~-".contains(c))
}

/// Versions come from advisory data; each must look like a version before it is put in
/// a Containerfile.
pub(super) fn valid_version(v: &str) -> bool {
    v.len() <= 200
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+:~-".contains(c))
}

/// The upgrade command for a distro, or `None` when the distro has no known package
/// manager. `names` are the names of the image's bases (catalog parent, Containerfile
/// FROM), used to spot minimal images that ship only microdnf (`ubi9/ubi-minimal`,
/// `fedora-minimal`, `rockylinux:9-minimal`).
pub fn upgrade_command(
    distro_id: &str,
    packages: &[String],
    names: &[&str],
) -> Option<UpgradeStep> {
    let id = distro_id.trim().to_ascii_lowercase();
    let upgrade = Registry::builtin()
        .by_name_or_derivative(&id)?
        .upgrade_for(names);
    if upgrade.tool.is_empty() {
        return None;
    }
    Some(UpgradeStep {
        distro: id,
        tool: upgrade.tool.to_string(),
        packages: packages.to_vec(),
        command: upgrade.render(packages),
    })
}

/// The upgrade step of a root of the fix whose (sorted, deduplicated) packages are
/// `packages` and whose Containerfile builds on `cf_base`; when its distro has no known
/// command, the note that tells the owner to upgrade by hand.
pub(super) fn upgrade_step(
    img: &PlanImage,
    packages: &[String],
    cf_base: Option<&str>,
) -> Result<UpgradeStep, String> {
    // The base it is built on tells a minimal image (only microdnf) from a full one.
    let names: Vec<&str> = [img.parent.as_deref(), cf_base]
        .into_iter()
        .flatten()
        .collect();
    img.distro_id
        .as_deref()
        .and_then(|d| upgrade_command(d, packages, &names))
        .ok_or_else(|| {
            format!(
                "no upgrade command known for distro {:?}: upgrade {} by hand",
                img.distro_id.as_deref().unwrap_or("unknown"),
                packages.join(" ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table plans used before the distro registry existed, kept as the oracle the
    /// registry's answers are checked against.
    fn table(distro_id: &str, packages: &[String], names: &[&str]) -> Option<(String, String)> {
        let id = distro_id.trim().to_ascii_lowercase();
        let pkgs = packages.join(" ");
        let minimal = names
            .iter()
            .any(|n| n.to_ascii_lowercase().contains("minimal"));
        let (tool, command) = match id.as_str() {
            "debian" | "ubuntu" | "raspbian" | "devuan" | "kali" | "linuxmint" | "pop"
            | "elementary" => (
                "apt-get",
                format!("apt-get update && apt-get install --only-upgrade -y {pkgs} && rm -rf /var/lib/apt/lists/*"),
            ),
            "alpine" | "wolfi" | "chainguard" | "postmarketos" => {
                ("apk", format!("apk upgrade --no-cache {pkgs}"))
            }
            "rhel" | "rocky" | "almalinux" | "centos" | "fedora" | "ol" | "eurolinux"
            | "circle" => {
                let tool = if minimal { "microdnf" } else { "dnf" };
                (tool, format!("{tool} upgrade -y {pkgs} && {tool} clean all"))
            }
            "amzn" => ("yum", format!("yum upgrade -y {pkgs} && yum clean all")),
            "photon" | "mariner" | "azurelinux" => {
                ("tdnf", format!("tdnf upgrade -y {pkgs} && tdnf clean all"))
            }
            s if s == "opensuse"
                || s.starts_with("opensuse-")
                || s.starts_with("sle")
                || s == "suse" =>
            {
                (
                    "zypper",
                    format!("zypper --non-interactive update {pkgs} && zypper clean --all"),
                )
            }
            _ => return None,
        };
        Some((tool.to_string(), command))
    }

    #[test]
    fn registry_commands_match_the_old_table() {
        let pkgs = vec!["openssl".to_string(), "libssl3".to_string()];
        let ids = [
            "debian",
            "ubuntu",
            "raspbian",
            "devuan",
            "kali",
            "linuxmint",
            "pop",
            "elementary",
            "alpine",
            "wolfi",
            "chainguard",
            "postmarketos",
            "rhel",
            "rocky",
            "almalinux",
            "centos",
            "fedora",
            "ol",
            "eurolinux",
            "circle",
            "amzn",
            "photon",
            "mariner",
            "azurelinux",
            "opensuse",
            "opensuse-leap",
            "opensuse-tumbleweed",
            "opensuse-leap-micro",
            "opensuse-microos",
            "opensuse-slowroll",
            "sles",
            "sled",
            "sles_sap",
            "sle-micro",
            "sle_hpc",
            "suse",
            " Debian ",
            "RHEL",
            "gentoo",
            "arch",
            "nixos",
            "",
        ];
        let name_sets: [&[&str]; 3] = [
            &[],
            &["registry.access.redhat.com/ubi9/ubi-minimal:9.4"],
            &["debian:12", "r.local/Fedora-Minimal:40"],
        ];
        let mut differ = Vec::new();
        for id in ids {
            for names in name_sets {
                let new = upgrade_command(id, &pkgs, names).map(|s| {
                    assert_eq!(s.distro, id.trim().to_ascii_lowercase());
                    assert_eq!(s.packages, pkgs);
                    (s.tool, s.command)
                });
                let old = table(id, &pkgs, names);
                if new != old {
                    differ.push(format!("{id:?} {names:?}: {new:?} != {old:?}"));
                }
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    #[test]
    fn unknown_distro_gets_a_note() {
        let pkgs = vec!["curl".to_string()];
        let mut img = PlanImage {
            reference: "r.local/odd:1".into(),
            distro_id: Some("gentoo".into()),
            ..PlanImage::default()
        };
        assert_eq!(
            upgrade_step(&img, &pkgs, None).unwrap_err(),
            "no upgrade command known for distro \"gentoo\": upgrade curl by hand"
        );
        img.distro_id = None;
        assert_eq!(
            upgrade_step(&img, &pkgs, None).unwrap_err(),
            "no upgrade command known for distro \"unknown\": upgrade curl by hand"
        );
        img.distro_id = Some("rocky".into());
        assert_eq!(
            upgrade_step(&img, &pkgs, Some("rockylinux:9-minimal"))
                .unwrap()
                .tool,
            "microdnf"
        );
    }

    #[test]
    fn package_names() {
        assert!(valid_package("libssl3") && valid_package("g++") && valid_package("libc6:amd64"));
        assert!(!valid_package("") && !valid_package("-x") && !valid_package("a;b"));
    }
}
