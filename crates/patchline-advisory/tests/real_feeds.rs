//! Every sample feed in ../shared/data imports, with the record counts the files really
//! hold (counted here independently by reading the JSON generically), and the facts the
//! matcher relies on come out right.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use patchline_advisory::{
    import_files, import_path, AdvisoryDb, Collected, Format, ImportOptions, Limits,
};
use patchline_model::vuln::{
    Advisory, AdvisoryLookup, DistroState, Event, RangeKind, SeverityScore,
};
use patchline_test_support::shared_data;

fn collect(path: &Path) -> Collected {
    let mut c = Collected::default();
    import_path(path, &Limits::default(), &mut c)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    c
}

fn by_id(c: &Collected) -> BTreeMap<String, Advisory> {
    c.advisories
        .iter()
        .map(|a| (a.id.clone(), a.clone()))
        .collect()
}

fn sev(kind: &str, score: &str) -> SeverityScore {
    SeverityScore {
        kind: kind.into(),
        score: score.into(),
    }
}

#[test]
fn osv_directories_import_every_record() {
    let Some(d) = shared_data() else { return };
    for eco in ["Go", "PyPI", "Ubuntu", "crates.io"] {
        let dir = d.join("osv").join(eco);
        let expected = osv_ids(&dir);
        assert!(!expected.is_empty(), "{eco}: no samples");
        let c = collect(&dir);
        let got: BTreeSet<String> = c.advisories.iter().map(|a| a.id.clone()).collect();
        // PyPI's samples also hold the records' YAML originals (`yaml-original/`), read
        // as OSV too: the same ids once more.
        let yaml = dir.join("yaml-original");
        let yaml_files = if yaml.is_dir() {
            std::fs::read_dir(&yaml).unwrap().count()
        } else {
            0
        };
        assert_eq!(
            c.advisories.len(),
            expected.len() + yaml_files,
            "{eco}: one advisory per file"
        );
        let c = {
            // The JSON files alone, for the per-entry counts below.
            let mut only = Collected::default();
            for f in json_files(&dir) {
                import_path(&f, &Limits::default(), &mut only).unwrap();
            }
            only
        };
        assert_eq!(got, expected, "{eco}");
        assert!(c.warnings.is_empty(), "{eco}: {:?}", c.warnings);
        // Every affected entry of every file is kept (none of the samples is packageless).
        let files = json_files(&dir);
        let affected: usize = files
            .iter()
            .map(|f| json(f)["affected"].as_array().map_or(0, |a| a.len()))
            .sum();
        let got_affected: usize = c.advisories.iter().map(|a| a.affected.len()).sum();
        assert_eq!(got_affected, affected, "{eco}: affected entries");
    }
}

#[test]
fn osv_zip_of_the_samples_imports_like_the_directory() {
    let Some(d) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for eco in ["Go", "PyPI", "crates.io", "Ubuntu"] {
        let dir = d.join("osv").join(eco);
        let zip = tmp.path().join(format!("{eco}-all.zip"));
        std::fs::write(&zip, zip_of(&json_files(&dir))).unwrap();
        let from_zip = collect(&zip);
        let mut from_dir = Collected::default();
        for f in json_files(&dir) {
            import_path(&f, &Limits::default(), &mut from_dir).unwrap();
        }
        assert_eq!(from_zip.advisories.len(), osv_ids(&dir).len(), "{eco}");
        assert_eq!(
            by_id(&from_zip),
            by_id(&from_dir),
            "{eco}: zip and directory agree"
        );
    }
}

#[test]
fn osv_record_details() {
    let Some(d) = shared_data() else { return };
    let go = by_id(&collect(&d.join("osv/Go")));
    let a = &go["GO-2022-0969"];
    assert_eq!(a.aliases, ["CVE-2022-27664", "GHSA-69cg-p879-7622"]);
    assert_eq!(a.source, "osv");
    assert_eq!(a.affected.len(), 2);
    assert_eq!(a.affected[0].ecosystem, "Go");
    assert_eq!(a.affected[0].package, "stdlib");
    let r = &a.affected[0].ranges[0];
    assert_eq!(r.kind, RangeKind::Semver);
    assert_eq!(
        r.events,
        [
            Event::Introduced("0".into()),
            Event::Fixed("1.18.6".into()),
            Event::Introduced("1.19.0-0".into()),
            Event::Fixed("1.19.1".into())
        ]
    );

    // Ubuntu: `:LTS` dropped from the ecosystem, the CVE inside the id becomes an alias,
    // the priority a vendor severity, the CVSS vector kept.
    let ub = by_id(&collect(&d.join("osv/Ubuntu")));
    let u = &ub["UBUNTU-CVE-2023-38545"];
    let raw = json(&d.join("osv/Ubuntu/UBUNTU-CVE-2023-38545.json"));
    assert!(u.aliases.contains(&"CVE-2023-38545".to_string()));
    assert_eq!(
        u.severity,
        [sev(
            "CVSS_V3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        )]
    );
    let ecos: Vec<&str> = u.affected.iter().map(|a| a.ecosystem.as_str()).collect();
    assert_eq!(ecos, ["Ubuntu:20.04", "Ubuntu:22.04", "Ubuntu:24.04"]);
    for (got, raw) in u.affected.iter().zip(raw["affected"].as_array().unwrap()) {
        let prio = raw["ecosystem_specific"]["ubuntu_priority"]
            .as_str()
            .unwrap();
        assert!(got.severity.contains(&sev("Ubuntu", prio)));
        assert_eq!(
            got.versions.len(),
            raw["versions"].as_array().unwrap().len()
        );
    }

    // RustSec: the CVSS vector of `database_specific.cvss` lands on the affected entry.
    let rs = collect(&d.join("osv/crates.io"));
    let mut with_cvss = 0;
    for f in json_files(&d.join("osv/crates.io")) {
        let raw = json(&f);
        let id = raw["id"].as_str().unwrap();
        let a = rs.advisories.iter().find(|a| a.id == id).unwrap();
        if let Some(v) = raw["affected"][0]["database_specific"]["cvss"].as_str() {
            with_cvss += 1;
            assert!(
                a.affected[0].severity.iter().any(|s| s.score == v),
                "{id}: {v} kept"
            );
        }
    }
    assert!(with_cvss > 0);
}

#[test]
fn debian_tracker_sample() {
    let Some(d) = shared_data() else { return };
    let path = d.join("feeds/debian-tracker/debian_security_tracker_mock.json");
    let raw = json(&path);
    let mut ids = BTreeSet::new();
    let mut entries = 0;
    for (_pkg, cves) in raw.as_object().unwrap() {
        for (id, e) in cves.as_object().unwrap() {
            ids.insert(format!("DEBIAN-{id}"));
            entries += e["releases"].as_object().unwrap().len();
        }
    }
    let c = collect(&path);
    let got: BTreeSet<String> = c.advisories.iter().map(|a| a.id.clone()).collect();
    assert_eq!(got, ids);
    assert_eq!(
        c.advisories.iter().map(|a| a.affected.len()).sum::<usize>(),
        entries
    );
    let m = by_id(&c);
    let find = |id: &str, eco: &str| {
        m[id]
            .affected
            .iter()
            .find(|a| a.ecosystem == eco)
            .unwrap_or_else(|| panic!("{id} {eco}"))
            .clone()
    };
    // resolved with fixed_version 0: not affected, no range.
    for eco in [
        "Debian:10",
        "Debian:11",
        "Debian:12",
        "Debian:13",
        "Debian:sid",
    ] {
        let a = find("DEBIAN-CVE-2014-1424", eco);
        assert_eq!(a.state, Some(DistroState::NotAffected));
        assert!(a.ranges.is_empty());
        assert_eq!(a.package, "apparmor");
    }
    // open + unimportant; resolved with a version.
    let a = find("DEBIAN-CVE-2016-1585", "Debian:12");
    assert_eq!(a.state, Some(DistroState::Unimportant));
    assert_eq!(a.ranges[0].events, [Event::Introduced("0".into())]);
    assert_eq!(a.severity, [sev("Debian", "unimportant")]);
    let a = find("DEBIAN-CVE-2016-1585", "Debian:13");
    assert_eq!(a.state, Some(DistroState::Fixed));
    assert_eq!(
        a.ranges[0].events,
        [
            Event::Introduced("0".into()),
            Event::Fixed("3.0.12-1".into())
        ]
    );
    // "not yet assigned" is no rating.
    let a = find("DEBIAN-CVE-2017-6507", "Debian:12");
    assert_eq!(a.state, Some(DistroState::Fixed));
    assert!(a.severity.is_empty());
    assert_eq!(m["DEBIAN-CVE-2017-6507"].aliases, ["CVE-2017-6507"]);
    assert!(m["DEBIAN-CVE-2017-6507"]
        .details
        .as_deref()
        .unwrap()
        .contains("AppArmor"));
}

/// Ids in an Alpine secfix list, counted the simple way (the samples hold plain ids).
fn alpine_ids(raw: &serde_json::Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if let Some(pkgs) = raw["packages"].as_array() {
        for p in pkgs {
            for (_v, list) in p["pkg"]["secfixes"].as_object().unwrap() {
                for s in list.as_array().into_iter().flatten() {
                    for tok in s.as_str().unwrap().split_whitespace() {
                        ids.insert(format!("ALPINE-{tok}"));
                    }
                }
            }
        }
    }
    ids
}

#[test]
fn alpine_secdb_samples() {
    let Some(d) = shared_data() else { return };
    let dir = d.join("feeds/alpine-secdb");
    let mut total = 0;
    for f in json_files(&dir) {
        let raw = json(&f);
        let expected = alpine_ids(&raw);
        let c = collect(&f);
        let got: BTreeSet<String> = c.advisories.iter().map(|a| a.id.clone()).collect();
        assert_eq!(got, expected, "{}", f.display());
        let eco = format!("Alpine:{}", raw["distroversion"].as_str().unwrap());
        for a in &c.advisories {
            assert_eq!(a.source, "alpine-secdb");
            assert!(a.affected.iter().all(|x| x.ecosystem == eco));
        }
        total += expected.len();
    }
    assert!(total > 0);
    let m = by_id(&collect(&dir.join("vuln-list-update_311-main.json")));
    let a = &m["ALPINE-CVE-2018-1333"];
    assert_eq!(a.aliases, ["CVE-2018-1333"]);
    assert_eq!(a.affected[0].package, "apache2");
    assert_eq!(a.affected[0].state, Some(DistroState::Fixed));
    assert_eq!(
        a.affected[0].ranges[0].events,
        [
            Event::Introduced("0".into()),
            Event::Fixed("2.4.34-r0".into())
        ]
    );
}

#[test]
fn enrichment_samples() {
    let Some(d) = shared_data() else { return };
    // NVD: one enrichment per `vulnerabilities[]` entry of every file.
    let mut nvd_ids = Vec::new();
    for dir in [
        d.join("feeds/nvd"),
        d.join("feeds/nvd/vuln-list-update-api-fixtures"),
    ] {
        for f in json_files(&dir) {
            let raw = json(&f);
            let n = raw["vulnerabilities"].as_array().unwrap().len();
            let c = collect(&f);
            assert_eq!(c.enrichments.len(), n, "{}", f.display());
            nvd_ids.extend(
                raw["vulnerabilities"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["cve"]["id"].as_str().unwrap().to_string()),
            );
        }
    }
    let c = collect(&d.join("feeds/nvd"));
    assert_eq!(c.enrichments.len(), nvd_ids.len());
    let (_, f, e) = c
        .enrichments
        .iter()
        .find(|(id, _, _)| id == "CVE-2023-4863")
        .unwrap();
    assert_eq!(*f, Format::Nvd);
    assert_eq!(
        e.cvss,
        [sev(
            "CVSS_V3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"
        )]
    );
    assert_eq!(e.kev.as_ref().unwrap().date_added, "2023-09-13");
    assert!(e
        .description
        .as_deref()
        .unwrap()
        .starts_with("Heap buffer overflow"));
    // Primary preferred over Secondary, per version family.
    for f in json_files(&d.join("feeds/nvd")) {
        let raw = json(&f);
        let cve = &raw["vulnerabilities"][0]["cve"];
        let id = cve["id"].as_str().unwrap();
        if let Some(v31) = cve["metrics"]["cvssMetricV31"].as_array() {
            let want = v31
                .iter()
                .find(|m| m["type"] == "Primary")
                .unwrap_or(&v31[0])["cvssData"]["vectorString"]
                .as_str()
                .unwrap();
            let got = c
                .enrichments
                .iter()
                .rev()
                .find(|(i, _, _)| i == id)
                .unwrap();
            assert!(got.2.cvss.contains(&sev("CVSS_V3", want)), "{id}");
        }
    }

    // CVE 5: one per published record.
    let dir = d.join("feeds/cve5");
    let published = json_files(&dir)
        .iter()
        .filter(|f| json(f)["cveMetadata"]["state"] != "REJECTED")
        .count();
    let c = collect(&dir);
    assert_eq!(c.enrichments.len(), published);
    let (_, _, x) = c
        .enrichments
        .iter()
        .find(|(i, _, _)| i == "CVE-2024-3094")
        .unwrap();
    assert_eq!(
        x.cvss,
        [sev(
            "CVSS_V3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
        )]
    );

    // KEV: one per catalog entry.
    let kev = d.join("feeds/kev/known_exploited_vulnerabilities.json");
    let raw = json(&kev);
    let c = collect(&kev);
    assert_eq!(
        c.enrichments.len(),
        raw["vulnerabilities"].as_array().unwrap().len()
    );
    let first = &raw["vulnerabilities"][0];
    let (id, f, e) = &c.enrichments[0];
    assert_eq!(id, first["cveID"].as_str().unwrap());
    assert_eq!(*f, Format::Kev);
    let k = e.kev.as_ref().unwrap();
    assert_eq!(k.date_added, first["dateAdded"].as_str().unwrap());
    assert_eq!(k.due_date.as_deref(), first["dueDate"].as_str());
    assert_eq!(
        k.known_ransomware_campaign_use.as_deref(),
        first["knownRansomwareCampaignUse"].as_str()
    );
}

#[test]
fn vulnfeeds_parts_samples() {
    let Some(d) = shared_data() else { return };
    for sub in ["alpine", "debian", "nvd"] {
        for f in json_files(&d.join("feeds/osvdev-vulnfeeds-parts").join(sub)) {
            let raw = json(&f);
            let with_pkg = raw
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["pkg_name"].is_string())
                .count();
            let c = collect(&f);
            assert_eq!(
                c.advisories.len(),
                usize::from(with_pkg > 0),
                "{}",
                f.display()
            );
            if with_pkg > 0 {
                let id = f.file_name().unwrap().to_string_lossy();
                let id = id.split('.').next().unwrap();
                assert_eq!(c.advisories[0].id, id);
                assert_eq!(c.advisories[0].affected.len(), with_pkg);
            } else {
                assert!(!c.warnings.is_empty(), "packageless parts are reported");
            }
        }
    }
}

/// Everything in a database; counts per source and lookups through the matcher's trait.
#[test]
fn database_of_every_sample() {
    let Some(d) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("advisories.sqlite");
    let inputs = [
        d.join("osv"),
        d.join("feeds/debian-tracker"),
        d.join("feeds/alpine-secdb"),
        d.join("feeds/nvd"),
        d.join("feeds/cve5"),
        d.join("feeds/kev"),
        d.join("feeds/osvdev-vulnfeeds-parts/alpine"),
        d.join("feeds/osvdev-vulnfeeds-parts/debian"),
    ];
    let report = import_files(&db, &inputs, &ImportOptions::default()).unwrap();
    assert_eq!(report.sources.len(), inputs.len());
    let adb = AdvisoryDb::open(&db).unwrap();
    let sources = adb.sources().unwrap();
    let count = |p: &Path| {
        let name = patchline_advisory::source_name_for(p);
        let s = sources.iter().find(|s| s.name == name).unwrap();
        (s.advisories, s.enrichments)
    };
    let osv_total: usize = ["Go", "PyPI", "Ubuntu", "crates.io"]
        .iter()
        .map(|e| osv_ids(&d.join("osv").join(e)).len())
        .sum();
    assert_eq!(count(&inputs[0]), (osv_total as u64, 0));
    assert_eq!(count(&inputs[1]).0, 3);
    let kev_n = json(&d.join("feeds/kev/known_exploited_vulnerabilities.json"))["vulnerabilities"]
        .as_array()
        .unwrap()
        .len() as u64;
    assert_eq!(count(&inputs[5]), (0, kev_n));
    // Overlapping NVD pages: one row per distinct CVE.
    let mut nvd = BTreeSet::new();
    for dir in [
        d.join("feeds/nvd"),
        d.join("feeds/nvd/vuln-list-update-api-fixtures"),
    ] {
        for f in json_files(&dir) {
            for v in json(&f)["vulnerabilities"].as_array().unwrap() {
                nvd.insert(v["cve"]["id"].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(count(&inputs[3]), (0, nvd.len() as u64));

    let info = adb.info().unwrap();
    assert_eq!(info.schema_version, patchline_advisory::SCHEMA_VERSION);
    assert!(info.updated_at.is_some());
    assert!(adb.age().unwrap().unwrap() < std::time::Duration::from_secs(3600));

    // Lookups, as the matcher does them.
    let look = |eco: &str, pkg: &str| -> Vec<String> {
        AdvisoryLookup::advisories(&adb, eco, pkg)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert!(look("Go", "stdlib").contains(&"GO-2022-0969".to_string()));
    assert!(look("Go", "golang.org/x/net").contains(&"GO-2022-0969".to_string()));
    assert_eq!(look("Ubuntu:22.04", "curl"), ["UBUNTU-CVE-2023-38545"]);
    assert_eq!(look("Ubuntu:22.04:LTS", "curl"), ["UBUNTU-CVE-2023-38545"]);
    let tracker: Vec<String> = adb
        .lookup("Debian:12", "apparmor")
        .unwrap()
        .into_iter()
        .filter(|a| a.source == "debian-tracker")
        .map(|a| a.id)
        .collect();
    assert_eq!(
        tracker,
        [
            "DEBIAN-CVE-2014-1424",
            "DEBIAN-CVE-2016-1585",
            "DEBIAN-CVE-2017-6507"
        ]
    );
    // The vulnfeeds parts describe the same package under their own source.
    assert!(look("Debian:12", "apparmor").contains(&"CVE-2016-1585".to_string()));
    assert_eq!(
        look("Alpine:v3.11", "apache2"),
        ["ALPINE-CVE-2018-1333", "ALPINE-CVE-2018-8011"]
    );
    assert!(look("Debian:12", "no-such-package").is_empty());

    // Enrichment merged across NVD, CVE 5 and KEV.
    let e = AdvisoryLookup::enrichment(&adb, "CVE-2024-3094")
        .unwrap()
        .unwrap();
    assert!(e.cvss.iter().any(|s| s.kind == "CVSS_V3"));
    let nvd_desc = json(&d.join("feeds/nvd/CVE-2024-3094.json"))["vulnerabilities"][0]["cve"]
        ["descriptions"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.description.as_deref(),
        Some(nvd_desc.as_str()),
        "NVD's description wins"
    );
    let kev = json(&d.join("feeds/kev/known_exploited_vulnerabilities.json"));
    let in_kev = kev["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cveID"] == "CVE-2023-4863")
        .cloned();
    let e = adb.enrichment_of("CVE-2023-4863").unwrap().unwrap();
    match in_kev {
        Some(k) => {
            let got = e.kev.unwrap();
            assert_eq!(got.date_added, k["dateAdded"].as_str().unwrap());
            assert_eq!(
                got.known_ransomware_campaign_use.as_deref(),
                k["knownRansomwareCampaignUse"].as_str(),
                "the catalog's entry, not NVD's copy"
            );
        }
        None => assert_eq!(e.kev.unwrap().date_added, "2023-09-13"),
    }
    assert!(adb.enrichment_of("CVE-1999-99999").unwrap().is_none());

    // Importing a source again replaces it: same counts, no duplicates.
    let before = adb.counts().unwrap();
    import_files(&db, &inputs[..1], &ImportOptions::default()).unwrap();
    let adb = AdvisoryDb::open(&db).unwrap();
    assert_eq!(adb.counts().unwrap(), before);
    assert_eq!(look_count(&adb, "Go", "stdlib"), look("Go", "stdlib").len());
}

fn look_count(db: &AdvisoryDb, eco: &str, pkg: &str) -> usize {
    db.lookup(eco, pkg).unwrap().len()
}

#[test]
fn advisory_db_is_shareable_across_threads() {
    fn sync<T: Sync + Send>() {}
    sync::<AdvisoryDb>();
}

#[test]
fn nvd_single_records_and_rejected_cve5() {
    let Some(d) = shared_data() else { return };
    let page = json(&d.join("feeds/nvd/CVE-2023-4863.json"));
    let cve = page["vulnerabilities"][0]["cve"].clone();
    let t = tempfile::tempdir().unwrap();
    // The same record as a page, wrapped (`{"cve": …}`) and bare: the same enrichment.
    let wrapped = t.path().join("wrapped.json");
    std::fs::write(
        &wrapped,
        serde_json::to_vec(&serde_json::json!({ "cve": cve })).unwrap(),
    )
    .unwrap();
    let bare = t.path().join("bare.json");
    std::fs::write(&bare, serde_json::to_vec(&cve).unwrap()).unwrap();
    let from_page = collect(&d.join("feeds/nvd/CVE-2023-4863.json")).enrichments;
    assert_eq!(collect(&wrapped).enrichments, from_page);
    assert_eq!(collect(&bare).enrichments, from_page);

    // A rejected CVE 5 record carries no facts: skipped, not an error.
    let mut rec = json(&d.join("feeds/cve5/CVE-2023-23127.json"));
    rec["cveMetadata"]["state"] = "REJECTED".into();
    let rejected = t.path().join("rejected.json");
    std::fs::write(&rejected, serde_json::to_vec(&rec).unwrap()).unwrap();
    let c = collect(&rejected);
    assert!(c.enrichments.is_empty() && c.warnings.is_empty());
}

/// Every real sample is claimed by exactly the feed of its directory, and the files
/// beside them that are no feed (a JSON schema, a CSV of test outcomes) by none: the
/// feeds' detectors never overlap on real data.
#[test]
fn every_real_sample_is_claimed_by_exactly_one_feed() {
    let Some(d) = shared_data() else { return };
    let expected_for = |rel: &str| -> Option<Format> {
        let dir = rel.split('/').take(2).collect::<Vec<_>>().join("/");
        Some(match dir.as_str() {
            _ if rel.ends_with("_schema.json") || rel.ends_with(".csv") => return None,
            _ if rel.starts_with("osv/") => Format::Osv,
            "feeds/debian-tracker" => Format::DebianTracker,
            "feeds/alpine-secdb" => Format::AlpineSecdb,
            "feeds/osvdev-vulnfeeds-parts" => Format::OsvParts,
            "feeds/nvd" => Format::Nvd,
            "feeds/cve5" => Format::Cve5,
            "feeds/kev" => Format::Kev,
            other => panic!("{rel}: no expectation for directory {other}"),
        })
    };
    let mut stack = vec![d.join("feeds"), d.join("osv")];
    let mut seen = BTreeMap::<Option<Format>, usize>::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.ends_with(".json") || name.ends_with(".csv")) {
                continue;
            }
            let rel = p.strip_prefix(&d).unwrap().to_string_lossy().into_owned();
            let got = patchline_advisory::feeds::claimants(&name, &std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{rel}: {e}"));
            let want = expected_for(&rel);
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{rel}");
            *seen.entry(want).or_default() += 1;
        }
    }
    for f in [
        Format::Osv,
        Format::DebianTracker,
        Format::AlpineSecdb,
        Format::OsvParts,
        Format::Nvd,
        Format::Cve5,
        Format::Kev,
    ] {
        assert!(seen.get(&Some(f)).is_some_and(|n| *n > 0), "{f}: no sample");
    }
}
