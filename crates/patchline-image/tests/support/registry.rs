//! Test support for the registry client: real `docker-registry` instances on loopback
//! ports (anonymous, htpasswd or token auth), a token server issuing RS256 JWTs, a tiny
//! OCI layout built with umoci and pushed with skopeo, and a scripted fake HTTP server
//! for what a real registry cannot be made to do (5xx sequences, silence, redirects).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

// ---------------------------------------------------------------------------------
// Images

/// An OCI layout with tags `amd64` (linux/amd64, /hello = "hi"), `arm64` (linux/arm64/v8,
/// /hello = "arm") and `multi` (an index of both), built once per test process.
pub struct Images {
    pub layout: PathBuf,
}

impl Images {
    /// `oci:LAYOUT:TAG` for skopeo.
    pub fn oci(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.layout.display())
    }
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').expect("algorithm:hex");
    layout.join("blobs").join(alg).join(hex)
}

pub fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        // Under the target dir, nothing left in /tmp. nextest runs each test in its own
        // process: a file lock makes the first one build and the others wait and reuse.
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).unwrap();
        let lock = std::fs::File::create(base.join("registry-images.lock")).unwrap();
        lock.lock().unwrap();
        let root = base.join("registry-images");
        let stamp = root.join(".complete");
        if !stamp.exists() {
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            build_images(&root);
            std::fs::write(&stamp, b"").unwrap();
        }
        drop(lock);
        Images {
            layout: root.join("layout"),
        }
    })
}

fn build_images(root: &Path) {
    {
        let layout = root.join("layout");
        let l = layout.to_str().unwrap();
        run(Command::new("umoci").args(["init", "--layout", l]));
        for (arch, text) in [("amd64", "hi\n"), ("arm64", "arm\n")] {
            let image = format!("{l}:{arch}");
            let bundle = root.join(format!("bundle-{arch}"));
            run(Command::new("umoci").args(["new", "--image", &image]));
            run(Command::new("umoci").args([
                "config",
                "--image",
                &image,
                "--os",
                "linux",
                "--architecture",
                arch,
            ]));
            run(Command::new("umoci")
                .args(["unpack", "--rootless", "--image", &image])
                .arg(&bundle));
            std::fs::write(bundle.join("rootfs/hello"), text).unwrap();
            run(Command::new("umoci")
                .args(["repack", "--image", &image])
                .arg(&bundle));
        }
        run(Command::new("umoci").args(["gc", "--layout", l]));
        // The index skopeo pushes with --all, written by hand: umoci cannot make one.
        let index_path = layout.join("index.json");
        let mut top: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
        let mut entries = Vec::new();
        for m in top["manifests"].as_array().unwrap() {
            let arch = m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap();
            let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
            if arch == "arm64" {
                platform["variant"] = "v8".into();
            }
            entries.push(serde_json::json!({
                "mediaType": m["mediaType"],
                "digest": m["digest"],
                "size": m["size"],
                "platform": platform,
            }));
        }
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": entries,
        }))
        .unwrap();
        let digest = format!("sha256:{:x}", Sha256::digest(&index));
        std::fs::write(blob_path(&layout, &digest), &index).unwrap();
        top["manifests"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest,
                "size": index.len(),
                "annotations": {"org.opencontainers.image.ref.name": "multi"},
            }));
        std::fs::write(&index_path, serde_json::to_vec(&top).unwrap()).unwrap();
    }
}

// ---------------------------------------------------------------------------------
// Registry

pub enum RegistryAuth {
    Anonymous,
    Htpasswd { user: String, password: String },
    Token { server: Arc<TokenServer> },
}

/// A `docker-registry serve` process on 127.0.0.1, killed (by its handle) on drop.
pub struct Registry {
    pub port: u16,
    /// `127.0.0.1:PORT`.
    pub host: String,
    child: Child,
    dir: tempfile::TempDir,
    creds: Option<(String, String)>,
    _token: Option<Arc<TokenServer>>,
}

impl Registry {
    pub fn start(auth: RegistryAuth) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        let mut creds = None;
        let mut token = None;
        let auth_yaml = match auth {
            RegistryAuth::Anonymous => String::new(),
            RegistryAuth::Htpasswd { user, password } => {
                let line = run(Command::new("htpasswd").args(["-Bbn", &user, &password]));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, line).unwrap();
                creds = Some((user, password));
                format!(
                    "auth:\n  htpasswd:\n    realm: patchline-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token { server } => {
                creds = Some((server.user.clone(), server.password.clone()));
                let yaml = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    server.realm(),
                    TokenServer::SERVICE,
                    TokenServer::ISSUER,
                    server.cert.display()
                );
                token = Some(server);
                yaml
            }
        };
        // A port taken between probe and bind makes the registry exit: try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: patchline-test-secret\n{auth_yaml}",
                    storage.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn docker-registry");
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut up = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if up {
                return Registry {
                    port,
                    host: format!("127.0.0.1:{port}"),
                    child,
                    dir,
                    creds,
                    _token: token,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "docker-registry did not come up on port {port}: {}",
                std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
            );
        }
        panic!("could not start docker-registry");
    }

    /// `skopeo copy SRC docker://HOST/DEST` with the registry's credentials.
    pub fn push(&self, src: &str, dest: &str, extra: &[&str]) {
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        if let Some((u, p)) = &self.creds {
            cmd.arg("--dest-creds").arg(format!("{u}:{p}"));
        }
        cmd.args(extra)
            .arg(src)
            .arg(format!("docker://{}/{dest}", self.host));
        // skopeo keeps temporary files under TMPDIR; keep them in our temp dir.
        cmd.env("TMPDIR", self.dir.path());
        run(&mut cmd);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------
// Minimal HTTP/1.1 plumbing shared by the token server and the fake server

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Lowercased names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    /// Decoded query (or form body) pairs.
    pub fn pairs(&self, from_body: bool) -> Vec<(String, String)> {
        let raw = if from_body {
            String::from_utf8_lossy(&self.body).into_owned()
        } else {
            self.target
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default()
        };
        url::form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn write_response(stream: &mut TcpStream, method: &str, r: &Response) {
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", r.status);
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
    let _ = stream.write_all(out.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&r.body);
    }
    let _ = stream.flush();
}

type Handler = dyn Fn(&Request, usize) -> Response + Send + Sync;

/// An HTTP server answering each request with `handler(request, index)`, one
/// connection at a time, recording every request.
pub struct FakeServer {
    pub addr: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn start(
        ip: &str,
        handler: impl Fn(&Request, usize) -> Response + Send + Sync + 'static,
    ) -> FakeServer {
        let listener = TcpListener::bind((ip, 0)).expect("bind fake server");
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let Some(req) = read_request(&mut stream) else {
                        continue;
                    };
                    let n = {
                        let mut r = requests.lock().unwrap();
                        r.push(req.clone());
                        r.len() - 1
                    };
                    let resp = handler(&req, n);
                    write_response(&mut stream, &req.method, &resp);
                }
            })
        };
        FakeServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------
// Token server

/// A Docker token server: Basic-authenticated GETs and OAuth2 refresh-token POSTs
/// are answered with RS256 JWTs whose header carries the signing certificate (`x5c`),
/// which the registry checks against its `rootcertbundle`.
pub struct TokenServer {
    pub user: String,
    pub password: String,
    pub refresh_token: String,
    pub cert: PathBuf,
    key: PathBuf,
    cert_der_b64: String,
    /// Tokens issued so far.
    pub issued: Arc<AtomicUsize>,
    server: Option<FakeServer>,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    pub const SERVICE: &'static str = "patchline-test-registry";
    pub const ISSUER: &'static str = "patchline-test-issuer";

    pub fn start(user: &str, password: &str) -> Arc<TokenServer> {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=patchline test token issuer",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert));
        let mut ts = TokenServer {
            user: user.into(),
            password: password.into(),
            refresh_token: "patchline-refresh-token".into(),
            cert,
            key,
            cert_der_b64: base64::engine::general_purpose::STANDARD.encode(der),
            issued: Arc::new(AtomicUsize::new(0)),
            server: None,
            _dir: dir,
        };
        let signer = Signer {
            key: ts.key.clone(),
            x5c: ts.cert_der_b64.clone(),
        };
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let refresh = ts.refresh_token.clone();
        let issued = ts.issued.clone();
        ts.server = Some(FakeServer::start("127.0.0.1", move |req, _| {
            let (scopes, ok) = match req.method.as_str() {
                "GET" => (
                    req.pairs(false)
                        .into_iter()
                        .filter(|(k, _)| k == "scope")
                        .map(|(_, v)| v)
                        .collect::<Vec<_>>(),
                    req.header("authorization") == Some(basic.as_str()),
                ),
                "POST" => {
                    let form = req.pairs(true);
                    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    (
                        get("scope").into_iter().collect(),
                        get("grant_type").as_deref() == Some("refresh_token")
                            && get("refresh_token").as_deref() == Some(refresh.as_str()),
                    )
                }
                _ => (Vec::new(), false),
            };
            if !ok {
                return Response::new(401, r#"{"details":"bad credentials"}"#)
                    .header("Content-Type", "application/json");
            }
            let jwt = signer.sign(&scopes);
            issued.fetch_add(1, Ordering::SeqCst);
            let field = if req.method == "POST" {
                "access_token"
            } else {
                "token"
            };
            Response::new(
                200,
                serde_json::json!({ field: jwt, "expires_in": 300 }).to_string(),
            )
            .header("Content-Type", "application/json")
        }));
        Arc::new(ts)
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.server.as_ref().unwrap().addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server.as_ref().unwrap().requests()
    }
}

struct Signer {
    key: PathBuf,
    x5c: String,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    /// A JWT granting every requested scope (`type:name:actions`).
    fn sign(&self, scopes: &[String]) -> String {
        static JTI: AtomicUsize = AtomicUsize::new(0);
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter_map(|s| {
                let (kind, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({
                    "type": kind,
                    "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }))
            })
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]});
        let claims = serde_json::json!({
            "iss": TokenServer::ISSUER,
            "sub": "patchline-test",
            "aud": TokenServer::SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("jti-{}", JTI.fetch_add(1, Ordering::SeqCst)),
            "access": access,
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run openssl dgst");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl dgst: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{input}.{}", b64url(&out.stdout))
    }
}
