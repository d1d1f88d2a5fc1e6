//! What every handler and worker shares.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;

/// The server's shared state; handlers get it as [`AppState`].
pub struct Server {
    pub db: Db,
    pub config: Config,
    /// `--no-auth`: every request (the registry hook's included) acts as an admin. Only
    /// allowed on a loopback listen address.
    pub no_auth: bool,
    /// The advisory database rescans and scans match against.
    pub advisory_db: PathBuf,
    /// Local state: the layer cache, the embedded store.
    pub data_dir: PathBuf,
    /// This process's name in job leases and logs (`host:pid:random`).
    pub instance: String,
    pub metrics: Metrics,
    stopping: AtomicBool,
    /// Wakes async waiters (the HTTP server, schedulers) when shutdown begins.
    pub shutdown: tokio::sync::Notify,
}

pub type AppState = Arc<Server>;

impl Server {
    pub fn new(db: Db, config: Config, no_auth: bool, advisory_db: PathBuf) -> Server {
        let data_dir = config.data_dir();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let instance = format!(
            "{host}:{}:{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Server {
            db,
            config,
            no_auth,
            advisory_db,
            data_dir,
            instance,
            metrics: Metrics::default(),
            stopping: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
        }
    }

    /// True once shutdown began: stop claiming work.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
    }
}
