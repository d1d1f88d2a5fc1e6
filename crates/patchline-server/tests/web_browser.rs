//! The dashboard in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, fantoccini) against the example organisation
//! (`patchline_test_support::example`: the fixture hierarchy and the vulnerable curl image
//! pushed to a real `docker-registry`, real feeds, every image scanned, a campaign open).
//!
//! - `login_session_and_forged_forms`: the login form (`input#token`), bad tokens refused,
//!   the session cookie (HttpOnly, SameSite), no open redirect, and forms without the
//!   session's CSRF token refused (the logout form, the one form every page carries).
//! - `walkthrough_of_the_example_organisation`: log in, the overview, a node of the
//!   hierarchy graph followed to its image page, findings filtered to KEV, a CVE page
//!   (affected images grouped by the root that must be fixed, with its owner), the
//!   CycloneDX download validated against the official schema; a logged-out browser sent to
//!   the login page, a `billing` team token unable to see `shop`'s image, a forged logout
//!   refused, a real one honoured.
//!
//! Each page is saved as a PNG under `target/web-screenshots/` (the target dir in use):
//! look at them.

#[path = "../../patchline-report/tests/schemas/mod.rs"]
mod schemas;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use patchline_test_support::example::{load, Example, Options};
use patchline_test_support::services::chromium::Chromium;
use serde_json::Value;

/// `target/web-screenshots` of the target dir this test was built in.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The example and a chromedriver, or `None` after a visible skip.
fn setup() -> Option<(Example, Chromium)> {
    let chrome = Chromium::start()?;
    let ex = load(&Options::default())?;
    Some((ex, chrome))
}

async fn path_of(c: &Client) -> String {
    let u = c.current_url().await.expect("current url");
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

/// Clicks `e` and waits until the browser has navigated away from where it was (a click
/// does not wait for the navigation it starts).
async fn click_navigates(c: &Client, e: fantoccini::elements::Element) {
    let from = path_of(c).await;
    e.click().await.expect("a click");
    let end = Instant::now() + Duration::from_secs(15);
    while path_of(c).await == from {
        assert!(Instant::now() < end, "the click on {from} did not navigate");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Logs in through the form; returns where the browser landed.
async fn login(c: &Client, base: &str, token: &str, next: &str) -> String {
    c.goto(&format!("{base}/login?next={next}"))
        .await
        .expect("the login page");
    let input = c.find(Locator::Id("token")).await.expect("input#token");
    input.send_keys(token).await.expect("typing the token");
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("the login button")
        .click()
        .await
        .expect("submitting");
    // A click does not wait for the navigation it starts: wait until the browser has left
    // the form's URL (for the refusal's page at /login, or for `next`).
    let form_url = format!("/login?next={next}");
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let at = path_of(c).await;
        if at != form_url {
            return at;
        }
        assert!(Instant::now() < end, "the login form was not submitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The session cookie the browser holds (HttpOnly: only WebDriver sees it).
async fn session_cookie(c: &Client) -> Option<(String, String)> {
    let cookies = c.get_all_cookies().await.expect("cookies");
    cookies
        .iter()
        .find(|k| k.name() == "patchline_session" && !k.value().is_empty())
        .map(|k| (k.name().to_string(), k.value().to_string()))
}

/// An HTTP client that does not follow redirects, carrying the browser's session cookie.
fn as_browser(cookie: &(String, String)) -> (reqwest::blocking::Client, String) {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (http, format!("{}={}", cookie.0, cookie.1))
}

/// POSTs a form the way a forging page would, in a blocking thread.
async fn post_form(
    url: String,
    cookie: Option<(String, String)>,
    fields: Vec<(&'static str, String)>,
) -> (u16, String, String) {
    tokio::task::spawn_blocking(move || {
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut req = http.post(&url).form(&fields);
        if let Some(c) = &cookie {
            req = req.header("cookie", format!("{}={}", c.0, c.1));
        }
        let r = req.send().unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, location, r.text().unwrap_or_default())
    })
    .await
    .unwrap()
}

#[test]
fn login_session_and_forged_forms() {
    let Some((ex, chrome)) = setup() else { return };
    let base = ex.url.clone();
    let admin = ex.admin_token.clone();
    runtime().block_on(async {
        let (c, _) = chrome.session().await;

        // The form: a labelled password input.
        c.goto(&format!("{base}/login?next=/hierarchy"))
            .await
            .unwrap();
        shot(&c, "01-login").await;
        let label = c
            .find(Locator::Css("label[for='token']"))
            .await
            .expect("a label for input#token");
        assert!(!label.text().await.unwrap().trim().is_empty());
        let input = c.find(Locator::Id("token")).await.unwrap();
        assert_eq!(
            input.attr("type").await.unwrap().as_deref(),
            Some("password")
        );

        // A wrong token: refused, no session.
        login(&c, &base, "plt_not-a-token", "/hierarchy").await;
        let text = body_text(&c).await;
        assert!(text.contains("unknown, expired or revoked"), "{text}");
        assert!(
            session_cookie(&c).await.is_none(),
            "no cookie for a bad token"
        );
        shot(&c, "02-login-refused").await;

        // The admin token: a session cookie, back to where the browser was going.
        let landed = login(&c, &base, &admin, "/hierarchy").await;
        assert_eq!(landed, "/hierarchy");
        let cookies = c.get_all_cookies().await.unwrap();
        let k = cookies
            .iter()
            .find(|k| k.name() == "patchline_session")
            .expect("the session cookie");
        assert_eq!(k.http_only(), Some(true), "HttpOnly: {k:?}");
        let same_site = format!("{:?}", k.same_site());
        assert!(
            same_site.contains("Strict") || same_site.contains("Lax"),
            "SameSite: {k:?}"
        );
        let cookie = session_cookie(&c).await.unwrap();

        // `next` is a local path only: no open redirect.
        let (c2, _) = chrome.session().await;
        let landed = login(&c2, &base, &admin, "//evil.example/").await;
        assert_eq!(landed, "/", "an off-site next must land on /");
        c2.close().await.unwrap();

        // Forms without this session's CSRF token are refused; the session stays.
        let logout = format!("{base}/logout");
        let (status, _, body) = post_form(
            logout.clone(),
            Some(cookie.clone()),
            vec![("csrf", "forged".into())],
        )
        .await;
        assert_eq!(status, 403, "a forged CSRF token: {body}");
        let (status, _, body) = post_form(logout.clone(), Some(cookie.clone()), vec![]).await;
        assert!(
            status == 403 || status == 422,
            "no CSRF token at all must be refused, got {status}: {body}"
        );
        // A logged-out POST is sent to the login page.
        let (status, location, _) =
            post_form(logout.clone(), None, vec![("csrf", "x".into())]).await;
        assert_eq!(status, 303);
        assert!(location.starts_with("/login"), "{location}");
        // The browser's session survived the forgeries.
        assert_eq!(session_cookie(&c).await, Some(cookie));
        c.close().await.unwrap();
    });
    drop(ex);
}

/// Waits for a finished download in `dir` (Chromium writes `*.crdownload` first).
fn wait_download(dir: &Path, secs: u64) -> PathBuf {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let done: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.extension()
                    .is_some_and(|x| x == "crdownload" || x == "tmp")
            })
            .collect();
        if let Some(p) = done.into_iter().next() {
            return p;
        }
        assert!(
            Instant::now() < end,
            "no download in {} after {secs} s",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn cve_rows(c: &Client) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in c.find_all(Locator::Css("tr[data-cve]")).await.unwrap() {
        out.insert(r.attr("data-cve").await.unwrap().unwrap_or_default());
    }
    out
}

/// Blocking GET of the API as the admin.
fn api(ex: &Example, path: &str) -> Value {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", ex.url))
        .bearer_auth(&ex.admin_token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn walkthrough_of_the_example_organisation() {
    let Some((ex, chrome)) = setup() else { return };
    let base = ex.url.clone();
    let curl = ex.image("child").clone();
    let shop = ex.image("shop").clone();
    let storefront = ex.image("storefront").clone();
    let billing = ex.image("billing").clone();
    let cve = ex.campaign_cve.clone();
    // What the API says, to compare the pages with.
    let kev_expected: BTreeSet<String> = api(
        &ex,
        &format!("/api/v1/findings?image={}&kev=true&limit=500", curl.digest),
    )["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["vuln_id"].as_str().unwrap().to_string())
        .collect();
    let schema = patchline_test_support::shared_data().map(|d| schemas::cyclonedx_validator(&d));

    runtime().block_on(async {
        let (c, downloads) = chrome.session().await;

        // Logged out: every page sends the browser to the login page.
        for page in ["/", "/hierarchy", &format!("/images/{}", curl.id), "/cves"] {
            c.goto(&format!("{base}{page}")).await.unwrap();
            let at = path_of(&c).await;
            assert!(at.starts_with("/login?next="), "{page} logged out: at {at}");
        }

        // Log in: the overview, with the open campaign in progress.
        let landed = login(&c, &base, &ex.admin_token, "/").await;
        assert_eq!(landed, "/");
        let text = body_text(&c).await;
        shot(&c, "10-overview").await;
        assert!(
            text.contains(&cve),
            "the overview names the open campaign's CVE:\n{text}"
        );

        // The hierarchy: a node per image; the curl image's node opens its page.
        c.goto(&format!("{base}/hierarchy")).await.unwrap();
        shot(&c, "11-hierarchy").await;
        for i in &ex.images {
            c.find(Locator::Css(&format!("a.node[data-ref='{}']", i.reference)))
                .await
                .unwrap_or_else(|_| panic!("no graph node for {}", i.reference));
        }
        let node = c
            .find(Locator::Css(&format!(
                "a.node[data-ref='{}']",
                curl.reference
            )))
            .await
            .unwrap();
        let href = node.attr("href").await.unwrap().unwrap_or_default();
        assert!(
            href.ends_with(&format!("/images/{}", curl.id)),
            "the node links to its image: {href}"
        );
        click_navigates(&c, node).await;
        assert_eq!(path_of(&c).await, format!("/images/{}", curl.id));
        shot(&c, "12-image").await;
        for section in ["layers", "packages", "findings", "plan"] {
            c.find(Locator::Id(section))
                .await
                .unwrap_or_else(|_| panic!("the image page has no #{section}"));
        }
        let all = cve_rows(&c).await;
        assert!(all.contains(&cve), "{cve} among the findings: {all:?}");

        // Findings filtered to KEV: exactly the API's KEV findings (none in this data).
        c.goto(&format!("{base}/images/{}?kev=1", curl.id))
            .await
            .unwrap();
        shot(&c, "13-image-kev").await;
        let kev = cve_rows(&c).await;
        assert_eq!(kev, kev_expected, "KEV rows");
        assert!(
            all.difference(&kev).next().is_some(),
            "the filter removed non-KEV rows"
        );

        // The CVE page: affected images grouped by the root to fix, with its owner.
        c.goto(&format!("{base}/cves/{cve}")).await.unwrap();
        shot(&c, "14-cve").await;
        let root = c
            .find(Locator::Css(&format!(
                "section.root[data-root='{}']",
                curl.reference
            )))
            .await
            .expect("a section for the root platform/base-curl");
        let root_text = root.text().await.unwrap();
        assert!(
            root_text.contains("platform"),
            "the root's owner: {root_text}"
        );
        for tag in ["storefront", "invoices"] {
            let r = &ex.image(tag).reference;
            assert!(
                root_text.contains(r.as_str()),
                "{r} under its root: {root_text}"
            );
        }

        // The CycloneDX download, from the image page's link.
        c.goto(&format!("{base}/images/{}", curl.id)).await.unwrap();
        let link = format!("/images/{}/download/cyclonedx", curl.id);
        c.find(Locator::Css(&format!("a[href='{link}']")))
            .await
            .expect("a CycloneDX download link")
            .click()
            .await
            .unwrap();
        let file = tokio::task::spawn_blocking(move || wait_download(&downloads, 60))
            .await
            .unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert!(doc["specVersion"].is_string(), "{}", doc["specVersion"]);
        assert!(
            doc["components"].as_array().is_some_and(|a| !a.is_empty()),
            "components"
        );
        if let Some(v) = &schema {
            schemas::assert_valid(v, &doc, "the downloaded CycloneDX");
        }

        // A forged logout (CSRF token altered in the page) is refused; the real one works.
        c.execute(
            "document.querySelector(\"form[action='/logout'] input[name=csrf]\").value = 'forged';",
            vec![],
        )
        .await
        .unwrap();
        let button = c
            .find(Locator::Css("form[action='/logout'] button[type=submit]"))
            .await
            .unwrap();
        click_navigates(&c, button).await;
        shot(&c, "15-forged-logout").await;
        c.goto(&format!("{base}/")).await.unwrap();
        assert_eq!(
            path_of(&c).await,
            "/",
            "still logged in after a forged logout"
        );
        let button = c
            .find(Locator::Css("form[action='/logout'] button[type=submit]"))
            .await
            .unwrap();
        click_navigates(&c, button).await;
        assert!(path_of(&c).await.starts_with("/login"));
        c.goto(&format!("{base}/")).await.unwrap();
        assert!(path_of(&c).await.starts_with("/login"), "logged out");
        c.close().await.unwrap();

        // A billing token: shop's image is not there, by URL or in lists.
        let (b, _) = chrome.session().await;
        login(&b, &base, &ex.billing_token, "/").await;
        let cookie = session_cookie(&b).await.expect("billing's session");
        b.goto(&format!("{base}/images/{}", billing.id))
            .await
            .unwrap();
        shot(&b, "16-billing-own-image").await;
        assert!(body_text(&b).await.contains(&billing.reference));
        let shop_url = format!("{base}/images/{}", shop.id);
        let status = tokio::task::spawn_blocking(move || {
            let (http, cookie) = as_browser(&cookie);
            http.get(&shop_url)
                .header("cookie", cookie)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .await
        .unwrap();
        assert_eq!(status, 404, "billing must not see shop's image");
        for page in ["/images", "/hierarchy", &format!("/cves/{cve}")] {
            b.goto(&format!("{base}{page}")).await.unwrap();
            let src = b.source().await.unwrap();
            for r in [&shop.reference, &storefront.reference] {
                assert!(
                    !src.contains(r.as_str()),
                    "{page} shows shop's {r} to billing"
                );
            }
        }
        b.goto(&format!("{base}/images")).await.unwrap();
        shot(&b, "17-billing-images").await;
        b.close().await.unwrap();
    });
    drop(ex);
}
