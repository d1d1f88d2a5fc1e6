//! OCI and Docker v2 schema 2 manifest, index and config documents (only the fields
//! patchline reads), and platform selection.

use std::collections::BTreeMap;
use std::fmt;

use patchline_model::Digest;
use serde::Deserialize;

use crate::error::{ImageError, Result};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Every manifest media type patchline can read, for registry `Accept` headers.
pub const ACCEPTED_MANIFESTS: &[&str] = &[
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A manifest or an index: the two share one JSON shape closely enough to be told apart
/// by which of `layers` / `manifests` is present.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl ManifestDoc {
    pub fn parse(bytes: &[u8], what: &str) -> Result<ManifestDoc> {
        let doc: ManifestDoc =
            serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
                what: what.to_string(),
                source,
            })?;
        if doc.schema_version == Some(1) {
            return Err(ImageError::invalid(
                what,
                "Docker schema 1 manifests are deprecated and not supported",
            ));
        }
        if doc.manifests.is_none() && (doc.config.is_none() || doc.layers.is_none()) {
            return Err(ImageError::invalid(
                what,
                "neither an image manifest (config + layers) nor an index (manifests)",
            ));
        }
        Ok(doc)
    }
    pub fn is_index(&self) -> bool {
        self.manifests.is_some()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: Option<RuntimeConfig>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "User", default)]
    pub user: Option<String>,
    /// Keys only: the values are empty objects.
    #[serde(rename = "ExposedPorts", default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Healthcheck", default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
    #[serde(rename = "StopSignal", default)]
    pub stop_signal: Option<String>,
}

/// Docker's `Healthcheck` (OCI configs have none; Docker and Buildah write it).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Healthcheck {
    #[serde(rename = "Test", default)]
    pub test: Option<Vec<String>>,
}

impl RuntimeConfig {
    /// The model's view of these settings.
    pub fn container_config(&self) -> patchline_model::ContainerConfig {
        patchline_model::ContainerConfig {
            user: self.user.clone().filter(|u| !u.is_empty()),
            exposed_ports: self
                .exposed_ports
                .as_ref()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
            env: self.env.clone().unwrap_or_default(),
            entrypoint: self.entrypoint.clone(),
            cmd: self.cmd.clone(),
            healthcheck: self
                .healthcheck
                .as_ref()
                .and_then(|h| h.test.clone())
                .filter(|t| !t.is_empty()),
            working_dir: self.working_dir.clone().filter(|w| !w.is_empty()),
            stop_signal: self.stop_signal.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8], what: &str) -> Result<ImageConfig> {
        serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
            what: what.to_string(),
            source,
        })
    }

    /// The `created_by` of each non-empty layer, in layer order.
    pub fn layer_history(&self) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = self
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone())
            .collect();
        // History is informative only: when it does not line up with the layers, drop it.
        if out.len() != self.rootfs.diff_ids.len() {
            out = vec![None; self.rootfs.diff_ids.len()];
        }
        out
    }
}

/// An OS/architecture pair as manifests lists name it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of the machine patchline runs on, in Go's naming.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(ImageError::invalid(
                format!("platform {}", patchline_model::quote_capped(s, 100)),
                "expected OS/ARCH[/VARIANT], e.g. linux/amd64",
            ));
        }
        Ok(Platform {
            os: parts[0].into(),
            architecture: parts[1].into(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }

    /// Does a manifest list entry for `other` serve this platform? A variant given on
    /// our side must match; an entry without variant matches any (as containerd does for
    /// arm64, whose only variant is v8).
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && match (&self.variant, &other.variant) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Picks the manifest of `platform` in an index.
pub fn select_platform<'a>(
    index: &'a ManifestDoc,
    platform: &Platform,
    what: &str,
) -> Result<&'a Descriptor> {
    let entries = index.manifests.as_deref().unwrap_or(&[]);
    // Attestation manifests (buildkit) carry platform unknown/unknown: never candidates.
    let candidates = entries
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)));
    let mut best: Option<&Descriptor> = None;
    for d in candidates {
        let exact =
            d.platform.as_ref().and_then(|p| p.variant.as_ref()) == platform.variant.as_ref();
        if best.is_none() || exact {
            best = Some(d);
            if exact {
                break;
            }
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    // An index of one nested index (no platform of its own): the platforms are inside.
    let nested: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| {
            d.platform.is_none()
                && matches!(d.media_type.as_str(), OCI_INDEX | DOCKER_MANIFEST_LIST)
        })
        .collect();
    if let [only] = nested.as_slice() {
        return Ok(only);
    }
    let offered = capped_list(
        entries
            .iter()
            .filter_map(|d| d.platform.as_ref().map(|p| p.to_string())),
    );
    let unnamed = entries.iter().filter(|d| d.platform.is_none()).count();
    Err(ImageError::NoPlatform {
        what: what.to_string(),
        platform: platform.to_string(),
        available: match (offered.is_empty(), unnamed) {
            (true, 0) => "none: the index is empty".to_string(),
            (true, n) => format!("none named: {n} entries carry no platform"),
            (false, 0) => offered,
            (false, n) => format!("{offered}; {n} entries carry no platform"),
        },
    })
}

/// The platforms an index offers, for a message: server-sent text, so each is capped and
/// the list too.
fn capped_list(items: impl Iterator<Item = String>) -> String {
    const MAX_ITEMS: usize = 16;
    let mut shown = Vec::new();
    let mut more = 0usize;
    for p in items {
        if shown.len() < MAX_ITEMS {
            // Plain `os/arch` stays unquoted; anything odd is quoted and capped.
            if p.len() <= 64 && p.chars().all(|c| c.is_ascii_graphic()) {
                shown.push(p);
            } else {
                shown.push(patchline_model::quote_capped(&p, 64));
            }
        } else {
            more += 1;
        }
    }
    if more > 0 {
        shown.push(format!("and {more} more"));
    }
    shown.join(", ")
}
