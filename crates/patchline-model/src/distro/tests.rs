use super::*;

fn d(id: &str, version: Option<&str>, codename: Option<&str>) -> Distro {
    Distro {
        id: id.into(),
        version_id: version.map(Into::into),
        version_codename: codename.map(Into::into),
        ..Default::default()
    }
}

fn reg() -> &'static Registry {
    Registry::builtin()
}

fn eco(id: &str, v: Option<&str>, c: Option<&str>) -> Vec<String> {
    reg()
        .release_of(&d(id, v, c))
        .unwrap_or_else(|| panic!("{id} {v:?} {c:?} not recognised"))
        .ecosystems
}

#[test]
fn every_name_belongs_to_one_distro() {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for s in BUILTIN {
        for n in std::iter::once(&s.id)
            .chain(s.other_ids)
            .chain(s.aliases)
            .chain(s.derivatives)
        {
            let n = n.to_ascii_lowercase();
            if let Some((_, other)) = seen.iter().find(|(m, _)| *m == n) {
                panic!("{n:?} names both {other} and {}", s.id);
            }
            seen.push((n, s.id));
        }
        assert!(
            !s.name.is_empty() && !s.purl_namespace.is_empty(),
            "{}",
            s.id
        );
        assert!(
            !s.vendor.is_empty() && !s.upgrade.tool.is_empty(),
            "{}",
            s.id
        );
        for (_, rel) in s.codenames {
            assert!(
                s.resolve_release(Some(rel), None).is_some(),
                "{} {rel}",
                s.id
            );
        }
    }
}

#[test]
fn ecosystems_per_distro() {
    assert_eq!(eco("debian", Some("12"), Some("bookworm")), ["Debian:12"]);
    assert_eq!(eco("debian", Some("10.1"), None), ["Debian:10"]);
    assert_eq!(eco("debian", None, Some("bookworm")), ["Debian:12"]);
    assert_eq!(
        eco("ubuntu", Some("22.04"), Some("jammy")),
        ["Ubuntu:22.04"]
    );
    assert_eq!(eco("ubuntu", Some("23.10"), None), ["Ubuntu:23.10"]);
    assert_eq!(eco("alpine", Some("3.18.4"), None), ["Alpine:v3.18"]);
    assert_eq!(eco("rhel", Some("8.9"), None), ["Red Hat:8"]);
    assert_eq!(eco("rocky", Some("9.3"), None), ["Rocky Linux:9"]);
    assert_eq!(eco("almalinux", Some("8.5"), None), ["AlmaLinux:8"]);
    assert_eq!(eco("centos", Some("7"), None), ["Red Hat:7"]);
    assert_eq!(eco("wolfi", Some("20230201"), None), ["Wolfi"]);
    assert_eq!(eco("chainguard", None, None), ["Chainguard"]);
    assert_eq!(
        eco("sles", Some("15.5"), None),
        ["SUSE:Linux Enterprise Server 15 SP5"]
    );
    assert_eq!(
        eco("opensuse-leap", Some("15.5"), None),
        ["openSUSE:Leap 15.5"]
    );
    // Recognised without advisory data.
    for (id, v, rel) in [
        ("ol", "8.9", "8"),
        ("fedora", "40", "40"),
        ("amzn", "2", "2"),
        ("amzn", "2023", "2023"),
        ("amzn", "2018.03", "1"),
        ("photon", "4.0", "4.0"),
        ("mariner", "2.0", "2.0"),
        ("azurelinux", "3.0", "3.0"),
    ] {
        let r = reg().release_of(&d(id, Some(v), None)).unwrap();
        assert_eq!(r.version, rel, "{id} {v}");
        assert!(r.ecosystems.is_empty(), "{id}");
    }
    assert!(matches!(
        reg().recognize(&d("debian", None, Some("sid"))),
        Recognition::UnknownRelease { .. }
    ));
    assert!(matches!(
        reg().recognize(&d("alpine", Some("edge"), None)),
        Recognition::UnknownRelease { .. }
    ));
    assert!(matches!(
        reg().recognize(&d("arch", None, None)),
        Recognition::Unknown
    ));
}

#[test]
fn every_spelling_of_a_release() {
    let q = |q: &str, ns: Option<&str>| {
        let d = reg().distro_from_qualifier(q, ns);
        let r = reg().release_of(&d).map(|r| r.ecosystems);
        (d.id, r)
    };
    let debian = ("debian".to_string(), Some(vec!["Debian:12".to_string()]));
    for s in [
        "debian-12",
        "debian-12.5",
        "bookworm",
        "12",
        "debian-bookworm",
        "Bookworm",
    ] {
        assert_eq!(q(s, Some("debian")), debian, "{s}");
    }
    assert_eq!(q("debian-12", None), debian);
    assert_eq!(q("bookworm", Some("Debian")), debian);
    let alpine = ("alpine".to_string(), Some(vec!["Alpine:v3.16".to_string()]));
    for s in ["alpine-3.16.0", "3.16.0", "v3.16", "3.16", "alpine-v3.16"] {
        assert_eq!(q(s, Some("alpine")), alpine, "{s}");
    }
    let ubuntu = ("ubuntu".to_string(), Some(vec!["Ubuntu:22.04".to_string()]));
    for s in ["ubuntu-22.04", "jammy", "22.04", "22.04.3"] {
        assert_eq!(q(s, Some("ubuntu")), ubuntu, "{s}");
    }
    assert_eq!(
        q("focal", Some("ubuntu")),
        ("ubuntu".into(), Some(vec!["Ubuntu:20.04".into()]))
    );
    assert_eq!(
        q("rhel-8.9", Some("redhat")),
        ("rhel".into(), Some(vec!["Red Hat:8".into()]))
    );
    assert_eq!(
        q("8.9", Some("redhat")),
        ("rhel".into(), Some(vec!["Red Hat:8".into()]))
    );
    assert_eq!(q("opensuse-leap-15.5", Some("opensuse")).0, "opensuse-leap");
    assert_eq!(q("wolfi", Some("wolfi")).0, "wolfi");
    // An OS entry whose version is a whole qualifier.
    let mut os = d("debian", Some("debian-12"), None);
    reg().normalize(&mut os);
    assert_eq!(os.version_id.as_deref(), Some("12"));
    // Unknown distros keep their name and version.
    let d = reg().distro_from_qualifier("gentoo-2.14", Some("gentoo"));
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("gentoo", Some("2.14"))
    );
}

#[test]
fn other_tools_names() {
    for (name, id) in [
        ("redhat", "rhel"),
        ("Red Hat Enterprise Linux", "rhel"),
        ("alma", "almalinux"),
        ("oracle", "ol"),
        ("amazon", "amzn"),
        ("cbl-mariner", "azurelinux"),
        ("mariner", "azurelinux"),
        ("SUSE Linux Enterprise Server", "sles"),
        ("opensuse.leap", "opensuse-leap"),
        ("opensuse.tumbleweed", "opensuse-tumbleweed"),
        ("distroless", "debian"),
    ] {
        assert_eq!(reg().by_name(name).map(|s| s.id), Some(id), "{name}");
    }
}

#[test]
fn feeds_and_ecosystem_names() {
    assert_eq!(
        reg().normalize_ecosystem("Ubuntu:22.04:LTS"),
        "Ubuntu:22.04"
    );
    assert_eq!(
        reg().normalize_ecosystem("Ubuntu:Pro:18.04:LTS"),
        "Ubuntu:Pro:18.04"
    );
    assert_eq!(reg().normalize_ecosystem("Debian:12"), "Debian:12");
    assert_eq!(reg().normalize_ecosystem("PyPI"), "PyPI");
    assert_eq!(
        reg().by_ecosystem("Rocky Linux:8").map(|s| s.id),
        Some("rocky")
    );
    assert_eq!(debian::tracker_release("bookworm"), Some("12"));
    assert_eq!(debian::tracker_release("sid"), Some("sid"));
    assert_eq!(alpine::secdb_ecosystem("v3.16"), "Alpine:v3.16");
    assert_eq!(alpine::secdb_ecosystem("edge"), "Alpine:edge");
    let feeds = reg().feeds();
    assert!(feeds.contains(&"debian-tracker") && feeds.contains(&"osv-Alpine"));
    assert!(!feeds.iter().any(|f| f.contains("PyPI")));
}

#[test]
fn upgrades_and_eol() {
    let u = |id: &str, names: &[&str]| {
        reg()
            .by_name_or_derivative(id)
            .map(|s| s.upgrade_for(names).render(&["curl".into()]))
    };
    assert!(u("kali", &[]).unwrap().starts_with("apt-get update"));
    assert_eq!(
        u("rocky", &["rockylinux:9-minimal"]).unwrap(),
        "microdnf upgrade -y curl && microdnf clean all"
    );
    assert_eq!(
        u("amzn", &[]).unwrap(),
        "yum upgrade -y curl && yum clean all"
    );
    assert!(u("gentoo", &[]).is_none());
    let r = reg()
        .release_of(&d("centos", Some("7.6.1810"), None))
        .unwrap();
    assert_eq!(r.eol, Some((2024, 6, 30)));
    assert_eq!(r.display(), "CentOS 7");
}
