//! A content-addressed cache of per-layer results.
//!
//! Entries live at `DIR/layers/NAMESPACE/ALGORITHM/HEX`, where the namespace names the
//! analysis and its version: changing what is extracted from a layer means a new
//! namespace, never a stale hit. Writes go to a temporary file renamed into place, so a
//! crash never leaves a half-written entry, and concurrent writers of the same layer
//! simply race to the same content.

use std::io::Write;
use std::path::{Path, PathBuf};

use patchline_model::Digest;

use crate::error::{ImageError, Result};

#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LayerCache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/patchline`, else `~/.cache/patchline`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("patchline"));
        }
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".cache").join("patchline"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, namespace: &str, diff_id: &Digest) -> PathBuf {
        self.dir
            .join("layers")
            .join(namespace)
            .join(diff_id.algorithm().as_str())
            .join(diff_id.hex())
    }

    /// The cached bytes, if any. An unreadable entry is a miss, not an error: the cache
    /// is only ever an optimisation.
    pub fn get(&self, namespace: &str, diff_id: &Digest) -> Option<Vec<u8>> {
        std::fs::read(self.path(namespace, diff_id)).ok()
    }

    pub fn put(&self, namespace: &str, diff_id: &Digest, bytes: &[u8]) -> Result<()> {
        let path = self.path(namespace, diff_id);
        let parent = path.parent().expect("cache paths have parents");
        std::fs::create_dir_all(parent).map_err(|e| ImageError::io(parent, e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(parent).map_err(|e| ImageError::io(parent, e))?;
        tmp.write_all(bytes)
            .map_err(|e| ImageError::io(tmp.path(), e))?;
        tmp.persist(&path)
            .map_err(|e| ImageError::io(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let c = LayerCache::new(dir.path());
        let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert!(c.get("inv-v1", &d).is_none());
        c.put("inv-v1", &d, b"hello").unwrap();
        assert_eq!(c.get("inv-v1", &d).unwrap(), b"hello");
        assert!(c.get("inv-v2", &d).is_none());
    }
}
