//! OCI image layout directories (`oci:DIR[:TAG]`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use patchline_model::Digest;
use serde::Deserialize;

use crate::error::{ImageError, Result};
use crate::layout::{self, blob_name};
use crate::source::{Fetched, ManifestStore};

/// The tag annotation of `index.json` entries (see [`crate::layout`]).
pub use crate::layout::REF_NAME;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutFile {
    image_layout_version: String,
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
                    "unsupported imageLayoutVersion {}",
                    patchline_model::quote_capped(&layout.image_layout_version, 40)
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
        self.dir.join(blob_name(d))
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
        layout::root_from_index(
            &bytes,
            &index_path.display().to_string(),
            self.tag.as_deref(),
            &self.raw,
            |d| self.read_blob_small(d, &self.raw),
        )
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
