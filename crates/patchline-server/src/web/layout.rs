//! The page shell every dashboard page is rendered in.
//!
//! CONTRACT: pages build their body as `maud::Markup` and return
//! `layout::page(&viewer, "Title", Nav::Images, body)`; the shell adds the navigation, the
//! logout form, the theme (light and dark from the system setting) and the security headers
//! (Content Security Policy without `unsafe-inline`: no inline scripts or styles, no `style=`
//! attributes; use classes from `assets`' CSS).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

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

/// A whole page.
pub fn page(viewer: &Viewer, title: &str, nav: Nav, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · patchline" }
            }
            body {
                header {
                    nav aria-label="Main" {
                        ul {
                            @for (n, href, label) in ENTRIES {
                                li { a href=(href) aria-current=[(n == nav).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        span { (viewer.principal.name) " (" (viewer.principal.role.as_str()) ")" }
                        button type="submit" { "Log out" }
                    }
                }
                main id="main" { h1 { (title) } (body) }
            }
        }
    };
    let mut r = markup.into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
            .parse()
            .expect("ascii"),
    );
    r
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
