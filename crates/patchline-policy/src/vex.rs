//! (being written: the reader of OpenVEX, CycloneDX VEX and CSAF VEX documents)

use std::path::Path;

use patchline_model::vuln::Finding;
use patchline_model::ImageInfo;

/// A VEX status (OpenVEX's words; CycloneDX's and CSAF's are mapped onto them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// `not_affected` and `fixed` take a finding out of a report.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// One statement: a vulnerability's status in some products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VexStatement {
    /// The vulnerability id as the document names it (`CVE-2024-2004`, `GHSA-…`).
    pub vulnerability: String,
    /// Other ids the document gives it.
    pub aliases: Vec<String>,
    /// Products (purls, image references or digests); empty: every product.
    pub products: Vec<String>,
    /// Subcomponents (package purls) within the products; empty: any.
    pub subcomponents: Vec<String>,
    pub status: VexStatus,
    /// OpenVEX justification words (`vulnerable_code_not_in_execute_path`).
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    /// The document it came from, as given (`vex.json`).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct VexError {
    pub path: String,
    pub reason: String,
}

/// Reads a VEX document of any supported format.
pub fn read_vex(path: &Path) -> Result<Vec<VexStatement>, VexError> {
    Err(VexError {
        path: path.display().to_string(),
        reason: "VEX input is being written".into(),
    })
}

impl VexStatement {
    /// Whether the statement is about this finding in this image.
    pub fn matches(&self, _finding: &Finding, _image: &ImageInfo) -> bool {
        false
    }
}
