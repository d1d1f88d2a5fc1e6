//! `/images/{id}/download/{format}`: the image's documents as attachments, for the
//! dashboard's cookie (which does not authenticate the API).
//!
//! - `cyclonedx`, `spdx`: the stored inventory rendered as `GET
//!   /api/v1/images/{digest}/inventory?format=` renders it
//!   ([`crate::api::images::render_inventory`]: same bytes);
//! - `sarif`, `json`: a scan report of the image's open findings as stored (each the
//!   report's own finding document), in risk order (KEV, severity, CVSS), with the
//!   inventory's image and distro and the advisory DB of the last scan, rendered by
//!   patchline-report like `patchline scan --format sarif|json`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use patchline_model::vuln::{DbInfo, Finding};
use patchline_report::{SbomFormat, ScanFormat};

use super::{fail, not_found, require_read, SEVERITY_RANK};
use crate::api::hierarchy::empty_report;
use crate::api::images::render_inventory;
use crate::api::ApiError;
use crate::db::Tx;
use crate::params;
use crate::state::AppState;
use crate::web::layout::Nav;
use crate::web::session::{visible_images, Viewer};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    CycloneDx,
    Spdx,
    Sarif,
    Json,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "cyclonedx" => Format::CycloneDx,
            "spdx" => Format::Spdx,
            "sarif" => Format::Sarif,
            "json" => Format::Json,
            _ => return None,
        })
    }
    fn content_type(self) -> &'static str {
        match self {
            Format::CycloneDx => "application/vnd.cyclonedx+json",
            Format::Spdx => "application/spdx+json",
            Format::Sarif => "application/sarif+json",
            Format::Json => "application/json",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Format::CycloneDx => "cdx.json",
            Format::Spdx => "spdx.json",
            Format::Sarif => "sarif",
            Format::Json => "scan.json",
        }
    }
}

/// A file name from a reference: letters, digits, `.`, `-`, `_` only (the rest becomes
/// `_`), so the header needs no quoting rules beyond the quotes.
fn file_name(reference: &str, digest: &str, f: Format) -> String {
    let repo = reference.rsplit('/').next().unwrap_or(reference);
    let repo = repo.split('@').next().unwrap_or(repo);
    let clean: String = repo
        .chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hex = digest.split_once(':').map(|(_, h)| h).unwrap_or(digest);
    let short: String = hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("{clean}-{short}.{}", f.suffix())
}

pub async fn download(
    State(s): State<AppState>,
    viewer: Viewer,
    Path((id, format)): Path<(String, String)>,
) -> Response {
    if let Err(r) = require_read(&viewer) {
        return r;
    }
    let (Ok(id), Some(f)) = (id.parse::<i64>(), Format::parse(&format)) else {
        return not_found(&viewer, Nav::Images, "This download");
    };
    let v2 = viewer.clone();
    let found =
        s.db.run_read(move |tx| -> Result<Option<(String, Vec<u8>)>, ApiError> {
            let visible = visible_images(tx, &v2)?;
            if visible.as_ref().is_some_and(|v| !v.contains(&id)) {
                return Ok(None);
            }
            document(tx, id, f)
        })
        .await;
    match found {
        Ok(Some((name, bytes))) => {
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(f.content_type()),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        Ok(None) => not_found(&viewer, Nav::Images, "This image or its inventory"),
        Err(e) => fail(e),
    }
}

/// The document's file name and bytes; `None` without the image or its inventory.
fn document(tx: &mut dyn Tx, id: i64, f: Format) -> Result<Option<(String, Vec<u8>)>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT i.digest, i.reference, v.updated_at FROM images i JOIN inventories v ON v.image_id = i.id
         WHERE i.id = ? AND i.deleted_at IS NULL",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let (digest, reference, updated) = (row.string(0)?, row.string(1)?, row.i64(2)?);
    let catalogued = tx
        .query_opt(
            "SELECT reference FROM catalog_entries WHERE image_id = ? ORDER BY reference LIMIT 1",
            params![id],
        )?
        .map(|r| r.string(0))
        .transpose()?;
    let name = file_name(catalogued.as_deref().unwrap_or(&reference), &digest, f);
    let Some(inv) = crate::store::load_inventory(tx, id)? else {
        return Ok(None);
    };
    let bytes = match f {
        Format::CycloneDx => render_inventory(&inv, &digest, updated, SbomFormat::CycloneDx)?,
        Format::Spdx => render_inventory(&inv, &digest, updated, SbomFormat::Spdx)?,
        Format::Sarif | Format::Json => {
            let mut findings = Vec::new();
            for r in tx.query(
                &format!(
                    "SELECT f.doc FROM findings f WHERE f.image_id = ? AND f.state = 'open' AND f.doc IS NOT NULL
                     ORDER BY f.kev DESC, {SEVERITY_RANK}, COALESCE(f.cvss, 0) DESC, f.vuln_id, f.package"
                ),
                params![id],
            )? {
                if let Ok(finding) = serde_json::from_str::<Finding>(r.str(0)?) {
                    findings.push(finding);
                }
            }
            let db_built = tx
                .query_opt(
                    "SELECT db_built FROM scans WHERE image_id = ? ORDER BY started_at DESC, id DESC LIMIT 1",
                    params![id],
                )?
                .and_then(|r| r.opt_string(0).ok().flatten());
            let mut report = empty_report(findings);
            report.image = inv.image.clone();
            report.distro = inv.distro.clone();
            report.packages_scanned = inv.packages.len();
            report.inventory_complete = inv.complete;
            report.db = DbInfo {
                updated_at: db_built,
                ..DbInfo::default()
            };
            let format = if f == Format::Sarif {
                ScanFormat::Sarif
            } else {
                ScanFormat::Json
            };
            let opts = patchline_report::RenderOptions {
                timestamp: time::OffsetDateTime::from_unix_timestamp(updated).ok(),
                ..Default::default()
            };
            let mut out = Vec::new();
            patchline_report::render_scan(&report, format, &opts, &mut out)
                .map_err(|e| ApiError::internal(format!("rendering the report: {e}")))?;
            out
        }
    };
    Ok(Some((name, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(
            file_name(
                "r.example/shop/app:1.0",
                "sha256:0123456789abcdef",
                Format::Sarif
            ),
            "app_1.0-0123456789ab.sarif"
        );
        assert_eq!(
            file_name("x/\"evil\";\r\n", "sha256:zz", Format::CycloneDx),
            "_evil____-.cdx.json"
        );
    }
}
