//! package-url (purl) strings for OS packages, per the package-url specification:
//! `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`, qualifiers sorted by key, every
//! component percent-encoded outside the unreserved set.
//!
//! Conventions where the spec leaves room (shared with Trivy and Syft so that SBOMs from
//! either tool match ours): the epoch goes to an `epoch=` qualifier and is dropped from the
//! version; the distro release goes to `distro=ID-VERSION_ID`; a source package that differs
//! from the binary goes to `upstream=NAME` (or `NAME@VERSION` when its version differs too).
//!
//! [`for_package`] writes them (the inventory, the SBOM writers); [`parse_purl`] reads
//! them back (the SBOM readers), so the two conventions live side by side.

mod parse;
mod write;

pub use parse::{parse_purl, Purl, PurlError};
pub use write::{encode, for_package, namespace};
