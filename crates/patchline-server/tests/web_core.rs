//! The dashboard's core over HTTP: sessions (login, cookie flags, CSRF, logout, revoked
//! tokens, redirects), the page shell's security headers, the static assets' caching, the
//! HTML 404, and the overview and hierarchy pages on the seeded fixture server (three real
//! scanned images, catalogued: `platform/debian:12` ← `shop/app:1.0`, and
//! `billing/api:2.0`).
//!
//! `render_ten_thousand_images` (ignored) times the overview and hierarchy with 10,000
//! stored and catalogued images:
//! ```text
//! PATCHLINE_FIXTURES=DIR cargo test --release -p patchline-server --test web_core -- --ignored --nocapture
//! ```

mod api_support;

use std::time::Instant;

use api_support::*;
use patchline_server::db::{now, Tx};
use patchline_server::params;
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn login_as(env: &Env, token: &str, next: &str) -> Response {
    client()
        .post(format!("{}/login", env.url))
        .form(&[("token", token), ("next", next)])
        .send()
        .unwrap()
}

/// Logs in and returns the session cookie (`patchline_session=...`).
fn session(env: &Env, who: &str) -> String {
    let r = login_as(env, &env.tokens[who], "/");
    assert_eq!(r.status(), 303, "login as {who}");
    let c = r.headers()[SET_COOKIE].to_str().unwrap();
    c.split(';').next().unwrap().to_string()
}

fn get(env: &Env, cookie: &str, path: &str) -> Response {
    client()
        .get(format!("{}{path}", env.url))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

/// The page's hidden CSRF field.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// No inline script, no style attribute or element, no inline event handler.
fn assert_no_inline(path: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "{path}: inline script {tag}");
    }
    assert!(!lower.contains(" style="), "{path}: a style attribute");
    assert!(!lower.contains("<style"), "{path}: a style element");
    for h in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        " oninput=",
    ] {
        assert!(!lower.contains(h), "{path}: inline handler {h}");
    }
}

#[test]
fn login_sets_a_session_cookie_with_its_flags() {
    let Some(env) = seeded() else { return };
    let r = login_as(&env, &env.tokens["admin"], "/hierarchy?q=shop");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/hierarchy?q=shop");
    let c = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(c.starts_with("patchline_session="), "{c}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(flag), "{flag} in {c}");
    }
    // Plain HTTP to 127.0.0.1: no Secure (see session.rs); the token is not the cookie.
    assert!(!c.contains("Secure"), "{c}");
    assert!(
        !c.contains(&env.tokens["admin"]),
        "the cookie holds the token: {c}"
    );
    // Behind a TLS proxy, Secure.
    let r = client()
        .post(format!("{}/login", env.url))
        .header("x-forwarded-proto", "https")
        .form(&[("token", env.tokens["admin"].as_str())])
        .send()
        .unwrap();
    assert!(r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));
    // The session works; the store keeps the session's hash only.
    let cookie = c.split(';').next().unwrap().to_string();
    let r = get(&env, &cookie, "/");
    assert_eq!(r.status(), 200);
    let secret = cookie.split_once('=').unwrap().1.to_string();
    let stored: i64 = env
        .running
        .server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM web_sessions WHERE id_hash = ?",
                params![&secret],
            )
        })
        .unwrap();
    assert_eq!(stored, 0, "the raw session id is stored");
    // The login is audited.
    let audited: i64 = env
        .running
        .server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'session.login'",
                &[],
            )
        })
        .unwrap();
    assert!(audited >= 1);
}

#[test]
fn failed_logins_say_nothing_more_and_set_no_cookie() {
    let Some(env) = seeded() else { return };
    let mut bodies = Vec::new();
    for token in [
        "plt_nosuchtoken".to_string(),
        env.tokens["revoked"].clone(),
        env.tokens["expired"].clone(),
        String::new(),
    ] {
        let r = login_as(&env, &token, "/");
        assert_eq!(r.status(), 401);
        assert!(r.headers().get(SET_COOKIE).is_none());
        assert!(r.headers().contains_key(CONTENT_SECURITY_POLICY));
        let body = r.text().unwrap();
        assert!(
            body.contains("unknown, expired or revoked API token"),
            "{body}"
        );
        assert_no_inline("/login (401)", &body);
        bodies.push(body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the answers differ"
    );
    // An oversized form is refused before any lookup.
    let r = client()
        .post(format!("{}/login", env.url))
        .form(&[("token", "x".repeat(10_000))])
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[test]
fn logged_out_pages_redirect_to_login_and_next_stays_local() {
    let Some(env) = seeded() else { return };
    let r = client().get(format!("{}/", env.url)).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/login?next=/");
    let r = client()
        .get(format!("{}/hierarchy?q=shop", env.url))
        .send()
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/login?next=/hierarchy%3Fq%3Dshop");
    // A made-up cookie is no session.
    let r = get(&env, &format!("patchline_session={}", "ab".repeat(32)), "/");
    assert_eq!(r.status(), 303);
    // Open redirects are refused, in the form and after the login.
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let r = login_as(&env, &env.tokens["viewer"], evil);
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/", "{evil}");
        let page = client()
            .get(format!("{}/login", env.url))
            .query(&[("next", evil)])
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(page.contains("name=\"next\" value=\"/\""), "{evil}: {page}");
    }
}

#[test]
fn logout_needs_the_csrf_token_and_ends_the_session() {
    let Some(env) = seeded() else { return };
    let cookie = session(&env, "viewer");
    let page = get(&env, &cookie, "/").text().unwrap();
    let csrf = csrf_of(&page);
    assert_eq!(csrf.len(), 64);
    for bad in [vec![], vec![("csrf", "0".repeat(64))]] {
        let r = client()
            .post(format!("{}/logout", env.url))
            .header("cookie", &cookie)
            .form(&bad)
            .send()
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(get(&env, &cookie, "/").status(), 200, "still logged in");
    // Another session's CSRF token is not this one's.
    let other = session(&env, "viewer");
    let other_csrf = csrf_of(&get(&env, &other, "/").text().unwrap());
    assert_ne!(other_csrf, csrf);
    let r = client()
        .post(format!("{}/logout", env.url))
        .header("cookie", &cookie)
        .form(&[("csrf", other_csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .post(format!("{}/logout", env.url))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // The old cookie no longer works (the server forgot it, whatever the browser keeps).
    let r = get(&env, &cookie, "/");
    assert_eq!(r.status(), 303);
    assert!(r.headers()[LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    assert_eq!(
        get(&env, &other, "/").status(),
        200,
        "other sessions live on"
    );
}

#[test]
fn a_revoked_or_expired_token_ends_its_sessions() {
    let Some(env) = seeded() else { return };
    let db = &env.running.server.db;
    let (id, secret) = db
        .tx(|tx| {
            patchline_server::auth::create_token(
                tx,
                "short",
                patchline_server::auth::Role::Viewer,
                None,
                None,
                "test",
            )
        })
        .unwrap();
    let r = login_as(&env, &secret, "/");
    let cookie = r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(get(&env, &cookie, "/").status(), 200);
    db.tx(|tx| {
        tx.exec(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ?",
            params![now(), id],
        )
    })
    .unwrap();
    assert_eq!(
        get(&env, &cookie, "/").status(),
        303,
        "revoked token, live session"
    );

    let (id2, secret2) = db
        .tx(|tx| {
            patchline_server::auth::create_token(
                tx,
                "expiring",
                patchline_server::auth::Role::Viewer,
                None,
                Some(now() + 3600),
                "test",
            )
        })
        .unwrap();
    let r = login_as(&env, &secret2, "/");
    let cookie2 = r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(get(&env, &cookie2, "/").status(), 200);
    db.tx(|tx| {
        tx.exec(
            "UPDATE api_tokens SET expires_at = ? WHERE id = ?",
            params![now() - 1, id2],
        )
    })
    .unwrap();
    assert_eq!(
        get(&env, &cookie2, "/").status(),
        303,
        "expired token, live session"
    );
    // And an idle session ends by itself.
    let cookie3 = session(&env, "viewer");
    db.tx(|tx| tx.exec("UPDATE web_sessions SET expires_at = ?", params![now() - 1]))
        .unwrap();
    assert_eq!(get(&env, &cookie3, "/").status(), 303, "expired session");
}

#[test]
fn pages_carry_the_csp_and_no_inline_code() {
    let Some(env) = seeded() else { return };
    let cookie = session(&env, "admin");
    for path in ["/", "/hierarchy", "/hierarchy?q=shop&sort=worst&dir=desc"] {
        let r = get(&env, &cookie, path);
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let html = r.text().unwrap();
        assert_no_inline(path, &html);
        assert!(html.contains("href=\"#main\""), "{path}: skip link");
        assert!(html.contains("/static/patchline.css?v="), "{path}");
    }
    let login = client().get(format!("{}/login", env.url)).send().unwrap();
    assert!(login.headers().contains_key(CONTENT_SECURITY_POLICY));
    assert_no_inline("/login", &login.text().unwrap());
    // Unknown pages: an HTML 404; the API keeps its JSON one.
    let r = get(&env, &cookie, "/no/such/page");
    assert_eq!(r.status(), 404);
    assert!(r.headers()[CONTENT_SECURITY_POLICY].to_str().is_ok());
    let body = r.text().unwrap();
    assert!(
        body.contains("<html") && body.contains("Not found"),
        "{body}"
    );
    let r = client()
        .get(format!("{}/api/v1/no-such-route", env.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));
    let r = client()
        .post(format!("{}/api/v1/no-such-route", env.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn static_assets_are_cached_by_content() {
    let Some(env) = seeded() else { return };
    let page = client()
        .get(format!("{}/login", env.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for name in ["patchline.css", "graph.js"] {
        let at = page.find(&format!("/static/{name}?v=")).unwrap();
        let href = page[at..].split('"').next().unwrap().to_string();
        let r = client().get(format!("{}{href}", env.url)).send().unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let body = r.text().unwrap();
        assert!(body.len() > 500, "{name}");
        let r = client()
            .get(format!("{}/static/{name}", env.url))
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers()["cache-control"], "no-cache");
    }
    let css = client()
        .get(format!("{}/static/patchline.css", env.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for class in [
        ".sev-critical",
        ".sev-high",
        ".sev-medium",
        ".sev-low",
        ".sev-unknown",
        "prefers-color-scheme: dark",
        ":focus-visible",
    ] {
        assert!(css.contains(class), "{class}");
    }
}

/// The `<a class="node ...">` elements of a hierarchy page: (href, data-ref).
fn nodes(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, _) in html.match_indices("<a class=\"node ") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        let attr = |name: &str| {
            let at = tag
                .find(&format!("{name}=\""))
                .map(|a| a + name.len() + 2)?;
            Some(tag[at..].split('"').next()?.to_string())
        };
        out.push((attr("href").unwrap(), attr("data-ref").unwrap()));
    }
    out
}

#[test]
fn overview_and_hierarchy_show_the_organisation() {
    let Some(env) = seeded() else { return };
    let cookie = session(&env, "security");
    let html = get(&env, &cookie, "/").text().unwrap();
    for want in [
        "Open findings",
        "Trend, last 30 days",
        "Top fixes",
        "images scanned",
        "Campaigns in progress",
        "<svg class=\"chart\"",
    ] {
        assert!(html.contains(want), "overview lacks {want}");
    }
    // The child's curl findings have fixed versions: the top fixes name a package and
    // the image where it belongs.
    assert!(
        html.contains("<code>curl</code>") || html.contains("<code>libcurl"),
        "no curl fix: {html}"
    );

    let html = get(&env, &cookie, "/hierarchy").text().unwrap();
    let n = nodes(&html);
    let refs: Vec<&str> = n.iter().map(|(_, r)| r.as_str()).collect();
    for r in [BASE, SHOP, BILLING] {
        assert!(refs.contains(&r), "{r} not in {refs:?}");
    }
    assert!(n.iter().all(|(h, _)| h.starts_with("/images/")), "{n:?}");
    // shop/app is drawn under the base: an edge, and inherited findings.
    assert!(html.contains("class=\"edge"), "no edge");
    assert!(html.contains(" inh."));
    assert!(html.contains("<tr data-ref=\"registry.example/shop/app:1.0\""));
    // Search: highlighted in the graph, filtered in the table.
    let html = get(&env, &cookie, "/hierarchy?q=shop").text().unwrap();
    assert!(
        html.contains("class=\"node sev-") && html.contains(" hit\""),
        "no hit"
    );
    assert!(html.contains("<tr data-ref=\"registry.example/shop/app:1.0\""));
    assert!(!html.contains("<tr data-ref=\"registry.example/billing/api:2.0\""));

    // A team sees its images and their ancestors, not other teams'.
    let shop = session(&env, "shop");
    let html = get(&env, &shop, "/hierarchy").text().unwrap();
    let refs: Vec<String> = nodes(&html).into_iter().map(|(_, r)| r).collect();
    assert!(
        refs.contains(&SHOP.to_string()) && refs.contains(&BASE.to_string()),
        "{refs:?}"
    );
    assert!(!html.contains(BILLING), "billing shown to shop");
    let html = get(&env, &session(&env, "billing"), "/hierarchy")
        .text()
        .unwrap();
    let refs: Vec<String> = nodes(&html).into_iter().map(|(_, r)| r).collect();
    assert!(refs.contains(&BILLING.to_string()), "{refs:?}");
    assert!(
        !refs.contains(&SHOP.to_string()) && !html.contains(SHOP),
        "{refs:?}"
    );
    let overview = get(&env, &session(&env, "billing"), "/").text().unwrap();
    assert!(!overview.contains(SHOP), "shop's fixes shown to billing");
    // A new image shows at once: the cached figures follow the store.
    let before = get(&env, &cookie, "/hierarchy").text().unwrap();
    assert!(!before.contains("registry.example/shop/app:1.1"));
    let scans = scans().unwrap();
    env.running
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            let r = "registry.example/shop/app:1.1";
            let digest = format!("sha256:{:064x}", 0xcafeu64);
            let id = store_scan(tx, &scans[1], Some(&digest), r);
            let mut info = scans[1].inventory.image.clone();
            info.manifest_digest = Some(digest.parse().unwrap());
            patchline_server::lineage::record_image(tx, r, id, &info)?;
            Ok(())
        })
        .unwrap();
    let after = get(&env, &cookie, "/hierarchy").text().unwrap();
    assert!(after.contains("data-ref=\"registry.example/shop/app:1.1\""));
    let overview = get(&env, &cookie, "/").text().unwrap();
    assert!(overview.contains("of 4 images scanned"), "{overview}");
    // Scanner tokens read no findings.
    assert_eq!(
        get(&env, &session(&env, "scanner"), "/hierarchy").status(),
        403
    );
}

/// 10,000 images (clones of the three fixtures, as tests/api_load.rs makes them), each
/// catalogued: 100 enterprise bases on the Debian base, the rest applications on them,
/// owned by 50 teams. Prints the server-side time of the overview and the hierarchy.
#[test]
#[ignore = "benchmark: run with --ignored --nocapture (release build)"]
fn render_ten_thousand_images() {
    let Some(env) = seeded() else { return };
    let scans = scans().unwrap();
    let want: usize = std::env::var("PATCHLINE_LOAD_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let db = &env.running.server.db;
    let t = Instant::now();
    for chunk in (3..want).collect::<Vec<_>>().chunks(500) {
        db.tx(|tx| -> patchline_server::db::Result<()> {
            for &n in chunk {
                clone(tx, scans, n)?;
            }
            Ok(())
        })
        .unwrap();
    }
    eprintln!("seeded {want} images in {:.1}s", t.elapsed().as_secs_f64());
    let cookie = session(&env, "security");
    let team = session(&env, "shop");
    for (who, c) in [("security", &cookie), ("team shop", &team)] {
        for path in ["/", "/hierarchy", "/hierarchy?q=team-7"] {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let r = get(&env, c, path);
                assert_eq!(r.status(), 200, "{path}");
                size = r.text().unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            // The first view after a change computes (cold); the others read the cache.
            let cold = times[0];
            let mut warm = times[1..].to_vec();
            warm.sort_by(|a, b| a.partial_cmp(b).unwrap());
            eprintln!(
                "{who:>10} GET {path:<22} cold {cold:>7.1} ms  warm median {:>7.1} ms  min {:>7.1} ms  ({} KiB)",
                warm[warm.len() / 2],
                warm[0],
                size / 1024
            );
        }
    }
}

fn clone(tx: &mut dyn Tx, scans: &[Scanned], n: usize) -> patchline_server::db::Result<()> {
    let enterprise = n % 100 == 3;
    let s = if enterprise {
        &scans[0]
    } else {
        &scans[1 + n % 2]
    };
    let digest = format!("sha256:{:064x}", 0xbeef_0000_0000u64 + n as u64);
    let reference = if enterprise {
        format!("{REGISTRY}/platform/enterprise-{n}:1")
    } else {
        format!("{REGISTRY}/team-{}/app-{n}:1.0", n % 50)
    };
    let id = store_scan(tx, s, Some(&digest), &reference);
    let mut info = s.inventory.image.clone();
    info.manifest_digest = Some(digest.parse().unwrap());
    let mut e = patchline_server::lineage::record_image(tx, &reference, id, &info)?;
    if enterprise {
        e.tier = patchline_lineage::Tier::Base;
        e.owner = Some(patchline_lineage::Owner::new("platform", None));
        e.declared_parent = Some(BASE.to_string());
    } else {
        e.owner = Some(patchline_lineage::Owner::new(
            format!("team-{}", n % 50),
            None,
        ));
        let base = (n / 100) * 100 + 3;
        e.declared_parent = Some(if base < n && s.reference == SHOP {
            format!("{REGISTRY}/platform/enterprise-{base}:1")
        } else {
            BASE.to_string()
        });
    }
    patchline_server::lineage::put_entry(tx, &e, Some(id))?;
    Ok(())
}
