//! Governance inputs, read and checked: what decides whether a scan passes, beside the
//! findings themselves.
//!
//! - [`file`]: the policy file: a profile of rules per stage (`local`, `build`,
//!   `registry`, `runtime`), the trusted images, inline exceptions; parsed with every
//!   error placed at its file and line (docs/policy.md).
//! - [`exceptions`]: accepted vulnerabilities and check findings, which expire.
//! - [`import`]: exceptions files: patchline's own, Trivy's `.trivyignore.yaml` and
//!   `.trivyignore`, Grype's ignore rules.
//! - [`trusted`]: trusted images and the bases a scanned image was built on.
//! - [`vex`]: VEX documents (OpenVEX, CycloneDX VEX, CSAF's VEX profile) as
//!   statements about a vulnerability in a product; `not_affected` and `fixed` ones take
//!   findings out of a report, recorded as suppressions.
//!
//! The policy stage of `patchline-scan` applies them to a report.

pub mod error;
pub mod exceptions;
pub mod file;
pub mod import;
pub mod pattern;
pub mod trusted;
pub mod vex;

pub use error::{PolicyError, Problem};
pub use exceptions::Exception;
pub use file::{parse_policy, read_policy, Action, PolicyFile, StageProfile, STAGES};
pub use import::{read_exceptions_file, Imported};
pub use trusted::{BaseImage, BaseSource, TrustedImage};
