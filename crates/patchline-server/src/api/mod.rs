//! The REST API under `/api/v1`, its OpenAPI 3.1 document (generated from the handlers'
//! annotations: `GET /api/v1/openapi.json`), health and metrics.
//!
//! Every module that serves routes returns a `utoipa_axum` [`OpenApiRouter`]; handlers are
//! registered with `routes!(...)` so their `#[utoipa::path]` lands in the document.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod audit_log;
pub mod common;
pub mod error;
pub mod exceptions;
pub mod findings;
pub mod health;
pub mod hierarchy;
pub mod images;
pub mod scans;
pub mod settings;
pub mod tokens;

pub use error::{ApiError, ApiResult};

/// The document's fixed part; paths and schemas come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(title = "patchline", description = "Patch and vulnerability management for container images across an organisation's image supply chain."),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("plt_...")
                    .build(),
            ),
        );
    }
}

/// Every route of `/api/v1` with its OpenAPI document.
pub fn api_v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(tokens::routes())
        .merge(audit_log::routes())
        .merge(images::routes())
        .merge(settings::routes())
        .merge(findings::routes())
        .merge(hierarchy::routes())
        .merge(scans::routes())
        .merge(exceptions::routes())
        .merge(crate::registry::routes())
        .merge(crate::uploads::routes())
        .merge(crate::campaigns::routes())
        .merge(crate::trusted::routes())
        .merge(crate::rescan::routes())
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_v1().split_for_parts();
    let doc_json = serde_json::to_value(&doc).unwrap_or_default();
    let request_id = HeaderName::from_static("x-request-id");
    let max_body = state.config.limits.max_body;
    let timeout = state.config.request_timeout();
    Router::new()
        .merge(api)
        .route("/api/v1/openapi.json", get(move || async move { Json(doc_json.clone()) }))
        .merge(health::routes())
        .merge(crate::web::routes())
        .merge(crate::harbor::routes())
        .merge(crate::admission::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout.max(Duration::from_secs(1))))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry tokens some clients put there.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The request id of a request (`x-request-id`), for the audit log.
pub fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[allow(dead_code)]
async fn unused(State(_s): State<AppState>) -> impl IntoResponse {
    StatusCode::NO_CONTENT
}
