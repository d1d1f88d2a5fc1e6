//! The reports Harbor reads: the `HarborVulnerabilityReport` and, under spec 1.2, the
//! `HarborSbomReport`, both built from what the scan stored (the image's findings and
//! inventory), so a report fetched after an advisory update and rematch shows the
//! findings as they are now.
//!
//! Each vulnerability carries what the spec has a field for (id, package, version,
//! fix_version, severity, description, links, preferred_cvss); the rest goes to
//! `vendor_attributes` (ecosystem, aliases, advisories, fix state, whose severity it is,
//! KEV, EPSS, purl, patchline's finding state) and `layer` (the blob digest and diff_id of
//! the layer that introduced the package, as Harbor's own model names it). Findings
//! resolved by a later scan are left out; findings under an approved exception are in
//! the report with `vendor_attributes.state = "suppressed"`.

use patchline_model::vuln::{Finding, Severity};
use serde_json::{json, Map, Value};

use super::{mime, HarborError};
use crate::db::{rfc3339, Tx};
use crate::params;

/// The scanner, as the metadata and every report name it.
pub fn scanner() -> Value {
    json!({"name": "patchline", "vendor": "patchline", "version": env!("CARGO_PKG_VERSION")})
}

/// An SBOM format Harbor may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomFormat {
    Spdx,
    CycloneDx,
}

impl SbomFormat {
    pub fn from_media_type(m: &str) -> Option<SbomFormat> {
        let m = m.trim();
        if m.eq_ignore_ascii_case(mime::SPDX) {
            Some(SbomFormat::Spdx)
        } else if m.eq_ignore_ascii_case(mime::CYCLONEDX) {
            Some(SbomFormat::CycloneDx)
        } else {
            None
        }
    }
    pub fn media_type(self) -> &'static str {
        match self {
            SbomFormat::Spdx => mime::SPDX,
            SbomFormat::CycloneDx => mime::CYCLONEDX,
        }
    }
}

/// A scan request as stored, with its job's state.
#[derive(Clone, Debug)]
pub struct StoredRequest {
    pub id: String,
    pub repository: String,
    pub digest: String,
    pub tag: Option<String>,
    pub mime_type: String,
    pub state: String,
    pub error: Option<String>,
    pub finished_at: Option<i64>,
    /// The job's own state and error (`None`: the job row is gone).
    pub job: Option<(String, Option<String>)>,
}

/// Where a scan request stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Done,
    Failed(String),
}

impl StoredRequest {
    pub fn load(tx: &mut dyn Tx, id: &str) -> crate::db::Result<Option<StoredRequest>> {
        let Some(r) = tx.query_opt(
            "SELECT h.id, h.repository, h.digest, h.tag, h.mime_type, h.state, h.error, h.finished_at,
                    j.state, j.error
             FROM harbor_scans h LEFT JOIN jobs j ON j.id = h.job_id WHERE h.id = ?",
            params![id],
        )?
        else {
            return Ok(None);
        };
        let job = match r.opt_string(8)? {
            Some(s) => Some((s, r.opt_string(9)?)),
            None => None,
        };
        Ok(Some(StoredRequest {
            id: r.string(0)?,
            repository: r.string(1)?,
            digest: r.string(2)?,
            tag: r.opt_string(3)?,
            mime_type: r.string(4)?,
            state: r.string(5)?,
            error: r.opt_string(6)?,
            finished_at: r.opt_i64(7)?,
            job,
        }))
    }

    pub fn outcome(&self) -> Outcome {
        match self.state.as_str() {
            "done" => Outcome::Done,
            "failed" => {
                Outcome::Failed(self.error.clone().unwrap_or_else(|| "unknown error".into()))
            }
            // Queued, but its job ended without saying so (its worker died on the last
            // attempt), or the job is gone: it will never finish.
            _ => match &self.job {
                Some((s, e)) if s == "failed" => {
                    Outcome::Failed(e.clone().unwrap_or_else(|| "the scan job failed".into()))
                }
                Some((s, _)) if s == "done" => {
                    Outcome::Failed("the scan job ended without a result".into())
                }
                None => Outcome::Failed("the scan job is gone".into()),
                _ => Outcome::Pending,
            },
        }
    }

    fn artifact(&self) -> Value {
        let mut a = json!({
            "repository": self.repository,
            "digest": self.digest,
            "mime_type": self.mime_type,
        });
        if let Some(t) = &self.tag {
            a["tag"] = t.clone().into();
        }
        a
    }

    fn generated_at(&self) -> String {
        rfc3339(self.finished_at.unwrap_or_else(crate::db::now))
    }
}

/// Harbor's spelling of a severity.
pub fn harbor_severity(s: Severity) -> &'static str {
    match s {
        Severity::Unknown => "Unknown",
        Severity::Negligible => "Negligible",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn image_id(tx: &mut dyn Tx, r: &StoredRequest) -> Result<i64, HarborError> {
    crate::store::image_id(tx, &r.digest)?.ok_or_else(|| {
        HarborError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the scanned image is no longer in the store",
        )
    })
}

/// The `HarborVulnerabilityReport` of a finished request.
pub fn vulnerability_report(tx: &mut dyn Tx, r: &StoredRequest) -> Result<Value, HarborError> {
    let image = image_id(tx, r)?;
    // Blob digests of the layers, for each finding's `layer` (the findings keep the
    // diff_id only).
    let layers: Vec<(String, Option<String>)> = crate::store::load_inventory(tx, image)?
        .map(|inv| {
            inv.image
                .layers
                .iter()
                .map(|l| {
                    (
                        l.diff_id.to_string(),
                        l.digest.as_ref().map(|d| d.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = tx.query(
        "SELECT doc, state FROM findings WHERE image_id = ? AND state <> 'resolved' ORDER BY id",
        params![image],
    )?;
    let mut findings: Vec<(Finding, String)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let doc = row.opt_string(0)?.unwrap_or_default();
        match serde_json::from_str::<Finding>(&doc) {
            Ok(f) => findings.push((f, row.string(1)?)),
            Err(e) => {
                tracing::warn!(image, error = %e, "harbor report: an unreadable stored finding")
            }
        }
    }
    findings.sort_by(|(a, _), (b, _)| {
        (b.severity, &a.id, &a.package.name, &a.package.version).cmp(&(
            a.severity,
            &b.id,
            &b.package.name,
            &b.package.version,
        ))
    });
    let overall = findings
        .iter()
        .map(|(f, _)| f.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let vulnerabilities: Vec<Value> = findings
        .iter()
        .map(|(f, state)| vulnerability(f, state, &layers))
        .collect();
    Ok(json!({
        "generated_at": r.generated_at(),
        "artifact": r.artifact(),
        "scanner": scanner(),
        "severity": harbor_severity(overall),
        "vulnerabilities": vulnerabilities,
    }))
}

fn vulnerability(f: &Finding, state: &str, layers: &[(String, Option<String>)]) -> Value {
    let mut v = Map::new();
    v.insert("id".into(), f.id.clone().into());
    v.insert("package".into(), f.package.name.clone().into());
    v.insert("version".into(), f.package.version.clone().into());
    if let Some(fix) = f.fixed_versions.first() {
        v.insert("fix_version".into(), fix.clone().into());
    }
    v.insert("severity".into(), harbor_severity(f.severity).into());
    if let Some(s) = &f.summary {
        v.insert("description".into(), s.clone().into());
    }
    let links: Vec<&String> = f
        .references
        .iter()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .collect();
    v.insert("links".into(), json!(links));
    let mut cvss = Map::new();
    // The highest-scored vector of each CVSS generation the advisories gave.
    for c in &f.cvss {
        let (score, vector) = if c.version.starts_with('3') {
            ("score_v3", "vector_v3")
        } else if c.version.starts_with('2') {
            ("score_v2", "vector_v2")
        } else {
            continue;
        };
        let better = cvss
            .get(score)
            .and_then(Value::as_f64)
            .is_none_or(|old| c.base_score > old);
        if better {
            cvss.insert(score.into(), json!(c.base_score));
            cvss.insert(vector.into(), c.vector.clone().into());
        }
    }
    if !cvss.is_empty() {
        v.insert("preferred_cvss".into(), Value::Object(cvss));
    }
    if let Some(l) = &f.package.introduced {
        let diff_id = l.diff_id.to_string();
        let mut layer = json!({ "diff_id": diff_id });
        if let Some((_, Some(d))) = layers.iter().find(|(id, _)| *id == diff_id) {
            layer["digest"] = d.clone().into();
        }
        v.insert("layer".into(), layer);
    }
    let mut va = json!({
        "ecosystem": f.ecosystem,
        "purl": f.package.purl,
        "fix_state": f.state,
        "severity_source": f.severity_source,
        "state": state,
    });
    if !f.aliases.is_empty() {
        va["aliases"] = json!(f.aliases);
    }
    if !f.advisories.is_empty() {
        va["advisories"] = json!(f.advisories);
    }
    if let Some(k) = &f.kev {
        va["kev"] = json!(k);
    }
    if let Some(e) = &f.epss {
        va["epss"] = json!(e);
    }
    if !f.cvss.is_empty() {
        va["cvss"] = json!(f.cvss);
    }
    v.insert("vendor_attributes".into(), va);
    Value::Object(v)
}

/// The `HarborSbomReport` of a finished request, in `format`.
pub fn sbom_report(
    tx: &mut dyn Tx,
    r: &StoredRequest,
    format: SbomFormat,
) -> Result<Value, HarborError> {
    let image = image_id(tx, r)?;
    let Some(inv) = crate::store::load_inventory(tx, image)? else {
        return Err(HarborError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the scanned image has no stored inventory",
        ));
    };
    let timestamp = r
        .finished_at
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
    // The same document on every fetch: the serial is named by the digest.
    let opts = patchline_report::RenderOptions {
        timestamp,
        serial: Some(uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("patchline:harbor:{}", r.digest).as_bytes(),
        )),
        ..Default::default()
    };
    let which = match format {
        SbomFormat::Spdx => patchline_report::SbomFormat::Spdx,
        SbomFormat::CycloneDx => patchline_report::SbomFormat::CycloneDx,
    };
    let mut out = Vec::new();
    patchline_report::render_sbom(&inv, which, &opts, &mut out)
        .map_err(|e| anyhow::anyhow!("rendering the SBOM of {}: {e}", r.digest))?;
    let sbom: Value = serde_json::from_slice(&out)
        .map_err(|e| anyhow::anyhow!("the rendered SBOM of {}: {e}", r.digest))?;
    Ok(json!({
        "generated_at": r.generated_at(),
        "artifact": r.artifact(),
        "scanner": scanner(),
        "vendor_attributes": {"packages": inv.packages.len(), "complete": inv.complete},
        "media_type": format.media_type(),
        "sbom": sbom,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const BLOB: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn finding() -> Finding {
        serde_json::from_value(json!({
            "id": "CVE-2024-11053",
            "advisories": ["debian-tracker:CVE-2024-11053"],
            "package": {"ecosystem": "deb", "name": "curl", "version": "7.88.1-10+deb12u5",
                        "purl": "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5",
                        "introduced": {"index": 1, "diff_id": DIFF}},
            "ecosystem": "Debian:12",
            "state": "fixed",
            "fixed_versions": ["7.88.1-10+deb12u10"],
            "severity": "medium",
            "severity_source": "debian",
            "cvss": [
                {"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "base_score": 3.7, "source": "nvd"},
                {"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "base_score": 7.5, "source": "osv"},
                {"version": "2.0", "vector": "AV:N/AC:L/Au:N/C:P/I:N/A:N", "base_score": 5.0, "source": "nvd"},
                {"version": "4.0", "vector": "CVSS:4.0/AV:N", "base_score": 9.0, "source": "osv"}
            ],
            "summary": "curl netrc and redirect credential leak",
            "references": ["https://curl.se/docs/CVE-2024-11053.html", "javascript:alert(1)"]
        }))
        .unwrap()
    }

    #[test]
    fn a_finding_becomes_harbors_vulnerability_item() {
        let v = vulnerability(&finding(), "open", &[(DIFF.into(), Some(BLOB.into()))]);
        assert_eq!(v["id"], "CVE-2024-11053");
        assert_eq!(v["package"], "curl");
        assert_eq!(v["version"], "7.88.1-10+deb12u5");
        assert_eq!(v["fix_version"], "7.88.1-10+deb12u10");
        assert_eq!(v["severity"], "Medium");
        assert_eq!(v["description"], "curl netrc and redirect credential leak");
        // Only web links: Harbor renders them as anchors.
        assert_eq!(
            v["links"],
            json!(["https://curl.se/docs/CVE-2024-11053.html"])
        );
        // The highest v3 and the v2 vector; v4 has no field in the spec.
        assert_eq!(
            v["preferred_cvss"],
            json!({"score_v3": 7.5, "vector_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                   "score_v2": 5.0, "vector_v2": "AV:N/AC:L/Au:N/C:P/I:N/A:N"})
        );
        assert_eq!(v["layer"], json!({"diff_id": DIFF, "digest": BLOB}));
        assert_eq!(v["vendor_attributes"]["state"], "open");
        assert_eq!(v["vendor_attributes"]["fix_state"], "fixed");
        assert_eq!(v["vendor_attributes"]["ecosystem"], "Debian:12");
        assert_eq!(v["vendor_attributes"]["cvss"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn a_finding_without_fix_or_layer_has_no_such_fields() {
        let mut f = finding();
        f.fixed_versions.clear();
        f.cvss.clear();
        f.package.introduced = None;
        f.severity = Severity::Negligible;
        let v = vulnerability(&f, "suppressed", &[]);
        assert!(v.get("fix_version").is_none());
        assert!(v.get("preferred_cvss").is_none());
        assert!(v.get("layer").is_none());
        assert_eq!(v["severity"], "Negligible");
        assert_eq!(v["vendor_attributes"]["state"], "suppressed");
    }
    fn request(state: &str, job: Option<(&str, Option<&str>)>) -> StoredRequest {
        StoredRequest {
            id: "x".into(),
            repository: "apps/fetch".into(),
            digest: BLOB.into(),
            tag: None,
            mime_type: mime::OCI_MANIFEST.into(),
            state: state.into(),
            error: (state == "failed").then(|| "pull refused".into()),
            finished_at: None,
            job: job.map(|(s, e)| (s.to_string(), e.map(str::to_string))),
        }
    }

    #[test]
    fn a_request_whose_job_died_is_failed_not_pending_forever() {
        assert_eq!(
            request("queued", Some(("queued", None))).outcome(),
            Outcome::Pending
        );
        assert_eq!(
            request("queued", Some(("running", None))).outcome(),
            Outcome::Pending
        );
        assert_eq!(
            request("done", Some(("done", None))).outcome(),
            Outcome::Done
        );
        assert_eq!(
            request("failed", Some(("failed", Some("x")))).outcome(),
            Outcome::Failed("pull refused".into())
        );
        // The worker died on the last attempt: the queue failed the job, the request
        // was never told.
        assert_eq!(
            request("queued", Some(("failed", Some("the lease ran out")))).outcome(),
            Outcome::Failed("the lease ran out".into())
        );
        assert!(matches!(
            request("queued", None).outcome(),
            Outcome::Failed(_)
        ));
    }
}
