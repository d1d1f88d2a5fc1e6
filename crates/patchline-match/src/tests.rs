use super::*;
use patchline_model::vuln::{Event, Range, RangeKind};
use patchline_model::{Distro, ImageInfo, LayerRef};

fn distro(id: &str, version_id: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: Some(version_id.into()),
        source: "etc/os-release".into(),
        ..Default::default()
    }
}

fn deb(name: &str, version: &str, source: &str, source_version: &str) -> Package {
    let mut p = Package::new(Ecosystem::Deb, name, version);
    p.source_name = Some(source.into());
    p.source_version = Some(source_version.into());
    p.arch = Some("amd64".into());
    p.purl = format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12");
    p.db_path = "var/lib/dpkg/status".into();
    p
}

fn inventory(d: Distro, packages: Vec<Package>) -> Inventory {
    let mut inv = Inventory::new(ImageInfo {
        reference: "test".into(),
        ..Default::default()
    });
    inv.distro = Some(d);
    inv.packages = packages;
    inv
}

fn fixed_range(fixed: &str) -> Range {
    Range {
        kind: RangeKind::Ecosystem,
        events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.into())],
    }
}

fn adv(id: &str, aliases: &[&str], source: &str, affected: Vec<Affected>) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        affected,
        source: source.into(),
        ..Default::default()
    }
}

fn aff(eco: &str, pkg: &str, ranges: Vec<Range>, state: Option<DistroState>) -> Affected {
    Affected {
        ecosystem: eco.into(),
        package: pkg.into(),
        ranges,
        state,
        ..Default::default()
    }
}

fn urgency(a: Affected, word: &str) -> Affected {
    Affected {
        severity: vec![SeverityScore {
            kind: "Debian".into(),
            score: word.into(),
        }],
        ..a
    }
}

fn today() -> MatchOptions {
    MatchOptions {
        today: Some(time::Date::from_calendar_date(2026, time::Month::November, 28).unwrap()),
    }
}

fn ids(r: &ScanReport) -> Vec<(String, String, FixState, Vec<String>)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.id.clone(),
                f.package.name.clone(),
                f.state,
                f.fixed_versions.clone(),
            )
        })
        .collect()
}

#[test]
fn source_package_match_reported_on_binaries() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "CVE-2023-38545",
        &[],
        "debian-tracker",
        vec![urgency(
            aff(
                "Debian:12",
                "curl",
                vec![fixed_range("7.88.1-10+deb12u4")],
                Some(DistroState::Fixed),
            ),
            "high",
        )],
    ));
    db.insert(adv(
        "CVE-2024-2398",
        &[],
        "debian-tracker",
        vec![aff(
            "Debian:12",
            "curl",
            vec![fixed_range("7.88.1-10+deb12u6")],
            None,
        )],
    ));
    let mut curl = deb("curl", "7.88.1-10+deb12u5", "curl", "7.88.1-10+deb12u5");
    curl.introduced = Some(LayerRef {
        index: 1,
        diff_id: "sha256:0e1d001a3ef9922903f6d49adf91c52f6f9f34dafd63c4fd3d27e4be0d646367"
            .parse()
            .unwrap(),
    });
    let lib = deb("libcurl4", "7.88.1-10+deb12u5", "curl", "7.88.1-10+deb12u5");
    let other = deb("curl", "7.88.1-10+deb12u5", "curl", "7.88.1-10+deb12u5");
    let inv = inventory(distro("debian", "12"), vec![curl, lib]);
    let r = scan(&inv, &db, &today()).unwrap();
    assert_eq!(
        ids(&r),
        vec![
            (
                "CVE-2024-2398".into(),
                "curl".into(),
                FixState::Fixed,
                vec!["7.88.1-10+deb12u6".into()]
            ),
            (
                "CVE-2024-2398".into(),
                "libcurl4".into(),
                FixState::Fixed,
                vec!["7.88.1-10+deb12u6".into()]
            ),
        ]
    );
    assert_eq!(r.findings[0].ecosystem, "Debian:12");
    assert_eq!(r.findings[0].package.source_name.as_deref(), Some("curl"));
    assert_eq!(r.findings[0].package.introduced.as_ref().unwrap().index, 1);
    assert_eq!(
        r.findings[0].advisories,
        vec!["debian-tracker:CVE-2024-2398".to_string()]
    );
    assert!(!r.distro_eol);
    assert_eq!(r.packages_scanned, 2);
    // A package of another distro release sees nothing.
    let inv = inventory(distro("debian", "11"), vec![other]);
    assert!(scan(&inv, &db, &today()).unwrap().findings.is_empty());
}

#[test]
fn source_version_is_compared_epoch_and_binnmu() {
    // Real bookworm packages: bsdutils carries an epoch its source util-linux has not;
    // bash is a binNMU; cpp's version is unrelated to its source gcc-defaults'.
    let mut db = MemoryDb::new();
    for (id, src, fixed) in [
        ("CVE-2000-0001", "util-linux", "2.38.1-5+deb12u4"),
        ("CVE-2000-0002", "bash", "5.2.15-2"),
        ("CVE-2000-0003", "bash", "5.2.15-3"),
        ("CVE-2000-0004", "gcc-defaults", "1.204"),
    ] {
        db.insert(adv(
            id,
            &[],
            "t",
            vec![aff("Debian:12", src, vec![fixed_range(fixed)], None)],
        ));
    }
    let inv = inventory(
        distro("debian", "12"),
        vec![
            deb(
                "bsdutils",
                "1:2.38.1-5+deb12u3",
                "util-linux",
                "2.38.1-5+deb12u3",
            ),
            deb("bash", "5.2.15-2+b13", "bash", "5.2.15-2"),
            deb("cpp", "4:12.2.0-3", "gcc-defaults", "1.203"),
        ],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    let mut got: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.package.name.as_str(),
                f.package.version.as_str(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("CVE-2000-0001", "bsdutils", "1:2.38.1-5+deb12u3"),
            // fixed in the very source upload the binNMU was built from: not affected.
            ("CVE-2000-0003", "bash", "5.2.15-2+b13"),
            ("CVE-2000-0004", "cpp", "4:12.2.0-3"),
        ]
    );
    // Without a source version the binary version is compared.
    let mut p = deb("bash", "5.2.15-2+b13", "bash", "");
    p.source_version = None;
    assert_eq!(compared_version(&p), "5.2.15-2+b13");
}

#[test]
fn states_and_filters() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "CVE-2011-3374",
        &[],
        "debian-tracker",
        vec![urgency(
            aff("Debian:12", "apt", vec![], Some(DistroState::Unimportant)),
            "unimportant",
        )],
    ));
    db.insert(adv(
        "CVE-2022-0563",
        &[],
        "debian-tracker",
        vec![urgency(
            aff(
                "Debian:12",
                "apt",
                vec![Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![Event::Introduced("0".into())],
                }],
                Some(DistroState::Unfixed),
            ),
            "low",
        )],
    ));
    db.insert(adv(
        "CVE-2000-0005",
        &[],
        "t",
        vec![aff(
            "Debian:12",
            "apt",
            vec![],
            Some(DistroState::WillNotFix),
        )],
    ));
    db.insert(adv(
        "CVE-2000-0006",
        &[],
        "t",
        vec![aff(
            "Debian:12",
            "apt",
            vec![],
            Some(DistroState::NotAffected),
        )],
    ));
    db.insert(adv(
        "CVE-2000-0007",
        &[],
        "t",
        vec![aff("Debian:12", "apt", vec![fixed_range("2.6.2")], None)],
    ));
    // Fixed without any version: states nothing matchable.
    db.insert(adv(
        "CVE-2000-0008",
        &[],
        "t",
        vec![aff("Debian:12", "apt", vec![], Some(DistroState::Fixed))],
    ));
    // Only commit ranges: nothing to place the installed version in.
    db.insert(adv(
        "CVE-2000-0014",
        &[],
        "osv",
        vec![aff(
            "Debian:12",
            "apt",
            vec![Range {
                kind: RangeKind::Git,
                events: vec![Event::Introduced("0".into()), Event::Fixed("abcdef".into())],
            }],
            None,
        )],
    ));
    let mut withdrawn = adv(
        "CVE-2000-0009",
        &[],
        "t",
        vec![aff("Debian:12", "apt", vec![], None)],
    );
    withdrawn.withdrawn = Some("2024-01-01T00:00:00Z".into());
    db.insert(withdrawn);
    let inv = inventory(
        distro("debian", "12"),
        vec![deb("apt", "2.6.1", "apt", "2.6.1")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    let mut got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.state, f.severity))
        .collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(
        got,
        vec![
            ("CVE-2000-0005", FixState::WillNotFix, Severity::Unknown),
            ("CVE-2000-0007", FixState::Fixed, Severity::Unknown),
            ("CVE-2011-3374", FixState::Unimportant, Severity::Negligible),
            ("CVE-2022-0563", FixState::Unfixed, Severity::Low),
        ]
    );
    // The gate of `--fail-on`: at or above the threshold; unknown only for `unknown`.
    let failing = |t: Severity| -> Vec<&str> {
        r.findings
            .iter()
            .filter(|f| fails_on(f, t))
            .map(|f| f.id.as_str())
            .collect()
    };
    assert_eq!(failing(Severity::Low), ["CVE-2022-0563"]);
    assert!(failing(Severity::Medium).is_empty());
    assert_eq!(failing(Severity::Negligible).len(), 2);
    assert_eq!(failing(Severity::Unknown).len(), 4);
}

#[test]
fn aliases_merge_into_one_finding_per_cve() {
    let mut db = MemoryDb::new();
    let eco = "Debian:12";
    // The tracker's CVE record, osv.dev's DEBIAN-CVE record and a DSA fixing two CVEs.
    db.insert(adv(
        "CVE-2023-38545",
        &[],
        "debian-tracker",
        vec![urgency(
            aff(eco, "curl", vec![fixed_range("7.88.1-10+deb12u4")], None),
            "high",
        )],
    ));
    db.insert(adv(
        "DEBIAN-CVE-2023-38545",
        &["CVE-2023-38545"],
        "osv",
        vec![aff(
            eco,
            "curl",
            vec![fixed_range("7.88.1-10+deb12u4")],
            None,
        )],
    ));
    db.insert(adv(
        "DSA-5587-1",
        &["CVE-2023-38545", "CVE-2023-38546"],
        "osv",
        vec![aff(
            eco,
            "curl",
            vec![fixed_range("7.88.1-10+deb12u4")],
            None,
        )],
    ));
    // A GHSA that names no CVE but is named by the DEBIAN-CVE record's alias chain.
    db.insert(adv(
        "GHSA-aaaa-bbbb-cccc",
        &["DEBIAN-CVE-2023-38545"],
        "osv",
        vec![aff(
            eco,
            "curl",
            vec![fixed_range("7.88.1-10+deb12u4")],
            None,
        )],
    ));
    // Two CVE-less advisories linked to each other only.
    db.insert(adv(
        "GHSA-xxxx-yyyy-zzzz",
        &["PYSEC-2020-1"],
        "osv",
        vec![aff(
            eco,
            "curl",
            vec![fixed_range("7.88.1-10+deb12u9")],
            None,
        )],
    ));
    db.insert(adv(
        "PYSEC-2020-1",
        &[],
        "osv",
        vec![aff(
            eco,
            "curl",
            vec![fixed_range("7.88.1-10+deb12u8")],
            None,
        )],
    ));
    let inv = inventory(
        distro("debian", "12"),
        vec![deb(
            "curl",
            "7.88.1-10+deb12u3",
            "curl",
            "7.88.1-10+deb12u3",
        )],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    let by_id: BTreeMap<&str, &Finding> = r.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        vec!["CVE-2023-38545", "CVE-2023-38546", "GHSA-xxxx-yyyy-zzzz"]
    );
    let f = by_id["CVE-2023-38545"];
    assert_eq!(
        f.aliases,
        vec!["DEBIAN-CVE-2023-38545", "DSA-5587-1", "GHSA-aaaa-bbbb-cccc"]
    );
    assert_eq!(
        f.advisories,
        vec![
            "debian-tracker:CVE-2023-38545",
            "osv:DEBIAN-CVE-2023-38545",
            "osv:DSA-5587-1",
            "osv:GHSA-aaaa-bbbb-cccc"
        ]
    );
    assert_eq!(
        (f.severity, f.severity_source.as_str()),
        (Severity::High, "debian")
    );
    let f = by_id["CVE-2023-38546"];
    assert_eq!(f.aliases, vec!["DSA-5587-1"]);
    let f = by_id["GHSA-xxxx-yyyy-zzzz"];
    assert_eq!(f.aliases, vec!["PYSEC-2020-1"]);
    assert_eq!(
        f.fixed_versions,
        vec!["7.88.1-10+deb12u8", "7.88.1-10+deb12u9"]
    );
}

#[test]
fn not_affected_verdict_beats_a_range() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "CVE-2000-0010",
        &[],
        "debian-tracker",
        vec![aff(
            "Debian:12",
            "zlib",
            vec![],
            Some(DistroState::NotAffected),
        )],
    ));
    db.insert(adv(
        "DEBIAN-CVE-2000-0010",
        &["CVE-2000-0010"],
        "osv",
        vec![aff("Debian:12", "zlib", vec![fixed_range("1:1.3-1")], None)],
    ));
    let inv = inventory(
        distro("debian", "12"),
        vec![deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1")],
    );
    assert!(scan(&inv, &db, &today()).unwrap().findings.is_empty());
}

#[test]
fn severity_choice_and_enrichment() {
    let mut db = MemoryDb::new();
    let eco = "Debian:12";
    let with_osv_vector = |a: Advisory| Advisory {
        severity: vec![SeverityScore {
            kind: "CVSS_V3".into(),
            score: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L".into(),
        }],
        ..a
    };
    // 1: the distro's urgency wins over NVD.
    db.insert(adv(
        "CVE-2019-15052",
        &[],
        "debian-tracker",
        vec![urgency(aff(eco, "p", vec![], None), "low")],
    ));
    // 2: "not yet assigned" falls back to NVD (v3.1 preferred over v2).
    db.insert(with_osv_vector(adv(
        "CVE-2000-0011",
        &[],
        "debian-tracker",
        vec![urgency(aff(eco, "p", vec![], None), "not yet assigned")],
    )));
    // 3: no NVD data: the advisory's own vector.
    db.insert(with_osv_vector(adv(
        "CVE-2000-0012",
        &[],
        "osv",
        vec![aff(eco, "p", vec![], None)],
    )));
    // 4: nothing rates it.
    db.insert(adv(
        "CVE-2000-0013",
        &[],
        "osv",
        vec![aff(eco, "p", vec![], None)],
    ));
    let nvd = |v: &[&str]| Enrichment {
        cvss: v
            .iter()
            .map(|s| SeverityScore {
                kind: if s.starts_with("CVSS:") {
                    "CVSS_V3"
                } else {
                    "CVSS_V2"
                }
                .into(),
                score: s.to_string(),
            })
            .collect(),
        ..Default::default()
    };
    db.set_enrichment(
        "CVE-2019-15052",
        nvd(&["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"]),
    );
    db.set_enrichment(
        "CVE-2000-0011",
        Enrichment {
            kev: Some(Kev {
                date_added: "2024-01-01".into(),
                ..Default::default()
            }),
            epss: Some(Epss {
                score: 0.5,
                percentile: 0.9,
                date: None,
            }),
            ..nvd(&[
                "AV:N/AC:L/Au:N/C:C/I:C/A:C",
                "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
            ])
        },
    );
    let inv = inventory(
        distro("debian", "12"),
        vec![deb("p", "1.0-1", "p", "1.0-1")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    let by_id: BTreeMap<&str, &Finding> = r.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let s = |id: &str| (by_id[id].severity, by_id[id].severity_source.as_str());
    assert_eq!(s("CVE-2019-15052"), (Severity::Low, "debian"));
    assert_eq!(s("CVE-2000-0011"), (Severity::Medium, "nvd"));
    assert_eq!(s("CVE-2000-0012"), (Severity::Low, "osv"));
    assert_eq!(s("CVE-2000-0013"), (Severity::Unknown, "none"));
    let f = by_id["CVE-2000-0011"];
    assert_eq!(
        f.cvss
            .iter()
            .map(|c| (c.version.as_str(), c.base_score, c.source.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("2.0", 10.0, "nvd"),
            ("3.1", 6.7, "nvd"),
            ("3.1", 1.8, "debian-tracker")
        ]
    );
    assert!(f.kev.is_some());
    assert_eq!(f.epss.as_ref().map(|e| e.score), Some(0.5));
    // KEV first, even though CVE-2019-15052 is rated low and the others unknown.
    assert_eq!(r.findings[0].id, "CVE-2000-0011");
}

fn finding(id: &str, sev: Severity, kev: bool, epss: Option<f64>, fixed: bool) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        advisories: vec![],
        package: FindingPackage {
            ecosystem: Ecosystem::Deb,
            name: "p".into(),
            version: "1".into(),
            arch: None,
            source_name: None,
            source_version: None,
            purl: String::new(),
            introduced: None,
            last_changed: None,
            sbom_ref: None,
            path: None,
        },
        ecosystem: "Debian:12".into(),
        state: if fixed {
            FixState::Fixed
        } else {
            FixState::Unfixed
        },
        fixed_versions: vec![],
        severity: sev,
        severity_source: "x".into(),
        cvss: vec![],
        kev: kev.then(Kev::default),
        epss: epss.map(|score| Epss {
            score,
            percentile: 0.0,
            date: None,
        }),
        summary: None,
        references: vec![],
    }
}

#[test]
fn risk_order_is_kev_severity_epss_fix_id() {
    let mut v = [
        finding("CVE-7", Severity::Low, false, None, true),
        finding("CVE-6", Severity::High, false, None, false),
        finding("CVE-5", Severity::High, false, None, true),
        finding("CVE-4", Severity::High, false, Some(0.01), false),
        finding("CVE-3", Severity::High, false, Some(0.9), false),
        finding("CVE-2", Severity::Critical, false, Some(0.99), true),
        finding("CVE-1", Severity::Low, true, None, false),
        finding("CVE-0", Severity::High, false, None, true),
    ];
    v.sort_by(risk_order);
    assert_eq!(
        v.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec!["CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-0", "CVE-5", "CVE-6", "CVE-7"]
    );
}

#[test]
fn unknown_severity_ranks_below_medium_above_low_and_negligible() {
    // The curl image once listed 14 fixable CVEs of unknown severity after 13
    // negligible (Debian "unimportant") ones.
    let mut v = [
        finding("CVE-N", Severity::Negligible, false, None, false),
        finding("CVE-L", Severity::Low, false, None, true),
        finding("CVE-U", Severity::Unknown, false, None, true),
        finding("CVE-M", Severity::Medium, false, None, true),
    ];
    v.sort_by(risk_order);
    assert_eq!(
        v.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["CVE-M", "CVE-U", "CVE-L", "CVE-N"]
    );
}

#[test]
fn eol_release_unknown_distro_and_foreign_packages() {
    let db = MemoryDb::new();
    let inv = inventory(
        distro("debian", "9"),
        vec![deb("bash", "4.4-5", "bash", "4.4-5")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(r.distro_eol);
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("end of life on 2022-06-30")));

    let inv = inventory(
        distro("arch", "rolling"),
        vec![deb("bash", "4.4-5", "bash", "4.4-5")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(!r.distro_eol);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("were not matched")),
        "{:?}",
        r.warnings
    );

    // A known release whose ecosystem the DB holds nothing for is not reported clean.
    let inv = inventory(
        distro("debian", "12"),
        vec![deb("bash", "5.2.15-2", "bash", "5.2.15-2")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.message.contains(
            "no advisory data for Debian 12 in the advisory database (nothing in Debian:12)"
        )),
        "{:?}",
        r.warnings
    );
    assert_eq!((r.packages_scanned, r.packages_not_matched), (1, 1));
    // Recognised, but patchline reads no feed for it.
    let inv = inventory(
        distro("ol", "8.9"),
        vec![deb("bash", "5.2.15-2", "bash", "5.2.15-2")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("no advisory data for Oracle Linux 8:")),
        "{:?}",
        r.warnings
    );

    let mut db = MemoryDb::new();
    db.insert(adv(
        "DEBIAN-CVE-0",
        &[],
        "debian-tracker",
        vec![aff("Debian:12", "other", vec![fixed_range("1")], None)],
    ));
    let mut apk = Package::new(Ecosystem::Apk, "musl", "1.2.4-r2");
    apk.source_name = Some("musl".into());
    let inv = inventory(distro("debian", "12"), vec![apk]);
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("1 apk packages")),
        "{:?}",
        r.warnings
    );

    let inv = inventory(
        distro("debian", "12"),
        vec![deb("bad", "not valid!", "bad", "not valid!")],
    );
    let r = scan(&inv, &db, &today()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.location.contains("package bad")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn ubuntu_lts_both_ecosystems_and_rpm_binary_names() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "UBUNTU-CVE-2023-38545",
        &["CVE-2023-38545"],
        "osv",
        vec![aff(
            "Ubuntu:22.04:LTS",
            "curl",
            vec![fixed_range("7.81.0-1ubuntu1.14")],
            None,
        )],
    ));
    db.insert(adv(
        "CVE-2023-38545",
        &["USN-6429-1"],
        "ubuntu",
        vec![aff(
            "Ubuntu:22.04",
            "curl",
            vec![fixed_range("7.81.0-1ubuntu1.14")],
            None,
        )],
    ));
    let mut p = deb(
        "libcurl4",
        "7.81.0-1ubuntu1.13",
        "curl",
        "7.81.0-1ubuntu1.13",
    );
    p.purl = "pkg:deb/ubuntu/libcurl4@7.81.0-1ubuntu1.13".into();
    let inv = inventory(distro("ubuntu", "22.04"), vec![p]);
    let r = scan(&inv, &db, &today()).unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(
        r.findings[0].aliases,
        vec!["UBUNTU-CVE-2023-38545", "USN-6429-1"]
    );
    assert_eq!(r.findings[0].fixed_versions, vec!["7.81.0-1ubuntu1.14"]);

    // The same errata keyed by source and binary package: one finding.
    let mut db = MemoryDb::new();
    for pkg in ["openssl", "openssl-libs"] {
        db.insert(adv(
            "CVE-2021-3712",
            &["RLSA-2021:4647"],
            "rocky",
            vec![aff(
                "Rocky Linux:8",
                pkg,
                vec![fixed_range("1:1.1.1k-5.el8_5")],
                None,
            )],
        ));
    }
    let mut p = Package::new(Ecosystem::Rpm, "openssl-libs", "1:1.1.1k-4.el8");
    p.source_name = Some("openssl".into());
    p.source_version = Some("1.1.1k-4.el8".into());
    let inv = inventory(distro("rocky", "8.5"), vec![p]);
    let r = scan(&inv, &db, &today()).unwrap();
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].fixed_versions, vec!["1:1.1.1k-5.el8_5"]);
}

fn lang(eco: Ecosystem, name: &str, version: &str, path: &str) -> Package {
    let mut p = Package::new(eco, name, version);
    p.db_path = path.into();
    p.purl = patchline_model::purl::for_package(&p, None);
    p
}

#[test]
fn language_packages_match_their_osv_ecosystem() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "GHSA-j8r2-6x86-q33q",
        &["CVE-2023-32681", "PYSEC-2023-74"],
        "osv",
        vec![aff("PyPI", "requests", vec![fixed_range("2.31.0")], None)],
    ));
    db.insert(adv(
        "GHSA-x",
        &[],
        "osv",
        vec![aff("npm", "lodash", vec![fixed_range("4.17.21")], None)],
    ));
    // A Debian advisory about a PyPI name must not reach the PyPI package.
    db.insert(adv(
        "CVE-2099-1",
        &[],
        "debian",
        vec![aff("Debian:12", "requests", vec![fixed_range("9")], None)],
    ));
    let packages = vec![
        deb("curl", "7.88.1-10", "curl", "7.88.1-10"),
        // PEP 503: the METADATA spelling differs from OSV's.
        lang(
            Ecosystem::Pypi,
            "Requests",
            "2.25.0",
            "venv/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA",
        ),
        lang(
            Ecosystem::Pypi,
            "requests",
            "2.31.0",
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
        ),
        lang(
            Ecosystem::Npm,
            "lodash",
            "4.17.20",
            "app/node_modules/lodash/package.json",
        ),
        // RubyGems data absent from the DB: said, not clean.
        lang(
            Ecosystem::Gem,
            "rack",
            "2.2.3",
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
        ),
        // A version the scheme cannot read.
        lang(
            Ecosystem::Npm,
            "broken",
            "not a version",
            "app/node_modules/broken/package.json",
        ),
    ];
    let r = scan(&inventory(distro("debian", "12"), packages), &db, &today()).unwrap();
    assert_eq!(
        ids(&r),
        vec![
            (
                "CVE-2023-32681".into(),
                "Requests".into(),
                FixState::Fixed,
                vec!["2.31.0".into()]
            ),
            (
                "GHSA-x".into(),
                "lodash".into(),
                FixState::Fixed,
                vec!["4.17.21".into()]
            ),
        ]
    );
    let f = &r.findings[0];
    assert_eq!(f.ecosystem, "PyPI");
    assert_eq!(
        f.package.path.as_deref(),
        Some("venv/lib/python3.11/site-packages/requests-2.25.0.dist-info/METADATA")
    );
    assert_eq!(f.package.purl, "pkg:pypi/requests@2.25.0");
    let reasons: Vec<(&str, &str)> = r
        .unmatched
        .iter()
        .map(|u| (u.package.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(r.packages_not_matched, 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|(p, w)| p.starts_with("pkg:gem/rack")
                && w.contains("no advisory data for RubyGems")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(p, w)| p.starts_with("pkg:npm/broken") && w.contains("not a valid")),
        "{reasons:?}"
    );
}

/// Debian's python3-requests ships `requests-2.28.1.egg-info`: the PyPI package read
/// from it belongs to the deb, whose Debian advisories judge it; PyPI's ranges would
/// flag 2.28.1 although Debian patched it.
#[test]
fn language_packages_an_os_package_owns_are_matched_through_it() {
    let mut db = MemoryDb::new();
    db.insert(adv(
        "GHSA-j8r2-6x86-q33q",
        &["CVE-2023-32681"],
        "osv",
        vec![aff("PyPI", "requests", vec![fixed_range("2.31.0")], None)],
    ));
    db.insert(adv(
        "CVE-2023-32681",
        &[],
        "debian",
        vec![aff(
            "Debian:12",
            "requests",
            vec![fixed_range("2.28.1+dfsg-1+deb12u1")],
            None,
        )],
    ));
    let egg = "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO";
    let mut managed = lang(Ecosystem::Pypi, "requests", "2.28.1", egg);
    managed.managed_by = Some("python3-requests".into());
    // No RubyGems data: a managed gem is still neither matched nor unmatched.
    let mut gem = lang(
        Ecosystem::Gem,
        "rake",
        "13.0.6",
        "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec",
    );
    gem.managed_by = Some("rake".into());
    let packages = vec![
        deb(
            "python3-requests",
            "2.28.1+dfsg-1",
            "requests",
            "2.28.1+dfsg-1",
        ),
        managed,
        gem,
        // The same version installed by pip in a virtualenv is PyPI's.
        lang(
            Ecosystem::Pypi,
            "requests",
            "2.28.1",
            "opt/venv/lib/python3.11/site-packages/requests-2.28.1.dist-info/METADATA",
        ),
    ];
    let r = scan(&inventory(distro("debian", "12"), packages), &db, &today()).unwrap();
    let got: Vec<(&str, &str, &str, Option<&str>)> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.ecosystem.as_str(),
                f.package.name.as_str(),
                f.package.path.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("CVE-2023-32681", "Debian:12", "python3-requests", None),
            (
                "CVE-2023-32681",
                "PyPI",
                "requests",
                Some("opt/venv/lib/python3.11/site-packages/requests-2.28.1.dist-info/METADATA")
            ),
        ]
    );
    assert_eq!(r.packages_scanned, 4);
    assert_eq!(r.packages_managed_by_os, 2);
    assert_eq!(r.packages_not_matched, 0, "{:?}", r.unmatched);
    assert!(r.unmatched.is_empty());
    assert!(
        !r.warnings.iter().any(|w| w.message.contains("RubyGems")),
        "{:?}",
        r.warnings
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["packages_managed_by_os"], 2);
}
