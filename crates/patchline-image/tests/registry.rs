//! The registry client against real `docker-registry` instances (anonymous, htpasswd,
//! token auth) holding images built with umoci and pushed with skopeo, plus scripted
//! fake servers for retries, timeouts and redirects, which a real registry cannot be
//! made to produce on demand.

#[path = "support/registry.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use patchline_image::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use patchline_image::registry::{catalog_paged, RegistryStore};
use patchline_image::source::{ImageSource, ManifestSource, ResolvedImage};
use patchline_image::{ImageError, ManifestStore, Platform, RegistryOptions, RegistryRef};
use patchline_model::Digest;
use patchline_test_support::{require_tools, skip};
use sha2::{Digest as _, Sha256};
use support::{images, FakeServer, Registry, RegistryAuth, Response, TokenServer};

const REGISTRY_TOOLS: &[&str] = &["docker-registry", "skopeo", "umoci"];

fn rref(host: &str, repo: &str, tag: &str) -> RegistryRef {
    RegistryRef {
        registry: host.into(),
        repository: repo.into(),
        tag: Some(tag.into()),
        digest: None,
    }
}

/// Options with an empty Docker config, so the machine's own never leaks in.
fn opts(dir: &Path) -> RegistryOptions {
    let config = dir.join("empty-config.json");
    std::fs::write(&config, "{}").unwrap();
    RegistryOptions {
        insecure: true,
        docker_config: Some(config),
        timeout: Duration::from_secs(10),
        retries: 1,
        ..Default::default()
    }
}

fn with_creds(o: &RegistryOptions, user: &str, password: &str) -> RegistryOptions {
    RegistryOptions {
        username: Some(user.into()),
        password: Some(password.into()),
        ..o.clone()
    }
}

fn source(r: RegistryRef, o: &RegistryOptions, platform: &str) -> ManifestSource<RegistryStore> {
    let raw = format!("docker://{}", r);
    let store = RegistryStore::new(r, o).expect("store");
    ManifestSource::new(store, &raw, Platform::parse(platform).unwrap())
}

/// Streams every layer, checks its digest and returns the text of `/hello`.
fn pull(src: &ManifestSource<RegistryStore>) -> (ResolvedImage, String) {
    let resolved = src.resolve().expect("resolve");
    let mut hello = String::new();
    for layer in &resolved.layers {
        let mut blob = Vec::new();
        src.open_layer(layer)
            .expect("open layer")
            .read_to_end(&mut blob)
            .expect("stream layer");
        let digest = Digest::sha256_from_bytes(&Sha256::digest(&blob));
        assert_eq!(
            Some(&digest),
            layer.digest.as_ref(),
            "layer {}",
            layer.index
        );
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                == "hello"
            {
                entry.read_to_string(&mut hello).unwrap();
            }
        }
    }
    (resolved, hello)
}

/// The error of a result whose Ok side has no Debug.
fn err<T>(r: Result<T, ImageError>) -> ImageError {
    match r {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    }
}

fn assert_unauthorized(e: ImageError, host: &str, repo: &str, reason_part: &str) {
    let text = e.to_string();
    match &e {
        ImageError::Unauthorized {
            registry,
            repository,
            reason,
        } => {
            assert_eq!(registry, host, "{text}");
            assert_eq!(repository, repo, "{text}");
            assert!(reason.contains(reason_part), "{text}");
        }
        _ => panic!("expected Unauthorized, got {text}"),
    }
}

fn assert_not_found(e: ImageError, part: &str) {
    let text = e.to_string();
    assert!(
        matches!(e, ImageError::NotFound { .. }),
        "expected NotFound, got {text}"
    );
    assert!(text.contains(part), "{text}");
}

fn docker_config(dir: &Path, name: &str, json: serde_json::Value) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, json.to_string()).unwrap();
    p
}

#[test]
fn anonymous_pull_oci_docker_and_pinned() {
    if !require_tools(REGISTRY_TOOLS) {
        return;
    }
    let t = Instant::now();
    let imgs = images();
    let reg = Registry::start(RegistryAuth::Anonymous);
    reg.push(&imgs.oci("amd64"), "test/img:1", &[]);
    reg.push(&imgs.oci("amd64"), "test/img:v2s2", &["--format", "v2s2"]);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());

    let store = RegistryStore::new(rref(&reg.host, "test/img", "1"), &o).unwrap();
    let root = store.root().unwrap();
    assert_eq!(root.media_type.as_deref(), Some(OCI_MANIFEST));
    let announced = root.expected.clone().expect("Docker-Content-Digest");
    assert_eq!(
        announced,
        Digest::sha256_from_bytes(&Sha256::digest(&root.bytes))
    );
    assert_eq!(store.head_manifest("1").unwrap(), Some(announced.clone()));

    let (resolved, hello) = pull(&source(rref(&reg.host, "test/img", "1"), &o, "linux/amd64"));
    assert_eq!(hello, "hi\n");
    assert_eq!(resolved.info.manifest_digest.as_ref(), Some(&announced));
    assert_eq!(resolved.info.architecture.as_deref(), Some("amd64"));
    assert_eq!(resolved.layers.len(), 1);

    // Pinned by digest, no tag.
    let mut pinned = rref(&reg.host, "test/img", "1");
    pinned.tag = None;
    pinned.digest = Some(announced.clone());
    let (again, hello) = pull(&source(pinned, &o, "linux/amd64"));
    assert_eq!(hello, "hi\n");
    assert_eq!(again.info.config_digest, resolved.info.config_digest);

    // Docker v2 schema 2: same config and layer bytes, another manifest.
    let store = RegistryStore::new(rref(&reg.host, "test/img", "v2s2"), &o).unwrap();
    let root = store.root().unwrap();
    assert_eq!(root.media_type.as_deref(), Some(DOCKER_MANIFEST));
    let (docker, hello) = pull(&source(
        rref(&reg.host, "test/img", "v2s2"),
        &o,
        "linux/amd64",
    ));
    assert_eq!(hello, "hi\n");
    assert_ne!(docker.info.manifest_digest, resolved.info.manifest_digest);
    assert_eq!(docker.layers[0].digest, resolved.layers[0].digest);
    eprintln!("anonymous_pull_oci_docker_and_pinned: {:?}", t.elapsed());
}

#[test]
fn multi_arch_index_selects_platform() {
    if !require_tools(REGISTRY_TOOLS) {
        return;
    }
    let t = Instant::now();
    let imgs = images();
    let reg = Registry::start(RegistryAuth::Anonymous);
    reg.push(&imgs.oci("multi"), "test/multi:1", &["--all"]);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());

    let store = RegistryStore::new(rref(&reg.host, "test/multi", "1"), &o).unwrap();
    assert_eq!(store.root().unwrap().media_type.as_deref(), Some(OCI_INDEX));

    let (arm, hello) = pull(&source(
        rref(&reg.host, "test/multi", "1"),
        &o,
        "linux/arm64",
    ));
    assert_eq!(hello, "arm\n");
    assert_eq!(arm.info.architecture.as_deref(), Some("arm64"));
    let (amd, hello) = pull(&source(
        rref(&reg.host, "test/multi", "1"),
        &o,
        "linux/amd64",
    ));
    assert_eq!(hello, "hi\n");
    assert_eq!(amd.info.architecture.as_deref(), Some("amd64"));
    assert_ne!(arm.info.manifest_digest, amd.info.manifest_digest);

    let err = source(rref(&reg.host, "test/multi", "1"), &o, "linux/s390x")
        .resolve()
        .unwrap_err();
    assert!(matches!(err, ImageError::NoPlatform { .. }), "{err}");
    assert!(err.to_string().contains("linux/arm64/v8"), "{err}");
    eprintln!("multi_arch_index_selects_platform: {:?}", t.elapsed());
}

#[test]
fn missing_things_are_not_found() {
    if !require_tools(REGISTRY_TOOLS) {
        return;
    }
    let t = Instant::now();
    let reg = Registry::start(RegistryAuth::Anonymous);
    reg.push(&images().oci("amd64"), "test/img:1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());

    let e = err(RegistryStore::new(rref(&reg.host, "test/img", "nope"), &o)
        .unwrap()
        .root());
    assert_not_found(e, "manifest test/img:nope");
    // TLS to this plain-HTTP registry: the error says what to do (issue 8).
    let tls = RegistryOptions {
        insecure: false,
        ..o.clone()
    };
    let e = err(RegistryStore::new(rref(&reg.host, "test/img", "1"), &tls)
        .unwrap()
        .root())
    .to_string();
    assert!(e.contains("use --insecure"), "{e}");
    let e = err(RegistryStore::new(rref(&reg.host, "test/absent", "1"), &o)
        .unwrap()
        .root());
    assert_not_found(e, "test/absent");

    let store = RegistryStore::new(rref(&reg.host, "test/img", "1"), &o).unwrap();
    let zero: Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    match store.blob(&zero) {
        Err(e) => assert_not_found(e, &format!("blob {zero} in test/img")),
        Ok(_) => panic!("unknown blob opened"),
    }
    assert_not_found(store.head_manifest("nope").unwrap_err(), "test/img:nope");
    let e = RegistryStore::new(rref(&reg.host, "test/absent", "1"), &o)
        .unwrap()
        .list_tags()
        .unwrap_err();
    assert_not_found(e, "test/absent");
    eprintln!("missing_things_are_not_found: {:?}", t.elapsed());
}

#[test]
fn tags_and_catalog_follow_pagination() {
    if !require_tools(REGISTRY_TOOLS) {
        return;
    }
    let t = Instant::now();
    let reg = Registry::start(RegistryAuth::Anonymous);
    let src = images().oci("amd64");
    for dest in ["test/a:1", "test/a:2", "test/a:3", "test/b:1", "test/c:1"] {
        reg.push(&src, dest, &[]);
    }
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());

    // This registry pages its catalog (n=1 gives one repository and a Link per page).
    let repos = catalog_paged(&reg.host, &o, Some(1)).unwrap();
    assert_eq!(repos, ["test/a", "test/b", "test/c"]);
    assert_eq!(
        patchline_image::registry::catalog(&reg.host, &o).unwrap(),
        repos
    );

    // docker-registry 2.8 ignores n= on tag lists (one page); the Link-following of
    // tag lists is covered against the fake server in `tag_pages_from_fake_server`.
    let store = RegistryStore::new(rref(&reg.host, "test/a", "1"), &o).unwrap();
    let mut tags = store.list_tags_paged(Some(1)).unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "2", "3"]);
    eprintln!("tags_and_catalog_follow_pagination: {:?}", t.elapsed());
}

#[test]
fn htpasswd_registry() {
    if !require_tools(&["docker-registry", "skopeo", "umoci", "htpasswd"]) {
        return;
    }
    let t = Instant::now();
    let (user, password) = ("alice", "s3cret,with:colon");
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: user.into(),
        password: password.into(),
    });
    reg.push(&images().oci("amd64"), "test/img:1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let r = || rref(&reg.host, "test/img", "1");

    // Flags.
    let (_, hello) = pull(&source(r(), &with_creds(&o, user, password), "linux/amd64"));
    assert_eq!(hello, "hi\n");

    // Docker config: `auth` (base64 user:password) under the bare host...
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let cfg = docker_config(
        dir.path(),
        "auth.json",
        serde_json::json!({"auths": {reg.host.clone(): {"auth": auth}}}),
    );
    let o2 = RegistryOptions {
        docker_config: Some(cfg),
        ..o.clone()
    };
    let (_, hello) = pull(&source(r(), &o2, "linux/amd64"));
    assert_eq!(hello, "hi\n");
    let store = RegistryStore::new(r(), &o2).unwrap();
    assert_eq!(store.list_tags().unwrap(), ["1"]);
    // ...and username/password under a URL-style key.
    let cfg = docker_config(
        dir.path(),
        "userpass.json",
        serde_json::json!({"auths": {format!("http://{}/v2/", reg.host): {"username": user, "password": password}}}),
    );
    let o3 = RegistryOptions {
        docker_config: Some(cfg),
        ..o.clone()
    };
    assert_eq!(pull(&source(r(), &o3, "linux/amd64")).1, "hi\n");

    // Nothing: Unauthorized naming registry and repository.
    let e = source(r(), &o, "linux/amd64").resolve().unwrap_err();
    assert_unauthorized(e, &reg.host, "test/img", "no credentials");
    // Wrong password.
    let e = source(r(), &with_creds(&o, user, "wrong"), "linux/amd64")
        .resolve()
        .unwrap_err();
    assert_unauthorized(e, &reg.host, "test/img", "were refused");
    eprintln!("htpasswd_registry: {:?}", t.elapsed());
}

#[test]
fn token_registry() {
    if !require_tools(&["docker-registry", "skopeo", "umoci", "openssl"]) {
        return;
    }
    let t = Instant::now();
    let tokens = TokenServer::start("tok", "tokpw");
    let reg = Registry::start(RegistryAuth::Token {
        server: tokens.clone(),
    });
    reg.push(&images().oci("amd64"), "test/img:1", &[]);
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let r = || rref(&reg.host, "test/img", "1");

    // Basic credentials to the token server; one token serves manifest, config and layer.
    let before = tokens.issued.load(std::sync::atomic::Ordering::SeqCst);
    let (_, hello) = pull(&source(r(), &with_creds(&o, "tok", "tokpw"), "linux/amd64"));
    assert_eq!(hello, "hi\n");
    let issued = tokens.issued.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert_eq!(issued, 1, "token cached per scope");
    let last = tokens.requests().last().cloned().unwrap();
    assert_eq!(last.method, "GET");
    let q = last.pairs(false);
    assert!(
        q.contains(&("scope".into(), "repository:test/img:pull".into())),
        "{q:?}"
    );
    assert!(
        q.contains(&("service".into(), TokenServer::SERVICE.into())),
        "{q:?}"
    );

    // The catalog needs its own scope.
    let repos = catalog_paged(&reg.host, &with_creds(&o, "tok", "tokpw"), None).unwrap();
    assert_eq!(repos, ["test/img"]);
    let q = tokens.requests().last().unwrap().pairs(false);
    assert!(
        q.contains(&("scope".into(), "registry:catalog:*".into())),
        "{q:?}"
    );

    // An identity token from the Docker config: OAuth2 refresh-token POST.
    let cfg = docker_config(
        dir.path(),
        "identity.json",
        serde_json::json!({"auths": {reg.host.clone(): {"identitytoken": tokens.refresh_token}}}),
    );
    let o2 = RegistryOptions {
        docker_config: Some(cfg),
        ..o.clone()
    };
    assert_eq!(pull(&source(r(), &o2, "linux/amd64")).1, "hi\n");
    let last = tokens.requests().last().cloned().unwrap();
    assert_eq!(last.method, "POST");
    assert!(last
        .pairs(true)
        .contains(&("grant_type".into(), "refresh_token".into())));

    // No credentials: the token server refuses anonymous access.
    let e = source(r(), &o, "linux/amd64").resolve().unwrap_err();
    assert_unauthorized(e, &reg.host, "test/img", "refused anonymous access");
    let e = source(r(), &with_creds(&o, "tok", "bad"), "linux/amd64")
        .resolve()
        .unwrap_err();
    assert_unauthorized(e, &reg.host, "test/img", "refused the credentials");
    eprintln!("token_registry: {:?}", t.elapsed());
}

// ---------------------------------------------------------------------------------
// Fake servers: only what a real registry cannot be made to do.

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn manifest_response() -> Response {
    let digest = format!("sha256:{:x}", Sha256::digest(MANIFEST.as_bytes()));
    Response::new(200, MANIFEST)
        .header("Content-Type", OCI_MANIFEST)
        .header("Docker-Content-Digest", digest)
}

fn fake_opts(retries: u32, timeout: Duration) -> (tempfile::TempDir, RegistryOptions) {
    let dir = tempfile::tempdir().unwrap();
    let o = RegistryOptions {
        retries,
        timeout,
        ..opts(dir.path())
    };
    (dir, o)
}

#[test]
fn retries_transient_failures() {
    let t = Instant::now();
    // 500, 429 (Retry-After: 0), then success.
    let server = FakeServer::start("127.0.0.1", |_, n| match n {
        0 => Response::new(500, r#"{"errors":[{"code":"UNKNOWN","message":"boom"}]}"#),
        1 => Response::new(429, "").header("Retry-After", "0"),
        _ => manifest_response(),
    });
    let (_d, o) = fake_opts(3, Duration::from_secs(5));
    let store = RegistryStore::new(rref(&server.addr, "r", "1"), &o).unwrap();
    let f = store.root().unwrap();
    assert_eq!(f.bytes, MANIFEST.as_bytes());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    let ua = reqs[0].header("user-agent").unwrap();
    assert!(ua.starts_with("patchline/"), "{ua}");
    assert!(reqs[0].header("accept").unwrap().contains(OCI_INDEX));

    // Always 503: gives up after 1 + retries attempts, naming the last answer.
    let server = FakeServer::start("127.0.0.1", |_, _| Response::new(503, "down"));
    let (_d, o) = fake_opts(2, Duration::from_secs(5));
    let store = RegistryStore::new(rref(&server.addr, "r", "1"), &o).unwrap();
    let e = err(store.root()).to_string();
    assert!(
        e.contains("503") && e.contains("gave up after 3 attempts"),
        "{e}"
    );
    assert_eq!(server.requests().len(), 3);

    // A 404 or a 400 is final at once.
    let server = FakeServer::start("127.0.0.1", |_, _| Response::new(400, ""));
    let store = RegistryStore::new(rref(&server.addr, "r", "1"), &o).unwrap();
    assert!(store.root().is_err());
    assert_eq!(server.requests().len(), 1);
    eprintln!("retries_transient_failures: {:?}", t.elapsed());
}

#[test]
fn silent_server_times_out_once_for_all_attempts() {
    // Accepted by the kernel, never answered. --timeout bounds the whole operation:
    // retries do not multiply it (issue 8: 4 attempts x 60 s were 4 minutes).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for retries in [0, 3] {
        let (_d, o) = fake_opts(retries, Duration::from_millis(500));
        let store = RegistryStore::new(rref(&addr, "r", "1"), &o).unwrap();
        let t = Instant::now();
        let e = err(store.root()).to_string();
        let took = t.elapsed();
        assert!(e.contains("no answer within 0.5 s"), "{e}");
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert!(
            took < Duration::from_millis(1500),
            "took {took:?} with retries={retries}"
        );
        eprintln!("silent_server_times_out (retries={retries}): {took:?}");
    }
    drop(listener);
}

#[test]
fn stalled_blob_stream_errors_without_retry() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let mut conns = 0;
        listener.set_nonblocking(false).unwrap();
        // Serve one connection: headers and part of the body, then silence.
        if let Ok((mut s, _)) = listener.accept() {
            conns += 1;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            let _ = s.flush();
            std::thread::sleep(Duration::from_millis(1500));
        }
        listener.set_nonblocking(true).unwrap();
        while listener.accept().is_ok() {
            conns += 1;
        }
        conns
    });
    let (_d, o) = fake_opts(3, Duration::from_millis(400));
    let store = RegistryStore::new(rref(&addr, "r", "1"), &o).unwrap();
    let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
    let t = Instant::now();
    let mut reader = store.blob(&digest).unwrap();
    let mut got = Vec::new();
    let e = reader.read_to_end(&mut got).unwrap_err().to_string();
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(got, b"0123456789");
    assert!(
        e.contains("slower than the minimum of 1024 bytes/s")
            && e.contains(&format!("blob {digest}")),
        "{e}"
    );
    assert_eq!(
        server.join().unwrap(),
        1,
        "a started stream is never retried"
    );
}

#[test]
fn cross_host_redirect_drops_credentials() {
    // Blob storage on another loopback address; it records what it was sent.
    let storage = match std::net::TcpListener::bind("127.0.0.2:0") {
        Ok(l) => {
            drop(l);
            FakeServer::start("127.0.0.2", |_, _| Response::new(200, "blob-bytes"))
        }
        Err(e) => skip!("cannot bind 127.0.0.2 (a second loopback address): {e}"),
    };
    let storage_addr = storage.addr.clone();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:p")
    );
    let registry = FakeServer::start("127.0.0.1", move |req, _| {
        if req.header("authorization") != Some(basic.as_str()) {
            return Response::new(401, "").header("WWW-Authenticate", r#"Basic realm="fake""#);
        }
        match req.path() {
            p if p.ends_with("/same") => Response::new(200, "same-host-bytes"),
            p if p.contains(&"b".repeat(64)) => {
                Response::new(307, "").header("Location", "/v2/r/same")
            }
            _ => Response::new(307, "")
                .header("Location", format!("http://{storage_addr}/store/x?sig=1")),
        }
    });
    let (_d, o) = fake_opts(0, Duration::from_secs(5));
    let store =
        RegistryStore::new(rref(&registry.addr, "r", "1"), &with_creds(&o, "u", "p")).unwrap();

    let d: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
    let mut body = String::new();
    store.blob(&d).unwrap().read_to_string(&mut body).unwrap();
    assert_eq!(body, "blob-bytes");
    let seen = storage.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/store/x?sig=1");
    assert_eq!(
        seen[0].header("authorization"),
        None,
        "credentials leaked to storage"
    );

    // A redirect on the same origin keeps them.
    let d: Digest = format!("sha256:{}", "b".repeat(64)).parse().unwrap();
    body.clear();
    store.blob(&d).unwrap().read_to_string(&mut body).unwrap();
    assert_eq!(body, "same-host-bytes");
}

#[test]
fn tag_pages_from_fake_server() {
    // docker-registry 2.8 does not page tag lists; this one does, with relative and
    // absolute Link targets.
    let server = FakeServer::start("127.0.0.1", |req, _| {
        let page = |tags: &str| Response::new(200, format!(r#"{{"name":"r","tags":[{tags}]}}"#));
        let host = req.header("host").unwrap_or_default().to_string();
        match req.target.as_str() {
            "/v2/r/tags/list?n=2" => {
                page(r#""a","b""#).header("Link", r#"</v2/r/tags/list?n=2&last=b>; rel="next""#)
            }
            "/v2/r/tags/list?n=2&last=b" => page(r#""c","d""#).header(
                "Link",
                format!(r#"<http://{host}/v2/r/tags/list?n=2&last=d>; rel="next""#),
            ),
            "/v2/r/tags/list?n=2&last=d" => page(r#""e""#),
            "/v2/loop/tags/list" => {
                page(r#""x""#).header("Link", r#"</v2/loop/tags/list>; rel="next""#)
            }
            "/v2/evil/tags/list" => {
                page(r#""x""#).header("Link", r#"<http://127.0.0.9:1/v2/x>; rel="next""#)
            }
            _ => Response::new(404, ""),
        }
    });
    let (_d, o) = fake_opts(0, Duration::from_secs(5));
    let store = RegistryStore::new(rref(&server.addr, "r", "1"), &o).unwrap();
    assert_eq!(
        store.list_tags_paged(Some(2)).unwrap(),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(server.requests().len(), 3);
    let e = RegistryStore::new(rref(&server.addr, "loop", "1"), &o)
        .unwrap()
        .list_tags()
        .unwrap_err()
        .to_string();
    assert!(e.contains("loops back"), "{e}");
    let e = RegistryStore::new(rref(&server.addr, "evil", "1"), &o)
        .unwrap()
        .list_tags()
        .unwrap_err()
        .to_string();
    assert!(e.contains("another origin"), "{e}");
}

#[test]
fn oversized_manifest_is_refused() {
    let server = FakeServer::start("127.0.0.1", |_, _| {
        Response::new(200, vec![b' '; (4 << 20) + 1]).header("Content-Type", OCI_MANIFEST)
    });
    let (_d, o) = fake_opts(0, Duration::from_secs(5));
    let e = err(RegistryStore::new(rref(&server.addr, "r", "1"), &o)
        .unwrap()
        .root())
    .to_string();
    assert!(e.contains("limit"), "{e}");
}
