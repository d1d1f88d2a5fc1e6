//! Image sources: the traits every transport implements ([`ImageSource`],
//! [`ManifestStore`]), the types they share, the options they are opened with, and the
//! resolver shared by manifest-based sources ([`ManifestSource`]).
//!
//! This module knows no transport: [`crate::transport::open`] picks one for a reference.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use patchline_model::{Digest, ImageInfo, LayerInfo};
use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};
use crate::manifest::{self, ImageConfig, ManifestDoc, Platform};

/// Bytes fetched for a manifest or index.
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The media type the transport declared (registry `Content-Type`, OCI descriptor).
    pub media_type: Option<String>,
    /// The digest the bytes must hash to, when the transport named one (a descriptor, a
    /// pinned reference). Checked by the resolver.
    pub expected: Option<Digest>,
}

/// A store of manifests and blobs addressed by digest: an OCI layout directory, an OCI
/// archive or a registry repository. The resolver walks index → manifest → config on it.
pub trait ManifestStore: Send + Sync {
    /// Human name of the source, used in error messages (`oci:build/layout:base`).
    fn describe(&self) -> String;
    /// The manifest or index the reference names.
    fn root(&self) -> Result<Fetched>;
    /// A manifest by digest (an index entry).
    fn manifest(&self, digest: &Digest) -> Result<Fetched>;
    /// Streams a blob (config or layer). The caller verifies its digest.
    fn blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>>;
}

/// One layer of a resolved image.
#[derive(Clone, Debug)]
pub struct LayerDesc {
    pub index: usize,
    /// Digest the blob must hash to (compressed form); `None` when the source only
    /// knows the diff_id (a classic `docker save` layer, which is the uncompressed tar).
    pub digest: Option<Digest>,
    pub diff_id: Digest,
    pub media_type: String,
    pub size: Option<u64>,
    pub created_by: Option<String>,
    /// Source-specific locator (a path inside an archive, or the digest again).
    pub locator: String,
}

/// An image with everything known before reading its layers.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    pub info: ImageInfo,
    pub layers: Vec<LayerDesc>,
}

/// Something that can resolve an image and open its layers.
pub trait ImageSource: Send + Sync {
    fn describe(&self) -> String;
    fn resolve(&self) -> Result<ResolvedImage>;
    /// Opens the raw (possibly compressed) blob of a layer.
    fn open_layer(&self, layer: &LayerDesc) -> Result<Box<dyn Read + Send + '_>>;
}

/// Registry connection settings.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Speak plain HTTP (allowed for loopback and explicitly named registries only).
    pub insecure: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Where Docker-style credentials are read from; `None` means `$DOCKER_CONFIG/config.json`
    /// or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// One whole registry operation (a manifest, a token, a tag page, a blob until its
    /// body starts), retries and backoff included; zero means none.
    pub timeout: Duration,
    /// Establishing one connection; zero means none.
    pub connect_timeout: Duration,
    /// Bytes per second a blob body must keep up, measured over windows of the
    /// timeout (at most 30 s); a body that stops for a window fails whatever this is.
    pub min_rate: u64,
    /// Retries for idempotent requests on connection errors and 5xx/429 answers.
    pub retries: u32,
}

impl RegistryOptions {
    pub(crate) fn limits(&self) -> patchline_http::Limits {
        patchline_http::Limits {
            timeout: self.timeout,
            connect_timeout: if self.timeout.is_zero() {
                self.connect_timeout
            } else {
                self.connect_timeout.min(self.timeout)
            },
            min_rate: self.min_rate,
        }
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            username: None,
            password: None,
            docker_config: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            min_rate: 1024,
            retries: 3,
        }
    }
}

/// How to open an image.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub platform: Platform,
    pub registry: RegistryOptions,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            platform: Platform::host(),
            registry: RegistryOptions::default(),
        }
    }
}

/// Hashes `bytes` and compares with `expected`.
pub fn verify_bytes(bytes: &[u8], expected: &Digest, what: &str) -> Result<()> {
    let actual = sha256(bytes);
    if &actual != expected {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

pub fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(&Sha256::digest(bytes))
}

/// Reads a small blob whole (a config), bounded, and verifies it.
pub fn read_small_blob(mut r: impl Read, expected: &Digest, what: &str) -> Result<Vec<u8>> {
    const MAX: u64 = 64 << 20;
    let mut buf = Vec::new();
    (&mut r)
        .take(MAX + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::invalid(what, format!("read failed: {e}")))?;
    if buf.len() as u64 > MAX {
        return Err(ImageError::invalid(what, "larger than 64 MiB"));
    }
    verify_bytes(&buf, expected, what)?;
    Ok(buf)
}

/// The resolver shared by every manifest-based source.
pub struct ManifestSource<S> {
    store: S,
    reference: String,
    platform: Platform,
}

impl<S: ManifestStore> ManifestSource<S> {
    pub fn new(store: S, reference: &str, platform: Platform) -> Self {
        ManifestSource {
            store,
            reference: reference.to_string(),
            platform,
        }
    }
}

fn check_fetched(f: &Fetched, what: &str) -> Result<Digest> {
    let actual = sha256(&f.bytes);
    if let Some(expected) = &f.expected {
        if expected.algorithm() == patchline_model::DigestAlgorithm::Sha256 && expected != &actual {
            return Err(ImageError::DigestMismatch {
                what: what.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(actual)
}

impl<S: ManifestStore> ImageSource for ManifestSource<S> {
    fn describe(&self) -> String {
        self.store.describe()
    }

    fn resolve(&self) -> Result<ResolvedImage> {
        let what = self.store.describe();
        let mut fetched = self.store.root()?;
        let mut digest = check_fetched(&fetched, &format!("{what}: manifest"))?;
        let mut doc = ManifestDoc::parse(&fetched.bytes, &format!("{what}: manifest {digest}"))?;
        // Nested indexes are legal; bound the depth so a loop of indexes cannot spin.
        let mut depth = 0;
        while doc.is_index() {
            depth += 1;
            if depth > 4 {
                return Err(ImageError::invalid(&what, "index nesting deeper than 4"));
            }
            let child = manifest::select_platform(&doc, &self.platform, &what)?.clone();
            fetched = self.store.manifest(&child.digest)?;
            fetched.expected = Some(child.digest.clone());
            digest = check_fetched(&fetched, &format!("{what}: manifest {}", child.digest))?;
            doc = ManifestDoc::parse(&fetched.bytes, &format!("{what}: manifest {digest}"))?;
        }
        let config_desc = doc.config.clone().expect("checked by ManifestDoc::parse");
        let layers = doc.layers.clone().expect("checked by ManifestDoc::parse");
        let config_what = format!("{what}: config {}", config_desc.digest);
        let config_bytes = read_small_blob(
            self.store.blob(&config_desc.digest)?,
            &config_desc.digest,
            &config_what,
        )?;
        let config = ImageConfig::parse(&config_bytes, &config_what)?;
        // Non-layer blobs (e.g. foreign or artifact layers) would break the diff_id pairing.
        if config.rootfs.diff_ids.len() != layers.len() {
            return Err(ImageError::invalid(
                &config_what,
                format!(
                    "manifest lists {} layers but the config has {} diff_ids",
                    layers.len(),
                    config.rootfs.diff_ids.len()
                ),
            ));
        }
        let history = config.layer_history();
        let layer_descs: Vec<LayerDesc> = layers
            .iter()
            .enumerate()
            .map(|(i, d)| LayerDesc {
                index: i,
                digest: Some(d.digest.clone()),
                diff_id: config.rootfs.diff_ids[i].clone(),
                media_type: d.media_type.clone(),
                size: d.size,
                created_by: history[i].clone(),
                locator: d.digest.to_string(),
            })
            .collect();
        Ok(ResolvedImage {
            info: image_info(
                &self.reference,
                Some(digest),
                Some(config_desc.digest.clone()),
                &config,
                doc.annotations.clone(),
                &layer_descs,
            ),
            layers: layer_descs,
        })
    }

    fn open_layer(&self, layer: &LayerDesc) -> Result<Box<dyn Read + Send + '_>> {
        let digest = layer.digest.as_ref().unwrap_or(&layer.diff_id);
        self.store.blob(digest)
    }
}

pub(crate) fn image_info(
    reference: &str,
    manifest_digest: Option<Digest>,
    config_digest: Option<Digest>,
    config: &ImageConfig,
    annotations: std::collections::BTreeMap<String, String>,
    layers: &[LayerDesc],
) -> ImageInfo {
    ImageInfo {
        reference: reference.to_string(),
        manifest_digest,
        config_digest,
        os: config.os.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone(),
        created: config.created.clone(),
        labels: config
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default(),
        annotations,
        layers: layers
            .iter()
            .map(|l| LayerInfo {
                index: l.index,
                digest: l.digest.clone(),
                diff_id: l.diff_id.clone(),
                media_type: l.media_type.clone(),
                size: l.size,
                created_by: l.created_by.clone(),
            })
            .collect(),
        config: Some(
            config
                .config
                .as_ref()
                .map(|c| c.container_config())
                .unwrap_or_default(),
        ),
    }
}
