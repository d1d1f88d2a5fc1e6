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

use axum::Router;

use crate::state::AppState;

pub mod assets;
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
}
