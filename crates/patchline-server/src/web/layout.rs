//! The page shell every dashboard page is rendered in.
//!
//! CONTRACT: pages build their body as `maud::Markup` and return
//! `layout::page(&viewer, "Title", Nav::Images, body)`; the shell adds the navigation, the
//! logout form, the theme (light and dark from the system setting) and the security headers
//! (Content Security Policy without `unsafe-inline`: no inline scripts or styles, no `style=`
//! attributes; use classes from `assets`' CSS). [`bare`] is the shell of pages outside a
//! session (login, not found). Every HTML answer is `Cache-Control: no-store`: pages carry
//! CSRF tokens and findings, and a shared machine's back button must not show them after a
//! logout.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::web::assets;
use crate::web::session::Viewer;

/// The navigation entry a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Hierarchy,
    Images,
    Cves,
    Teams,
    Campaigns,
    Exceptions,
}

const ENTRIES: [(Nav, &str, &str); 7] = [
    (Nav::Overview, "/", "Overview"),
    (Nav::Hierarchy, "/hierarchy", "Hierarchy"),
    (Nav::Images, "/images", "Images"),
    (Nav::Cves, "/cves", "CVEs"),
    (Nav::Teams, "/teams", "Teams"),
    (Nav::Campaigns, "/campaigns", "Campaigns"),
    (Nav::Exceptions, "/exceptions", "Exceptions"),
];

/// The Content Security Policy of every page: scripts and styles from this server's
/// `/static/` only (no `unsafe-inline`), no plugins, no framing, forms to this server.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="color-scheme" content="light dark";
        title { (title) " · patchline" }
        link rel="stylesheet" href=(assets::css_href());
        script src=(assets::graph_js_href()) defer {}
    }
}

/// Headers every HTML answer carries: the CSP, no sniffing, no referrer off-site, and no
/// caching (pages carry CSRF tokens and findings).
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A whole page.
pub fn page(viewer: &Viewer, title: &str, nav: Nav, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "patchline" }
                    nav aria-label="Main" {
                        ul {
                            @for (n, href, label) in ENTRIES {
                                li { a href=(href) aria-current=[(n == nav).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form class="logout" method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        span class="who" { (viewer.principal.name) " (" (viewer.principal.role.as_str())
                            @if let Some(t) = &viewer.principal.team { ", team " (t) } ")" }
                        button type="submit" { "Log out" }
                    }
                }
                main id="main" tabindex="-1" { h1 { (title) } (body) }
                footer class="foot" { "patchline " (env!("CARGO_PKG_VERSION")) }
            }
        }
    };
    secure(markup.into_response())
}

/// A page outside the session (login, not found): the same look, no navigation.
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body class="bare" {
                main id="main" { p class="brand" { "patchline" } h1 { (title) } (body) }
            }
        }
    };
    secure((status, markup).into_response())
}

/// The HTML "forbidden" page: the role may not see this.
pub fn forbidden(why: &str) -> Response {
    bare(
        StatusCode::FORBIDDEN,
        "Not allowed",
        html! { p { (why) } p { a href="/" { "Back to the overview" } } },
    )
}

/// The HTML "not found" page.
pub fn not_found() -> Response {
    bare(
        StatusCode::NOT_FOUND,
        "Not found",
        html! { p { "There is nothing here. " a href="/" { "Back to the overview" } } },
    )
}

/// A severity as text and colour (`class="sev sev-critical"`): colour is never the only
/// signal.
pub fn severity(sev: &str) -> Markup {
    let s = sev.to_ascii_lowercase();
    let known = ["critical", "high", "medium", "low"].contains(&s.as_str());
    let class = if known {
        format!("sev sev-{s}")
    } else {
        "sev sev-unknown".into()
    };
    let label = if known { s.clone() } else { "unknown".into() };
    html! { span class=(class) { (label) } }
}

/// The known-exploited mark (CISA KEV).
pub fn kev() -> Markup {
    html! { abbr class="kev" title="In CISA's Known Exploited Vulnerabilities catalog" { "KEV" } }
}

/// A unix time as `2026-12-08 01:02 UTC` inside `<time datetime=...>`.
pub fn when(unix: i64) -> Markup {
    let rfc = crate::db::rfc3339(unix);
    let short = rfc.get(..16).unwrap_or(&rfc).replace('T', " ");
    html! { time datetime=(rfc) { (short) " UTC" } }
}
