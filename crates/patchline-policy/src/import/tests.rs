use super::*;
use time::macros::date;

#[test]
fn detects_formats() {
    assert_eq!(detect(".trivyignore", ""), Format::TrivyIgnore);
    assert_eq!(detect("ci/.trivyignore.yaml", ""), Format::TrivyYaml);
    assert_eq!(detect(".grype.yaml", ""), Format::Grype);
    assert_eq!(
        detect("x.yaml", "# c\nignore:\n  - vulnerability: CVE-1\n"),
        Format::Grype
    );
    assert_eq!(
        detect("x.yaml", "vulnerabilities:\n- id: CVE-1\n"),
        Format::TrivyYaml
    );
    assert_eq!(detect("x.yaml", "exceptions: []\n"), Format::Patchline);
    assert_eq!(
        detect("ignores", "# c\nCVE-2023-5752\n"),
        Format::TrivyIgnore
    );
}

/// The shape of Trivy's documented example, with purls and paths.
const TRIVY_YAML: &str = r#"vulnerabilities:
  - id: CVE-2022-40897
    paths:
      - "usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"
    statement: Accept the risk
  - id: CVE-2023-3817
    purls:
      - "pkg:deb/debian/libssl1.1"
  - id: CVE-2020-15114
    expired_at: 2024-08-20
    statement: "Review in 6 months"
misconfigurations:
  - id: AVD-DS-0002
secrets:
  - id: aws-access-key-id
    paths: ["/app/.env"]
licenses:
  - id: GPL-3.0
"#;

#[test]
fn trivy_yaml() {
    let i = parse_exceptions_file(TRIVY_YAML, ".trivyignore.yaml").unwrap();
    assert_eq!(i.format, Format::TrivyYaml);
    let ids: Vec<&str> = i.exceptions.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "CVE-2022-40897",
            "CVE-2023-3817",
            "CVE-2020-15114",
            "AVD-DS-0002",
            "aws-access-key-id"
        ]
    );
    let e = &i.exceptions;
    assert_eq!(e[0].reason, "Accept the risk");
    assert_eq!(e[0].paths.len(), 1);
    assert_eq!(e[1].packages, ["pkg:deb/debian/libssl1.1"]);
    assert_eq!(e[1].reason, "imported from Trivy (vulnerabilities)");
    // Trivy stops ignoring on expired_at itself.
    assert_eq!(e[2].expires, Some(date!(2024 - 08 - 19)));
    assert!(e[2].is_expired(date!(2024 - 08 - 20)));
    assert_eq!(e[2].source.as_deref(), Some(".trivyignore.yaml:9"));
    assert_eq!(i.warnings.len(), 1);
    assert!(
        i.warnings[0].starts_with(".trivyignore.yaml:18: licenses entry GPL-3.0"),
        "{:?}",
        i.warnings
    );
}

#[test]
fn trivy_yaml_bad_date_has_its_line() {
    let e = parse_exceptions_file(
        "vulnerabilities:\n  - id: CVE-1\n    expired_at: 2024-13-01\n",
        ".trivyignore.yaml",
    )
    .unwrap_err();
    assert_eq!(e.problems[0].line, Some(3), "{e}");
}

#[test]
fn trivyignore_lines() {
    let text = "# Accept these\nCVE-2018-14618\n\nCVE-2019-1543 exp:2023-01-01  # until the upgrade\nAVD-DS-0002\n";
    let i = parse_exceptions_file(text, ".trivyignore").unwrap();
    assert_eq!(i.exceptions.len(), 3);
    assert_eq!(i.exceptions[0].expires, None);
    assert_eq!(i.exceptions[1].id, "CVE-2019-1543");
    assert_eq!(i.exceptions[1].expires, Some(date!(2022 - 12 - 31)));
    assert_eq!(i.exceptions[1].source.as_deref(), Some(".trivyignore:4"));
    let e = parse_exceptions_file("CVE-1\nCVE-2 exp:2023-1-1\n", ".trivyignore").unwrap_err();
    assert_eq!(e.problems[0].line, Some(2), "{e}");
}

/// Grype's README ignore rules, with the other settings of a `.grype.yaml` beside them.
const GRYPE: &str = r#"output: table
fail-on-severity: high
ignore:
  - vulnerability: CVE-2008-4318
    fix-state: unknown
  - vulnerability: CVE-2021-23337
    package:
      name: lodash
      version: 4.17.20
      type: npm
  - fix-state: wont-fix
  - package:
      location: "/usr/local/lib/node_modules/**"
    reason: vendored tooling
  - vulnerability: CVE-2017-41432
    vex-status: not_affected
    vex-justification: vulnerable_code_not_present
  - vulnerability: GHSA-xxxx-yyyy-zzzz
    fix-state: not-fixed
"#;

#[test]
fn grype_rules() {
    let i = parse_exceptions_file(GRYPE, ".grype.yaml").unwrap();
    assert_eq!(i.format, Format::Grype);
    let e = &i.exceptions;
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(e[0].id, "CVE-2021-23337");
    assert_eq!(e[0].packages, ["lodash@4.17.20"]);
    assert_eq!(e[1].id, "*");
    assert_eq!(e[1].fix_state, Some(FixState::WillNotFix));
    assert_eq!(e[2].paths, ["/usr/local/lib/node_modules/*"]);
    assert_eq!(e[2].reason, "vendored tooling");
    assert_eq!(e[3].fix_state, Some(FixState::Unfixed));
    assert!(e.iter().all(|e| e.expires.is_none()));
    assert_eq!(e[0].source.as_deref(), Some(".grype.yaml:6"));
    let w = i.warnings.join("\n");
    assert!(
        w.contains(".grype.yaml:4: rule on fix-state unknown"),
        "{w}"
    );
    assert!(w.contains("package.type not judged"), "{w}");
    assert!(w.contains("vex-status not imported"), "{w}");
}

#[test]
fn patchline_exceptions_file() {
    let text = "exceptions:\n  - id: secret.*\n    paths: [app/test/*]\n    reason: test fixtures\n    owner: team-web\n    expires: 2027-01-01\n    justification: component_not_present\n";
    let i = parse_exceptions_file(text, "exceptions.yaml").unwrap();
    assert_eq!(i.format, Format::Patchline);
    assert_eq!(i.exceptions[0].source.as_deref(), Some("exceptions.yaml:2"));
    let e = parse_exceptions_file(
        "exceptions:\n  - id: CVE-1\n    reason: x\n",
        "exceptions.yaml",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("exceptions.yaml:2: exception CVE-1: no expires"),
        "{e}"
    );
}
