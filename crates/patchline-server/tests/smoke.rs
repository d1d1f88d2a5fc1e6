//! The server starts on the embedded store, answers health and its OpenAPI document, and
//! refuses unauthenticated API calls; the template the other server tests follow.

use patchline_server::config::Config;
use patchline_server::serve::{start, ServeOptions};

fn config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: Some(dir.to_path_buf()),
        db: Some(dir.join("advisories.sqlite")),
        ..Config::default()
    }
}

#[test]
fn starts_answers_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path()), ServeOptions::default()).unwrap();
    let url = running.url();
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client
            .get(format!("{url}/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client.get(format!("{url}/readyz")).send().unwrap().status(),
        200
    );
    let doc: serde_json::Value = client
        .get(format!("{url}/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let r = client.get(format!("{url}/nope")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("x-request-id"));
    running.stop();
}

#[test]
fn no_auth_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.listen = "0.0.0.0:0".into();
    let e = start(c, ServeOptions { no_auth: true })
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--no-auth") && e.contains("loopback"), "{e}");
}
