//! The official JSON schemas in `../shared/data/schemas` (located by
//! patchline-test-support), compiled offline: shared by the SBOM and the scan renderer
//! tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::Path;

use jsonschema::{Draft, Resource, Validator};
use serde_json::Value;

pub fn load(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bom schema `$ref`s its two companions by relative URL; they are registered under
/// the URLs those resolve to (their own `$id`s), so nothing is fetched.
pub fn cyclonedx_validator(data: &Path) -> Validator {
    let dir = data.join("schemas/cyclonedx");
    let mut opts = jsonschema::options();
    opts.with_draft(Draft::Draft7).should_validate_formats(true);
    for file in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let schema = load(&dir.join(file));
        let id = schema["$id"].as_str().expect("$id").to_string();
        assert_eq!(id, format!("http://cyclonedx.org/schema/{file}"));
        opts.with_resource(id, Resource::from_contents(schema).expect("resource"));
    }
    opts.build(&load(&dir.join("bom-1.6.schema.json")))
        .expect("CycloneDX schema compiles")
}

pub fn spdx_validator(data: &Path) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&load(&data.join("schemas/spdx/spdx-schema-2.3.json")))
        .expect("SPDX schema compiles")
}

pub fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// SARIF 2.1.0's schema is draft-04 and self-contained.
pub fn sarif_validator(data: &Path) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .build(&load(&data.join("schemas/sarif/sarif-schema-2.1.0.json")))
        .expect("SARIF schema compiles")
}

/// GitLab's container-scanning report schema 15.0.7, kept in this repository
/// (`tests/schemas/gitlab/`, see its README) because GitLab publishes it only on gitlab.com.
pub fn gitlab_validator() -> Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas/gitlab/container-scanning-report-format-15.0.7.json");
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&load(&path))
        .expect("GitLab schema compiles")
}

/// OpenVEX v0.2.0's schema (draft 2020-12, self-contained).
pub fn openvex_validator(data: &Path) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&load(
            &data.join("schemas/openvex/openvex_json_schema.json"),
        ))
        .expect("OpenVEX schema compiles")
}
