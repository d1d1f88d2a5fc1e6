//! Golden comparison with Trivy's integration tests (`shared/data/golden/trivy`).
//!
//! Trivy's DB fixtures (YAML dumps of trivy-db buckets: `<os> <release>` → source
//! package → CVE → fixed version / status / severity) are turned into [`Advisory`]
//! records, the way patchline's importers turn distro feeds into them; the per-CVE
//! details (`vulnerability.yaml`: NVD CVSS vectors, vendor severities) become
//! enrichment and per-package severities. For every golden scan result, the inventory
//! holds the packages the golden names, with the installed versions it gives (the images
//! themselves are not available), and the test checks that patchline reports exactly the
//! golden findings for them: id, binary package, installed and fixed version, status,
//! severity and its source. The CVSS scores the golden prints are checked against the
//! scores patchline computes from the same vectors.
//!
//! What cannot be reproduced from the fixtures, and how the test handles it:
//! * Red Hat entries are filtered by CPE (content set) indexes whose table is not in the
//!   fixtures; every entry is applied to `Red Hat:7`. The data does not need the filter:
//!   the el6 errata (`0:1.0.1e-58.el6_10`) sort below the el7 packages anyway.
//! * The images' other packages are unknown, so bucket entries for packages the goldens
//!   do not name (Debian 9 openssl, Alpine edge git...) are not exercised.
//! * Trivy's `end_of_life` status has no counterpart in [`FixState`]: patchline reports
//!   such a finding as unfixed and flags the release (`distro_eol`).

use std::collections::{BTreeMap, BTreeSet};

use patchline_match::{scan, score_vector, MatchOptions, MemoryDb};
use patchline_model::vuln::{
    Advisory, Affected, DistroState, Enrichment, Event, FixState, Range, RangeKind, SeverityScore,
};
use patchline_model::{Distro, Ecosystem, ImageInfo, Inventory, Package};
use patchline_test_support::shared_data_path;
use yaml_rust2::{Yaml, YamlLoader};

fn load_yaml(dir: &std::path::Path, name: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(dir.join("fixtures/db").join(name)).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    docs[0].as_vec().cloned().unwrap_or_default()
}

/// trivy-db severities: 0 unknown, 1 low, 2 medium, 3 high, 4 critical (ints or floats).
fn trivy_severity(y: &Yaml) -> Option<&'static str> {
    let n = y.as_i64().or_else(|| y.as_f64().map(|f| f as i64))?;
    Some(match n {
        1 => "low",
        2 => "medium",
        3 => "high",
        4 => "critical",
        _ => return None,
    })
}

/// trivy-db statuses: 1 not_affected, 2 affected, 3 fixed, 4 under_investigation,
/// 5 will_not_fix, 6 fix_deferred, 7 end_of_life.
fn trivy_status(y: &Yaml) -> Option<DistroState> {
    let n = y.as_i64().or_else(|| y.as_f64().map(|f| f as i64))?;
    Some(match n {
        1 => DistroState::NotAffected,
        3 => DistroState::Fixed,
        5 => DistroState::WillNotFix,
        _ => DistroState::Unfixed,
    })
}

/// A trivy-db bucket name → (OSV ecosystem, vendor severity kind, vulnerability.yaml
/// vendor key).
fn bucket(name: &str) -> Option<(String, &'static str, &'static str)> {
    let (os, rel) = name.split_once(' ')?;
    Some(match os {
        "debian" => (format!("Debian:{rel}"), "Debian", "debian"),
        "ubuntu" => (format!("Ubuntu:{rel}"), "Ubuntu", "ubuntu"),
        "alpine" if rel != "edge" => (format!("Alpine:v{rel}"), "Alpine", "alpine"),
        "alma" => (format!("AlmaLinux:{rel}"), "AlmaLinux", "alma"),
        "rocky" => (format!("Rocky Linux:{rel}"), "Rocky Linux", "rocky"),
        _ => return None,
    })
}

fn pairs(y: &Yaml) -> impl Iterator<Item = &Yaml> {
    y["pairs"].as_vec().into_iter().flatten()
}

fn vendor_severity(
    vulns: &BTreeMap<String, Yaml>,
    cve: &str,
    vendor: &str,
) -> Option<&'static str> {
    vulns
        .get(cve)
        .and_then(|v| trivy_severity(&v["VendorSeverity"][vendor]))
}

fn fixed_range(fixed: &str) -> Vec<Range> {
    vec![Range {
        kind: RangeKind::Ecosystem,
        events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.into())],
    }]
}

fn build_db(dir: &std::path::Path) -> (MemoryDb, usize) {
    let mut vulns: BTreeMap<String, Yaml> = BTreeMap::new();
    for b in load_yaml(dir, "vulnerability.yaml") {
        for p in pairs(&b) {
            if let Some(k) = p["key"].as_str() {
                vulns.insert(k.to_string(), p["value"].clone());
            }
        }
    }
    let mut db = MemoryDb::new();
    let mut n = 0;
    for file in [
        "debian.yaml",
        "ubuntu.yaml",
        "alpine.yaml",
        "almalinux.yaml",
        "rockylinux.yaml",
    ] {
        for release in load_yaml(dir, file) {
            let Some((eco, kind, vendor)) = release["bucket"].as_str().and_then(bucket) else {
                continue;
            };
            for pkg in pairs(&release) {
                let name = pkg["bucket"].as_str().unwrap();
                for entry in pairs(pkg) {
                    let cve = entry["key"].as_str().unwrap();
                    let v = &entry["value"];
                    let fixed = v["FixedVersion"].as_str();
                    let mut state = trivy_status(&v["Status"]);
                    if v["State"].as_str().is_some() {
                        // Debian's "postponed" / "no-dsa" notes: open, a fix is not scheduled.
                        state = Some(DistroState::Unfixed);
                    }
                    if state.is_none() && fixed.is_none() {
                        state = Some(DistroState::Unfixed);
                    }
                    let rating = trivy_severity(&v["Severity"])
                        .or_else(|| vendor_severity(&vulns, cve, vendor));
                    db.insert(Advisory {
                        id: cve.into(),
                        aliases: v["VendorIDs"]
                            .as_vec()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect(),
                        affected: vec![Affected {
                            ecosystem: eco.clone(),
                            package: name.into(),
                            ranges: fixed.map(fixed_range).unwrap_or_default(),
                            state,
                            severity: rating
                                .map(|r| SeverityScore {
                                    kind: kind.into(),
                                    score: r.into(),
                                })
                                .into_iter()
                                .collect(),
                            ..Default::default()
                        }],
                        source: "trivy-db".into(),
                        ..Default::default()
                    });
                    n += 1;
                }
            }
        }
    }
    // Red Hat: bucket → package → CVE or RHSA → Entries[{Cves[{ID?, Severity}], FixedVersion?, Status?}].
    for release in load_yaml(dir, "redhat.yaml") {
        for pkg in pairs(&release) {
            let name = pkg["bucket"].as_str().unwrap();
            for entry in pairs(pkg) {
                let key = entry["key"].as_str().unwrap();
                for e in entry["value"]["Entries"].as_vec().into_iter().flatten() {
                    for c in e["Cves"].as_vec().into_iter().flatten() {
                        let id = c["ID"].as_str().unwrap_or(key);
                        let fixed = e["FixedVersion"].as_str();
                        let state = trivy_status(&e["Status"])
                            .or(fixed.is_none().then_some(DistroState::Unfixed));
                        db.insert(Advisory {
                            id: id.into(),
                            aliases: if key == id { vec![] } else { vec![key.into()] },
                            affected: vec![Affected {
                                ecosystem: "Red Hat:7".into(),
                                package: name.into(),
                                ranges: fixed.map(fixed_range).unwrap_or_default(),
                                state,
                                severity: trivy_severity(&c["Severity"])
                                    .map(|r| SeverityScore {
                                        kind: "Red Hat".into(),
                                        score: r.into(),
                                    })
                                    .into_iter()
                                    .collect(),
                                ..Default::default()
                            }],
                            source: "trivy-db".into(),
                            ..Default::default()
                        });
                        n += 1;
                    }
                }
            }
        }
    }
    for (id, v) in &vulns {
        let mut cvss = Vec::new();
        for (k, kind) in [("V3Vector", "CVSS_V3"), ("V2Vector", "CVSS_V2")] {
            if let Some(vec) = v["CVSS"]["nvd"][k].as_str() {
                cvss.push(SeverityScore {
                    kind: kind.into(),
                    score: vec.into(),
                });
            }
        }
        db.set_enrichment(
            id.clone(),
            Enrichment {
                cvss,
                description: v["Description"].as_str().map(String::from),
                ..Default::default()
            },
        );
    }
    (db, n)
}

/// Source packages of the binaries the goldens name (real package relationships of
/// those releases: Debian/Ubuntu `Source:`, Alpine `origin`, the rpm source rpm).
fn source_of(binary: &str) -> &str {
    match binary {
        "libidn2-0" => "libidn2",
        "e2fslibs" | "libcomerr2" | "libss2" | "libcom-err2" | "libext2fs2" => "e2fsprogs",
        "libcrypto1.1" | "libssl1.1" => "openssl",
        "musl-utils" => "musl",
        "openssl-libs" => "openssl",
        other => other,
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Row {
    id: String,
    package: String,
    installed: String,
    fixed: String,
    status: String,
    severity: String,
    severity_source: String,
}

fn status_word(s: FixState) -> &'static str {
    match s {
        FixState::Fixed => "fixed",
        FixState::Unfixed => "affected",
        FixState::WillNotFix => "will_not_fix",
        FixState::Unimportant => "unimportant",
    }
}

#[test]
fn reproduces_trivy_goldens() {
    let Some(dir) = shared_data_path("golden/trivy") else {
        return;
    };
    let (db, n) = build_db(&dir);
    assert!(n >= 20, "only {n} advisories read from the fixtures");
    let opts = MatchOptions {
        today: Some(time::Date::from_calendar_date(2026, time::Month::November, 28).unwrap()),
    };
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.golden"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 8);
    for path in names {
        let g: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let os = &g["Metadata"]["OS"];
        let id = match os["Family"].as_str().unwrap() {
            "alma" => "almalinux",
            "redhat" => "rhel",
            other => other,
        };
        let mut inv = Inventory::new(ImageInfo {
            reference: file.clone(),
            ..Default::default()
        });
        inv.distro = Some(Distro {
            id: id.into(),
            version_id: os["Name"].as_str().map(String::from),
            source: "etc/os-release".into(),
            ..Default::default()
        });
        let mut want = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for r in g["Results"].as_array().unwrap() {
            for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
                let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
                let purl = v["PkgIdentifier"]["PURL"].as_str().unwrap();
                let eco = match purl.split('/').next().unwrap() {
                    "pkg:deb" => Ecosystem::Deb,
                    "pkg:apk" => Ecosystem::Apk,
                    "pkg:rpm" => Ecosystem::Rpm,
                    other => panic!("{other}"),
                };
                let status = match s("Status").as_str() {
                    "end_of_life" => "affected".to_string(),
                    other => other.to_string(),
                };
                want.insert(Row {
                    id: s("VulnerabilityID"),
                    package: s("PkgName"),
                    installed: s("InstalledVersion"),
                    fixed: s("FixedVersion"),
                    status,
                    severity: s("Severity").to_lowercase(),
                    severity_source: s("SeveritySource"),
                });
                if seen.insert((s("PkgName"), s("InstalledVersion"))) {
                    let mut p = Package::new(eco, s("PkgName"), s("InstalledVersion"));
                    p.source_name = Some(source_of(&s("PkgName")).to_string());
                    p.purl = purl.to_string();
                    inv.packages.push(p);
                }
                // The CVSS scores the golden prints, recomputed from its vectors.
                for (src, c) in v["CVSS"].as_object().into_iter().flatten() {
                    for (vk, sk) in [("V2Vector", "V2Score"), ("V3Vector", "V3Score")] {
                        if let (Some(vec), Some(score)) = (c[vk].as_str(), c[sk].as_f64()) {
                            let got = score_vector(vec, src).unwrap_or_else(|| panic!("{vec}"));
                            assert_eq!(got.base_score, score, "{file}: {src} {vec}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        let report = scan(&inv, &db, &opts).unwrap();
        let got: BTreeSet<Row> = report
            .findings
            .iter()
            .map(|f| Row {
                id: f.id.clone(),
                package: f.package.name.clone(),
                installed: f.package.version.clone(),
                fixed: f.fixed_versions.join(", "),
                status: status_word(f.state).to_string(),
                severity: f.severity.as_str().to_string(),
                severity_source: f.severity_source.clone(),
            })
            .collect();
        assert_eq!(got, want, "{file}");
        // Vendor ids (DSA, RHSA) are carried as aliases.
        for r in g["Results"].as_array().unwrap() {
            for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
                for vid in v["VendorIDs"].as_array().into_iter().flatten() {
                    let f = report
                        .findings
                        .iter()
                        .find(|f| {
                            Some(f.id.as_str()) == v["VulnerabilityID"].as_str()
                                && Some(f.package.name.as_str()) == v["PkgName"].as_str()
                        })
                        .unwrap();
                    assert!(
                        f.aliases.iter().any(|a| Some(a.as_str()) == vid.as_str()),
                        "{file}: {} lacks {vid}",
                        f.id
                    );
                }
            }
        }
        if os["EOSL"].as_bool() == Some(true) {
            assert!(report.distro_eol, "{file}: end of life not flagged");
        }
        eprintln!(
            "{file}: {} findings as in the golden",
            report.findings.len()
        );
    }
    assert!(checked >= 20, "only {checked} CVSS scores checked");
}
