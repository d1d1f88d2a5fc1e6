//! The web dashboard: server-rendered HTML (maud) over the same store, roles and tokens as
//! the API, served by `patchline serve` beside `/api/v1`.
//!
//! # Shape
//!
//! - [`session`]: the login page (an API token in, a session cookie out), the [`session::Viewer`]
//!   extractor every page takes, CSRF tokens for every form.
//! - [`layout`]: the page shell (navigation, themes, Content Security Policy headers).
//! - [`table`]: server-side filter, sort and pagination with shareable URLs.
//! - [`assets`]: CSS and the little JavaScript, served from the binary.
//! - one module per page: [`overview`], [`hierarchy`], [`images`], [`cves`], [`teams`],
//!   [`campaigns`], [`exceptions`].
//!
//! Pages work without JavaScript; the script only adds pan and zoom to the graph and charts'
//! tooltips. Downloads (SBOMs, reports) are served here too, because the dashboard's cookie
//! does not authenticate the API.
//!
//! Unknown paths: an HTML "not found" page, except under `/api/` (and the machine
//! endpoints), which keep the API's JSON 404. It is a catch-all route rather than a
//! fallback because the server's router sets its own (JSON) fallback after merging this
//! one; specific routes always win over the catch-all, so no other route changes.

use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::state::AppState;

pub mod assets;
pub mod cache;
pub mod campaigns;
pub mod cves;
pub mod exceptions;
pub mod hierarchy;
pub mod images;
pub mod layout;
pub mod overview;
pub mod session;
pub mod table;
pub mod teams;

/// Every dashboard route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(session::routes())
        .merge(assets::routes())
        .merge(overview::routes())
        .merge(hierarchy::routes())
        .merge(images::routes())
        .merge(cves::routes())
        .merge(teams::routes())
        .merge(campaigns::routes())
        .merge(exceptions::routes())
        .route("/{*rest}", any(not_found))
}

/// Whether a path belongs to the machine interfaces (JSON answers).
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

async fn not_found(uri: Uri) -> Response {
    if is_api(uri.path()) {
        crate::api::ApiError::not_found("no such route").into_response()
    } else {
        layout::not_found()
    }
}
