//! Start-up, workers, schedules, the HTTP server and graceful shutdown.
//!
//! # Roles and scale-out
//!
//! One process does everything by default (`role = "all"`): the API, `workers` worker
//! threads and a scheduler, on the embedded SQLite store. To outgrow one machine, point
//! every process at one PostgreSQL store (`store = "postgres://..."`) and run as many as
//! needed of each role:
//!
//! - `--role api`: serves the REST API, the registry hook, health and metrics; enqueues
//!   jobs, runs none. Stateless: put any number behind a load balancer (readiness says
//!   when one may take traffic).
//! - `--role worker`: claims and runs jobs (scans, syncs, rematches, deliveries) and runs
//!   the scheduler; serves no HTTP. Stateless too: the queue, the leases and every result
//!   live in the store, so workers are added or removed at any time.
//! - `--role all`: both.
//!
//! Every process migrates the store at start (an advisory lock serialises them on
//! PostgreSQL), so a rolling upgrade starts the new version's processes first; a migration
//! only adds. Workers claim with `FOR UPDATE SKIP LOCKED` and hold leases kept by a
//! heartbeat (see [`crate::jobs`]): a worker that dies is replaced by the lease running out,
//! not by any coordination. Each process's scheduler asks the store whether a period's job
//! is due ([`jobs::schedule_due`]), so periodic jobs are enqueued once however many run.
//!
//! # Shutdown
//!
//! On SIGTERM or Ctrl-C: readiness turns false (`/readyz` 503, so a load balancer stops
//! sending), workers stop claiming (a job claimed but not started is released to the
//! queue), each finishes the job in hand, the HTTP server drains its connections, then the
//! process exits. A job that outlives the grace period ([`DEFAULT_GRACE`],
//! [`Running::stop_within`]) is left running until the process exits: it keeps its lease,
//! which runs out, and another worker takes the job over.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{self, Config};
use crate::db::Db;
use crate::jobs::{self, Enqueue, Job};
use crate::state::Server;

/// How long shutdown waits for the jobs in hand before the process exits anyway.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Under [`run`], how long an API process answers with readiness false after SIGTERM
/// before it proceeds with shutdown, so load balancers stop sending first.
pub const READINESS_DRAIN: Duration = Duration::from_secs(2);

/// How long the HTTP server may take to drain its connections once it stops accepting.
const HTTP_DRAIN: Duration = Duration::from_secs(10);

/// What `patchline serve` was asked to do beyond the config.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub no_auth: bool,
}

/// Loads a catalog YAML (images, tiers, owners, teams and their channels) into the store:
/// the declarations and the teams in one transaction.
pub fn load_catalog(server: &Server, path: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the catalog {}", path.display()))?;
    let (images, teams) = server
        .db
        .tx(|tx| -> crate::db::Result<(usize, usize)> {
            let images = crate::lineage::import_yaml(tx, &text)?;
            let teams = crate::notify::teams::import(tx, &text)?;
            Ok((images.len(), teams.len()))
        })
        .with_context(|| format!("loading the catalog {}", path.display()))?;
    tracing::info!(catalog = %path.display(), images, teams, "catalog loaded");
    Ok(())
}

/// Opens and migrates the store named by the config.
pub fn open_store(config: &Config) -> anyhow::Result<Db> {
    let db = Db::open(&config.store_url(), config.store_pool)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(store = %db.describe(), versions = ?applied, "store migrated");
    }
    // A newer patchline migrated this store: this one does not know its tables' meaning.
    let known = crate::db::MIGRATIONS.last().map_or(0, |m| m.version);
    let at = db.schema_version()?;
    if at > known {
        anyhow::bail!(
            "the store {} is at schema version {at}, newer than this patchline knows ({known}): run the newer patchline (a store is never migrated down)",
            db.describe()
        );
    }
    Ok(db)
}

/// The advisory DB the server matches against.
pub fn advisory_db_path(config: &Config) -> anyhow::Result<PathBuf> {
    match &config.db {
        Some(p) => Ok(p.clone()),
        None => Ok(patchline_advisory::default_path()?),
    }
}

/// Refuses `--no-auth` unless the server listens on loopback only.
pub fn check_no_auth(config: &Config, opts: &ServeOptions) -> anyhow::Result<()> {
    if opts.no_auth {
        let addr = config.listen_addr()?;
        if !addr.ip().is_loopback() {
            anyhow::bail!(
                "--no-auth is refused on {}: without authentication the server may only listen on loopback (127.0.0.1 or ::1)",
                config.listen
            );
        }
    }
    Ok(())
}

/// Runs the server until SIGTERM/Ctrl-C.
pub fn run(config: Config, opts: ServeOptions) -> anyhow::Result<()> {
    let mut running = start(config, opts)?;
    running.drain = READINESS_DRAIN;
    eprintln!(
        "patchline serve: listening on http://{}/ (store {})",
        running
            .addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into()),
        running.server.db.describe()
    );
    running.runtime.block_on(wait_for_signal());
    tracing::info!("shutdown: no new jobs; finishing the ones in hand");
    running.stop_within(DEFAULT_GRACE);
    Ok(())
}

/// A started server: its address (when it serves the API), its shared state, and what
/// [`Running::stop`] winds down.
pub struct Running {
    pub server: Arc<Server>,
    /// The bound address (port 0 in the config picks a free one).
    pub addr: Option<std::net::SocketAddr>,
    runtime: tokio::runtime::Runtime,
    http: Option<tokio::task::JoinHandle<()>>,
    http_stop: Option<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// How long the API goes on answering, readiness false, before shutdown proceeds
    /// ([`READINESS_DRAIN`] under [`run`]; none by default, for tests).
    pub drain: Duration,
}

impl Running {
    /// `http://ADDR` of the API.
    pub fn url(&self) -> String {
        format!(
            "http://{}",
            self.addr.expect("this server does not serve the API")
        )
    }

    /// Graceful shutdown: readiness goes false, workers finish the job in hand and stop
    /// claiming, the HTTP server drains; returns when all of it has stopped.
    pub fn stop(self) {
        self.stop_within(Duration::from_secs(u64::MAX / 4));
    }

    /// [`Running::stop`], waiting at most `grace` for the workers' jobs in hand; returns
    /// false when some were still running then. Those threads are left running (they end
    /// with the process); their jobs keep their leases, which run out, and another worker
    /// takes them over.
    pub fn stop_within(mut self, grace: Duration) -> bool {
        self.server.begin_shutdown();
        let deadline = Instant::now().checked_add(grace);
        if self.http.is_some() && !self.drain.is_zero() {
            // Readiness is false from here: give load balancers the time to see it while
            // the API still answers.
            std::thread::sleep(self.drain.min(grace));
        }
        let mut all = true;
        for t in self.threads.drain(..) {
            while !t.is_finished() && deadline.is_none_or(|d| Instant::now() < d) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                all = false;
                tracing::warn!(
                    thread = t.thread().name().unwrap_or("?"),
                    "still running after the grace period; its job keeps its lease and will be taken over"
                );
            }
        }
        // The API answered (with readiness false) while the workers finished; now it
        // stops accepting and drains its connections.
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.http.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(HTTP_DRAIN, h).await });
        }
        if all {
            tracing::info!("stopped");
        }
        // The runtime's own threads: do not wait for a handler stuck on I/O either.
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        all
    }
}

/// Opens and migrates the store, starts the workers and the scheduler (role worker or
/// all) and the HTTP server (role api or all), and returns without waiting.
pub fn start(config: Config, opts: ServeOptions) -> anyhow::Result<Running> {
    check_no_auth(&config, &opts)?;
    let db = open_store(&config)?;
    let advisory_db = advisory_db_path(&config)?;
    let server = Arc::new(Server::new(db, config, opts.no_auth, advisory_db));
    if let Some(path) = server.config.catalog.clone() {
        load_catalog(&server, &path)?;
    }
    if server.config.role.serves_api() {
        crate::auth::bootstrap(&server)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("patchline-http")
        .build()
        .context("starting the async runtime")?;
    let role = server.config.role;
    let mut threads = Vec::new();
    if role.runs_workers() {
        for i in 0..server.config.workers {
            let s = server.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("patchline-worker-{i}"))
                    .spawn(move || worker_loop(&s))
                    .context("starting a worker thread")?,
            );
        }
        let s = server.clone();
        threads.push(
            std::thread::Builder::new()
                .name("patchline-scheduler".into())
                .spawn(move || scheduler_loop(&s))
                .context("starting the scheduler")?,
        );
    }
    let (addr, http) = if role.serves_api() {
        let addr = server.config.listen_addr()?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("listening on {addr}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(listen = %addr, store = %server.db.describe(), role = ?role, "patchline serve ready");
        crate::admission::tls::spawn(&runtime, &server)?;
        let app = crate::api::router(server.clone());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let http = runtime.spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "HTTP server");
            }
        });
        (Some(addr), Some((http, stop_tx)))
    } else {
        tracing::info!(store = %server.db.describe(), "patchline worker ready");
        (None, None)
    };
    let (http, http_stop) = match http {
        Some((h, s)) => (Some(h), Some(s)),
        None => (None, None),
    };
    if role == crate::config::Role::Api && server.db.backend() == crate::db::Backend::Sqlite {
        tracing::warn!(
            "role api on a SQLite store: no worker in this process runs the jobs the API enqueues; run a worker process on the same file, or use role all"
        );
    }
    Ok(Running {
        server,
        addr,
        runtime,
        http,
        http_stop,
        threads,
        drain: Duration::ZERO,
    })
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Claims and runs jobs until shutdown.
pub fn worker_loop(server: &Arc<Server>) {
    let lease = server.config.job_lease().as_secs().max(5) as i64;
    let owner = format!(
        "{}:{}",
        server.instance,
        std::thread::current().name().unwrap_or("worker")
    );
    while !server.stopping() {
        let claimed = server.db.tx(|tx| jobs::claim(tx, &owner, lease, None));
        match claimed {
            Ok(Some(job)) if server.stopping() => {
                // Shutdown began while claiming: give it back rather than start it.
                if let Err(e) = server.db.tx(|tx| jobs::release(tx, job.id, &owner)) {
                    tracing::warn!(job = job.id, error = %e, "releasing a job at shutdown (its lease will run out)");
                }
            }
            Ok(Some(job)) => run_job(server, &job, &owner, lease),
            Ok(None) => sleep_unless_stopping(server, Duration::from_millis(250)),
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job");
                sleep_unless_stopping(server, Duration::from_secs(2));
            }
        }
    }
}

fn run_job(server: &Arc<Server>, job: &Job, owner: &str, lease: i64) {
    let Some(handler) = jobs::handler(&job.kind) else {
        let _ = server.db.tx(|tx| {
            jobs::fail(
                tx,
                &Job {
                    attempts: job.max_attempts,
                    ..job.clone()
                },
                owner,
                "unknown job kind",
            )
        });
        return;
    };
    // The heartbeat keeps the lease while the handler runs.
    let done = Arc::new(AtomicBool::new(false));
    let hb = {
        let (server, done, owner, id) = (server.clone(), done.clone(), owner.to_string(), job.id);
        std::thread::spawn(move || {
            let every = Duration::from_secs((lease / 3).max(1) as u64);
            let mut last = Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                if last.elapsed() >= every {
                    last = Instant::now();
                    match server.db.tx(|tx| jobs::heartbeat(tx, id, &owner, lease)) {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = id, "lease lost"),
                        Err(e) => tracing::warn!(job = id, error = %e, "heartbeat"),
                    }
                }
            }
        })
    };
    let started = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(server, job)));
    done.store(true, Ordering::SeqCst);
    let _ = hb.join();
    let labels = crate::metrics::KindLabels {
        kind: job.kind.clone(),
    };
    let outcome = match result {
        Ok(Ok(())) => {
            server.metrics.jobs_finished.get_or_create(&labels).inc();
            server.db.tx(|tx| jobs::complete(tx, job.id, owner))
        }
        Ok(Err(e)) => {
            server.metrics.jobs_failed.get_or_create(&labels).inc();
            let msg = format!("{e:#}");
            tracing::warn!(job = job.id, kind = %job.kind, error = %msg, "job failed");
            server.db.tx(|tx| jobs::fail(tx, job, owner, &msg))
        }
        Err(_) => {
            server.metrics.jobs_failed.get_or_create(&labels).inc();
            tracing::error!(job = job.id, kind = %job.kind, "job panicked");
            server.db.tx(|tx| {
                jobs::fail(
                    tx,
                    job,
                    owner,
                    "the job panicked (a bug: see the server log)",
                )
            })
        }
    };
    match outcome {
        Ok(true) => {
            tracing::debug!(job = job.id, kind = %job.kind, secs = started.elapsed().as_secs_f64(), "job finished")
        }
        Ok(false) => tracing::warn!(job = job.id, "job finished after its lease was taken over"),
        Err(e) => tracing::warn!(job = job.id, error = %e, "recording a job's end"),
    }
}

fn sleep_unless_stopping(server: &Server, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !server.stopping() {
        std::thread::sleep(Duration::from_millis(50).min(d));
    }
}

/// Enqueues the periodic jobs when their time comes. Every worker process runs one; the
/// store's `job_schedules` decides which process enqueues each period's job
/// ([`jobs::schedule_due`]), and the dedupe key keeps one live job per schedule when a run
/// outlasts its period.
pub fn scheduler_loop(server: &Arc<Server>) {
    let s = &server.config.schedules;
    let mut plan: Vec<(String, &'static str, serde_json::Value, Option<Duration>)> = vec![
        (
            "db-watch".into(),
            jobs::kind::DB_WATCH,
            serde_json::json!({}),
            config::parse_schedule(&s.db_watch).ok().flatten(),
        ),
        (
            "db-update".into(),
            jobs::kind::DB_UPDATE,
            serde_json::json!({}),
            config::parse_schedule(&s.db_update).ok().flatten(),
        ),
        (
            "digest".into(),
            jobs::kind::DIGEST,
            serde_json::json!({}),
            config::parse_schedule(&s.digest).ok().flatten(),
        ),
        (
            "sla-check".into(),
            jobs::kind::SLA_CHECK,
            serde_json::json!({}),
            config::parse_schedule(&s.sla_check).ok().flatten(),
        ),
        (
            "retention".into(),
            jobs::kind::RETENTION,
            serde_json::json!({}),
            config::parse_schedule(&s.retention).ok().flatten(),
        ),
    ];
    let sync_every = config::parse_schedule(&s.sync).ok().flatten();
    for r in &server.config.registries {
        plan.push((
            format!("sync:{}", r.name()),
            jobs::kind::SYNC,
            serde_json::json!({ "registry": r.name() }),
            sync_every,
        ));
    }
    // When to ask the store next, per schedule: the due time it answered (another process
    // may have won the period), checked again at least every minute in case the clock of
    // the process that wrote it differs.
    let mut next: Vec<Instant> = plan.iter().map(|_| Instant::now()).collect();
    while !server.stopping() {
        for (i, (key, kind, payload, every)) in plan.iter().enumerate() {
            let Some(every) = every else { continue };
            if Instant::now() < next[i] {
                continue;
            }
            let every_secs = every.as_secs().max(1) as i64;
            let r = server.db.tx(|tx| -> crate::db::Result<(bool, i64)> {
                let (won, next_at) = jobs::schedule_due(tx, key, every_secs)?;
                if won {
                    jobs::enqueue(
                        tx,
                        kind,
                        payload,
                        Enqueue {
                            dedupe_key: Some(key),
                            ..Enqueue::default()
                        },
                    )?;
                }
                Ok((won, next_at))
            });
            match r {
                Ok((won, next_at)) => {
                    if won {
                        tracing::debug!(schedule = %key, "periodic job enqueued");
                    }
                    let wait = (next_at - crate::db::now()).clamp(1, 60) as u64;
                    next[i] = Instant::now() + Duration::from_secs(wait);
                }
                Err(e) => {
                    tracing::warn!(schedule = %key, error = %e, "scheduling");
                    next[i] = Instant::now() + Duration::from_secs(5);
                }
            }
        }
        sleep_unless_stopping(server, Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    #[test]
    fn a_store_newer_than_the_binary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: Some(dir.path().to_path_buf()),
            ..Config::default()
        };
        let db = open_store(&config).unwrap();
        db.tx(|tx| {
            tx.exec(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                params![9999i64, "future", 0i64],
            )
        })
        .unwrap();
        let e = open_store(&config).unwrap_err().to_string();
        assert!(e.contains("9999") && e.contains("newer"), "{e}");
    }
}
