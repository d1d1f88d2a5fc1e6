//! OCI image layout directories (`oci:DIR[:TAG]`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use patchline_model::Digest;
use serde::Deserialize;

use crate::error::{ImageError, Result};
use crate::manifest::{Descriptor, ManifestDoc, OCI_INDEX};
use crate::source::{Fetched, ManifestStore};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutFile {
    image_layout_version: String,
}

/// Picks the entry of an OCI `index.json` a tag names: by `org.opencontainers.image.ref.name`
/// (as skopeo and umoci write it), or containerd's full image name ending in `:TAG`.
/// Without a tag, the index must hold exactly one entry, or be a platform index itself.
pub(crate) fn select_tagged(
    index: &ManifestDoc,
    index_bytes: &[u8],
    tag: Option<&str>,
    what: &str,
) -> Result<Fetched2> {
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
                Some(d) => Ok(Fetched2::Descriptor(d.clone())),
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
                Ok(Fetched2::Descriptor(entries[0].clone()))
            } else if !entries.is_empty()
                && entries.iter().all(|d| d.platform.is_some())
                && tags.is_empty()
            {
                Ok(Fetched2::Index(index_bytes.to_vec()))
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

pub(crate) enum Fetched2 {
    Descriptor(Descriptor),
    Index(Vec<u8>),
}

pub struct OciLayout {
    dir: PathBuf,
    tag: Option<String>,
    raw: String,
}

impl OciLayout {
    pub fn open(dir: &Path, tag: Option<String>, raw: &str) -> Result<Self> {
        let layout_path = dir.join("oci-layout");
        let bytes = std::fs::read(&layout_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ImageError::invalid(
                    raw,
                    format!(
                        "{} is not an OCI image layout (no oci-layout file)",
                        dir.display()
                    ),
                )
            } else {
                ImageError::io(&layout_path, e)
            }
        })?;
        let layout: LayoutFile =
            serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
                what: layout_path.display().to_string(),
                source,
            })?;
        if !layout.image_layout_version.starts_with("1.") {
            return Err(ImageError::invalid(
                layout_path.display().to_string(),
                format!(
                    "unsupported imageLayoutVersion {:?}",
                    layout.image_layout_version
                ),
            ));
        }
        Ok(OciLayout {
            dir: dir.to_path_buf(),
            tag,
            raw: raw.to_string(),
        })
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(d.algorithm().as_str())
            .join(d.hex())
    }

    fn read_blob_small(&self, d: &Digest, what: &str) -> Result<Vec<u8>> {
        let mut f = self.open_blob(d, what)?;
        let mut buf = Vec::new();
        (&mut f)
            .take(16 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::io(self.blob_path(d), e))?;
        Ok(buf)
    }

    fn open_blob(&self, d: &Digest, what: &str) -> Result<File> {
        let p = self.blob_path(d);
        File::open(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ImageError::MissingBlob {
                    what: what.to_string(),
                    digest: d.clone(),
                }
            } else {
                ImageError::io(&p, e)
            }
        })
    }
}

impl ManifestStore for OciLayout {
    fn describe(&self) -> String {
        self.raw.clone()
    }

    fn root(&self) -> Result<Fetched> {
        let index_path = self.dir.join("index.json");
        let bytes = std::fs::read(&index_path).map_err(|e| ImageError::io(&index_path, e))?;
        let index = ManifestDoc::parse(&bytes, &index_path.display().to_string())?;
        match select_tagged(&index, &bytes, self.tag.as_deref(), &self.raw)? {
            Fetched2::Descriptor(d) => Ok(Fetched {
                bytes: self.read_blob_small(&d.digest, &self.raw)?,
                media_type: Some(d.media_type.clone()),
                expected: Some(d.digest),
            }),
            Fetched2::Index(bytes) => Ok(Fetched {
                bytes,
                media_type: Some(OCI_INDEX.into()),
                expected: None,
            }),
        }
    }

    fn manifest(&self, digest: &Digest) -> Result<Fetched> {
        Ok(Fetched {
            bytes: self.read_blob_small(digest, &self.raw)?,
            media_type: None,
            expected: Some(digest.clone()),
        })
    }

    fn blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.open_blob(digest, &self.raw)?))
    }
}
