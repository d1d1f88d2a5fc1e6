//! The dashboard's teams, campaigns and exceptions pages over HTTP, as a browser without
//! JavaScript uses them: a session cookie from `POST /login` with an API token, GET
//! filter forms, POST forms with the session's CSRF field.
//!
//! The store holds the real fixture scans of `api_support` (a Debian 12 base, the shop
//! app built on it with a vulnerable curl, the billing app), a catalog with teams and
//! channels (a webhook whose URL path and a Slack URL are secrets), two campaigns opened
//! by the server's own tag-move code (the base moved: shop's app then its worker, two
//! waves; billing's base moved: billing's api only) and exceptions made through the API.

mod api_support;

use std::collections::BTreeMap;

use api_support::{scans, store_scan, REGISTRY};
use patchline_server::auth::{create_token, Role};
use patchline_server::db::{now, rfc3339};
use patchline_server::serve::{start, Running, ServeOptions};

const BASE: &str = "registry.example/platform/debian:12";
const SHOP: &str = "registry.example/shop/app:1.0";
const WORKER: &str = "registry.example/shop/worker:1.0";
const BILLING: &str = "registry.example/billing/api:2.0";

const CATALOG: &str = r#"version: 1
teams:
  - name: platform
    notify:
      - email: { to: [platform@example.com] }
  - name: shop
    notify:
      - webhook: { url: "https://hooks.shop.example:8443/very-secret-path?token=s3cr3t", secret_file: /etc/patchline/shop-hook.key }
      - slack: { url_env: SHOP_SLACK_URL }
      - email: { to: [shop@example.com] }
  - name: billing
    notify:
      - email: { to: [billing@example.com] }
  - name: secops
    security: true
images:
  - reference: registry.example/platform/debian:12
    tier: base
    owner: { team: platform }
  - reference: registry.example/shop/app:1.0
    tier: application
    owner: { team: shop }
    parent: registry.example/platform/debian:12
  - reference: registry.example/shop/worker:1.0
    tier: application
    owner: { team: shop }
    parent: registry.example/shop/app:1.0
  - reference: registry.example/billing/base:1
    tier: base
    owner: { team: billing }
  - reference: registry.example/billing/api:2.0
    tier: application
    owner: { team: billing }
    parent: registry.example/billing/base:1
"#;

struct Env {
    running: Running,
    url: String,
    tokens: BTreeMap<&'static str, String>,
    ids: BTreeMap<&'static str, i64>,
    /// An open finding of the shop image (inherited from the base).
    shop_cve: String,
    /// Dropped after `running`: the server's last reference then goes in this thread.
    /// Otherwise a keep-alive connection's task can hold it when `Running` drops its
    /// runtime, and a PostgreSQL pool dropped inside the runtime panics (serve.rs).
    _server: std::sync::Arc<patchline_server::state::Server>,
    _dir: tempfile::TempDir,
}

/// `PATCHLINE_API_TEST_STORE=postgres://...` runs on that (empty) database instead of the
/// embedded store, as api_support does: one test at a time, each on a fresh database.
fn start_server(dir: &std::path::Path) -> Running {
    let mut c = api_support::config(dir);
    c.store = std::env::var("PATCHLINE_API_TEST_STORE")
        .ok()
        .filter(|s| !s.is_empty());
    start(c, ServeOptions::default()).unwrap()
}

fn seeded() -> Option<Env> {
    let scans = scans()?;
    let dir = tempfile::tempdir().unwrap();
    let running = start_server(dir.path());
    let url = running.url();
    let mut tokens = BTreeMap::new();
    let mut ids = BTreeMap::new();
    let server = running.server.clone();
    running
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            patchline_server::lineage::import_yaml(tx, CATALOG)?;
            patchline_server::notify::teams::import(tx, CATALOG)?;
            for (name, s, reference) in [
                ("base", &scans[0], BASE),
                ("shop", &scans[1], SHOP),
                ("billing", &scans[2], BILLING),
            ] {
                let id = store_scan(tx, s, None, reference);
                patchline_server::lineage::record_image(tx, reference, id, &s.inventory.image)?;
                ids.insert(name, id);
            }
            for (name, role, team) in [
                ("admin", Role::Admin, None),
                ("security", Role::Security, None),
                ("shop", Role::Team, Some("shop")),
                ("billing", Role::Team, Some("billing")),
                ("viewer", Role::Viewer, None),
            ] {
                let (_, secret) = create_token(tx, name, role, team, None, "test")?;
                tokens.insert(name, secret);
            }
            // The server's own reaction to tag moves opens the campaigns.
            let base_digest = scans[0]
                .inventory
                .image
                .manifest_digest
                .as_ref()
                .unwrap()
                .to_string();
            let new = format!("sha256:{}", "a".repeat(64));
            patchline_server::campaigns::on_tag_moved(
                tx,
                &server,
                REGISTRY,
                "platform/debian",
                "12",
                Some(&base_digest),
                &new,
            )?;
            patchline_server::campaigns::on_tag_moved(
                tx,
                &server,
                REGISTRY,
                "billing/base",
                "1",
                Some(&format!("sha256:{}", "b".repeat(64))),
                &format!("sha256:{}", "c".repeat(64)),
            )?;
            // The campaign told shop to rebuild; one delivery of it, as the worker logs it.
            let n = tx.query_i64(
                "SELECT id FROM notifications WHERE team = 'shop' AND kind = 'campaign'",
                &[],
            )?;
            tx.exec(
                "INSERT INTO deliveries (notification_id, channel, attempt, at, ok, status) VALUES (?, 'webhook#1', 1, ?, 1, 'HTTP 204')",
                patchline_server::params![n, now()],
            )?;
            Ok(())
        })
        .unwrap();
    let shop_cve = running
        .server
        .db
        .read(|tx| {
            tx.query_one(
                "SELECT vuln_id FROM findings WHERE image_id = ? AND state = 'open' ORDER BY vuln_id LIMIT 1",
                patchline_server::params![ids["shop"]],
            )
            .and_then(|r| r.string(0))
        })
        .unwrap();
    let keep = running.server.clone();
    Some(Env {
        running,
        url,
        tokens,
        ids,
        shop_cve,
        _server: keep,
        _dir: dir,
    })
}

/// A browser without JavaScript: one session cookie, no redirects followed.
struct Browser {
    client: reqwest::blocking::Client,
    url: String,
    cookie: String,
}

impl Env {
    fn login(&self, who: &str) -> Browser {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .post(format!("{}/login", self.url))
            .form(&[("token", self.tokens[who].as_str()), ("next", "/teams")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "login as {who}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        Browser {
            client,
            url: self.url.clone(),
            cookie,
        }
    }

    fn api(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.tokens[who])
            .json(&body)
            .send()
            .unwrap()
    }
}

impl Browser {
    fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            assert!(
                !csp.is_empty() && !csp.contains("unsafe-inline"),
                "{path}: CSP {csp:?}"
            );
        }
        (status, r.text().unwrap())
    }

    fn ok(&self, path: &str) -> String {
        let (s, body) = self.get(path);
        assert_eq!(s, 200, "{path}: {body}");
        // No inline script or style anywhere (the CSP would block them).
        // Kept for a look (target/tmp/web_lists/): what each page rendered last.
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_lists");
        let name: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if std::fs::create_dir_all(&out).is_ok() {
            let _ = std::fs::write(out.join(format!("{name}.html")), &body);
        }
        assert!(
            !body.contains("<script>") && !body.contains("style="),
            "{path}: inline script/style"
        );
        body
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap_or_default())
    }
}

/// The session's CSRF token, from any page's forms.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The `<tr ...>` row containing `needle`.
fn row_of<'a>(page: &'a str, needle: &str) -> &'a str {
    let at = page
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on the page"));
    let start = page[..at].rfind("<tr").unwrap();
    let end = at + page[at..].find("</tr>").unwrap();
    &page[start..end]
}

#[test]
fn teams_pages_show_images_findings_sla_and_channels_with_secrets_only_for_security() {
    let Some(env) = seeded() else { return };
    let admin = env.login("admin");
    let list = admin.ok("/teams");
    for team in ["platform", "shop", "billing", "secops"] {
        assert!(
            list.contains(&format!("data-team=\"{team}\"")),
            "{team} listed"
        );
    }
    assert!(list.contains("<th scope=\"col\">"), "semantic headers");
    assert!(list.contains("<label for=\"teams-q\">"), "labelled filter");
    // Shop owns one stored image with open findings; its campaign items are not overdue.
    let shop_row = row_of(&list, "data-team=\"shop\"");
    assert!(shop_row.contains("<td class=\"num\">1</td>"), "{shop_row}");
    assert!(
        shop_row.contains("very-secret-path"),
        "admin sees the URL: {shop_row}"
    );
    // Filter and sort links keep each other.
    let filtered = admin.ok("/teams?q=sho");
    assert!(filtered.contains("data-team=\"shop\"") && !filtered.contains("data-team=\"billing\""));
    assert!(
        filtered.contains("href=\"/teams?q=sho&amp;sort=images&amp;dir=asc\""),
        "sort link keeps the filter"
    );
    let sorted = admin.ok("/teams?sort=name&dir=desc&per=1");
    assert!(
        sorted.contains("data-team=\"shop\"") && !sorted.contains("data-team=\"billing\""),
        "first by name descending"
    );
    assert!(
        sorted.contains("rel=\"next\" href=\"/teams?sort=name&amp;dir=desc&amp;page=2&amp;per=1\""),
        "pager"
    );

    let page = admin.ok("/teams/shop");
    assert!(
        page.contains(&format!("href=\"/images/{}\"", env.ids["shop"])),
        "its image"
    );
    assert!(
        page.contains(&format!("data-cve=\"{}\"", env.shop_cve)),
        "its open findings"
    );
    assert!(
        page.contains("href=\"/campaigns/1\""),
        "the campaign it must act in"
    );
    assert!(page.contains("id=\"deliveries\"") && page.contains("id=\"channels\""));
    let delivery = row_of(
        &page[page.find("id=\"deliveries\"").unwrap()..],
        "webhook#1</td>",
    );
    assert!(
        delivery.contains("campaign") && delivery.contains("sent: HTTP 204"),
        "{delivery}"
    );
    assert!(page.contains("/etc/patchline/shop-hook.key") && page.contains("SHOP_SLACK_URL"));

    // A viewer and a team token see where a channel goes, never its secret parts.
    for who in ["viewer", "shop"] {
        let b = env.login(who);
        for path in ["/teams", "/teams/shop"] {
            let body = b.ok(path);
            assert!(
                body.contains("https://hooks.shop.example:8443"),
                "{who} {path}: host shown"
            );
            for secret in [
                "very-secret-path",
                "s3cr3t",
                "shop-hook.key",
                "SHOP_SLACK_URL",
            ] {
                assert!(!body.contains(secret), "{who} {path}: {secret} shown");
            }
        }
    }

    // A team token sees its own team only.
    let shop = env.login("shop");
    let list = shop.ok("/teams");
    assert!(list.contains("data-team=\"shop\"") && !list.contains("data-team=\"billing\""));
    assert_eq!(shop.get("/teams/billing").0, 404);
    assert_eq!(shop.get("/teams/no-such-team").0, 404);
    assert_eq!(admin.get("/teams/no-such-team").0, 404);
}

#[test]
fn campaign_pages_show_waves_blockers_and_scope() {
    let Some(env) = seeded() else { return };
    let admin = env.login("admin");
    let list = admin.ok("/campaigns");
    assert!(
        list.contains("data-campaign=\"1\"") && list.contains("data-campaign=\"2\""),
        "{list}"
    );
    assert!(list.contains("<label for=\"campaigns-state\">"));
    // Filters and sorting.
    let closed = admin.ok("/campaigns?state=closed");
    assert!(!closed.contains("data-campaign=\"1\""));
    let sorted = admin.ok("/campaigns?state=all&sort=id&dir=asc&per=1");
    assert!(sorted.contains("data-campaign=\"1\"") && !sorted.contains("data-campaign=\"2\""));
    assert!(
        sorted
            .contains("href=\"/campaigns?state=all&amp;sort=id&amp;dir=asc&amp;page=2&amp;per=1\""),
        "pager keeps filters: {sorted}"
    );
    let searched = admin.ok("/campaigns?q=billing");
    assert!(searched.contains("data-campaign=\"2\"") && !searched.contains("data-campaign=\"1\""));
    assert_eq!(admin.get("/campaigns?state=bogus").0, 400);

    let one = admin.ok("/campaigns/1");
    assert!(one.contains("Parent tag moved"), "trigger");
    assert!(
        one.contains(&format!("data-ref=\"{SHOP}\" data-state=\"to-rebuild\"")),
        "{one}"
    );
    assert!(
        one.contains(&format!("data-ref=\"{WORKER}\" data-state=\"waiting\"")),
        "{one}"
    );
    let worker = row_of(&one, &format!("data-ref=\"{WORKER}\""));
    assert!(
        worker.contains(&format!("blocked by {SHOP} (shop, to-rebuild)")),
        "{worker}"
    );
    assert!(
        one.contains(&format!("{SHOP} blocks {WORKER} (shop)")),
        "blocking section"
    );
    assert!(
        one.find("Wave 1").unwrap() < one.find("Wave 2").unwrap(),
        "waves in order"
    );
    assert!(one.contains("Due (SLA)"));

    // Team scoping: billing's campaign is absent for shop and 404 by URL.
    let shop = env.login("shop");
    let list = shop.ok("/campaigns?state=all");
    assert!(
        list.contains("data-campaign=\"1\"") && !list.contains("data-campaign=\"2\""),
        "{list}"
    );
    assert_eq!(shop.get("/campaigns/2").0, 404);
    assert_eq!(shop.get("/campaigns/999").0, 404);
    let billing = env.login("billing");
    let list = billing.ok("/campaigns");
    assert!(list.contains("data-campaign=\"2\"") && !list.contains("data-campaign=\"1\""));
    assert!(!billing.ok("/campaigns/2").contains(SHOP));
}

#[test]
fn exceptions_page_lists_states_and_decides_through_forms_with_csrf() {
    let Some(env) = seeded() else { return };
    let day = |d: i64| rfc3339(now() + d * 86_400)[..10].to_string();
    // shop asks for its CVE (pending); security approves one for billing that matches
    // nothing and ends in 5 days (expiring, unused).
    let r = env.api(
        "shop",
        reqwest::Method::POST,
        "/api/v1/exceptions",
        serde_json::json!({"exception": {"id": env.shop_cve, "images": [SHOP], "reason": "not reachable", "expires": day(60)}}),
    );
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let r = env.api(
        "security",
        reqwest::Method::POST,
        "/api/v1/exceptions",
        serde_json::json!({"team": "billing", "exception": {"id": "CVE-1999-0001", "images": [BILLING], "reason": "vendor says so", "expires": day(5)}}),
    );
    assert_eq!(r.status(), 201);
    let r = env.api(
        "security",
        reqwest::Method::POST,
        "/api/v1/exceptions/2/approve",
        serde_json::json!({}),
    );
    assert_eq!(r.status(), 200);

    let security = env.login("security");
    let page = security.ok("/exceptions");
    assert!(
        page.contains("data-exception=\"1\" data-status=\"pending\""),
        "{page}"
    );
    assert!(page.contains("data-exception=\"2\" data-status=\"expiring\""));
    assert!(row_of(&page, "data-exception=\"2\"").contains("unused"));
    assert!(page.contains("id=\"policy-verdicts\""));
    for id in [
        "exceptions-status",
        "exceptions-team",
        "exceptions-q",
        "req-id",
        "req-images",
        "req-reason",
        "req-expires",
    ] {
        assert!(
            page.contains(&format!("<label for=\"{id}\">")),
            "label for {id}"
        );
    }
    for (q, has, hasnt) in [
        ("status=pending", "1", "2"),
        ("status=unused", "2", "1"),
        ("status=expiring", "2", "1"),
        ("team=shop", "1", "2"),
    ] {
        let p = security.ok(&format!("/exceptions?{q}"));
        assert!(p.contains(&format!("data-exception=\"{has}\"")), "{q}");
        assert!(!p.contains(&format!("data-exception=\"{hasnt}\"")), "{q}");
    }
    let sorted = security.ok("/exceptions?sort=id&dir=desc&per=1");
    assert!(sorted.contains("data-exception=\"2\"") && !sorted.contains("data-exception=\"1\""));
    assert!(sorted.contains("rel=\"next\""));

    // A team sees its own only; its and a viewer's approve is refused.
    let shop = env.login("shop");
    let mine = shop.ok("/exceptions");
    assert!(mine.contains("data-exception=\"1\"") && !mine.contains("data-exception=\"2\""));
    assert!(
        !mine.contains("value=\"approve\""),
        "no approve button for a team"
    );
    let token = csrf(&mine);
    assert_eq!(
        shop.post(
            "/exceptions/1/decide",
            &[("csrf", &token), ("action", "approve")]
        )
        .0,
        403
    );
    let viewer = env.login("viewer");
    let vt = csrf(&viewer.ok("/exceptions"));
    assert_eq!(
        viewer
            .post(
                "/exceptions/1/decide",
                &[("csrf", &vt), ("action", "approve")]
            )
            .0,
        403
    );

    // Without the session's CSRF token the form is refused, and nothing changes.
    assert_eq!(
        security
            .post("/exceptions/1/decide", &[("action", "approve")])
            .0,
        403
    );
    assert_eq!(
        security
            .post(
                "/exceptions/1/decide",
                &[("csrf", "forged"), ("action", "approve")]
            )
            .0,
        403
    );
    assert!(security
        .ok("/exceptions")
        .contains("data-exception=\"1\" data-status=\"pending\""));

    // With it, approval goes through the API's code: state and audit row.
    let token = csrf(&page);
    assert!(page.contains("action=\"/exceptions/1/decide\""));
    let (status, _) = security.post(
        "/exceptions/1/decide",
        &[
            ("csrf", &token),
            ("action", "approve"),
            ("back", "/exceptions?status=active"),
        ],
    );
    assert_eq!(status, 303);
    let page = security.ok("/exceptions?status=active");
    assert!(
        page.contains("data-exception=\"1\" data-status=\"active\""),
        "{page}"
    );
    assert!(
        !row_of(&page, "data-exception=\"1\"").contains("unused"),
        "it matches the shop finding"
    );
    let audit: (String, String) = env
        .running
        .server
        .db
        .read(|tx| {
            let r = tx.query_one(
                "SELECT actor, action FROM audit_log WHERE subject = 'exception:1' ORDER BY id DESC LIMIT 1",
                &[],
            )?;
            Ok::<_, patchline_server::db::DbError>((r.string(0)?, r.string(1)?))
        })
        .unwrap();
    assert_eq!(audit.1, "exception.approve");
    assert!(audit.0.contains("security"), "{audit:?}");
    // Deciding twice is a conflict, as in the API.
    assert_eq!(
        security
            .post(
                "/exceptions/1/decide",
                &[("csrf", &token), ("action", "approve")]
            )
            .0,
        409
    );

    // The team revokes its own from the page; requests one through the form.
    let token = csrf(&shop.ok("/exceptions"));
    assert_eq!(
        shop.post(
            "/exceptions/1/decide",
            &[("csrf", &token), ("action", "revoke")]
        )
        .0,
        303
    );
    assert!(shop
        .ok("/exceptions?status=revoked")
        .contains("data-exception=\"1\""));
    let expires = day(30);
    let (s, body) = shop.post(
        "/exceptions",
        &[
            ("csrf", &token),
            ("id", &env.shop_cve),
            ("images", SHOP),
            ("reason", "again"),
            ("expires", &expires),
        ],
    );
    assert_eq!(s, 303, "{body}");
    assert!(shop
        .ok("/exceptions?status=pending")
        .contains("data-exception=\"3\""));
    // Not for another team's image.
    let (s, _) = shop.post(
        "/exceptions",
        &[
            ("csrf", &token),
            ("id", "CVE-1999-0002"),
            ("images", BILLING),
            ("reason", "x"),
            ("expires", &expires),
        ],
    );
    assert_eq!(s, 403);

    // A wildcard exception is used when any open finding matches it, and unused when
    // none does (read a chunk at a time).
    for (id, pattern) in [(4, "CVE-2024-*"), (5, "CVE-1998-*")] {
        let r = env.api(
            "security",
            reqwest::Method::POST,
            "/api/v1/exceptions",
            serde_json::json!({"team": "shop", "exception": {"id": pattern, "images": [SHOP], "reason": "r", "expires": day(60)}}),
        );
        assert_eq!(r.status(), 201);
        let r = env.api(
            "security",
            reqwest::Method::POST,
            &format!("/api/v1/exceptions/{id}/approve"),
            serde_json::json!({}),
        );
        assert_eq!(r.status(), 200);
    }
    let unused = security.ok("/exceptions?status=unused");
    assert!(
        unused.contains("data-exception=\"5\"") && !unused.contains("data-exception=\"4\""),
        "{unused}"
    );
}

/// The pages at the issue's scale: 10,000 catalogued images of 100 teams, two open
/// findings each, one open campaign of 99 items; each page's time is printed (the issue
/// asks ≤ 200 ms server-side in a release build; this debug-build test only catches a
/// page that grows with the store far past that).
#[test]
#[ignore = "a measurement at the issue's scale (~1 min): cargo test -p patchline-server --test web_lists -- --ignored --nocapture"]
fn pages_stay_fast_at_10000_images() {
    use std::fmt::Write;
    use std::time::Instant;

    let dir = tempfile::tempdir().unwrap();
    let running = start_server(dir.path());
    let mut yaml = String::from("version: 1\nimages:\n");
    for t in 0..100 {
        let base = format!("registry.example/t{t:03}/base:1");
        writeln!(
            yaml,
            "  - reference: {base}\n    tier: base\n    owner: {{ team: t{t:03} }}"
        )
        .unwrap();
        for a in 1..100 {
            writeln!(
                yaml,
                "  - reference: registry.example/t{t:03}/app{a:02}:1\n    tier: application\n    owner: {{ team: t{t:03} }}\n    parent: {base}"
            )
            .unwrap();
        }
    }
    let server = running.server.clone();
    let mut tokens = BTreeMap::new();
    let started = Instant::now();
    running
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            patchline_server::lineage::import_yaml(tx, &yaml)?;
            let refs: Vec<String> = tx
                .query("SELECT reference FROM catalog_entries", &[])?
                .iter()
                .map(|r| r.string(0))
                .collect::<patchline_server::db::Result<_>>()?;
            for (n, reference) in refs.iter().enumerate() {
                let (repo, _) = reference.rsplit_once(':').unwrap();
                let key = patchline_server::store::ImageKey {
                    digest: format!("sha256:{n:064x}"),
                    registry: REGISTRY.into(),
                    repository: repo.split_once('/').unwrap().1.into(),
                    reference: reference.clone(),
                    source: "registry".into(),
                };
                let id = patchline_server::store::upsert_image(tx, &key)?;
                tx.exec(
                    "UPDATE catalog_entries SET image_id = ? WHERE reference = ?",
                    patchline_server::params![id, reference],
                )?;
                for (vuln, sev, kev) in [("CVE-2024-0001", "critical", 1), ("CVE-2024-0002", "high", 0)] {
                    tx.exec(
                        "INSERT INTO findings (image_id, vuln_id, ecosystem, package, version, severity, kev, state, first_seen, last_seen)
                         VALUES (?, ?, 'Debian:12', 'curl', '7.88.1', ?, ?, 'open', ?, ?)",
                        patchline_server::params![id, vuln, sev, kev, now() - 30 * 86_400, now()],
                    )?;
                }
            }
            patchline_server::campaigns::on_tag_moved(
                tx,
                &server,
                REGISTRY,
                "t000/base",
                "1",
                Some(&format!("sha256:{:064x}", 0)),
                &format!("sha256:{}", "e".repeat(64)),
            )?;
            for (name, role, team) in [("admin", Role::Admin, None), ("t000", Role::Team, Some("t000"))] {
                let (_, secret) = create_token(tx, name, role, team, None, "test")?;
                tokens.insert(name, secret);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("seeded 10,000 images in {:?}", started.elapsed());
    let env = Env {
        _server: running.server.clone(),
        url: running.url(),
        running,
        tokens,
        ids: BTreeMap::new(),
        shop_cve: String::new(),
        _dir: dir,
    };
    for who in ["admin", "t000"] {
        let b = env.login(who);
        for path in [
            "/teams",
            "/teams/t000",
            "/campaigns",
            "/campaigns/1",
            "/exceptions",
        ] {
            b.ok(path);
            let t = Instant::now();
            let body = b.ok(path);
            let took = t.elapsed();
            eprintln!("{who:>5} {path:<14} {took:?}");
            assert!(body.contains("</main>"));
            assert!(took.as_secs() < 5, "{who} {path}: {took:?}");
            if path == "/teams/t000" {
                assert_eq!(
                    body.matches("<li><a href=\"/images/").count(),
                    100,
                    "its 100 images"
                );
                assert!(
                    body.contains("past SLA"),
                    "30-day-old critical findings are past SLA"
                );
            }
            if path == "/campaigns/1" {
                assert_eq!(
                    body.matches("data-state=\"to-rebuild\"").count(),
                    99,
                    "99 apps in wave 1"
                );
            }
        }
    }
}
