//! Images inside a tar file: `oci-archive:` (an OCI layout, as skopeo writes it) and
//! `docker-archive:` (`docker save` output, classic `<id>/layer.tar` or the newer
//! OCI-style `blobs/sha256/…` with a `manifest.json`).
//!
//! The archive is indexed once (member name → offset, size); each blob is then read
//! straight out of the archive by seeking, so layers are streamed, never extracted, and
//! several layers can be read in parallel through their own file handles.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use patchline_model::Digest;
use serde::Deserialize;

use crate::error::{ImageError, Result};
use crate::layer::{normalize_entry_path, resolve_link, MAX_SYMLINK_HOPS};
use crate::layout::{self, blob_name};
use crate::manifest::ImageConfig;
use crate::source::{self, Fetched, ImageSource, LayerDesc, ManifestStore, ResolvedImage};

enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

/// Member index of a tar file.
pub struct TarIndex {
    path: PathBuf,
    members: HashMap<String, Member>,
}

impl TarIndex {
    pub fn build(path: &Path, what: &str) -> Result<TarIndex> {
        let mut file = File::open(path).map_err(|e| ImageError::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(|e| ImageError::io(path, e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n >= 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(ImageError::invalid(
                what,
                format!("{} is compressed; decompress it first (patchline reads uncompressed archives by seeking)", path.display()),
            ));
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ImageError::io(path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| ImageError::invalid(what, format!("not a tar archive: {e}")))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| ImageError::invalid(what, format!("corrupt tar archive: {e}")))?;
            let name = normalize_entry_path(&entry.path_bytes())
                .map_err(|r| ImageError::invalid(what, r))?;
            let et = entry.header().entry_type();
            if et.is_file() || et.is_contiguous() {
                members.insert(
                    name,
                    Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            } else if et.is_symlink() || et.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let resolved = if et.is_symlink() {
                    Some(resolve_link(&name, &target))
                } else {
                    normalize_entry_path(target.as_bytes()).ok()
                };
                if let Some(r) = resolved {
                    members.insert(name, Member::Link(r));
                }
            }
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            members,
        })
    }

    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = name.to_string();
        for _ in 0..=MAX_SYMLINK_HOPS {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(t) => name = t.clone(),
            }
        }
        None
    }

    pub fn contains(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    /// Streams a member.
    pub fn open(&self, name: &str) -> Option<Result<impl Read + Send>> {
        let (offset, size) = self.locate(name)?;
        Some((|| {
            let mut f = File::open(&self.path).map_err(|e| ImageError::io(&self.path, e))?;
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| ImageError::io(&self.path, e))?;
            Ok(f.take(size))
        })())
    }

    pub fn read_small(&self, name: &str, what: &str) -> Result<Vec<u8>> {
        let r = self.open(name).ok_or_else(|| {
            ImageError::invalid(
                what,
                format!(
                    "archive has no member {}",
                    patchline_model::quote_capped(name, 200)
                ),
            )
        })??;
        let mut buf = Vec::new();
        r.take(64 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::io(&self.path, e))?;
        Ok(buf)
    }
}

/// `oci-archive:FILE[:TAG]`.
pub struct OciArchive {
    index: TarIndex,
    tag: Option<String>,
    raw: String,
}

impl OciArchive {
    pub fn open(file: &Path, tag: Option<String>, raw: &str) -> Result<Self> {
        let index = TarIndex::build(file, raw)?;
        if !index.contains("oci-layout") || !index.contains("index.json") {
            return Err(ImageError::invalid(
                raw,
                "not an OCI archive (no oci-layout / index.json member)",
            ));
        }
        Ok(OciArchive {
            index,
            tag,
            raw: raw.to_string(),
        })
    }

    fn blob_bytes(&self, d: &Digest) -> Result<Vec<u8>> {
        if !self.index.contains(&blob_name(d)) {
            return Err(ImageError::MissingBlob {
                what: self.raw.clone(),
                digest: d.clone(),
            });
        }
        self.index.read_small(&blob_name(d), &self.raw)
    }
}

impl ManifestStore for OciArchive {
    fn describe(&self) -> String {
        self.raw.clone()
    }
    fn root(&self) -> Result<Fetched> {
        let bytes = self.index.read_small("index.json", &self.raw)?;
        layout::root_from_index(
            &bytes,
            &format!("{}: index.json", self.raw),
            self.tag.as_deref(),
            &self.raw,
            |d| self.blob_bytes(d),
        )
    }
    fn manifest(&self, digest: &Digest) -> Result<Fetched> {
        Ok(Fetched {
            bytes: self.blob_bytes(digest)?,
            media_type: None,
            expected: Some(digest.clone()),
        })
    }
    fn blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        match self.index.open(&blob_name(digest)) {
            Some(r) => Ok(Box::new(r?)),
            None => Err(ImageError::MissingBlob {
                what: self.raw.clone(),
                digest: digest.clone(),
            }),
        }
    }
}

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// `docker-archive:FILE[:REPO:TAG]`.
pub struct DockerArchive {
    index: TarIndex,
    entry: DockerManifestEntry,
    raw: String,
}

fn tag_matches(repo_tag: &str, wanted: &str) -> bool {
    if repo_tag == wanted {
        return true;
    }
    // `docker.io/library/debian:12` is what `debian:12` means.
    let strip = |s: &str| {
        s.trim_start_matches("docker.io/")
            .trim_start_matches("library/")
            .to_string()
    };
    strip(repo_tag) == strip(wanted) || strip(repo_tag) == format!("{}:latest", strip(wanted))
}

impl DockerArchive {
    pub fn open(file: &Path, tag: Option<String>, raw: &str) -> Result<Self> {
        let index = TarIndex::build(file, raw)?;
        if !index.contains("manifest.json") {
            return Err(ImageError::invalid(
                raw,
                "not a docker archive (no manifest.json member)",
            ));
        }
        let bytes = index.read_small("manifest.json", raw)?;
        let entries: Vec<DockerManifestEntry> =
            serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
                what: format!("{raw}: manifest.json"),
                source,
            })?;
        let all_tags = || {
            entries
                .iter()
                .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pos = match &tag {
            Some(t) => entries
                .iter()
                .position(|e| {
                    e.repo_tags
                        .as_deref()
                        .unwrap_or(&[])
                        .iter()
                        .any(|rt| tag_matches(rt, t))
                })
                .ok_or_else(|| {
                    ImageError::invalid(
                        raw,
                        format!("no image tagged {t:?} (tags: {})", all_tags()),
                    )
                })?,
            None if entries.len() == 1 => 0,
            None => {
                return Err(ImageError::invalid(
                    raw,
                    format!(
                        "holds {} images; name one with :REPO:TAG (tags: {})",
                        entries.len(),
                        all_tags()
                    ),
                ))
            }
        };
        let entry = entries.into_iter().nth(pos).expect("position found above");
        Ok(DockerArchive {
            index,
            entry,
            raw: raw.to_string(),
        })
    }
}

/// The digest a member name spells, for `blobs/sha256/HEX` and `HEX.json` / `HEX.tar` names.
fn digest_in_name(name: &str) -> Option<Digest> {
    let last = name.rsplit('/').next()?;
    let hex = last.trim_end_matches(".json").trim_end_matches(".tar");
    format!("sha256:{hex}").parse().ok()
}

impl ImageSource for DockerArchive {
    fn describe(&self) -> String {
        self.raw.clone()
    }

    fn resolve(&self) -> Result<ResolvedImage> {
        let what = format!("{}: config {}", self.raw, self.entry.config);
        let bytes = self.index.read_small(&self.entry.config, &what)?;
        let config_digest = source::sha256(&bytes);
        if let Some(named) = digest_in_name(&self.entry.config) {
            source::verify_bytes(&bytes, &named, &what)?;
        }
        let config = ImageConfig::parse(&bytes, &what)?;
        if config.rootfs.diff_ids.len() != self.entry.layers.len() {
            return Err(ImageError::invalid(
                &what,
                format!(
                    "manifest.json lists {} layers but the config has {} diff_ids",
                    self.entry.layers.len(),
                    config.rootfs.diff_ids.len()
                ),
            ));
        }
        let history = config.layer_history();
        let mut layers = Vec::new();
        for (i, name) in self.entry.layers.iter().enumerate() {
            let normalized = normalize_entry_path(name.as_bytes())
                .map_err(|r| ImageError::invalid(&self.raw, r))?;
            if !self.index.contains(&normalized) {
                return Err(ImageError::invalid(
                    &self.raw,
                    format!(
                        "layer {i} member {} is missing from the archive",
                        patchline_model::quote_capped(name, 200)
                    ),
                ));
            }
            let diff_id = config.rootfs.diff_ids[i].clone();
            // OCI-style archives name each blob by its digest; when that is not the
            // diff_id the blob is compressed and its own digest is checked too.
            let digest = digest_in_name(&normalized).filter(|d| d != &diff_id);
            layers.push(LayerDesc {
                index: i,
                digest,
                diff_id,
                media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
                size: self.index.locate(&normalized).map(|(_, s)| s),
                created_by: history[i].clone(),
                locator: normalized,
            });
        }
        Ok(ResolvedImage {
            info: source::image_info(
                &self.raw,
                None,
                Some(config_digest),
                &config,
                Default::default(),
                &layers,
            ),
            layers,
        })
    }

    fn open_layer(&self, layer: &LayerDesc) -> Result<Box<dyn Read + Send + '_>> {
        match self.index.open(&layer.locator) {
            Some(r) => Ok(Box::new(r?)),
            None => Err(ImageError::invalid(
                &self.raw,
                format!(
                    "layer member {} is missing",
                    patchline_model::quote_capped(&layer.locator, 200)
                ),
            )),
        }
    }
}
