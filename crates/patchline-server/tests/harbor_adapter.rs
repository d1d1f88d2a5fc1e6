//! Harbor's pluggable scanner, driven as Harbor drives it: a real `docker-registry` with
//! htpasswd auth holds the fixture images (pushed with skopeo), the server's adapter under
//! `/harbor` is called over real HTTP with the headers and request bodies of the Scanner
//! Adapter API (goharbor/pluggable-scanner-spec, api/spec/scanner-adapter-openapi-v1.2.yaml:
//! the `ScanRequest` example values `registry.url`, `registry.authorization: "Basic
//! BASE64_ENCODED_CREDENTIALS"`, `artifact.{repository,digest,tag,mime_type}` and the
//! `enabled_capabilities` example with `sbom_media_types`), and every response is
//! validated against the spec's own schemas (tests/data/harbor-scanner-adapter-v1.2-schemas.json).
//! The vulnerability report is compared with a `patchline scan` (the library) of the same
//! image against the same advisory DB.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine;
use patchline_server::auth::{create_token, Role};
use patchline_server::config::{Config, RegistryConfig, Schedules};
use patchline_server::serve::{start, Running, ServeOptions};
use patchline_test_support::fixtures;
use patchline_test_support::services::free_port;
use patchline_test_support::services::postgres::Postgres;
use patchline_test_support::services::registry::RegistryService;
use serde_json::{json, Value};

mod feeds_support;
use feeds_support::advisory_db;

const ROBOT: (&str, &str) = ("robot$patchline-scan", "r0bot-s3cret");
/// curl 7.88.1-10+deb12u5 in the child fixture; fixed in +deb12u10 (Debian tracker).
const CVE: &str = "CVE-2024-11053";

const SCAN_REQUEST_CT: &str = "application/vnd.scanner.adapter.scan.request+json; version=1.1";
const SCAN_RESPONSE_CT: &str = "application/vnd.scanner.adapter.scan.response+json; version=1.0";
const METADATA_CT: &str = "application/vnd.scanner.adapter.metadata+json; version=1.1";
const VULN_CT: &str = "application/vnd.security.vulnerability.report; version=1.1";
const SBOM_CT: &str = "application/vnd.security.sbom.report+json; version=1.0";
const ERROR_CT: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn quiet_schedules() -> Schedules {
    Schedules {
        sync: "off".into(),
        db_update: "off".into(),
        db_watch: "off".into(),
        digest: "off".into(),
        sla_check: "off".into(),
        retention: "off".into(),
    }
}

struct Harbor {
    client: reqwest::blocking::Client,
    base: String,
}

struct Resp {
    status: u16,
    content_type: String,
    refresh_after: Option<String>,
    body: Value,
}

impl Harbor {
    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Resp {
        let resp = req.send().expect("request to the adapter");
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let refresh_after = header("refresh-after");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            content_type,
            refresh_after,
            body,
        }
    }

    fn metadata(&self, auth: &[(&str, &str)]) -> Resp {
        let mut req = self
            .client
            .get(format!("{}/api/v1/metadata", self.base))
            .header(
                "accept",
                "application/vnd.scanner.adapter.metadata+json; version=1.0",
            );
        for (k, v) in auth {
            req = req.header(*k, *v);
        }
        self.send(req)
    }

    fn scan(&self, token: &str, body: &str) -> Resp {
        self.send(
            self.client
                .post(format!("{}/api/v1/scan", self.base))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", SCAN_REQUEST_CT)
                .header("accept", SCAN_RESPONSE_CT)
                .body(body.to_string()),
        )
    }

    fn report(&self, token: &str, id: &str, accept: &str, query: &str) -> Resp {
        self.send(
            self.client
                .get(format!("{}/api/v1/scan/{id}/report{query}", self.base))
                .header("authorization", format!("Bearer {token}"))
                .header("accept", accept),
        )
    }

    /// Polls as Harbor does until the status is 200 or 500; returns the polls that
    /// answered 302 (with their `Refresh-After`) and the final answer.
    fn poll(&self, token: &str, id: &str, accept: &str, query: &str) -> (Vec<String>, Resp) {
        let end = Instant::now() + Duration::from_secs(600);
        let mut waits = Vec::new();
        loop {
            let r = self.report(token, id, accept, query);
            if r.status != 302 {
                return (waits, r);
            }
            waits.push(r.refresh_after.clone().unwrap_or_default());
            assert!(
                Instant::now() < end,
                "report {id} still pending after 600 s"
            );
            // Harbor waits Refresh-After seconds; a test need not.
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The spec's schemas, one validator per component.
struct Spec {
    doc: Value,
}

impl Spec {
    fn load() -> Spec {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/harbor-scanner-adapter-v1.2-schemas.json"
        );
        Spec {
            doc: serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap(),
        }
    }

    /// What the spec's schema of `component` finds wrong with `value`.
    fn errors(&self, component: &str, value: &Value) -> Vec<String> {
        let mut schema = self.doc.clone();
        schema["$ref"] = json!(format!("#/components/schemas/{component}"));
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .expect("the spec's schemas compile");
        v.iter_errors(value)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect()
    }

    #[track_caller]
    fn check(&self, component: &str, value: &Value) {
        let errors = self.errors(component, value);
        assert!(
            errors.is_empty(),
            "{component} does not match the spec: {errors:?}\n{value:#}"
        );
    }
}

fn scan_request(registry: &str, auth: Option<&str>, repo: &str, digest: &str, tag: &str) -> Value {
    let mut registry = json!({ "url": registry });
    if let Some(a) = auth {
        registry["authorization"] = json!(a);
    }
    json!({
        "registry": registry,
        "artifact": {"repository": repo, "digest": digest, "tag": tag, "mime_type": OCI_MANIFEST},
        "enabled_capabilities": [
            {"type": "vulnerability", "produces_mime_types": [VULN_CT]},
            {"type": "sbom", "produces_mime_types": [SBOM_CT],
             "parameters": {"sbom_media_types": ["application/spdx+json", "application/vnd.cyclonedx+json"]}}
        ]
    })
}

/// The manifest digest and media type the registry serves for `repo:tag`.
fn manifest_of(reg: &RegistryService, repo: &str, tag: &str) -> (String, String) {
    let resp = reqwest::blocking::Client::new()
        .head(format!("{}/v2/{repo}/manifests/{tag}", reg.url()))
        .basic_auth(ROBOT.0, Some(ROBOT.1))
        .header(
            "accept",
            format!("{OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json"),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "HEAD manifest {repo}:{tag}");
    let h = |n: &str| resp.headers()[n].to_str().unwrap().to_string();
    (h("docker-content-digest"), h("content-type"))
}

fn token(r: &Running, role: Role) -> String {
    r.server
        .db
        .tx(|tx| {
            create_token(
                tx,
                &format!("harbor-{}", role.as_str()),
                role,
                None,
                None,
                "test",
            )
        })
        .unwrap()
        .1
}

#[test]
fn harbor_scans_through_the_adapter() {
    drive(None);
}

/// The same on PostgreSQL (the adapter's table and queries in the other dialect).
#[test]
fn harbor_scans_through_the_adapter_on_postgres() {
    let Some(pg) = Postgres::start() else { return };
    drive(Some(pg.create_database("harbor")));
}

/// Everything Harbor does, on the store `store` (`None`: the embedded SQLite).
fn drive(store: Option<String>) {
    let Some(fx) = fixtures() else { return };
    let t = tempfile::tempdir().unwrap();
    let Some(db) = advisory_db(t.path()) else {
        return;
    };
    let Some(reg) = RegistryService::start_with(None, Some(ROBOT)) else {
        return;
    };
    let layout = fx.join("layout");
    reg.push(&layout, "child", "apps/fetch:1.4.2");
    let (digest, media_type) = manifest_of(&reg, "apps/fetch", "1.4.2");
    assert_eq!(media_type, OCI_MANIFEST);

    let port = free_port();
    let config = Config {
        listen: format!("127.0.0.1:{port}"),
        data_dir: Some(t.path().join("data")),
        db: Some(db.clone()),
        workers: 1,
        store,
        // No credentials of its own: the pull must use the ones Harbor sends.
        registries: vec![RegistryConfig::from_url(&reg.url())],
        schedules: quiet_schedules(),
        ..Config::default()
    };
    let running = start(config, ServeOptions::default()).unwrap();
    let harbor = Harbor {
        client: reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: format!("{}/harbor", running.url()),
    };
    let spec = Spec::load();
    let scanner = token(&running, Role::Scanner);
    let viewer = token(&running, Role::Viewer);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ROBOT.0, ROBOT.1))
    );

    // Metadata, with each way Harbor sends a registration's credential.
    let bearer = format!("Bearer {scanner}");
    let api_key_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("harbor:{scanner}"))
    );
    for auth in [
        vec![("authorization", bearer.as_str())],
        vec![("x-scanneradapter-api-key", scanner.as_str())],
        vec![("authorization", api_key_basic.as_str())],
    ] {
        let m = harbor.metadata(&auth);
        assert_eq!(m.status, 200, "{auth:?}: {}", m.body);
        assert_eq!(m.content_type, METADATA_CT);
        spec.check("ScannerAdapterMetadata", &m.body);
        assert_eq!(m.body["scanner"]["name"], "patchline");
        let caps = m.body["capabilities"].as_array().unwrap();
        assert_eq!(caps.len(), 2);
        assert_eq!(caps[0]["type"], "vulnerability");
        assert!(caps[0]["produces_mime_types"]
            .as_array()
            .unwrap()
            .contains(&json!(VULN_CT)));
        assert_eq!(caps[1]["type"], "sbom");
        assert_eq!(caps[1]["produces_mime_types"], json!([SBOM_CT]));
        assert_eq!(
            caps[1]["additional_attributes"]["sbom_media_types"],
            json!(["application/spdx+json", "application/vnd.cyclonedx+json"])
        );
        for c in caps {
            assert_eq!(
                c["consumes_mime_types"],
                json!([
                    OCI_MANIFEST,
                    "application/vnd.docker.distribution.manifest.v2+json"
                ])
            );
        }
        let props = &m.body["properties"];
        assert_eq!(
            props["harbor.scanner-adapter/scanner-type"],
            "os-package-vulnerability"
        );
        assert!(props["harbor.scanner-adapter/vulnerability-database-updated-at"].is_string());
    }
    // Wrong or missing token: 401; a token of another role: 403; both in the error shape.
    for auth in [
        vec![],
        vec![("authorization", "Bearer plt_not-a-token")],
        vec![("x-scanneradapter-api-key", "plt_not-a-token")],
    ] {
        let m = harbor.metadata(&auth);
        assert_eq!(m.status, 401, "{auth:?}");
        assert_eq!(m.content_type, ERROR_CT);
        spec.check("ErrorResponse", &m.body);
        assert!(m.body["error"]["message"].is_string());
    }
    let viewer_bearer = format!("Bearer {viewer}");
    let m = harbor.metadata(&[("authorization", viewer_bearer.as_str())]);
    assert_eq!(m.status, 403);
    spec.check("ErrorResponse", &m.body);

    // The scan, as Harbor requests it.
    let request = scan_request(&reg.url(), Some(&basic), "apps/fetch", &digest, "1.4.2");
    let accepted = harbor.scan(&scanner, &request.to_string());
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(accepted.content_type, SCAN_RESPONSE_CT);
    spec.check("ScanResponse", &accepted.body);
    let id = accepted.body["id"].as_str().unwrap().to_string();
    // The credential is never echoed, nor kept once the scan ends (checked below).
    assert!(!accepted.body.to_string().contains(ROBOT.1));

    let started = Instant::now();
    let (waits, report) = harbor.poll(&scanner, &id, VULN_CT, "");
    eprintln!(
        "scan request to report: {:.1} s, {} polls answered 302",
        started.elapsed().as_secs_f64(),
        waits.len()
    );
    assert!(
        !waits.is_empty(),
        "the first poll came before the scan was done"
    );
    assert!(waits.iter().all(|w| w == "5"), "Refresh-After: {waits:?}");
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.content_type, VULN_CT);
    spec.check("HarborVulnerabilityReport", &report.body);
    let body = &report.body;
    assert_eq!(
        body["artifact"],
        json!({"repository": "apps/fetch", "digest": digest, "tag": "1.4.2", "mime_type": OCI_MANIFEST})
    );
    assert_eq!(body["scanner"]["name"], "patchline");
    let vulns = body["vulnerabilities"].as_array().unwrap();
    let curl = vulns
        .iter()
        .find(|v| v["id"] == CVE && v["package"] == "curl")
        .unwrap_or_else(|| panic!("{CVE} in curl missing from {vulns:#?}"));
    assert_eq!(curl["version"], "7.88.1-10+deb12u5");
    assert_eq!(curl["fix_version"], "7.88.1-10+deb12u10");
    assert!(curl["layer"]["diff_id"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(curl["layer"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(curl["vendor_attributes"]["ecosystem"], "Debian:12");
    // The overall severity is the highest finding's.
    let order = ["Unknown", "Negligible", "Low", "Medium", "High", "Critical"];
    let rank = |s: &Value| order.iter().position(|o| s == o).unwrap();
    let top = vulns.iter().map(|v| rank(&v["severity"])).max().unwrap();
    assert_eq!(rank(&body["severity"]), top);

    // The same findings as a scan of the same image with the same DB.
    let scan = patchline_scan::scan(
        patchline_scan::Input::Image(format!("oci:{}:child", layout.display())),
        &patchline_scan::ScanOptions {
            db: Some(db.clone()),
            ..Default::default()
        },
        &patchline_inventory::NoProgress,
    )
    .unwrap();
    // (id, package, version, severity as Harbor spells it, fix version)
    type Row = (String, String, String, String, String);
    let expected: BTreeSet<Row> = scan
        .report
        .findings
        .iter()
        .map(|f| {
            let sev = f.severity.as_str();
            (
                f.id.clone(),
                f.package.name.clone(),
                f.package.version.clone(),
                format!("{}{}", sev[..1].to_uppercase(), &sev[1..]),
                f.fixed_versions.first().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let got: BTreeSet<Row> = vulns
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (
                s("id"),
                s("package"),
                s("version"),
                s("severity"),
                s("fix_version"),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "the Harbor report differs from patchline scan"
    );
    assert_eq!(vulns.len(), got.len(), "one entry per finding");
    eprintln!("{} vulnerabilities in the report", vulns.len());

    // Spec 1.2: the SBOM report in both formats.
    for (media, check) in [
        ("application/spdx+json", "spdxVersion"),
        ("application/vnd.cyclonedx+json", "bomFormat"),
    ] {
        let q = format!("?sbom_media_type={}", media.replace('+', "%2B"));
        let (_, r) = harbor.poll(&scanner, &id, SBOM_CT, &q);
        assert_eq!(r.status, 200, "{media}: {}", r.body);
        assert_eq!(r.content_type, SBOM_CT);
        spec.check("HarborSbomReport", &r.body);
        assert_eq!(r.body["media_type"], media);
        assert!(
            r.body["sbom"][check].is_string(),
            "{media}: {}",
            r.body["sbom"]
        );
        assert!(r.body["sbom"].to_string().contains("\"curl\""));
        assert_eq!(r.body["artifact"]["digest"], digest.as_str());
    }
    // The SBOM report needs its media type, a valid one.
    for q in ["", "?sbom_media_type=text%2Fplain"] {
        let r = harbor.report(&scanner, &id, SBOM_CT, q);
        assert_eq!(r.status, 400, "{q}");
        spec.check("ErrorResponse", &r.body);
    }
    // An Accept this scanner does not produce.
    for accept in [
        "application/vnd.scanner.adapter.vuln.report.raw",
        "text/html",
    ] {
        let r = harbor.report(&scanner, &id, accept, "");
        assert_eq!(r.status, 400, "{accept}");
        assert_eq!(r.content_type, ERROR_CT);
    }
    // Unknown id: 404.
    let r = harbor.report(
        &scanner,
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        VULN_CT,
        "",
    );
    assert_eq!(r.status, 404);
    // A wrong token reads no report.
    let r = harbor.report("plt_wrong", &id, VULN_CT, "");
    assert_eq!(r.status, 401);
    // The credential Harbor gave is gone once the scan ended.
    let kept = running
        .server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM harbor_scans WHERE credential IS NOT NULL",
                &[],
            )
        })
        .unwrap();
    assert_eq!(kept, 0);

    // Malformed requests: 400; invalid fields and unsupported types: 422.
    let bad_json = harbor.scan(&scanner, "{\"registry\": ");
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.content_type, ERROR_CT);
    spec.check("ErrorResponse", &bad_json.body);
    let wrong_type = harbor.scan(
        &scanner,
        &json!({"registry": "x", "artifact": 1}).to_string(),
    );
    assert_eq!(wrong_type.status, 400);
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut no_url = request.clone();
    no_url["registry"].as_object_mut().unwrap().remove("url");
    cases.push(("missing registry.url", no_url));
    let mut no_digest = request.clone();
    no_digest["artifact"]
        .as_object_mut()
        .unwrap()
        .remove("digest");
    cases.push(("missing artifact.digest", no_digest));
    let mut bad_digest = request.clone();
    bad_digest["artifact"]["digest"] = json!("sha256:nothex");
    cases.push(("invalid digest", bad_digest));
    let mut helm = request.clone();
    helm["artifact"]["mime_type"] = json!("application/vnd.cncf.helm.config.v1+json");
    cases.push(("unsupported artifact mime type", helm));
    let mut foreign = request.clone();
    foreign["registry"]["url"] = json!("https://core.harbor.domain");
    cases.push(("registry not configured", foreign));
    let mut bearer_reg = request.clone();
    bearer_reg["registry"]["authorization"] = json!("Bearer eyJhbGciOi");
    cases.push(("bearer registry token", bearer_reg));
    let mut bad_sbom = request.clone();
    bad_sbom["enabled_capabilities"][1]["parameters"]["sbom_media_types"] = json!(["text/plain"]);
    cases.push(("unsupported sbom media type", bad_sbom));
    let mut bad_cap = request.clone();
    bad_cap["enabled_capabilities"] = json!([{"type": "malware"}]);
    cases.push(("unsupported capability", bad_cap));
    for (what, body) in cases {
        let r = harbor.scan(&scanner, &body.to_string());
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert_eq!(r.content_type, ERROR_CT, "{what}");
        spec.check("ErrorResponse", &r.body);
    }
    // A viewer may not scan.
    let viewer_scan = harbor.scan(&viewer, &request.to_string());
    assert_eq!(viewer_scan.status, 403);

    // A Docker v2 manifest (skopeo converts the base on push), as Harbor names it.
    let out = std::process::Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ])
        .args(["--format", "v2s2", "--dest-creds"])
        .arg(format!("{}:{}", ROBOT.0, ROBOT.1))
        .arg(format!("oci:{}:base", layout.display()))
        .arg(format!("docker://{}/platform/base:12", reg.host))
        .env("TMPDIR", t.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo push v2s2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base_digest, base_type) = manifest_of(&reg, "platform/base", "12");
    assert_eq!(base_type, DOCKER_MANIFEST);
    let mut docker = scan_request(
        &reg.url(),
        Some(&basic),
        "platform/base",
        &base_digest,
        "12",
    );
    docker["artifact"]["mime_type"] = json!(DOCKER_MANIFEST);
    let accepted = harbor.scan(&scanner, &docker.to_string());
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let base_id = accepted.body["id"].as_str().unwrap().to_string();
    let (_, r) = harbor.poll(&scanner, &base_id, VULN_CT, "");
    assert_eq!(r.status, 200, "{}", r.body);
    spec.check("HarborVulnerabilityReport", &r.body);
    assert_eq!(r.body["artifact"]["mime_type"], DOCKER_MANIFEST);
    assert!(
        !r.body["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["package"] == "curl"),
        "the base has no curl"
    );

    // A scan that fails (no credentials for a registry that needs them): 500 with its
    // error, in the spec's error shape.
    let no_auth = scan_request(&reg.url(), None, "apps/fetch", &digest, "1.4.2");
    let accepted = harbor.scan(&scanner, &no_auth.to_string());
    assert_eq!(accepted.status, 202);
    let failed_id = accepted.body["id"].as_str().unwrap().to_string();
    let (_, failed) = harbor.poll(&scanner, &failed_id, VULN_CT, "");
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(failed.content_type, ERROR_CT);
    spec.check("ErrorResponse", &failed.body);
    let message = failed.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("scan failed: "), "{message}");
    assert!(message.contains("apps/fetch"), "{message}");
    assert!(!message.contains(ROBOT.1));

    running.stop_within(Duration::from_secs(10));
}

/// The schema check above is a real one: it refuses what the spec refuses.
#[test]
fn the_spec_schemas_refuse_wrong_reports() {
    let spec = Spec::load();
    for (component, bad) in [
        ("HarborVulnerabilityReport", json!({"severity": "Severe"})),
        (
            "HarborVulnerabilityReport",
            json!({"vulnerabilities": [{"links": "x"}]}),
        ),
        ("ScannerAdapterMetadata", json!({"scanner": {}})),
        ("HarborSbomReport", json!({"media_type": "text/plain"})),
    ] {
        assert!(
            !spec.errors(component, &bad).is_empty(),
            "{component} accepted {bad}"
        );
    }
    spec.check("ErrorResponse", &json!({"error": {"message": "x"}}));
}
