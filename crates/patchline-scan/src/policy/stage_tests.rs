//! Each policy outcome: pass; fail with its reasons (fail_on, kev, trusted_bases,
//! denied packages and licenses, labels, checks, base age); exceptions applied, expired
//! and unused; unjudgeable for unmatched packages.

use super::*;
use patchline_model::check::CheckFinding;
use patchline_model::vuln::{DbInfo, FindingPackage, Kev, Severity, Unmatched, SCAN_SCHEMA};
use patchline_model::{Ecosystem, ImageInfo, Package, Tool};
use patchline_policy::parse_policy;
use patchline_policy::BaseSource;
use time::macros::date;

const TODAY: Date = date!(2026 - 12 - 07);
const IMAGE: &str = "registry.example.com/team/web:1.4";

fn finding(id: &str, name: &str, severity: Severity, state: FixState) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        advisories: vec![],
        package: FindingPackage {
            ecosystem: Ecosystem::Deb,
            name: name.into(),
            version: "1.0-1".into(),
            arch: None,
            source_name: None,
            source_version: None,
            purl: format!("pkg:deb/debian/{name}@1.0-1"),
            introduced: None,
            last_changed: None,
            sbom_ref: None,
            path: Some("var/lib/dpkg/status".into()),
        },
        ecosystem: "Debian:12".into(),
        state,
        fixed_versions: if state == FixState::Fixed {
            vec!["1.0-2".into()]
        } else {
            vec![]
        },
        severity,
        severity_source: "debian".into(),
        cvss: vec![],
        kev: None,
        epss: None,
        summary: None,
        references: vec![],
    }
}

fn report() -> ScanReport {
    ScanReport {
        scanners: Default::default(),
        checks: vec![],
        policy: None,
        schema: SCAN_SCHEMA.into(),
        tool: Tool::default(),
        image: ImageInfo {
            reference: IMAGE.into(),
            ..Default::default()
        },
        distro: None,
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: 3,
        packages_not_matched: 0,
        unmatched: vec![],
        packages_managed_by_os: 0,
        findings: vec![
            finding("CVE-2024-2004", "curl", Severity::High, FixState::Fixed),
            finding(
                "CVE-2024-0001",
                "libc6",
                Severity::Medium,
                FixState::Unfixed,
            ),
            finding("CVE-2024-0002", "zlib1g", Severity::Low, FixState::Fixed),
        ],
        inventory_complete: true,
        warnings: vec![],
    }
}

fn inventory() -> Inventory {
    let mut inv = Inventory::new(ImageInfo {
        reference: IMAGE.into(),
        ..Default::default()
    });
    let mut p = Package::new(Ecosystem::Deb, "curl", "1.0-1");
    p.licenses = vec!["curl".into()];
    p.db_path = "var/lib/dpkg/status".into();
    inv.packages.push(p);
    let mut p = Package::new(Ecosystem::Deb, "telnetd", "0.17-44");
    p.licenses = vec!["GPL-2.0-or-later OR AGPL-3.0-only".into()];
    p.db_path = "var/lib/dpkg/status".into();
    inv.packages.push(p);
    inv
}

fn governance(yaml: &str, stage: &str) -> Governance {
    let file = parse_policy(yaml, "policy.yaml").unwrap_or_else(|e| panic!("{e}"));
    Governance::from_policy(&file, Some(stage)).unwrap()
}

fn run(g: &Governance, r: &mut ScanReport) -> (Verdict, PolicyOutcome) {
    let v = g.apply(r, &inventory(), TODAY);
    (v, r.policy.clone().expect("policy block"))
}

fn rules(o: &PolicyOutcome) -> Vec<&str> {
    o.reasons.iter().map(|r| r.rule.as_str()).collect()
}

#[test]
fn pass() {
    let g = governance("stages:\n  build:\n    fail_on: critical\n", "build");
    let mut r = report();
    let (v, o) = run(&g, &mut r);
    assert!(v.passed());
    assert_eq!(o.verdict, PolicyVerdict::Pass);
    assert_eq!(o.stage, "build");
    assert_eq!(o.file.as_deref(), Some("policy.yaml"));
    assert!(o.reasons.is_empty());
    assert_eq!(
        r.findings.len(),
        3,
        "a passing policy leaves every finding reported"
    );
    // The JSON block has the issue's shape.
    let j = serde_json::to_value(&o).unwrap();
    assert_eq!(j["stage"], "build");
    assert_eq!(j["verdict"], "pass");
    assert!(j["reasons"].as_array().unwrap().is_empty());
    for k in ["applied", "expired", "unused"] {
        assert!(j["exceptions"][k].is_array(), "{j}");
    }
}

#[test]
fn fail_on_names_the_findings() {
    let g = governance("stages:\n  build:\n    fail_on: medium\n", "build");
    let (v, o) = run(&g, &mut report());
    assert!(v.failed() && !v.unjudgeable());
    assert_eq!(o.verdict, PolicyVerdict::Fail);
    assert_eq!(rules(&o), ["fail_on medium"]);
    assert_eq!(o.reasons[0].message, "2 finding(s) at or above medium");
    assert_eq!(
        o.reasons[0].subjects,
        [
            "CVE-2024-2004 curl 1.0-1 (high, fixed in 1.0-2)",
            "CVE-2024-0001 libc6 1.0-1 (medium)"
        ]
    );
    let j = serde_json::to_value(&o).unwrap();
    assert_eq!(j["verdict"], "fail");
    assert_eq!(j["reasons"][0]["rule"], "fail_on medium");
}

#[test]
fn fixable_only_judges_findings_with_a_fix_and_keeps_the_rest_reported() {
    let g = governance(
        "stages:\n  build:\n    fail_on: medium\n    fixable_only: true\n",
        "build",
    );
    let mut r = report();
    let (_, o) = run(&g, &mut r);
    assert_eq!(
        o.reasons[0].message,
        "1 finding(s) with a fix at or above medium"
    );
    assert_eq!(r.findings.len(), 3);
}

#[test]
fn kev_fails_whatever_the_severity() {
    let mut r = report();
    r.findings[2].kev = Some(Kev {
        date_added: "2024-01-01".into(),
        due_date: None,
        known_ransomware_campaign_use: None,
    });
    // The default is kev: fail.
    let g = governance("stages:\n  build:\n    fail_on: critical\n", "build");
    let (v, o) = run(&g, &mut r.clone());
    assert!(v.failed());
    assert_eq!(rules(&o), ["kev"]);
    assert_eq!(
        o.reasons[0].subjects[0],
        "CVE-2024-0002 zlib1g 1.0-1 (low, fixed in 1.0-2)"
    );
    // warn: a warning, and a pass.
    let g = governance("stages:\n  local:\n    kev: warn\n", "local");
    let mut r2 = r.clone();
    let (v, _) = run(&g, &mut r2);
    assert!(v.passed());
    assert!(r2
        .warnings
        .iter()
        .any(|w| w.source == "policy" && w.message.starts_with("kev: 1 finding(s)")));
    let g = governance("stages:\n  local:\n    kev: ignore\n", "local");
    assert!(run(&g, &mut r.clone()).0.passed());
}

const TRUSTED: &str = r#"stages:
  build:
    trusted_bases: ["registry.example.com/base/*"]
  registry:
    trusted_bases: []
trusted_images:
  - pattern: docker.io/library/debian:12*
    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    approved_by: sec-governance
    expires: 2027-01-31
  - pattern: docker.io/library/alpine:3.18*
    approved_by: sec-governance
    expires: 2026-06-30
"#;

fn base(reference: &str, digest: Option<&str>) -> BaseImage {
    BaseImage {
        reference: reference.into(),
        digest: digest.map(Into::into),
        known_from: BaseSource::Catalog,
        created: None,
    }
}

#[test]
fn trusted_bases_fail_closed_on_an_unknown_base() {
    let g = governance(TRUSTED, "build");
    let (v, o) = run(&g, &mut report());
    assert!(v.failed());
    assert_eq!(rules(&o), ["trusted_bases"]);
    assert!(
        o.reasons[0].message.starts_with("base image unknown"),
        "{:?}",
        o.reasons
    );
}

#[test]
fn trusted_bases_by_pattern_lineage_and_annotation() {
    let mut g = governance(TRUSTED, "build");
    g.bases = vec![base("registry.example.com/base/debian:12", None)];
    assert!(run(&g, &mut report()).0.passed());
    // Descending from a trusted base further up the lineage is enough.
    g.bases = vec![
        base("registry.example.com/team/common:3", None),
        base("registry.example.com/base/debian:12", None),
    ];
    assert!(run(&g, &mut report()).0.passed());
    g.bases = vec![base("docker.io/library/ubuntu:24.04", None)];
    let (v, o) = run(&g, &mut report());
    assert!(v.failed());
    assert_eq!(
        o.reasons[0].message,
        "the image is not built on a trusted base"
    );
    assert_eq!(
        o.reasons[0].subjects,
        ["docker.io/library/ubuntu:24.04 (from the catalog)"]
    );
    // With no base given, the image's annotation names it.
    g.bases.clear();
    let mut r = report();
    r.image.annotations.insert(
        "org.opencontainers.image.base.name".into(),
        "registry.example.com/base/debian:12".into(),
    );
    assert!(run(&g, &mut r).0.passed());
}

#[test]
fn trusted_images_list() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut g = governance(TRUSTED, "registry");
    g.bases = vec![base("docker.io/library/debian:12-slim", Some(digest))];
    assert!(run(&g, &mut report()).0.passed());
    // Another digest than the approved one.
    g.bases = vec![base("docker.io/library/debian:12-slim", Some("sha256:ff"))];
    let (v, o) = run(&g, &mut report());
    assert!(v.failed());
    assert!(
        o.reasons[0].subjects[1].contains(&format!("only {digest} is approved")),
        "{:?}",
        o.reasons
    );
    // An approval that has expired.
    g.bases = vec![base("docker.io/library/alpine:3.18", None)];
    let (v, o) = run(&g, &mut report());
    assert!(v.failed());
    assert!(
        o.reasons[0].subjects[1].contains("approval expired"),
        "{:?}",
        o.reasons
    );
}

#[test]
fn base_age() {
    let mut g = governance("stages:\n  build:\n    max_base_age_days: 30\n", "build");
    let mut r = report();
    assert!(run(&g, &mut r).0.passed(), "an unknown age is not judged");
    assert!(r.warnings.iter().any(|w| w.message.contains("not judged")));
    g.bases = vec![BaseImage {
        created: Some(date!(2026 - 10 - 01)),
        ..base("registry.example.com/base/debian:12", None)
    }];
    let (v, o) = run(&g, &mut report());
    assert!(v.failed());
    assert_eq!(
        o.reasons[0].message,
        "the base image is 67 days old (at most 30)"
    );
}

#[test]
fn denied_packages_licenses_and_labels() {
    let yaml = r#"stages:
  build:
    denied_packages: [telnetd, {package: "curl@2.*", reason: old}]
    denied_licenses: ["AGPL-*"]
    required_labels: [org.opencontainers.image.source, "team=web*"]
"#;
    let g = governance(yaml, "build");
    let mut r = report();
    r.image.labels.insert("team".into(), "payments".into());
    let (v, o) = run(&g, &mut r);
    assert!(v.failed());
    assert_eq!(
        rules(&o),
        ["denied_packages", "denied_licenses", "required_labels"]
    );
    assert_eq!(
        o.reasons[0].subjects,
        ["telnetd 0.17-44 (var/lib/dpkg/status, denied by telnetd)"]
    );
    assert_eq!(o.reasons[1].subjects, ["telnetd 0.17-44 (AGPL-3.0-only)"]);
    assert_eq!(
        o.reasons[2].subjects,
        [
            "org.opencontainers.image.source (missing)",
            "team=\"payments\" (must match web*)"
        ]
    );
}

fn check(id: &str, severity: Severity, path: &str) -> CheckFinding {
    let mut c = CheckFinding::new(id, severity, "m", "f");
    c.path = Some(path.into());
    c
}

#[test]
fn checks_deny_and_fail_on() {
    let yaml = "stages:\n  build:\n    checks:\n      fail_on: high\n      deny: [\"secret.*\"]\n      allow: [config.no-healthcheck]\n";
    let g = governance(yaml, "build");
    let mut r = report();
    r.checks = vec![
        check("secret.generic-api-key", Severity::Medium, "app/.env"),
        check("config.root-user", Severity::High, "image config"),
        check("config.no-healthcheck", Severity::High, "image config"),
        check("fs.world-writable", Severity::Low, "tmp/x"),
    ];
    let (v, o) = run(&g, &mut r);
    assert!(v.failed());
    assert_eq!(rules(&o), ["checks"]);
    assert_eq!(
        o.reasons[0].message,
        "2 check finding(s) at or above high or denied"
    );
    assert_eq!(
        o.reasons[0].subjects,
        [
            "secret.generic-api-key app/.env (medium)",
            "config.root-user image config (high)"
        ]
    );
}

#[test]
fn applied_exception_takes_findings_and_checks_out() {
    let yaml = r#"stages:
  build:
    fail_on: high
    checks: {deny: ["secret.*"]}
exceptions:
  - id: CVE-2024-2004
    packages: [curl, libcurl4]
    reason: not reachable in this service
    owner: team-web
    expires: 2027-06-30
  - id: secret.*
    paths: [app/test/*]
    reason: test fixtures
    owner: team-web
    expires: 2027-06-30
    justification: component_not_present
"#;
    let g = governance(yaml, "build");
    let mut r = report();
    r.checks = vec![check(
        "secret.generic-api-key",
        Severity::Medium,
        "app/test/key.pem",
    )];
    let (v, o) = run(&g, &mut r);
    assert!(v.passed(), "{:?}", o.reasons);
    assert_eq!(r.findings.len(), 2);
    assert!(r.checks.is_empty());
    let a = &o.exceptions.applied;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].exception.id, "CVE-2024-2004");
    assert_eq!(a[0].exception.owner.as_deref(), Some("team-web"));
    assert_eq!(a[0].exception.expires.as_deref(), Some("2027-06-30"));
    assert_eq!(a[0].exception.source.as_deref(), Some("policy.yaml:6"));
    assert_eq!(a[0].suppressed[0].id, "CVE-2024-2004");
    assert_eq!(a[0].suppressed[0].subject, "curl@1.0-1");
    assert_eq!(a[0].suppressed[0].by, "exception");
    assert_eq!(a[1].suppressed[0].subject, "app/test/key.pem");
    assert!(o.exceptions.expired.is_empty() && o.exceptions.unused.is_empty());
}

#[test]
fn expired_exception_no_longer_applies() {
    let yaml = "stages:\n  build:\n    fail_on: high\nexceptions:\n  - id: CVE-2024-2004\n    reason: r\n    owner: team-web\n    expires: 2026-12-06\n";
    let g = governance(yaml, "build");
    let mut r = report();
    let (v, o) = run(&g, &mut r);
    assert!(v.failed());
    assert_eq!(rules(&o), ["fail_on high"]);
    assert_eq!(r.findings.len(), 3);
    assert!(o.exceptions.applied.is_empty());
    assert_eq!(o.exceptions.expired.len(), 1);
    assert_eq!(
        o.exceptions.expired[0].expires.as_deref(),
        Some("2026-12-06")
    );
    assert!(o.exceptions.unused.is_empty());
    // On its expiry day it still applies.
    let yaml = yaml.replace("2026-12-06", "2026-12-07");
    assert!(run(&governance(&yaml, "build"), &mut report()).0.passed());
}

#[test]
fn unused_exception_is_reported() {
    let yaml = "stages:\n  build:\n    fail_on: critical\nexceptions:\n  - id: CVE-1999-0001\n    reason: r\n    expires: 2027-01-01\n  - id: CVE-2024-2004\n    images: [registry.example.com/other/*]\n    reason: r\n    expires: 2027-01-01\n";
    let g = governance(yaml, "build");
    let (v, o) = run(&g, &mut report());
    assert!(v.passed());
    let unused: Vec<&str> = o.exceptions.unused.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(unused, ["CVE-1999-0001", "CVE-2024-2004"]);
    let j = serde_json::to_value(&o).unwrap();
    assert_eq!(j["exceptions"]["unused"][0]["id"], "CVE-1999-0001");
}

#[test]
fn unmatched_packages_make_the_scan_unjudgeable() {
    let mut r = report();
    r.packages_not_matched = 1;
    r.unmatched = vec![Unmatched {
        package: "foo@1".into(),
        reason: "no advisory data for Debian 99".into(),
    }];
    let g = governance("stages:\n  build:\n    fail_on: critical\n", "build");
    let (v, o) = run(&g, &mut r.clone());
    assert!(v.unjudgeable());
    assert_eq!(o.verdict, PolicyVerdict::Unjudgeable);
    assert_eq!(rules(&o), ["unmatched"]);
    assert_eq!(
        o.reasons[0].subjects,
        ["foo@1: no advisory data for Debian 99"]
    );
    let g = governance("stages:\n  build:\n    unmatched: warn\n", "build");
    let mut r2 = r.clone();
    assert!(run(&g, &mut r2).0.passed());
    assert!(r2
        .warnings
        .iter()
        .any(|w| w.message.starts_with("unmatched: 1 package(s)")));
    r.inventory_complete = false;
    let g = governance("stages:\n  build:\n    unmatched: ignore\n", "build");
    let (v, o) = run(&g, &mut r);
    assert!(v.unjudgeable());
    assert_eq!(rules(&o), ["incomplete"]);
}

#[test]
fn exceptions_files_without_a_policy() {
    let imported = patchline_policy::import::parse_exceptions_file(
        "CVE-2024-2004 exp:2027-01-01\n",
        ".trivyignore",
    )
    .unwrap();
    let g = Governance {
        exceptions: imported.exceptions,
        ..Default::default()
    };
    assert!(g.is_active());
    let mut r = report();
    let (v, o) = run(&g, &mut r);
    assert!(v.passed());
    assert_eq!(o.stage, "");
    assert_eq!(
        o.exceptions.applied[0].exception.source.as_deref(),
        Some(".trivyignore:1")
    );
    assert_eq!(r.findings.len(), 2);
}

#[test]
fn flag_breaches_join_the_policy_block() {
    let g = governance("stages:\n  build:\n    fail_on: critical\n", "build");
    let mut r = report();
    let mut v = g.apply(&mut r, &inventory(), TODAY);
    let flags = super::super::Policy::from_flags(Some(Severity::High), false, false).apply(&mut r);
    v.breaches.extend(flags.breaches.iter().cloned());
    merge_flag_verdict(&mut r, &flags, &v);
    let o = r.policy.unwrap();
    assert_eq!(o.verdict, PolicyVerdict::Fail);
    assert_eq!(rules(&o), ["fail-on high"]);
    assert_eq!(o.reasons[0].subjects, ["CVE-2024-2004 curl 1.0-1 (high)"]);
}
