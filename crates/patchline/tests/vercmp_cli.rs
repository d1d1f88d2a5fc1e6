//! `patchline vercmp` against the upstream version suites in ../shared/data/versions.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

fn batch(scheme: &str, input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["vercmp", "--scheme", scheme, "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn batch_agrees_with_every_upstream_suite() {
    let Some(data) = shared_data() else { return };
    for (file, scheme) in [
        ("dpkg.tsv", "dpkg"),
        ("rpm.tsv", "rpm"),
        ("apk.tsv", "apk"),
        ("pep440.tsv", "pep440"),
        ("maven.tsv", "maven"),
        ("semver.tsv", "semver"),
        ("gomod_semver.tsv", "go"),
    ] {
        let text = std::fs::read_to_string(data.join("versions").join(file)).unwrap();
        let rows: Vec<(&str, &str, &str)> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 3, "{file}: {l:?}");
                (f[0], f[1], f[2])
            })
            .collect();
        let input: String = rows.iter().map(|(a, _, b)| format!("{a}\t{b}\n")).collect();
        let got = batch(scheme, &input);
        let got: Vec<&str> = got.lines().collect();
        assert_eq!(got.len(), rows.len(), "{file}");
        let wrong: Vec<String> = rows
            .iter()
            .zip(&got)
            .filter(|((_, op, _), g)| op != *g)
            .map(|((a, op, b), g)| format!("{a} {op} {b}: got {g}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "{file}: {} of {} wrong: {:?}",
            wrong.len(),
            rows.len(),
            &wrong[..wrong.len().min(10)]
        );
    }
}

#[test]
fn invalid_versions() {
    let out = patchline(&["vercmp", "--scheme", "go", "v1.2.3", "1..2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..2"));
    let out = patchline(&["vercmp", "--scheme", "nope", "1", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let got = batch("pep440", "1.0\t1.0.post1\nfoo bar\t1.0\nno tab here\n");
    assert_eq!(got, "<\ninvalid\ninvalid\n");
    let out = patchline(&["vercmp", "--scheme", "dpkg", "1:1.0-1", "1.0-1"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), ">\n");
}
