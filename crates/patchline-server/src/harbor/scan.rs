//! The [`KIND`](super::KIND) job: one Harbor scan request pulled with Harbor's credentials
//! and scanned the way the registry scan job scans (layer cache, advisory DB, the
//! server's governance), then stored through [`crate::ingest::store_scan`] as a `harbor`
//! scan of the image, in the same transaction that marks the request done and erases its
//! credential. A failure marks the request failed with the error (credential erased too)
//! and fails the job; it is not retried (see `max_attempts` where it is queued).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use patchline_image::RegistryOptions;
use patchline_inventory::NoProgress;
use patchline_model::Warning;
use patchline_scan::Input;
use serde::Deserialize;

use crate::db::{now, Tx};
use crate::jobs::{Job, JobResult};
use crate::params;
use crate::registry::scan::{registry_options, scan_options, NO_DB_WARNING};
use crate::registry::{reference, valid_digest, valid_repository};
use crate::state::Server;
use crate::store::ImageKey;

/// Longest error kept with a request (Harbor shows it).
const MAX_ERROR: usize = 2000;

#[derive(Debug, Deserialize)]
struct Payload {
    id: String,
}

struct Request {
    registry: String,
    repository: String,
    digest: String,
    tag: Option<String>,
    credential: Option<String>,
}

/// Runs one Harbor scan request.
pub fn scan_job(server: &Arc<Server>, job: &Job) -> JobResult {
    let p: Payload = job.payload()?;
    let id = p.id;
    let row = server.db.read(|tx| {
        tx.query_opt(
            "SELECT registry, repository, digest, tag, credential, state FROM harbor_scans WHERE id = ?",
            params![&id],
        )
    })?;
    let Some(row) = row else {
        // Dropped by retention before a worker got to it: nothing to do.
        return Ok(());
    };
    if row.str(5)? != "queued" {
        return Ok(());
    }
    let req = Request {
        registry: row.string(0)?,
        repository: row.string(1)?,
        digest: row.string(2)?,
        tag: row.opt_string(3)?,
        credential: row.opt_string(4)?,
    };
    let started_at = now();
    let started = Instant::now();
    match pull_and_scan(server, &req) {
        Ok((host, scan)) => {
            server.db.tx(|tx| -> crate::db::Result<()> {
                let key = ImageKey {
                    digest: req.digest.clone(),
                    registry: host.clone(),
                    repository: req.repository.clone(),
                    reference: reference(&host, &req.repository, req.tag.as_deref(), &req.digest),
                    source: "harbor".into(),
                };
                let refs = vec![key.reference.clone()];
                crate::ingest::store_scan(
                    tx,
                    server,
                    &key,
                    &refs,
                    &scan.inventory,
                    &scan.report,
                    // A pull like the registry scan job's; the image's source says Harbor.
                    "pull",
                    started_at,
                )?;
                finish(tx, &id, "done", None)
            })?;
            server
                .metrics
                .scan_seconds
                .observe(started.elapsed().as_secs_f64());
            Ok(())
        }
        Err(e) => {
            let msg: String = format!("{e:#}").chars().take(MAX_ERROR).collect();
            server.db.tx(|tx| finish(tx, &id, "failed", Some(&msg)))?;
            Err(e)
        }
    }
}

fn finish(tx: &mut dyn Tx, id: &str, state: &str, error: Option<&str>) -> crate::db::Result<()> {
    tx.exec(
        "UPDATE harbor_scans SET state = ?, error = ?, finished_at = ?, credential = NULL WHERE id = ?",
        params![state, error, now(), id],
    )?;
    Ok(())
}

/// Pulls and scans the request's image; returns the registry's `host[:port]` and the scan.
fn pull_and_scan(server: &Server, req: &Request) -> anyhow::Result<(String, patchline_scan::Scan)> {
    // Checked when the request was accepted; checked again because the config may have
    // changed since, and a job's payload is never trusted blindly.
    if !valid_repository(&req.repository) || !valid_digest(&req.digest) {
        anyhow::bail!(
            "invalid repository or digest {}@{}",
            patchline_model::quote_capped(&req.repository, 100),
            patchline_model::quote_capped(&req.digest, 100)
        );
    }
    let Some(reg) = super::api::registry_for(server, &req.registry) else {
        anyhow::bail!(
            "registry {} is not configured (any more)",
            patchline_model::quote_capped(&req.registry, 100)
        );
    };
    let host = reg.host().to_string();
    let registry = match &req.credential {
        Some(c) => {
            let (username, password) =
                super::api::basic_credentials(c).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            RegistryOptions {
                username: Some(username),
                password: Some(password),
                ..registry_options(reg)?
            }
        }
        None => registry_options(reg)?,
    };
    let opts = scan_options(server, registry)?;
    let have_db = opts.scanners.vuln;
    let input = Input::parse(&format!(
        "docker://{host}/{}@{}",
        req.repository, req.digest
    ));
    let mut scan = patchline_scan::scan(input, &opts, &NoProgress)
        .with_context(|| format!("scanning {host}/{}@{}", req.repository, req.digest))?;
    if !have_db {
        scan.report.warnings.push(Warning {
            source: "advisory-db".into(),
            location: server.advisory_db.display().to_string(),
            message: NO_DB_WARNING.into(),
        });
    }
    Ok((host, scan))
}
