//! The admission webhook on a real server over HTTPS: AdmissionReview documents built
//! from the Kubernetes documentation's examples (tests/data/admission/README.md) posted
//! by reqwest, trusting a CA made here with `openssl`, against images stored with real
//! scans of the fixture images (api_support): allowed, denied with each reason, warnings,
//! the uid echoed, workload templates, bad reviews (400), and the decision budget.

mod api_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use api_support::{scans, Scanned};
use patchline_model::vuln::{Kev, Severity};
use patchline_server::admission::Mode;
use patchline_server::config::Config;
use patchline_server::db::{now, Tx};
use patchline_server::params;
use patchline_server::serve::{start, Running, ServeOptions};
use patchline_server::store::{self, ImageKey};
use serde_json::{json, Value};

const CLEAN: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const KEV: &str = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const OVER: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const UNTRUSTED: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NEVER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

const POLICY: &str = r#"stages:
  runtime:
    fail_on: critical
    kev: fail
    trusted_bases: ["docker.io/library/*"]
"#;

/// A CA and a server certificate for 127.0.0.1 signed by it, in a temp dir (the CA is
/// what a ValidatingWebhookConfiguration's caBundle carries).
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pki() -> Option<&'static Pki> {
    static PKI: OnceLock<Option<Pki>> = OnceLock::new();
    PKI.get_or_init(|| {
        if !patchline_test_support::require_tools(&["openssl"]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend(["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=patchline test CA"]);
        openssl(d, &a);
        let mut a = vec!["req"];
        a.extend(ec);
        a.extend(["-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=patchline-webhook"]);
        openssl(d, &a);
        std::fs::write(
            d.join("ext.cnf"),
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "tls.crt", "-days", "2", "-extfile", "ext.cnf",
            ],
        );
        Some(Pki {
            ca: d.join("ca.crt"),
            cert: d.join("tls.crt"),
            key: d.join("tls.key"),
            _dir: dir,
        })
    })
    .as_ref()
}

struct Hook {
    running: Running,
    url: String,
    client: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

fn store_image(
    tx: &mut dyn Tx,
    s: &Scanned,
    digest: &str,
    registry: &str,
    repository: &str,
    tag: &str,
    change: impl FnOnce(&mut patchline_model::vuln::ScanReport),
) -> i64 {
    let key = ImageKey {
        digest: digest.into(),
        registry: registry.into(),
        repository: repository.into(),
        reference: format!("{registry}/{repository}:{tag}"),
        source: "registry".into(),
    };
    let id = store::upsert_image(tx, &key).unwrap();
    store::save_inventory(tx, id, &s.inventory).unwrap();
    let mut report = s.report.clone();
    change(&mut report);
    store::record_scan(tx, id, "pull", now(), &report).unwrap();
    tx.exec(
        "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)",
        params![registry, repository, tag, digest, now()],
    )
    .unwrap();
    id
}

/// A server with the HTTPS listener and the stored images; `None` (skipped visibly)
/// without the fixtures or openssl.
fn hook(change: impl FnOnce(&mut Config)) -> Option<Hook> {
    let scans = scans()?;
    let pki = pki()?;
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let port = patchline_test_support::services::free_port();
    let mut c = api_support::config(dir.path());
    c.policy = Some(policy);
    c.admission.listen = Some(format!("127.0.0.1:{port}"));
    c.admission.cert = Some(pki.cert.clone());
    c.admission.key = Some(pki.key.clone());
    change(&mut c);
    let running = start(c, ServeOptions::default()).unwrap();
    let (base, child) = (&scans[0], &scans[1]);
    running
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            store_image(tx, base, CLEAN, "docker.io", "library/nginx", "1.14.2", |r| {
                r.findings.clear()
            });
            tx.exec(
                "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)",
                params!["docker.io", "library/busybox", "latest", CLEAN, now()],
            )?;
            store_image(tx, child, KEV, "docker.io", "library/kev", "1", |r| {
                r.findings[0].kev = Some(Kev {
                    date_added: "2026-12-01".into(),
                    ..Default::default()
                });
            });
            store_image(tx, child, OVER, "docker.io", "library/over", "1", |r| {
                r.findings[0].severity = Severity::Critical;
            });
            store_image(tx, base, UNTRUSTED, "registry.example", "other/app", "1", |r| {
                r.findings.clear()
            });
            Ok(())
        })
        .unwrap();
    let ca = std::fs::read(&pki.ca).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .https_only(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Some(Hook {
        running,
        url: format!("https://127.0.0.1:{port}/k8s/admission"),
        client,
        _dir: dir,
    })
}

fn data(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/admission")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

/// The Pod example with its one container's image replaced.
fn pod(image: &str) -> Value {
    let mut r = data("pod-create.json");
    r["request"]["object"]["spec"]["containers"][0]["image"] = json!(image);
    r
}

fn pinned(repo: &str, digest: &str) -> String {
    format!("{repo}@{digest}")
}

impl Hook {
    fn post_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("posting the review");
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Posts a review; the response's `response` part, checked for the v1 shape.
    fn review(&self, review: &Value) -> Value {
        let (status, body) = self.post_raw(serde_json::to_vec(review).unwrap());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1", "{body}");
        assert_eq!(body["kind"], "AdmissionReview", "{body}");
        assert_eq!(body["response"]["uid"], review["request"]["uid"], "{body}");
        body["response"].clone()
    }
}

fn message(r: &Value) -> &str {
    r["status"]["message"].as_str().unwrap_or("")
}

fn warnings(r: &Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn decisions_over_https() {
    let Some(h) = hook(|_| {}) else { return };
    decisions(&h);
    // Each answer well within the default budget (2 s), over one kept-alive connection.
    let review = data("deployment-create.json");
    let t = Instant::now();
    for _ in 0..50 {
        assert_eq!(h.review(&review)["allowed"], true);
    }
    let each = t.elapsed() / 50;
    eprintln!("admission: {each:?} per review (50 Deployment reviews over HTTPS)");
    assert!(each < Duration::from_secs(2), "{each:?}");
    h.running.stop();
}

/// The same decisions on a PostgreSQL store (the SQL is written once for both).
#[test]
fn decisions_on_postgresql() {
    static PG: OnceLock<Option<patchline_test_support::services::postgres::Postgres>> =
        OnceLock::new();
    let Some(pg) = PG
        .get_or_init(patchline_test_support::services::postgres::Postgres::start)
        .as_ref()
    else {
        return;
    };
    let url = pg.create_database("admission");
    let Some(h) = hook(|c| c.store = Some(url)) else {
        return;
    };
    decisions(&h);
    h.running.stop();
}

fn decisions(h: &Hook) {
    // A clean image, pinned: allowed; the pod-level warnings only.
    let r = h.review(&pod(&pinned("nginx", CLEAN)));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("status").is_none(), "{r}");
    let w = warnings(&r);
    assert!(!w.iter().any(|w| w.contains("not pinned")), "{w:?}");
    assert!(
        w.iter()
            .any(|w| w.starts_with("k8s.no-limits: containers[nginx]")),
        "{w:?}"
    );

    // The same image by its tag (as the documentation's Pod names it): allowed, warned.
    let r = h.review(&data("pod-create.json"));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("nginx:1.14.2: tag not pinned by digest")),
        "{r}"
    );

    // A known-exploited finding.
    let r = h.review(&pod(&pinned("kev", KEV)));
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403, "{r}");
    assert!(message(&r).contains("known-exploited (CISA KEV)"), "{r}");
    assert!(message(&r).contains("containers[nginx] image kev@"), "{r}");

    // Over the stage's threshold, naming the finding.
    let child = &scans().unwrap()[1];
    let over_id = child.report.findings[0].id.clone();
    let r = h.review(&pod(&pinned("over", OVER)));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        message(&r).contains("at or above critical without an exception"),
        "{r}"
    );
    assert!(message(&r).contains(&over_id), "{r}");

    // Not from a trusted base.
    let r = h.review(&pod(&pinned("registry.example/other/app", UNTRUSTED)));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("not built on a trusted base"), "{r}");

    // Never scanned (deny is the default), by digest and by an unknown tag.
    let r = h.review(&pod(&pinned("nginx", NEVER)));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("never scanned by patchline"), "{r}");
    let r = h.review(&pod("quay.io/unknown/thing:1"));
    assert_eq!(r["allowed"], false, "{r}");

    // Every reason at once, each named: two containers, the second an init container.
    let mut two = pod(&pinned("kev", KEV));
    two["request"]["object"]["spec"]["initContainers"] =
        json!([{"name": "setup", "image": pinned("nginx", NEVER)}]);
    let r = h.review(&two);
    assert!(message(&r).contains("containers[nginx]"), "{r}");
    assert!(message(&r).contains("initContainers[setup]"), "{r}");

    // An active exception on the threshold's finding lifts that denial, not the KEV's.
    h.running
        .server
        .db
        .tx(|tx| {
            tx.exec(
                "INSERT INTO exceptions (team, doc, state, expires_at, created_at, created_by)
                 VALUES (NULL, ?, 'approved', ?, ?, 'test')",
                params![
                    json!({"id": over_id, "images": ["docker.io/library/over"], "reason": "not reachable", "expires": "2099-01-01"}).to_string(),
                    now() + 86_400,
                    now()
                ],
            )
        })
        .unwrap();
    let r = h.review(&pod(&pinned("over", OVER)));
    let others_critical = child
        .report
        .findings
        .iter()
        .skip(1)
        .any(|f| f.severity >= Severity::Critical && f.id != over_id);
    if !others_critical {
        assert_eq!(r["allowed"], true, "{r}");
    }
    assert!(!message(&r).contains(&over_id), "{r}");
}

#[test]
fn workload_templates_and_operations() {
    let Some(h) = hook(|_| {}) else { return };
    // The documentation's Deployment (nginx:1.14.2 by tag) and CronJob (busybox).
    let r = h.review(&data("deployment-create.json"));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("containers[nginx] image nginx:1.14.2: tag not pinned")),
        "{r}"
    );
    let r = h.review(&data("cronjob-create.json"));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("containers[hello] image busybox: tag not pinned")),
        "{r}"
    );

    let mut d = data("deployment-create.json");
    d["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!(pinned("kev", KEV));
    let r = h.review(&d);
    assert_eq!(r["allowed"], false, "{r}");
    let mut c = data("cronjob-create.json");
    c["request"]["object"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        ["image"] = json!(pinned("nginx", NEVER));
    let r = h.review(&c);
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("never scanned"), "{r}");

    // The same Deployment on UPDATE is judged; on DELETE allowed.
    d["request"]["operation"] = json!("UPDATE");
    assert_eq!(h.review(&d)["allowed"], false);
    d["request"]["operation"] = json!("DELETE");
    let r = h.review(&d);
    assert_eq!(r["allowed"], true, "{r}");

    // The documentation's own example (a Scale subresource): not a pod, allowed.
    let r = h.review(&data("scale-update.json"));
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");

    // Pod-level checks as warnings.
    let mut p = pod(&pinned("nginx", CLEAN));
    p["request"]["object"]["spec"]["hostNetwork"] = json!(true);
    p["request"]["object"]["spec"]["containers"][0]["securityContext"] =
        json!({"privileged": true, "capabilities": {"add": ["NET_ADMIN"]}});
    let r = h.review(&p);
    assert_eq!(r["allowed"], true, "{r}");
    let w = warnings(&r).join("\n");
    for id in [
        "k8s.host-network",
        "k8s.privileged",
        "k8s.capabilities: containers[nginx] adds NET_ADMIN",
        "k8s.run-as-non-root",
    ] {
        assert!(w.contains(id), "{id}: {w}");
    }
    h.running.stop();
}

#[test]
fn warn_modes_and_unauthenticated_only_here() {
    let Some(h) = hook(|c| {
        c.admission.never_scanned = Mode::Warn;
        c.admission.untrusted = Mode::Warn;
        c.admission.unpinned = Mode::Deny;
    }) else {
        return;
    };
    let r = h.review(&pod(&pinned("nginx", NEVER)));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        warnings(&r).iter().any(|w| w.contains("never scanned")),
        "{r}"
    );
    let r = h.review(&pod(&pinned("registry.example/other/app", UNTRUSTED)));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        warnings(&r)
            .iter()
            .any(|w| w.contains("not built on a trusted base")),
        "{r}"
    );
    let r = h.review(&pod("nginx:1.14.2"));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("tag not pinned by digest"), "{r}");

    // The HTTPS listener serves the rest of the API with its tokens still required.
    let api = h.url.replace("/k8s/admission", "/api/v1/images");
    let s = h.client.get(&api).send().unwrap().status().as_u16();
    assert_eq!(s, 401);
    h.running.stop();
}

#[test]
fn bad_reviews_are_400_naming_the_problem() {
    let Some(h) = hook(|c| c.admission.max_body = 64 << 10) else {
        return;
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "not valid JSON"),
        (b"[]".to_vec(), "expected a JSON object"),
        (
            {
                let mut r = data("pod-create.json");
                r["apiVersion"] = json!("admission.k8s.io/v1beta1");
                serde_json::to_vec(&r).unwrap()
            },
            "v1beta1",
        ),
        (
            {
                let mut r = data("pod-create.json");
                r["request"].as_object_mut().unwrap().remove("uid");
                serde_json::to_vec(&r).unwrap()
            },
            "request.uid missing",
        ),
        (
            {
                let mut r = data("pod-create.json");
                r["request"]["object"]["spec"]["containers"] = json!({"name": "x"});
                serde_json::to_vec(&r).unwrap()
            },
            "spec.containers must be a list",
        ),
        (
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            "not valid JSON",
        ),
        (vec![b' '; 100 << 10], "larger than 65536 bytes"),
    ];
    for (body, want) in cases {
        let (status, r) = h.post_raw(body);
        assert_eq!(status, 400, "{want}: {r}");
        let msg = r["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{want}: {r}");
    }
    // Still serving after all of them.
    assert_eq!(h.review(&pod(&pinned("nginx", CLEAN)))["allowed"], true);
    h.running.stop();
}

#[test]
fn the_budget_gives_the_never_scanned_answer_in_time() {
    let Some(h) = hook(|c| c.admission.budget = "0ms".into()) else {
        return;
    };
    let t = Instant::now();
    let r = h.review(&pod(&pinned("nginx", CLEAN)));
    let took = t.elapsed();
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        message(&r).contains("no decision within the admission budget of 0ms"),
        "{r}"
    );
    // Far under the API server's default timeoutSeconds (10 s).
    assert!(took < Duration::from_secs(5), "{took:?}");
    h.running.stop();

    // A budget that cannot fit under timeoutSeconds is refused at start.
    let dir = tempfile::tempdir().unwrap();
    let mut c = api_support::config(dir.path());
    c.admission.budget = "60s".into();
    let e = start(c, ServeOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("[admission] budget"), "{e:#}");
}

/// An external image approved in the policy's trusted images, run as is: trusted by its
/// stored digest even when named by tag; a lapsed approval is not.
#[test]
fn approved_external_images_are_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    let write = |expires: &str| {
        std::fs::write(
            &policy,
            format!(
                "{POLICY}trusted_images:\n  - pattern: registry.example/other/app*\n    digest: {UNTRUSTED}\n    approved_by: sec\n    approved_on: 2026-01-15\n    expires: {expires}\n    reason: vendor image\n"
            ),
        )
        .unwrap()
    };
    write("2099-01-31");
    let p = policy.clone();
    let Some(h) = hook(move |c| c.policy = Some(p)) else {
        return;
    };
    let r = h.review(&pod("registry.example/other/app:1"));
    assert_eq!(r["allowed"], true, "{r}");
    // The policy file is read per review: a lapsed approval applies at once.
    write("2020-01-31");
    let r = h.review(&pod(&pinned("registry.example/other/app", UNTRUSTED)));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("not built on a trusted base"), "{r}");
    h.running.stop();
}
