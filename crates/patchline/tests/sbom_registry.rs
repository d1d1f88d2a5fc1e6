//! `patchline sbom docker://…` against a real Debian `docker-registry` holding the real
//! debootstrap images, anonymous and htpasswd-protected.

mod common;

#[path = "../../patchline-image/tests/support/registry.rs"]
mod support;

use common::*;
use patchline_test_support::require_tools;
use serde_json::Value;
use support::{Registry, RegistryAuth};

const TOOLS: &[&str] = &["docker-registry", "skopeo", "htpasswd"];

fn without_image(mut v: Value) -> Value {
    v["image"] = Value::Null;
    v
}

#[test]
fn sbom_from_a_registry_equals_the_layout() {
    let Some(fx) = fixtures() else { return };
    if !require_tools(TOOLS) {
        return;
    }
    let reg = Registry::start(RegistryAuth::Anonymous);
    let layout = format!("oci:{}:child", fx.join("layout").display());
    reg.push(&layout, "team/child:1", &[]);
    let local = patchline_json(&["sbom", &layout, "--format", "json", "--no-cache"]);
    let remote_ref = format!("docker://{}/team/child:1", reg.host);
    let remote = patchline_json(&[
        "sbom",
        &remote_ref,
        "--insecure",
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(without_image(local.clone()), without_image(remote.clone()));
    assert_eq!(
        local["image"]["manifest_digest"],
        remote["image"]["manifest_digest"]
    );
    assert_eq!(remote["image"]["reference"], remote_ref.as_str());
    // The bare HOST/REPO:TAG form means the same.
    let bare = patchline_json(&[
        "sbom",
        &format!("{}/team/child:1", reg.host),
        "--insecure",
        "--format",
        "json",
        "--no-cache",
    ]);
    assert_eq!(without_image(bare), without_image(local));

    // Unknown tag and unknown repository: exit 2, named.
    for missing in ["team/child:2", "team/nothing:1"] {
        let out = patchline(&[
            "sbom",
            &format!("docker://{}/{missing}", reg.host),
            "--insecure",
            "--no-cache",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("not found"), "{err}");
    }
}

#[test]
fn htpasswd_registry_needs_credentials() {
    let Some(fx) = fixtures() else { return };
    if !require_tools(TOOLS) {
        return;
    }
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "ci".into(),
        password: "s3cret".into(),
    });
    reg.push(
        &format!("oci:{}:base", fx.join("layout").display()),
        "team/base:1",
        &[],
    );
    let image = format!("docker://{}/team/base:1", reg.host);
    // No credentials anywhere (an empty docker config dir): a clear 401 error, exit 2.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["sbom", &image, "--insecure", "--no-cache"])
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", home.path())
        .env_remove("PATCHLINE_USERNAME")
        .env_remove("PATCHLINE_PASSWORD")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("authentication required") && err.contains("team/base"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let inv = patchline_json(&[
        "sbom",
        &image,
        "--insecure",
        "--no-cache",
        "--format",
        "json",
        "--username",
        "ci",
        "--password",
        "s3cret",
    ]);
    assert_eq!(inv["distro"]["id"], "debian");
    assert!(inv["packages"].as_array().unwrap().len() > 80);

    // Credentials from a docker config.json, as `docker login` writes them.
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    std::fs::write(
        home.path().join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args([
            "sbom",
            &image,
            "--insecure",
            "--no-cache",
            "--format",
            "json",
        ])
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
