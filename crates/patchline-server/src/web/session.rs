//! Logging in to the dashboard and who is looking.
//!
//! CONTRACT (pages rely on it; the implementation may change behind it):
//! - `GET /login?next=/path` shows a form; `POST /login` (form fields `token`, `next`)
//!   checks the API token like the API does and sets the session cookie, then redirects
//!   (303) to `next` (a local path only) or `/`.
//! - `POST /logout` (form field `csrf`) ends the session.
//! - [`Viewer`] is the extractor of every page: a logged-out request is redirected to
//!   `/login?next=<path>`.
//! - Every form carries a hidden field `csrf` with [`Viewer::csrf`]; POST handlers call
//!   [`Viewer::check_csrf`] before anything else.
//!
//! Interim implementation (groundwork): the cookie holds the token; to be replaced by a
//! server-side session.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::ApiError;
use crate::auth::{authenticate, Principal};
use crate::db::DbError;
use crate::state::AppState;

pub const COOKIE: &str = "patchline_session";

/// Who is looking at a page.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub principal: Principal,
    /// This session's CSRF token: every form carries it as the hidden field `csrf`.
    pub csrf: String,
}

impl Viewer {
    /// Refuses a form whose `csrf` field is not this session's (403).
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        use subtle::ConstantTimeEq;
        if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err((
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or stale: reload the page",
            )
                .into_response())
        }
    }
}

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn csrf_of(secret: &str) -> String {
    hex::encode(&Sha256::digest(format!("patchline-csrf:{secret}").as_bytes())[..16])
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let login = || Redirect::to(&format!("/login?next={}", urlencode(&path))).into_response();
        if state.no_auth {
            return Ok(Viewer {
                principal: Principal::no_auth(),
                csrf: csrf_of("no-auth"),
            });
        }
        let Some(secret) = cookie_value(parts, COOKIE).map(str::to_string) else {
            return Err(login());
        };
        if secret.len() > 200 {
            return Err(login());
        }
        let s2 = secret.clone();
        let found = state
            .db
            .run_read(move |tx| authenticate(tx, &s2))
            .await
            .map_err(|e: DbError| ApiError::from(e).into_response())?;
        match found {
            Some((principal, _)) => Ok(Viewer {
                principal,
                csrf: csrf_of(&secret),
            }),
            None => Err(login()),
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

/// Only a local path: never an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
}

async fn login_page(axum::extract::Query(q): axum::extract::Query<NextQuery>) -> maud::Markup {
    let next = safe_next(q.next.as_deref());
    html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "Log in · patchline" } }
        body { main {
            h1 { "patchline" }
            form method="post" action="/login" {
                label for="token" { "API token" }
                input id="token" name="token" type="password" autocomplete="off" required;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Log in" }
            }
        } } }
    }
}

async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let token = f.token.trim().to_string();
    if token.is_empty() || token.len() > 200 {
        return (
            StatusCode::UNAUTHORIZED,
            "unknown, expired or revoked API token",
        )
            .into_response();
    }
    let t2 = token.clone();
    match state
        .db
        .run_read(move |tx| authenticate(tx, &t2))
        .await
        .map_err(ApiError::from)
    {
        Ok(Some(_)) => {
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            let mut r = Redirect::to(&safe_next(f.next.as_deref())).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, cookie.parse().expect("ascii cookie"));
            r
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            "unknown, expired or revoked API token",
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn logout(viewer: Viewer, Form(f): Form<LogoutForm>) -> Response {
    if let Err(r) = viewer.check_csrf(&f.csrf) {
        return r;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
            .parse()
            .expect("ascii"),
    );
    r
}

/// What a viewer may see.
///
/// CONTRACT: every page that lists or shows images, findings, CVEs, campaigns, teams or
/// exceptions filters by this. `None` = everything (admin, security, viewer); for a `team`
/// token, the images its team owns in the catalog plus their ancestors (the bases it
/// inherits findings from, read-only): another team's images are neither listed nor
/// reachable by URL (404, as if they did not exist).
pub fn visible_images(
    tx: &mut dyn crate::db::Tx,
    viewer: &Viewer,
) -> crate::db::Result<Option<std::collections::HashSet<i64>>> {
    use crate::auth::Role;
    if viewer.principal.role != Role::Team {
        return Ok(None);
    }
    let team = viewer.principal.team.clone().unwrap_or_default();
    let mut ids_by_ref = std::collections::HashMap::new();
    for r in tx.query(
        "SELECT reference, image_id FROM catalog_entries WHERE image_id IS NOT NULL",
        &[],
    )? {
        ids_by_ref.insert(r.string(0)?, r.i64(1)?);
    }
    let graph = crate::lineage::load_graph(tx)?;
    let mut out = std::collections::HashSet::new();
    for (i, node) in graph.nodes().iter().enumerate() {
        let owned = node.entry.owner.as_ref().is_some_and(|o| o.team == team);
        if !owned {
            continue;
        }
        for n in std::iter::once(i).chain(graph.ancestors(i)) {
            for r in graph.node(n).references() {
                if let Some(id) = ids_by_ref.get(r) {
                    out.insert(*id);
                }
            }
        }
    }
    Ok(Some(out))
}
