//! Results pushed by CI (`patchline scan IMAGE --server URL`): an inventory and its
//! findings uploaded with a scanner token, stored as the server's own scans are.
//!
//! # Contract
//!
//! `POST /api/v1/uploads` with `Authorization: Bearer <scanner token>` and
//!
//! ```json
//! {"inventory": {"schema": "patchline.inventory/v1", ...},
//!  "report": {"schema": "patchline.scan/v1", ...},
//!  "reference": "registry.example.com/team/app:1.4"}
//! ```
//!
//! `inventory` and `report` are what `patchline inventory --format json` and
//! `patchline scan --format json` write for the same image; `reference` (optional, the
//! report's image reference by default) is the tag the result is catalogued under. The
//! body is bounded by `limits.max_body` (413 past it) and read strictly: unknown keys,
//! another schema version, a report without the image's manifest digest, or a report of
//! another image than the inventory are refused with 400 naming the problem.
//!
//! The answer names the image, the scan row and the delta against what the store held:
//! the same report uploaded twice opens nothing new the second time.
//!
//! Everything an upload writes (image row, inventory, scan and findings, catalog entry,
//! notifications and campaign progress it causes, audit record) is one transaction.
//!
//! [`push`] is the client side, used by the CLI.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use patchline_model::vuln::{ScanReport, SCAN_SCHEMA};
use patchline_model::{Inventory, INVENTORY_SCHEMA};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::api::{request_id, ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::db::now;
use crate::state::AppState;
use crate::store::{Delta, ImageKey};

/// Longest `reference` accepted.
const MAX_REFERENCE: usize = 512;

/// The body of `POST /api/v1/uploads`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub inventory: Inventory,
    pub report: ScanReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The body as documented (the inventory and report schemas are patchline's own).
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadBody {
    /// patchline's inventory JSON (`patchline.inventory/v1`).
    inventory: serde_json::Value,
    /// patchline's scan report JSON (`patchline.scan/v1`) of the same image.
    report: serde_json::Value,
    /// `host/repo:tag` to catalogue the image under; default: the report's reference.
    reference: Option<String>,
}

/// What an upload stored.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct UploadResponse {
    pub image: UploadedImage,
    pub scan_id: i64,
    pub delta: DeltaCounts,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct UploadedImage {
    pub id: i64,
    pub digest: String,
    pub reference: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub struct DeltaCounts {
    pub new: usize,
    pub resolved: usize,
    pub changed: usize,
}

impl DeltaCounts {
    pub fn of(d: &Delta) -> DeltaCounts {
        DeltaCounts {
            new: d.new.len(),
            resolved: d.resolved.len(),
            changed: d.changed.len(),
        }
    }
}

/// `POST /api/v1/uploads`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(upload))
}

/// Stores a scan CI ran: the image's inventory and findings, as the server's own scans.
#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    tag = "uploads",
    request_body(content = UploadBody, description = "An inventory and its scan report"),
    responses(
        (status = 201, description = "Stored", body = UploadResponse),
        (status = 400, description = "Malformed or inconsistent upload", body = crate::api::error::ErrorBody),
        (status = 403, description = "Not a scanner or admin token", body = crate::api::error::ErrorBody),
        (status = 413, description = "Larger than limits.max_body"),
    ),
    security(("token" = []))
)]
async fn upload(
    State(server): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<UploadResponse>)> {
    principal.require(&[Role::Scanner])?;
    let req: UploadRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid upload body: {e}")))?;
    drop(body);
    let checked = validate(req)?;
    let rid = request_id(&headers);
    let s = Arc::clone(&server);
    let out = server
        .db
        .run(move |tx| -> ApiResult<UploadResponse> {
            let (delta, image_id) = crate::ingest::store_scan(
                tx,
                &s,
                &checked.key,
                checked.tag_reference.as_slice(),
                &checked.inventory,
                &checked.report,
                "upload",
                now(),
            )?;
            let resp = UploadResponse {
                image: UploadedImage {
                    id: image_id,
                    digest: checked.key.digest.clone(),
                    reference: checked.key.reference.clone(),
                },
                scan_id: delta.scan_id,
                delta: DeltaCounts::of(&delta),
            };
            crate::audit::record(
                tx,
                &principal,
                "upload",
                &format!("image:{}", checked.key.digest),
                None::<&()>,
                Some(&resp),
                rid.as_deref(),
            )?;
            Ok(resp)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// An upload that passed [`validate`].
pub struct Checked {
    pub key: ImageKey,
    /// The reference to catalogue under, when it names a tag.
    pub tag_reference: Option<String>,
    pub inventory: Inventory,
    pub report: ScanReport,
}

/// The checks an upload must pass before anything is stored.
pub fn validate(req: UploadRequest) -> Result<Checked, ApiError> {
    let UploadRequest {
        inventory,
        report,
        reference,
    } = req;
    if inventory.schema != INVENTORY_SCHEMA {
        return Err(ApiError::bad_request(format!(
            "inventory.schema is {:?}; this server reads {INVENTORY_SCHEMA:?}",
            inventory.schema
        )));
    }
    if report.schema != SCAN_SCHEMA {
        return Err(ApiError::bad_request(format!(
            "report.schema is {:?}; this server reads {SCAN_SCHEMA:?}",
            report.schema
        )));
    }
    let Some(digest) = report.image.manifest_digest.as_ref().map(|d| d.to_string()) else {
        return Err(ApiError::bad_request(
            "report.image.manifest_digest is missing: only images with a manifest digest can be stored (an SBOM or a directory scan has none)",
        ));
    };
    check_digest(&digest)
        .map_err(|m| ApiError::bad_request(format!("report.image.manifest_digest: {m}")))?;
    match inventory
        .image
        .manifest_digest
        .as_ref()
        .map(|d| d.to_string())
    {
        Some(d) if d == digest => {}
        Some(d) => {
            return Err(ApiError::bad_request(format!(
                "the report is of image {digest} but the inventory of {d}"
            )))
        }
        None => {
            return Err(ApiError::bad_request(
                "inventory.image.manifest_digest is missing",
            ))
        }
    }
    if let (Some(a), Some(b)) = (&report.image.config_digest, &inventory.image.config_digest) {
        if a != b {
            return Err(ApiError::bad_request(format!(
                "the report's config digest {a} differs from the inventory's {b}"
            )));
        }
    }
    let reference = reference.unwrap_or_else(|| report.image.reference.clone());
    check_reference(&reference).map_err(|m| ApiError::bad_request(format!("reference: {m}")))?;
    let (registry, repository, tag) = split_reference(&reference);
    let tag_reference = tag.map(|_| reference.clone());
    Ok(Checked {
        key: ImageKey {
            digest,
            registry,
            repository,
            reference,
            source: "upload".into(),
        },
        tag_reference,
        inventory,
        report,
    })
}

/// `sha256:` and 64 lowercase hex digits (or `sha512:` and 128).
pub fn check_digest(d: &str) -> Result<(), String> {
    let (algo, hex) = d
        .split_once(':')
        .ok_or_else(|| format!("{d:?} is not a digest (expected sha256:<64 hex digits>)"))?;
    let len = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "{d:?}: algorithm {algo:?} (expected sha256 or sha512)"
            ))
        }
    };
    if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "{d:?}: expected {len} lowercase hex digits after {algo}:"
        ));
    }
    Ok(())
}

/// A printable, bounded image reference.
pub fn check_reference(r: &str) -> Result<(), String> {
    if r.is_empty() {
        return Err("empty".into());
    }
    if r.len() > MAX_REFERENCE {
        return Err(format!("longer than {MAX_REFERENCE} bytes"));
    }
    if r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{r:?} holds whitespace or control characters"));
    }
    Ok(())
}

/// `(registry, repository, tag)` of `host[:port]/path[:tag][@digest]`; the registry is
/// empty when the first component is no host (`team/app:1`), as Docker reads it.
pub fn split_reference(r: &str) -> (String, String, Option<String>) {
    let r = r.strip_prefix("docker://").unwrap_or(r);
    let no_digest = r.split('@').next().unwrap_or(r);
    let (name, tag) = match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => {
            (&no_digest[..i], Some(no_digest[i + 1..].to_string()))
        }
        _ => (no_digest, None),
    };
    match name.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            (host.to_string(), rest.to_string(), tag)
        }
        _ => (String::new(), name.to_string(), tag),
    }
}

// ---- the client side ----------------------------------------------------------------

/// Largest answer read from the server.
const MAX_ANSWER: u64 = 1 << 20;

/// `BASE/api/v1/uploads`, refused unless `https://` or `http://` to a loopback host (a
/// token sent in clear text over a network is anyone's on the path).
pub fn upload_url(base: &str) -> Result<patchline_http::Url, String> {
    let base = base.trim_end_matches('/');
    crate::config::check_registry_url(base).map_err(|m| format!("--server {m}"))?;
    patchline_http::Url::parse(&format!("{base}/api/v1/uploads"))
        .map_err(|e| format!("--server `{base}`: {e}"))
}

/// Uploads a scan's inventory and report to the server at `base` (`https://host`, or
/// `http://` on loopback) with `token`. The error names what failed, never the token.
pub fn push(
    base: &str,
    token: &str,
    inventory: &Inventory,
    report: &ScanReport,
    reference: Option<&str>,
    timeout: std::time::Duration,
) -> Result<UploadResponse, String> {
    use patchline_http::{Client, Config, Deadline, Limits, Method};
    let url = upload_url(base)?;
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the server token is empty or holds whitespace".into());
    }
    #[derive(Serialize)]
    struct Body<'a> {
        inventory: &'a Inventory,
        report: &'a ScanReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    }
    let body = serde_json::to_vec(&Body {
        inventory,
        report,
        reference,
    })
    .map_err(|e| format!("encoding the upload: {e}"))?;
    let client = Client::new(&Config {
        user_agent: format!("patchline/{}", env!("CARGO_PKG_VERSION")),
        https_only: false,
        proxy_from_env: true,
        follow_redirects: false,
        limits: Limits {
            timeout,
            ..Limits::default()
        },
    })
    .map_err(|e| e.to_string())?;
    let deadline = Deadline::after(timeout);
    let req = client
        .request(Method::POST, &url)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body);
    let resp = client
        .send(req, deadline)
        .map_err(|e| format!("uploading to {url}: {e}"))?;
    let status = resp.status();
    let bytes = resp
        .read_bounded(MAX_ANSWER, deadline)
        .map_err(|e| format!("reading the answer of {url}: {e}"))?;
    if status != 201 {
        let why = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                    .trim()
                    .to_string()
            });
        return Err(format!("{url} refused the upload: HTTP {status}: {why}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{url}: unreadable answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split() {
        assert_eq!(
            split_reference("registry.example.com:5000/team/app:1.4"),
            (
                "registry.example.com:5000".into(),
                "team/app".into(),
                Some("1.4".into())
            )
        );
        assert_eq!(
            split_reference("localhost/app@sha256:00"),
            ("localhost".into(), "app".into(), None)
        );
        assert_eq!(
            split_reference("team/app"),
            (String::new(), "team/app".into(), None)
        );
    }

    #[test]
    fn digests_checked() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(check_digest("sha256:abc").is_err());
        assert!(check_digest("md5:00").is_err());
        assert!(check_digest("nope").is_err());
    }

    #[test]
    fn clear_text_only_on_loopback() {
        let e = upload_url("http://patchline.example.com").unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        assert_eq!(
            upload_url("http://127.0.0.1:8080/").unwrap().as_str(),
            "http://127.0.0.1:8080/api/v1/uploads"
        );
        assert!(upload_url("https://patchline.example.com").is_ok());
    }
}
