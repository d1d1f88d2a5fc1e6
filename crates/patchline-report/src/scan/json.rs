//! The scan report itself, in patchline's versioned JSON schema (`docs/scan-json.md`).
//!
//! Printed as is: the server and later patchline commands read this document back, so
//! the renderer must not reinterpret it.

use std::io;

use patchline_model::vuln::ScanReport;

pub(crate) fn render(report: &ScanReport, out: &mut dyn io::Write) -> io::Result<()> {
    crate::write_json(report, out)
}
