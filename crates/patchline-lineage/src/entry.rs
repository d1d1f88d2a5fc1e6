//! What the catalog knows about one image: what the organisation declares (tier, owner,
//! Containerfile, parent) and what the image itself says (digests, layer chain, base
//! annotations).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use patchline_model::{Digest, ImageInfo};
use serde::{Deserialize, Serialize};

use crate::chain::chain_ids;
use crate::error::{LineageError, Result};

/// OCI annotation naming the image this one was built on (`FROM`), as a reference.
pub const BASE_NAME_ANNOTATION: &str = "org.opencontainers.image.base.name";
/// OCI annotation with the manifest digest of that base image.
pub const BASE_DIGEST_ANNOTATION: &str = "org.opencontainers.image.base.digest";

/// Where an image sits in the supply chain, which decides who fixes what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// An OS base image (debian, ubi, alpine), usually maintained by a platform team.
    Base,
    /// A hardened organisation image built on a base (CA bundle, users, agents).
    Enterprise,
    /// An application image.
    Application,
    /// A build-time image (compilers, CI runners): rebuilt like the others, never deployed.
    Builder,
    /// A vendor image (commercial off-the-shelf): only its vendor can fix it.
    Cots,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::Base,
        Tier::Enterprise,
        Tier::Application,
        Tier::Builder,
        Tier::Cots,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Base => "base",
            Tier::Enterprise => "enterprise",
            Tier::Application => "application",
            Tier::Builder => "builder",
            Tier::Cots => "cots",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown tier {:?} (expected base, enterprise, application, builder or cots)",
                    s.chars().take(100).collect::<String>()
                )
            })
    }
}

/// Who answers for an image: a team, and how to reach it (mail, chat channel, ticket
/// queue). For COTS images, the vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

impl Owner {
    pub fn new(team: impl Into<String>, contact: Option<String>) -> Owner {
        Owner {
            team: team.into(),
            contact,
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.contact {
            Some(c) => write!(f, "{} <{c}>", self.team),
            None => f.write_str(&self.team),
        }
    }
}

/// One catalogued image.
///
/// The *declared* fields come from the organisation (`catalog add` flags, the YAML
/// catalog); the *resolved* fields come from the image itself (manifest, config) and are
/// refreshed by [`CatalogEntry::apply_image_info`]. `chain_ids` is derived from
/// `diff_ids` ([`CatalogEntry::ensure_chain_ids`]); the catalog fills it on load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The reference the image was catalogued under: the catalog's key, and the node name
    /// in every graph output.
    pub reference: String,
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Path of the image's Containerfile (relative to the catalog file or absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerfile: Option<String>,
    /// Build context directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `ARG` values the image is built with (for `FROM ${BASE}` lines).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Catalog labels (governance metadata such as `criticality`), not the image's own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Parent declared in the catalog (YAML `parent`): a catalogued reference or an
    /// image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_parent: Option<String>,
    /// The final stage's `FROM` of the Containerfile, after `ARG` substitution
    /// (`registry.example/enterprise:1`, `python:3.11@sha256:…`, `scratch`). Filled by
    /// the caller from `containerfile::final_base`; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_base: Option<String>,
    /// Images the earlier stages of a multi-stage build use (`FROM golang:1.22 AS build`):
    /// build-time inputs, not parents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_inputs: Vec<String>,

    /// Manifest digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// Image creation time from its config (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `os/arch[/variant]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `org.opencontainers.image.base.name` of the manifest (or config label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_name: Option<String>,
    /// `org.opencontainers.image.base.digest` of the manifest (or config label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_digest: Option<Digest>,
    /// Uncompressed layer digests, bottom first. Empty until the image is resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff_ids: Vec<Digest>,
    /// Chain IDs of `diff_ids` (derived).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain_ids: Vec<Digest>,

    /// Set by the catalog (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl CatalogEntry {
    /// An unresolved entry: declared fields only.
    pub fn new(reference: impl Into<String>, tier: Tier) -> CatalogEntry {
        CatalogEntry {
            reference: reference.into(),
            tier,
            owner: None,
            containerfile: None,
            context: None,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            declared_parent: None,
            declared_base: None,
            build_inputs: Vec::new(),
            digest: None,
            config_digest: None,
            created: None,
            platform: None,
            base_name: None,
            base_digest: None,
            diff_ids: Vec::new(),
            chain_ids: Vec::new(),
            added_at: None,
            updated_at: None,
        }
    }

    /// An entry for a resolved image (`ImageSource::resolve().info`).
    pub fn from_image_info(reference: impl Into<String>, tier: Tier, info: &ImageInfo) -> Self {
        let mut e = CatalogEntry::new(reference, tier);
        e.apply_image_info(info);
        e
    }

    /// Replaces the resolved fields with what the image says now. Declared fields are
    /// kept. Base annotations are read from the manifest, else from config labels (some
    /// builders put them there); a malformed base digest is ignored.
    pub fn apply_image_info(&mut self, info: &ImageInfo) {
        self.digest = info.manifest_digest.clone();
        self.config_digest = info.config_digest.clone();
        self.created = info.created.clone();
        self.platform = match (&info.os, &info.architecture) {
            (Some(os), Some(arch)) => Some(match &info.variant {
                Some(v) => format!("{os}/{arch}/{v}"),
                None => format!("{os}/{arch}"),
            }),
            _ => None,
        };
        let look = |key: &str| {
            info.annotations
                .get(key)
                .or_else(|| info.labels.get(key))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        self.base_name = look(BASE_NAME_ANNOTATION);
        self.base_digest = look(BASE_DIGEST_ANNOTATION).and_then(|d| d.parse().ok());
        self.diff_ids = info.layers.iter().map(|l| l.diff_id.clone()).collect();
        self.chain_ids = chain_ids(&self.diff_ids);
    }

    /// Has the image been resolved (its layers are known)?
    pub fn is_resolved(&self) -> bool {
        !self.diff_ids.is_empty()
    }

    /// Computes `chain_ids` when missing or out of step with `diff_ids`.
    pub fn ensure_chain_ids(&mut self) {
        if self.chain_ids.len() != self.diff_ids.len() {
            self.chain_ids = chain_ids(&self.diff_ids);
        }
    }

    /// The top chain ID: names the whole layer stack.
    pub fn top_chain_id(&self) -> Option<&Digest> {
        self.chain_ids.last()
    }

    /// Checks what the catalog needs to store the entry.
    pub fn validate(&self) -> Result<()> {
        check_reference(&self.reference).map_err(|reason| LineageError::InvalidEntry {
            reference: self.reference.chars().take(200).collect(),
            reason,
        })?;
        if let Some(o) = &self.owner {
            if o.team.trim().is_empty() {
                return Err(LineageError::InvalidEntry {
                    reference: self.reference.clone(),
                    reason: "owner team is empty".into(),
                });
            }
        }
        Ok(())
    }
}

/// A catalog reference: non-empty, at most 1024 bytes, no whitespace or control
/// characters (it is printed in graphs and used as a key).
pub fn check_reference(r: &str) -> std::result::Result<(), String> {
    if r.is_empty() {
        return Err("empty reference".into());
    }
    if r.len() > 1024 {
        return Err(format!("reference longer than 1024 bytes ({})", r.len()));
    }
    if r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("reference contains whitespace or control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::LayerInfo;

    #[test]
    fn reads_base_annotations_and_layers() {
        let d = |c: char| -> Digest {
            format!("sha256:{}", c.to_string().repeat(64))
                .parse()
                .unwrap()
        };
        let mut info = ImageInfo {
            reference: "oci:x:child".into(),
            manifest_digest: Some(d('a')),
            config_digest: Some(d('b')),
            os: Some("linux".into()),
            architecture: Some("arm64".into()),
            variant: Some("v8".into()),
            ..Default::default()
        };
        info.annotations.insert(
            BASE_NAME_ANNOTATION.into(),
            "registry.example/base:1".into(),
        );
        info.labels
            .insert(BASE_DIGEST_ANNOTATION.into(), d('c').to_string());
        for (i, c) in ['1', '2'].into_iter().enumerate() {
            info.layers.push(LayerInfo {
                index: i,
                digest: None,
                diff_id: d(c),
                media_type: String::new(),
                size: None,
                created_by: None,
            });
        }
        let e = CatalogEntry::from_image_info("r.example/app:1", Tier::Application, &info);
        assert_eq!(e.platform.as_deref(), Some("linux/arm64/v8"));
        assert_eq!(e.base_name.as_deref(), Some("registry.example/base:1"));
        assert_eq!(e.base_digest, Some(d('c')));
        assert_eq!(e.diff_ids.len(), 2);
        assert_eq!(e.chain_ids.len(), 2);
        assert_eq!(e.chain_ids[0], d('1'));
        info.annotations
            .insert(BASE_DIGEST_ANNOTATION.into(), "sha256:nothex".into());
        let e = CatalogEntry::from_image_info("r.example/app:1", Tier::Application, &info);
        assert_eq!(e.base_digest, None);
    }

    #[test]
    fn tiers_parse() {
        assert_eq!("COTS".parse::<Tier>().unwrap(), Tier::Cots);
        let err = "service".parse::<Tier>().unwrap_err();
        assert!(
            err.contains("service") && err.contains("enterprise"),
            "{err}"
        );
    }
}
