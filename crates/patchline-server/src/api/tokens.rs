//! `/api/v1/tokens`: API tokens, administered by admins. A token's secret is in the
//! response that creates it and nowhere else, ever; lists show its prefix only.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{decode_cursor, etag_json, limit, page, ApiJson, ApiQuery, Page};
use crate::api::{request_id, ApiError, ApiResult};
use crate::audit;
use crate::auth::{create_token, Principal, Role};
use crate::db::{now, rfc3339, Row, Tx};
use crate::params;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
        .layer(axum::extract::DefaultBodyLimit::max(16 << 10))
}

/// The longest a token may live, in days.
const MAX_DAYS: i64 = 3650;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for (`ci-payments`); 1 to 100 characters.
    pub name: String,
    pub role: Role,
    /// Required for role `team`, refused for the others.
    #[serde(default)]
    pub team: Option<String>,
    /// Days until it expires (1 to 3650); absent: never.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// A token as lists show it: never its secret or hash.
#[derive(Serialize, ToSchema, Clone)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub team: Option<String>,
    /// The secret's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenInfo,
    /// Shown this once: store it now.
    pub secret: String,
}

const COLUMNS: &str =
    "id, name, role, team, prefix, created_at, created_by, expires_at, last_used_at, revoked_at";

fn info(r: &Row) -> crate::db::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.i64(0)?,
        name: r.string(1)?,
        role: r.string(2)?,
        team: r.opt_string(3)?,
        prefix: r.string(4)?,
        created_at: rfc3339(r.i64(5)?),
        created_by: r.opt_string(6)?,
        expires_at: r.opt_i64(7)?.map(rfc3339),
        last_used_at: r.opt_i64(8)?.map(rfc3339),
        revoked_at: r.opt_i64(9)?.map(rfc3339),
    })
}

fn get(tx: &mut dyn Tx, id: i64) -> crate::db::Result<Option<TokenInfo>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?"),
        params![id],
    )?
    .map(|r| info(&r))
    .transpose()
}

fn check_name(field: &str, s: &str) -> ApiResult<()> {
    if s.trim().is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!(
            "{field}: 1 to 100 characters, no control characters"
        )));
    }
    Ok(())
}

/// Creates a token; the response carries its secret, once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::api::error::ErrorBody), (status = 422, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    check_name("name", &body.name)?;
    match (&body.role, &body.team) {
        (Role::Team, None) => return Err(ApiError::unprocessable("team: required for role team")),
        (Role::Team, Some(t)) => check_name("team", t)?,
        (_, Some(_)) => {
            return Err(ApiError::unprocessable("team: only for role team"));
        }
        _ => {}
    }
    let expires_at = match body.expires_in_days {
        None => None,
        Some(d) if (1..=MAX_DAYS).contains(&d) => Some(now() + d * 86_400),
        Some(_) => {
            return Err(ApiError::unprocessable(format!(
                "expires_in_days: 1 to {MAX_DAYS}"
            )))
        }
    };
    let rid = request_id(&headers);
    let created =
        s.db.run(move |tx| -> ApiResult<CreatedToken> {
            let (id, secret) = create_token(
                tx,
                &body.name,
                body.role,
                body.team.as_deref(),
                expires_at,
                &who.actor(),
            )?;
            let token = get(tx, id)?.ok_or_else(|| ApiError::internal("token vanished"))?;
            audit::record(
                tx,
                &who,
                "token.create",
                &format!("token:{id}"),
                None::<&()>,
                Some(&token),
                rid.as_deref(),
            )?;
            Ok(CreatedToken { token, secret })
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
}

/// Every token, newest first: never a secret.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", params(ListQuery),
    responses((status = 200, body = Page<TokenInfo>), (status = 304), (status = 403, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let n = limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?.unwrap_or(i64::MAX);
    let rows =
        s.db.run_read(move |tx| -> ApiResult<Vec<TokenInfo>> {
            tx.query(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE id < ? ORDER BY id DESC LIMIT ?"),
                params![after, n + 1],
            )?
            .iter()
            .map(|r| info(r).map_err(ApiError::from))
            .collect()
        })
        .await?;
    Ok(etag_json(&headers, &page(rows, n, |t| t.id)))
}

/// Revokes a token: every later request with it is a 401.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, body = TokenInfo), (status = 404, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn revoke(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    let rid = request_id(&headers);
    let after =
        s.db.run(move |tx| -> ApiResult<TokenInfo> {
            let before =
                get(tx, id)?.ok_or_else(|| ApiError::not_found(format!("no token {id}")))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            tx.exec(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ?",
                params![now(), id],
            )?;
            let after = get(tx, id)?.ok_or_else(|| ApiError::internal("token vanished"))?;
            audit::record(
                tx,
                &who,
                "token.revoke",
                &format!("token:{id}"),
                Some(&before),
                Some(&after),
                rid.as_deref(),
            )?;
            Ok(after)
        })
        .await?;
    Ok(axum::Json(after).into_response())
}
