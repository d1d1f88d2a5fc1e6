//! Rebuild campaigns: when a watched parent tag moves to a new digest (a patched base is
//! published) or a plan is accepted for a CVE, every descendant is tracked wave by wave
//! until it is rebuilt on the new parent and verified.

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::db::{Result, Tx};
use crate::jobs::{Job, JobResult};
use crate::state::{AppState, Server};

/// `/api/v1/campaigns`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// A tag moved from `old` to `new` (in the transaction that recorded the move).
pub fn on_tag_moved(
    _tx: &mut dyn Tx,
    _server: &Server,
    _registry: &str,
    _repository: &str,
    _tag: &str,
    _old: Option<&str>,
    _new: &str,
) -> Result<()> {
    Ok(())
}

/// An image was scanned (in the transaction that stored it): it may close its part of a
/// campaign.
pub fn on_image_scanned(_tx: &mut dyn Tx, _server: &Server, _image_id: i64) -> Result<()> {
    Ok(())
}

/// Items past their SLA are marked overdue and escalated.
pub fn sla_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("sla-check job {}: not built yet", job.id)
}
