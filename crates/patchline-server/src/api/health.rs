//! Liveness (`/healthz`: the process answers), readiness (`/readyz`: the store answers
//! and shutdown has not begun) and Prometheus metrics (`/metrics`, OpenMetrics text).
//!
//! The queue's gauges (`patchline_jobs{kind,state}`, the oldest queued job's wait) and the
//! advisory DB's age are read from the store and the DB at scrape time, so every API
//! process reports the same organisation-wide figures; the counters and histograms are
//! this process's own (sum them across processes).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::db::Tx;
use crate::jobs;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match state.db.run_read(|tx| tx.query_i64("SELECT 1", &[])).await {
        Ok(_) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut registry = prometheus_client::registry::Registry::default();
    state.metrics.register(&mut registry);
    match state.db.run_read(read_queue).await {
        Ok((counts, oldest)) => {
            let jobs = Family::<QueueLabels, Gauge>::default();
            // Every kind and state present, zero included, so a drained queue shows 0
            // rather than a series that vanished.
            let mut kinds: Vec<&str> = ALL_KINDS.to_vec();
            for (kind, _, _) in &counts {
                if !kinds.contains(&kind.as_str()) {
                    kinds.push(kind);
                }
            }
            for kind in kinds {
                for st in ["queued", "running", "failed"] {
                    let n = counts
                        .iter()
                        .find(|(k, s, _)| k == kind && s == st)
                        .map_or(0, |c| c.2);
                    jobs.get_or_create(&QueueLabels {
                        kind: kind.to_string(),
                        state: st.to_string(),
                    })
                    .set(n);
                }
            }
            registry.register(
                "patchline_jobs",
                "Jobs in the store's queue by kind and state (queued, running, failed for good)",
                jobs,
            );
            let g = Gauge::<i64>::default();
            g.set(oldest);
            registry.register(
                "patchline_jobs_oldest_queued_seconds",
                "Seconds the oldest runnable queued job has waited",
                g,
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: reading the queue"),
    }
    let path = state.advisory_db.clone();
    let age = tokio::task::spawn_blocking(move || advisory_db_age(&path))
        .await
        .ok()
        .flatten();
    if let Some(age) = age {
        let g = Gauge::<f64, AtomicU64>::default();
        g.set(age);
        registry.register(
            "patchline_advisory_db_age_seconds",
            "Seconds since the advisory database was last updated",
            g,
        );
    }
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    kind: String,
    state: String,
}

/// The kinds always shown (the drill's only when present).
const ALL_KINDS: &[&str] = &[
    jobs::kind::SCAN,
    jobs::kind::SYNC,
    jobs::kind::RESCAN,
    jobs::kind::DB_WATCH,
    jobs::kind::DB_UPDATE,
    jobs::kind::NOTIFY,
    jobs::kind::DIGEST,
    jobs::kind::SLA_CHECK,
    jobs::kind::RETENTION,
];

type QueueCounts = (Vec<(String, String, i64)>, i64);

fn read_queue(tx: &mut dyn Tx) -> crate::db::Result<QueueCounts> {
    Ok((jobs::queue_counts(tx)?, jobs::oldest_queued_secs(tx)?))
}

/// The advisory DB's age from its own `updated_at`; `None` when there is no DB yet (the
/// gauge is then absent, which an alert on `absent(...)` catches).
pub fn advisory_db_age(path: &std::path::Path) -> Option<f64> {
    if !path.is_file() {
        return None;
    }
    match patchline_advisory::AdvisoryDb::open(path).and_then(|db| db.age()) {
        Ok(age) => age.map(|d| d.as_secs_f64()),
        Err(e) => {
            tracing::warn!(db = %path.display(), error = %e, "metrics: advisory DB age");
            None
        }
    }
}
