use std::path::PathBuf;

use patchline_model::Digest;

/// Everything that can go wrong while reading an image. Each variant names what and
/// where, so the CLI can print it as is and exit 2.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {}", json_problem(source))]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{what}: blob {digest} not found")]
    MissingBlob { what: String, digest: Digest },
    #[error("{what}: digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what}: no manifest for platform {platform} (available: {available})")]
    NoPlatform {
        what: String,
        platform: String,
        available: String,
    },
    #[error("layer {index} ({digest}): {reason}")]
    Layer {
        index: usize,
        digest: String,
        reason: String,
    },
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    #[error("registry {registry}: authentication required for {repository} ({reason}); pass --username/--password or log in (~/.docker/config.json)")]
    Unauthorized {
        registry: String,
        repository: String,
        reason: String,
    },
    #[error("registry {registry}: {what} not found")]
    NotFound { registry: String, what: String },
}

impl ImageError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.into(),
            source,
        }
    }
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        ImageError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// A JSON error named for what it is: bad syntax, or well-formed JSON holding a value
/// that is not valid (a digest of the wrong length, a missing field).
fn json_problem(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("invalid content: {e}"),
        serde_json::error::Category::Io => format!("read failed: {e}"),
        _ => format!("malformed JSON: {e}"),
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
