//! Errors of the importers, the database and the downloader.

use std::fmt;
use std::path::Path;

/// Where a record came from: a file, possibly a member of a zip archive inside it, possibly
/// a record number inside a multi-record document. Every error of an importer carries one,
/// so a user can find the offending bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file as given (or the URL of a download).
    pub file: String,
    /// The member of a zip archive (`GO-2022-0969.json`).
    pub member: Option<String>,
}

impl Origin {
    pub fn file(path: &Path) -> Origin {
        Origin {
            file: path.display().to_string(),
            member: None,
        }
    }
    /// The innermost name: the archive member, else the file.
    pub fn name(&self) -> &str {
        self.member.as_deref().unwrap_or(&self.file)
    }

    pub fn named(name: impl Into<String>) -> Origin {
        Origin {
            file: name.into(),
            member: None,
        }
    }
    pub fn with_member(&self, member: impl Into<String>) -> Origin {
        Origin {
            file: self.file.clone(),
            member: Some(member.into()),
        }
    }
    /// The last path component of the member or the file: importers that take the record
    /// id from the file name (osv.dev vulnfeeds parts) read it here.
    pub fn leaf_name(&self) -> &str {
        let s = self.member.as_deref().unwrap_or(&self.file);
        s.rsplit(['/', '\\']).next().unwrap_or(s)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            None => write!(f, "{}", self.file),
            Some(m) => write!(f, "{} (zip member {m})", self.file),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not what its format requires: the message names the field.
    #[error("{origin}: {message}")]
    Input { origin: Origin, message: String },
    /// The input's shape is none of the supported feed formats.
    #[error("{origin}: unrecognised feed format ({detail}); expected {expected}", expected = crate::feeds::titles())]
    UnknownFormat { origin: Origin, detail: String },
    /// A size bound was exceeded (huge file, zip bomb).
    #[error("{origin}: {message}")]
    TooLarge { origin: Origin, message: String },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// The database file is missing, of another schema, or SQLite failed on it.
    #[error("advisory database {path}: {message}")]
    Db { path: String, message: String },
    /// A download failed; the previous data of the source is kept.
    #[error("source {source_name} ({url}): {message}")]
    Download {
        source_name: String,
        url: String,
        message: String,
    },
    /// Usage errors: unknown source names, a bad mirror URL, a bad duration.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn input(origin: &Origin, message: impl Into<String>) -> Error {
        Error::Input {
            origin: origin.clone(),
            message: message.into(),
        }
    }
    pub(crate) fn io(path: impl AsRef<Path>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            error,
        }
    }
    pub(crate) fn db(path: impl AsRef<Path>, e: impl fmt::Display) -> Error {
        Error::Db {
            path: path.as_ref().display().to_string(),
            message: e.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns a `serde_path_to_error` failure into an input error naming the JSON field.
pub(crate) fn json_error(
    origin: &Origin,
    what: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = if path.is_empty() || path == "." {
        format!("invalid {what}: {inner}")
    } else {
        format!("invalid {what}: field `{path}`: {inner}")
    };
    Error::Input {
        origin: origin.clone(),
        message,
    }
}
