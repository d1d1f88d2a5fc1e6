use super::*;
use time::macros::date;

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

fn err(text: &str) -> PolicyError {
    parse_policy(text, "policy.yaml").unwrap_err()
}

#[test]
fn the_issue_example_is_accepted_as_is() {
    let p = parse_policy(EXAMPLE, "policy.yaml").unwrap();
    let b = p.stage("build").unwrap();
    assert_eq!(b.fail_on, Some(Severity::High));
    assert_eq!(b.kev, Action::Fail);
    assert!(!b.fixable_only);
    assert_eq!(
        b.trusted_bases.as_deref(),
        Some(&["registry.example.com/base/*".to_string()][..])
    );
    assert_eq!(b.unmatched, Action::Fail);
    assert_eq!(p.exceptions.len(), 1);
    let e = &p.exceptions[0];
    assert_eq!(e.id, "CVE-2024-2004");
    assert_eq!(e.packages, ["curl", "libcurl4"]);
    assert_eq!(e.reason, "not reachable in this service");
    assert_eq!(e.owner.as_deref(), Some("team-web"));
    assert_eq!(e.expires, Some(date!(2027 - 06 - 30)));
    assert_eq!(e.source.as_deref(), Some("policy.yaml:8"));
    assert_eq!(p.select_stage(None).unwrap().name, "build");
}

#[test]
fn every_key() {
    let text = r#"version: 1
stages:
  local:
    fail_on: critical
    kev: warn
    unmatched: ignore
  registry:
    fail_on: medium
    fixable_only: true
    max_base_age_days: 90
    trusted_bases: []
    denied_packages:
      - telnetd
      - "log4j-core@2.1*"
      - package: pkg:npm/event-stream
        reason: compromised
    denied_licenses: [AGPL-3.0*, SSPL-1.0]
    required_labels: [org.opencontainers.image.source, "team=web-*"]
    checks:
      fail_on: high
      deny: ["secret.*", config.root-user]
      allow: [config.no-healthcheck]
    incomplete: warn
trusted_images:
  - pattern: docker.io/library/debian:12*
    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    approved_by: sec-governance
    approved_on: 2026-01-15
    expires: 2027-01-31
    reason: upstream base
"#;
    let p = parse_policy(text, "p.yaml").unwrap();
    let l = p.stage("local").unwrap();
    assert_eq!(l.kev, Action::Warn);
    assert_eq!(l.unmatched, Action::Ignore);
    assert_eq!(l.trusted_bases, None);
    let r = p.stage("registry").unwrap();
    assert!(r.fixable_only);
    assert_eq!(r.max_base_age_days, Some(90));
    assert_eq!(r.trusted_bases, Some(vec![]));
    assert_eq!(r.denied_packages.len(), 3);
    assert_eq!(r.denied_packages[2].reason.as_deref(), Some("compromised"));
    assert_eq!(r.denied_licenses, ["AGPL-3.0*", "SSPL-1.0"]);
    assert_eq!(r.required_labels[1].key, "team");
    assert_eq!(r.required_labels[1].value.as_deref(), Some("web-*"));
    assert_eq!(r.checks.fail_on, Some(Severity::High));
    assert_eq!(r.checks.deny, ["secret.*", "config.root-user"]);
    assert_eq!(r.incomplete, Action::Warn);
    let t = &p.trusted_images[0];
    assert_eq!(t.approved_on, Some(date!(2026 - 01 - 15)));
    assert_eq!(t.source.as_deref(), Some("p.yaml:25"));
    assert!(p.select_stage(None).unwrap_err().contains("several stages"));
    assert!(p
        .select_stage(Some("build"))
        .unwrap_err()
        .contains("no stage \"build\""));
}

#[test]
fn unknown_key_names_its_line() {
    let e = err("stages:\n  build:\n    fail_on: high\n    fail-on: high\n");
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    assert!(e.to_string().starts_with("policy.yaml:4: "), "{e}");
    assert!(e.to_string().contains("fail-on"), "{e}");
    let e = err("stages: {}\ntrusted_image: []\n");
    assert_eq!(e.problems[0].line, Some(2), "{e}");
    let e =
        err("exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2027-01-01\n    owners: x\n");
    assert_eq!(e.problems[0].line, Some(5), "{e}");
}

#[test]
fn bad_severity_names_its_line() {
    let e = err("stages:\n  build:\n    kev: fail\n    fail_on: severe\n");
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    assert!(e.to_string().contains("unknown severity \"severe\""), "{e}");
    let e = err("stages:\n  build:\n    checks:\n      fail_on: hihg\n");
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    let e = err("stages:\n  build:\n    kev: block\n");
    assert_eq!(e.problems[0].line, Some(3), "{e}");
    assert!(e.to_string().contains("block"), "{e}");
}

#[test]
fn bad_dates_name_their_line() {
    let e = err("exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2027-02-30\n");
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    assert!(e.to_string().contains("has no day 30"), "{e}");
    let e = err("exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 30/06/2027\n");
    assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    let e = err("trusted_images:\n  - pattern: a/*\n    expires: tomorrow\n");
    assert_eq!(e.problems[0].line, Some(3), "{e}");
}

#[test]
fn bad_patterns_name_their_line() {
    let e = err("stages:\n  build:\n    trusted_bases: [\"registry.example.com/[ab]*\"]\n");
    assert_eq!(e.problems[0].line, Some(3), "{e}");
    assert!(e.to_string().contains("wildcards"), "{e}");
}

#[test]
fn semantic_problems_are_all_reported() {
    let text = "stages:\n  prod:\n    fail_on: high\nexceptions:\n  - id: CVE-1\n    justification: because\n  - id: CVE-2\n    reason: ok\n    expires: 2027-01-01\ntrusted_images:\n  - pattern: a/*\n    digest: md5:00\n";
    let e = err(text);
    let s = e.to_string();
    assert!(s.contains("unknown stage \"prod\""), "{s}");
    assert!(s.contains("exception CVE-1: no reason"), "{s}");
    assert!(s.contains("exception CVE-1: no expires date"), "{s}");
    assert!(s.contains("unknown justification \"because\""), "{s}");
    assert!(s.contains("digest \"md5:00\""), "{s}");
    assert!(!s.contains("CVE-2"), "{s}");
    for p in &e.problems {
        assert!(p.line.is_some(), "{s}");
    }
    assert!(
        s.lines()
            .any(|l| l.starts_with("policy.yaml:5: exception CVE-1")),
        "{s}"
    );
}

#[test]
fn version_and_empty() {
    assert!(err("version: 2\n").to_string().contains("version 2"));
    let p = parse_policy("", "empty.yaml").unwrap();
    assert!(p.stages.is_empty());
    assert!(p.select_stage(None).unwrap_err().contains("no stages"));
}
