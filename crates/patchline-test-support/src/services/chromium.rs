//! Debian's headless Chromium driven through `chromedriver` (WebDriver), for the
//! dashboard's browser tests (feature `browser`).
//!
//! [`Chromium::start`] runs `chromedriver --port=P` on loopback; [`Chromium::session`]
//! opens a WebDriver session (a [`fantoccini::Client`]) in a fresh Chromium with its own
//! profile (`--user-data-dir` in a temp dir) and download directory. The flags keep a
//! headless Chromium from reaching for hosts it cannot reach here (updates, sync, QUIC,
//! background networking) and from needing a sandbox or GPU (tests run as root in a
//! container). Close each session with `client.close().await`: that ends its browser;
//! dropping the [`Chromium`] stops chromedriver by its PID, then any browser of its
//! profiles that a failed test left open (found by its `--user-data-dir`, killed by PID).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::require_tools;

/// The programs a browser test needs (Debian packages `chromium`, `chromium-driver`).
pub const TOOLS: &[&str] = &["chromium", "chromedriver"];

/// A running chromedriver and the directories of its browsers.
pub struct Chromium {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    sessions: std::sync::atomic::AtomicUsize,
}

impl Chromium {
    /// Starts chromedriver; `None` (after a visible skip, a failure under CI) when
    /// `chromium` or `chromedriver` is missing. Panics when it cannot start.
    #[track_caller]
    pub fn start() -> Option<Chromium> {
        if !require_tools(TOOLS) {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("patchline-chromium.")
            .tempdir()
            .expect("a temp dir for chromium");
        for _ in 0..5 {
            let port = super::free_port();
            let log = std::fs::File::create(dir.path().join("chromedriver.log"))
                .expect("chromedriver log");
            let mut child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("chromedriver log"))
                .stderr(log)
                .spawn()
                .expect("spawning chromedriver");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Chromium {
                        port,
                        child,
                        dir,
                        sessions: Default::default(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "chromedriver did not come up on port {port}: {}",
                std::fs::read_to_string(dir.path().join("chromedriver.log")).unwrap_or_default()
            );
        }
        panic!("could not start chromedriver");
    }

    /// `http://127.0.0.1:PORT` of chromedriver.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new session in a fresh headless Chromium (its own profile and cookies) whose
    /// downloads land in the returned directory without a prompt.
    pub async fn session(&self) -> (fantoccini::Client, PathBuf) {
        let n = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = self.dir.path().join(format!("profile-{n}"));
        let downloads = self.dir.path().join(format!("downloads-{n}"));
        for d in [&profile, &downloads] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
        let caps = capabilities(&profile, &downloads);
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps)
        .connect(&self.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a WebDriver session in chromium: {e}\nchromedriver log:\n{}",
                self.log()
            )
        });
        (client, downloads)
    }

    /// chromedriver's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

/// The session's capabilities: Debian's binary, the headless flags, the download prefs.
fn capabilities(profile: &Path, downloads: &Path) -> serde_json::Map<String, serde_json::Value> {
    let binary = crate::on_path("chromium")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,1024",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            },
        },
    });
    match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A session a failed test left open keeps its browser running after chromedriver
        // is gone (SIGTERM to chromedriver does not end it either): end the browsers of
        // this instance's profiles, by PID.
        for pid in browsers_using(self.dir.path()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The processes whose command line names a `--user-data-dir` inside `dir`.
fn browsers_using(dir: &Path) -> Vec<u32> {
    let needle = format!("--user-data-dir={}", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.split(|b| *b == 0)
                    .any(|arg| arg.starts_with(needle.as_bytes()))
            })
        })
        .collect()
}
