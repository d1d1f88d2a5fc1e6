//! A real SMTP server for notification tests: aiosmtpd (`python3 -m aiosmtpd`) on a free
//! loopback port, with a handler that writes each message it accepts to a file in a
//! directory the test reads back. Stopped by PID on drop.
//!
//! aiosmtpd comes from pip (`python3 -m pip install aiosmtpd==1.4.6`); without it the
//! starter skips visibly (a failure under CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running aiosmtpd.
pub struct Smtp {
    pub port: u16,
    /// Each accepted message as `<n>.eml` (envelope sender and recipients in the first
    /// two lines, `X-Envelope-From:` / `X-Envelope-To:`, then the data).
    pub maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

const HANDLER: &str = r#"
import os, itertools
class Handler:
    counter = itertools.count(1)
    async def handle_DATA(self, server, session, envelope):
        d = os.environ["PATCHLINE_TEST_MAILDIR"]
        n = next(self.counter)
        tmp = os.path.join(d, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            data = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
            f.write(data)
        os.rename(tmp, os.path.join(d, f"{n}.eml"))
        return "250 Message accepted for delivery"
"#;

impl Smtp {
    /// Starts aiosmtpd, or `None` after a visible skip when it is not installed.
    pub fn start() -> Option<Smtp> {
        if !crate::require_tools(&["python3"]) {
            return None;
        }
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            crate::missing(
                "aiosmtpd not installed; install with: python3 -m pip install aiosmtpd==1.4.6",
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("mail");
        std::fs::create_dir(&maildir).expect("maildir");
        std::fs::write(dir.path().join("plhandler.py"), HANDLER).expect("handler");
        let port = super::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "plhandler.Handler",
            ])
            .env("PYTHONPATH", dir.path())
            .env("PATCHLINE_TEST_MAILDIR", &maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let s = Smtp {
            port,
            maildir,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(s)
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        read_messages(&self.maildir)
    }

    /// Waits until at least `n` messages arrived (or `timeout`), then returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read_messages(dir: &Path) -> Vec<String> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    let n = p.file_stem()?.to_str()?.parse().ok()?;
                    (p.extension()? == "eml").then_some((n, p))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, p)| std::fs::read_to_string(p).ok())
        .collect()
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
