//! Rescans without pulling: when the advisory DB changes, only stored inventories holding
//! a changed (ecosystem, package) are rematched, and each image's delta (new, resolved,
//! changed severity or KEV) is stored and handed to notifications and campaigns.

use std::sync::Arc;

use crate::jobs::{Job, JobResult};
use crate::state::Server;

/// Rematches the images a set of changed advisory keys touches.
pub fn rescan_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("rescan job {}: not built yet", job.id)
}

/// Updates the advisory DB from the network feeds, then enqueues the rescan of what changed.
pub fn db_update_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("db-update job {}: not built yet", job.id)
}

/// Notices a new advisory DB snapshot and enqueues the rescan of what changed.
pub fn db_watch_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("db-watch job {}: not built yet", job.id)
}
