//! A throwaway PostgreSQL cluster for one test binary: `initdb` into a temp dir, `pg_ctl
//! start` on a free loopback port with the socket in that dir, trust authentication for
//! the `postgres` superuser, `pg_ctl stop -m immediate` on drop.
//!
//! PostgreSQL refuses to run as root, so when the test runs as root (CI and these
//! machines do) both programs run as the `postgres` user (`runuser -u postgres --`, else
//! `su postgres -c`), and the data dir is handed to that user. The binaries are Debian's
//! (`/usr/lib/postgresql/<major>/bin`, newest major first) or whatever `initdb`/`pg_ctl`
//! is on `PATH`; with none, [`Postgres::start`] reports the skip (a failure under CI) and
//! returns `None`. `PATCHLINE_PG_BIN` names another directory.
//!
//! Each test takes a fresh database with [`Postgres::create_database`], so tests share
//! the cluster (start-up costs about a second) but never each other's tables.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running cluster; stopped (and its files removed) on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl Postgres {
    /// Starts a cluster, or returns `None` after [`crate::missing`] when PostgreSQL is
    /// not installed. Panics (the test fails) when it is installed but will not start.
    #[track_caller]
    pub fn start() -> Option<Postgres> {
        crate::check_skips_shown();
        let Some(bin) = find_bin() else {
            crate::missing(
                "PostgreSQL's initdb and pg_ctl were not found (/usr/lib/postgresql/*/bin or \
                 PATH); install with: apt-get install -y postgresql",
            );
            return None;
        };
        let as_postgres_user = is_root();
        let dir = std::env::temp_dir().join(format!(
            "patchline-pg-{}-{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        if as_postgres_user {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "chown postgres {} failed (is there a postgres user?)",
                dir.display()
            );
        }
        let port = super::free_port();
        let pg = Postgres {
            bin,
            dir,
            port,
            as_postgres_user,
        };
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ],
        );
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            pg.dir.display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &opts,
                "-l",
                &pg.dir.join("log").display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        pg.wait_ready();
        pg.watchdog();
        Some(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` in this cluster.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new empty database (a unique name built from `name`) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let db = format!("t_{clean}_{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        self.run(
            "createdb",
            &[
                "-h",
                &self.dir.display().to_string(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                &db,
            ],
        );
        self.url_of(&db)
    }

    /// The server's log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// A test binary keeps its cluster in a `static`, which is never dropped: a small
    /// shell watches this process and stops the cluster once it is gone (also after a
    /// crash or `kill -9` of the test).
    fn watchdog(&self) {
        let data = self.dir.join("data").display().to_string();
        let stop = self.command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let mut line = shell_quote(&stop.get_program().to_string_lossy());
        for a in stop.get_args() {
            line.push(' ');
            line.push_str(&shell_quote(&a.to_string_lossy()));
        }
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; if [ -d {dir} ]; then {line} >/dev/null 2>&1; rm -rf {dir}; fi",
            pid = std::process::id(),
            dir = shell_quote(&self.dir.display().to_string()),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "PostgreSQL did not accept connections on 127.0.0.1:{}; log:\n{}",
            self.port,
            self.log()
        );
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres_user {
            if crate::on_path("runuser").is_some() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(exe).args(args);
                c
            } else {
                let mut line = shell_quote(&exe.display().to_string());
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                let mut c = Command::new("su");
                c.args(["postgres", "-c", &line]);
                c
            }
        } else {
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    }

    #[track_caller]
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program, args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{}{}\nlog:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn is_root() -> bool {
    // No libc here: the effective uid from /proc (Linux), `id -u` elsewhere.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn find_bin() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("PATCHLINE_PG_BIN").map(PathBuf::from) {
        return has(&d).then_some(d);
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has(d))
        .collect();
    majors.sort();
    if let Some((_, d)) = majors.pop() {
        return Some(d);
    }
    // Debian's /usr/bin/pg_ctl is a wrapper that wants a configured cluster; a plain
    // install elsewhere puts the real programs on PATH.
    let initdb = crate::on_path("initdb")?;
    let dir = std::fs::canonicalize(initdb).ok()?.parent()?.to_path_buf();
    has(&dir).then_some(dir)
}
