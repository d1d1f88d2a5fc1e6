//! Reading an OCI image layout's `index.json`, shared by layout directories
//! ([`crate::oci`]) and OCI archives ([`crate::archive`]): which entry a tag names, and
//! where a blob lives inside the layout.

use patchline_model::Digest;

use crate::error::{ImageError, Result};
use crate::manifest::{Descriptor, ManifestDoc, OCI_INDEX};
use crate::source::Fetched;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What a tag picked out of an `index.json`.
pub(crate) enum Selected {
    /// One entry: a manifest (or a nested index) to read from the blobs.
    Descriptor(Descriptor),
    /// The whole index, which is a platform index itself: its bytes.
    Index(Vec<u8>),
}

/// Picks the entry of an OCI `index.json` a tag names: by `org.opencontainers.image.ref.name`
/// (as skopeo and umoci write it), or containerd's full image name ending in `:TAG`.
/// Without a tag, the index must hold exactly one entry, or be a platform index itself.
pub(crate) fn select_tagged(
    index: &ManifestDoc,
    index_bytes: &[u8],
    tag: Option<&str>,
    what: &str,
) -> Result<Selected> {
    let entries = index.manifests.as_deref().unwrap_or(&[]);
    let tags: Vec<&str> = entries
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME).map(|s| s.as_str()))
        .collect();
    match tag {
        Some(tag) => {
            let found = entries.iter().find(|d| {
                d.annotations.get(REF_NAME).map(|s| s.as_str()) == Some(tag)
                    || d.annotations
                        .get("io.containerd.image.name")
                        .is_some_and(|n| n.rsplit_once(':').map(|(_, t)| t) == Some(tag))
            });
            match found {
                Some(d) => Ok(Selected::Descriptor(d.clone())),
                None => Err(ImageError::invalid(
                    what,
                    format!(
                        "no image tagged {tag:?} (tags: {})",
                        if tags.is_empty() {
                            "none".to_string()
                        } else {
                            tags.join(", ")
                        }
                    ),
                )),
            }
        }
        None => {
            if entries.len() == 1 {
                Ok(Selected::Descriptor(entries[0].clone()))
            } else if !entries.is_empty()
                && entries.iter().all(|d| d.platform.is_some())
                && tags.is_empty()
            {
                Ok(Selected::Index(index_bytes.to_vec()))
            } else {
                Err(ImageError::invalid(
                    what,
                    format!(
                        "holds {} images; name one with :TAG (tags: {})",
                        entries.len(),
                        if tags.is_empty() {
                            "none".to_string()
                        } else {
                            tags.join(", ")
                        }
                    ),
                ))
            }
        }
    }
}

/// The root manifest of a layout whose `index.json` is `bytes`: the entry `tag` names,
/// read through `read_blob`, or the index itself. `index_what` names the index file in
/// parse errors, `what` the layout in the others.
pub(crate) fn root_from_index(
    bytes: &[u8],
    index_what: &str,
    tag: Option<&str>,
    what: &str,
    read_blob: impl FnOnce(&Digest) -> Result<Vec<u8>>,
) -> Result<Fetched> {
    let index = ManifestDoc::parse(bytes, index_what)?;
    match select_tagged(&index, bytes, tag, what)? {
        Selected::Descriptor(d) => Ok(Fetched {
            bytes: read_blob(&d.digest)?,
            media_type: Some(d.media_type.clone()),
            expected: Some(d.digest),
        }),
        Selected::Index(bytes) => Ok(Fetched {
            bytes,
            media_type: Some(OCI_INDEX.into()),
            expected: None,
        }),
    }
}

/// Where a blob lives in a layout, relative to its root: `blobs/ALGORITHM/HEX`.
pub(crate) fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}
