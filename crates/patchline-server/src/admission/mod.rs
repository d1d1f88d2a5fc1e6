//! `POST /k8s/admission`: a Kubernetes validating admission webhook (AdmissionReview
//! `admission.k8s.io/v1`) judging the images a workload would run by the policy's
//! `runtime` stage and the store's findings.
//!
//! # Format
//!
//! The API server posts `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
//! "request":{"uid", "kind", "operation", "object", ...}}` and expects the same
//! apiVersion/kind back with `response.uid` echoing the request's, `allowed`, and on a
//! denial `status.code`/`status.message`; `warnings` are shown to the client (kubectl
//! prints them) whatever the decision. Only `v1` is accepted: `v1beta1` was removed in
//! Kubernetes 1.22, and answering it in the v1 shape would be rejected by the server.
//!
//! Objects judged: Pods, and the pod templates of Deployments, ReplicaSets,
//! StatefulSets, DaemonSets, Jobs (`spec.template`) and CronJobs
//! (`spec.jobTemplate.spec.template`); every container, init container and ephemeral
//! container. CREATE and UPDATE are judged; DELETE and CONNECT are allowed (nothing new
//! runs). Other kinds are allowed: the webhook's rules should not send them.
//!
//! # Authentication
//!
//! The API server authenticates *us* (the caBundle); it presents no bearer token, and
//! client certificates are not configured here, so this one route is unauthenticated.
//! It reads nothing beyond decisions about images named in the request, writes nothing,
//! and is bounded: the body by `[admission] max_body` (read up to the bound, never
//! more), the JSON nesting by serde_json's recursion limit (128), containers per review
//! by [`MAX_CONTAINERS`]. Every other route keeps its token.
//!
//! # Budget
//!
//! The API server waits `timeoutSeconds` (10 s default) and then applies the webhook's
//! `failurePolicy`. The store lookups run under `[admission] budget` (2 s default); when
//! it runs out the answer is the `never_scanned` one (deny or warn), naming the budget,
//! so a slow store gives a decided answer rather than the cluster-wide failure policy.

pub mod decide;
pub mod review;
pub mod tls;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// Containers judged per review at most (a pod has a handful; this bounds the work).
pub const MAX_CONTAINERS: usize = 256;

/// What to do with an image the store never scanned (or could not decide in time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Deny,
    Warn,
}

/// `[admission]` in `patchline.toml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// An HTTPS listener (`0.0.0.0:8443`) serving the same application, for the API
    /// server to call; needs `cert` and `key`.
    pub listen: Option<String>,
    /// PEM certificate chain and private key of the HTTPS listener.
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    /// An image never scanned, or not decided within the budget: `deny` or `warn`.
    pub never_scanned: Mode,
    /// An image whose base is not trusted (when the stage sets `trusted_bases`).
    pub untrusted: Mode,
    /// A tag not pinned by digest: `warn` (default) or `deny`.
    pub unpinned: Mode,
    /// Time the store lookups may take (`2s`); keep it well under `timeoutSeconds`.
    pub budget: String,
    /// Largest AdmissionReview accepted, bytes.
    pub max_body: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            listen: None,
            cert: None,
            key: None,
            never_scanned: Mode::Deny,
            untrusted: Mode::Deny,
            unpinned: Mode::Warn,
            budget: "2s".into(),
            // etcd keeps objects up to 1.5 MiB; an UPDATE carries object and oldObject.
            max_body: 4 << 20,
        }
    }
}

impl AdmissionConfig {
    /// `budget` as a duration: `1500ms` or `2s` (checked at start by [`Self::check`]).
    pub fn budget(&self) -> Duration {
        parse_budget(&self.budget).unwrap_or(Duration::from_secs(2))
    }

    /// Refuses a setting that cannot work, naming it.
    pub fn check(&self) -> anyhow::Result<()> {
        match parse_budget(&self.budget) {
            Some(d) if d <= Duration::from_secs(25) => {}
            _ => anyhow::bail!(
                "[admission] budget = {:?}: expected milliseconds or seconds under the webhook's timeoutSeconds (at most 30 s), e.g. \"2s\" or \"1500ms\"",
                self.budget
            ),
        }
        if self.listen.is_some() != (self.cert.is_some() && self.key.is_some()) {
            anyhow::bail!("[admission] listen, cert and key go together (PEM files)");
        }
        Ok(())
    }
}

fn parse_budget(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/k8s/admission", post(admit))
}

fn bad_request(message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": {"code": "bad_request", "message": message.into()}});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn admit(State(server): State<AppState>, body: Body) -> Response {
    let cfg = server.config.admission.clone();
    let bytes = match axum::body::to_bytes(body, cfg.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return bad_request(format!(
                "AdmissionReview: body larger than {} bytes ([admission] max_body) or unreadable",
                cfg.max_body
            ))
        }
    };
    let req = match review::parse(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("AdmissionReview: {e}")),
    };
    let started = Instant::now();
    let mut verdict = if req.images.is_empty() {
        decide::Verdict::default()
    } else {
        let s = server.clone();
        let images = req.images.clone();
        let work = server.db.run_read(move |tx| decide::judge(tx, &s, &images));
        let budget = cfg.budget();
        match tokio::time::timeout(budget, work).await {
            // A decision arriving past the budget (the timer's granularity) is not used
            // either: the budget is what the answer time is held to.
            Ok(Ok(v)) if started.elapsed() <= budget => v,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "admission: store lookup failed");
                // The reason stays in the log: this route is unauthenticated.
                decide::Verdict::undecided(cfg.never_scanned, "the store could not be read".into())
            }
            Ok(Ok(_)) | Err(_) => decide::Verdict::undecided(
                cfg.never_scanned,
                format!("no decision within the admission budget of {}", cfg.budget),
            ),
        }
    };
    verdict.warnings.extend(req.pod_warnings.iter().cloned());
    tracing::info!(
        uid = %req.uid,
        allowed = verdict.denials.is_empty(),
        ms = started.elapsed().as_millis() as u64,
        "admission review"
    );
    Json(review::respond(&req.uid, &verdict)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_settings() {
        assert_eq!(parse_budget("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_budget(" 2s "), Some(Duration::from_secs(2)));
        // A bare number would be days to the server's other durations: refused here.
        assert_eq!(parse_budget("2"), None);
        let mut c = AdmissionConfig::default();
        assert!(c.check().is_ok());
        c.budget = "1m".into();
        assert!(c.check().unwrap_err().to_string().contains("budget"));
        c.budget = "2s".into();
        c.listen = Some("0.0.0.0:8443".into());
        assert!(c.check().unwrap_err().to_string().contains("cert and key"));
    }
}
