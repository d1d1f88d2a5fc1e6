//! Watching registries: push events (Distribution's notification envelope, Harbor's
//! webhook), the scheduled sync of catalogs and tags, and the scan job that pulls an
//! image, scans it with the scan library and stores its inventory, findings and place in
//! the hierarchy.

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::jobs::{Job, JobResult};
use crate::state::{AppState, Server};

/// `POST /api/v1/hooks/registry` and the registry routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Pulls and scans one digest (payload: see the module).
pub fn scan_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("scan job {}: not built yet", job.id)
}

/// Walks one registry's catalog and tags, enqueuing digests not scanned yet.
pub fn sync_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("sync job {}: not built yet", job.id)
}
