//! The boundary every package extractor implements.

use patchline_model::Package;

/// What an extractor found in one database file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Packages with identity fields filled (ecosystem, name, version, epoch, arch, source
    /// name/version, licenses, maintainer, db_path). The purl and the layer attribution
    /// are filled by the inventory once the distro and the layers are known.
    pub packages: Vec<Package>,
    /// Records skipped as malformed (the rest of the file was still read). Each one names
    /// the record (`stanza 12`, `header at offset 0x1f000`) and what is wrong.
    pub warnings: Vec<String>,
}

/// The whole file could not be read as the database it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ExtractError {
    pub path: String,
    pub reason: String,
}

impl ExtractError {
    pub fn new(path: &str, reason: impl Into<String>) -> Self {
        ExtractError {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

/// A package database reader.
///
/// `path` is relative to the image root, normalised, without a leading slash
/// (`var/lib/dpkg/status`). Extractors never touch the filesystem: the layer walker hands
/// them the file's bytes, read once while streaming the layer. They must not panic on any
/// input (each has a fuzz target).
pub trait Extractor: Send + Sync {
    /// Short name used in warnings (`dpkg`, `apk`, `rpm`).
    fn name(&self) -> &'static str;
    /// Does this path hold a database this extractor reads?
    fn wants(&self, path: &str) -> bool;
    /// Reads the packages of one database file.
    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError>;
}

/// Past this many warnings for one file, the rest are only counted: a garbage file must
/// not produce a warning list as large as itself.
const MAX_WARNINGS: usize = 100;

/// The warnings of one database file, capped at [`MAX_WARNINGS`].
#[derive(Debug, Default)]
pub(crate) struct CappedWarnings {
    kept: Vec<String>,
    suppressed: usize,
}

impl CappedWarnings {
    pub(crate) fn push(&mut self, message: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(message);
        } else {
            self.suppressed += 1;
        }
    }

    /// The kept warnings, then one line counting those not shown.
    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.kept
                .push(format!("{} further warnings not shown", self.suppressed));
        }
        self.kept
    }
}

/// `s` without leading and trailing spaces and tabs.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `1 line`, `N lines`.
pub(crate) fn lines(n: usize) -> String {
    if n == 1 {
        "1 line".to_string()
    } else {
        format!("{n} lines")
    }
}

/// Characters of an untrusted value (a package name, a version, a field) quoted in a
/// warning, through [`patchline_model::quote_capped`].
pub(crate) const QUOTE_CHARS: usize = 80;

/// An untrusted value from a database, quoted and capped for a warning or an error.
pub(crate) fn quoted(value: &[u8]) -> String {
    patchline_model::quote_capped_bytes(value, QUOTE_CHARS)
}

/// A short printable excerpt of a bad line for an error message.
pub(crate) fn snippet(line: &[u8]) -> String {
    patchline_model::quote_capped_bytes(line, 40)
}
