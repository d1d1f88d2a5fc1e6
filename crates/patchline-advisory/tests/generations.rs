//! In-place writes: generations, the change log of (ecosystem, package) keys and
//! enrichment ids, readers' snapshots, and upgrading a version 1 file.

use std::path::{Path, PathBuf};

use patchline_advisory::{import_files, AdvisoryDb, DbWriter, ImportOptions, SourceMeta};

fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn osv(id: &str, eco: &str, name: &str, fixed: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","aliases":["CVE-{id}"],
  "affected":[{{"package":{{"ecosystem":"{eco}","name":"{name}"}},
    "ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
    )
}

fn import(db: &Path, files: &[PathBuf]) -> patchline_advisory::Result<()> {
    let opts = ImportOptions {
        source: Some("feed".into()),
        ..ImportOptions::default()
    };
    import_files(db, files, &opts).map(|_| ())
}

fn keys(v: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

#[test]
fn each_write_is_a_generation_with_the_keys_it_changed() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    let d1 = t.path().join("v1");
    std::fs::create_dir(&d1).unwrap();
    write(&d1, "a.json", osv("2024-1", "PyPI", "Jinja2", "3.1.3"));
    write(
        &d1,
        "b.json",
        osv("2024-2", "Debian:12", "curl", "7.88.1-10+deb12u5"),
    );
    import(&db, std::slice::from_ref(&d1)).unwrap();
    let a = AdvisoryDb::open(&db).unwrap();
    assert_eq!(a.generation().unwrap(), 1);
    // A new file: what changed before it is unknown.
    assert_eq!(a.changed_since(0).unwrap(), None);
    assert_eq!(a.changed_since(1).unwrap(), Some(vec![]));
    assert_eq!(a.changed_since(7).unwrap(), None);

    // The same content again: a new generation that changed nothing.
    import(&db, std::slice::from_ref(&d1)).unwrap();
    // The open handle keeps its snapshot until it refreshes.
    assert_eq!(a.generation().unwrap(), 1);
    a.refresh().unwrap();
    assert_eq!(a.generation().unwrap(), 2);
    assert_eq!(a.changed_since(1).unwrap(), Some(vec![]));

    // curl's fix moves, openssl is new, Jinja2's advisory is gone.
    let d2 = t.path().join("v2");
    std::fs::create_dir(&d2).unwrap();
    write(
        &d2,
        "b.json",
        osv("2024-2", "Debian:12", "curl", "7.88.1-10+deb12u6"),
    );
    write(
        &d2,
        "c.json",
        osv("2024-3", "Debian:12", "openssl", "3.0.11-1~deb12u1"),
    );
    write(
        &d2,
        "d.json",
        osv("2024-4", "Debian:11", "zlib", "1:1.2.11.dfsg-2+deb11u2"),
    );
    import(&db, std::slice::from_ref(&d2)).unwrap();
    let b = AdvisoryDb::open(&db).unwrap();
    assert_eq!(b.generation().unwrap(), 3);
    let all = keys(&[
        ("Debian:11", "zlib"),
        ("Debian:12", "curl"),
        ("Debian:12", "openssl"),
        ("PyPI", "jinja2"),
    ]);
    assert_eq!(b.changed_since(2).unwrap(), all);
    assert_eq!(b.changed_since(1).unwrap(), all);
    assert_eq!(b.changed_since(3).unwrap(), Some(vec![]));
    assert_eq!(b.lookup("Debian:12", "openssl").unwrap().len(), 1);

    // A failed import is no generation and leaves everything readable.
    let bad = write(t.path(), "bad.json", "{\"id\": ");
    assert!(import(&db, &[d2.clone(), bad]).is_err());
    let c = AdvisoryDb::open(&db).unwrap();
    assert_eq!(c.generation().unwrap(), 3);
    assert_eq!(c.lookup("Debian:12", "curl").unwrap().len(), 1);

    // --fresh rebuilds: a newer generation, and the changes before it are unknown.
    let opts = ImportOptions {
        source: Some("feed".into()),
        fresh: true,
        ..ImportOptions::default()
    };
    import_files(&db, &[d2], &opts).unwrap();
    let d = AdvisoryDb::open(&db).unwrap();
    assert_eq!(d.generation().unwrap(), 4);
    assert_eq!(d.changed_since(3).unwrap(), None);
    assert_eq!(d.changed_since(4).unwrap(), Some(vec![]));
}

#[test]
fn readers_are_not_blocked_by_a_writer_and_see_its_work_only_after_the_commit() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    import(
        &db,
        &[write(
            t.path(),
            "a.json",
            osv("2024-1", "PyPI", "Jinja2", "3.1.3"),
        )],
    )
    .unwrap();
    let mut w = DbWriter::begin(&db, false).unwrap();
    assert_eq!(w.generation(), 2);
    let meta = SourceMeta {
        name: "feed".into(),
        ..SourceMeta::default()
    };
    let extra = write(t.path(), "b.json", osv("2024-2", "PyPI", "Jinja2", "3.1.4"));
    w.import_source(meta, |sink| {
        patchline_advisory::import_path(&extra, &Default::default(), sink)
    })
    .unwrap();
    // Mid-write: a new reader opens and reads the committed version.
    let r = AdvisoryDb::open(&db).unwrap();
    assert_eq!(r.lookup("PyPI", "jinja2").unwrap().len(), 1);
    assert_eq!(r.generation().unwrap(), 1);
    w.commit().unwrap();
    assert_eq!(r.lookup("PyPI", "jinja2").unwrap().len(), 1);
    r.refresh().unwrap();
    // The source was replaced by the second file alone.
    let got = r.lookup("PyPI", "jinja2").unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, "2024-2");
    assert_eq!(r.changed_since(1).unwrap(), keys(&[("PyPI", "jinja2")]));
}

#[test]
fn enrichment_changes_are_logged_by_id() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    let csv =
        |s: f64| format!("cve,epss,percentile\nCVE-2024-0001,{s},0.5\nCVE-2024-0002,0.1,0.2\n");
    import(&db, &[write(t.path(), "e1.csv", csv(0.5))]).unwrap();
    import(&db, &[write(t.path(), "e2.csv", csv(0.7))]).unwrap();
    let a = AdvisoryDb::open(&db).unwrap();
    assert_eq!(
        a.enrichment_changed_since(1).unwrap(),
        Some(vec!["CVE-2024-0001".to_string()])
    );
    assert_eq!(a.changed_since(1).unwrap(), Some(vec![]));
}

#[test]
fn a_version_1_database_is_read_and_upgraded_in_place() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("db.sqlite");
    import(
        &db,
        &[write(
            t.path(),
            "a.json",
            osv("2024-1", "PyPI", "Jinja2", "3.1.3"),
        )],
    )
    .unwrap();
    // What an older patchline wrote: no change log, rollback-journal mode.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = DELETE; DROP TABLE changes; DROP TABLE enrichment_changes;
             DELETE FROM meta WHERE key IN ('generation', 'changes_from');
             UPDATE meta SET value = '1' WHERE key = 'schema_version'; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let old = AdvisoryDb::open(&db).unwrap();
    assert_eq!(old.generation().unwrap(), 0);
    assert_eq!(old.changed_since(0).unwrap(), None);
    assert_eq!(old.lookup("PyPI", "jinja2").unwrap().len(), 1);
    drop(old);
    import(
        &db,
        &[write(
            t.path(),
            "b.json",
            osv("2024-2", "PyPI", "Jinja2", "3.1.4"),
        )],
    )
    .unwrap();
    let new = AdvisoryDb::open(&db).unwrap();
    assert_eq!(new.generation().unwrap(), 1);
    assert_eq!(new.changed_since(0).unwrap(), None);
    assert_eq!(new.changed_since(1).unwrap(), Some(vec![]));
    assert_eq!(new.lookup("PyPI", "jinja2").unwrap()[0].id, "2024-2");
}
