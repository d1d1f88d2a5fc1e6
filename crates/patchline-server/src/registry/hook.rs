//! `POST /api/v1/hooks/registry`: registry push events.
//!
//! Two formats, told apart by their shape:
//!
//! - **Distribution** (Docker's `registry`, Harbor's and GitLab's underneath, Zot): an
//!   envelope `{"events": [...]}` sent as `application/vnd.docker.distribution.events.v1+json`
//!   (2.x) or `...events.v2+json` (3.x). Each event has an `action` (`push`, `pull`,
//!   `delete`, `mount`) and a `target` (`mediaType`, `digest`, `repository`, `tag`, `url`).
//!   Blob pushes and every pull arrive too: only manifests and indexes count.
//! - **Harbor** webhooks (`application/json`): `{"type": "PUSH_ARTIFACT" | "DELETE_ARTIFACT",
//!   "event_data": {"resources": [{"digest", "tag", "resource_url"}], "repository":
//!   {"repo_full_name"}}}`.
//!
//! Authentication is the shared secret of `[hooks]`, sent in a header the registry is
//! configured with (`Authorization: Bearer SECRET` or the bare secret by default), compared
//! in constant time. The registry named by an event (the host of `target.url`, else
//! `request.host`; Harbor: the host of `resource_url`) must be a configured one: others are
//! counted as ignored, never contacted. The body is bounded ([`MAX_BODY`]), and so is the
//! number of events in one envelope ([`MAX_EVENTS`]). All of an envelope's events are
//! recorded in one transaction.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::{deleted, observe, valid_digest, valid_repository, valid_tag};
use crate::api::{ApiError, ApiResult};
use crate::db::Tx;
use crate::params;
use crate::state::{AppState, Server};

/// Largest envelope accepted: Distribution batches a handful of events per request.
pub const MAX_BODY: usize = 1 << 20;
/// Most events in one envelope.
pub const MAX_EVENTS: usize = 1000;

/// The media types of what can be scanned (single manifests and multi-platform indexes).
const MANIFEST_TYPES: &[&str] = &[
    patchline_image::manifest::OCI_MANIFEST,
    patchline_image::manifest::OCI_INDEX,
    patchline_image::manifest::DOCKER_MANIFEST,
    patchline_image::manifest::DOCKER_MANIFEST_LIST,
];

const CONTENT_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
];

/// What an envelope's events came to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookCounts {
    /// Manifest pushes and deletes of configured registries, recorded.
    pub accepted: u64,
    /// Everything else: blobs, pulls, other actions, malformed events, and events naming
    /// a registry that is not configured.
    pub ignored: u64,
}

/// One thing an event asks for, once parsed and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Push {
        host: String,
        repository: String,
        tag: Option<String>,
        digest: String,
    },
    /// A manifest deleted (by digest).
    Delete {
        host: String,
        repository: String,
        digest: String,
    },
    /// A tag deleted (Distribution 2.8 sends the tag alone).
    DeleteTag {
        host: String,
        repository: String,
        tag: String,
    },
}

impl Action {
    fn host(&self) -> &str {
        match self {
            Action::Push { host, .. }
            | Action::Delete { host, .. }
            | Action::DeleteTag { host, .. } => host,
        }
    }
}

/// Receives a registry's notifications (Distribution envelope or Harbor webhook).
#[utoipa::path(
    post,
    path = "/api/v1/hooks/registry",
    tag = "registries",
    request_body(content = String, description = "A Distribution notification envelope or a Harbor webhook", content_type = "application/vnd.docker.distribution.events.v1+json"),
    params(("Authorization" = String, Header, description = "`Bearer SECRET` (the header and secret of `[hooks]`)")),
    responses(
        (status = 200, description = "Events recorded", body = HookCounts),
        (status = 400, description = "Not an envelope", body = crate::api::error::ErrorBody),
        (status = 401, description = "Missing or wrong secret", body = crate::api::error::ErrorBody),
        (status = 413, description = "Body or event count over the bounds", body = crate::api::error::ErrorBody),
        (status = 415, description = "Another content type", body = crate::api::error::ErrorBody),
    )
)]
pub async fn registry_hook(
    State(server): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<HookCounts>> {
    authenticate(&server, &headers)?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !CONTENT_TYPES.contains(&ct.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content type `{}`: expected {}",
                patchline_model::quote_capped(&ct, 100),
                CONTENT_TYPES.join(", ")
            ),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is over {MAX_BODY} bytes (or could not be read)"),
        )
    })?;
    let (actions, mut ignored) = parse(&bytes).map_err(ApiError::bad_request)?;
    let s = server.clone();
    let (accepted, foreign) = server.db.run(move |tx| record(tx, &s, &actions)).await?;
    ignored += foreign;
    server.metrics.hook_events.inc_by(accepted);
    Ok(Json(HookCounts { accepted, ignored }))
}

/// Applies parsed actions; returns (accepted, ignored because their registry is not
/// configured).
pub fn record(
    tx: &mut dyn Tx,
    server: &Server,
    actions: &[Action],
) -> crate::db::Result<(u64, u64)> {
    let (mut accepted, mut foreign) = (0, 0);
    for a in actions {
        let Some(reg) = super::configured(server, a.host()) else {
            tracing::warn!(
                registry = %patchline_model::quote_capped(a.host(), 100),
                "registry event for a registry that is not configured: ignored"
            );
            foreign += 1;
            continue;
        };
        let host = reg.host().to_string();
        match a {
            Action::Push {
                repository,
                tag,
                digest,
                ..
            } => {
                observe(
                    tx,
                    server,
                    &host,
                    repository,
                    tag.as_deref(),
                    digest,
                    "registry",
                )?;
            }
            Action::Delete {
                repository, digest, ..
            } => {
                deleted(tx, &host, repository, digest)?;
            }
            Action::DeleteTag {
                repository, tag, ..
            } => {
                tx.exec(
                    "DELETE FROM tags WHERE registry = ? AND repository = ? AND tag = ?",
                    params![&host, repository, tag],
                )?;
            }
        }
        accepted += 1;
    }
    Ok((accepted, foreign))
}

/// Checks the shared secret (unless `--no-auth`). A server without a secret refuses every
/// event: an open hook would let anyone queue work.
fn authenticate(server: &Server, headers: &HeaderMap) -> ApiResult<()> {
    if server.no_auth {
        return Ok(());
    }
    let secret = match server.config.hook_secret() {
        Ok(Some(s)) if !s.is_empty() => s,
        Ok(_) => {
            return Err(ApiError::unauthorized(
                "no registry hook secret is configured (hooks.secret_file or hooks.secret_env)",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the registry hook secret");
            return Err(ApiError::internal(
                "the hook secret cannot be read (see the server log)",
            ));
        }
    };
    let name = server
        .config
        .hooks
        .header
        .as_deref()
        .unwrap_or("authorization");
    let given = headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if secret_matches(given, &secret) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(format!(
            "missing or wrong secret in the {name} header"
        )))
    }
}

/// `Bearer SECRET` or the bare secret, compared in constant time (over hashes, so the
/// secret's length does not show either).
pub fn secret_matches(given: &str, secret: &str) -> bool {
    let value = match given.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => given[7..].trim_start(),
        _ => given,
    };
    if value.is_empty() {
        return false;
    }
    let a = Sha256::digest(value.as_bytes());
    let b = Sha256::digest(secret.as_bytes());
    a.ct_eq(&b).into()
}

#[derive(Deserialize)]
struct Envelope {
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    request: Option<Request>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    host: Option<String>,
}

#[derive(Deserialize)]
struct Harbor {
    #[serde(rename = "type")]
    kind: String,
    event_data: HarborData,
}

#[derive(Deserialize)]
struct HarborData {
    #[serde(default)]
    resources: Vec<HarborResource>,
    repository: HarborRepository,
}

#[derive(Deserialize)]
struct HarborResource {
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    resource_url: Option<String>,
}

#[derive(Deserialize)]
struct HarborRepository {
    #[serde(default)]
    repo_full_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// The host[:port] of `scheme://host[:port]/...` or `host[:port]/...`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next()?;
    // User info would be a spoofing attempt (`good.example@evil`): refuse it.
    (!host.is_empty() && !host.contains('@')).then_some(host)
}

/// The actions of a body, and how many events were ignored; an error when the body is
/// neither format.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Action>, u64), String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the body is not JSON: {e}"))?;
    if value.get("events").is_some() {
        let env: Envelope = serde_json::from_value(value)
            .map_err(|e| format!("not a notification envelope: {e}"))?;
        if env.events.len() > MAX_EVENTS {
            return Err(format!(
                "{} events in one envelope (at most {MAX_EVENTS})",
                env.events.len()
            ));
        }
        let mut actions = Vec::new();
        let mut ignored = 0;
        for ev in env.events {
            match serde_json::from_value::<Event>(ev)
                .ok()
                .and_then(distribution)
            {
                Some(a) => actions.push(a),
                None => ignored += 1,
            }
        }
        return Ok((actions, ignored));
    }
    if value.get("event_data").is_some() {
        let h: Harbor =
            serde_json::from_value(value).map_err(|e| format!("not a Harbor webhook: {e}"))?;
        if h.event_data.resources.len() > MAX_EVENTS {
            return Err(format!(
                "{} resources in one webhook (at most {MAX_EVENTS})",
                h.event_data.resources.len()
            ));
        }
        let repository = h.event_data.repository.repo_full_name.clone().or_else(|| {
            match (
                &h.event_data.repository.namespace,
                &h.event_data.repository.name,
            ) {
                (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
                _ => None,
            }
        });
        let mut actions = Vec::new();
        let mut ignored = 0;
        for r in &h.event_data.resources {
            match harbor(&h.kind, repository.as_deref(), r) {
                Some(a) => actions.push(a),
                None => ignored += 1,
            }
        }
        return Ok((actions, ignored));
    }
    Err("neither a notification envelope (`events`) nor a Harbor webhook (`event_data`)".into())
}

fn distribution(ev: Event) -> Option<Action> {
    let t = ev.target;
    let repository = t.repository.filter(|r| valid_repository(r))?;
    // The URL when there is one (a bad one is not replaced by the request's host).
    let host = match t.url.as_deref() {
        Some(u) => host_of(u)?,
        None => host_of(ev.request.as_ref()?.host.as_deref()?)?,
    }
    .to_string();
    let tag = match t.tag {
        Some(tag) if valid_tag(&tag) => Some(tag),
        Some(_) => return None,
        None => None,
    };
    let digest = match t.digest {
        Some(d) if valid_digest(&d) => Some(d),
        Some(_) => return None,
        None => None,
    };
    let is_blob = t.url.as_deref().is_some_and(|u| u.contains("/blobs/"));
    let is_manifest = t
        .media_type
        .as_deref()
        .is_some_and(|m| MANIFEST_TYPES.contains(&m));
    match ev.action.as_str() {
        "push" if is_manifest && !is_blob => Some(Action::Push {
            host,
            repository,
            tag,
            digest: digest?,
        }),
        // Deletes name no media type; a blob's has a /blobs/ URL.
        "delete" if !is_blob => match (digest, tag) {
            (Some(digest), _) => Some(Action::Delete {
                host,
                repository,
                digest,
            }),
            (None, Some(tag)) => Some(Action::DeleteTag {
                host,
                repository,
                tag,
            }),
            (None, None) => None,
        },
        _ => None,
    }
}

fn harbor(kind: &str, repository: Option<&str>, r: &HarborResource) -> Option<Action> {
    let url = r.resource_url.as_deref()?;
    let host = host_of(url)?.to_string();
    // `host/repo:tag` or `host/repo@digest`: the repository is the path without them
    // when the envelope's repository is missing.
    let repository = match repository {
        Some(r) => r.to_string(),
        None => {
            let path = url.split_once('/')?.1;
            let path = path.split('@').next()?;
            match path.rsplit_once(':') {
                Some((p, _)) => p.to_string(),
                None => path.to_string(),
            }
        }
    };
    if !valid_repository(&repository) {
        return None;
    }
    let digest = r.digest.clone().filter(|d| valid_digest(d))?;
    let tag = r.tag.clone().filter(|t| valid_tag(t));
    match kind {
        "PUSH_ARTIFACT" => Some(Action::Push {
            host,
            repository,
            tag,
            digest,
        }),
        "DELETE_ARTIFACT" => Some(Action::Delete {
            host,
            repository,
            digest,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:9e939218bb28baa4f28e93c76d69117d165f407076862a0ba7a35495cf7a2f93";

    /// As Distribution 2.8 sends them for a `skopeo copy` (a blob push and a tag push).
    fn envelope() -> String {
        serde_json::json!({"events": [
            {"id": "1", "timestamp": "2026-12-07T20:00:00Z", "action": "push",
             "target": {"mediaType": "application/octet-stream", "size": 10, "digest": D,
                        "length": 10, "repository": "apps/fetch",
                        "url": format!("http://127.0.0.1:5000/v2/apps/fetch/blobs/{D}")},
             "request": {"id": "r", "addr": "127.0.0.1:1", "host": "127.0.0.1:5000",
                         "method": "PUT", "useragent": "skopeo"},
             "actor": {}, "source": {"addr": "h:5000", "instanceID": "i"}},
            {"id": "2", "timestamp": "2026-12-07T20:00:00Z", "action": "push",
             "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "size": 700, "digest": D, "length": 700, "repository": "apps/fetch",
                        "url": format!("http://127.0.0.1:5000/v2/apps/fetch/manifests/{D}"),
                        "tag": "1.4.2"},
             "request": {"host": "127.0.0.1:5000", "method": "PUT"}},
            {"action": "pull", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": D, "repository": "apps/fetch",
             "url": format!("http://127.0.0.1:5000/v2/apps/fetch/manifests/{D}")}},
            {"action": "delete", "target": {"digest": D, "repository": "apps/fetch"},
             "request": {"host": "127.0.0.1:5000"}},
        ]})
        .to_string()
    }

    #[test]
    fn distribution_envelope() {
        let (actions, ignored) = parse(envelope().as_bytes()).unwrap();
        assert_eq!(ignored, 2, "the blob push and the pull");
        assert_eq!(
            actions,
            vec![
                Action::Push {
                    host: "127.0.0.1:5000".into(),
                    repository: "apps/fetch".into(),
                    tag: Some("1.4.2".into()),
                    digest: D.into()
                },
                Action::Delete {
                    host: "127.0.0.1:5000".into(),
                    repository: "apps/fetch".into(),
                    digest: D.into()
                }
            ]
        );
    }

    #[test]
    fn harbor_webhook() {
        let body = serde_json::json!({
            "type": "PUSH_ARTIFACT", "occur_at": 1_700_000_000, "operator": "admin",
            "event_data": {
                "resources": [{"digest": D, "tag": "latest",
                               "resource_url": "harbor.example.com/library/nginx:latest"}],
                "repository": {"date_created": 1, "name": "nginx", "namespace": "library",
                               "repo_full_name": "library/nginx", "repo_type": "private"}
            }
        });
        let (actions, ignored) = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(ignored, 0);
        assert_eq!(
            actions,
            vec![Action::Push {
                host: "harbor.example.com".into(),
                repository: "library/nginx".into(),
                tag: Some("latest".into()),
                digest: D.into()
            }]
        );
    }

    #[test]
    fn bad_bodies_are_errors_or_ignored() {
        assert!(parse(b"not json").is_err());
        assert!(parse(b"{\"x\": 1}").is_err());
        let many = serde_json::json!({"events": vec![serde_json::json!({}); MAX_EVENTS + 1]});
        assert!(parse(many.to_string().as_bytes())
            .unwrap_err()
            .contains("at most"));
        // Bad names and digests, user info in the URL: ignored, never recorded.
        let bad = serde_json::json!({"events": [
            {"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:nothex", "repository": "a", "url": "http://127.0.0.1:5000/v2/a/manifests/x"}},
            {"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": D, "repository": "../etc", "url": "http://127.0.0.1:5000/v2/a/manifests/x"}},
            {"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": D, "repository": "a", "url": "http://127.0.0.1:5000@evil.example/v2/a/manifests/x"}},
        ]});
        assert_eq!(parse(bad.to_string().as_bytes()).unwrap(), (vec![], 3));
    }

    #[test]
    fn secrets_compare() {
        assert!(secret_matches("Bearer s3cret", "s3cret"));
        assert!(secret_matches("bearer s3cret", "s3cret"));
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("Bearer s3cre", "s3cret"));
        assert!(!secret_matches("", "s3cret"));
        assert!(!secret_matches("Bearer ", "s3cret"));
    }
}
