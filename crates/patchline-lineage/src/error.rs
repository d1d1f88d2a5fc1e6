//! Errors of the lineage crate.

use std::path::PathBuf;

/// Everything that can go wrong in the catalog, the declarative catalog file and the
/// impact queries. Messages name the image (as catalogued) or the file and record.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("catalog {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("catalog {path}: schema version {found} was written by a newer patchline (this one knows up to {known})")]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("catalog {path}: cannot create its directory: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog {path}: corrupt record for image {reference:?}: {reason}")]
    Corrupt {
        path: String,
        reference: String,
        reason: String,
    },
    #[error("image {0:?} is not in the catalog")]
    NotFound(String),
    #[error("invalid catalog entry {reference:?}: {reason}")]
    InvalidEntry { reference: String, reason: String },
    /// A declarative catalog (YAML) that cannot be imported; nothing was written.
    #[error("catalog file: {0}")]
    CatalogFile(String),
    #[error("catalog file: cycle in declared parents: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error("{0}")]
    Query(String),
}

pub type Result<T, E = LineageError> = std::result::Result<T, E>;
