//! `/api/v1/exceptions`: accepted vulnerabilities, in patchline-policy's exception shape
//! (id, packages, images, paths, fix_state, reason, expires, justification), owned by a
//! team and decided by the security role.
//!
//! Every exception starts `pending`; `security` (or `admin`) approves or rejects it; the
//! owning team or security revokes it. A `team` token may only create exceptions for its
//! own images: each image pattern must be a plain reference (no globs) that names at
//! least one catalogued image and only images of its team, so an exception cannot reach
//! another team's images, now or when one is added later under a wildcard.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use patchline_model::vuln::FixState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{decode_cursor, etag_json, limit, page, ApiJson, ApiQuery, Page};
use crate::api::{request_id, ApiError, ApiResult};
use crate::audit;
use crate::auth::{Principal, Role};
use crate::db::{now, rfc3339, Row, Tx, Value};
use crate::params;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, revoke))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .layer(axum::extract::DefaultBodyLimit::max(64 << 10))
}

/// patchline-policy's exception, as JSON.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExceptionDoc {
    /// A vulnerability id (aliases match), a check id, or a pattern of them.
    pub id: String,
    /// Package patterns: `name`, `name@version` or a purl prefix.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Image reference patterns (a reference without tag covers every tag).
    #[serde(default)]
    pub images: Vec<String>,
    /// File path patterns.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Only findings in this fix state: fixed, unfixed, will-not-fix, unimportant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub fix_state: Option<FixState>,
    pub reason: String,
    /// Last day it applies, `YYYY-MM-DD` (required: an exception that never ends is a
    /// policy change).
    pub expires: String,
    /// An OpenVEX justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewException {
    /// The owning team; a `team` token's own team when absent (and it may name no other).
    #[serde(default)]
    pub team: Option<String>,
    pub exception: ExceptionDoc,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct ExceptionItem {
    pub id: i64,
    pub team: Option<String>,
    pub state: String,
    pub exception: ExceptionDoc,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

pub const COLUMNS: &str =
    "id, team, state, doc, expires_at, created_at, created_by, decided_by, decided_at";

pub fn item(r: &Row) -> ApiResult<ExceptionItem> {
    let exception: ExceptionDoc = serde_json::from_str(r.str(3)?).map_err(|e| {
        ApiError::internal(format!("stored exception {}: {e}", r.i64(0).unwrap_or(0)))
    })?;
    Ok(ExceptionItem {
        id: r.i64(0)?,
        team: r.opt_string(1)?,
        state: r.string(2)?,
        exception,
        expires_at: r.opt_i64(4)?.map(rfc3339),
        created_at: rfc3339(r.i64(5)?),
        created_by: r.string(6)?,
        decided_by: r.opt_string(7)?,
        decided_at: r.opt_i64(8)?.map(rfc3339),
    })
}

pub fn get(tx: &mut dyn Tx, id: i64) -> ApiResult<ExceptionItem> {
    let r = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM exceptions WHERE id = ?"),
            params![id],
        )?
        .ok_or_else(|| ApiError::not_found(format!("no exception {id}")))?;
    item(&r)
}

fn bounded(field: &str, s: &str, max: usize) -> ApiResult<()> {
    if s.trim().is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!(
            "{field}: 1 to {max} characters, no control characters"
        )));
    }
    Ok(())
}

/// Checks the document; returns the unix time its last day ends.
fn validate(d: &ExceptionDoc) -> ApiResult<i64> {
    bounded("exception.id", &d.id, 200)?;
    bounded("exception.reason", &d.reason, 2000)?;
    for (field, list) in [
        ("exception.packages", &d.packages),
        ("exception.images", &d.images),
        ("exception.paths", &d.paths),
    ] {
        if list.len() > 100 {
            return Err(ApiError::unprocessable(format!(
                "{field}: at most 100 entries"
            )));
        }
        for p in list {
            bounded(field, p, 500)?;
        }
    }
    if let Some(j) = &d.justification {
        if !patchline_policy::exceptions::JUSTIFICATIONS.contains(&j.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "exception.justification: one of {}",
                patchline_policy::exceptions::JUSTIFICATIONS.join(", ")
            )));
        }
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(&d.expires, &fmt)
        .map_err(|_| ApiError::unprocessable("exception.expires: a date, YYYY-MM-DD"))?;
    let end = day
        .next_day()
        .unwrap_or(day)
        .midnight()
        .assume_utc()
        .unix_timestamp();
    if end <= now() {
        return Err(ApiError::unprocessable("exception.expires: in the past"));
    }
    Ok(end)
}

/// A team token's exception must reach its own images only (see the module).
fn check_team_scope(tx: &mut dyn Tx, team: &str, d: &ExceptionDoc) -> ApiResult<()> {
    if d.images.is_empty() {
        return Err(ApiError::forbidden(
            "exception.images: a team's exception must name its images",
        ));
    }
    let entries = crate::lineage::load_entries(tx)?;
    for pattern in &d.images {
        if pattern.contains(['*', '?', '[']) {
            return Err(ApiError::forbidden(format!(
                "exception.images: `{pattern}`: a team's exception names images without wildcards"
            )));
        }
        let matched: Vec<_> = entries
            .iter()
            .filter(|e| patchline_policy::pattern::reference_matches(pattern, &e.reference))
            .collect();
        if matched.is_empty() {
            return Err(ApiError::forbidden(format!(
                "exception.images: `{pattern}` names no catalogued image"
            )));
        }
        if let Some(other) = matched
            .iter()
            .find(|e| e.owner.as_ref().map(|o| o.team.as_str()) != Some(team))
        {
            return Err(ApiError::forbidden(format!(
                "exception.images: `{pattern}` covers {}, which team {team} does not own",
                other.reference
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExceptionQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    /// pending, approved, rejected or revoked.
    pub state: Option<String>,
    pub team: Option<String>,
}

/// Exceptions, by id.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "exceptions", params(ExceptionQuery),
    responses((status = 200, body = Page<ExceptionItem>), (status = 304), (status = 403, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    let n = limit(q.limit)?;
    let mut sql = format!("SELECT {COLUMNS} FROM exceptions WHERE id > ?");
    let mut args: Vec<Value> = vec![decode_cursor(q.cursor.as_deref())?.unwrap_or(0).into()];
    if let Some(st) = &q.state {
        if !["pending", "approved", "rejected", "revoked"].contains(&st.as_str()) {
            return Err(ApiError::bad_request(
                "state: pending, approved, rejected or revoked",
            ));
        }
        sql.push_str(" AND state = ?");
        args.push(st.as_str().into());
    }
    if let Some(t) = &q.team {
        sql.push_str(" AND team = ?");
        args.push(t.as_str().into());
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push((n + 1).into());
    let items =
        s.db.run_read(move |tx| -> ApiResult<Vec<ExceptionItem>> {
            tx.query(&sql, &args)?.iter().map(item).collect()
        })
        .await?;
    Ok(etag_json(&headers, &page(items, n, |e| e.id)))
}

/// Proposes an exception (pending until security decides).
#[utoipa::path(post, path = "/api/v1/exceptions", tag = "exceptions", request_body = NewException,
    responses((status = 201, body = ExceptionItem), (status = 403, body = crate::api::error::ErrorBody), (status = 422, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewException>,
) -> ApiResult<Response> {
    who.require(&[Role::Security, Role::Team])?;
    let rid = request_id(&headers);
    let created = create_exception(&s, who, body.team, body.exception, rid).await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// Proposes an exception for `team` (a `team` token's own when `None`), validated,
/// scoped and recorded: what `POST /api/v1/exceptions` and the dashboard's request form
/// both do.
pub async fn create_exception(
    s: &AppState,
    who: Principal,
    team: Option<String>,
    exception: ExceptionDoc,
    rid: Option<String>,
) -> ApiResult<ExceptionItem> {
    who.require(&[Role::Security, Role::Team])?;
    let expires_at = validate(&exception)?;
    let team = match (who.role, &team) {
        (Role::Team, Some(t)) if Some(t) != who.team.as_ref() => {
            return Err(ApiError::forbidden(format!(
                "team: a team token creates exceptions for its own team only, not {t}"
            )))
        }
        (Role::Team, _) => who.team.clone(),
        (_, t) => t.clone(),
    };
    if let Some(t) = &team {
        bounded("team", t, 100)?;
    }
    s.db.run(move |tx| -> ApiResult<ExceptionItem> {
        if who.role == Role::Team {
            let t = team
                .as_deref()
                .ok_or_else(|| ApiError::forbidden("the token names no team"))?;
            check_team_scope(tx, t, &exception)?;
        }
        let doc = serde_json::to_string(&exception)
            .map_err(|e| ApiError::internal(format!("exception JSON: {e}")))?;
        let id = tx.query_i64(
            "INSERT INTO exceptions (team, doc, state, expires_at, created_at, created_by)
             VALUES (?, ?, 'pending', ?, ?, ?) RETURNING id",
            params![team, doc, expires_at, now(), who.actor()],
        )?;
        let after = get(tx, id)?;
        audit::record(
            tx,
            &who,
            "exception.create",
            &format!("exception:{id}"),
            None::<&()>,
            Some(&after),
            rid.as_deref(),
        )?;
        Ok(after)
    })
    .await
}

/// One exception.
#[utoipa::path(get, path = "/api/v1/exceptions/{id}", tag = "exceptions",
    params(("id" = i64, Path, description = "The exception's id")),
    responses((status = 200, body = ExceptionItem), (status = 304), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn get_one(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    who.require_read()?;
    let e = s.db.run_read(move |tx| get(tx, id)).await?;
    Ok(etag_json(&headers, &e))
}

/// A decision on an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// pending → approved (security).
    Approve,
    /// pending → rejected (security).
    Reject,
    /// pending or approved → revoked (security, or the owning team).
    Revoke,
}

impl Decision {
    /// `approve`, `reject` or `revoke` (the dashboard's form values).
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            "revoke" => Some(Decision::Revoke),
            _ => None,
        }
    }

    fn roles(self) -> &'static [Role] {
        match self {
            Decision::Revoke => &[Role::Security, Role::Team],
            _ => &[Role::Security],
        }
    }

    fn from(self) -> &'static [&'static str] {
        match self {
            Decision::Revoke => &["pending", "approved"],
            _ => &["pending"],
        }
    }

    fn to(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
            Decision::Revoke => "revoked",
        }
    }
}

/// Applies `decision` to exception `id` for `who` (roles checked, team scope for a
/// revoke, state moved and recorded in the audit log): what the API's approve, reject and
/// revoke endpoints and the dashboard's forms all do.
pub async fn decide(
    s: &AppState,
    who: Principal,
    rid: Option<String>,
    id: i64,
    decision: Decision,
) -> ApiResult<ExceptionItem> {
    who.require(decision.roles())?;
    let (from, to) = (decision.from(), decision.to());
    s.db.run(move |tx| -> ApiResult<ExceptionItem> {
        let before = get(tx, id)?;
        if to == "revoked" && who.role == Role::Team && before.team != who.team {
            return Err(ApiError::forbidden(format!(
                "exception {id} belongs to another team"
            )));
        }
        if !from.contains(&before.state.as_str()) {
            return Err(ApiError::conflict(format!(
                "exception {id} is {}; only {} ones can become {to}",
                before.state,
                from.join(" or ")
            )));
        }
        tx.exec(
            "UPDATE exceptions SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            params![to, who.actor(), now(), id],
        )?;
        let after = get(tx, id)?;
        let action = match decision {
            Decision::Approve => "exception.approve",
            Decision::Reject => "exception.reject",
            Decision::Revoke => "exception.revoke",
        };
        audit::record(
            tx,
            &who,
            action,
            &format!("exception:{id}"),
            Some(&before),
            Some(&after),
            rid.as_deref(),
        )?;
        Ok(after)
    })
    .await
}

async fn decide_api(
    s: AppState,
    who: Principal,
    headers: &HeaderMap,
    id: i64,
    decision: Decision,
) -> ApiResult<Response> {
    let after = decide(&s, who, request_id(headers), id, decision).await?;
    Ok(axum::Json(after).into_response())
}

/// Approves a pending exception (security).
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/approve", tag = "exceptions",
    params(("id" = i64, Path, description = "The exception's id")),
    responses((status = 200, body = ExceptionItem), (status = 403, body = crate::api::error::ErrorBody), (status = 404, body = crate::api::error::ErrorBody), (status = 409, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn approve(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    decide_api(s, who, &headers, id, Decision::Approve).await
}

/// Rejects a pending exception (security).
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/reject", tag = "exceptions",
    params(("id" = i64, Path, description = "The exception's id")),
    responses((status = 200, body = ExceptionItem), (status = 403, body = crate::api::error::ErrorBody), (status = 404, body = crate::api::error::ErrorBody), (status = 409, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn reject(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    decide_api(s, who, &headers, id, Decision::Reject).await
}

/// Revokes an exception (security, or its own team).
#[utoipa::path(delete, path = "/api/v1/exceptions/{id}", tag = "exceptions",
    params(("id" = i64, Path, description = "The exception's id")),
    responses((status = 200, body = ExceptionItem), (status = 403, body = crate::api::error::ErrorBody), (status = 404, body = crate::api::error::ErrorBody), (status = 409, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn revoke(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    decide_api(s, who, &headers, id, Decision::Revoke).await
}
