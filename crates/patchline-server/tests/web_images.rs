//! The dashboard's image and CVE pages over HTTP, logged in through `POST /login` like a
//! browser, on a server holding real scans: the fixture images `base` (Debian 12),
//! `child` (built on it, with a vulnerable curl from bookworm-security) and `app-lang`,
//! scanned against the Debian security tracker feed of the CLI's tests and catalogued
//! as platform's base, shop's application and billing's application (tests/api_support).
//!
//! No feed in the test data marks one of these images' CVEs as known exploited, so the
//! shop image is scanned again with one real curl finding carrying a KEV entry (as
//! tests/trusted_api.rs does): the KEV filters need one.

mod api_support;

use std::sync::OnceLock;

use api_support::*;
use patchline_server::db::now;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, SET_COOKIE};
use reqwest::redirect::Policy;

const EVIL: &str = "registry.example/evil/x\"><script>alert(1)</script>:1";
const EVIL_DIGEST: &str =
    "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

struct Ctx {
    env: Env,
    /// Image row ids: base, shop, billing.
    ids: std::collections::BTreeMap<&'static str, i64>,
    /// The curl CVE marked KEV (the shop image's own).
    kev_cve: String,
    /// A CVE of the base that the shop image inherits.
    inherited_cve: String,
    campaign: Option<i64>,
}

fn ctx() -> Option<&'static Ctx> {
    static CTX: OnceLock<Option<Ctx>> = OnceLock::new();
    CTX.get_or_init(|| {
        let env = seeded()?;
        let scans = scans()?;
        let (base, child) = (&scans[0], &scans[1]);
        let kev_cve = child
            .report
            .findings
            .iter()
            .find(|f| f.package.name.contains("curl") && !f.fixed_versions.is_empty())
            .expect("the child's curl has a fixed finding")
            .id
            .clone();
        let inherited_cve = base
            .report
            .findings
            .iter()
            .map(|f| f.id.clone())
            .find(|id| child.report.findings.iter().any(|c| &c.id == id))
            .expect("the child inherits a finding of the base");
        let server = env.running.server.clone();
        let (ids, campaign) = env
            .running
            .server
            .db
            .tx(|tx| -> patchline_server::db::Result<_> {
                let mut ids = std::collections::BTreeMap::new();
                for (name, r) in [("base", BASE), ("shop", SHOP), ("billing", BILLING)] {
                    ids.insert(
                        name,
                        tx.query_i64(
                            "SELECT image_id FROM catalog_entries WHERE reference = ?",
                            patchline_server::params![r],
                        )?,
                    );
                }
                let mut report = child.report.clone();
                for f in report.findings.iter_mut().filter(|f| f.id == kev_cve) {
                    f.kev = Some(patchline_model::vuln::Kev {
                        date_added: "2024-03-27".into(),
                        due_date: None,
                        known_ransomware_campaign_use: Some("Unknown".into()),
                    });
                }
                patchline_server::store::record_scan(tx, ids["shop"], "rescan", now(), &report)?;
                // An image whose reference is hostile markup (stored, not catalogued).
                store_scan(tx, base, Some(EVIL_DIGEST), EVIL);
                let campaign =
                    patchline_server::campaigns::open_for_cve(tx, &server, &inherited_cve)?;
                Ok((ids, campaign))
            })
            .unwrap();
        Some(Ctx {
            env,
            ids,
            kev_cve,
            inherited_cve,
            campaign,
        })
    })
    .as_ref()
}

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The session cookie of `who`'s token, as a browser gets it.
fn login(c: &Ctx, who: &str) -> String {
    static COOKIES: OnceLock<std::sync::Mutex<std::collections::BTreeMap<String, String>>> =
        OnceLock::new();
    let m = COOKIES.get_or_init(Default::default);
    if let Some(k) = m.lock().unwrap().get(who) {
        return k.clone();
    }
    let r = client()
        .post(format!("{}/login", c.env.url))
        .form(&[("token", c.env.tokens[who].as_str()), ("next", "/images")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "login as {who}");
    let cookie = r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    m.lock().unwrap().insert(who.into(), cookie.clone());
    cookie
}

struct Page {
    status: u16,
    body: String,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

fn get(c: &Ctx, who: &str, path: &str) -> Page {
    let r = client()
        .get(format!("{}{path}", c.env.url))
        .header("cookie", login(c, who))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().unwrap().to_vec();
    Page {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        headers,
        bytes,
    }
}

fn ok(c: &Ctx, who: &str, path: &str) -> String {
    let p = get(c, who, path);
    assert_eq!(p.status, 200, "GET {path} as {who}: {}", p.body);
    assert!(
        p.headers.contains_key(CONTENT_SECURITY_POLICY),
        "{path}: no CSP"
    );
    assert!(
        !p.body.contains(" style=") && !p.body.contains(" onclick="),
        "{path}: inline style or handler"
    );
    p.body
}

/// The `<tr ...>...</tr>` starting at the first occurrence of `marker`.
fn row<'a>(body: &'a str, marker: &str) -> &'a str {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let start = body[..at].rfind("<tr").unwrap();
    let end = at + body[at..].find("</tr>").unwrap();
    &body[start..end]
}

#[test]
fn images_list_filters_sorts_and_pages() {
    let Some(c) = ctx() else { return };
    let all = ok(c, "admin", "/images");
    for r in [BASE, SHOP, BILLING] {
        assert!(all.contains(r), "{r} missing from the list");
    }
    assert!(all.contains(&format!("href=\"/images/{}\"", c.ids["shop"])));
    assert!(all.contains("<th scope=\"col\">"), "semantic headers");
    assert!(all.contains("<label for=\"f-q\">"), "labelled filters");
    // Sort links keep the filters and toggle the direction.
    let filtered = ok(c, "admin", "/images?team=shop&sort=reference");
    assert!(
        filtered.contains("href=\"/images?team=shop&amp;sort=reference&amp;dir=desc\""),
        "{filtered}"
    );
    assert!(filtered.contains("href=\"/images?team=shop&amp;sort=tier&amp;dir=asc\""));
    assert!(filtered.contains(SHOP) && !filtered.contains(BILLING) && !filtered.contains(BASE));
    let base_only = ok(c, "admin", "/images?tier=base");
    assert!(base_only.contains(BASE) && !base_only.contains(SHOP));
    let q = ok(c, "admin", "/images?q=BILLING%2Fapi");
    assert!(q.contains(BILLING) && !q.contains(SHOP));
    // KEV: only the shop image has an open KEV finding.
    let kev = ok(c, "admin", "/images?kev=1");
    assert!(kev.contains(SHOP) && !kev.contains(BASE) && !kev.contains(BILLING));
    // Default: the worst first (shop has the base's findings and its own curl's).
    let pos = |body: &str, r: &str| body.find(r).unwrap();
    assert!(pos(&all, SHOP) < pos(&all, BASE), "worst first: {all}");
    let desc = ok(c, "admin", "/images?sort=reference&dir=desc");
    assert!(pos(&desc, SHOP) < pos(&desc, BILLING));
    let asc = ok(c, "admin", "/images?sort=reference");
    assert!(pos(&asc, BILLING) < pos(&asc, SHOP));
    // Pages: one image per page.
    let p1 = ok(c, "admin", "/images?sort=reference&per=1");
    assert!(p1.contains("Page 1 of 4"), "{p1}");
    assert!(
        p1.contains("rel=\"next\" href=\"/images?sort=reference&amp;page=2&amp;per=1\""),
        "{p1}"
    );
    let p2 = ok(c, "admin", "/images?sort=reference&per=1&page=2");
    assert!(p2.contains("rel=\"prev\"") && p2.contains("Page 2 of 4"));
    // A bad severity is a 400, not a crash.
    assert_eq!(get(c, "admin", "/images?severity=urgent").status, 400);
}

#[test]
fn image_page_shows_layers_packages_findings_plan() {
    let Some(c) = ctx() else { return };
    let shop = c.ids["shop"];
    let page = ok(c, "admin", &format!("/images/{shop}"));
    for id in [
        "id=\"layers\"",
        "id=\"packages\"",
        "id=\"findings\"",
        "id=\"plan\"",
    ] {
        assert!(page.contains(id), "{id} missing");
    }
    // Header: digest, owner, parent linked.
    let digest = &c.env.digests["shop"];
    assert!(page.contains(digest.as_str()));
    assert!(page.contains(&format!("<a href=\"/images/{}\">{BASE}</a>", c.ids["base"])));
    assert!(page.contains("shop"));
    // Layers: the base's layer comes from the base; the child's own from itself, with
    // what it installed (curl among them).
    assert!(page.contains("<details>"));
    let layers = &page[page.find("id=\"layers\"").unwrap()..page.find("id=\"packages\"").unwrap()];
    assert!(
        layers.contains("this image") && layers.contains(BASE),
        "{layers}"
    );
    assert!(layers.contains("curl 7.88.1-10+deb12u5"), "{layers}");
    // Packages: filterable.
    let pk = ok(c, "admin", &format!("/images/{shop}?pkg=libcurl"));
    let pk = &pk[pk.find("id=\"packages\"").unwrap()..pk.find("id=\"findings\"").unwrap()];
    assert!(
        pk.contains("libcurl4") && !pk.contains(">coreutils<"),
        "{pk}"
    );
    // Findings: the KEV curl CVE is fixed in this image by its owner; the inherited one
    // belongs to the base, owned by platform.
    let own = row(&page, &format!("data-cve=\"{}\"", c.kev_cve));
    assert!(own.contains("this image") && own.contains("shop"), "{own}");
    assert!(
        own.contains("class=\"kev\"") && own.contains("sev sev-"),
        "{own}"
    );
    assert!(own.contains("7.88.1-10+deb12u"), "fixed version: {own}");
    let inherited = row(&page, &format!("data-cve=\"{}\"", c.inherited_cve));
    assert!(
        inherited.contains(&format!("<a href=\"/images/{}\">{BASE}</a>", c.ids["base"]))
            && inherited.contains("platform"),
        "{inherited}"
    );
    // The KEV filter keeps the KEV CVE only.
    let kev = ok(c, "admin", &format!("/images/{shop}?kev=1"));
    assert!(kev.contains(&format!("data-cve=\"{}\"", c.kev_cve)));
    assert!(!kev.contains(&format!("data-cve=\"{}\"", c.inherited_cve)));
    // A severity filter keeps that severity only.
    let sev = ok(c, "admin", &format!("/images/{shop}?severity=low"));
    let rows = sev.matches("<tr data-cve=").count();
    assert_eq!(rows, sev.matches("class=\"sev-row-low\"").count());
    // Resolved findings: none yet.
    let resolved = ok(c, "admin", &format!("/images/{shop}?state=resolved"));
    assert!(resolved.contains("No finding matches these filters."));
    // The plan: the KEV CVE is the most urgent, fixed here.
    let plan = &page[page.find("id=\"plan\"").unwrap()..];
    assert!(
        plan.contains(&c.kev_cve) && plan.contains("fix here"),
        "{plan}"
    );
    assert!(plan.contains(SHOP), "{plan}");
    // An unknown image.
    assert_eq!(get(c, "admin", "/images/999999").status, 404);
    assert_eq!(get(c, "admin", "/images/x").status, 404);
}

#[test]
fn downloads_are_real_documents() {
    let Some(c) = ctx() else { return };
    let shop = c.ids["shop"];
    let fetch = |fmt: &str| -> serde_json::Value {
        let p = get(c, "admin", &format!("/images/{shop}/download/{fmt}"));
        assert_eq!(p.status, 200, "{fmt}: {}", p.body);
        let cd = p.headers[CONTENT_DISPOSITION].to_str().unwrap().to_string();
        assert!(
            cd.starts_with("attachment; filename=\"app_1.0-"),
            "{fmt}: {cd}"
        );
        serde_json::from_slice(&p.bytes).unwrap_or_else(|e| panic!("{fmt}: {e}"))
    };
    let cdx = fetch("cyclonedx");
    assert_eq!(cdx["bomFormat"], "CycloneDX");
    let comps = cdx["components"].as_array().unwrap();
    assert!(
        comps.iter().any(|c| c["name"] == "curl"),
        "curl in the SBOM"
    );
    let spdx = fetch("spdx");
    assert!(spdx["spdxVersion"].as_str().unwrap().starts_with("SPDX-2"));
    assert!(!spdx["packages"].as_array().unwrap().is_empty());
    let sarif = fetch("sarif");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == c.kev_cve.as_str()),
        "{sarif}"
    );
    let json = fetch("json");
    let findings = json["findings"].as_array().unwrap();
    // Risk order: the KEV finding first.
    assert_eq!(findings[0]["id"], c.kev_cve.as_str());
    assert_eq!(
        get(c, "admin", &format!("/images/{shop}/download/pdf")).status,
        404
    );
}

#[test]
fn cve_pages_group_by_root_with_owner_and_campaign() {
    let Some(c) = ctx() else { return };
    let list = ok(c, "admin", "/cves");
    assert!(list.contains(&format!("data-cve=\"{}\"", c.kev_cve)));
    assert!(list.contains(&format!("data-cve=\"{}\"", c.inherited_cve)));
    let kev = ok(c, "admin", "/cves?kev=1");
    assert!(kev.contains(&format!("data-cve=\"{}\"", c.kev_cve)));
    assert!(!kev.contains(&format!("data-cve=\"{}\"", c.inherited_cve)));
    let q = ok(c, "admin", &format!("/cves?q={}", c.kev_cve.to_lowercase()));
    assert!(q.contains(&c.kev_cve) && !q.contains(&format!("data-cve=\"{}\"", c.inherited_cve)));
    assert!(list.contains("sort=images"), "sortable");

    // The inherited CVE: one root, the base, owned by platform; the shop image under it.
    let page = ok(c, "admin", &format!("/cves/{}", c.inherited_cve));
    let start = page
        .find(&format!("<section class=\"root\" data-root=\"{BASE}\""))
        .unwrap_or_else(|| panic!("no root section for the base: {page}"));
    let section = &page[start..start + page[start..].find("</section>").unwrap()];
    assert!(section.contains("href=\"/teams/platform\""), "{section}");
    assert!(section.contains(SHOP), "{section}");
    if let Some(id) = c.campaign {
        assert!(
            section.contains(&format!("href=\"/campaigns/{id}\"")) && section.contains("open"),
            "{section}"
        );
    }
    // The curl CVE: fixed in the shop image itself, by shop.
    let page = ok(c, "admin", &format!("/cves/{}", c.kev_cve));
    let start = page
        .find(&format!("<section class=\"root\" data-root=\"{SHOP}\""))
        .unwrap_or_else(|| panic!("no root section for shop: {page}"));
    let section = &page[start..];
    assert!(section.contains("href=\"/teams/shop\""), "{section}");
    assert!(!page.contains(&format!("data-root=\"{BASE}\"")));
    assert_eq!(get(c, "admin", "/cves/CVE-1999-0000").status, 404);
    assert_eq!(get(c, "admin", "/cves/%3Cscript%3E").status, 404);
}

#[test]
fn another_team_sees_neither_the_image_nor_its_cves() {
    let Some(c) = ctx() else { return };
    let shop = c.ids["shop"];
    assert_eq!(get(c, "billing", &format!("/images/{shop}")).status, 404);
    assert_eq!(
        get(c, "billing", &format!("/images/{shop}/download/cyclonedx")).status,
        404
    );
    let list = ok(c, "billing", "/images");
    assert!(list.contains(BILLING) && !list.contains(SHOP), "{list}");
    let cves = ok(c, "billing", "/cves");
    assert!(!cves.contains(&format!("data-cve=\"{}\"", c.kev_cve)));
    assert_eq!(
        get(c, "billing", &format!("/cves/{}", c.kev_cve)).status,
        404
    );
    // The shop team sees its image and the base it is built on, not billing's.
    ok(c, "shop", &format!("/images/{}", c.ids["base"]));
    let list = ok(c, "shop", "/images");
    assert!(list.contains(SHOP) && list.contains(BASE) && !list.contains(BILLING));
    // The scanner's token reads nothing.
    assert_eq!(get(c, "scanner", "/images").status, 403);
    // Logged out: to the login page.
    let r = client()
        .get(format!("{}/images/{shop}", c.env.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[test]
fn hostile_references_are_escaped() {
    let Some(c) = ctx() else { return };
    let page = ok(c, "admin", "/images?q=evil");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(
        page.contains("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;:1"),
        "{page}"
    );
    let id = c
        .env
        .running
        .server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT id FROM images WHERE digest = ?",
                patchline_server::params![EVIL_DIGEST],
            )
        })
        .unwrap();
    let page = ok(c, "admin", &format!("/images/{id}"));
    assert!(!page.contains("<script>alert(1)"));
    let p = get(c, "admin", &format!("/images/{id}/download/sarif"));
    let cd = p.headers[CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        !cd.contains('<') && !cd[22..cd.len() - 1].contains('"'),
        "{cd}"
    );
}

/// Render times of the lists at 10,000 images (a measurement, not a timed test: it
/// prints and asserts only that the pages answer). The seeded images are cloned in SQL
/// (rows, findings, catalog entries spread over 50 teams) under new digests.
///
/// ```text
/// PATCHLINE_FIXTURES=DIR cargo test -p patchline-server --test web_images -- --ignored --nocapture
/// ```
#[test]
#[ignore = "measurement: a minute; run with --ignored --nocapture"]
fn render_times_at_ten_thousand_images() {
    use patchline_server::params;
    let Some(env) = seeded() else { return };
    let want: usize = std::env::var("PATCHLINE_LOAD_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let db = &env.running.server.db;
    let templates: Vec<(i64, String)> = db
        .read(|tx| -> patchline_server::db::Result<Vec<(i64, String)>> {
            tx.query(
                "SELECT image_id, reference FROM catalog_entries WHERE image_id IS NOT NULL ORDER BY image_id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.string(1)?)))
            .collect()
        })
        .unwrap();
    let t = std::time::Instant::now();
    for chunk in (templates.len()..want).collect::<Vec<_>>().chunks(500) {
        db.tx(|tx| -> patchline_server::db::Result<()> {
            for &n in chunk {
                let (template, reference) = &templates[n % templates.len()];
                let digest = format!("sha256:{:064x}", 0xbeef_0000_0000u64 + n as u64);
                let new_ref = format!("{}-{n}", reference);
                let id = tx.query_i64(
                    "INSERT INTO images (digest, registry, repository, reference, config_digest, created, first_seen,
                                         last_scanned_at, scan_status, source)
                     SELECT ?, registry, repository, ?, config_digest, created, first_seen, last_scanned_at - ?,
                            scan_status, source FROM images WHERE id = ? RETURNING id",
                    params![&digest, &new_ref, n as i64, *template],
                )?;
                tx.exec(
                    "INSERT INTO findings (image_id, vuln_id, aliases, ecosystem, package, version, severity, cvss, kev,
                                           epss, fix_state, fixed_version, layer_diff_id, summary, state, first_seen,
                                           last_seen, doc)
                     SELECT ?, vuln_id, aliases, ecosystem, package, version,
                            CASE WHEN ? = 0 AND severity = 'low' THEN 'high' ELSE severity END, cvss, kev,
                            epss, fix_state, fixed_version, layer_diff_id, summary, state, first_seen, last_seen, doc
                     FROM findings WHERE image_id = ?",
                    params![id, (n % 7) as i64, *template],
                )?;
                let mut entry = patchline_server::lineage::get_entry(tx, reference)?.unwrap();
                entry.reference = new_ref.clone();
                entry.owner = Some(patchline_lineage::Owner::new(format!("team-{}", n % 50), None));
                patchline_server::lineage::put_entry(tx, &entry, Some(id))?;
            }
            Ok(())
        })
        .unwrap();
    }
    let (images, findings) = db
        .read(|tx| -> patchline_server::db::Result<(i64, i64)> {
            Ok((
                tx.query_i64("SELECT COUNT(*) FROM images", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM findings WHERE state = 'open'", &[])?,
            ))
        })
        .unwrap();
    eprintln!(
        "seeded {images} images, {findings} open findings in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let cookie = {
        let r = client()
            .post(format!("{}/login", env.url))
            .form(&[("token", env.tokens["admin"].as_str())])
            .send()
            .unwrap();
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let shop = db
        .read(|tx| {
            tx.query_i64(
                "SELECT image_id FROM catalog_entries WHERE reference = ?",
                params![SHOP],
            )
        })
        .unwrap();
    let cve = scans().unwrap()[1].report.findings[0].id.clone();
    for path in [
        "/images".to_string(),
        "/images?sort=team".into(),
        "/images?sort=reference&page=100".into(),
        "/images?team=team-7".into(),
        "/images?q=shop&kev=1".into(),
        "/images?severity=high".into(),
        "/cves".into(),
        "/cves?sort=images".into(),
        format!("/images/{shop}"),
        format!("/cves/{cve}"),
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let r = client()
                .get(format!("{}{path}", env.url))
                .header("cookie", &cookie)
                .send()
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let body = r.text().unwrap();
            assert!(body.contains("</table>"), "{path}");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        eprintln!(
            "GET {path}: median {:.0} ms (min {:.0}, max {:.0})",
            times[2], times[0], times[4]
        );
    }
}
