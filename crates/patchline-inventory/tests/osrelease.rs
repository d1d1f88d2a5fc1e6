//! Distro detection against Trivy's os-release and fallback test files, claircore's
//! parsed os-release fixtures, and edge cases.

use std::collections::BTreeMap;
use std::path::PathBuf;

use patchline_inventory::osrelease::{detect, parse_os_release, parse_vars, wants};
use patchline_model::Distro;
use patchline_test_support::shared_data;

/// `(file, ID, VERSION_ID)`. Where Trivy's release_test.go covers the file it asserts the
/// same version; its family names differ where Trivy renames (`opensuse-leap` and
/// `opensuse` are both its `opensuse.leap`, the three SLE Micro IDs its `slem`), and it
/// returns nothing for `unknown` (no family it supports) and `no-version` (it needs a
/// VERSION_ID), where we report what the file says. The others are checked by hand
/// against the files.
const TRIVY_OS_RELEASE: &[(&str, &str, Option<&str>)] = &[
    ("activestate", "activestate", Some("1.0")),
    ("alma", "almalinux", Some("9.4")),
    ("alpine", "alpine", Some("3.15.4")),
    ("azurelinux-3.0", "azurelinux", Some("3.0")),
    ("bottlerocket", "bottlerocket", Some("1.34.0")),
    ("centos", "centos", Some("7")),
    ("centos-stream", "centos", Some("8")),
    ("coreos", "coreos", Some("3.15.4")),
    ("echo", "echo", Some("1")),
    ("fedora", "fedora", Some("42")),
    ("mariner-1.0", "mariner", Some("1.0")),
    ("mariner-2.0", "mariner", Some("2.0")),
    ("minimos", "minimos", Some("20241031")),
    ("no-version", "alpine", None),
    ("opensuseleap-15.2.1", "opensuse-leap", Some("15.2.1")),
    ("opensuseleap-42.3", "opensuse", Some("42.3")),
    (
        "opensusetumbleweed",
        "opensuse-tumbleweed",
        Some("20220412"),
    ),
    ("oracle", "ol", Some("8.10")),
    ("photon", "photon", Some("4.0")),
    ("rhel", "rhel", Some("9.4")),
    ("rocky", "rocky", Some("9.3")),
    ("slemicro", "sle-micro", Some("5.3")),
    ("slemicro-rancher", "sle-micro-rancher", Some("5.4")),
    ("slemicro6.0", "sl-micro", Some("6.0")),
    ("sles", "sles", Some("15.3")),
    ("unknown", "unknown", Some("4.3.2")),
];

#[test]
fn trivy_os_release_files() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/trivy/os-release");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let content = std::fs::read(&path).unwrap();
        seen += 1;
        if file == "no-id" {
            let err = parse_os_release(&content, "etc/os-release").unwrap_err();
            assert!(
                err.contains("etc/os-release") && err.contains("ID"),
                "{err}"
            );
            continue;
        }
        let &(_, id, version) = TRIVY_OS_RELEASE
            .iter()
            .find(|(f, _, _)| *f == file)
            .unwrap_or_else(|| panic!("no expectation for {file}"));
        let d = parse_os_release(&content, "etc/os-release").unwrap();
        assert_eq!(d.id, id, "{file}");
        assert_eq!(d.version_id.as_deref(), version, "{file}");
        assert_eq!(d.source, "etc/os-release");
    }
    assert_eq!(seen, TRIVY_OS_RELEASE.len() + 1);
}

#[test]
fn trivy_os_release_details() {
    let Some(data) = shared_data() else { return };
    let read = |f: &str| std::fs::read(data.join("pkgdb/trivy/os-release").join(f)).unwrap();

    let alma = parse_os_release(&read("alma"), "usr/lib/os-release").unwrap();
    assert_eq!(
        alma,
        Distro {
            id: "almalinux".into(),
            version_id: Some("9.4".into()),
            version_codename: None,
            name: Some("AlmaLinux".into()),
            pretty_name: Some("AlmaLinux 9.4 (Seafoam Ocelot)".into()),
            id_like: vec!["rhel".into(), "centos".into(), "fedora".into()],
            cpe_name: Some("cpe:/o:almalinux:almalinux:9::baseos".into()),
            source: "usr/lib/os-release".into(),
        }
    );
    // VERSION_CODENAME="" is no codename.
    let fedora = parse_os_release(&read("fedora"), "etc/os-release").unwrap();
    assert_eq!(fedora.version_codename, None);
    assert_eq!(
        fedora.cpe_name.as_deref(),
        Some("cpe:/o:fedoraproject:fedora:42")
    );
    // A commented-out assignment is no assignment.
    let tw = parse_vars(&read("opensusetumbleweed"));
    assert!(!tw.contains_key("VERSION"));
    assert_eq!(tw["LOGO"], "distributor-logo-Tumbleweed");
    // A file without a final newline still gives its last line.
    assert_eq!(parse_vars(&read("alma"))["SUPPORT_END"], "2032-06-01");
    let active = parse_os_release(&read("activestate"), "etc/os-release").unwrap();
    assert_eq!(active.id_like, ["buildroot", "busybox"]);
}

/// A reader over a map of image paths to files on disk.
fn reader(files: Vec<(&'static str, PathBuf)>) -> impl Fn(&str) -> Option<Vec<u8>> {
    move |p: &str| {
        files
            .iter()
            .find(|(image_path, _)| *image_path == p)
            .and_then(|(_, disk)| std::fs::read(disk).ok())
    }
}

#[test]
fn trivy_fallback_files() {
    let Some(data) = shared_data() else { return };
    let os = data.join("pkgdb/trivy/os-files");
    let detect_with = |files: Vec<(&'static str, PathBuf)>| detect(&reader(files));

    let d = detect_with(vec![(
        "etc/debian_version",
        os.join("debian/testdata/debian_9/etc/debian_version"),
    )])
    .unwrap();
    // Trivy reports the point release 9.8; os-release says VERSION_ID="9".
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("debian", Some("9"))
    );
    assert_eq!(d.version_codename, None);
    assert_eq!(d.source, "etc/debian_version");

    let d = detect_with(vec![(
        "etc/debian_version",
        os.join("debian/testdata/debian_sid/etc/debian_version"),
    )])
    .unwrap();
    assert_eq!(d.id, "debian");
    assert_eq!(d.version_id, None);
    assert_eq!(d.version_codename.as_deref(), Some("buster"));

    assert_eq!(
        detect_with(vec![(
            "etc/debian_version",
            os.join("debian/testdata/empty")
        )]),
        None
    );

    let rh = os.join("redhatbase/testdata");
    // (file, image path, id, version_id); Trivy asserts the same versions except CentOS,
    // where it keeps 7.6.1810 and we keep the major release like os-release.
    let cases = [
        (
            "alma/almalinux-release",
            "etc/almalinux-release",
            "almalinux",
            "8.4",
        ),
        ("centos/centos-release", "etc/centos-release", "centos", "7"),
        (
            "fedora_29/fedora-release",
            "etc/fedora-release",
            "fedora",
            "29",
        ),
        ("oracle_7/oracle-release", "etc/oracle-release", "ol", "7.6"),
        (
            "redhat_6/redhat-release",
            "etc/redhat-release",
            "rhel",
            "6.2",
        ),
        ("rocky/rocky-release", "etc/rocky-release", "rocky", "8.4"),
        // The text decides, whichever file holds it.
        ("centos/centos-release", "etc/redhat-release", "centos", "7"),
        ("rocky/rocky-release", "etc/system-release", "rocky", "8.4"),
    ];
    for (file, image_path, id, version) in cases {
        let d = detect_with(vec![(image_path, rh.join(file))]).unwrap();
        assert_eq!(d.id, id, "{file}");
        assert_eq!(d.version_id.as_deref(), Some(version), "{file}");
        assert_eq!(d.source, image_path);
    }
    let centos = detect_with(vec![(
        "etc/centos-release",
        rh.join("centos/centos-release"),
    )])
    .unwrap();
    assert_eq!(centos.name.as_deref(), Some("CentOS Linux"));
    assert_eq!(
        centos.pretty_name.as_deref(),
        Some("CentOS Linux release 7.6.1810 (Core)")
    );
    for image_path in [
        "etc/redhat-release",
        "etc/centos-release",
        "etc/system-release",
    ] {
        assert_eq!(
            detect_with(vec![(image_path, rh.join("not_redhatbase/empty"))]),
            None
        );
    }

    let ub = os.join("ubuntu/testdata");
    let d = detect_with(vec![("etc/lsb-release", ub.join("lsb-release"))]).unwrap();
    assert_eq!(
        d,
        Distro {
            id: "ubuntu".into(),
            version_id: Some("18.04".into()),
            version_codename: Some("bionic".into()),
            pretty_name: Some("Ubuntu 18.04.2 LTS".into()),
            source: "etc/lsb-release".into(),
            ..Distro::default()
        }
    );
    assert_eq!(
        detect_with(vec![("etc/lsb-release", ub.join("invalid"))]),
        None
    );
}

/// Splits a txtar archive into its named sections.
fn txtar(text: &str) -> BTreeMap<String, String> {
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        let header = line
            .trim_end_matches('\n')
            .strip_prefix("-- ")
            .and_then(|l| l.strip_suffix(" --"));
        if let Some(name) = header {
            if let Some((n, body)) = current.take() {
                sections.insert(n, body);
            }
            current = Some((name.to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    if let Some((n, body)) = current {
        sections.insert(n, body);
    }
    sections
}

#[test]
fn claircore_txtar_fixtures() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/claircore/osrelease");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txtar"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let sections = txtar(&std::fs::read_to_string(&path).unwrap());
        let content = sections["os-release"].as_bytes();

        let parsed: BTreeMap<String, String> = serde_json::from_str(&sections["Parsed"]).unwrap();
        assert_eq!(parse_vars(content), parsed, "{name}");

        let want: BTreeMap<String, String> =
            serde_json::from_str(&sections["Distribution"]).unwrap();
        let d = parse_os_release(content, "etc/os-release").unwrap();
        assert_eq!(Some(&d.id), want.get("did"), "{name}");
        assert_eq!(d.name.as_ref(), want.get("name"), "{name}");
        assert_eq!(d.version_id.as_ref(), want.get("version_id"), "{name}");
        assert_eq!(
            d.version_codename.as_ref(),
            want.get("version_code_name"),
            "{name}"
        );
        assert_eq!(d.cpe_name.as_ref(), want.get("cpe"), "{name}");
        if name == "Ubi8.txtar" {
            // claircore names RHEL by its major release ("Red Hat Enterprise Linux 8");
            // the file's PRETTY_NAME is what we report.
            assert_eq!(
                d.pretty_name.as_deref(),
                Some("Red Hat Enterprise Linux 8.0 (Ootpa)")
            );
        } else {
            assert_eq!(d.pretty_name.as_ref(), want.get("pretty_name"), "{name}");
        }
    }
}

#[test]
fn quoting_and_sloppy_files() {
    let content = b"\xef\xbb\xbf# comment\r\n  # indented comment\r\n\r\n\
ID=\"Debian\"\r\n\
NAME='single \"quoted\"'\n\
PRETTY_NAME=\"a \\\"b\\\" \\\\ \\$x \\`y\\` \\n\"\n\
VERSION_ID = 12 \n\
export VERSION_CODENAME=bookworm\n\
ID_LIKE=\"Foo  bar\"\n\
CPE_NAME=cpe:/o:x\\ y\n\
not an assignment\n\
9BAD=1\n\
BAD-KEY=1\n\
=nokey\n\
UNTERMINATED=\"abc\n\
EMPTY=\n\
DUP=1\nDUP=2\n\
LATIN=caf\xe9\n";
    let vars = parse_vars(content);
    assert_eq!(vars["ID"], "Debian");
    assert_eq!(vars["NAME"], "single \"quoted\"");
    assert_eq!(vars["PRETTY_NAME"], "a \"b\" \\ $x `y` \\n");
    assert_eq!(vars["VERSION_ID"], "12");
    assert_eq!(vars["VERSION_CODENAME"], "bookworm");
    assert_eq!(vars["CPE_NAME"], "cpe:/o:x y");
    assert_eq!(vars["UNTERMINATED"], "abc");
    assert_eq!(vars["EMPTY"], "");
    assert_eq!(vars["DUP"], "2");
    assert_eq!(vars["LATIN"], "caf\u{fffd}");
    for bad in ["9BAD", "BAD-KEY", ""] {
        assert!(!vars.contains_key(bad), "{bad}");
    }
    let d = parse_os_release(content, "etc/os-release").unwrap();
    assert_eq!(d.id, "debian");
    assert_eq!(d.id_like, ["foo", "bar"]);
    assert_eq!(d.version_id.as_deref(), Some("12"));

    assert!(parse_os_release(b"ID=\n", "x").is_err());
    assert!(parse_os_release(b"ID=\"  \"\n", "x").is_err());
    assert!(parse_os_release(b"", "x").is_err());
    assert!(parse_os_release(b"\0\xff\xfe=\n", "x").is_err());
    // Ubuntu 14.04 had only UBUNTU_CODENAME... or nothing; take what there is.
    let d = parse_os_release(b"ID=ubuntu\nUBUNTU_CODENAME=trusty\n", "x").unwrap();
    assert_eq!(d.version_codename.as_deref(), Some("trusty"));
}

fn fake(files: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
    move |p: &str| {
        files
            .iter()
            .find(|(path, _)| *path == p)
            .map(|(_, c)| c.as_bytes().to_vec())
    }
}

#[test]
fn detection_precedence() {
    // etc/os-release first.
    let d = detect(&fake(&[
        ("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        ("usr/lib/os-release", "ID=ubuntu\n"),
        ("etc/alpine-release", "3.18.4\n"),
    ]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.source.as_str()),
        ("debian", "etc/os-release")
    );

    // An etc/os-release without ID does not count.
    let d = detect(&fake(&[
        ("etc/os-release", "NAME=broken\n"),
        ("usr/lib/os-release", "ID=ubuntu\nVERSION_ID=\"22.04\"\n"),
    ]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref(), d.source.as_str()),
        ("ubuntu", Some("22.04"), "usr/lib/os-release")
    );

    let d = detect(&fake(&[(
        "x86_64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
        "ID=bottlerocket\nVERSION_ID=1.34.0\n",
    )]))
    .unwrap();
    assert_eq!(d.id, "bottlerocket");

    let d = detect(&fake(&[
        ("etc/os-release", "garbage"),
        ("etc/alpine-release", "3.18.4\n"),
    ]))
    .unwrap();
    assert_eq!(
        d,
        Distro {
            id: "alpine".into(),
            version_id: Some("3.18.4".into()),
            source: "etc/alpine-release".into(),
            ..Distro::default()
        }
    );

    // Oracle Linux's redhat-release claims RHEL; its own file wins.
    let d = detect(&fake(&[
        (
            "etc/redhat-release",
            "Red Hat Enterprise Linux Server release 7.6 (Maipo)\n",
        ),
        ("etc/oracle-release", "Oracle Linux Server release 7.6\n"),
    ]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.source.as_str()),
        ("ol", "etc/oracle-release")
    );
    let d = detect(&fake(&[(
        "etc/redhat-release",
        "Red Hat Enterprise Linux Server release 7.6 (Maipo)\n",
    )]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("rhel", Some("7.6"))
    );
    let d = detect(&fake(&[(
        "etc/system-release",
        "Amazon Linux release 2 (Karoo)\n",
    )]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("amzn", Some("2"))
    );
    // An unknown name in a distro's own file is that distro; in redhat-release, nobody.
    let d = detect(&fake(&[("etc/rocky-release", "Something release 9.1\n")])).unwrap();
    assert_eq!(d.id, "rocky");
    assert_eq!(
        detect(&fake(&[("etc/redhat-release", "Something release 9.1\n")])),
        None
    );

    // Old Ubuntu without os-release: lsb-release beats debian_version ("wheezy/sid").
    let d = detect(&fake(&[
        ("etc/debian_version", "wheezy/sid\n"),
        (
            "etc/lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_CODENAME=precise\n",
        ),
    ]))
    .unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("ubuntu", Some("12.04"))
    );

    // Debian testing whose os-release names no release: the codename comes from
    // debian_version, the source stays the os-release.
    let d = detect(&fake(&[
        (
            "etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n",
        ),
        ("etc/debian_version", "trixie/sid\n"),
    ]))
    .unwrap();
    assert_eq!(d.version_codename.as_deref(), Some("trixie"));
    assert_eq!(d.version_id, None);
    assert_eq!(d.source, "etc/os-release");
    // ... but never overrides what os-release says.
    let d = detect(&fake(&[
        ("etc/os-release", "ID=debian\nVERSION_CODENAME=trixie\n"),
        ("etc/debian_version", "13.1\n"),
    ]))
    .unwrap();
    assert_eq!(d.version_id, None);
    let d = detect(&fake(&[("etc/debian_version", "12.5\n")])).unwrap();
    assert_eq!(d.version_id.as_deref(), Some("12"));

    assert_eq!(detect(&fake(&[])), None);
    assert_eq!(
        detect(&|_: &str| Some(b"\0\x01\x02 release".to_vec())),
        None
    );
}

#[test]
fn wanted_paths() {
    for yes in [
        "etc/os-release",
        "usr/lib/os-release",
        "etc/alpine-release",
        "etc/debian_version",
        "etc/redhat-release",
        "etc/centos-release",
        "etc/rocky-release",
        "etc/almalinux-release",
        "etc/fedora-release",
        "etc/oracle-release",
        "etc/system-release",
        "etc/lsb-release",
        "aarch64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
    ] {
        assert!(wants(yes), "{yes}");
    }
    for no in [
        "etc/os-release.d",
        "/etc/os-release",
        "etc/issue",
        "usr/etc/os-release",
    ] {
        assert!(!wants(no), "{no}");
    }
}
