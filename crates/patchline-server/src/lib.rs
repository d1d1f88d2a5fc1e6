//! `patchline serve`: the organisation-wide service on the scan library, the lineage
//! catalog and graph, the advisory DB and the policy stage.
//!
//! # Shape
//!
//! One process by default (API and workers, embedded SQLite store under
//! `$XDG_DATA_HOME/patchline/`); at scale any number of processes share a PostgreSQL
//! store, each with `--role api`, `worker` or both. All state is in the store; workers are
//! stateless but for a local layer cache.
//!
//! - [`config`]: `patchline.toml` and the environment.
//! - [`db`]: one SQL dialect over SQLite and PostgreSQL, pooled, with migrations.
//! - [`store`]: images, inventories, findings and the delta a scan makes.
//! - [`ingest`]: the one way a scan's result (pulled, uploaded) enters the store.
//! - [`lineage`]: the catalog entries (declared and resolved) and the graph built from them.
//! - [`jobs`]: the queue (claim with a lease, heartbeat, retry), workers and schedules.
//! - [`registry`]: push events (Distribution, Harbor), sync of catalogs and tags, the scan job.
//! - [`rescan`]: rematch stored inventories whose packages' advisories changed.
//! - [`notify`]: teams' channels (webhook, Slack, e-mail), fix-at-root attribution, once.
//! - [`campaigns`]: rebuild campaigns when a parent moves, closed by descendants' pushes.
//! - [`trusted`]: the governance team's approved external images.
//! - [`auth`], [`audit`]: API tokens and roles; the append-only audit log.
//! - [`api`]: the REST API under `/api/v1` and its OpenAPI document.
//! - [`web`]: the web dashboard (server-rendered HTML on the same store and tokens).
//! - [`serve`]: start-up, the HTTP server, graceful shutdown.
//!
//! The HTTP side is async (tokio, axum); everything under it is the synchronous library
//! code, reached through [`db::Db::run`] and worker threads.

pub mod admission;
pub mod api;
pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod config;
pub mod db;
pub mod harbor;
pub mod ingest;
pub mod jobs;
pub mod lineage;
pub mod metrics;
pub mod notify;
pub mod registry;
pub mod rescan;
pub mod serve;
pub mod state;
pub mod store;
pub mod trusted;
pub mod uploads;
pub mod web;

pub use config::Config;
pub use db::Db;
pub use state::{AppState, Server};
