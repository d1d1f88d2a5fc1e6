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
    let (index, broken) = parse_index(bytes, index_what)?;
    // A broken entry fails only the tag that names it (or an untagged read that would
    // have needed it), never the layout's other images.
    if let Some(b) = broken.iter().find(|b| match tag {
        Some(t) => b.tag.as_deref() == Some(t),
        None => index.manifests.as_ref().is_none_or(Vec::is_empty),
    }) {
        return Err(ImageError::invalid(
            index_what,
            format!(
                "entry {}{}: {}",
                b.position,
                b.tag
                    .as_deref()
                    .map(|t| format!(" (tag {})", patchline_model::quote_capped(t, 100)))
                    .unwrap_or_default(),
                b.error
            ),
        ));
    }
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

/// An `index.json` entry that is not a valid descriptor.
struct Broken {
    /// 1-based position in `manifests`.
    position: usize,
    tag: Option<String>,
    error: String,
}

/// Parses an `index.json`, setting aside the entries that are not valid descriptors.
fn parse_index(bytes: &[u8], index_what: &str) -> Result<(ManifestDoc, Vec<Broken>)> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(default)]
        manifests: Vec<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
        what: index_what.to_string(),
        source,
    })?;
    let mut good = Vec::new();
    let mut broken = Vec::new();
    for (i, v) in raw.manifests.into_iter().enumerate() {
        let tag = v
            .get("annotations")
            .and_then(|a| a.get(REF_NAME))
            .and_then(|t| t.as_str())
            .map(str::to_string);
        match serde_json::from_value::<Descriptor>(v) {
            Ok(d) => good.push(d),
            Err(e) => broken.push(Broken {
                position: i + 1,
                tag,
                error: format!("invalid descriptor: {e}"),
            }),
        }
    }
    // The rest of the document is checked as any index is.
    let mut doc = ManifestDoc::parse(br#"{"schemaVersion":2,"manifests":[]}"#, index_what)?;
    doc.manifests = Some(good);
    Ok((doc, broken))
}

/// Where a blob lives in a layout, relative to its root: `blobs/ALGORITHM/HEX`.
pub(crate) fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}
