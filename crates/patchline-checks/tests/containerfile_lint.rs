//! The Containerfile lint on whole files (`tests/data/containerfiles/`, see its README):
//! every file's findings are a golden JSON snapshot (`snapshots/`), and the findings that
//! matter most are asserted by hand beside it so a careless snapshot update cannot hide
//! them.

use std::path::{Path, PathBuf};

use patchline_checks::containerfile::{self, lint};
use patchline_checks::CheckFinding;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/containerfiles")
}

/// Whether each file's build context has a `.dockerignore` (the lint's third input).
fn dockerignore(name: &str) -> Option<bool> {
    match name {
        "legacy-app.Containerfile" => Some(false),
        "node-multistage.Containerfile" | "go-distroless.Containerfile" => Some(true),
        _ => None,
    }
}

fn run(name: &str) -> Vec<CheckFinding> {
    let text = std::fs::read_to_string(data().join(name)).unwrap();
    lint(&text, name, dockerignore(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn ids_at(findings: &[CheckFinding]) -> Vec<(u32, &str)> {
    findings
        .iter()
        .map(|f| (f.line.unwrap(), f.id.as_str()))
        .collect()
}

#[test]
fn every_file_matches_its_snapshot() {
    let mut names: Vec<String> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".Containerfile"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        let findings = run(&name);
        for f in &findings {
            assert_eq!(f.path.as_deref(), Some(name.as_str()));
            assert!(f.line.is_some());
            assert!(containerfile::CHECKS.iter().any(|c| c.id == f.id));
        }
        insta::assert_json_snapshot!(name.trim_end_matches(".Containerfile"), findings);
    }
}

#[test]
fn official_image_style_runtime_is_clean_but_for_pinning_and_user() {
    // Tag without digest, no USER: what the official images do on purpose (they are bases).
    assert_eq!(
        ids_at(&run("debian-runtime.Containerfile")),
        [
            (3, "containerfile.no-user"),
            (3, "containerfile.unpinned-base")
        ]
    );
}

#[test]
fn legacy_app_trips_every_rule_it_breaks() {
    let f = run("legacy-app.Containerfile");
    assert_eq!(
        ids_at(&f),
        [
            (2, "containerfile.latest-base"),
            (6, "containerfile.secret-in-arg-env"),
            (7, "containerfile.secret-in-arg-env"),
            (11, "containerfile.apt-lists-not-cleaned"),
            (11, "containerfile.apt-no-recommends"),
            (18, "containerfile.apt-lists-not-cleaned"),
            (18, "containerfile.apt-no-recommends"),
            (18, "containerfile.curl-pipe-shell"),
            (18, "containerfile.sudo"),
            (21, "containerfile.add-remote-url"),
            (22, "containerfile.add-remote-url"),
            (25, "containerfile.copy-all-without-dockerignore"),
            (29, "containerfile.no-user"),
        ]
    );
    // Neither secret is written out, only redacted evidence.
    let json = serde_json::to_string(&f).unwrap();
    assert!(!json.contains("ghp_R8mXq2Lk4Vn7Tz1Yb5Wc9Hd3Jf6Gs0Pa2Ue4"));
    assert!(!json.contains("s3cr3t-Passw0rd"));
}

#[test]
fn multi_stage_node_service_with_dockerignore() {
    // Only the tags are unpinned: USER node, --no-install-recommends, lists removed,
    // `COPY . .` in the build stage with a .dockerignore present.
    assert_eq!(
        ids_at(&run("node-multistage.Containerfile")),
        [
            (3, "containerfile.unpinned-base"),
            (10, "containerfile.unpinned-base")
        ]
    );
    let text = std::fs::read_to_string(data().join("node-multistage.Containerfile")).unwrap();
    let without = lint(&text, "x", Some(false)).unwrap();
    assert!(ids_at(&without).contains(&(7, "containerfile.copy-all-without-dockerignore")));
}

#[test]
fn pinned_distroless_build_is_clean() {
    assert_eq!(ids_at(&run("go-distroless.Containerfile")), []);
}

#[test]
fn buildkit_heredocs_mounts_and_apt_conf() {
    // The cache mount keeps the lists out of the layer, the apt.conf.d heredoc turns
    // recommends off, the `cat` heredoc is data; the bash heredoc is a script.
    assert_eq!(
        ids_at(&run("buildkit-heredoc.Containerfile")),
        [
            (5, "containerfile.unpinned-base"),
            (20, "containerfile.apt-lists-not-cleaned"),
            (20, "containerfile.curl-pipe-shell"),
        ]
    );
}

#[test]
fn rust_builder_installer_and_runtime_apt() {
    assert_eq!(
        ids_at(&run("rust-toolchain.Containerfile")),
        [
            (2, "containerfile.unpinned-base"),
            (4, "containerfile.curl-pipe-shell"),
            (11, "containerfile.unpinned-base"),
            (12, "containerfile.apt-lists-not-cleaned"),
            (12, "containerfile.apt-no-recommends"),
        ]
    );
}

#[test]
fn powershell_image_gets_no_shell_rules() {
    assert_eq!(
        ids_at(&run("windows-servercore.Containerfile")),
        [(3, "containerfile.unpinned-base")]
    );
}
