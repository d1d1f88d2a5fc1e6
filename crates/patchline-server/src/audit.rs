//! The append-only audit log: every write through the API is recorded with who did it,
//! what, when, and the state before and after.

use serde::Serialize;

use crate::auth::Principal;
use crate::db::{now, Result, Tx};
use crate::params;

/// Records one write, in the caller's transaction (so the change and its record commit
/// together). `before`/`after` are the subject's JSON; secrets never go in them.
pub fn record<B: Serialize, A: Serialize>(
    tx: &mut dyn Tx,
    who: &Principal,
    action: &str,
    subject: &str,
    before: Option<&B>,
    after: Option<&A>,
    request_id: Option<&str>,
) -> Result<()> {
    let before = before.and_then(|b| serde_json::to_string(b).ok());
    let after = after.and_then(|a| serde_json::to_string(a).ok());
    tx.exec(
        "INSERT INTO audit_log (at, actor, action, subject, before_doc, after_doc, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![now(), who.actor(), action, subject, before, after, request_id],
    )?;
    Ok(())
}
