//! The boundary the filesystem and secret checks implement: an [`Inspector`] sees every
//! entry of every layer during the inventory's single streaming pass, and the content of
//! the regular files it asks for, and returns [`CheckFinding`]s.
//!
//! Inspectors live in `patchline-checks`; the inventory only drives them, so that a
//! layer is still decompressed once whatever runs on it. A file both an extractor and an
//! inspector want is read into memory once and handed to both.
//!
//! Per-layer findings are cached with the layer's analysis, under a cache namespace that
//! names every inspector ([`Inspector::name`] carries a version): a layer analysed
//! without checks is analysed again when checks are asked for. The squash then gives
//! each finding its layer and marks the ones a later layer deleted
//! ([`CheckFinding::removed_in`]): they no longer show in a container, but the image
//! still ships them. A later layer's finding of the same check on the same path
//! replaces an earlier one.

use patchline_image::layer::EntryKind;
use patchline_model::check::CheckFinding;

/// A check that runs inside the layer walk.
pub trait Inspector: Send + Sync + std::fmt::Debug {
    /// Name and version (`secrets-1`): part of the layer cache's namespace, so bump it
    /// whenever what the inspector finds changes.
    fn name(&self) -> &'static str;

    /// Every entry of a layer (files, directories, links, whiteouts), with its mode
    /// (permission and type bits as the tar header has them) and size. Findings from
    /// metadata alone (setuid, world-writable) go to `out`.
    fn entry(
        &self,
        _path: &str,
        _kind: &EntryKind,
        _mode: u32,
        _size: u64,
        _out: &mut Vec<CheckFinding>,
    ) {
    }

    /// Whether the content of this regular file must be read. Only files of at most
    /// [`max_content_bytes`](Self::max_content_bytes) are asked about.
    fn wants_content(&self, _path: &str, _mode: u32, _size: u64) -> bool {
        false
    }

    /// The largest file whose content it reads (read whole into memory).
    fn max_content_bytes(&self) -> u64 {
        0
    }

    /// The content of a file it wanted. Findings without a `path` get the file's.
    fn content(&self, _path: &str, _bytes: &[u8], _out: &mut Vec<CheckFinding>) {}
}
