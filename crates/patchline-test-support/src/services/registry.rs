//! Debian's `docker-registry` (Distribution 2.8) on 127.0.0.1, with filesystem storage in
//! a temp dir and, optionally, notifications to a URL (the server's registry hook) carrying
//! `Authorization: Bearer SECRET`. Images are pushed with `skopeo copy`. The process is
//! killed by its PID on drop.
//!
//! Distribution queues notifications in memory and retries them (`threshold` failures
//! before backing off `backoff`); the short timeouts below keep a test's wait small when
//! the receiver is not up yet.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::require_tools;

/// Where the registry sends its events.
#[derive(Clone, Debug)]
pub struct Notify {
    /// `http://127.0.0.1:PORT/api/v1/hooks/registry`.
    pub url: String,
    /// Sent as `Authorization: Bearer SECRET`.
    pub secret: String,
}

/// A running `docker-registry serve`.
pub struct RegistryService {
    pub port: u16,
    /// `127.0.0.1:PORT`.
    pub host: String,
    child: Child,
    dir: tempfile::TempDir,
    /// Basic-auth credentials (htpasswd) the registry requires, if any.
    creds: Option<(String, String)>,
}

/// The programs a registry test needs.
pub const TOOLS: &[&str] = &["docker-registry", "skopeo"];

impl RegistryService {
    /// Starts a registry; `None` (after a visible skip, a failure under CI) when
    /// `docker-registry` or `skopeo` is missing. Panics when it cannot start.
    #[track_caller]
    pub fn start(notify: Option<&Notify>) -> Option<RegistryService> {
        RegistryService::start_with(notify, None)
    }

    /// Like [`RegistryService::start`], requiring Basic credentials `(user, password)`
    /// (an htpasswd file made with `htpasswd -B`; `None` when htpasswd is missing too).
    #[track_caller]
    pub fn start_with(
        notify: Option<&Notify>,
        htpasswd: Option<(&str, &str)>,
    ) -> Option<RegistryService> {
        if !require_tools(TOOLS) {
            return None;
        }
        if htpasswd.is_some() && !require_tools(&["htpasswd"]) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir for docker-registry");
        let auth = match htpasswd {
            None => String::new(),
            Some((user, password)) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("running htpasswd");
                assert!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).expect("writing htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: patchline-test\n    path: {}\n",
                    file.display()
                )
            }
        };
        let storage = dir.path().join("storage");
        let notifications = match notify {
            None => String::new(),
            Some(n) => format!(
                "notifications:\n  endpoints:\n    - name: patchline\n      url: {}\n      headers:\n        Authorization: [\"Bearer {}\"]\n      timeout: 2s\n      threshold: 3\n      backoff: 1s\n",
                n.url, n.secret
            ),
        };
        // A port taken between probe and bind makes the registry exit: try a few.
        for _ in 0..5 {
            let port = super::free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: patchline-test-secret\n{auth}{notifications}",
                    storage.display()
                ),
            )
            .expect("writing the registry config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("registry log"))
                .stderr(log)
                .spawn()
                .expect("spawning docker-registry");
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
                return Some(RegistryService {
                    port,
                    host: format!("127.0.0.1:{port}"),
                    child,
                    dir,
                    creds: htpasswd.map(|(u, p)| (u.to_string(), p.to_string())),
                });
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

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// Pushes `tag` of the OCI layout `layout` as `dest` (`repo:tag`) with skopeo.
    pub fn push(&self, layout: &Path, tag: &str, dest: &str) {
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
        let out = cmd
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{dest}", self.host))
            // skopeo keeps temporary files under TMPDIR; keep them in our temp dir.
            .env("TMPDIR", self.dir.path())
            .output()
            .expect("running skopeo");
        assert!(
            out.status.success(),
            "skopeo copy oci:{}:{tag} docker://{}/{dest}: {}",
            layout.display(),
            self.host,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The registry's log (notification errors show there).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The process id (stopped by it on drop).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RegistryService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
