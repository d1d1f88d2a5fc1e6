use super::*;
use patchline_model::vuln::{DbInfo, FindingPackage, SCAN_SCHEMA};
use patchline_model::{Ecosystem, ImageInfo, Tool};

fn finding(id: &str, severity: Severity, state: FixState) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        advisories: vec![],
        package: FindingPackage {
            ecosystem: Ecosystem::Deb,
            name: format!("pkg-{id}"),
            version: "1.0-1".into(),
            arch: None,
            source_name: None,
            source_version: None,
            purl: String::new(),
            introduced: None,
            last_changed: None,
            sbom_ref: None,
            path: None,
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

/// One finding per fix state and a spread of severities, in risk order.
fn report() -> ScanReport {
    ScanReport {
        scanners: Default::default(),
        checks: Default::default(),
        policy: Default::default(),
        schema: SCAN_SCHEMA.into(),
        tool: Tool::default(),
        image: ImageInfo::default(),
        distro: None,
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: 10,
        packages_not_matched: 0,
        unmatched: vec![],
        packages_managed_by_os: 0,
        findings: vec![
            finding("CVE-1", Severity::Critical, FixState::Fixed),
            finding("CVE-2", Severity::High, FixState::Unfixed),
            finding("CVE-3", Severity::Medium, FixState::Fixed),
            finding("CVE-4", Severity::Low, FixState::WillNotFix),
            finding("CVE-5", Severity::Negligible, FixState::Unimportant),
            finding("CVE-6", Severity::Unknown, FixState::Fixed),
        ],
        inventory_complete: true,
        warnings: vec![],
    }
}

fn ids(r: &ScanReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id.as_str()).collect()
}

fn breaching(v: &Verdict) -> Vec<&str> {
    v.breaches
        .iter()
        .flat_map(|b| &b.findings)
        .map(|f| f.id.as_str())
        .collect()
}

#[test]
fn no_rules_report_everything_and_pass() {
    let mut r = report();
    let v = Policy::new().apply(&mut r);
    assert!(v.passed() && !v.failed());
    assert_eq!(v, Verdict::default());
    assert_eq!(r, report());
    let v = Policy::from_flags(None, false, false).apply(&mut r);
    assert!(v.passed());
    assert_eq!(r, report());
}

#[test]
fn only_fixed_keeps_findings_with_a_fixed_version() {
    let mut r = report();
    let v = Policy::from_flags(None, true, false).apply(&mut r);
    assert_eq!(ids(&r), ["CVE-1", "CVE-3", "CVE-6"]);
    assert!(v.passed());
    assert_eq!(
        v.filtered,
        [Filtered {
            rule: "only-fixed".into(),
            count: 3
        }]
    );
    // A finding marked fixed without any fixed version has nothing to upgrade to.
    let mut r = report();
    r.findings[0].fixed_versions.clear();
    Policy::new().with(OnlyFixed).apply(&mut r);
    assert_eq!(ids(&r), ["CVE-3", "CVE-6"]);
}

#[test]
fn ignore_unfixed_drops_unfixed_will_not_fix_and_unimportant() {
    let mut r = report();
    let v = Policy::from_flags(None, false, true).apply(&mut r);
    assert_eq!(ids(&r), ["CVE-1", "CVE-3", "CVE-6"]);
    assert_eq!(v.filtered[0].rule, "ignore-unfixed");
    assert_eq!(v.filtered[0].count, 3);
    for state in [
        FixState::Unfixed,
        FixState::WillNotFix,
        FixState::Unimportant,
    ] {
        assert!(
            !IgnoreUnfixed.keeps(&finding("x", Severity::High, state)),
            "{state:?}"
        );
    }
    assert!(IgnoreUnfixed.keeps(&finding("x", Severity::High, FixState::Fixed)));
}

#[test]
fn both_filters_count_each_finding_once() {
    let mut r = report();
    let v = Policy::from_flags(None, true, true).apply(&mut r);
    assert_eq!(ids(&r), ["CVE-1", "CVE-3", "CVE-6"]);
    // The first rule that leaves a finding out is credited.
    assert_eq!(
        v.filtered,
        [Filtered {
            rule: "only-fixed".into(),
            count: 3
        }]
    );
}

#[test]
fn fail_on_threshold_boundaries() {
    let cases: [(Severity, &[&str]); 6] = [
        (Severity::Critical, &["CVE-1"]),
        (Severity::High, &["CVE-1", "CVE-2"]),
        (Severity::Medium, &["CVE-1", "CVE-2", "CVE-3"]),
        (Severity::Low, &["CVE-1", "CVE-2", "CVE-3", "CVE-4"]),
        (
            Severity::Negligible,
            &["CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-5"],
        ),
        // Unknown severity trips only the `unknown` threshold.
        (
            Severity::Unknown,
            &["CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-5", "CVE-6"],
        ),
    ];
    for (threshold, want) in cases {
        let mut r = report();
        let v = Policy::from_flags(Some(threshold), false, false).apply(&mut r);
        assert!(v.failed(), "{threshold:?}");
        assert_eq!(breaching(&v), want, "{threshold:?}");
        assert_eq!(v.breaches.len(), 1);
        let b = &v.breaches[0];
        assert_eq!(b.rule, format!("fail-on {}", threshold.as_str()));
        assert_eq!(
            b.message,
            format!(
                "{} finding(s) at or above {}",
                want.len(),
                threshold.as_str()
            )
        );
        // The gate reports; it does not filter.
        assert_eq!(r.findings.len(), 6);
    }
    // Exactly at the threshold fails, one band below passes.
    let mut r = report();
    r.findings.retain(|f| f.severity == Severity::Medium);
    assert!(Policy::new()
        .with(FailOn(Severity::Medium))
        .apply(&mut r.clone())
        .failed());
    assert!(Policy::new()
        .with(FailOn(Severity::High))
        .apply(&mut r)
        .passed());
    // A clean report passes any threshold.
    let mut clean = report();
    clean.findings.clear();
    assert!(Policy::from_flags(Some(Severity::Unknown), true, true)
        .apply(&mut clean)
        .passed());
}

#[test]
fn gates_judge_only_what_the_filters_kept() {
    // `--fail-on high --ignore-unfixed`: the unfixed high finding is out of the report,
    // so only the fixed critical one fails the gate.
    let mut r = report();
    let v = Policy::from_flags(Some(Severity::High), false, true).apply(&mut r);
    assert_eq!(breaching(&v), ["CVE-1"]);
    // `--fail-on low --only-fixed`: the remaining low-or-above are the fixed ones.
    let mut r = report();
    let v = Policy::from_flags(Some(Severity::Low), true, false).apply(&mut r);
    assert_eq!(breaching(&v), ["CVE-1", "CVE-3"]);
    // Nothing fixed at or above high: pass.
    let mut r = report();
    r.findings[0].state = FixState::Unfixed;
    r.findings[0].fixed_versions.clear();
    let v = Policy::from_flags(Some(Severity::High), false, true).apply(&mut r);
    assert!(v.passed(), "{v:?}");
}

#[test]
fn breaches_name_the_findings() {
    let mut r = report();
    let v = Policy::from_flags(Some(Severity::High), false, false).apply(&mut r);
    assert_eq!(
        v.breaches[0].findings[1],
        Breaching {
            id: "CVE-2".into(),
            package: "pkg-CVE-2".into(),
            version: "1.0-1".into(),
            severity: Severity::High,
        }
    );
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["breaches"][0]["rule"], "fail-on high");
    assert_eq!(json["breaches"][0]["findings"][0]["severity"], "critical");
    assert!(json.get("filtered").is_none());
}

/// A rule of the kind policy files and exceptions will add: both a filter and a gate.
#[derive(Debug)]
struct Exception {
    id: &'static str,
}

impl Rule for Exception {
    fn name(&self) -> String {
        format!("exception {}", self.id)
    }
    fn keeps(&self, f: &Finding) -> bool {
        f.id != self.id
    }
}

#[derive(Debug)]
struct NoWillNotFix;

impl Rule for NoWillNotFix {
    fn name(&self) -> String {
        "no-will-not-fix".into()
    }
    fn breaches(&self, f: &Finding) -> bool {
        f.state == FixState::WillNotFix
    }
}

#[test]
fn rules_of_other_kinds_plug_in() {
    let policy = Policy::from_flags(Some(Severity::Critical), false, false)
        .with(Exception { id: "CVE-1" })
        .with(NoWillNotFix);
    let mut r = report();
    let v = policy.apply(&mut r);
    assert!(!ids(&r).contains(&"CVE-1"));
    assert_eq!(
        v.filtered,
        [Filtered {
            rule: "exception CVE-1".into(),
            count: 1
        }]
    );
    // The excepted critical finding no longer fails `--fail-on critical`; the
    // will-not-fix one fails the other gate, with the default message.
    assert_eq!(v.breaches.len(), 1);
    assert_eq!(v.breaches[0].rule, "no-will-not-fix");
    assert_eq!(v.breaches[0].message, "1 finding(s) breach no-will-not-fix");
    assert_eq!(breaching(&v), ["CVE-4"]);
    // Policies are shared across threads (a server's workers).
    fn shared<T: Send + Sync + Clone>(_: &T) {}
    shared(&policy);
    assert_eq!(
        policy.rules().len(),
        5,
        "require-complete, require-matched, fail-on, and the two plugged in"
    );
}

#[test]
fn fail_on_fails_closed_when_packages_were_not_matched() {
    let mut r = report();
    r.findings.clear();
    r.packages_not_matched = 4;
    let v = Policy::from_flags(Some(Severity::Critical), false, false).apply(&mut r.clone());
    assert!(v.failed() && v.unjudgeable(), "{v:?}");
    // --allow-unmatched: judged on what was matched (nothing here).
    assert!(Policy::from_flags(Some(Severity::Critical), false, false)
        .allowing_unmatched()
        .apply(&mut r.clone())
        .passed());
    assert_eq!(v.breaches.len(), 1);
    assert!(v.breaches[0].findings.is_empty());
    assert!(
        v.breaches[0]
            .message
            .contains("4 package(s) could not be matched"),
        "{}",
        v.breaches[0].message
    );
    // Without a gate nothing fails; filters alone never judge coverage.
    assert!(Policy::from_flags(None, true, true).apply(&mut r).passed());
    // Everything examined: the gate judges the findings alone.
    let mut r = report();
    r.findings.clear();
    assert!(Policy::from_flags(Some(Severity::Low), false, false)
        .apply(&mut r)
        .passed());
}

#[test]
fn a_gate_cannot_judge_an_incomplete_inventory() {
    let mut r = report();
    r.inventory_complete = false;
    let v = Policy::from_flags(Some(Severity::Critical), false, false).apply(&mut r.clone());
    assert!(v.failed() && v.unjudgeable(), "{v:?}");
    assert!(v.breaches[0].message.contains("inventory is incomplete"));
    // --allow-incomplete: judged on what was read (CVE-1 is critical).
    let v = Policy::from_flags(Some(Severity::Critical), false, false)
        .allowing_incomplete()
        .apply(&mut r.clone());
    assert!(v.failed() && !v.unjudgeable(), "{v:?}");
    // No gate, no judgement: an incomplete inventory alone never fails a scan.
    assert!(Policy::from_flags(None, false, false)
        .apply(&mut r)
        .passed());
    // Complete: the coverage rule is silent.
    let mut r = report();
    r.findings.clear();
    assert!(Policy::from_flags(Some(Severity::Low), false, false)
        .apply(&mut r)
        .passed());
}
