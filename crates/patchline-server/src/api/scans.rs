//! `POST /api/v1/scans`: ask for a scan of an image in one of the configured registries.
//!
//! Only registries in `config.registries` are accepted: a reference naming any other
//! host is refused (422) before anything is queued, so the API cannot be used to make
//! the server's workers fetch from an arbitrary address (SSRF).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use patchline_image::reference::ImageRef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::ApiJson;
use crate::api::{request_id, ApiError, ApiResult};
use crate::audit;
use crate::auth::{Principal, Role};
use crate::jobs::{self, kind, Enqueue};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_scan))
        .layer(axum::extract::DefaultBodyLimit::max(16 << 10))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// `HOST[:PORT]/REPO:TAG` or `HOST[:PORT]/REPO@sha256:...`, in a configured registry.
    pub reference: String,
}

/// The scan job's payload.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ScanPayload {
    /// The configured registry's name (`config.registries[].name`, default its host).
    pub registry: String,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ScanQueued {
    pub reference: String,
    /// The new job; absent when a scan of the same image was already queued or running.
    pub job_id: Option<i64>,
    pub deduplicated: bool,
}

/// Queues a scan of an image in a configured registry.
#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", request_body = ScanRequest,
    responses((status = 202, body = ScanQueued), (status = 403, body = crate::api::error::ErrorBody), (status = 422, body = crate::api::error::ErrorBody)),
    security(("token" = [])))]
pub async fn request_scan(
    State(s): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ScanRequest>,
) -> ApiResult<Response> {
    who.require(&[Role::Scanner])?;
    if body.reference.len() > 500 {
        return Err(ApiError::unprocessable(
            "reference: longer than 500 characters",
        ));
    }
    let text = body.reference.trim();
    let parsed = match ImageRef::parse(text.strip_prefix("docker://").unwrap_or(text)) {
        Ok(ImageRef::Registry(r)) => r,
        Ok(_) => {
            return Err(ApiError::unprocessable(
                "reference: not a registry reference (HOST/REPO:TAG or HOST/REPO@DIGEST)",
            ))
        }
        Err(e) => return Err(ApiError::unprocessable(format!("reference: {e}"))),
    };
    let Some(reg) = s
        .config
        .registries
        .iter()
        .find(|r| r.host().eq_ignore_ascii_case(&parsed.registry))
    else {
        return Err(ApiError::unprocessable(format!(
            "reference: {} is not a configured registry",
            parsed.registry
        )));
    };
    let payload = ScanPayload {
        registry: reg.name().to_string(),
        repository: parsed.repository.clone(),
        digest: parsed.digest.as_ref().map(|d| d.to_string()),
        tag: if parsed.digest.is_some() {
            None
        } else {
            Some(parsed.tag.clone().unwrap_or_else(|| "latest".into()))
        },
    };
    let canonical = parsed.to_string();
    let dedupe = format!(
        "scan:{}",
        payload.digest.clone().unwrap_or_else(|| canonical.clone())
    );
    let rid = request_id(&headers);
    let reference = canonical.clone();
    let job_id =
        s.db.run(move |tx| -> ApiResult<Option<i64>> {
            let id = jobs::enqueue(
                tx,
                kind::SCAN,
                &payload,
                Enqueue {
                    dedupe_key: Some(&dedupe),
                    priority: 10,
                    ..Enqueue::default()
                },
            )?;
            audit::record(
                tx,
                &who,
                "scan.request",
                &format!("image:{reference}"),
                None::<&()>,
                Some(&serde_json::json!({"job_id": id, "payload": payload})),
                rid.as_deref(),
            )?;
            Ok(id)
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ScanQueued {
            reference: canonical,
            job_id,
            deduplicated: job_id.is_none(),
        }),
    )
        .into_response())
}
