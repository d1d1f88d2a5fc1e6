//! `POST /api/v1/feeds`: air-gapped sites update the advisory DB by uploading feed files
//! (any format `patchline db import` reads: an OSV record or array, osv.dev's `all.zip`,
//! the Debian tracker's JSON, KEV, EPSS, gzip or not). The body is streamed to a
//! temporary file under the data directory (at most [`MAX_FEED_UPLOAD`] bytes, never
//! held in memory), imported in place into the source named by `?source=` (default
//! `upload`: importing a source again replaces its records, so uploading each feed
//! under its `db update` name, `osv-Debian`, `debian-tracker`, mirrors it), and the
//! watch is run at once: the new generation's rescan is queued before the answer.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use crate::api::{ApiError, ApiResult};
use crate::auth::{Principal, Role};
use crate::state::AppState;

/// Largest feed upload accepted (osv.dev's largest `all.zip` is a few hundred MiB).
pub const MAX_FEED_UPLOAD: u64 = 2 << 30;

/// Bytes gathered before they are written out.
const WRITE_CHUNK: usize = 4 << 20;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(upload_feed))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The source the records replace (`osv-Debian`, `debian-tracker`, `kev`...):
    /// letters, digits and `._:-`, at most 100; default `upload`.
    pub source: Option<String>,
}

/// What an upload did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedUploaded {
    pub source: String,
    pub bytes: u64,
    /// Records read from the upload.
    pub advisories: u64,
    pub enrichments: u64,
    /// The advisory DB's generation after the import.
    pub generation: u64,
    /// The rescan job queued for it (none when one is already queued or running: the
    /// next watch covers this change).
    pub rescan_job: Option<i64>,
    pub warnings: Vec<String>,
}

fn valid_source(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Upload feed files into the advisory DB (admin or security).
#[utoipa::path(
    post,
    path = "/api/v1/feeds",
    tag = "advisories",
    params(FeedQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "A feed document or archive, as `patchline db import` reads it."),
    responses(
        (status = 200, description = "Imported; the rescan is queued.", body = FeedUploaded),
        (status = 400, description = "Not a feed this version reads, or malformed.", body = crate::api::error::ErrorBody),
        (status = 403, description = "Needs the admin or security role.", body = crate::api::error::ErrorBody),
        (status = 413, description = "Over the upload limit.", body = crate::api::error::ErrorBody),
    ),
    security(("token" = []))
)]
pub async fn upload_feed(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<FeedUploaded>> {
    principal.require(&[Role::Security])?;
    let source = q.source.unwrap_or_else(|| "upload".into());
    if !valid_source(&source) {
        return Err(ApiError::bad_request(
            "source: 1 to 100 letters, digits or ._:- expected",
        ));
    }
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let dir = state.data_dir.join("feed-uploads");
    let file = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || -> std::io::Result<tempfile::NamedTempFile> {
            std::fs::create_dir_all(&dir)?;
            tempfile::Builder::new().prefix("feed-").tempfile_in(&dir)
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("upload task: {e}")))?
    .map_err(|e| ApiError::internal(format!("creating a file under {}: {e}", dir.display())))?;

    // Streamed to the file in chunks: memory stays at WRITE_CHUNK whatever the size.
    let mut body = body;
    let mut file = Some(file);
    let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut bytes: u64 = 0;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let data: Option<Bytes> = match frame {
            None => None,
            Some(Err(e)) => return Err(ApiError::bad_request(format!("reading the upload: {e}"))),
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => Some(d),
                Err(_) => continue,
            },
        };
        if let Some(d) = &data {
            bytes += d.len() as u64;
            if bytes > MAX_FEED_UPLOAD {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("a feed upload is at most {MAX_FEED_UPLOAD} bytes"),
                ));
            }
            pending.extend_from_slice(d);
        }
        if pending.len() >= WRITE_CHUNK || (data.is_none() && !pending.is_empty()) {
            let chunk = std::mem::replace(&mut pending, Vec::with_capacity(WRITE_CHUNK));
            let mut f = file.take().expect("file kept between chunks");
            f = tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
                use std::io::Write;
                f.write_all(&chunk)?;
                Ok(f)
            })
            .await
            .map_err(|e| ApiError::internal(format!("upload task: {e}")))?
            .map_err(|e| ApiError::internal(format!("writing the upload: {e}")))?;
            file = Some(f);
        }
        if data.is_none() {
            break;
        }
    }
    if bytes == 0 {
        return Err(ApiError::bad_request("the upload is empty"));
    }
    let file = file.expect("file kept between chunks");
    let server = state.clone();
    let out = tokio::task::spawn_blocking(move || -> Result<FeedUploaded, ApiError> {
        let path = file.path().to_path_buf();
        let opts = patchline_advisory::ImportOptions {
            source: Some(source.clone()),
            ..Default::default()
        };
        let report = patchline_advisory::import_files(
            &server.advisory_db,
            std::slice::from_ref(&path),
            &opts,
        )
        .map_err(|e| {
            // The temporary name means nothing to the client.
            let msg = e
                .to_string()
                .replace(&path.display().to_string(), "the upload");
            match e {
                patchline_advisory::Error::Input { .. }
                | patchline_advisory::Error::UnknownFormat { .. }
                | patchline_advisory::Error::TooLarge { .. }
                | patchline_advisory::Error::Usage(_) => ApiError::bad_request(msg),
                _ => ApiError::internal(msg),
            }
        })?;
        drop(file);
        let total = report.total();
        let generation = patchline_advisory::AdvisoryDb::open(&server.advisory_db)
            .and_then(|a| a.generation())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut out = FeedUploaded {
            source: source.clone(),
            bytes,
            advisories: total.advisories() as u64,
            enrichments: (total.records.values().sum::<usize>() - total.advisories()) as u64,
            generation,
            rescan_job: None,
            warnings: report
                .warnings
                .iter()
                .map(|w| w.replace(&path.display().to_string(), "the upload"))
                .collect(),
        };
        server.db.tx(|tx| {
            crate::audit::record(
                tx,
                &principal,
                "feeds.upload",
                &format!("advisory-source:{source}"),
                None::<&()>,
                Some(&serde_json::json!({
                    "source": out.source, "bytes": out.bytes, "advisories": out.advisories,
                    "enrichments": out.enrichments, "generation": out.generation,
                })),
                request_id.as_deref(),
            )
        })?;
        out.rescan_job = super::watch(&server).map_err(|e| ApiError::internal(format!("{e:#}")))?;
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(format!("import task: {e}")))??;
    Ok(Json(out))
}
