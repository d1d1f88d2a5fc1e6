//! Bad input: clear errors naming the file (member) and field, bounded resources, and
//! the previous database intact after every failure. Also the EPSS CSV, for which
//! ../shared/data holds no real file: the tests write small files in the published
//! layout (`#model_version…` comment, `cve,epss,percentile` header).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use patchline_advisory::{
    import_bytes, import_files, import_path, AdvisoryDb, Collected, Error, Format, ImportOptions,
    Limits, Origin,
};

fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn import_err(path: &Path) -> String {
    let mut c = Collected::default();
    match import_path(path, &Limits::default(), &mut c) {
        Ok(s) => panic!("{}: imported {s:?}", path.display()),
        Err(e) => e.to_string(),
    }
}

const GOOD_OSV: &str = r#"{"id":"TEST-2024-1","modified":"2024-01-01T00:00:00Z",
  "aliases":["CVE-2024-0001"],
  "affected":[{"package":{"ecosystem":"PyPI","name":"Jinja2"},
    "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.1.3"}]}]}]}"#;

#[test]
fn malformed_and_mistyped_json_name_file_and_field() {
    let t = tempfile::tempdir().unwrap();
    let e = import_err(&write(
        t.path(),
        "broken.json",
        "{\"id\": \"X-1\", \"affected\": [}",
    ));
    assert!(
        e.contains("broken.json") && e.contains("malformed JSON") && e.contains("line 1"),
        "{e}"
    );

    let e = import_err(&write(t.path(), "id.json", r#"{"id": 5, "modified": "x"}"#));
    assert!(
        e.contains("id.json") && e.contains("field `id`") && e.contains("invalid type"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "aliases.json",
        r#"{"id": "X-1", "modified": "x", "aliases": "CVE-1"}"#,
    ));
    assert!(e.contains("field `aliases`"), "{e}");

    let e = import_err(&write(
        t.path(),
        "name.json",
        r#"{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":""}}]}"#,
    ));
    assert!(
        e.contains("affected[0].package.name") && e.contains("empty"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "eco.json",
        r#"{"id":"X-1","affected":[{"package":{"name":"x"}}]}"#,
    ));
    assert!(
        e.contains("affected[0].package") && e.contains("ecosystem"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "events.json",
        r#"{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"x"},
           "ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}"#,
    ));
    assert!(
        e.contains("affected[0].ranges[0].events[0]") && e.contains("exactly one"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "rangetype.json",
        r#"{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"x"},
           "ranges":[{"type":"DATE","events":[]}]}]}"#,
    ));
    assert!(
        e.contains("affected[0].ranges[0].type") && e.contains("DATE"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "tracker.json",
        r#"{"curl":{"CVE-2023-38545":{"releases":{"bookworm":{"status":7}}}}}"#,
    ));
    assert!(
        e.contains("tracker.json") && e.contains("curl.CVE-2023-38545.releases.bookworm.status"),
        "{e}"
    );

    let e = import_err(&write(
        t.path(),
        "tracker2.json",
        r#"{"curl":{"CVE-2023-38545":{"releases":{"bookworm":{"status":"maybe"}}}}}"#,
    ));
    assert!(e.contains("unknown status \"maybe\""), "{e}");

    let e = import_err(&write(
        t.path(),
        "secdb.json",
        r#"{"distroversion":"v3.18","packages":[{"pkg":{"name":"x","secfixes":{"1-r0":[5]}}}]}"#,
    ));
    assert!(e.contains("packages[0].pkg.secfixes"), "{e}");

    let e = import_err(&write(
        t.path(),
        "kev.json",
        r#"{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-1"}]}"#,
    ));
    assert!(
        e.contains("vulnerabilities[0]") && e.contains("dateAdded"),
        "{e}"
    );

    let e = import_err(&write(t.path(), "unknown.json", r#"{"hello": "world"}"#));
    assert!(
        e.contains("unknown.json") && e.contains("unrecognised feed format"),
        "{e}"
    );
    let e = import_err(&write(t.path(), "notes.txt", "just some text\n"));
    assert!(e.contains("notes.txt") && e.contains("unrecognised"), "{e}");
    let e = import_err(&write(t.path(), "empty.json", ""));
    assert!(e.contains("empty file"), "{e}");
}

#[test]
fn unknown_ecosystems_are_stored_and_found() {
    let t = tempfile::tempdir().unwrap();
    let f = write(
        t.path(),
        "new.json",
        r#"{"id":"NEW-1","modified":"x","affected":[{"package":{"ecosystem":"Frobnix:2","name":"widget"},
            "versions":["1.0"]}]}"#,
    );
    let db = t.path().join("db.sqlite");
    let report = import_files(&db, &[f], &ImportOptions::default()).unwrap();
    let adb = AdvisoryDb::open(&db).unwrap();
    let found = adb.lookup("Frobnix:2", "widget").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].affected[0].versions, ["1.0"]);
    // Said once: nothing patchline inventories is matched in that ecosystem.
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("1 advisories for \"Frobnix\"")
            && report.warnings[0].contains("match nothing"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn ecosystems_nothing_is_matched_in_are_said_once_per_ecosystem() {
    let t = tempfile::tempdir().unwrap();
    let hex = |id: &str| {
        format!(
            r#"{{"id":"{id}","modified":"x","affected":[{{"package":{{"ecosystem":"Hex","name":"plug"}},"versions":["1.0"]}}]}}"#
        )
    };
    let dir = t.path().join("feed");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "A.json", hex("HEX-1"));
    write(&dir, "B.json", hex("HEX-2"));
    write(&dir, "C.json", GOOD_OSV);
    write(
        &dir,
        "D.json",
        r#"{"id":"DEB-1","modified":"x","affected":[{"package":{"ecosystem":"Debian:sid","name":"curl"},"versions":["1.0"]}]}"#,
    );
    let db = t.path().join("db.sqlite");
    let report = import_files(&db, &[dir], &ImportOptions::default()).unwrap();
    // PyPI is inventoried, Debian is a known distro (sid included): only Hex is said.
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("2 advisories for \"Hex\""),
        "{:?}",
        report.warnings
    );
}

#[test]
fn pypi_names_are_looked_up_normalised() {
    let t = tempfile::tempdir().unwrap();
    let f = write(t.path(), "jinja.json", GOOD_OSV);
    let db = t.path().join("db.sqlite");
    import_files(&db, &[f], &ImportOptions::default()).unwrap();
    let adb = AdvisoryDb::open(&db).unwrap();
    for name in ["Jinja2", "jinja2", "JINJA2"] {
        assert_eq!(adb.lookup("PyPI", name).unwrap().len(), 1, "{name}");
    }
    // Stored as published.
    assert_eq!(
        adb.lookup("PyPI", "jinja2").unwrap()[0].affected[0].package,
        "Jinja2"
    );
}

#[test]
fn duplicate_ids_in_one_source_merge_and_withdrawn_is_kept() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("feed");
    std::fs::create_dir(&dir).unwrap();
    write(
        &dir,
        "a.json",
        r#"{"id":"DUP-1","modified":"2024-01-01","affected":[{"package":{"ecosystem":"npm","name":"a"}}]}"#,
    );
    write(
        &dir,
        "b.json",
        r#"{"id":"DUP-1","modified":"2024-02-01","aliases":["CVE-2024-9"],"affected":[{"package":{"ecosystem":"npm","name":"b"}}]}"#,
    );
    write(
        &dir,
        "w.json",
        r#"{"id":"GONE-1","modified":"2024-01-01","withdrawn":"2024-03-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"a"}}]}"#,
    );
    let db = t.path().join("db.sqlite");
    import_files(&db, &[dir], &ImportOptions::default()).unwrap();
    let adb = AdvisoryDb::open(&db).unwrap();
    assert_eq!(adb.counts().unwrap().0, 2);
    let a = adb.lookup("npm", "b").unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].affected.len(), 2, "both files' affected entries");
    assert_eq!(a[0].aliases, ["CVE-2024-9"]);
    assert_eq!(a[0].modified.as_deref(), Some("2024-02-01"));
    let by_a: Vec<_> = adb.lookup("npm", "a").unwrap();
    let gone = by_a.iter().find(|x| x.id == "GONE-1").unwrap();
    assert_eq!(gone.withdrawn.as_deref(), Some("2024-03-01T00:00:00Z"));
}

#[test]
fn huge_documents_are_refused_without_reading_them() {
    let t = tempfile::tempdir().unwrap();
    // A sparse file just over the 512 MiB bound: refused from its size alone.
    let p = t.path().join("huge.json");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len((512 << 20) + 1).unwrap();
    drop(f);
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"{").unwrap();
    }
    let e = import_err(&p);
    assert!(e.contains("huge.json") && e.contains("limit"), "{e}");

    // The same bound on a gzip's content, with a small limit to keep the test light.
    let limits = Limits {
        max_document: 1000,
        ..Limits::default()
    };
    let gz = gzip(&vec![b' '; 5000]);
    let mut c = Collected::default();
    let e = import_bytes(&Origin::named("big.gz"), &gz, &limits, &mut c).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
}

#[test]
fn zip_bombs_and_broken_zips_are_refused() {
    let t = tempfile::tempdir().unwrap();
    // 8 MiB of blanks deflate to a few KiB: far past any feed's ratio.
    let blanks = vec![b' '; 8 << 20];
    let bomb = write(t.path(), "bomb.zip", zip_members(&[("a.json", &blanks)]));
    let e = import_err(&bomb);
    assert!(
        e.contains("bomb.zip") && e.contains("zip member a.json"),
        "{e}"
    );

    // A member over the size bound.
    let limits = Limits {
        max_member: 100,
        ..Limits::default()
    };
    let z = write(
        t.path(),
        "members.zip",
        zip_members(&[("x.json", GOOD_OSV.as_bytes())]),
    );
    let mut c = Collected::default();
    let e = import_path(&z, &limits, &mut c).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { .. }) && e.to_string().contains("x.json"),
        "{e}"
    );

    // Truncated: the central directory is gone.
    let good = zip_members(&[
        ("a.json", GOOD_OSV.as_bytes()),
        ("b.json", GOOD_OSV.as_bytes()),
    ]);
    let cut = write(t.path(), "cut.zip", &good[..good.len() / 2]);
    let e = import_err(&cut);
    assert!(e.contains("cut.zip") && e.contains("zip"), "{e}");

    // Corrupted member data: named by member.
    let mut bad = zip_members(&[("first.json", GOOD_OSV.as_bytes())]);
    let pos = 30 + "first.json".len() + 10; // inside the deflated data of the first member
    bad[pos] ^= 0xff;
    bad[pos + 1] ^= 0xff;
    let badp = write(t.path(), "corrupt.zip", &bad);
    let e = import_err(&badp);
    assert!(e.contains("corrupt.zip") && e.contains("first.json"), "{e}");

    // A zip member that is not OSV in an otherwise-OSV archive is still recognised.
    let kev = br#"{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2024-1","dateAdded":"2024-01-01"}]}"#;
    let mixed = write(
        t.path(),
        "mixed.zip",
        zip_members(&[
            ("a.json", GOOD_OSV.as_bytes()),
            ("kev.json", kev),
            ("README", b"hi"),
        ]),
    );
    let mut c = Collected::default();
    let s = import_path(&mixed, &Limits::default(), &mut c).unwrap();
    assert_eq!(
        (c.advisories.len(), c.enrichments.len(), s.skipped),
        (1, 1, 1)
    );
}

/// Good data, then each kind of bad input: the import fails, and the database is exactly
/// what it was (same records, same update time, readable), with no temporary file left.
#[test]
fn failed_imports_leave_the_previous_database_intact() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    let good = write(t.path(), "good.json", GOOD_OSV);
    let opts = ImportOptions {
        source: Some("feed".into()),
        ..ImportOptions::default()
    };
    import_files(&db, &[good], &opts).unwrap();
    let snapshot = |db: &Path| {
        let a = AdvisoryDb::open(db).unwrap();
        (
            a.counts().unwrap(),
            a.updated_at().unwrap(),
            a.lookup("PyPI", "jinja2").unwrap(),
        )
    };
    let before = snapshot(&db);
    assert_eq!(before.0, (1, 0));
    let bytes_before = std::fs::read(&db).unwrap();

    let blanks = vec![b' '; 8 << 20];
    let good_zip = zip_members(&[("a.json", GOOD_OSV.as_bytes())]);
    let bad_inputs: Vec<(&str, Vec<u8>)> = vec![
        ("malformed.json", b"{\"id\": ".to_vec()),
        ("types.json", br#"{"id": ["x"], "modified": "y"}"#.to_vec()),
        ("truncated.zip", good_zip[..good_zip.len() - 30].to_vec()),
        ("bomb.zip", zip_members(&[("a.json", &blanks)])),
        ("unknown.json", br#"{"what": 1}"#.to_vec()),
    ];
    for (name, body) in bad_inputs {
        // The bad file comes after a good one in the same import: nothing of it stays.
        let dir = t.path().join(format!("in-{name}"));
        std::fs::create_dir(&dir).unwrap();
        let g = write(
            &dir,
            "0-good.json",
            GOOD_OSV.replace("TEST-2024-1", "TEST-2024-2"),
        );
        let b = write(&dir, name, &body);
        let err = import_files(&db, &[g, b], &opts).unwrap_err().to_string();
        assert!(err.contains(name), "{name}: {err}");
        assert_eq!(snapshot(&db), before, "{name}: database changed");
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes_before,
            "{name}: file changed"
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".db.sqlite.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn readers_keep_their_version_while_a_writer_swaps_the_file() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    let a = write(t.path(), "a.json", GOOD_OSV);
    import_files(&db, &[a], &ImportOptions::default()).unwrap();
    let old = AdvisoryDb::open(&db).unwrap();
    assert_eq!(old.lookup("PyPI", "jinja2").unwrap().len(), 1);
    let b = write(
        t.path(),
        "b.json",
        GOOD_OSV.replace("TEST-2024-1", "TEST-2024-2"),
    );
    import_files(&db, &[b], &ImportOptions::default()).unwrap();
    // The open handle still reads the file it opened; a new one sees both.
    assert_eq!(old.lookup("PyPI", "jinja2").unwrap().len(), 1);
    assert_eq!(
        AdvisoryDb::open(&db)
            .unwrap()
            .lookup("PyPI", "jinja2")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn foreign_or_newer_databases_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let other = t.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE x (y)")
        .unwrap();
    let e = AdvisoryDb::open(&other).unwrap_err().to_string();
    assert!(e.contains("not a patchline advisory database"), "{e}");

    let db = t.path().join("db.sqlite");
    import_files(
        &db,
        &[write(t.path(), "a.json", GOOD_OSV)],
        &ImportOptions::default(),
    )
    .unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let e = AdvisoryDb::open(&db).unwrap_err().to_string();
    assert!(e.contains("schema version 99"), "{e}");
    // Adding to it is refused too; --fresh rebuilds.
    let b = write(t.path(), "b.json", GOOD_OSV);
    assert!(import_files(&db, std::slice::from_ref(&b), &ImportOptions::default()).is_err());
    let fresh = ImportOptions {
        fresh: true,
        ..ImportOptions::default()
    };
    import_files(&db, &[b], &fresh).unwrap();
    assert_eq!(AdvisoryDb::open(&db).unwrap().counts().unwrap().0, 1);

    let e = AdvisoryDb::open(&t.path().join("missing.sqlite"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("patchline db update"), "{e}");
}

#[test]
fn epss_csv_plain_and_gzip() {
    let t = tempfile::tempdir().unwrap();
    let csv = epss_csv(&[
        ("CVE-2023-4863", 0.93876, 0.99876),
        ("CVE-2024-3094", 0.84512, 0.98011),
        ("CVE-1999-0001", 0.01167, 0.83602),
    ]);
    let plain = write(t.path(), "epss_scores-2024-05-02.csv", &csv);
    let gz = write(
        t.path(),
        "epss_scores-2024-05-02.csv.gz",
        gzip(csv.as_bytes()),
    );
    // By content, not by name: the same data under a misleading name.
    let renamed = write(t.path(), "scores.json", gzip(csv.as_bytes()));
    for p in [&plain, &gz, &renamed] {
        let mut c = Collected::default();
        let s = import_path(p, &Limits::default(), &mut c).unwrap();
        assert_eq!(s.records.get(&Format::Epss), Some(&3), "{}", p.display());
        let (id, f, e) = &c.enrichments[0];
        assert_eq!((id.as_str(), *f), ("CVE-2023-4863", Format::Epss));
        let ep = e.epss.as_ref().unwrap();
        assert_eq!((ep.score, ep.percentile), (0.93876, 0.99876));
        assert_eq!(ep.date.as_deref(), Some("2024-05-02"));
    }
    // Without the comment line, and with CRLF line ends.
    let mut c = Collected::default();
    import_bytes(
        &Origin::named("x.csv"),
        b"cve,epss,percentile\r\nCVE-2024-1,0.5,0.5\r\n",
        &Limits::default(),
        &mut c,
    )
    .unwrap();
    assert_eq!(c.enrichments[0].2.epss.as_ref().unwrap().date, None);

    // Merged with NVD's facts in the database.
    let nvd = write(
        t.path(),
        "nvd.json",
        r#"{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0",
            "vulnerabilities":[{"cve":{"id":"CVE-2024-3094","sourceIdentifier":"x",
            "descriptions":[{"lang":"en","value":"xz backdoor"}],
            "metrics":{"cvssMetricV31":[{"source":"s","type":"Secondary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}}]}}}]}"#,
    );
    let db = t.path().join("db.sqlite");
    import_files(&db, &[gz, nvd], &ImportOptions::default()).unwrap();
    let e = AdvisoryDb::open(&db)
        .unwrap()
        .enrichment_of("CVE-2024-3094")
        .unwrap()
        .unwrap();
    assert_eq!(e.epss.unwrap().score, 0.84512);
    assert_eq!(e.description.as_deref(), Some("xz backdoor"));
    assert_eq!(e.cvss.len(), 1);

    for (body, what) in [
        ("cve,epss,percentile\nCVE-1,abc,0.5\n", "line 2: epss \"abc\" is not a number"),
        ("cve,epss,percentile\nCVE-1,0.5,1.5\n", "line 2: percentile 1.5 is outside"),
        ("#model_version:v1,score_date:2024-01-01T00:00:00+0000\ncve,epss,percentile\nCVE-1,0.5\n", "line 3: malformed CSV: 2 fields where the header has 3"),
        ("cve,epss\nCVE-1,0.5\n", "lacks the columns"),
    ] {
        let mut c = Collected::default();
        let e = import_bytes(&Origin::named("bad.csv"), body.as_bytes(), &Limits::default(), &mut c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.csv") && e.contains(what), "{body:?}: {e}");
        // One line number, the file's own (the csv crate counts without the comment).
        assert_eq!(e.matches("line").count(), 1, "{e}");
    }
}

#[test]
fn directories_skip_non_feeds_but_not_broken_feeds() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("feed");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write(&dir, "README.md", "# hello");
    write(&dir, "schema.json", r#"{"$schema": "x", "type": "object"}"#);
    write(&dir.join("sub"), "a.json", GOOD_OSV);
    let mut c = Collected::default();
    let s = import_path(&dir, &Limits::default(), &mut c).unwrap();
    assert_eq!((c.advisories.len(), s.skipped), (1, 2));
    assert_eq!(
        c.warnings.len(),
        1,
        "the unrecognised JSON is reported: {:?}",
        c.warnings
    );
    write(&dir.join("sub"), "b.json", "{ nope");
    let e = import_err(&dir);
    assert!(e.contains("b.json") && e.contains("malformed"), "{e}");
}

/// OSV records written as YAML are OSV too (the PyPI advisory database's originals, in
/// ../shared/data beside osv.dev's JSON of the same records); a directory in which
/// nothing is recognised is an error that says what was skipped, never a silent empty
/// import.
#[test]
fn yaml_osv_records_and_directories_of_nothing() {
    let Some(dir) = patchline_test_support::shared_data_path("osv/PyPI") else {
        return;
    };
    let yaml_dir = dir.join("yaml-original");
    let yaml_count = std::fs::read_dir(&yaml_dir).unwrap().count();
    let mut c = Collected::default();
    let s = import_path(&yaml_dir, &Limits::default(), &mut c).unwrap();
    assert_eq!(s.documents, yaml_count);
    assert_eq!(s.advisories(), yaml_count);
    // Each YAML original is the record osv.dev serves as JSON: same id, package, ranges.
    for a in &c.advisories {
        let json = dir.join(format!("{}.json", a.id));
        let mut j = Collected::default();
        import_path(&json, &Limits::default(), &mut j).unwrap();
        let j = &j.advisories[0];
        assert_eq!(a.affected.len(), j.affected.len(), "{}", a.id);
        for (y, j) in a.affected.iter().zip(&j.affected) {
            assert_eq!(
                (&y.ecosystem, &y.package),
                (&j.ecosystem, &j.package),
                "{}",
                a.id
            );
            let events = |x: &patchline_model::vuln::Affected| -> Vec<String> {
                x.ranges
                    .iter()
                    .filter(|r| r.kind == patchline_model::vuln::RangeKind::Ecosystem)
                    .flat_map(|r| r.events.iter().map(|e| format!("{e:?}")))
                    .collect()
            };
            assert_eq!(events(y), events(j), "{}", a.id);
        }
    }

    // Nothing recognised: an error counting what was skipped.
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("nothing");
    std::fs::create_dir_all(&empty).unwrap();
    write(&empty, "README.md", "# hello");
    write(&empty, "notes.txt", "x");
    let db = t.path().join("db.sqlite");
    let e = import_files(&db, std::slice::from_ref(&empty), &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nothing") && e.contains("no feed document found: 2 files skipped"),
        "{e}"
    );
}
