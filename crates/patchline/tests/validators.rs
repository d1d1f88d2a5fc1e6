//! patchline's SBOMs, VEX and reports, from a real image, pass the ecosystem's own
//! validators, not only the JSON schemas: CycloneDX through cyclonedx-python-lib's strict
//! 1.6 validator, SPDX through `pyspdxtools` (spdx-tools), SARIF through Microsoft's SARIF
//! multitool (`validate`, with its SARIF rules and GitHub's ingestion rules), and GitLab's
//! container-scanning report against GitLab's schema 15.0.7. `.ci/run` installs the
//! Python ones from PyPI and the multitool from npm (pinned) and says where the multitool
//! is (`PATCHLINE_SARIF_MULTITOOL`); elsewhere the tests skip when they are missing.

mod common;

use std::process::Command;

use common::*;
use patchline_test_support::skip;

/// Runs `python3 -c SCRIPT FILE`; `None` when python3 or the module is missing.
fn python(script: &str, file: &std::path::Path) -> Option<std::process::Output> {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .ok()
}

const CYCLONEDX_STRICT: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if errors is not None:
    print(errors)
    sys.exit(1)
"#;

#[test]
fn outputs_pass_the_ecosystem_validators() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import cyclonedx.validation.json, jsonschema, spdx_tools",
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        skip!("python3 with cyclonedx-python-lib's JSON validation and spdx-tools (pip install 'cyclonedx-python-lib[json-validation]' spdx-tools)");
    }
    let Some(fx) = fixtures() else { return };
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let image = format!("oci:{}:child", fx.join("layout").display());
    let dir = tempfile::tempdir().unwrap();
    let write = |args: &[&str], name: &str| {
        let path = dir.path().join(name);
        let mut a: Vec<&str> = args.to_vec();
        let p = path.to_str().unwrap().to_string();
        a.extend(["-o", p.as_str(), "--cache-dir", env.cache.as_str()]);
        let out = patchline(&a);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    };
    let sbom_cdx = write(&["sbom", &image, "--format", "cyclonedx"], "sbom.cdx.json");
    let vex_cdx = write(
        &["scan", &image, "--db", &env.db, "--format", "cyclonedx"],
        "scan.cdx.json",
    );
    let sbom_spdx = write(&["sbom", &image, "--format", "spdx"], "sbom.spdx.json");

    for f in [&sbom_cdx, &vex_cdx] {
        let out = python(CYCLONEDX_STRICT, f).expect("python3");
        assert!(
            out.status.success(),
            "{}: cyclonedx-python-lib strict 1.6: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new("pyspdxtools")
        .arg("-i")
        .arg(&sbom_spdx)
        .output()
        .expect("pyspdxtools");
    assert!(
        out.status.success(),
        "pyspdxtools: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The NTIA minimum elements, in both SBOM formats of the real child image: supplier,
/// name, version and a unique identifier (purl) for every package; the distro as supplier
/// of the OS; author (the tool) and timestamp of the SBOM data; dependency relationships.
/// The image's own supplier is its `org.opencontainers.image.vendor` (the fixtures set
/// one; an image without it is stated unknown, `NOASSERTION`).
#[test]
fn sboms_meet_the_ntia_minimum_elements() {
    let Some(fx) = fixtures() else { return };
    let image = format!("oci:{}:child", fx.join("layout").display());
    let cdx = patchline_json(&["sbom", &image, "--format", "cyclonedx", "--no-cache"]);
    let meta = &cdx["metadata"];
    assert!(meta["timestamp"].is_string(), "timestamp");
    assert_eq!(
        meta["component"]["supplier"]["name"], "patchline-test-fixtures",
        "the image's vendor label"
    );
    assert_eq!(
        meta["tools"]["components"][0]["name"], "patchline",
        "author"
    );
    let comps = cdx["components"].as_array().unwrap();
    let os = comps
        .iter()
        .find(|c| c["type"] == "operating-system")
        .expect("OS component");
    assert_eq!(os["supplier"]["name"], "Debian GNU/Linux");
    let libs: Vec<&serde_json::Value> = comps.iter().filter(|c| c["type"] == "library").collect();
    assert!(libs.len() > 80, "{}", libs.len());
    for c in &libs {
        for field in ["name", "version", "purl"] {
            assert!(
                c[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field} of {c}"
            );
        }
        assert!(
            c["supplier"]["name"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "supplier of {}",
            c["name"]
        );
    }
    let deps = cdx["dependencies"].as_array().unwrap();
    assert!(
        deps.iter()
            .any(|d| d["dependsOn"].as_array().is_some_and(|a| a.len() > 80)),
        "the image depends on its packages"
    );

    let spdx = patchline_json(&["sbom", &image, "--format", "spdx", "--no-cache"]);
    assert!(spdx["creationInfo"]["created"].is_string(), "timestamp");
    assert!(
        spdx["creationInfo"]["creators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.starts_with("Tool: patchline"))),
        "author"
    );
    for p in spdx["packages"].as_array().unwrap() {
        let purpose = p["primaryPackagePurpose"].as_str().unwrap_or("");
        let supplier = p["supplier"].as_str().unwrap_or("");
        if purpose == "CONTAINER" {
            assert_eq!(
                supplier, "Organization: patchline-test-fixtures",
                "image vendor"
            );
            continue;
        }
        assert!(
            supplier.starts_with("Organization: "),
            "supplier of {}",
            p["name"]
        );
        assert!(p["versionInfo"].is_string(), "version of {}", p["name"]);
        if purpose != "OPERATING_SYSTEM" {
            assert!(
                p["externalRefs"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["referenceType"] == "purl")),
                "purl of {}",
                p["name"]
            );
        }
    }
    let rels = spdx["relationships"].as_array().unwrap();
    for kind in ["DESCRIBES", "CONTAINS"] {
        assert!(rels.iter().any(|r| r["relationshipType"] == kind), "{kind}");
    }
}

/// The SARIF multitool's `validate` on `file`: the (rule id, level, message) of each
/// error and warning it reports, SARIF rules and GitHub's (`Gh`) both.
fn sarif_multitool(tool: &std::path::Path, file: &std::path::Path) -> Vec<String> {
    let out_file = file.with_extension("validation.sarif");
    let out = Command::new(tool)
        .arg("validate")
        .arg(file)
        .arg("--output")
        .arg(&out_file)
        .args(["--log", "ForceOverwrite", "--rule-kind", "Sarif;Gh"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "sarif multitool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).expect("validation log")).unwrap();
    log["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| matches!(r["level"].as_str(), Some("error") | Some("warning") | None))
        .map(|r| format!("{} {} {}", r["ruleId"], r["level"], r["message"]))
        .collect()
}

#[test]
fn sarif_passes_the_sarif_multitool() {
    let Some(tool) = std::env::var_os("PATCHLINE_SARIF_MULTITOOL")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_file())
    else {
        skip!("the SARIF multitool (npm install @microsoft/sarif-multitool@5.7.0, then PATCHLINE_SARIF_MULTITOOL=node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool)");
    };
    let Some(fx) = fixtures() else { return };
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let image = format!("oci:{}:child", fx.join("layout").display());
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("scan.sarif");
    let out = patchline(&[
        "scan",
        &image,
        "--db",
        &env.db,
        "--format",
        "sarif",
        "-o",
        sarif.to_str().unwrap(),
        "--cache-dir",
        &env.cache,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert!(
        doc["runs"][0]["results"]
            .as_array()
            .is_some_and(|r| r.len() > 10),
        "the real image has findings to validate"
    );
    let problems = sarif_multitool(&tool, &sarif);
    assert!(
        problems.is_empty(),
        "SARIF multitool:\n{}",
        problems.join("\n")
    );

    // The multitool finds what GitHub would refuse (guards against a validator run that
    // checks nothing): a result without a location.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("locations");
    let bad = dir.path().join("broken.sarif");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    let problems = sarif_multitool(&tool, &bad);
    assert!(
        problems.iter().any(|p| p.contains("GH")),
        "GitHub's rules did not run: {problems:?}"
    );
}

#[test]
fn gitlab_report_of_a_real_image_passes_gitlabs_schema() {
    let Some(fx) = fixtures() else { return };
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let image = format!("oci:{}:child", fx.join("layout").display());
    let doc = patchline_json(&[
        "scan",
        &image,
        "--db",
        &env.db,
        "--format",
        "gitlab",
        "--cache-dir",
        &env.cache,
    ]);
    let schema_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../patchline-report/tests/schemas/gitlab/container-scanning-report-format-15.0.7.json",
    );
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("GitLab schema compiles");
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert!(
        vulns
            .iter()
            .any(|v| v["location"]["dependency"]["package"]["name"] == "curl"
                && v["location"]["operating_system"] == "debian 12"
                && v["solution"]
                    .as_str()
                    .unwrap()
                    .starts_with("Upgrade curl from")),
        "the real curl findings"
    );
    let json = patchline_json(&[
        "scan",
        &image,
        "--db",
        &env.db,
        "--format",
        "json",
        "--cache-dir",
        &env.cache,
    ]);
    assert_eq!(
        vulns.len(),
        json["findings"].as_array().unwrap().len(),
        "every finding of the JSON report"
    );
}
