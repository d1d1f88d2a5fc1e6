//! The checks end to end, as a user runs them on the `app-checks` fixture (planted
//! problems in separate layers, scripts/build-fixtures.sh): `scan` reports every planted
//! problem in JSON (`checks[]`), SARIF and CycloneDX without any planted secret in any
//! output; `--scanners` chooses what runs; a policy stage fails on denied checks with
//! every reason, an exception for a check id is applied, and an expired one is not.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn app_checks(dir: &Path) -> String {
    format!("oci:{}:app-checks", dir.join("layout").display())
}

/// The planted set: (check id, path) from the script's oracle.
fn planted(dir: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(dir.join("app-checks-planted.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            (
                f.next().unwrap().to_string(),
                f.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every planted secret value (one per line), none of which may appear in an output.
fn secret_values(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("app-checks-secrets.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 12)
        .map(str::to_string)
        .collect()
}

fn no_secrets_in(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows a planted secret");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_planted_problem_in_every_format_and_no_secret_anywhere() {
    let Some(dir) = fixtures() else { return };
    let image = app_checks(&dir);
    let secrets = secret_values(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache").display().to_string();
    let base = [
        "scan",
        image.as_str(),
        "--scanners",
        "checks,secrets",
        "--cache-dir",
        cache.as_str(),
    ];

    let out = patchline(&[&base[..], &["--format", "json"]].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    no_secrets_in("JSON", &text, &secrets);
    let json: Value = serde_json::from_str(&text).unwrap();
    let got: BTreeSet<(String, String)> = json["checks"]
        .as_array()
        .expect("checks[]")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = planted(&dir);
    let missed: Vec<_> = want.difference(&got).collect();
    assert!(
        missed.is_empty(),
        "planted problems not reported: {missed:?}"
    );
    // The deleted key is reported in the layer that holds it, with the deleting layer.
    let deleted: Vec<&Value> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["removed_in"].is_object())
        .collect();
    assert!(
        deleted
            .iter()
            .any(|c| c["id"] == "secret.private-key" && c["layer"]["index"].as_u64().is_some()),
        "{deleted:?}"
    );
    assert_eq!(json["scanners"], serde_json::json!(["checks", "secrets"]));
    assert!(json["findings"].as_array().unwrap().is_empty());

    // Every output format carries them, redacted.
    for (format, needle) in [
        ("sarif", "secret.private-key"),
        ("cyclonedx", "patchline:check:0:id"),
        ("table", "secret.private-key"),
    ] {
        let out = patchline(&[&base[..], &["--format", format]].concat());
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(needle), "{format} lacks {needle}");
        no_secrets_in(format, &text, &secrets);
    }
    // Nor does the inventory (its config's environment and labels are redacted).
    let out = patchline(&[
        "sbom",
        image.as_str(),
        "--format",
        "json",
        "--cache-dir",
        cache.as_str(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    no_secrets_in("sbom JSON", &String::from_utf8_lossy(&out.stdout), &secrets);

    // --scanners: only secrets.
    let out = patchline(&[
        "scan",
        image.as_str(),
        "--scanners",
        "secrets",
        "--format",
        "json",
        "--cache-dir",
        cache.as_str(),
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: BTreeSet<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().split('.').next().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["secret"]));
}

#[test]
fn a_policy_fails_on_denied_checks_and_exceptions_cover_check_ids() {
    let Some(dir) = fixtures() else { return };
    let image = app_checks(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache").display().to_string();
    let policy = write(
        tmp.path(),
        "policy.yaml",
        r#"stages:
  build:
    checks:
      deny: ["secret.*"]
      fail_on: high
exceptions:
  - id: config.root-user
    reason: the vendor image needs root; tracked in SEC-12
    owner: team-platform
    expires: 2099-12-31
  - id: fs.world-writable-dir
    reason: expired on purpose
    owner: team-platform
    expires: 2020-01-01
  - id: CVE-1999-0001
    reason: matches nothing
    owner: team-platform
    expires: 2099-12-31
"#,
    );
    let out = patchline(&[
        "scan",
        image.as_str(),
        "--scanners",
        "checks,secrets",
        "--policy",
        policy.to_str().unwrap(),
        "--stage",
        "build",
        "--format",
        "json",
        "--cache-dir",
        cache.as_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &json["policy"];
    assert_eq!(p["stage"], "build");
    assert_eq!(p["verdict"], "fail");
    let reasons = p["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r["subjects"].as_array().is_some_and(|s| s
                .iter()
                .any(|s| s.as_str().unwrap_or("").contains("secret.")))),
        "{reasons:?}"
    );
    let ids = |k: &str| -> Vec<String> {
        p["exceptions"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.get("exception")
                    .unwrap_or(e)
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids("applied"), vec!["config.root-user"]);
    assert_eq!(ids("expired"), vec!["fs.world-writable-dir"]);
    assert_eq!(ids("unused"), vec!["CVE-1999-0001"]);
    // The excepted check is out of the report; the expired exception's is still in.
    let checks: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!checks.contains(&"config.root-user"));
    assert!(checks.contains(&"fs.world-writable-dir"));
}

#[test]
fn trusted_bases_follow_the_catalogs_lineage() {
    let Some(dir) = fixtures() else { return };
    let layout = dir.join("layout");
    let base = format!("oci:{}:base", layout.display());
    let child = format!("oci:{}:child", layout.display());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.sqlite").display().to_string();
    for (image, tier) in [(&base, "base"), (&child, "application")] {
        let out = patchline(&[
            "catalog", "add", image, "--state", &state, "--tier", tier, "--owner", "team",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let policy = |trusted: &str| {
        write(
            tmp.path(),
            "policy.yaml",
            &format!("stages:\n  registry:\n    trusted_bases: [{trusted:?}]\n"),
        )
    };
    let scan = |policy: &Path| {
        patchline(&[
            "scan",
            child.as_str(),
            "--scanners",
            "checks",
            "--state",
            &state,
            "--policy",
            policy.to_str().unwrap(),
            "--format",
            "json",
        ])
    };
    // The catalog knows `child` is built on `base`: trusting base passes.
    let out = scan(&policy(&base));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", json["policy"]);
    assert_eq!(json["policy"]["verdict"], "pass");
    // Trusting something else fails, naming the catalogued base.
    let out = scan(&policy("registry.example.com/base/*"));
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons = json["policy"]["reasons"].to_string();
    assert!(reasons.contains("trusted_bases"), "{reasons}");
    assert!(reasons.contains(":base"), "{reasons}");
    // A catalog that does not exist is an error, not an empty lineage.
    let missing = tmp.path().join("nope.sqlite").display().to_string();
    let out = patchline(&[
        "scan",
        child.as_str(),
        "--scanners",
        "checks",
        "--state",
        &missing,
        "--policy",
        policy(&base).to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.sqlite"));
}

#[test]
fn fail_on_judges_check_findings_too() {
    let Some(dir) = fixtures() else { return };
    let image = app_checks(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache").display().to_string();
    let scan = |extra: &[&str]| {
        patchline(
            &[
                &["scan", image.as_str(), "--cache-dir", cache.as_str()][..],
                extra,
            ]
            .concat(),
        )
    };
    // The planted keys are high: --fail-on high fails and names them.
    let out = scan(&["--scanners", "checks,secrets", "--fail-on", "high"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("check finding(s) at or above high"), "{err}");
    assert!(err.contains("secret."), "{err}");
    // Without the secrets scanner, nothing in the image's checks is critical.
    let out = scan(&["--scanners", "checks", "--fail-on", "critical"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
