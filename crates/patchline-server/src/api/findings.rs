//! `GET /api/v1/findings`: findings across every stored image, filtered, by id.
//!
//! Kept fast on large stores by walking the primary key in order with the filters as
//! conditions (a page stops after `limit` hits) and the indexes of migration 0006 for
//! the selective filters (package, vulnerability, image).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::{decode_cursor, etag_json, limit, page, ApiQuery, Page};
use crate::api::images::{at_least, image_ids_where, placeholders, team_of};
use crate::api::{ApiError, ApiResult};
use crate::auth::Principal;
use crate::db::{rfc3339, Result, Value};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    pub cursor: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    /// At least this severity (`high`: critical and high).
    pub severity: Option<String>,
    /// Only KEV-listed (true) or not (false).
    pub kev: Option<bool>,
    /// Only with (true) or without (false) a fixed version.
    pub fixable: Option<bool>,
    /// `open` (default), `resolved`, `suppressed` or `all`.
    pub state: Option<String>,
    /// The vulnerability id or one of its aliases.
    pub vuln: Option<String>,
    /// The package name.
    pub package: Option<String>,
    /// The image's manifest digest.
    pub image: Option<String>,
    /// The owning team of the image.
    pub team: Option<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct FindingItem {
    pub id: i64,
    pub image_digest: String,
    pub image_reference: String,
    pub vuln_id: String,
    pub aliases: Vec<String>,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub severity: String,
    pub cvss: Option<f64>,
    pub kev: bool,
    pub epss: Option<f64>,
    pub fix_state: Option<String>,
    pub fixed_version: Option<String>,
    pub layer_diff_id: Option<String>,
    pub summary: Option<String>,
    pub state: String,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
}

/// Findings across the organisation, by id.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", params(FindingQuery),
    responses((status = 200, body = Page<FindingItem>), (status = 304), (status = 400, body = crate::api::error::ErrorBody), (status = 403, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Response> {
    who.require_read()?;
    let n = limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?.unwrap_or(0);
    let sev = q.severity.as_deref().map(at_least).transpose()?;
    let state = match q.state.as_deref().unwrap_or("open") {
        "all" => None,
        s @ ("open" | "resolved" | "suppressed") => Some(s.to_string()),
        other => {
            return Err(ApiError::bad_request(format!(
                "state: expected open, resolved, suppressed or all, got `{}`",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    for (field, v) in [
        ("vuln", &q.vuln),
        ("package", &q.package),
        ("image", &q.image),
        ("team", &q.team),
    ] {
        if v.as_ref().is_some_and(|v| v.len() > 300) {
            return Err(ApiError::bad_request(format!(
                "{field}: longer than 300 characters"
            )));
        }
    }
    if let Some(v) = &q.vuln {
        if !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        {
            return Err(ApiError::bad_request("vuln: letters, digits, - . : only"));
        }
    }
    let items = s
        .db
        .run_read(move |tx| -> ApiResult<Vec<FindingItem>> {
            let mut sql = String::from(
                "SELECT f.id, i.digest, i.reference, f.vuln_id, f.aliases, f.ecosystem, f.package, f.version,
                        f.severity, f.cvss, f.kev, f.epss, f.fix_state, f.fixed_version, f.layer_diff_id,
                        f.summary, f.state, f.first_seen,
                        CASE WHEN f.state = 'open' THEN COALESCE(i.last_scanned_at, f.last_seen) ELSE f.last_seen END,
                        f.resolved_at
                 FROM findings f JOIN images i ON i.id = f.image_id
                 WHERE f.id > ?",
            );
            let mut args: Vec<Value> = vec![after.into()];
            if let Some(st) = &state {
                // `|| ''` keeps the planner off the (state, severity) index: walking the
                // primary key in order finds a page of common findings sooner than
                // sorting every match (both engines read it the same way).
                sql.push_str(" AND f.state || '' = ?");
                args.push(st.as_str().into());
            }
            if let Some(sev) = sev {
                sql.push_str(&format!(" AND f.severity || '' IN {}", placeholders(sev.len())));
                args.extend(sev.iter().map(|s| Value::from(*s)));
            }
            if let Some(k) = q.kev {
                sql.push_str(" AND f.kev = ?");
                args.push(k.into());
            }
            match q.fixable {
                Some(true) => sql.push_str(" AND f.fixed_version IS NOT NULL AND f.fixed_version <> ''"),
                Some(false) => sql.push_str(" AND (f.fixed_version IS NULL OR f.fixed_version = '')"),
                None => {}
            }
            if let Some(v) = &q.vuln {
                // Aliases are a JSON array of strings: a quoted match is an exact one.
                sql.push_str(" AND ");
                sql.push_str(crate::store::VULN_OR_ALIAS);
                args.push(v.as_str().into());
                args.push(v.as_str().into());
            }
            if let Some(p) = &q.package {
                sql.push_str(" AND f.package = ?");
                args.push(p.as_str().into());
            }
            if let Some(d) = &q.image {
                sql.push_str(" AND i.digest = ?");
                args.push(d.as_str().into());
            }
            if let Some(t) = &q.team {
                let ids = image_ids_where(tx, |e| team_of(e) == Some(t.as_str()))?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                sql.push_str(&format!(" AND f.image_id IN {}", placeholders(ids.len())));
                args.extend(ids.into_iter().map(Value::from));
            }
            sql.push_str(" AND i.deleted_at IS NULL ORDER BY f.id LIMIT ?");
            args.push((n + 1).into());
            let items = tx
                .query(&sql, &args)?
                .iter()
                .map(|r| -> Result<FindingItem> {
                    Ok(FindingItem {
                        id: r.i64(0)?,
                        image_digest: r.string(1)?,
                        image_reference: r.string(2)?,
                        vuln_id: r.string(3)?,
                        aliases: r
                            .opt_string(4)?
                            .and_then(|a| serde_json::from_str(&a).ok())
                            .unwrap_or_default(),
                        ecosystem: r.string(5)?,
                        package: r.string(6)?,
                        version: r.string(7)?,
                        severity: r.string(8)?,
                        cvss: r.opt_f64(9)?,
                        kev: r.bool(10)?,
                        epss: r.opt_f64(11)?,
                        fix_state: r.opt_string(12)?,
                        fixed_version: r.opt_string(13)?,
                        layer_diff_id: r.opt_string(14)?,
                        summary: r.opt_string(15)?,
                        state: r.string(16)?,
                        first_seen: rfc3339(r.i64(17)?),
                        last_seen: rfc3339(r.i64(18)?),
                        resolved_at: r.opt_i64(19)?.map(rfc3339),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(items)
        })
        .await?;
    Ok(etag_json(&headers, &page(items, n, |f| f.id)))
}
