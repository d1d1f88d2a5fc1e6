//! Harbor's pluggable scanner: the Scanner Adapter API v1.1 and v1.2
//! (goharbor/pluggable-scanner-spec, `api/spec/scanner-adapter-openapi-v1.{1,2}.yaml`),
//! mounted under `/harbor` so the adapter URL registered in Harbor is
//! `https://HOST/harbor` and the spec's own `/api/v1/...` paths never collide with
//! patchline's API.
//!
//! - `GET /harbor/api/v1/metadata`: the scanner, its two capabilities (`vulnerability`,
//!   `sbom`) and properties (scanner type, the advisory DB's update time).
//! - `POST /harbor/api/v1/scan`: a `ScanRequest` becomes a `harbor_scans` row and a
//!   [`KIND`] job on the server's queue; 202 with `{"id": ...}`.
//! - `GET /harbor/api/v1/scan/{id}/report`: 302 with `Refresh-After` while the job is
//!   queued or running; the vulnerability report or the SBOM report (by `Accept`) once
//!   done; 500 with the scan's error when it failed.
//!
//! # Choices where the spec is loose
//!
//! - **Which registry.** Harbor names the registry to pull from (`registry.url`). Only a
//!   registry in the server's `[[registries]]` is accepted (scheme and `host[:port]` must
//!   match): a scan request can never make the server fetch from an address of the
//!   caller's choosing, the same rule the registry hooks follow. Anything else is a 422.
//! - **Which credentials.** Harbor's `registry.authorization` (`Basic` robot-account
//!   credentials, as Harbor 2.x sends) is used for the pull; without one, the configured
//!   registry's own credentials. A `Bearer` registry token is refused with a 422:
//!   patchline's registry client negotiates its own tokens from credentials. The
//!   credential is stored with the request only until its job ends, then erased; it is
//!   never logged or shown.
//! - **Status codes.** Malformed JSON or a value of the wrong JSON type is a 400; a
//!   missing or invalid field, an artifact MIME type other than the OCI and Docker image
//!   manifests, or a capability this scanner lacks is a 422 ("Received invalid field").
//!   A report `Accept` that is not one of the produced MIME types, or an SBOM report
//!   without a valid `sbom_media_type`, is a 400. Errors are
//!   `{"error": {"message": ...}}` as `application/vnd.scanner.adapter.error+json;
//!   version=1.0`.
//! - **Authentication.** A patchline API token of role `scanner` or `admin`, sent as Harbor
//!   sends its registration's credential: `Authorization: Bearer TOKEN`,
//!   `X-ScannerAdapter-API-Key: TOKEN`, or `Authorization: Basic` with the token as the
//!   password.
//! - **Severity.** Harbor's scale (`Unknown`, `Negligible`, `Low`, `Medium`, `High`,
//!   `Critical`) is patchline's; the report's overall severity is the highest finding's,
//!   `Unknown` when there are none.
//! - **Retention.** Requests older than [`KEEP_SECS`] are dropped when a new one arrives;
//!   the image, its inventory and findings stay in the store like any other scan's.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;

use crate::api::error::ApiError;
use crate::auth::{Principal, Role};
use crate::db::DbError;
use crate::state::AppState;

pub mod api;
pub mod report;
pub mod scan;

pub use scan::scan_job;

/// The job kind of a Harbor scan request (payload: `{"id": REQUEST_ID}`).
pub const KIND: &str = "harbor-scan";

/// How long a scan request (and so its report) is kept.
pub const KEEP_SECS: i64 = 7 * 24 * 3600;

/// The MIME types of the spec.
pub mod mime {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// The vulnerability report of spec 1.1 and 1.2.
    pub const VULN_1_1: &str = "application/vnd.security.vulnerability.report; version=1.1";
    /// The older name of the same report (spec 1.0); still asked for by older Harbors.
    pub const VULN_1_0: &str =
        "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
    /// The SBOM report of spec 1.2.
    pub const SBOM_1_0: &str = "application/vnd.security.sbom.report+json; version=1.0";
    pub const SPDX: &str = "application/spdx+json";
    pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
    pub const METADATA: &str = "application/vnd.scanner.adapter.metadata+json; version=1.1";
    pub const SCAN_RESPONSE: &str =
        "application/vnd.scanner.adapter.scan.response+json; version=1.0";
    pub const ERROR: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
}

/// The adapter's routes, under `/harbor`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/harbor/api/v1/metadata", get(api::metadata))
        .route("/harbor/api/v1/scan", post(api::accept_scan))
        .route("/harbor/api/v1/scan/{id}/report", get(api::report))
}

/// An error in the spec's shape: `{"error": {"message": ...}}`.
#[derive(Debug)]
pub struct HarborError {
    pub status: StatusCode,
    pub message: String,
}

impl HarborError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> HarborError {
        HarborError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> HarborError {
        HarborError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> HarborError {
        HarborError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl From<ApiError> for HarborError {
    fn from(e: ApiError) -> HarborError {
        HarborError::new(e.status, e.message)
    }
}

impl From<DbError> for HarborError {
    fn from(e: DbError) -> HarborError {
        ApiError::from(e).into()
    }
}

impl From<anyhow::Error> for HarborError {
    fn from(e: anyhow::Error) -> HarborError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for HarborError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"message": self.message}});
        json_response(self.status, mime::ERROR, &body)
    }
}

/// A JSON body with the spec's content type.
pub fn json_response(status: StatusCode, content_type: &str, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// The caller, a token of role `scanner` or `admin` (see the module doc for the headers).
pub struct HarborCaller(pub Principal);

/// Longest credential header looked at; longer is no token of ours.
const MAX_AUTH_HEADER: usize = 1024;

/// The token a request carries in any of the forms Harbor sends a registration's
/// credential in; `None` when there is none (or it is not readable).
fn harbor_token(parts: &Parts) -> Option<String> {
    let text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= MAX_AUTH_HEADER)
            .map(|v| v.trim().to_string())
    };
    if let Some(key) = text("x-scanneradapter-api-key").filter(|k| !k.is_empty()) {
        return Some(key);
    }
    let auth = text("authorization")?;
    let (scheme, rest) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let pair = String::from_utf8(raw).ok()?;
        let (user, password) = pair.split_once(':').unwrap_or((&pair, ""));
        return Some(if password.is_empty() { user } else { password }.to_string());
    }
    None
}

impl FromRequestParts<AppState> for HarborCaller {
    type Rejection = HarborError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<HarborCaller, HarborError> {
        // The token is handed to the API's own extractor as the bearer it reads, so the
        // checks (expiry, revocation, last use) are the same ones.
        if let Some(token) = harbor_token(parts) {
            match HeaderValue::from_str(&format!("Bearer {token}")) {
                Ok(v) => {
                    parts.headers.insert(header::AUTHORIZATION, v);
                }
                Err(_) => {
                    parts.headers.remove(header::AUTHORIZATION);
                }
            }
        } else {
            parts.headers.remove(header::AUTHORIZATION);
        }
        let who = Principal::from_request_parts(parts, state).await?;
        who.require(&[Role::Scanner])?;
        Ok(HarborCaller(who))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn tokens_are_read_from_each_form_harbor_sends() {
        assert_eq!(
            harbor_token(&parts(&[("authorization", "Bearer plt_x")])).as_deref(),
            Some("plt_x")
        );
        assert_eq!(
            harbor_token(&parts(&[("X-ScannerAdapter-API-Key", "plt_y")])).as_deref(),
            Some("plt_y")
        );
        // base64("harbor:plt_z")
        assert_eq!(
            harbor_token(&parts(&[("authorization", "Basic aGFyYm9yOnBsdF96")])).as_deref(),
            Some("plt_z")
        );
        assert_eq!(harbor_token(&parts(&[("authorization", "Basic !!")])), None);
        assert_eq!(harbor_token(&parts(&[("authorization", "Digest x")])), None);
        assert_eq!(harbor_token(&parts(&[])), None);
    }
}
