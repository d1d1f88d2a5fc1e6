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
//! - [`visible_images`] is what a team token's pages may show.
//!
//! # Sessions
//!
//! The cookie (`patchline_session`) holds a random 256-bit session id; the store keeps its
//! SHA-256 only (`web_sessions`, migration 8), so neither a copy of the store nor a log
//! line logs anyone in, and the API token itself never leaves the login request. A session
//! lives 12 hours from its last use (sliding, written at most once a minute, like a token's
//! `last_used_at`) and never longer than 7 days from login. It is bound to the token it was
//! opened with: every lookup joins `api_tokens`, so revoking or expiring the token ends its
//! sessions at once, and the role is always the token's current one.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! sends it: with the CSRF field, two locks on every form), `Path=/`, without `Max-Age` (it
//! ends with the browser; the server-side expiry is what counts), and `Secure` except when
//! the request is plain HTTP addressed to a loopback name (`127.0.0.1`, `[::1]`,
//! `localhost`). The server itself speaks plain HTTP: TLS is a reverse proxy's job, and a
//! proxied request names the public host (or says `X-Forwarded-Proto: https`), so it gets
//! `Secure`. A loopback-only server (`patchline serve` on its default, the example) has no
//! TLS to offer, and a `Secure` cookie over `http://127.0.0.1` would be dropped by
//! clients, making the login impossible; the cookie cannot leave the machine there anyway.
//! Conversely a plain-HTTP server reached by another name gets a `Secure` cookie the
//! browser will not send back: the session then does not work, which is the point (a
//! token or session crossing a network in clear text is worse than a failed login).
//!
//! CSRF: a random token per session, stored beside it and compared in constant time. Under
//! `--no-auth` (loopback only) there is no session; the token is an HMAC of a per-process
//! random key, so another site's page cannot forge a form even then.
//!
//! Login failures all read the same ("unknown, expired or revoked API token", 401), for a
//! missing, expired or revoked token alike, and the form is bounded (4 KiB). Logins and
//! logouts go to the audit log (by token id and name; no secret).

use std::collections::{HashMap, HashSet};

use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::ApiError;
use crate::auth::{authenticate, Principal, Role};
use crate::db::{now, DbError, Tx};
use crate::params;
use crate::state::AppState;
use crate::web::layout;

pub const COOKIE: &str = "patchline_session";

/// A session ends this long after its last use...
pub const IDLE_SECS: i64 = 12 * 3600;
/// ... and this long after the login, however busy.
pub const MAX_SECS: i64 = 7 * 24 * 3600;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: i64 = 60;
/// The login form's size limit.
const MAX_LOGIN_FORM: usize = 4096;
/// The one answer to every failed login.
const LOGIN_FAILED: &str = "unknown, expired or revoked API token";

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
        if !self.csrf.is_empty() && bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
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

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The CSRF token under `--no-auth`: an HMAC of this process's random key.
fn no_auth_csrf() -> String {
    use hmac::{Hmac, Mac};
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(random_hex);
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    m.update(b"patchline-csrf:no-auth");
    hex::encode(m.finalize().into_bytes())
}

struct Found {
    principal: Principal,
    csrf: String,
    touch: bool,
}

/// The live session `id_hash` names, with its token's principal.
fn lookup(tx: &mut dyn Tx, id_hash: &str, t: i64) -> crate::db::Result<Option<Found>> {
    let Some(r) = tx.query_opt(
        "SELECT s.csrf, s.last_seen_at, t.id, t.name, t.role, t.team
         FROM web_sessions s JOIN api_tokens t ON t.id = s.token_id
         WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > ?)",
        params![id_hash, t, t],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Found {
        csrf: r.string(0)?,
        touch: r.i64(1)? + TOUCH_EVERY <= t,
        principal: Principal {
            token_id: Some(r.i64(2)?),
            name: r.string(3)?,
            role: r.str(4)?.parse().unwrap_or(Role::Viewer),
            team: r.opt_string(5)?,
        },
    }))
}

/// Slides a session's expiry (capped at [`MAX_SECS`] from its login).
fn touch(tx: &mut dyn Tx, id_hash: &str, t: i64) -> crate::db::Result<()> {
    tx.exec(
        "UPDATE web_sessions SET last_seen_at = ?,
             expires_at = CASE WHEN created_at + ? < ? THEN created_at + ? ELSE ? END
         WHERE id_hash = ?",
        params![t, MAX_SECS, t + IDLE_SECS, MAX_SECS, t + IDLE_SECS, id_hash],
    )?;
    Ok(())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        if state.no_auth {
            return Ok(Viewer {
                principal: Principal::no_auth(),
                csrf: no_auth_csrf(),
            });
        }
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let login = || {
            Redirect::to(&format!(
                "/login?next={}",
                urlencode(&safe_next(Some(&path)))
            ))
            .into_response()
        };
        let Some(secret) = cookie_value(&parts.headers, COOKIE) else {
            return Err(login());
        };
        // Ours are 64 hex digits; anything else is not worth a query.
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(login());
        }
        let id_hash = hash(secret);
        let t = now();
        let h2 = id_hash.clone();
        let found = state
            .db
            .run_read(move |tx| lookup(tx, &h2, t))
            .await
            .map_err(|e: DbError| ApiError::from(e).into_response())?;
        let Some(found) = found else {
            return Err(login());
        };
        if found.touch {
            let h3 = id_hash.clone();
            // Best effort: a failed slide must not fail the page.
            if let Err(e) = state.db.run(move |tx| touch(tx, &h3, t)).await {
                tracing::warn!(error = %e, "sliding a dashboard session");
            }
        }
        Ok(Viewer {
            principal: found.principal,
            csrf: found.csrf,
        })
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
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// Only a local path (`/x`, not `//host`, `/\host` or anything with a scheme or control
/// characters): never an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 2000
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

/// Whether the session cookie may go without `Secure`: plain HTTP addressed to a loopback
/// name (see the module).
fn loopback_plain_http(headers: &HeaderMap) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    if forwarded_https {
        return false;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/login",
            get(login_page)
                .post(login)
                .layer(DefaultBodyLimit::max(MAX_LOGIN_FORM)),
        )
        .route("/logout", post(logout))
}

fn login_form(next: &str, error: Option<&str>) -> maud::Markup {
    html! {
        @if let Some(e) = error {
            p class="error" role="alert" { (e) }
        }
        form class="login" method="post" action="/login" {
            label for="token" { "API token" }
            input id="token" name="token" type="password" autocomplete="off" required
                maxlength="200" autofocus;
            input type="hidden" name="next" value=(next);
            button type="submit" { "Log in" }
        }
        p class="hint" { "Use an API token (" code { "plt_…" } "); its role decides what you see." }
    }
}

async fn login_page(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    if state.no_auth {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let next = safe_next(q.next.as_deref());
    layout::bare(StatusCode::OK, "Log in", login_form(&next, None))
}

fn failed(next: &str) -> Response {
    layout::bare(
        StatusCode::UNAUTHORIZED,
        "Log in",
        login_form(next, Some(LOGIN_FAILED)),
    )
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let token = f.token.trim().to_string();
    if token.is_empty() || token.len() > 200 {
        return failed(&next);
    }
    let secret = random_hex();
    let id_hash = hash(&secret);
    let csrf = random_hex();
    let request_id = crate::api::request_id(&headers);
    let opened = state
        .db
        .run(move |tx| -> crate::db::Result<Option<Principal>> {
            let Some((who, _)) = authenticate(tx, &token)? else {
                return Ok(None);
            };
            let Some(token_id) = who.token_id else {
                return Ok(None);
            };
            let t = now();
            // Ended sessions are cleared here, so the table stays as small as the live set.
            tx.exec("DELETE FROM web_sessions WHERE expires_at <= ?", params![t])?;
            tx.exec(
                "INSERT INTO web_sessions (id_hash, token_id, csrf, created_at, last_seen_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![&id_hash, token_id, &csrf, t, t, t + IDLE_SECS],
            )?;
            crate::auth::touch(tx, token_id)?;
            crate::audit::record(
                tx,
                &who,
                "session.login",
                &format!("token:{token_id}"),
                None::<&()>,
                Some(&serde_json::json!({"expires_at": crate::db::rfc3339(t + IDLE_SECS)})),
                request_id.as_deref(),
            )?;
            Ok(Some(who))
        })
        .await;
    match opened {
        Ok(Some(_)) => {
            let secure = if loopback_plain_http(&headers) {
                ""
            } else {
                "; Secure"
            };
            let cookie = format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{secure}");
            let mut r = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(None) => {
            tracing::info!("dashboard login refused");
            failed(&next)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Err(r) = viewer.check_csrf(&f.csrf) {
        return r;
    }
    // The extractor found a live session under this cookie (or runs under --no-auth).
    if let Some(id_hash) = cookie_value(&headers, COOKIE)
        .filter(|_| !state.no_auth)
        .map(hash)
    {
        let who = viewer.principal.clone();
        let request_id = crate::api::request_id(&headers);
        let ended = state
            .db
            .run(move |tx| -> crate::db::Result<()> {
                tx.exec(
                    "DELETE FROM web_sessions WHERE id_hash = ?",
                    params![&id_hash],
                )?;
                crate::audit::record(
                    tx,
                    &who,
                    "session.logout",
                    &format!("token:{}", who.token_id.unwrap_or_default()),
                    None::<&()>,
                    None::<&()>,
                    request_id.as_deref(),
                )
            })
            .await;
        if let Err(e) = ended {
            return ApiError::from(e).into_response();
        }
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "patchline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
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
) -> crate::db::Result<Option<HashSet<i64>>> {
    if viewer.principal.role != Role::Team {
        return Ok(None);
    }
    let graph = crate::lineage::load_graph(tx)?;
    visible_in(tx, viewer, &graph)
}

/// [`visible_images`] over a graph the caller already loaded.
pub fn visible_in(
    tx: &mut dyn crate::db::Tx,
    viewer: &Viewer,
    graph: &patchline_lineage::Graph,
) -> crate::db::Result<Option<HashSet<i64>>> {
    if viewer.principal.role != Role::Team {
        return Ok(None);
    }
    let team = viewer.principal.team.clone().unwrap_or_default();
    let mut ids_by_ref = HashMap::new();
    for r in tx.query(
        "SELECT reference, image_id FROM catalog_entries WHERE image_id IS NOT NULL",
        &[],
    )? {
        ids_by_ref.insert(r.string(0)?, r.i64(1)?);
    }
    let mut out = HashSet::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(safe_next(Some("/images?q=a")), "/images?q=a");
        for bad in ["//evil.example", "/\\evil", "https://evil", "evil", "/a\nb"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn secure_is_dropped_for_plain_loopback_only() {
        let h = |host: &str, proto: Option<&str>| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, host.parse().unwrap());
            if let Some(p) = proto {
                m.insert("x-forwarded-proto", p.parse().unwrap());
            }
            loopback_plain_http(&m)
        };
        assert!(h("127.0.0.1:8080", None));
        assert!(h("localhost", None));
        assert!(h("[::1]:8080", None));
        assert!(!h("127.0.0.1:8080", Some("https")));
        assert!(!h("patchline.example", None));
        assert!(!h("10.0.0.5:8080", None));
        assert!(!loopback_plain_http(&HeaderMap::new()));
    }

    #[test]
    fn csrf_of_no_auth_is_stable_per_process_and_not_guessable() {
        assert_eq!(no_auth_csrf(), no_auth_csrf());
        assert_eq!(no_auth_csrf().len(), 64);
    }
}
