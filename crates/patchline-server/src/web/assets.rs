//! The dashboard's CSS and its one script, compiled into the binary (`include_str!`) and
//! served under `/static/`: no CDN, no third-party code.
//!
//! Caching: pages link `/static/patchline.css?v=<hash>` (the first 16 hex digits of the
//! file's SHA-256). A request naming the current hash is cacheable for a year
//! (`immutable`): a new binary changes the hash, so the URL, so browsers fetch the new file.
//! Any other request (no or an old `v`) must revalidate (`no-cache`) against the `ETag`,
//! answered `304` when unchanged.
//!
//! `graph.js` adds pan, zoom and live search to the hierarchy's SVG (`#graph`); every page
//! loads it (`defer`, a few KiB, cached) and it does nothing where there is no graph.

use std::sync::OnceLock;

use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::state::AppState;

pub const CSS: &str = include_str!("static/patchline.css");
pub const GRAPH_JS: &str = include_str!("static/graph.js");

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn css_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| short_hash(CSS))
}

fn js_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| short_hash(GRAPH_JS))
}

/// The stylesheet's URL, versioned by its content.
pub fn css_href() -> String {
    format!("/static/patchline.css?v={}", css_hash())
}

/// The graph script's URL, versioned by its content.
pub fn graph_js_href() -> String {
    format!("/static/graph.js?v={}", js_hash())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/static/patchline.css",
            get(|h: HeaderMap, q: Query<Version>| async move {
                serve(&h, &q, CSS, css_hash(), "text/css; charset=utf-8")
            }),
        )
        .route(
            "/static/graph.js",
            get(|h: HeaderMap, q: Query<Version>| async move {
                serve(
                    &h,
                    &q,
                    GRAPH_JS,
                    js_hash(),
                    "text/javascript; charset=utf-8",
                )
            }),
        )
}

#[derive(Deserialize)]
struct Version {
    v: Option<String>,
}

fn serve(
    headers: &HeaderMap,
    q: &Version,
    body: &'static str,
    hash: &str,
    content_type: &'static str,
) -> Response {
    let etag = format!("\"{hash}\"");
    let cache = if q.v.as_deref() == Some(hash) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
