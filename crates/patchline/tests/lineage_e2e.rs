//! Image lineage end to end, against a real `docker-registry`: a hierarchy built with
//! umoci from the debootstrap base (enterprise image, two applications and a builder on
//! it, an unrelated COTS image), catalogued from YAML; then a patched base under the same
//! tag (the fixture `base-patched`: one package upgraded by apt), `outdated`,
//! `impact --base`, `plan --base`, a scripted rebuild and `verify`; and the bad inputs (a
//! cycle, a Containerfile that does not parse, a missing image).

mod common;

#[path = "../../patchline-image/tests/support/registry.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use patchline_test_support::require_tools;
use serde_json::Value;
use support::{Registry, RegistryAuth};

const TOOLS: &[&str] = &["docker-registry", "skopeo", "umoci"];

struct Env {
    state: PathBuf,
    cache: PathBuf,
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_patchline"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("PATCHLINE_STATE", &self.state)
            .env("PATCHLINE_CACHE_DIR", &self.cache)
            .output()
            .expect("run patchline")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "patchline {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let s = self.ok(args);
        serde_json::from_str(&s)
            .unwrap_or_else(|e| panic!("patchline {args:?}: bad JSON: {e}\n{s}"))
    }

    /// Runs a command that must fail with exit 2; returns stderr.
    fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "patchline {args:?}: {err}");
        err
    }
}

/// With LINEAGE_E2E_SHOW set, prints what the commands said (for reading the output).
fn show(label: &str, text: &str) {
    if std::env::var_os("LINEAGE_E2E_SHOW").is_some() {
        eprintln!("===== {label}\n{text}");
    }
}

fn sh(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An uncompressed layer tar with fixed metadata, so that the same content always has
/// the same diff_id (a rebuild on a new parent reproduces the layer exactly).
fn layer(path: &Path, files: &[(&str, &[u8], u32)]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data, mode) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.finish().unwrap();
}

/// `umoci raw add-layer`: the image `from` plus one layer, tagged `to`. Same result as
/// unpacking, copying the files into the rootfs and repacking, without extracting the
/// whole base.
fn add_layer(layout: &Path, from: &str, to: &str, tar: &Path) {
    sh(Command::new("umoci").args([
        "raw",
        "add-layer",
        "--image",
        &format!("{}:{from}", layout.display()),
        "--tag",
        to,
        "--history.created_by",
        &format!("patchline-test: {to}"),
        &tar.display().to_string(),
    ]));
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn strs(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn lineage_from_catalog_to_verified_rebuild() {
    let started = std::time::Instant::now();
    let Some(fx) = fixtures() else { return };
    if !require_tools(TOOLS) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let env = Env {
        state: work.join("catalog.sqlite"),
        cache: work.join("cache"),
    };

    // --- The images, built with umoci on a copy of the fixture layout.
    let layout = work.join("layout");
    sh(Command::new("cp")
        .arg("-r")
        .arg(fx.join("layout"))
        .arg(&layout));
    let passwd = std::fs::read_to_string(fx.join("rootfs-base/etc/passwd")).unwrap();
    let passwd =
        format!("{passwd}appuser:x:10001:10001:enterprise user:/home/appuser:/usr/sbin/nologin\n");
    let tars = work.join("tars");
    std::fs::create_dir_all(&tars).unwrap();
    let ca = b"-----BEGIN CERTIFICATE-----\nMIIBenterpriseCA\n-----END CERTIFICATE-----\n";
    layer(
        &tars.join("enterprise.tar"),
        &[
            ("etc/ssl/certs/enterprise-ca.pem", ca, 0o644),
            ("etc/passwd", passwd.as_bytes(), 0o644),
        ],
    );
    layer(
        &tars.join("shop.tar"),
        &[("srv/shop/app.py", b"print('shop')\n", 0o644)],
    );
    layer(
        &tars.join("billing.tar"),
        &[("srv/billing/app.py", b"print('billing')\n", 0o644)],
    );
    layer(
        &tars.join("builder.tar"),
        &[("usr/local/bin/build.sh", b"#!/bin/sh\nmake \"$@\"\n", 0o755)],
    );
    layer(
        &tars.join("cots.tar"),
        &[("opt/vendor/db.conf", b"port=5432\n", 0o644)],
    );
    add_layer(&layout, "base", "enterprise", &tars.join("enterprise.tar"));
    for app in ["shop", "billing", "builder"] {
        add_layer(&layout, "enterprise", app, &tars.join(format!("{app}.tar")));
    }
    sh(Command::new("umoci")
        .args(["new", "--image"])
        .arg(format!("{}:cots", layout.display())));
    add_layer(&layout, "cots", "cots", &tars.join("cots.tar"));

    // --- The registry and the Containerfile repository.
    let reg = Registry::start(RegistryAuth::Anonymous);
    let h = reg.host.clone();
    let oci = |tag: &str| format!("oci:{}:{tag}", layout.display());
    let base = format!("{h}/platform/base:12");
    let ent = format!("{h}/platform/enterprise:1.0.0");
    let shop = format!("{h}/apps/shop:2.3.4");
    let billing = format!("{h}/apps/billing:1.2.0");
    let builder = format!("{h}/platform/builder:1.0.0");
    let cots = format!("{h}/vendor/db:9.1");
    for (tag, r) in [
        ("base", &base),
        ("enterprise", &ent),
        ("shop", &shop),
        ("billing", &billing),
        ("builder", &builder),
        ("cots", &cots),
    ] {
        reg.push(&oci(tag), r.strip_prefix(&format!("{h}/")).unwrap(), &[]);
    }
    let repo = work.join("repo");
    let cf = |name: &str, text: String| {
        write(&repo.join(name).join("Containerfile"), &text);
        text
    };
    cf(
        "base",
        "FROM scratch\nADD rootfs.tar /\nCMD [\"bash\"]\n".into(),
    );
    let ent_cf = cf(
        "enterprise",
        format!(
            "# syntax=docker/dockerfile:1\n# The organisation's hardened image.\nFROM {h}/platform/base:12\nCOPY enterprise-ca.pem /etc/ssl/certs/\nRUN useradd -u 10001 appuser  # non-root\nUSER appuser\n"
        ),
    );
    let shop_cf = cf(
        "shop",
        format!("FROM {h}/platform/enterprise:1.0.0\nCOPY app.py /srv/shop/\nCMD [\"python3\", \"/srv/shop/app.py\"]\n"),
    );
    let billing_cf = cf(
        "billing",
        format!(
            "ARG BUILDER={h}/platform/builder:1.0.0\nFROM ${{BUILDER}} AS build\nRUN build.sh billing\n\nFROM {h}/platform/enterprise:1.0.0\nCOPY --from=build /srv/billing /srv/billing\n"
        ),
    );
    let builder_cf = cf(
        "builder",
        format!("FROM {h}/platform/enterprise:1.0.0\nCOPY build.sh /usr/local/bin/\n"),
    );
    cf("db", "FROM scratch\nCOPY db.conf /opt/vendor/\n".into());
    let catalog_yaml = format!(
        r#"version: 1
images:
  - reference: {base}
    tier: base
    owner: {{ team: platform, contact: platform@example.com }}
    containerfile: repo/base/Containerfile
  - reference: {ent}
    tier: enterprise
    owner: {{ team: platform-security, contact: secops@example.com }}
    containerfile: repo/enterprise/Containerfile
  - reference: {shop}
    tier: application
    owner: {{ team: shop-team, contact: shop@example.com }}
    containerfile: repo/shop/Containerfile
  - reference: {billing}
    tier: application
    owner: {{ team: billing-team }}
    containerfile: repo/billing/Containerfile
  - reference: {builder}
    tier: builder
    owner: {{ team: ci-team }}
    containerfile: repo/builder/Containerfile
  - reference: {cots}
    tier: cots
    owner: {{ team: Acme DB support, contact: support@acme.example }}
    containerfile: repo/db/Containerfile
"#
    );
    write(&work.join("catalog.yaml"), &catalog_yaml);
    let insecure = "--insecure";
    env.ok(&[
        "catalog",
        "import",
        &work.join("catalog.yaml").display().to_string(),
        insecure,
    ]);
    let list = env.json(&["catalog", "list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 6, "{list}");
    for e in list.as_array().unwrap() {
        assert!(e["digest"].is_string(), "unresolved: {e}");
    }

    // --- The hierarchy, as dot: one edge per parent link.
    show("graph", &env.ok(&["graph"]));
    show("catalog list", &env.ok(&["catalog", "list"]));
    let dot = env.ok(&["graph", "--format", "dot"]);
    for (p, c) in [
        (&base, &ent),
        (&ent, &shop),
        (&ent, &billing),
        (&ent, &builder),
    ] {
        assert!(
            dot.contains(&format!("\"{p}\" -> \"{c}\"")),
            "{p} -> {c} missing:\n{dot}"
        );
    }
    assert!(!dot.contains(&format!("-> \"{cots}\"")), "{dot}");
    let mermaid = env.ok(&["graph", "--format", "mermaid"]);
    assert!(
        mermaid.starts_with("graph") || mermaid.starts_with("flowchart"),
        "{mermaid}"
    );
    let gj = env.json(&["graph", "--format", "json"]);
    assert!(gj.is_object(), "{gj}");

    // --- A package of the base: its root is the base, everything below inherits it,
    // the unrelated COTS image is not affected.
    let pk = env.json(&["impact", "--package", "base-files", "--format", "json"]);
    show(
        "impact --package",
        &env.ok(&["impact", "--package", "base-files"]),
    );
    let roots = pk["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{pk}");
    assert_eq!(roots[0]["image"], base.as_str(), "{pk}");
    assert_eq!(roots[0]["owner"]["team"], "platform", "{pk}");
    let mut hit: Vec<String> = pk["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap().to_string())
        .collect();
    hit.sort();
    let mut want = vec![
        base.clone(),
        ent.clone(),
        shop.clone(),
        billing.clone(),
        builder.clone(),
    ];
    want.sort();
    assert_eq!(hit, want, "{pk}");

    // --- The registry walked whole: every repository and tag, owner from the default.
    let synced = work.join("synced.sqlite").display().to_string();
    env.ok(&[
        "catalog",
        "sync",
        &h,
        "--default-owner",
        "unknown-team",
        "--no-inventory",
        "--state",
        &synced,
        insecure,
    ]);
    let sl = env.json(&["catalog", "list", "--format", "json", "--state", &synced]);
    let mut got: Vec<String> = sl
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reference"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want = vec![
        base.clone(),
        ent.clone(),
        shop.clone(),
        billing.clone(),
        builder.clone(),
        cots.clone(),
    ];
    want.sort();
    assert_eq!(got, want, "{sl}");

    // Nothing moved yet.
    let od = env.json(&["outdated", "--format", "json", insecure]);
    assert_eq!(od["outdated"].as_array().unwrap().len(), 0, "{od}");

    // --- A patched base under the same tag: the fixture's `base-patched`, base plus one
    // layer upgrading one package (PKG<TAB>OLD<TAB>NEW; `none` when apt offered nothing
    // and the layer only adds a file).
    let upgrade = std::fs::read_to_string(fx.join("base-patched-upgrade"))
        .expect("base-patched-upgrade: rebuild the fixtures (scripts/build-fixtures.sh)");
    let upgrade: Vec<&str> = upgrade.trim_end().split('\t').collect();
    assert_eq!(upgrade.len(), 3, "base-patched-upgrade: {upgrade:?}");
    let (pkg, old_ver, new_ver) = (upgrade[0], upgrade[1], upgrade[2]);
    let inv_new = env.json(&["sbom", &oci("base-patched"), "--format", "json"]);
    let layers = inv_new["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "base + one layer: {}", inv_new["image"]);
    if pkg != "none" {
        let inv_old = env.json(&["sbom", &oci("base"), "--format", "json"]);
        let find = |inv: &Value| -> Value {
            inv["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == pkg)
                .unwrap_or_else(|| panic!("{pkg} not in {}", inv["image"]["reference"]))
                .clone()
        };
        assert_eq!(find(&inv_old)["version"], old_ver);
        let p = find(&inv_new);
        assert_eq!(p["version"], new_ver, "{p}");
        assert_eq!(p["introduced"]["index"], 0, "{p}");
        assert_eq!(p["last_changed"]["index"], 1, "{p}");
        assert_eq!(p["last_changed"]["diff_id"], layers[1]["diff_id"], "{p}");
        // The upgrade touched that package and no other.
        let changed: Vec<&str> = inv_new["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["last_changed"]["index"] == 1)
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(changed, vec![pkg], "{}", inv_new["image"]);
        assert!(
            layers[1]["created_by"].as_str().unwrap().contains(pkg),
            "{}",
            layers[1]
        );
    } else {
        eprintln!("note: the fixtures' base-patched upgrades no package; layer count only");
    }
    reg.push(&oci("base-patched"), "platform/base:12", &[]);
    show("outdated", &env.ok(&["outdated", insecure]));
    let od = env.json(&["outdated", "--format", "json", insecure]);
    let outdated: Vec<String> = od["outdated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["image"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outdated, vec![ent.clone()], "{od}");
    assert_eq!(od["outdated"][0]["layers_behind"], 1, "{od}");
    let new_digest = od["outdated"][0]["current"].as_str().unwrap().to_string();
    assert_ne!(
        Some(new_digest.as_str()),
        od["outdated"][0]["built_on"].as_str()
    );

    // --- Impact of the new base: the root and every owner below it, never the COTS.
    let imp = env.json(&[
        "impact",
        "--base",
        &format!("{base}@{new_digest}"),
        "--format",
        "json",
    ]);
    assert_eq!(imp["base"]["image"], base.as_str(), "{imp}");
    assert_eq!(imp["base"]["owner"]["team"], "platform", "{imp}");
    assert_eq!(imp["base"]["new_digest"], true, "{imp}");
    let affected: Vec<(String, String, bool)> = imp["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["image"].as_str().unwrap().to_string(),
                i["owner"]["team"].as_str().unwrap().to_string(),
                i["direct"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut sorted = affected.clone();
    sorted.sort();
    let mut want = vec![
        (ent.clone(), "platform-security".to_string(), true),
        (shop.clone(), "shop-team".to_string(), false),
        (billing.clone(), "billing-team".to_string(), false),
        (builder.clone(), "ci-team".to_string(), false),
    ];
    want.sort();
    assert_eq!(sorted, want, "{imp}");
    assert_eq!(affected[0].0, ent, "parents first: {imp}");

    // --- The plan: waves, pinned FROM, everything else byte for byte.
    let plan_dir = work.join("plan");
    let plan_json = env.ok(&[
        "plan",
        "--base",
        &base,
        "--to",
        &base,
        "--format",
        "json",
        "--write",
        &plan_dir.display().to_string(),
        insecure,
    ]);
    let plan: Value = serde_json::from_str(&plan_json).unwrap();
    assert!(plan_dir.join("plan.json").is_file());
    assert!(plan_dir.join("plan.md").is_file());
    let waves = plan["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 2, "{plan_json}");
    let wave_refs = |w: &Value| {
        strs(&Value::Array(
            w["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["reference"].clone())
                .collect(),
        ))
    };
    assert_eq!(wave_refs(&waves[0]), vec![ent.clone()]);
    let mut w1 = vec![shop.clone(), billing.clone(), builder.clone()];
    w1.sort();
    assert_eq!(wave_refs(&waves[1]), w1);
    let planned = |r: &str| -> Value {
        waves
            .iter()
            .flat_map(|w| w["images"].as_array().unwrap())
            .find(|i| i["reference"] == r)
            .unwrap()
            .clone()
    };
    let pe = planned(&ent);
    assert_eq!(
        pe["new_reference"],
        format!("{h}/platform/enterprise:1.0.1").as_str()
    );
    assert_eq!(pe["owner"], "platform-security");
    assert_eq!(
        pe["patched_containerfile"].as_str().unwrap(),
        ent_cf.replace(
            &format!("FROM {h}/platform/base:12\n"),
            &format!("FROM {h}/platform/base:12@{new_digest}\n")
        )
    );
    let diff = pe["diff"].as_str().unwrap();
    assert!(
        diff.contains(&format!("-FROM {h}/platform/base:12\n")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("+FROM {h}/platform/base:12@{new_digest}\n")),
        "{diff}"
    );
    // Children of the rebuilt enterprise image move to its new (unique) tag; its digest
    // is pinned once wave 0 is pushed.
    let new_ent = format!("{h}/platform/enterprise:1.0.1");
    for (r, text) in [
        (&shop, &shop_cf),
        (&billing, &billing_cf),
        (&builder, &builder_cf),
    ] {
        let p = planned(r);
        assert_eq!(p["new_parent"]["reference"], new_ent.as_str(), "{p}");
        assert_eq!(p["new_parent"]["pin_after_build"], true, "{p}");
        let want = text.replacen(
            &format!("\nFROM {h}/platform/enterprise:1.0.0\n"),
            &format!("\nFROM {new_ent}\n"),
            1,
        );
        let want = if want == *text {
            text.replacen(
                &format!("FROM {h}/platform/enterprise:1.0.0\n"),
                &format!("FROM {new_ent}\n"),
                1,
            )
        } else {
            want
        };
        assert_eq!(p["patched_containerfile"].as_str().unwrap(), want, "{r}");
    }
    assert!(
        !plan_json.contains(&cots),
        "COTS is unrelated to the base: {plan_json}"
    );
    let md = env.ok(&["plan", "--base", &base, "--to", &base, insecure]);
    assert!(md.contains("platform-security"), "{md}");
    show("plan", &md);
    show(
        "impact",
        &env.ok(&["impact", "--base", &format!("{base}@{new_digest}")]),
    );

    // --- The rebuild, by script: the same layers on the new parents, new tags.
    add_layer(
        &layout,
        "base-patched",
        "enterprise-new",
        &tars.join("enterprise.tar"),
    );
    for app in ["shop", "billing", "builder"] {
        add_layer(
            &layout,
            "enterprise-new",
            &format!("{app}-new"),
            &tars.join(format!("{app}.tar")),
        );
    }
    let mut rebuilt = Vec::new();
    for (tag, r) in [
        ("enterprise-new", &ent),
        ("shop-new", &shop),
        ("billing-new", &billing),
        ("builder-new", &builder),
    ] {
        let new_ref = planned(r)["new_reference"].as_str().unwrap().to_string();
        reg.push(
            &oci(tag),
            new_ref.strip_prefix(&format!("{h}/")).unwrap(),
            &[],
        );
        rebuilt.push(new_ref);
    }
    let plan_file = plan_dir.join("plan.json").display().to_string();
    let mut args = vec![
        "verify",
        plan_file.as_str(),
        "--format",
        "json",
        insecure,
        "--images",
    ];
    args.extend(rebuilt.iter().map(String::as_str));
    let v = env.json(&args);
    assert_eq!(v["ok"], true, "{v}");

    // A wrong rebuild fails verification (exit 1): shop pushed on the old enterprise.
    reg.push(
        &oci("shop"),
        &format!("apps/shop:{}", rebuilt[1].rsplit(':').next().unwrap()),
        &[],
    );
    let out = env.run(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    show("verify (wrong rebuild)", &v.to_string());
    let shop_check = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["planned"] == shop.as_str())
        .unwrap();
    assert_eq!(shop_check["ok"], false, "{v}");

    // --- Bad input: exit 2 with the culprit named.
    let cyc = work.join("cycle.yaml");
    write(
        &cyc,
        &format!(
            "images:\n  - reference: {h}/x/a:1\n    tier: application\n    parent: {h}/x/b:1\n  - reference: {h}/x/b:1\n    tier: application\n    parent: {h}/x/a:1\n"
        ),
    );
    let err = env.bad(&["catalog", "import", &cyc.display().to_string(), insecure]);
    show("cycle", &err);
    assert!(
        err.contains("cycle") && err.contains("x/a:1") && err.contains("x/b:1"),
        "{err}"
    );
    let bad_cf = work.join("repo/broken/Containerfile");
    write(&bad_cf, "# no base at all\nRUN echo hi\n");
    let err = env.bad(&[
        "catalog",
        "add",
        &shop,
        "--tier",
        "application",
        "--owner",
        "shop-team",
        "--containerfile",
        &bad_cf.display().to_string(),
        insecure,
    ]);
    show("bad Containerfile", &err);
    assert!(err.contains(&bad_cf.display().to_string()), "{err}");
    let missing = format!("{h}/apps/nothing:1");
    let err = env.bad(&[
        "catalog",
        "add",
        &missing,
        "--tier",
        "application",
        "--owner",
        "x",
        insecure,
    ]);
    show("missing image", &err);
    assert!(
        err.contains("apps/nothing") && err.contains("not found"),
        "{err}"
    );
    // None of the failures changed the catalog.
    let list = env.json(&["catalog", "list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 6, "{list}");
    eprintln!("lineage e2e took {:?}", started.elapsed());
}

/// A real vulnerability: the fixture `child` image (the debootstrap base plus a
/// bookworm-security curl 7.88.1-10+deb12u5) against a real Debian tracker extract.
/// The fix belongs in the image that added curl, not in the base; the plan puts the
/// apt-get upgrade there; an unchanged "rebuild" fails `verify`.
#[test]
fn cve_impact_plan_and_verify() {
    const FEED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/debian-tracker-bookworm.json"
    );
    const CVE: &str = "CVE-2024-11053";
    let Some(fx) = fixtures() else { return };
    if !require_tools(TOOLS) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let work = t.path();
    let env = Env {
        state: work.join("catalog.sqlite"),
        cache: work.join("cache"),
    };
    let db = work.join("advisories.sqlite").display().to_string();
    env.ok(&["db", "import", "--db", &db, FEED]);
    let reg = Registry::start(RegistryAuth::Anonymous);
    let h = reg.host.clone();
    let layout = fx.join("layout");
    reg.push(
        &format!("oci:{}:base", layout.display()),
        "platform/base:12",
        &[],
    );
    reg.push(
        &format!("oci:{}:child", layout.display()),
        "apps/fetch:1.4.2",
        &[],
    );
    let base = format!("{h}/platform/base:12");
    let app = format!("{h}/apps/fetch:1.4.2");
    let cf = work.join("fetch/Containerfile");
    let cf_text = format!("FROM {base}\nRUN apt-get install -y curl\nENTRYPOINT [\"curl\"]\n");
    write(&cf, &cf_text);
    let insecure = "--insecure";
    env.ok(&[
        "catalog", "add", &base, "--tier", "base", "--owner", "platform", "--db", &db, insecure,
    ]);
    env.ok(&[
        "catalog",
        "add",
        &app,
        "--tier",
        "application",
        "--owner",
        "fetch-team",
        "--contact",
        "fetch@example.com",
        "--containerfile",
        &cf.display().to_string(),
        "--db",
        &db,
        insecure,
    ]);

    let imp = env.json(&["impact", CVE, "--format", "json"]);
    show("impact CVE", &env.ok(&["impact", CVE]));
    let roots = imp["roots"].as_array().unwrap();
    assert!(!roots.is_empty(), "{imp}");
    for r in roots {
        assert_eq!(r["image"], app.as_str(), "{imp}");
        assert_eq!(r["owner"]["team"], "fetch-team", "{imp}");
    }
    let imgs: Vec<&str> = imp["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    assert_eq!(imgs, vec![app.as_str()], "the base carries no curl: {imp}");

    let plan_dir = work.join("plan");
    let plan: Value = env.json(&[
        "plan",
        "--cve",
        CVE,
        "--format",
        "json",
        "--write",
        &plan_dir.display().to_string(),
        insecure,
    ]);
    show("plan --cve", &env.ok(&["plan", "--cve", CVE, insecure]));
    let p = &plan["waves"][0]["images"][0];
    assert_eq!(p["reference"], app.as_str(), "{plan}");
    assert_eq!(p["root_of_fix"], true, "{plan}");
    assert_eq!(p["new_reference"], format!("{h}/apps/fetch:1.4.3").as_str());
    let cmd = p["upgrade"]["command"].as_str().unwrap();
    assert!(cmd.contains("apt-get install --only-upgrade -y"), "{cmd}");
    assert!(cmd.contains("curl"), "{cmd}");
    let patched = p["patched_containerfile"].as_str().unwrap();
    // The upgrade follows the image's own install of curl, not its FROM.
    assert_eq!(
        patched,
        format!("FROM {base}\nRUN apt-get install -y curl\nRUN {cmd}\nENTRYPOINT [\"curl\"]\n"),
        "{patched}"
    );

    // "Rebuilt" without the upgrade: the CVE is still there, verify fails with exit 1.
    reg.push(
        &format!("oci:{}:child", layout.display()),
        "apps/fetch:1.4.3",
        &[],
    );
    let plan_file = plan_dir.join("plan.json").display().to_string();
    let new_ref = format!("{h}/apps/fetch:1.4.3");
    let args = [
        "verify", &plan_file, "--db", &db, insecure, "--images", &new_ref,
    ];
    let out = env.run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    show("verify CVE", &stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(CVE) && stdout.contains("still present"),
        "{stdout}"
    );
    // Without a database a CVE plan cannot be verified: exit 2, said so.
    let err = env.bad(&["verify", &plan_file, insecure, "--images", &new_ref]);
    assert!(err.contains("--db"), "{err}");
}
