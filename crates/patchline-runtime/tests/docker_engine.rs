//! `patchline runtime docker` against a real Docker Engine: the test starts its own
//! `dockerd` (data root, exec root, socket and pidfile in a temporary directory; as root),
//! `docker load`s the fixture image `child:1` (a real Debian bookworm image, see
//! scripts/build-fixtures.sh), runs containers with planted problems and a locked-down
//! one, and checks what the library reports, blocks and stops. The engine is stopped by
//! its PID when the test ends, whatever the outcome.
//!
//! `--privileged` containers cannot start in this sandbox (runc cannot apply the full
//! capability set), so that rule is checked on a container made with `docker create
//! --privileged` and listed with `all`.
//!
//! The image's vulnerability findings come from an advisory DB built from real data: the
//! Debian security tracker extract of the CLI's tests and CISA's KEV catalogue
//! (../shared/data); the fixture's curl (`child-curl-version`) is matched through the
//! engine's image export.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use patchline_model::vuln::Severity;
use patchline_runtime::report::{render, Format};
use patchline_runtime::{enforce, inspect, Engine, Gate, RuntimeOptions, RuntimeReport};
use patchline_test_support::{fixtures, missing, require_tools, shared_data_path, workspace_root};

/// A dockerd of the test's own; dropped = stopped by its PID (SIGTERM, then SIGKILL).
struct Dockerd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Dockerd {
    fn sock(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.sock().display())
    }

    /// `docker -H … ARGS`, which must succeed; its stdout.
    fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .output()
            .expect("running docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn start() -> Option<Dockerd> {
        if !require_tools(&["dockerd", "docker"]) {
            return None;
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            missing("dockerd needs root; run the tests as root");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("patchline-dockerd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("root"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("sock").display()))
            .arg("--pidfile")
            .arg(d.join("pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting dockerd");
        let mut engine = Dockerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = engine.child.try_wait().unwrap() {
                panic!(
                    "dockerd exited ({status}) before answering:\n{}",
                    std::fs::read_to_string(engine.dir.path().join("log")).unwrap_or_default()
                );
            }
            let ok = engine.sock().exists()
                && Command::new("docker")
                    .arg("-H")
                    .arg(engine.host())
                    .arg("version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "dockerd did not answer in 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(engine)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child by its PID.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An advisory DB from real data (see the module doc).
fn advisory_db(dir: &Path) -> Option<PathBuf> {
    let kev = shared_data_path("feeds/kev/known_exploited_vulnerabilities.json")?;
    let tracker = workspace_root().join("crates/patchline/tests/data/debian-tracker-bookworm.json");
    let db = dir.join("advisories.sqlite");
    patchline_advisory::import_files(
        &db,
        &[tracker, kev],
        &patchline_advisory::ImportOptions::default(),
    )
    .expect("importing the advisory data");
    Some(db)
}

fn ids(report: &RuntimeReport, name: &str) -> BTreeSet<String> {
    report
        .containers
        .iter()
        .find(|c| c.facts.name == name)
        .unwrap_or_else(|| panic!("no container {name} in the report"))
        .checks
        .iter()
        .map(|f| f.id.clone())
        .collect()
}

#[test]
fn planted_runtime_problems_are_found_blocked_and_stopped() {
    let Some(fx) = fixtures() else { return };
    let work = tempfile::tempdir().unwrap();
    let Some(db) = advisory_db(work.path()) else {
        return;
    };
    let Some(d) = Dockerd::start() else { return };
    let sock = d.sock().display().to_string();
    d.docker(&["load", "-i", fx.join("child.docker.tar").to_str().unwrap()]);
    let port = free_port();
    let planted_id = d.docker(&[
        "run",
        "-d",
        "--name",
        "planted",
        "-v",
        &format!("{sock}:/var/run/docker.sock"),
        "--cap-add",
        "NET_ADMIN",
        "-p",
        &format!("0.0.0.0:{port}:80"),
        "child:1",
        "sleep",
        "infinity",
    ]);
    d.docker(&[
        "run",
        "-d",
        "--name",
        "clean",
        "--user",
        "10001",
        "--read-only",
        "--network",
        "none",
        "--memory",
        "64m",
        "--pids-limit",
        "64",
        "--cap-drop",
        "ALL",
        "child:1",
        "sleep",
        "infinity",
    ]);
    d.docker(&["exec", "-d", "planted", "sleep", "31337"]);
    d.docker(&[
        "create",
        "--privileged",
        "--name",
        "privileged",
        "child:1",
        "sleep",
        "infinity",
    ]);
    let image_id = d.docker(&["image", "inspect", "-f", "{{.Id}}", "child:1"]);
    // `docker exec -d` returns before the process is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.docker(&["top", "planted"]).contains("sleep 31337") {
        assert!(Instant::now() < deadline, "the exec'd process never showed");
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut engine = Engine::connect(&d.host(), 120).expect("connecting to the test's dockerd");
    let cache = work.path().join("cache");
    let opts = RuntimeOptions {
        db: Some(db.clone()),
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };

    // Running containers only: the created privileged one is absent.
    let report = inspect(&mut engine, &opts).unwrap();
    let names: BTreeSet<&str> = report
        .containers
        .iter()
        .map(|c| c.facts.name.as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["clean", "planted"]));
    let planted = ids(&report, "planted");
    for id in [
        "runtime.root-user",
        "runtime.added-capabilities",
        "runtime.engine-socket",
        "runtime.writable-rootfs",
        "runtime.port-all-interfaces",
        "runtime.no-memory-limit",
        "runtime.no-pids-limit",
        "runtime.unexpected-process",
        "runtime.network-egress",
    ] {
        assert!(planted.contains(id), "planted lacks {id}: {planted:?}");
    }
    assert!(!planted.contains("runtime.privileged"), "{planted:?}");
    assert!(!planted.contains("runtime.host-network"), "{planted:?}");
    let c = report
        .containers
        .iter()
        .find(|c| c.facts.name == "planted")
        .unwrap();
    assert_eq!(c.facts.id, planted_id);
    assert_eq!(c.facts.image_id, image_id);
    let find = |id: &str| c.checks.iter().find(|f| f.id == id).unwrap();
    assert!(find("runtime.unexpected-process")
        .message
        .contains("sleep 31337"));
    assert!(!find("runtime.unexpected-process")
        .message
        .contains("\"sleep infinity\" (pid"));
    assert_eq!(
        find("runtime.added-capabilities").evidence.as_deref(),
        Some("NET_ADMIN")
    );
    assert!(find("runtime.port-all-interfaces")
        .message
        .contains(&format!("0.0.0.0:{port}")));
    assert!(find("runtime.engine-socket").message.contains(&sock));
    assert_eq!(find("runtime.engine-socket").severity, Severity::Critical);
    // Only one unexpected process: the main one and nothing else is expected.
    assert_eq!(
        c.checks
            .iter()
            .filter(|f| f.id == "runtime.unexpected-process")
            .count(),
        1
    );

    assert_eq!(
        ids(&report, "clean"),
        BTreeSet::new(),
        "the clean container has findings"
    );

    // The image was exported by the engine and scanned: the fixture's curl is vulnerable
    // by the tracker's data.
    let img = &report.images[&image_id];
    assert_eq!(img.source.as_deref(), Some("export"), "{:?}", img.error);
    let scan = img.report.as_ref().unwrap();
    assert!(scan.packages_scanned > 50, "{}", scan.packages_scanned);
    let curl = std::fs::read_to_string(fx.join("child-curl-version")).unwrap();
    assert!(
        scan.findings
            .iter()
            .any(|f| f.package.name == "curl" && f.package.version == curl.trim()),
        "no curl finding in {:?}",
        scan.findings
            .iter()
            .map(|f| (&f.id, &f.package.name))
            .collect::<Vec<_>>()
    );
    assert!(cache
        .join("inventories")
        .join(format!("{}.json", image_id.trim_start_matches("sha256:")))
        .exists());

    // Default gate: only the engine socket blocks (critical); the clean one passes.
    assert!(report.failed());
    let planted_blocks = &report
        .containers
        .iter()
        .find(|c| c.facts.name == "planted")
        .unwrap()
        .blocking;
    assert_eq!(planted_blocks.len(), 1, "{planted_blocks:?}");
    assert!(planted_blocks[0]
        .subject
        .starts_with("runtime.engine-socket"));

    // Renderings: JSON round-trips, SARIF has a run per container with the runtime rule.
    let mut json = Vec::new();
    render(&report, Format::Json, &mut json).unwrap();
    let back: RuntimeReport = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.containers.len(), 2);
    let mut sarif = Vec::new();
    render(&report, Format::Sarif, &mut sarif).unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&sarif).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 2);
    assert!(sarif.to_string().contains("runtime.engine-socket"));
    let mut table = Vec::new();
    render(&report, Format::Table, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("runtime.engine-socket") && table.contains("[blocking]"),
        "{table}"
    );

    // All containers: the created privileged one, found by its setting; the second run
    // reads the image's inventory from the cache.
    let all = inspect(
        &mut engine,
        &RuntimeOptions {
            all: true,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(all.containers.len(), 3);
    assert!(ids(&all, "privileged").contains("runtime.privileged"));
    assert_eq!(all.images[&image_id].source.as_deref(), Some("cache"));
    assert_eq!(
        all.images[&image_id].report.as_ref().unwrap().findings,
        scan.findings,
        "the cached inventory matches as the export did"
    );

    // A policy stage that blocks running as root and images outside its trusted list,
    // allowing the socket.
    let policy = patchline_policy::parse_policy(
        "stages:\n  runtime:\n    fail_on: critical\n    checks:\n      deny: [runtime.root-user, runtime.untrusted-image]\n      allow: [runtime.engine-socket]\ntrusted_images:\n  - pattern: docker.io/library/other:*\n",
        "policy.yaml",
    )
    .unwrap();
    let gated = inspect(
        &mut engine,
        &RuntimeOptions {
            gate: Gate::from_policy(&policy, policy.stage("runtime").unwrap()),
            ..opts.clone()
        },
    )
    .unwrap();
    let planted_gated = gated
        .containers
        .iter()
        .find(|c| c.facts.name == "planted")
        .unwrap();
    assert!(planted_gated
        .blocking
        .iter()
        .any(|b| b.rule == "checks deny runtime.root-user"));
    assert!(planted_gated
        .blocking
        .iter()
        .any(|b| b.rule == "checks deny runtime.untrusted-image"
            && b.subject.contains("docker.io/library/child:1")));
    assert!(ids(&gated, "clean").contains("runtime.untrusted-image"));
    assert!(!ids(&report, "clean").contains("runtime.untrusted-image"));
    assert!(!planted_gated
        .blocking
        .iter()
        .any(|b| b.subject.starts_with("runtime.engine-socket")));

    // --enforce stops the blocking container, leaves the clean one running.
    let mut enforced = inspect(&mut engine, &opts).unwrap();
    enforce(&engine, &mut enforced, 1);
    assert_eq!(enforced.actions.len(), 1, "{:?}", enforced.actions);
    assert_eq!(enforced.actions[0].name, "planted");
    assert_eq!(enforced.actions[0].outcome, "stopped");
    assert!(enforced.actions[0].reasons[0].contains("runtime.engine-socket"));
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Running}}", "planted"]),
        "false"
    );
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Running}}", "clean"]),
        "true"
    );
    let after = inspect(&mut engine, &opts).unwrap();
    assert!(!after.failed(), "only the clean container still runs");
}

#[test]
fn an_unreachable_engine_is_a_clear_error_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("no.sock");
    let err = Engine::connect(&format!("unix://{}", sock.display()), 5)
        .err()
        .expect("no engine there");
    let text = err.to_string();
    assert!(text.contains(&sock.display().to_string()), "{text}");
    assert!(text.contains("cannot reach the Docker Engine"), "{text}");
    // A file that is no socket.
    std::fs::write(&sock, b"x").unwrap();
    let text = Engine::connect(&format!("unix://{}", sock.display()), 5)
        .err()
        .expect("not an engine")
        .to_string();
    assert!(text.contains(&sock.display().to_string()), "{text}");
    let bad = Engine::connect("ftp://example", 5)
        .err()
        .unwrap()
        .to_string();
    assert!(bad.contains("--host"), "{bad}");
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
