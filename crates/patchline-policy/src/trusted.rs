//! Trusted images: the governance team's list of approved external images, and what
//! the policy stage knows about the base an image was built on.
//!
//! An entry approves a repository pattern (`docker.io/library/debian:12*`,
//! `registry.example.com/base/*`), optionally pinned to one digest, with who approved
//! it, when, and until when. A base is trusted by an entry when its reference matches
//! the pattern, the entry has not expired, and, when the entry pins a digest, the base's
//! digest is known and equal (a pinned entry never trusts a base of unknown digest).
//!
//! The bases come from the scan ([`BaseImage`]): the catalog's lineage when it knows the
//! image, else the Containerfile's last `FROM`, else the OCI annotations (or labels)
//! `org.opencontainers.image.base.name` / `org.opencontainers.image.base.digest`
//! ([`bases_from_annotations`]). The policy stage fails closed: a stage with
//! `trusted_bases` and an image whose base is not known fails with "base image unknown".

use patchline_model::ImageInfo;
use time::Date;

use crate::pattern::{format_date, reference_matches};

/// One approved image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedImage {
    /// Reference pattern.
    pub pattern: String,
    /// `sha256:…`: only this digest is approved.
    pub digest: Option<String>,
    pub approved_by: Option<String>,
    pub approved_on: Option<Date>,
    /// Last day the approval holds.
    pub expires: Option<Date>,
    pub reason: Option<String>,
    /// `file:line`.
    pub source: Option<String>,
}

/// Why a trusted-images entry does or does not trust a base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustMatch {
    Trusted,
    /// Pattern matches, approval expired that day.
    Expired(Date),
    /// Pattern matches, digest is another one (or unknown).
    DigestMismatch {
        approved: String,
    },
    NoMatch,
}

impl TrustedImage {
    /// How this entry judges the base `reference` of digest `digest` on `today`.
    pub fn judge(&self, reference: &str, digest: Option<&str>, today: Date) -> TrustMatch {
        if !reference_matches(&self.pattern, reference) {
            return TrustMatch::NoMatch;
        }
        if let Some(e) = self.expires.filter(|e| *e < today) {
            return TrustMatch::Expired(e);
        }
        if let Some(approved) = &self.digest {
            let given = digest.or_else(|| reference.split_once('@').map(|(_, d)| d));
            if given != Some(approved.as_str()) {
                return TrustMatch::DigestMismatch {
                    approved: approved.clone(),
                };
            }
        }
        TrustMatch::Trusted
    }

    /// Whether this entry trusts the base.
    pub fn matches(&self, reference: &str, digest: Option<&str>, today: Date) -> bool {
        self.judge(reference, digest, today) == TrustMatch::Trusted
    }

    /// One line for messages: `docker.io/library/debian:12* (approved by sec-team until
    /// 2027-01-31)`.
    pub fn describe(&self) -> String {
        let mut s = self.pattern.clone();
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        let mut notes = Vec::new();
        if let Some(b) = &self.approved_by {
            notes.push(format!("approved by {b}"));
        }
        if let Some(e) = self.expires {
            notes.push(format!("until {}", format_date(e)));
        }
        if !notes.is_empty() {
            s.push_str(&format!(" ({})", notes.join(" ")));
        }
        s
    }
}

/// How the scan learned an image's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseSource {
    /// The catalog's lineage (the most reliable: verified by layers).
    Catalog,
    /// The Containerfile's final stage `FROM`.
    Containerfile,
    /// The image's `org.opencontainers.image.base.*` annotations or labels (the image's
    /// own claim).
    Annotation,
}

impl BaseSource {
    pub fn as_str(self) -> &'static str {
        match self {
            BaseSource::Catalog => "catalog",
            BaseSource::Containerfile => "containerfile",
            BaseSource::Annotation => "annotation",
        }
    }
}

/// An image an image was built on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    pub reference: String,
    pub digest: Option<String>,
    pub known_from: BaseSource,
    /// When the base was built, when known (`max_base_age_days`).
    pub created: Option<Date>,
}

impl BaseImage {
    /// `debian:12@sha256:… (from the catalog)`.
    pub fn describe(&self) -> String {
        let mut s = self.reference.clone();
        if let Some(d) = &self.digest {
            if !s.contains('@') {
                s.push('@');
                s.push_str(d);
            }
        }
        format!("{s} (from the {})", self.known_from.as_str())
    }
}

pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// The base an image declares in its manifest annotations, else its config labels.
pub fn bases_from_annotations(image: &ImageInfo) -> Vec<BaseImage> {
    for map in [&image.annotations, &image.labels] {
        if let Some(name) = map.get(BASE_NAME).filter(|n| !n.trim().is_empty()) {
            return vec![BaseImage {
                reference: name.trim().to_string(),
                digest: map.get(BASE_DIGEST).map(|d| d.trim().to_string()),
                known_from: BaseSource::Annotation,
                created: None,
            }];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn judging() {
        let t = TrustedImage {
            pattern: "docker.io/library/debian:12*".into(),
            expires: Some(date!(2027 - 01 - 31)),
            ..Default::default()
        };
        let today = date!(2026 - 12 - 07);
        assert!(t.matches("docker.io/library/debian:12-slim", None, today));
        assert_eq!(
            t.judge("docker.io/library/debian:12", None, date!(2027 - 02 - 01)),
            TrustMatch::Expired(date!(2027 - 01 - 31))
        );
        assert_eq!(
            t.judge("docker.io/library/alpine:3", None, today),
            TrustMatch::NoMatch
        );
        let pinned = TrustedImage {
            digest: Some("sha256:aa".into()),
            ..t.clone()
        };
        assert!(pinned.matches("docker.io/library/debian:12", Some("sha256:aa"), today));
        assert!(pinned.matches("docker.io/library/debian:12@sha256:aa", None, today));
        assert!(!pinned.matches("docker.io/library/debian:12", Some("sha256:bb"), today));
        assert!(!pinned.matches("docker.io/library/debian:12", None, today));
    }

    #[test]
    fn annotations_then_labels() {
        let mut img = ImageInfo::default();
        assert!(bases_from_annotations(&img).is_empty());
        img.labels.insert(BASE_NAME.into(), "debian:12".into());
        assert_eq!(bases_from_annotations(&img)[0].reference, "debian:12");
        img.annotations.insert(
            BASE_NAME.into(),
            "registry.example.com/base/debian:12".into(),
        );
        img.annotations
            .insert(BASE_DIGEST.into(), "sha256:aa".into());
        let b = &bases_from_annotations(&img)[0];
        assert_eq!(b.reference, "registry.example.com/base/debian:12");
        assert_eq!(b.digest.as_deref(), Some("sha256:aa"));
        assert_eq!(b.known_from, BaseSource::Annotation);
    }
}
