//! The VEX reader on real documents (`tests/data/vex`, sources in its README): the
//! statements each yields, and what they match. The documents are first checked against
//! their format's schema (`../shared/data/schemas`), so that the reader is tested on
//! conforming input.

use std::path::{Path, PathBuf};

use jsonschema::{Draft, Resource, Validator};
use patchline_model::vuln::{Finding, FindingPackage, FixState, Severity};
use patchline_model::{Ecosystem, ImageInfo};
use patchline_policy::vex::{effective, read_vex, VexStatement, VexStatus};
use patchline_test_support::shared_data_path;
use serde_json::Value;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vex")
        .join(rel)
}

fn read(rel: &str) -> Vec<VexStatement> {
    read_vex(&data(rel)).unwrap_or_else(|e| panic!("{e}"))
}

fn load(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn finding(id: &str, purl: &str) -> Finding {
    Finding {
        id: id.into(),
        aliases: vec![],
        advisories: vec![],
        package: FindingPackage {
            ecosystem: Ecosystem::Apk,
            name: "libssl3".into(),
            version: "3.0.8-r3".into(),
            arch: None,
            source_name: None,
            source_version: None,
            purl: purl.into(),
            introduced: None,
            last_changed: None,
            sbom_ref: None,
            path: None,
        },
        ecosystem: "Alpine:v3.17".into(),
        state: FixState::Fixed,
        fixed_versions: vec![],
        severity: Severity::High,
        severity_source: "nvd".into(),
        cvss: vec![],
        kev: None,
        epss: None,
        summary: None,
        references: vec![],
    }
}

fn image(digest: &str) -> ImageInfo {
    ImageInfo {
        reference: "docker://docker.io/library/alpine:3.17".into(),
        manifest_digest: Some(digest.parse().unwrap()),
        ..Default::default()
    }
}

const ALPINE: &str = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";

fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
}

#[test]
fn openvex_documents_conform_and_read() {
    let Some(schema) = shared_data_path("schemas/openvex/openvex_json_schema.json") else {
        return;
    };
    let v = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&load(&schema))
        .unwrap();
    for f in ["openvex/go-vex-v0.2.0.json", "openvex/vexctl-demo.vex.json"] {
        assert_valid(&v, &load(&data(f)), f);
    }

    // An image with subcomponents: three fixed, two not_affected with justifications.
    let s = read("openvex/go-vex-v0.2.0.json");
    assert_eq!(s.len(), 5);
    let statuses: Vec<&str> = s.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["fixed", "fixed", "fixed", "not_affected", "not_affected"]
    );
    assert_eq!(
        s[0].products,
        ["pkg:oci/alpine@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"]
    );
    assert_eq!(
        s[0].subcomponents,
        [
            "pkg:apk/alpine/libssl3@3.0.8-r3",
            "pkg:apk/alpine/libcrypto3@3.0.8-r3"
        ]
    );
    assert_eq!(
        s[3].justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert_eq!(
        s[3].impact_statement.as_deref(),
        Some("affected functions were removed before packaging")
    );
    let img = image(ALPINE);
    let libssl = "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64&distro=alpine-3.17.3";
    assert!(s[3].matches(&finding("CVE-2023-3446", libssl), &img));
    // Another package of the image, another image, another vulnerability.
    assert!(!s[3].matches(
        &finding("CVE-2023-3446", "pkg:apk/alpine/busybox@1.36.0-r0"),
        &img
    ));
    let other = image("sha256:2222222222222222222222222222222222222222222222222222222222222222");
    assert!(!s[3].matches(&finding("CVE-2023-3446", libssl), &other));
    assert!(!s[3].matches(&finding("CVE-2023-3817", libssl), &img));
    assert!(s[4].matches(&finding("CVE-2023-3817", libssl), &img));

    // Package products with arch qualifiers.
    let s = read("openvex/vexctl-demo.vex.json");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, VexStatus::Fixed);
    assert_eq!(s[0].products.len(), 2);
    let git = |arch| {
        finding(
            "CVE-2014-123456",
            &format!("pkg:apk/distro/git@2.39.0-r1?arch={arch}"),
        )
    };
    assert!(s[0].matches(&git("x86_64"), &img));
    assert!(!s[0].matches(&git("aarch64"), &img));

    // vexctl's own sample carries a `statement` property the schema does not have; the
    // reader ignores it.
    let mut history = load(&data("openvex/vexctl-sample-history.openvex.json"));
    let errors: Vec<String> = v.iter_errors(&history).map(|e| e.to_string()).collect();
    assert!(
        errors
            .iter()
            .all(|e| e.contains("'statement' was unexpected")),
        "{errors:?}"
    );
    for s in history["statements"].as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("statement");
    }
    assert_valid(&v, &history, "vexctl-sample-history without `statement`");

    // Aliases, and a repeated statement: the later (timestamp) one decides.
    let s = read("openvex/vexctl-sample-history.openvex.json");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].aliases, ["SNYK-DEBIAN12-LIBDE265-3361563"]);
    assert_eq!(s[0].justification.as_deref(), Some("component_not_present"));
    let nginx = image("sha256:13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0");
    let mut f = finding(
        "SNYK-DEBIAN12-LIBDE265-3361563",
        "pkg:deb/debian/libde265@1.0.11-1",
    );
    assert!(effective(&s, &f, &nginx).is_some());
    f.id = "CVE-2023-27103".into();
    let e = effective(&s, &f, &nginx).unwrap();
    assert_eq!(
        e.timestamp.as_deref(),
        Some("2023-08-16T19:55:22.076684217-06:00")
    );
}

#[test]
fn openvex_v0_0_1_strings_read() {
    let s = read("openvex/vexctl-images-v0.0.1.vex.json");
    assert_eq!(s.len(), 4);
    assert!(s.iter().all(|s| s.status == VexStatus::UnderInvestigation
        && s.vulnerability == "CVE-1234-5678"
        && !s.status.suppresses()));
    let products: Vec<&str> = s.iter().map(|s| s.products[0].as_str()).collect();
    assert!(products.contains(&"registry.k8s.io/kube-apiserver:v1.26.0"));
    let img = ImageInfo {
        reference: "docker://registry.k8s.io/kube-apiserver:v1.26.0".into(),
        ..Default::default()
    };
    let f = finding("CVE-1234-5678", "pkg:golang/k8s.io/apiserver@0.26.0");
    // The reference and the repository_url purl with its tag both name it.
    assert_eq!(s.iter().filter(|s| s.matches(&f, &img)).count(), 2);
}

#[test]
fn cyclonedx_documents_conform_and_read() {
    let Some(dir) = shared_data_path("schemas/cyclonedx") else {
        return;
    };
    let mut opts = jsonschema::options();
    opts.with_draft(Draft::Draft7);
    for file in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let schema = load(&dir.join(file));
        let id = schema["$id"].as_str().unwrap().to_string();
        opts.with_resource(id, Resource::from_contents(schema).unwrap());
    }
    let v = opts.build(&load(&dir.join("bom-1.6.schema.json"))).unwrap();
    let files = [
        ("cyclonedx/bom-examples-vex.json", "not_affected"),
        ("cyclonedx/cisa-case-1-affected.json", "affected"),
        ("cyclonedx/cisa-case-1-fixed.json", "fixed"),
        ("cyclonedx/cisa-case-1-not_affected.json", "not_affected"),
        (
            "cyclonedx/cisa-case-1-under_investigation.json",
            "under_investigation",
        ),
    ];
    for (f, status) in files {
        assert_valid(&v, &load(&data(f)), f);
        let s = read(f);
        assert_eq!(s.len(), 1, "{f}");
        assert_eq!(s[0].status.as_str(), status, "{f}");
        assert!(s[0].vulnerability.starts_with("CVE-"), "{f}");
    }

    // A BOM-Link ref resolves to the purl in its fragment; CycloneDX's justification
    // becomes OpenVEX's; references are aliases.
    let s = read("cyclonedx/bom-examples-vex.json");
    assert_eq!(
        s[0].products,
        ["pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"]
    );
    assert_eq!(
        s[0].justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert_eq!(s[0].aliases, ["SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302"]);
    let img = image(ALPINE);
    let mut f = finding(
        "CVE-2020-25649",
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0",
    );
    assert!(s[0].matches(&f, &img));
    f.package.purl = "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.12.0".into();
    assert!(!s[0].matches(&f, &img));

    // A product named only by a bom-ref without a purl names nothing here.
    let s = read("cyclonedx/cisa-case-1-not_affected.json");
    assert_eq!(s[0].products, ["product-ABC"]);
    assert_eq!(
        s[0].justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert!(!s[0].matches(
        &finding(
            "CVE-2021-44228",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        ),
        &img
    ));

    let s = read("cyclonedx/use-case-12.json");
    let got: Vec<(&str, &str, Option<&str>)> = s
        .iter()
        .map(|s| {
            (
                s.vulnerability.as_str(),
                s.status.as_str(),
                s.justification.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "CVE-2020-25649",
                "not_affected",
                Some("vulnerable_code_not_in_execute_path")
            ),
            ("CVE-2020-35491", "affected", None),
            (
                "CVE-2020-14195",
                "not_affected",
                Some("inline_mitigations_already_exist")
            ),
        ]
    );
}

fn csaf_validator() -> Option<Validator> {
    let dir = shared_data_path("schemas/csaf")?;
    let mut opts = jsonschema::options();
    opts.with_draft(Draft::Draft202012);
    for (file, url) in [
        (
            "cvss-v2.0.json",
            "https://www.first.org/cvss/cvss-v2.0.json",
        ),
        (
            "cvss-v3.0.json",
            "https://www.first.org/cvss/cvss-v3.0.json",
        ),
        (
            "cvss-v3.1.json",
            "https://www.first.org/cvss/cvss-v3.1.json",
        ),
    ] {
        let mut schema = load(&dir.join(file));
        // Registered under the URL the CSAF schema refers to, not their own `$id`s.
        schema.as_object_mut().unwrap().remove("$id");
        opts.with_resource(url, Resource::from_contents(schema).unwrap());
    }
    Some(
        opts.build(&load(&dir.join("csaf_json_schema.json")))
            .unwrap(),
    )
}

#[test]
fn csaf_documents_conform_and_read() {
    let Some(v) = csaf_validator() else { return };
    for f in [
        "csaf/2022-evd-uc-01-na-001.json",
        "csaf/2022-evd-uc-01-f-001.json",
        "csaf/sec-vex-2022-0001.json",
        "csaf/vexctl-csaf.json",
    ] {
        assert_valid(&v, &load(&data(f)), f);
    }
    let s = read("csaf/2022-evd-uc-01-na-001.json");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, VexStatus::NotAffected);
    assert_eq!(s[0].products, ["Example Company ABC 4.2"]);
    assert_eq!(
        s[0].impact_statement.as_deref(),
        Some("Class with vulnerable code was removed before shipping.")
    );
    let s = read("csaf/2022-evd-uc-01-f-001.json");
    assert_eq!(s[0].status, VexStatus::Fixed);

    // Flags carry the justification.
    let s = read("csaf/sec-vex-2022-0001.json");
    let ids: Vec<&str> = s.iter().map(|s| s.vulnerability.as_str()).collect();
    assert_eq!(ids, ["CVE-2021-44228", "CVE-2021-45046", "CVE-2021-45105"]);
    assert!(s
        .iter()
        .all(|s| s.justification.as_deref() == Some("component_not_present")));

    // The product's purl from the branch's identification helper.
    let s = read("csaf/vexctl-csaf.json");
    assert_eq!(s[0].products, ["pkg:generic/component1@1.3.4"]);
    let img = image(ALPINE);
    assert!(s[0].matches(
        &finding("CVE-2009-4487", "pkg:generic/component1@1.3.4"),
        &img
    ));
    assert!(!s[0].matches(
        &finding("CVE-2009-4487", "pkg:generic/component1@1.3.5"),
        &img
    ));
}

/// CSAF relationships (no public example above has them): a component of a product,
/// written to the CSAF 2.0 schema, as Red Hat's VEX files shape them.
#[test]
fn csaf_relationships_name_the_component_in_its_product() {
    let Some(v) = csaf_validator() else { return };
    let doc = serde_json::json!({
      "document": {
        "category": "csaf_vex", "csaf_version": "2.0", "title": "curl in the app image",
        "publisher": {"category": "vendor", "name": "Acme", "namespace": "https://acme.example"},
        "tracking": {
          "id": "ACME-VEX-1", "status": "final", "version": "2",
          "initial_release_date": "2024-05-01T00:00:00Z", "current_release_date": "2024-06-01T00:00:00Z",
          "revision_history": [{"date": "2024-05-01T00:00:00Z", "number": "1", "summary": "first"},
                               {"date": "2024-06-01T00:00:00Z", "number": "2", "summary": "second"}]
        }
      },
      "product_tree": {
        "branches": [{"category": "vendor", "name": "Acme", "branches": [
          {"category": "product_name", "name": "app", "product": {"name": "Acme app 1.0", "product_id": "APP",
            "product_identification_helper": {"purl": format!("pkg:oci/app@{}?repository_url=ghcr.io/acme/app", ALPINE.replace(':', "%3A"))}}},
          {"category": "product_name", "name": "libssl3", "product": {"name": "libssl3 3.0.8-r3", "product_id": "LIBSSL",
            "product_identification_helper": {"purl": "pkg:apk/alpine/libssl3@3.0.8-r3"}}}
        ]}],
        "relationships": [{"category": "default_component_of", "product_reference": "LIBSSL",
          "relates_to_product_reference": "APP",
          "full_product_name": {"name": "libssl3 in app", "product_id": "APP:LIBSSL"}}],
        "product_groups": [{"group_id": "G", "product_ids": ["APP", "APP:LIBSSL"]}]
      },
      "vulnerabilities": [{
        "cve": "CVE-2023-3446",
        "ids": [{"system_name": "Acme", "text": "ACME-2023-1"}],
        "product_status": {"known_not_affected": ["APP:LIBSSL"]},
        "flags": [{"label": "vulnerable_code_not_in_execute_path", "group_ids": ["G"]}],
        "threats": [{"category": "impact", "details": "DH is not used.", "product_ids": ["APP", "APP:LIBSSL"]}]
      }]
    });
    assert_valid(&v, &doc, "relationships document");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rel.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let s = read_vex(&path).unwrap();
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(s[0].products[0].starts_with("pkg:oci/app@"));
    assert_eq!(s[0].subcomponents, ["pkg:apk/alpine/libssl3@3.0.8-r3"]);
    assert_eq!(s[1].products, ["pkg:apk/alpine/libssl3@3.0.8-r3"]);
    assert!(s.iter().all(|s| s.aliases == ["ACME-2023-1"]
        && s.justification.as_deref() == Some("vulnerable_code_not_in_execute_path")
        && s.impact_statement.as_deref() == Some("DH is not used.")
        && s.timestamp.as_deref() == Some("2024-06-01T00:00:00Z")));
    let img = image(ALPINE);
    let libssl = finding(
        "CVE-2023-3446",
        "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64",
    );
    assert!(s[0].matches(&libssl, &img));
    let busybox = finding("ACME-2023-1", "pkg:apk/alpine/busybox@1.36.0-r0");
    assert!(!s.iter().any(|s| s.matches(&busybox, &img)));
}

/// Every real document cut short, and with each value in turn replaced by a value of
/// each other JSON type: the reader returns statements or an error, never panics (the
/// `vex` fuzz target does the same from arbitrary bytes).
#[test]
fn damaged_documents_never_panic() {
    use patchline_policy::vex::parse_vex;
    fn paths(v: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                let mut p = at.clone();
                p.push(k.clone());
                paths(x, p, out)
            }),
            Value::Array(a) => a.iter().enumerate().take(3).for_each(|(i, x)| {
                let mut p = at.clone();
                p.push(i.to_string());
                paths(x, p, out)
            }),
            _ => {}
        }
    }
    fn set(v: &mut Value, at: &[String], new: Value) {
        let Some((first, rest)) = at.split_first() else {
            *v = new;
            return;
        };
        let next = match v {
            Value::Object(m) => m.get_mut(first),
            Value::Array(a) => first.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        if let Some(n) = next {
            set(n, rest, new);
        }
    }
    let dir = data("");
    let mut files = Vec::new();
    for sub in ["openvex", "cyclonedx", "csaf"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let mut runs = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for cut in (0..bytes.len()).step_by(97) {
            let _ = parse_vex(&bytes[..cut], "cut");
            runs += 1;
        }
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let mut all = Vec::new();
        paths(&doc, vec![], &mut all);
        for at in all.iter().skip(1) {
            for new in [
                Value::Null,
                Value::from(1),
                Value::from("x"),
                Value::Array(vec![Value::from("pkg:")]),
                serde_json::json!({"@id": 1}),
            ] {
                let mut d = doc.clone();
                set(&mut d, at, new);
                let _ = parse_vex(&serde_json::to_vec(&d).unwrap(), "damaged");
                runs += 1;
            }
        }
    }
    assert!(runs > 1000, "{runs}");
}
