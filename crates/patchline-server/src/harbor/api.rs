//! The three operations of the Scanner Adapter API (see the module doc of [`super`]).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::report::{self, SbomFormat, StoredRequest};
use super::{json_response, mime, HarborCaller, HarborError, KEEP_SECS, KIND};
use crate::config::RegistryConfig;
use crate::db::{now, Tx};
use crate::jobs::{self, Enqueue};
use crate::params;
use crate::registry::{valid_digest, valid_repository, valid_tag};
use crate::state::{AppState, Server};

/// Seconds Harbor is told to wait before polling a report again.
pub const REFRESH_AFTER: u64 = 5;

/// Largest scan request read (a real one is well under 2 KiB).
const MAX_REQUEST: usize = 64 << 10;

/// Longest `registry.authorization` accepted.
const MAX_AUTHORIZATION: usize = 8 << 10;

/// `GET /harbor/api/v1/metadata`.
pub async fn metadata(
    State(state): State<AppState>,
    _caller: HarborCaller,
) -> Result<Response, HarborError> {
    let path = state.advisory_db.clone();
    // A DB that cannot be read leaves the property out: the scans say what is wrong.
    let updated = tokio::task::spawn_blocking(move || {
        if !path.is_file() {
            return None;
        }
        patchline_advisory::AdvisoryDb::open(&path)
            .and_then(|db| db.updated_at())
            .ok()
            .flatten()
    })
    .await
    .ok()
    .flatten();
    let consumes = [mime::OCI_MANIFEST, mime::DOCKER_MANIFEST];
    let mut properties = serde_json::Map::new();
    properties.insert(
        "harbor.scanner-adapter/scanner-type".into(),
        "os-package-vulnerability".into(),
    );
    if let Some(t) = updated {
        properties.insert(
            "harbor.scanner-adapter/vulnerability-database-updated-at".into(),
            t.into(),
        );
    }
    properties.insert(
        "org.patchline/registries".into(),
        state
            .config
            .registries
            .iter()
            .map(|r| r.url.as_str())
            .collect::<Vec<_>>()
            .join(",")
            .into(),
    );
    let body = serde_json::json!({
        "scanner": report::scanner(),
        "capabilities": [
            {
                "type": "vulnerability",
                "consumes_mime_types": consumes,
                "produces_mime_types": [mime::VULN_1_1, mime::VULN_1_0],
            },
            {
                "type": "sbom",
                "consumes_mime_types": consumes,
                "produces_mime_types": [mime::SBOM_1_0],
                "additional_attributes": {"sbom_media_types": [mime::SPDX, mime::CYCLONEDX]},
            }
        ],
        "properties": properties,
    });
    Ok(json_response(StatusCode::OK, mime::METADATA, &body))
}

/// The spec's `ScanRequest`. Every field is optional here so that serde refuses only
/// malformed JSON and wrong value types (400); missing fields are checked after (422).
#[derive(Debug, Default, Deserialize)]
struct ScanRequest {
    #[serde(default)]
    registry: Option<RegistryIn>,
    #[serde(default)]
    artifact: Option<Artifact>,
    #[serde(default)]
    enabled_capabilities: Option<Vec<CapabilityIn>>,
}

#[derive(Debug, Default, Deserialize)]
struct RegistryIn {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    authorization: Option<String>,
}

/// The spec's `Artifact`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Artifact {
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CapabilityIn {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    produces_mime_types: Option<Vec<String>>,
    #[serde(default)]
    parameters: Option<SbomParameters>,
}

#[derive(Debug, Default, Deserialize)]
struct SbomParameters {
    #[serde(default)]
    sbom_media_types: Option<Vec<String>>,
}

/// A scan request that passed every check.
#[derive(Debug)]
struct Valid {
    registry_url: String,
    repository: String,
    digest: String,
    tag: Option<String>,
    mime_type: String,
    credential: Option<String>,
}

fn capped(s: &str) -> String {
    patchline_model::quote_capped(s, 100)
}

/// The configured registry a request's `registry.url` names: the same scheme and
/// `host[:port]`, no path.
pub fn registry_for<'a>(server: &'a Server, url: &str) -> Option<&'a RegistryConfig> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, host) = url.split_once("://")?;
    if host.is_empty() || host.contains('/') {
        return None;
    }
    server.config.registries.iter().find(|r| {
        r.url
            .split_once("://")
            .is_some_and(|(s, _)| s.eq_ignore_ascii_case(scheme))
            && r.host().eq_ignore_ascii_case(host)
    })
}

fn validate(server: &Server, req: ScanRequest) -> Result<Valid, HarborError> {
    let registry = req
        .registry
        .ok_or_else(|| HarborError::unprocessable("missing registry"))?;
    let url = registry
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| HarborError::unprocessable("missing registry.url"))?;
    if url.len() > 2048 {
        return Err(HarborError::unprocessable("registry.url is too long"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(HarborError::unprocessable(format!(
            "invalid registry.url {}: expected http(s)://host[:port]",
            capped(&url)
        )));
    }
    let Some(reg) = registry_for(server, &url) else {
        return Err(HarborError::unprocessable(format!(
            "registry.url {} is not a registry this server is configured for ([[registries]] in patchline.toml)",
            capped(&url)
        )));
    };
    let credential = match registry.authorization.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) if a.len() > MAX_AUTHORIZATION => {
            return Err(HarborError::unprocessable(
                "registry.authorization is too long",
            ))
        }
        Some(a) => {
            basic_credentials(a)?;
            Some(a.to_string())
        }
    };
    let artifact = req
        .artifact
        .ok_or_else(|| HarborError::unprocessable("missing artifact"))?;
    let repository = artifact
        .repository
        .filter(|r| !r.is_empty())
        .ok_or_else(|| HarborError::unprocessable("missing artifact.repository"))?;
    if !valid_repository(&repository) {
        return Err(HarborError::unprocessable(format!(
            "invalid artifact.repository {}",
            capped(&repository)
        )));
    }
    let digest = artifact
        .digest
        .filter(|d| !d.is_empty())
        .ok_or_else(|| HarborError::unprocessable("missing artifact.digest"))?;
    if !valid_digest(&digest) {
        return Err(HarborError::unprocessable(format!(
            "invalid artifact.digest {} (expected sha256: and 64 hex digits)",
            capped(&digest)
        )));
    }
    let tag = artifact.tag.filter(|t| !t.is_empty());
    if let Some(t) = &tag {
        if !valid_tag(t) {
            return Err(HarborError::unprocessable(format!(
                "invalid artifact.tag {}",
                capped(t)
            )));
        }
    }
    // The spec makes the MIME type optional; Harbor always sends it.
    let mime_type = artifact
        .mime_type
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| mime::OCI_MANIFEST.to_string());
    if mime_type != mime::OCI_MANIFEST && mime_type != mime::DOCKER_MANIFEST {
        return Err(HarborError::unprocessable(format!(
            "unsupported artifact.mime_type {} (this scanner reads {} and {})",
            capped(&mime_type),
            mime::OCI_MANIFEST,
            mime::DOCKER_MANIFEST
        )));
    }
    for cap in req.enabled_capabilities.iter().flatten() {
        let (produces, allowed): (_, &[&str]) = match cap.kind.as_deref() {
            Some("vulnerability") => (&cap.produces_mime_types, &[mime::VULN_1_1, mime::VULN_1_0]),
            Some("sbom") => {
                let types = cap
                    .parameters
                    .as_ref()
                    .and_then(|p| p.sbom_media_types.as_ref());
                if let Some(bad) = types
                    .into_iter()
                    .flatten()
                    .find(|t| SbomFormat::from_media_type(t).is_none())
                {
                    return Err(HarborError::unprocessable(format!(
                        "unsupported sbom_media_types entry {} ({} or {})",
                        capped(bad),
                        mime::SPDX,
                        mime::CYCLONEDX
                    )));
                }
                (&cap.produces_mime_types, &[mime::SBOM_1_0])
            }
            Some(other) => {
                return Err(HarborError::unprocessable(format!(
                    "unsupported capability type {} (vulnerability or sbom)",
                    capped(other)
                )))
            }
            None => {
                return Err(HarborError::unprocessable(
                    "enabled_capabilities entry without a type",
                ))
            }
        };
        if let Some(bad) = produces
            .iter()
            .flatten()
            .find(|m| !allowed.iter().any(|a| same_media_type(a, m)))
        {
            return Err(HarborError::unprocessable(format!(
                "this scanner does not produce {}",
                capped(bad)
            )));
        }
    }
    Ok(Valid {
        registry_url: reg.url.clone(),
        repository,
        digest,
        tag,
        mime_type,
        credential,
    })
}

/// `(username, password)` of a `Basic` registry authorization; a `Bearer` one (or
/// anything else) is refused (see the module doc).
pub fn basic_credentials(authorization: &str) -> Result<(String, String), HarborError> {
    let (scheme, rest) = authorization.split_once(' ').ok_or_else(|| {
        HarborError::unprocessable("registry.authorization: expected `Basic ...`")
    })?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Err(HarborError::unprocessable(
            "registry.authorization: Bearer registry tokens are not supported; give Basic (robot account) credentials",
        ));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(HarborError::unprocessable(
            "registry.authorization: expected `Basic ...`",
        ));
    }
    let bad = || {
        HarborError::unprocessable(
            "registry.authorization: Basic credentials are not base64 of user:password",
        )
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let pair = String::from_utf8(raw).map_err(|_| bad())?;
    let (user, password) = pair.split_once(':').ok_or_else(bad)?;
    Ok((user.to_string(), password.to_string()))
}

/// Media types compared as Harbor writes them: without case, spaces around `;` ignored.
pub fn same_media_type(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

/// `POST /harbor/api/v1/scan`.
pub async fn accept_scan(
    State(state): State<AppState>,
    HarborCaller(who): HarborCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HarborError> {
    if body.len() > MAX_REQUEST {
        return Err(HarborError::bad_request(format!(
            "scan request of {} bytes (at most {MAX_REQUEST})",
            body.len()
        )));
    }
    let req: ScanRequest = serde_json::from_slice(&body)
        .map_err(|e| HarborError::bad_request(format!("invalid scan request JSON: {e}")))?;
    let valid = validate(&state, req)?;
    let id = uuid::Uuid::new_v4().to_string();
    let request_id = crate::api::request_id(&headers);
    let row_id = id.clone();
    state
        .db
        .run(move |tx| -> Result<(), HarborError> {
            store_request(tx, &who, &row_id, &valid, request_id.as_deref())?;
            Ok(())
        })
        .await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        mime::SCAN_RESPONSE,
        &serde_json::json!({ "id": id }),
    ))
}

fn store_request(
    tx: &mut dyn Tx,
    who: &crate::auth::Principal,
    id: &str,
    v: &Valid,
    request_id: Option<&str>,
) -> crate::db::Result<()> {
    let t = now();
    tx.exec(
        "DELETE FROM harbor_scans WHERE created_at < ?",
        params![t - KEEP_SECS],
    )?;
    // A job that never ended (its worker died on the last attempt) leaves its credential;
    // Harbor's robot accounts are short-lived, a day is past any of them.
    tx.exec(
        "UPDATE harbor_scans SET credential = NULL WHERE credential IS NOT NULL AND created_at < ?",
        params![t - 24 * 3600],
    )?;
    tx.exec(
        "INSERT INTO harbor_scans (id, registry, repository, digest, tag, mime_type, credential, state, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
        params![id, &v.registry_url, &v.repository, &v.digest, v.tag.as_deref(), &v.mime_type, v.credential.as_deref(), t],
    )?;
    let job = jobs::enqueue(
        tx,
        KIND,
        &serde_json::json!({ "id": id }),
        Enqueue {
            // Harbor is polling for it.
            priority: 10,
            // A failure is Harbor's to retry (it shows the error and offers a rescan);
            // a retry after backoff would keep Harbor polling for minutes.
            max_attempts: Some(1),
            ..Enqueue::default()
        },
    )?;
    tx.exec(
        "UPDATE harbor_scans SET job_id = ? WHERE id = ?",
        params![job, id],
    )?;
    crate::audit::record(
        tx,
        who,
        "harbor.scan",
        &format!("harbor-scan:{id}"),
        None::<&()>,
        Some(&serde_json::json!({
            "registry": &v.registry_url, "repository": &v.repository, "digest": &v.digest,
            "tag": &v.tag, "job": job,
        })),
        request_id,
    )
}

/// What a report request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The vulnerability report, answered with this content type.
    Vulnerability(&'static str),
    Sbom,
}

/// The report an `Accept` header asks for; `None` for anything this scanner does not
/// produce. Harbor sends exactly one type; a list is read in order.
pub fn wanted(accept: Option<&str>) -> Option<Wanted> {
    let accept = accept?;
    accept.split(',').find_map(|a| {
        let a = a.trim();
        if same_media_type(a, mime::VULN_1_1) {
            Some(Wanted::Vulnerability(mime::VULN_1_1))
        } else if same_media_type(a, mime::VULN_1_0) {
            Some(Wanted::Vulnerability(mime::VULN_1_0))
        } else if same_media_type(a, mime::SBOM_1_0) {
            Some(Wanted::Sbom)
        } else {
            None
        }
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    pub sbom_media_type: Option<String>,
}

/// `GET /harbor/api/v1/scan/{id}/report`.
pub async fn report(
    State(state): State<AppState>,
    _caller: HarborCaller,
    Path(id): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, HarborError> {
    // A query that does not parse is a 400 in the spec's error shape, not axum's text.
    let Query(q) = query.map_err(|e| HarborError::bad_request(format!("invalid query: {e}")))?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(want) = wanted(accept.as_deref()) else {
        return Err(HarborError::bad_request(format!(
            "unsupported Accept {} (this scanner produces {}, {} and {})",
            capped(accept.as_deref().unwrap_or("")),
            mime::VULN_1_1,
            mime::VULN_1_0,
            mime::SBOM_1_0
        )));
    };
    // What to answer with, settled before the store is asked.
    enum Answer {
        Vulnerability(&'static str),
        Sbom(SbomFormat),
    }
    let answer = match (want, q.sbom_media_type.as_deref()) {
        (Wanted::Sbom, None) => {
            return Err(HarborError::bad_request(format!(
                "an SBOM report needs ?sbom_media_type={} or {}",
                mime::SPDX,
                mime::CYCLONEDX
            )))
        }
        (Wanted::Sbom, Some(m)) => {
            Answer::Sbom(SbomFormat::from_media_type(m).ok_or_else(|| {
                HarborError::bad_request(format!(
                    "unsupported sbom_media_type {} ({} or {})",
                    capped(m),
                    mime::SPDX,
                    mime::CYCLONEDX
                ))
            })?)
        }
        (Wanted::Vulnerability(ct), _) => Answer::Vulnerability(ct),
    };
    if id.len() > 64 {
        return Err(not_found());
    }
    let found = state
        .db
        .run_read(move |tx| StoredRequest::load(tx, &id))
        .await?;
    let Some(req) = found else {
        return Err(not_found());
    };
    match req.outcome() {
        report::Outcome::Pending => {
            let mut resp = StatusCode::FOUND.into_response();
            resp.headers_mut()
                .insert("refresh-after", HeaderValue::from(REFRESH_AFTER));
            Ok(resp)
        }
        report::Outcome::Failed(message) => Err(HarborError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("scan failed: {message}"),
        )),
        report::Outcome::Done => {
            let (body, content_type) = match answer {
                Answer::Vulnerability(ct) => (
                    state
                        .db
                        .run_read(move |tx| report::vulnerability_report(tx, &req))
                        .await?,
                    ct,
                ),
                Answer::Sbom(f) => (
                    state
                        .db
                        .run_read(move |tx| report::sbom_report(tx, &req, f))
                        .await?,
                    mime::SBOM_1_0,
                ),
            };
            Ok(json_response(StatusCode::OK, content_type, &body))
        }
    }
}

fn not_found() -> HarborError {
    HarborError::new(StatusCode::NOT_FOUND, "no such scan request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_name_the_report() {
        assert_eq!(
            wanted(Some(
                "application/vnd.security.vulnerability.report; version=1.1"
            )),
            Some(Wanted::Vulnerability(mime::VULN_1_1))
        );
        assert_eq!(
            wanted(Some(
                "application/vnd.security.vulnerability.report;version=1.1"
            )),
            Some(Wanted::Vulnerability(mime::VULN_1_1))
        );
        assert_eq!(
            wanted(Some(
                "application/vnd.security.sbom.report+json; version=1.0"
            )),
            Some(Wanted::Sbom)
        );
        assert_eq!(
            wanted(Some("application/vnd.scanner.adapter.vuln.report.raw")),
            None
        );
        assert_eq!(
            wanted(Some(
                "application/vnd.security.vulnerability.report; version=9"
            )),
            None
        );
        assert_eq!(wanted(None), None);
    }

    #[test]
    fn registry_credentials_are_basic_only() {
        // base64("robot$x:secret")
        assert_eq!(
            basic_credentials("Basic cm9ib3QkeDpzZWNyZXQ=").unwrap(),
            ("robot$x".to_string(), "secret".to_string())
        );
        assert_eq!(basic_credentials("Bearer abc").unwrap_err().status, 422);
        assert_eq!(basic_credentials("Basic %%%").unwrap_err().status, 422);
        assert_eq!(basic_credentials("nonsense").unwrap_err().status, 422);
    }
}
