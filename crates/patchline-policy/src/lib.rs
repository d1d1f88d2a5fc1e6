//! Governance inputs, read and checked: what decides whether a scan passes, beside the
//! findings themselves.
//!
//! - [`vex`]: VEX documents (OpenVEX, CycloneDX VEX, CSAF's VEX profile) as
//!   statements about a vulnerability in a product; `not_affected` and `fixed` ones take
//!   findings out of a report, recorded as suppressions.
//!
//! The policy stage of `patchline-scan` applies them to a report.

pub mod vex;
