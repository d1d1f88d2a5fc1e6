//! `GET /api/v1/audit`: the audit log, newest first, for admins and the security role.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{decode_cursor, etag_json, limit, page, parse_time, ApiQuery, Page};
use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::db::{rfc3339, Value};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    /// Exactly the actor (`token:3:ci-payments`).
    pub actor: Option<String>,
    /// Exactly the action (`token.create`), or a prefix ending in `.` (`exception.`).
    pub action: Option<String>,
    /// Not before (RFC 3339 or unix seconds).
    pub since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 304), (status = 403, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    who.require(&[Role::Security])?;
    let n = limit(q.limit)?;
    let mut sql = String::from(
        "SELECT id, at, actor, action, subject, before_doc, after_doc, request_id FROM audit_log WHERE id < ?",
    );
    let mut args: Vec<Value> = vec![decode_cursor(q.cursor.as_deref())?
        .unwrap_or(i64::MAX)
        .into()];
    if let Some(a) = &q.actor {
        sql.push_str(" AND actor = ?");
        args.push(a.as_str().into());
    }
    if let Some(a) = &q.action {
        if let Some(prefix) = a.strip_suffix('.') {
            sql.push_str(" AND action >= ? AND action < ?");
            args.push(format!("{prefix}.").into());
            args.push(format!("{prefix}/").into());
        } else {
            sql.push_str(" AND action = ?");
            args.push(a.as_str().into());
        }
    }
    if let Some(t) = &q.since {
        sql.push_str(" AND at >= ?");
        args.push(parse_time(t, "since")?.into());
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push((n + 1).into());
    let rows =
        s.db.run_read(move |tx| -> ApiResult<Vec<AuditEntry>> {
            let doc = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
            tx.query(&sql, &args)?
                .iter()
                .map(|r| {
                    Ok(AuditEntry {
                        id: r.i64(0)?,
                        at: rfc3339(r.i64(1)?),
                        actor: r.string(2)?,
                        action: r.string(3)?,
                        subject: r.string(4)?,
                        before: doc(r.opt_string(5)?),
                        after: doc(r.opt_string(6)?),
                        request_id: r.opt_string(7)?,
                    })
                })
                .collect::<Result<_, ApiError>>()
        })
        .await?;
    Ok(etag_json(&headers, &page(rows, n, |e| e.id)))
}
