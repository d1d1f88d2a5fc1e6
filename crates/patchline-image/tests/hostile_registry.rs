//! Registries that misbehave on purpose (issue 8): one that answers once on a
//! keep-alive connection and then stalls (on a blob, on the token request after a 401),
//! one that trickles, and one whose blob never ends (with and without `Content-Length`).
//! Each is a real TCP server of the test's own; each case asserts the error and that it
//! came within the bound. (TLS to a plain-HTTP registry is tested against the real one
//! in `registry.rs`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use patchline_image::layer::{walk, Limits};
use patchline_image::source::{ImageSource, ManifestSource};
use patchline_image::{ManifestStore, Platform, RegistryOptions, RegistryRef};
use patchline_model::Digest;
use sha2::{Digest as _, Sha256};

/// What the server does with one request.
enum Act {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Never answer; keep the connection open.
    Stall,
    /// Announce `len` bytes, then send one every `every`.
    Trickle { len: u64, every: Duration },
    /// Send `prefix`, then zeros until the client hangs up.
    Endless {
        prefix: Vec<u8>,
        content_length: Option<u64>,
    },
}

fn ok(body: impl Into<Vec<u8>>) -> Act {
    Act::Answer {
        status: 200,
        headers: Vec::new(),
        body: body.into(),
    }
}

type Behave = dyn Fn(&str, usize) -> Act + Send + Sync;

/// A keep-alive HTTP/1.1 server: every connection in its own thread, any number of
/// requests per connection. Records (connection, request target) and bytes sent.
struct Hostile {
    addr: String,
    log: Arc<Mutex<Vec<(usize, String)>>>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    fn start(behave: impl Fn(&str, usize) -> Act + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let behave: Arc<Behave> = Arc::new(behave);
        {
            let (log, sent, stop) = (log.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                for (conn, stream) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (log, sent, stop, behave) =
                        (log.clone(), sent.clone(), stop.clone(), behave.clone());
                    std::thread::spawn(move || serve(stream, conn, &log, &sent, &stop, &*behave));
                }
            });
        }
        Hostile {
            addr,
            log,
            sent,
            stop,
        }
    }

    fn log(&self) -> Vec<(usize, String)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(
    stream: TcpStream,
    conn: usize,
    log: &Mutex<Vec<(usize, String)>>,
    sent: &AtomicU64,
    stop: &AtomicBool,
    behave: &Behave,
) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let n = {
            let mut l = log.lock().unwrap();
            l.push((conn, target.clone()));
            l.len() - 1
        };
        let mut send = |b: &[u8]| {
            let r = out.write_all(b);
            if r.is_ok() {
                sent.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
            r.is_ok()
        };
        match behave(&target, n) {
            Act::Answer {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\n");
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                if !send(head.as_bytes()) || !send(&body) {
                    return;
                }
            }
            Act::Stall => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Act::Trickle { len, every } => {
                if !send(format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes()) {
                    return;
                }
                for _ in 0..len {
                    if stop.load(Ordering::SeqCst) || !send(b"x") {
                        return;
                    }
                    std::thread::sleep(every);
                }
            }
            Act::Endless {
                prefix,
                content_length,
            } => {
                let chunked = content_length.is_none();
                let head = match content_length {
                    Some(l) => format!("HTTP/1.1 200 OK\r\nContent-Length: {l}\r\n\r\n"),
                    None => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
                };
                let frame = |b: &[u8]| {
                    if chunked {
                        let mut v = format!("{:x}\r\n", b.len()).into_bytes();
                        v.extend_from_slice(b);
                        v.extend_from_slice(b"\r\n");
                        v
                    } else {
                        b.to_vec()
                    }
                };
                if !send(head.as_bytes()) || !send(&frame(&prefix)) {
                    return;
                }
                let zeros = frame(&[0u8; 64 << 10]);
                while !stop.load(Ordering::SeqCst) && send(&zeros) {}
                return;
            }
        }
    }
}

fn opts(timeout: Duration) -> (tempfile::TempDir, RegistryOptions) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("empty-config.json");
    std::fs::write(&config, "{}").unwrap();
    let o = RegistryOptions {
        insecure: true,
        docker_config: Some(config),
        timeout,
        retries: 3,
        ..Default::default()
    };
    (dir, o)
}

fn store(addr: &str, o: &RegistryOptions) -> patchline_image::registry::RegistryStore {
    patchline_image::registry::RegistryStore::new(
        RegistryRef {
            registry: addr.into(),
            repository: "r".into(),
            tag: Some("1".into()),
            digest: None,
        },
        o,
    )
    .unwrap()
}

fn sha(b: &[u8]) -> Digest {
    format!("sha256:{:x}", Sha256::digest(b)).parse().unwrap()
}

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn manifest() -> Act {
    Act::Answer {
        status: 200,
        headers: vec![(
            "Content-Type".into(),
            "application/vnd.oci.image.manifest.v1+json".into(),
        )],
        body: MANIFEST.into(),
    }
}

fn blob_digest() -> Digest {
    format!("sha256:{}", "a".repeat(64)).parse().unwrap()
}

#[test]
fn stall_on_a_reused_connection_is_bounded_by_the_timeout() {
    // The manifest is answered; the blob request, sent on the same pooled connection,
    // never is.
    let server = Hostile::start(|target, _| {
        if target.contains("/manifests/") {
            manifest()
        } else {
            Act::Stall
        }
    });
    let (_d, o) = opts(Duration::from_secs(1));
    let s = store(&server.addr, &o);
    s.root().unwrap();
    let t = Instant::now();
    let e = match s.blob(&blob_digest()) {
        Ok(_) => panic!("a stalled blob request succeeded"),
        Err(e) => e.to_string(),
    };
    let took = t.elapsed();
    assert!(e.contains("no answer within 1 s"), "{e}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].0, log[1].0, "the blob request reused the connection");
    eprintln!("stall after keep-alive answer: {took:?}");
}

#[test]
fn stall_on_the_token_request_after_a_401_is_bounded() {
    let addr = Arc::new(Mutex::new(String::new()));
    let realm_addr = addr.clone();
    let server = Hostile::start(move |target, _| {
        if target.starts_with("/token") {
            Act::Stall
        } else {
            Act::Answer {
                status: 401,
                headers: vec![(
                    "WWW-Authenticate".into(),
                    format!(
                        r#"Bearer realm="http://{}/token",service="s""#,
                        realm_addr.lock().unwrap()
                    ),
                )],
                body: Vec::new(),
            }
        }
    });
    *addr.lock().unwrap() = server.addr.clone();
    let (_d, o) = opts(Duration::from_secs(1));
    let s = store(&server.addr, &o);
    let t = Instant::now();
    let e = match s.root() {
        Ok(_) => panic!("succeeded without a token"),
        Err(e) => e.to_string(),
    };
    let took = t.elapsed();
    assert!(
        e.contains("/token") && e.contains("no answer within 1 s"),
        "{e}"
    );
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[0].0, log[1].0,
        "the token request reused the connection"
    );
    eprintln!("stall on token after 401: {took:?}");
}

#[test]
fn trickling_blob_fails_at_the_minimum_rate() {
    let server = Hostile::start(|_, _| Act::Trickle {
        len: 100_000,
        every: Duration::from_millis(100),
    });
    let (_d, o) = opts(Duration::from_secs(1));
    let s = store(&server.addr, &o);
    let t = Instant::now();
    let mut r = s.blob(&blob_digest()).unwrap();
    let e = r.read_to_end(&mut Vec::new()).unwrap_err().to_string();
    let took = t.elapsed();
    assert!(e.contains("slower than the minimum of 1024 bytes/s"), "{e}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    eprintln!("trickle at 10 bytes/s: failed after {took:?}");
}

/// An image whose only layer the server sends endlessly after its real bytes.
fn endless_image(content_length: Option<u64>) -> (Hostile, Vec<u8>) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "etc/a", &b"a\n"[..]).unwrap();
    let layer = tar.into_inner().unwrap();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        sha(&layer)
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        sha(config.as_bytes()),
        config.len(),
        sha(&layer),
        layer.len()
    );
    let (config_d, layer_d) = (
        sha(config.as_bytes()).hex().to_string(),
        sha(&layer).hex().to_string(),
    );
    let prefix = layer.clone();
    let server = Hostile::start(move |target, _| {
        if target.contains("/manifests/") {
            Act::Answer {
                status: 200,
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: manifest.clone().into(),
            }
        } else if target.contains(&config_d) {
            ok(config.clone())
        } else if target.contains(&layer_d) {
            Act::Endless {
                prefix: prefix.clone(),
                content_length,
            }
        } else {
            Act::Answer {
                status: 404,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
    });
    (server, layer)
}

#[test]
fn endless_blob_stops_at_the_descriptor_size() {
    for content_length in [None, Some(1u64 << 40)] {
        let (server, layer) = endless_image(content_length);
        let (_d, o) = opts(Duration::from_secs(5));
        let src = ManifestSource::new(
            store(&server.addr, &o),
            "docker://x",
            Platform::parse("linux/amd64").unwrap(),
        );
        let img = src.resolve().unwrap();
        let t = Instant::now();
        let blob = src.open_layer(&img.layers[0]).unwrap();
        let e = walk(blob, &img.layers[0], &Limits::default(), &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        let took = t.elapsed();
        assert!(
            e.contains(&format!(
                "blob size mismatch: the source sends more than the {} bytes its descriptor declares",
                layer.len()
            )),
            "{e}"
        );
        assert!(took < Duration::from_secs(3), "took {took:?}");
        // Reading stopped: what the server could push is socket buffers, not gigabytes.
        std::thread::sleep(Duration::from_millis(200));
        let sent = server.sent.load(Ordering::Relaxed);
        assert!(sent < 64 << 20, "the server sent {sent} bytes");
        eprintln!(
            "endless blob (Content-Length {content_length:?}): stopped after {took:?}, {sent} bytes sent"
        );
    }
}
