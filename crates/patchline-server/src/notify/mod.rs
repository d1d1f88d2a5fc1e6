//! Telling the right owner, once: fix-at-root attribution of new findings, teams'
//! channels (signed generic webhook, Slack-compatible webhook, e-mail over SMTP), an
//! immediate message for KEV and critical findings and a digest for the rest.

use std::sync::Arc;

use crate::db::{Result, Tx};
use crate::jobs::{Job, JobResult};
use crate::state::Server;
use crate::store::Delta;

/// Called in the transaction that stored a scan's or a rematch's delta: queues the
/// notifications it calls for (each (finding, team) once, ever).
pub fn on_delta(_tx: &mut dyn Tx, _server: &Server, _delta: &Delta) -> Result<()> {
    Ok(())
}

/// Delivers one notification to its team's channels.
pub fn deliver_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("notify job {}: not built yet", job.id)
}

/// Sends each team the digest of its non-urgent findings.
pub fn digest_job(_server: &Arc<Server>, job: &Job) -> JobResult {
    anyhow::bail!("digest job {}: not built yet", job.id)
}
