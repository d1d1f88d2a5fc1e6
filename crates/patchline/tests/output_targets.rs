//! `-o FILE` on every kind of target (crates/patchline/src/output.rs), and commands whose
//! stdout or stderr cannot be written (crates/patchline/src/term.rs): the exit code says
//! whether the work was done, never whether a message could be shown.
//!
//! Everything here is made in a temporary directory: a tiny Alpine rootfs for
//! `patchline sbom dir:ROOTFS -o FILE`, a one-advisory OSV file for `db import`. Only the
//! character device needs root (for `mknod`); it skips elsewhere (fails under CI).

mod common;

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use patchline_test_support as ts;

const BIN: &str = env!("CARGO_BIN_EXE_patchline");

/// A rootfs with one apk package: `sbom dir:` on it needs nothing else.
fn rootfs(t: &Path) -> String {
    let r = t.join("rootfs");
    fs::create_dir_all(r.join("lib/apk/db")).unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(
        r.join("lib/apk/db/installed"),
        "P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\n",
    )
    .unwrap();
    fs::write(r.join("etc/os-release"), "ID=alpine\nVERSION_ID=3.18.4\n").unwrap();
    format!("dir:{}", r.display())
}

/// `patchline sbom IMAGE -f json -o OUT`, asserting success.
fn sbom_to(image: &str, out: &Path) {
    let o = patchline(&["sbom", image, "-f", "json", "-o", out.to_str().unwrap()]);
    assert_ok(&o, "sbom -o");
}

fn assert_ok(o: &Output, what: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{what}: {:?}: {err}", o.status);
    assert!(!err.contains("panicked"), "{what}: {err}");
}

fn is_sbom(bytes: &[u8]) -> bool {
    let v: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => return false,
    };
    v["packages"][0]["name"] == "musl"
}

/// Runs `script` under `sh -c` with `$0` the patchline binary and `$@` = `args`.
fn sh(script: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run sh")
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn char_device_stays_a_char_device() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let dev = t.path().join("null");
    if !is_root() {
        ts::skip!("making a character device needs root (mknod); run the tests as root");
    }
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        Ok(o) => ts::skip!(
            "mknod {} c 1 3 failed: {}; the tests need a machine where root may make devices",
            dev.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => ts::skip!("cannot run mknod: {e}; apt-get install -y coreutils"),
    }
    sbom_to(&image, &dev);
    let m = fs::symlink_metadata(&dev).unwrap();
    assert!(m.file_type().is_char_device(), "{:?}", m.file_type());
    assert_eq!(m.rdev(), fs::metadata("/dev/null").unwrap().rdev());
    // Still the null device: reads give nothing.
    assert!(fs::read(&dev).unwrap().is_empty());
}

#[test]
fn fifo_gets_the_bytes_and_stays_a_fifo() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let fifo = t.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // The reader reports through a channel: if the FIFO were replaced by a file, its open
    // would wait forever, and the test fails after a timeout instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let r = fs::File::open(&fifo).and_then(|mut f| f.read_to_end(&mut buf));
            let _ = tx.send(r.map(|_| buf));
        });
    }
    let o = patchline(&["sbom", &image, "-f", "json", "-o", fifo.to_str().unwrap()]);
    if !o.status.success() {
        // Unblock the reader before failing.
        let _ = fs::OpenOptions::new().write(true).open(&fifo);
    }
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the FIFO's reader got nothing: was the FIFO replaced?")
        .unwrap();
    assert_ok(&o, "sbom -o FIFO");
    assert!(is_sbom(&got), "{}", String::from_utf8_lossy(&got));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn symlink_stays_and_its_target_gets_the_content() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    fs::create_dir(t.path().join("reports")).unwrap();
    let target = t.path().join("reports/sbom.json");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let link = t.path().join("latest");
    std::os::unix::fs::symlink("reports/sbom.json", &link).unwrap();

    sbom_to(&image, &link);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).unwrap(),
        PathBuf::from("reports/sbom.json")
    );
    assert!(is_sbom(&fs::read(&target).unwrap()));
    assert_eq!(mode(&target), 0o640);

    // A link to a link, and a dangling link: its target is created, the link kept.
    let link2 = t.path().join("latest2");
    std::os::unix::fs::symlink(&link, &link2).unwrap();
    fs::write(&target, "old").unwrap();
    sbom_to(&image, &link2);
    assert!(is_sbom(&fs::read(&target).unwrap()));
    let dangling = t.path().join("next");
    std::os::unix::fs::symlink("reports/next.json", &dangling).unwrap();
    sbom_to(&image, &dangling);
    assert!(fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(is_sbom(
        &fs::read(t.path().join("reports/next.json")).unwrap()
    ));
}

#[test]
fn hard_linked_file_is_written_in_place() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let a = t.path().join("a.json");
    let b = t.path().join("b.json");
    // Longer than the SBOM: the write must cut the old tail.
    fs::write(&a, "x".repeat(100_000)).unwrap();
    fs::set_permissions(&a, fs::Permissions::from_mode(0o604)).unwrap();
    fs::hard_link(&a, &b).unwrap();
    let ino = fs::metadata(&a).unwrap().ino();

    sbom_to(&image, &a);
    for p in [&a, &b] {
        let m = fs::metadata(p).unwrap();
        assert_eq!(m.ino(), ino, "{}", p.display());
        assert_eq!(m.nlink(), 2);
        assert_eq!(mode(p), 0o604);
        assert!(is_sbom(&fs::read(p).unwrap()), "{}", p.display());
    }
}

#[test]
fn existing_file_keeps_its_mode() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let f = t.path().join("sbom.json");
    fs::write(&f, "old").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    let ino = fs::metadata(&f).unwrap().ino();
    sbom_to(&image, &f);
    assert_eq!(mode(&f), 0o640);
    assert!(is_sbom(&fs::read(&f).unwrap()));
    // Replaced whole through a rename, not rewritten in place.
    assert_ne!(fs::metadata(&f).unwrap().ino(), ino);
    // No temporary file left behind.
    let names: Vec<_> = fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn new_file_gets_the_mode_the_umask_gives() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    for (umask, want) in [("022", 0o644), ("002", 0o664), ("077", 0o600)] {
        let f = t.path().join(format!("new-{umask}.json"));
        let o = sh(
            &format!("umask {umask}; exec \"$0\" \"$@\""),
            &["sbom", &image, "-f", "json", "-o", f.to_str().unwrap()],
        );
        assert_ok(&o, "sbom -o NEW");
        assert_eq!(mode(&f), want, "umask {umask}");
        assert!(is_sbom(&fs::read(&f).unwrap()));
    }
}

#[test]
fn directory_target_is_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let d = t.path().join("out.d");
    fs::create_dir(&d).unwrap();
    let o = patchline(&["sbom", &image, "-o", d.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(d.to_str().unwrap()), "{err}");
    assert!(err.contains("directory"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(fs::metadata(&d).unwrap().is_dir());
    assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
}

#[test]
fn missing_directory_is_named() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let f = t.path().join("no/such/dir/sbom.json");
    let o = patchline(&["sbom", &image, "-o", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(f.to_str().unwrap()), "{err}");
}

#[test]
fn stdout_link_writes_to_the_open_stdout() {
    // A link of our own to /proc/self/fd/1, as /dev/stdout is: a binary that replaced the
    // link would only replace this one, never the machine's /dev/stdout.
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let link = t.path().join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).unwrap();
    let link_s = link.to_str().unwrap();
    // A pipe (captured by the test) ...
    let o = patchline(&["sbom", &image, "-f", "json", "-o", link_s]);
    assert_ok(&o, "sbom -o STDOUT-LINK");
    assert!(is_sbom(&o.stdout), "{o:?}");
    // ... and a file opened for appending: what was there stays.
    let f = t.path().join("log");
    let o = Command::new("sh")
        .arg("-c")
        .arg("echo first >>\"$2\"; \"$0\" sbom \"$1\" -f json -o \"$3\" >>\"$2\"")
        .args([BIN, &image, f.to_str().unwrap(), link_s])
        .output()
        .unwrap();
    assert_ok(&o, "sbom -o STDOUT-LINK >>FILE");
    let text = fs::read_to_string(&f).unwrap();
    let rest = text.strip_prefix("first\n").expect(&text);
    assert!(is_sbom(rest.as_bytes()), "{text}");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// One OSV advisory, written by hand.
/// `t/adv.sqlite`, holding the record of [`osv_file`].
fn imported_db(t: &Path) -> PathBuf {
    let feed = osv_file(t);
    let db = t.join("adv.sqlite");
    assert_ok(
        &patchline(&[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            feed.to_str().unwrap(),
        ]),
        "db import",
    );
    db
}

fn osv_file(t: &Path) -> PathBuf {
    let p = t.join("GO-TEST-0001.json");
    fs::write(
        &p,
        r#"{"schema_version":"1.4.0","id":"GO-TEST-0001","modified":"2024-01-01T00:00:00Z",
"published":"2024-01-01T00:00:00Z","aliases":["CVE-2099-0001"],"summary":"test",
"affected":[{"package":{"name":"example.com/m","ecosystem":"Go"},
"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}"#,
    )
    .unwrap();
    p
}

fn advisories(db: &Path) -> u64 {
    patchline_json(&["db", "status", "--db", db.to_str().unwrap(), "-f", "json"])["advisories"]
        .as_u64()
        .unwrap()
}

#[test]
fn db_import_with_stdout_and_stderr_full_still_succeeds() {
    let t = tempfile::tempdir().unwrap();
    let feed = osv_file(t.path());
    // Each run imports into a fresh DB, so each shows its own import was done.
    let import_into = |name: &str, redirect: &str| {
        let db = t.path().join(name);
        let args = [
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            feed.to_str().unwrap(),
        ];
        (sh(&format!("exec \"$0\" \"$@\" {redirect}"), &args), db)
    };

    let (o, db) = import_into("adv.sqlite", ">/dev/full 2>/dev/full");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(advisories(&db), 1);

    // stdout full, stderr working: one line says the summary was lost, not the work.
    let (o, db2) = import_into("adv2.sqlite", ">/dev/full");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("stdout") && err.contains("the work was done"),
        "{err}"
    );
    assert_eq!(advisories(&db2), 1);

    // stderr closed outright.
    let (o, db3) = import_into("adv3.sqlite", ">/dev/full 2>&-");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(advisories(&db3), 1);
}

#[test]
fn product_on_a_full_stdout_is_an_error() {
    // `db status` exists to print: a full stdout means the work was not done.
    let t = tempfile::tempdir().unwrap();
    let db = imported_db(t.path());
    let db_s = db.to_str().unwrap();
    let o = sh(
        "exec \"$0\" \"$@\" >/dev/full",
        &["db", "status", "--db", db_s],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("stdout"), "{err}");
    // Nor does its error message crash when stderr is full too.
    let o = sh(
        "exec \"$0\" \"$@\" >/dev/full 2>/dev/full",
        &["db", "status", "--db", db_s],
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = sh(
        "exec \"$0\" \"$@\" >/dev/full 2>/dev/full",
        &["vercmp", "1.0", "2.0"],
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

#[test]
fn warnings_on_a_full_stderr_do_not_crash() {
    // An unreadable dpkg database beside a good apk one: the SBOM is written with a warning.
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let r = t.path().join("rootfs");
    fs::create_dir_all(r.join("var/lib/dpkg")).unwrap();
    fs::write(r.join("var/lib/dpkg/status"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let out = t.path().join("sbom.json");
    let o = patchline(&["sbom", &image, "-f", "json", "-o", out.to_str().unwrap()]);
    assert_ok(&o, "sbom");
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning"));
    fs::remove_file(&out).unwrap();

    for redirect in ["2>/dev/full", "2>&-"] {
        let o = sh(
            &format!("exec \"$0\" \"$@\" {redirect}"),
            &["sbom", &image, "-f", "json", "-o", out.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(0), "{redirect}: {o:?}");
        assert!(is_sbom(&fs::read(&out).unwrap()));
        fs::remove_file(&out).unwrap();
    }

    // The stale-database warning of `db status`, after its table.
    let db = imported_db(t.path());
    let db_s = db.to_str().unwrap();
    let o = sh(
        "exec \"$0\" \"$@\" 2>/dev/full",
        &["db", "status", "--db", db_s, "--max-age", "0"],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ADVISORIES"),
        "{o:?}"
    );
}

#[test]
fn catalog_add_on_a_full_stderr_keeps_its_commit() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let state = t.path().join("catalog.sqlite");
    let state_s = state.to_str().unwrap();
    let add = [
        "catalog", "add", "--state", state_s, "--tier", "base", "--owner", "team", &image,
    ];
    for redirect in ["2>/dev/full", "2>&-"] {
        let o = sh(&format!("exec \"$0\" \"$@\" {redirect}"), &add);
        assert_eq!(o.status.code(), Some(0), "{redirect}: {o:?}");
    }
    let list = patchline_json(&["catalog", "list", "--state", state_s, "--format", "json"]);
    let refs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reference"].as_str())
        .collect();
    assert_eq!(refs, [image.as_str()]);
}

#[test]
fn socket_target_is_not_replaced() {
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path());
    let sock = t.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = patchline(&["sbom", &image, "-o", sock.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    // A socket cannot be opened for writing: an error naming it, and the socket kept.
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(sock.to_str().unwrap()), "{err}");
    assert!(fs::symlink_metadata(&sock).unwrap().file_type().is_socket());
}
