//! Trusted images, governed: requests to use an external image are scanned on the spot,
//! approved or rejected by the security role with a reason and an expiry, and revoked
//! when the image falls behind its upstream or gains a KEV finding. The policy's
//! `trusted_bases` is served from this list.
//!
//! # Workflow
//!
//! - `POST /api/v1/trusted-images/requests` `{repository, digest, justification}` (team,
//!   security, admin): the digest's latest stored scan gives the summary (critical,
//!   high, KEV counts); an image the store has not scanned is pulled from its registry
//!   (credentials of a configured registry of the same host) and scanned there and then,
//!   within a bound, and stored as any scan. The request is `requested`.
//! - `POST /{id}/approve` `{reason, expires_at | expires_in_days}` and `POST /{id}/reject`
//!   `{reason}` (security, admin): an approval always expires; the requester's own token
//!   cannot approve (four eyes).
//! - `DELETE /{id}?reason=…` (security, admin): revoked.
//! - [`review`] (the sla-check job): an approval past its expiry becomes `expired`; one
//!   whose digest a watched tag of the same repository has moved away from (the digest
//!   fell behind its own upstream), or whose digest has an open KEV finding, is `revoked`
//!   with the reason.
//! - `GET /api/v1/trusted-images/policy`: the live approvals as a policy file's
//!   `trusted_images:` list (`patchline scan --policy` reads it; merge it into a policy
//!   file, or pass it as is with a stage added); [`governance`] gives the server's own
//!   scans the same list.
//!
//! Every decision, the automatic ones included, is in the audit log.
//!
//! A policy entry is dated by day (`expires: YYYY-MM-DD`, the last day it holds), so the
//! served date is the last whole UTC day before `expires_at`: never later than the
//! server's own expiry.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use patchline_policy::trusted::TrustedImage;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::api::{request_id, ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::db::{now, rfc3339, DbError, Result, Row, Tx, Value};
use crate::ingest::store_scan;
use crate::params;
use crate::state::{AppState, Server};
use crate::store::ImageKey;
use crate::uploads::{check_digest, check_reference, split_reference};

const MAX_TEXT: usize = 4000;
/// Longest approval.
const MAX_DAYS: i64 = 3 * 365;
const DAY: i64 = 86_400;
const MAX_PAGE: i64 = 500;

const COLUMNS: &str = "id, repository, digest, state, requested_by, requested_at, decided_by, decided_at, reason, expires_at, scan_summary, justification";

/// One request or approval, as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TrustedEntry {
    pub id: i64,
    /// `host/path`, no tag.
    pub repository: String,
    pub digest: String,
    /// requested | approved | rejected | revoked | expired
    pub state: String,
    pub justification: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// The last decision's reason (approval, rejection, revocation, expiry).
    pub reason: Option<String>,
    pub expires_at: Option<String>,
    /// `{critical, high, kev, scan_id, scanned_at}` of the scan on request.
    #[schema(value_type = Object)]
    pub scan_summary: Option<serde_json::Value>,
}

/// A row as stored (unix times).
#[derive(Clone, Debug)]
struct Stored {
    id: i64,
    repository: String,
    digest: String,
    state: String,
    requested_by: String,
    requested_at: i64,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    reason: Option<String>,
    expires_at: Option<i64>,
    scan_summary: Option<String>,
    justification: Option<String>,
}

impl Stored {
    fn from_row(r: &Row) -> Result<Stored> {
        Ok(Stored {
            id: r.i64(0)?,
            repository: r.string(1)?,
            digest: r.string(2)?,
            state: r.string(3)?,
            requested_by: r.string(4)?,
            requested_at: r.i64(5)?,
            decided_by: r.opt_string(6)?,
            decided_at: r.opt_i64(7)?,
            reason: r.opt_string(8)?,
            expires_at: r.opt_i64(9)?,
            scan_summary: r.opt_string(10)?,
            justification: r.opt_string(11)?,
        })
    }

    fn view(&self) -> TrustedEntry {
        TrustedEntry {
            id: self.id,
            repository: self.repository.clone(),
            digest: self.digest.clone(),
            state: self.state.clone(),
            justification: self.justification.clone(),
            requested_by: self.requested_by.clone(),
            requested_at: rfc3339(self.requested_at),
            decided_by: self.decided_by.clone(),
            decided_at: self.decided_at.map(rfc3339),
            reason: self.reason.clone(),
            expires_at: self.expires_at.map(rfc3339),
            scan_summary: self
                .scan_summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }
}

fn load(tx: &mut dyn Tx, id: i64) -> Result<Option<Stored>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM trusted_images WHERE id = ?"),
        params![id],
    )?
    .map(|r| Stored::from_row(&r))
    .transpose()
}

/// `/api/v1/trusted-images`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(utoipa_axum::routes!(request))
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(policy))
        .routes(utoipa_axum::routes!(get_one, revoke))
        .routes(utoipa_axum::routes!(approve))
        .routes(utoipa_axum::routes!(reject))
}

// ---- requests -------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// `host/path` of the external image, without tag (`docker.io/library/debian`).
    pub repository: String,
    /// The manifest digest to approve (`sha256:…`).
    pub digest: String,
    /// Why the image is needed.
    pub justification: String,
}

/// A strict JSON body; errors in the API's shape, naming the problem and where.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

fn check_text(what: &str, s: &str) -> std::result::Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::bad_request(format!("{what} is empty")));
    }
    if t.len() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "{what} is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(t.to_string())
}

/// `host/path`, lowercase, no tag, no digest, no pattern characters.
fn check_repository(r: &str) -> std::result::Result<(), String> {
    check_reference(r)?;
    if !r
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'/' | b':'))
    {
        return Err(format!(
            "{r:?}: expected HOST/PATH in lowercase letters, digits and . _ - / :"
        ));
    }
    let (registry, path, tag) = split_reference(r);
    if tag.is_some() {
        return Err(format!(
            "{r:?} names a tag; give the repository and the digest"
        ));
    }
    if registry.is_empty() || path.is_empty() {
        return Err(format!(
            "{r:?}: name the registry host (docker.io/library/debian, not debian)"
        ));
    }
    Ok(())
}

/// Files a request to trust an external image; the image is scanned first.
#[utoipa::path(
    post,
    path = "/api/v1/trusted-images/requests",
    tag = "trusted-images",
    request_body = TrustRequest,
    responses(
        (status = 201, description = "Requested", body = TrustedEntry),
        (status = 400, description = "Malformed request", body = crate::api::error::ErrorBody),
        (status = 403, description = "Role not allowed", body = crate::api::error::ErrorBody),
        (status = 409, description = "Already requested or approved", body = crate::api::error::ErrorBody),
        (status = 422, description = "The image could not be scanned", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn request(
    State(server): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<TrustedEntry>)> {
    principal.require(&[Role::Team, Role::Security])?;
    let req: TrustRequest = json_body(&body)?;
    let repository = req.repository.trim().to_string();
    check_repository(&repository).map_err(|m| ApiError::bad_request(format!("repository: {m}")))?;
    let digest = req.digest.trim().to_string();
    check_digest(&digest).map_err(|m| ApiError::bad_request(format!("digest: {m}")))?;
    let justification = check_text("justification", &req.justification)?;

    let d = digest.clone();
    let stored = server.db.run_read(move |tx| latest_scan(tx, &d)).await?;
    let fresh = match stored {
        Some(_) => None,
        None => Some(scan_now(&server, &repository, &digest).await?),
    };
    let rid = request_id(&headers);
    let s = Arc::clone(&server);
    let entry = server
        .db
        .run(move |tx| -> ApiResult<TrustedEntry> {
            if let Some(scan) = fresh {
                let (registry, path, _) = split_reference(&repository);
                let key = ImageKey {
                    digest: digest.clone(),
                    registry,
                    repository: path,
                    reference: format!("{repository}@{digest}"),
                    source: "registry".into(),
                };
                store_scan(tx, &s, &key, &[], &scan.inventory, &scan.report, "pull", now())?;
            }
            let summary = latest_scan(tx, &digest)?.ok_or_else(|| {
                ApiError::internal("the scan of the image was not stored")
            })?;
            let before = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM trusted_images WHERE repository = ? AND digest = ?"),
                    params![&repository, &digest],
                )?
                .map(|r| Stored::from_row(&r))
                .transpose()?;
            if let Some(b) = &before {
                if b.state == "requested" || b.state == "approved" {
                    return Err(ApiError::conflict(format!(
                        "{repository}@{digest} is already {} (trusted image {})",
                        b.state, b.id
                    )));
                }
            }
            let t = now();
            let id = tx.query_i64(
                "INSERT INTO trusted_images (repository, digest, state, requested_by, requested_at, justification, scan_summary)
                 VALUES (?, ?, 'requested', ?, ?, ?, ?)
                 ON CONFLICT (repository, digest) DO UPDATE SET state = 'requested',
                     requested_by = excluded.requested_by, requested_at = excluded.requested_at,
                     justification = excluded.justification, scan_summary = excluded.scan_summary,
                     decided_by = NULL, decided_at = NULL, reason = NULL, expires_at = NULL
                 RETURNING id",
                params![&repository, &digest, principal.actor(), t, &justification, summary.to_string()],
            )?;
            let after = load(tx, id)?.ok_or_else(|| ApiError::internal("request not stored"))?;
            let view = after.view();
            crate::audit::record(
                tx,
                &principal,
                "trusted-image.request",
                &format!("trusted-image:{id}"),
                before.map(|b| b.view()).as_ref(),
                Some(&view),
                rid.as_deref(),
            )?;
            Ok(view)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// The summary of the digest's latest stored scan.
fn latest_scan(tx: &mut dyn Tx, digest: &str) -> Result<Option<serde_json::Value>> {
    tx.query_opt(
            "SELECT s.id, s.critical, s.high, s.kev, s.finished_at FROM scans s JOIN images i ON s.image_id = i.id
             WHERE i.digest = ? ORDER BY s.id DESC LIMIT 1",
            params![digest],
        )?
        .map(|r| -> Result<serde_json::Value> {
            Ok(serde_json::json!({
                "scan_id": r.i64(0)?,
                "critical": r.i64(1)?,
                "high": r.i64(2)?,
                "kev": r.i64(3)?,
                "scanned_at": r.opt_i64(4)?.map(rfc3339),
            }))
        })
        .transpose()
}

/// Pulls and scans `repository@digest` now, within the request's time.
async fn scan_now(
    server: &Arc<Server>,
    repository: &str,
    digest: &str,
) -> ApiResult<patchline_scan::Scan> {
    let (registry, _, _) = split_reference(repository);
    let mut opts = patchline_scan::ScanOptions {
        db: Some(server.advisory_db.clone()),
        ..Default::default()
    };
    if let Some(r) = server
        .config
        .registries
        .iter()
        .find(|r| r.host() == registry)
    {
        opts.open.registry.username = r.username.clone();
        opts.open.registry.password = r
            .password()
            .map_err(|e| ApiError::internal(format!("registry {}: {e}", r.name())))?;
        opts.open.registry.insecure = r.url.starts_with("http://");
    }
    // Leave the request a margin to store the result and answer.
    let bound = server
        .config
        .request_timeout()
        .saturating_sub(Duration::from_secs(5))
        .max(Duration::from_secs(5));
    opts.open.registry.timeout = bound;
    let input = format!("docker://{repository}@{digest}");
    let what = input.clone();
    let task = tokio::task::spawn_blocking(move || {
        patchline_scan::scan(
            patchline_scan::Input::parse(&input),
            &opts,
            &patchline_inventory::NoProgress,
        )
    });
    let scan = match tokio::time::timeout(bound, task).await {
        Err(_) => {
            return Err(ApiError::unprocessable(format!(
                "scanning {what} took longer than {}s; try again once the registry answers faster",
                bound.as_secs()
            )))
        }
        Ok(Err(e)) => return Err(ApiError::internal(format!("scan task failed: {e}"))),
        Ok(Ok(Err(e))) => return Err(ApiError::unprocessable(format!("cannot scan {what}: {e}"))),
        Ok(Ok(Ok(scan))) => scan,
    };
    let got = scan
        .report
        .image
        .manifest_digest
        .as_ref()
        .map(|d| d.to_string());
    if got.as_deref() != Some(digest) {
        return Err(ApiError::unprocessable(format!(
            "{what}: the registry served {} instead",
            got.unwrap_or_else(|| "an image without a digest".into())
        )));
    }
    Ok(scan)
}

// ---- decisions ------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub reason: String,
    /// RFC 3339 time, or a date `YYYY-MM-DD` (the approval holds through that day, UTC).
    pub expires_at: Option<String>,
    /// The approval holds through the end of the day this many days from today (UTC).
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// Why (recorded with the revocation).
    pub reason: Option<String>,
}

/// The expiry an approval asks for, as unix seconds, checked against `now`.
fn expiry(a: &Approval, now: i64) -> std::result::Result<i64, ApiError> {
    let at = match (&a.expires_at, a.expires_in_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give expires_at or expires_in_days, not both",
            ))
        }
        (None, None) => return Err(ApiError::bad_request(
            "an approval must expire: give expires_at (RFC 3339 or YYYY-MM-DD) or expires_in_days",
        )),
        (None, Some(days)) => {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(ApiError::bad_request(format!(
                    "expires_in_days is {days}; expected 1 to {MAX_DAYS}"
                )));
            }
            (now.div_euclid(DAY) + days + 1) * DAY
        }
        (Some(s), None) => {
            parse_expiry(s.trim()).map_err(|m| ApiError::bad_request(format!("expires_at: {m}")))?
        }
    };
    if at <= now {
        return Err(ApiError::bad_request(format!(
            "expires_at {} is not in the future",
            rfc3339(at)
        )));
    }
    if at > now + (MAX_DAYS + 1) * DAY {
        return Err(ApiError::bad_request(format!(
            "expires_at {} is more than {MAX_DAYS} days away",
            rfc3339(at)
        )));
    }
    Ok(at)
}

fn parse_expiry(s: &str) -> std::result::Result<i64, String> {
    if s.len() == 10 {
        let d = patchline_policy::pattern::parse_date(s)?;
        return Ok(d.midnight().assume_utc().unix_timestamp() + DAY);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("{s:?} is neither RFC 3339 nor YYYY-MM-DD: {e}"))
}

/// Moves `id` from one of `from` to `to` with the decision's fields; audited.
#[allow(clippy::too_many_arguments)]
fn decide(
    tx: &mut dyn Tx,
    who: &Principal,
    id: i64,
    from: &[&str],
    to: &str,
    reason: &str,
    expires_at: Option<i64>,
    action: &str,
    request_id: Option<&str>,
) -> std::result::Result<TrustedEntry, ApiError> {
    let before =
        load(tx, id)?.ok_or_else(|| ApiError::not_found(format!("no trusted image {id}")))?;
    if !from.contains(&before.state.as_str()) {
        return Err(ApiError::conflict(format!(
            "trusted image {id} is {}; only a {} one can be {to}",
            before.state,
            from.join(" or ")
        )));
    }
    if to == "approved" && who.token_id.is_some() && before.requested_by == who.actor() {
        return Err(ApiError::forbidden(
            "the requester cannot approve their own request",
        ));
    }
    set_state(
        tx,
        &before,
        to,
        &who.actor(),
        reason,
        expires_at.or(before.expires_at),
    )?;
    let after = load(tx, id)?.ok_or_else(|| ApiError::internal("trusted image vanished"))?;
    let view = after.view();
    crate::audit::record(
        tx,
        who,
        action,
        &format!("trusted-image:{id}"),
        Some(&before.view()),
        Some(&view),
        request_id,
    )?;
    Ok(view)
}

fn set_state(
    tx: &mut dyn Tx,
    row: &Stored,
    to: &str,
    actor: &str,
    reason: &str,
    expires_at: Option<i64>,
) -> Result<()> {
    tx.exec(
        "UPDATE trusted_images SET state = ?, decided_by = ?, decided_at = ?, reason = ?, expires_at = ? WHERE id = ?",
        params![to, actor, now(), reason, expires_at, row.id],
    )?;
    Ok(())
}

/// Approves a requested image until a date.
#[utoipa::path(
    post,
    path = "/api/v1/trusted-images/{id}/approve",
    tag = "trusted-images",
    params(("id" = i64, Path, description = "The trusted image's id")),
    request_body = Approval,
    responses(
        (status = 200, description = "Approved", body = TrustedEntry),
        (status = 403, description = "Not security or admin, or the requester", body = crate::api::error::ErrorBody),
        (status = 409, description = "Not in the requested state", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn approve(
    State(server): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<TrustedEntry>> {
    principal.require(&[Role::Security])?;
    let a: Approval = json_body(&body)?;
    let reason = check_text("reason", &a.reason)?;
    let at = expiry(&a, now())?;
    let rid = request_id(&headers);
    let view = server
        .db
        .run(move |tx| {
            decide(
                tx,
                &principal,
                id,
                &["requested"],
                "approved",
                &reason,
                Some(at),
                "trusted-image.approve",
                rid.as_deref(),
            )
        })
        .await?;
    Ok(Json(view))
}

/// Rejects a requested image.
#[utoipa::path(
    post,
    path = "/api/v1/trusted-images/{id}/reject",
    tag = "trusted-images",
    params(("id" = i64, Path, description = "The trusted image's id")),
    request_body = Rejection,
    responses(
        (status = 200, description = "Rejected", body = TrustedEntry),
        (status = 403, description = "Not security or admin", body = crate::api::error::ErrorBody),
        (status = 409, description = "Not in the requested state", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn reject(
    State(server): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<TrustedEntry>> {
    principal.require(&[Role::Security])?;
    let r: Rejection = json_body(&body)?;
    let reason = check_text("reason", &r.reason)?;
    let rid = request_id(&headers);
    let view = server
        .db
        .run(move |tx| {
            decide(
                tx,
                &principal,
                id,
                &["requested"],
                "rejected",
                &reason,
                None,
                "trusted-image.reject",
                rid.as_deref(),
            )
        })
        .await?;
    Ok(Json(view))
}

/// Revokes a request or an approval.
#[utoipa::path(
    delete,
    path = "/api/v1/trusted-images/{id}",
    tag = "trusted-images",
    params(("id" = i64, Path, description = "The trusted image's id"), RevokeQuery),
    responses(
        (status = 200, description = "Revoked", body = TrustedEntry),
        (status = 403, description = "Not security or admin", body = crate::api::error::ErrorBody),
        (status = 404, description = "No such trusted image", body = crate::api::error::ErrorBody),
        (status = 409, description = "Already rejected, revoked or expired", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn revoke(
    State(server): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<RevokeQuery>,
) -> ApiResult<Json<TrustedEntry>> {
    principal.require(&[Role::Security])?;
    let reason = match &q.reason {
        Some(r) => check_text("reason", r)?,
        None => format!("revoked by {}", principal.actor()),
    };
    let rid = request_id(&headers);
    let view = server
        .db
        .run(move |tx| {
            decide(
                tx,
                &principal,
                id,
                &["requested", "approved"],
                "revoked",
                &reason,
                None,
                "trusted-image.revoke",
                rid.as_deref(),
            )
        })
        .await?;
    Ok(Json(view))
}

// ---- reading --------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// requested | approved | rejected | revoked | expired
    pub state: Option<String>,
    pub repository: Option<String>,
    pub digest: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Default 50, at most 500.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrustedPage {
    pub items: Vec<TrustedEntry>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

const STATES: &[&str] = &["requested", "approved", "rejected", "revoked", "expired"];

/// Lists requests and approvals, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/trusted-images",
    tag = "trusted-images",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = TrustedPage),
        (status = 400, description = "Bad filter", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn list(
    State(server): State<AppState>,
    _principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<TrustedPage>> {
    let mut sql = format!("SELECT {COLUMNS} FROM trusted_images WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &q.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "state {s:?}: expected one of {}",
                STATES.join(", ")
            )));
        }
        sql.push_str(" AND state = ?");
        args.push(s.clone().into());
    }
    if let Some(r) = &q.repository {
        sql.push_str(" AND repository = ?");
        args.push(r.clone().into());
    }
    if let Some(d) = &q.digest {
        sql.push_str(" AND digest = ?");
        args.push(d.clone().into());
    }
    if let Some(c) = &q.cursor {
        let after: i64 = c.parse().map_err(|_| {
            ApiError::bad_request(format!("cursor {c:?} is not one this server gave"))
        })?;
        sql.push_str(" AND id > ?");
        args.push(after.into());
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit {limit}: expected 1 to {MAX_PAGE}"
        )));
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push((limit + 1).into());
    let rows = server
        .db
        .run_read(move |tx| -> Result<Vec<Stored>> {
            tx.query(&sql, &args)?
                .iter()
                .map(Stored::from_row)
                .collect()
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<TrustedEntry> = rows.iter().take(limit as usize).map(Stored::view).collect();
    let next_cursor = more
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(TrustedPage { items, next_cursor }))
}

/// One request or approval.
#[utoipa::path(
    get,
    path = "/api/v1/trusted-images/{id}",
    tag = "trusted-images",
    params(("id" = i64, Path, description = "The trusted image's id")),
    responses(
        (status = 200, description = "Found", body = TrustedEntry),
        (status = 404, description = "No such trusted image", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
async fn get_one(
    State(server): State<AppState>,
    _principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<TrustedEntry>> {
    let row = server.db.run_read(move |tx| load(tx, id)).await?;
    row.map(|r| Json(r.view()))
        .ok_or_else(|| ApiError::not_found(format!("no trusted image {id}")))
}

/// The live approvals as a policy file's `trusted_images:` list (YAML).
#[utoipa::path(
    get,
    path = "/api/v1/trusted-images/policy",
    tag = "trusted-images",
    responses((status = 200, description = "A policy file with the approved images", content_type = "application/yaml", body = String)),
    security(("token" = []))
)]
async fn policy(State(server): State<AppState>, _principal: Principal) -> ApiResult<Response> {
    let t = now();
    let rows = server.db.run_read(move |tx| approved(tx, t)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        policy_yaml(&rows, t),
    )
        .into_response())
}

fn approved(tx: &mut dyn Tx, at: i64) -> Result<Vec<Stored>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM trusted_images WHERE state = 'approved' AND (expires_at IS NULL OR expires_at > ?) ORDER BY repository, id"
        ),
        params![at],
    )?
    .iter()
    .map(Stored::from_row)
    .collect()
}

/// The last whole UTC day an approval ending at `expires_at` covers.
fn last_day(expires_at: i64) -> Option<time::Date> {
    time::OffsetDateTime::from_unix_timestamp((expires_at.div_euclid(DAY) - 1) * DAY)
        .ok()
        .map(|t| t.date())
}

/// A JSON string is a YAML double-quoted scalar: every value is quoted so no text can
/// change the document's shape.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn policy_yaml(rows: &[Stored], at: i64) -> String {
    let mut out = format!(
        "# The trusted images approved on this patchline server, as of {}.\nversion: 1\ntrusted_images:",
        rfc3339(at)
    );
    if rows.is_empty() {
        out.push_str(" []\n");
        return out;
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "  - pattern: {}\n    digest: {}\n",
            q(&r.repository),
            q(&r.digest)
        ));
        if let Some(b) = &r.decided_by {
            out.push_str(&format!("    approved_by: {}\n", q(b)));
        }
        if let Some(d) = r
            .decided_at
            .and_then(|d| time::OffsetDateTime::from_unix_timestamp(d).ok())
        {
            out.push_str(&format!(
                "    approved_on: {}\n",
                patchline_policy::pattern::format_date(d.date())
            ));
        }
        if let Some(d) = r.expires_at.and_then(last_day) {
            out.push_str(&format!(
                "    expires: {}\n",
                patchline_policy::pattern::format_date(d)
            ));
        }
        if let Some(reason) = &r.reason {
            out.push_str(&format!("    reason: {}\n", q(reason)));
        }
    }
    out
}

/// The approved images as the policy stage takes them: the server's own scans add these
/// to their governance (`Governance::trusted_images`).
pub fn governance(tx: &mut dyn Tx) -> Result<Vec<TrustedImage>> {
    let rows = approved(tx, now())?;
    Ok(rows
        .iter()
        .map(|r| TrustedImage {
            pattern: r.repository.clone(),
            digest: Some(r.digest.clone()),
            approved_by: r.decided_by.clone(),
            approved_on: r
                .decided_at
                .and_then(|d| time::OffsetDateTime::from_unix_timestamp(d).ok())
                .map(|t| t.date()),
            expires: r.expires_at.and_then(last_day),
            reason: r.reason.clone(),
            source: Some(format!("patchline server: trusted image {}", r.id)),
        })
        .collect())
}

// ---- automatic revocation -------------------------------------------------------------

/// An approval [`review`] ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Revoked {
    pub id: i64,
    pub repository: String,
    pub digest: String,
    /// `expired` or `revoked`.
    pub state: String,
    pub reason: String,
}

/// Ends the approvals that no longer hold (see the module); call from the sla-check job.
pub fn review(tx: &mut dyn Tx, _server: &Server) -> Result<Vec<Revoked>> {
    review_at(tx, now())
}

/// [`review`] as of `at` (unix seconds).
pub fn review_at(tx: &mut dyn Tx, at: i64) -> Result<Vec<Revoked>> {
    let system = Principal {
        token_id: None,
        name: "patchline (trusted-image review)".into(),
        role: Role::Admin,
        team: None,
    };
    let rows: Vec<Stored> = tx
        .query(
            &format!("SELECT {COLUMNS} FROM trusted_images WHERE state = 'approved' ORDER BY id"),
            &[],
        )?
        .iter()
        .map(Stored::from_row)
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for row in rows {
        let Some((state, reason)) = why_not(tx, &row, at)? else {
            continue;
        };
        set_state(tx, &row, state, &system.actor(), &reason, row.expires_at)?;
        let after = load(tx, row.id)?
            .ok_or_else(|| DbError::Other(format!("trusted image {} vanished", row.id)))?;
        crate::audit::record(
            tx,
            &system,
            if state == "expired" {
                "trusted-image.expire"
            } else {
                "trusted-image.revoke"
            },
            &format!("trusted-image:{}", row.id),
            Some(&row.view()),
            Some(&after.view()),
            None,
        )?;
        tracing::info!(id = row.id, repository = %row.repository, digest = %row.digest, state, reason = %reason, "trusted image ended");
        out.push(Revoked {
            id: row.id,
            repository: row.repository,
            digest: row.digest,
            state: state.into(),
            reason,
        });
    }
    Ok(out)
}

/// Why an approval no longer holds at `at`, if it does not.
fn why_not(tx: &mut dyn Tx, row: &Stored, at: i64) -> Result<Option<(&'static str, String)>> {
    if let Some(e) = row.expires_at.filter(|e| *e <= at) {
        return Ok(Some((
            "expired",
            format!("the approval expired at {}", rfc3339(e)),
        )));
    }
    let kev: Vec<String> = tx
        .query(
            "SELECT DISTINCT f.vuln_id FROM findings f JOIN images i ON f.image_id = i.id
             WHERE i.digest = ? AND f.state = 'open' AND f.kev <> 0 ORDER BY f.vuln_id",
            params![&row.digest],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<Result<_>>()?;
    if !kev.is_empty() {
        let shown: Vec<&str> = kev.iter().take(5).map(String::as_str).collect();
        return Ok(Some((
            "revoked",
            format!(
                "the image has a known exploited vulnerability (CISA KEV): {}{}",
                shown.join(", "),
                if kev.len() > shown.len() {
                    format!(" and {} more", kev.len() - shown.len())
                } else {
                    String::new()
                }
            ),
        )));
    }
    // A tag of the repository that pointed at the approved digest and points elsewhere
    // now: upstream published a newer image under the same name.
    let (registry, path, _) = split_reference(&row.repository);
    let moved = tx.query_opt(
        "SELECT t.tag, t.digest FROM tags t
         WHERE t.registry = ? AND t.repository = ? AND t.digest <> ?
           AND EXISTS (SELECT 1 FROM tag_history h WHERE h.registry = t.registry AND h.repository = t.repository
                       AND h.tag = t.tag AND (h.old_digest = ? OR h.new_digest = ?))
         ORDER BY t.tag LIMIT 1",
        params![&registry, &path, &row.digest, &row.digest, &row.digest],
    )?;
    if let Some(m) = moved {
        return Ok(Some((
            "revoked",
            format!(
                "tag {} moved from the approved digest to {}: the approved image fell behind its upstream",
                m.string(0)?,
                m.string(1)?
            ),
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        let now = 1_765_000_000; // 2025-12-06T05:46:40Z
        let a = |at: Option<&str>, days: Option<i64>| Approval {
            reason: "r".into(),
            expires_at: at.map(str::to_string),
            expires_in_days: days,
        };
        let e = expiry(&a(None, Some(30)), now).unwrap();
        assert_eq!(rfc3339(e), "2026-01-06T00:00:00Z");
        assert_eq!(last_day(e).unwrap().to_string(), "2026-01-05");
        let e = expiry(&a(Some("2026-01-31"), None), now).unwrap();
        assert_eq!(rfc3339(e), "2026-02-01T00:00:00Z");
        assert_eq!(last_day(e).unwrap().to_string(), "2026-01-31");
        let e = expiry(&a(Some("2026-01-31T12:00:00Z"), None), now).unwrap();
        assert_eq!(last_day(e).unwrap().to_string(), "2026-01-30");
        assert!(expiry(&a(None, None), now).is_err());
        assert!(expiry(&a(Some("2026-01-31"), Some(3)), now).is_err());
        assert!(expiry(&a(Some("2020-01-01"), None), now).is_err());
        assert!(expiry(&a(None, Some(0)), now).is_err());
        assert!(expiry(&a(Some("soon"), None), now).is_err());
    }

    #[test]
    fn repositories() {
        assert!(check_repository("docker.io/library/debian").is_ok());
        assert!(check_repository("localhost:5000/base").is_ok());
        assert!(check_repository("debian").is_err());
        assert!(check_repository("docker.io/library/debian:12").is_err());
        assert!(check_repository("docker.io/library/*").is_err());
        assert!(check_repository("Docker.io/x").is_err());
    }

    #[test]
    fn policy_yaml_parses_as_a_policy_file() {
        let row = Stored {
            id: 1,
            repository: "docker.io/library/debian".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            state: "approved".into(),
            requested_by: "token:1:team".into(),
            requested_at: 0,
            decided_by: Some("token:2:sec".into()),
            decided_at: Some(1_765_000_000),
            reason: Some("needed: \"quoted\"\nand: a newline".into()),
            expires_at: Some(1_767_225_600), // 2026-01-01T00:00:00Z
            scan_summary: None,
            justification: None,
        };
        let text = policy_yaml(&[row], 1_765_000_000);
        let p = patchline_policy::parse_policy(&text, "served").unwrap();
        assert_eq!(p.trusted_images.len(), 1);
        let t = &p.trusted_images[0];
        assert_eq!(t.pattern, "docker.io/library/debian");
        assert_eq!(t.expires.unwrap().to_string(), "2025-12-31");
        assert_eq!(
            t.reason.as_deref(),
            Some("needed: \"quoted\"\nand: a newline")
        );
        let empty = policy_yaml(&[], 0);
        assert!(patchline_policy::parse_policy(&empty, "served")
            .unwrap()
            .trusted_images
            .is_empty());
    }
}
