//! `patchline policy check` and `scan --policy/--stage/--exceptions`, run as a user
//! would: exit codes, stderr reasons with file and line, and the JSON report's `policy`
//! block. Needs no fixtures: the DB is the real Debian tracker extract in `tests/data`,
//! the input a CycloneDX SBOM written here.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The issue's example, as is.
const EXAMPLE: &str = r#"stages:
  build:
    fail_on: high          # critical | high | medium | low
    kev: fail
    fixable_only: false
    trusted_bases: ["registry.example.com/base/*"]
exceptions:
  - id: CVE-2024-2004
    packages: [curl, libcurl4]
    reason: not reachable in this service
    owner: team-web
    expires: 2027-06-30
"#;

#[test]
fn policy_check_accepts_the_example_and_places_every_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = write(tmp.path(), "policy.yaml", EXAMPLE);
    let out = patchline(&["policy", "check", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok: 1 stage(s) (build), 1 exception(s), 0 trusted image(s)"
    );

    let cases = [
        (
            "stages:\n  build:\n    fail_on: high\n    fail-on: high\n",
            ":4: ",
            "fail-on",
        ),
        (
            "stages:\n  build:\n    fail_on: severe\n",
            ":3: ",
            "unknown severity \"severe\"",
        ),
        (
            "exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2027-02-30\n",
            ":4: ",
            "has no day 30",
        ),
        (
            "stages:\n  prod:\n    fail_on: high\n",
            ":3: ",
            "unknown stage \"prod\"",
        ),
    ];
    for (text, line, what) in cases {
        let bad = write(tmp.path(), "bad.yaml", text);
        let out = patchline(&["policy", "check", bad.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        let expected = format!("{}{line}", bad.display());
        assert!(err.contains(&expected), "{text}: wants {expected}: {err}");
        assert!(err.contains(what), "{text}: wants {what}: {err}");
    }

    // Exceptions files are checked too, with their format.
    let trivy = write(
        tmp.path(),
        ".trivyignore.yaml",
        "vulnerabilities:\n  - id: CVE-2024-2004\n    expired_at: 2027-01-01\nlicenses:\n  - id: GPL-3.0\n",
    );
    let out = patchline(&[
        "policy",
        "check",
        ok.to_str().unwrap(),
        "--exceptions",
        trivy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 exception(s) (Trivy .trivyignore.yaml)")
    );
    assert!(stderr(&out).contains("licenses entry GPL-3.0 not imported"));
}

struct Scan {
    env: AdvisoryEnv,
    input: String,
}

impl Scan {
    fn new() -> Scan {
        let env = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
        let sbom = env.dir.join("sbom.cdx.json");
        let doc = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "components": [
                {"type": "operating-system", "name": "debian", "version": "12"},
                {"type": "library", "name": "curl", "version": "7.88.1-10+deb12u5",
                 "purl": "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12"}
            ]
        });
        std::fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
        let input = format!("sbom:{}", sbom.display());
        Scan { env, input }
    }

    fn run(&self, policy: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
        let p = write(&self.env.dir, "policy.yaml", policy);
        let mut args = vec![
            "scan",
            self.input.as_str(),
            "--db",
            self.env.db.as_str(),
            "--format",
            "json",
            "--policy",
            p.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = patchline(&args);
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v, stderr(&out))
    }
}

#[test]
fn scan_with_a_policy_stage() {
    let s = Scan::new();
    // The extract rates none of curl's findings (Debian gives no severity), so only
    // `fail_on: unknown` (any finding) trips on them.
    let base = "stages:\n  build:\n    fail_on: unknown\n    kev: ignore\n";
    let (code, v, err) = s.run(base, &["--stage", "build"]);
    // curl 7.88.1-10+deb12u5 has fixed findings in the bookworm extract.
    let findings = v["findings"].as_array().expect("findings").len();
    assert!(findings > 0, "{v}");
    assert_eq!(code, Some(1), "{err}");
    let p = &v["policy"];
    assert_eq!(p["stage"], "build");
    assert_eq!(p["verdict"], "fail");
    assert_eq!(p["reasons"][0]["rule"], "fail_on unknown");
    assert!(err.contains("patchline: policy build ("), "{err}");
    assert!(err.contains(": fail"), "{err}");
    assert!(err.contains("fail_on unknown: "), "{err}");

    // An exception for every curl finding: applied, and the scan passes.
    let accepted = format!(
        "{base}exceptions:\n  - id: \"*\"\n    packages: [curl]\n    reason: accepted for the test\n    owner: team-web\n    expires: 2999-12-31\n  - id: CVE-1999-0001\n    reason: never matches\n    expires: 2999-12-31\n"
    );
    let (code, v, err) = s.run(&accepted, &[]);
    assert_eq!(code, Some(0), "{err}");
    let p = &v["policy"];
    assert_eq!(p["verdict"], "pass");
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    let applied = &p["exceptions"]["applied"][0];
    assert_eq!(applied["exception"]["owner"], "team-web");
    assert_eq!(applied["suppressed"].as_array().unwrap().len(), findings);
    assert_eq!(p["exceptions"]["unused"][0]["id"], "CVE-1999-0001");
    assert!(
        err.contains("exception applied: * (curl; owner team-web"),
        "{err}"
    );
    assert!(
        err.contains("exception unused (matched nothing): CVE-1999-0001"),
        "{err}"
    );

    // The same exception expired: no longer applied, reported, and the scan fails.
    let expired = accepted.replace("2999-12-31", "2020-01-01");
    let (code, v, err) = s.run(&expired, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        v["policy"]["exceptions"]["expired"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), findings);
    assert!(
        err.contains("exception expired, no longer applied"),
        "{err}"
    );

    // trusted_bases with no base known fails closed.
    let trusted = "stages:\n  registry:\n    trusted_bases: [\"registry.example.com/base/*\"]\n    kev: ignore\n";
    let (code, v, err) = s.run(trusted, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(v["policy"]["reasons"][0]["rule"], "trusted_bases");
    assert!(err.contains("base image unknown"), "{err}");

    // Several stages: --stage is needed; an unknown one is named.
    let two = "stages:\n  local:\n    fail_on: critical\n  build:\n    fail_on: unknown\n";
    let (code, _, err) = s.run(two, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("several stages (build, local)"), "{err}");
    let (code, _, err) = s.run(two, &["--stage", "runtime"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no stage \"runtime\""), "{err}");

    // An invalid policy file stops the scan with its line.
    let (code, _, err) = s.run("stages:\n  build:\n    fail_on: hihg\n", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("policy.yaml:3: unknown severity"), "{err}");
}

#[test]
fn exceptions_files_without_a_policy() {
    let s = Scan::new();
    let all = patchline_json(&["scan", &s.input, "--db", &s.env.db, "--format", "json"]);
    assert!(all.get("policy").is_none() || all["policy"].is_null());
    let first = all["findings"][0]["id"].as_str().unwrap().to_string();
    let ignore = write(
        &s.env.dir,
        ".trivyignore",
        &format!("# accepted\n{first} exp:2999-01-01\n"),
    );
    let out = patchline(&[
        "scan",
        &s.input,
        "--db",
        &s.env.db,
        "--format",
        "json",
        "--exceptions",
        ignore.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["policy"]["stage"], "");
    assert_eq!(v["policy"]["verdict"], "pass");
    let applied = &v["policy"]["exceptions"]["applied"][0];
    assert_eq!(applied["exception"]["id"], first.as_str());
    assert_eq!(applied["exception"]["expires"], "2998-12-31");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["id"] != first.as_str()));
    // --stage needs --policy.
    let out = patchline(&["scan", &s.input, "--db", &s.env.db, "--stage", "build"]);
    assert_eq!(out.status.code(), Some(2));
}
