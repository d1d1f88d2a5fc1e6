//! Image names as people write them (`python:3.11`, `registry.example/team/app:1.4@sha256:…`,
//! `docker://host:5000/base:1`, `oci:build/layout:base`), normalised so that spellings of
//! one image compare equal: the Docker Hub defaults (`docker.io/library/…`), the
//! `latest` tag, a lower-case registry host.

use std::fmt;

use patchline_model::Digest;

/// A normalised image name: repository, tag and digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageName {
    /// `docker.io/library/python`, `registry.example/team/app`, or for the local
    /// transports the transport and path (`oci:build/layout`).
    pub repository: String,
    /// The tag; `latest` when neither tag nor digest was written.
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

const LOCAL_TRANSPORTS: &[&str] = &["oci:", "oci-archive:", "docker-archive:", "dir:"];

impl ImageName {
    /// Parses and normalises a name; `None` when it cannot name an image (empty,
    /// whitespace, a malformed digest). `scratch` parses: see [`ImageName::is_scratch`].
    pub fn parse(input: &str) -> Option<ImageName> {
        let s = input.trim();
        if s.is_empty() || s.len() > 4096 || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let s = s.strip_prefix("docker://").unwrap_or(s);
        if let Some(t) = LOCAL_TRANSPORTS.iter().find(|t| s.starts_with(**t)) {
            let rest = &s[t.len()..];
            // Same rule as the image crate: a tag follows the last colon after the last slash.
            let (path, tag) = match rest.rfind(':') {
                Some(i) if !rest[i..].contains('/') && i + 1 < rest.len() && *t != "dir:" => {
                    (&rest[..i], Some(rest[i + 1..].to_string()))
                }
                _ => (rest, None),
            };
            if path.is_empty() {
                return None;
            }
            return Some(ImageName {
                repository: format!("{t}{path}"),
                tag,
                digest: None,
            });
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d.parse::<Digest>().ok()?)),
            None => (s, None),
        };
        let (name, tag) = match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => {
                let t = &name[i + 1..];
                if t.is_empty() {
                    return None;
                }
                (&name[..i], Some(t.to_string()))
            }
            _ => (name, None),
        };
        if name.is_empty() || name.starts_with('/') || name.ends_with('/') || name.contains("//") {
            return None;
        }
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_ascii_lowercase(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let host = match host.as_str() {
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
                "docker.io".to_string()
            }
            _ => host,
        };
        let path = if host == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t,
        };
        Some(ImageName {
            repository: format!("{host}/{path}"),
            tag,
            digest,
        })
    }

    /// `FROM scratch`: no parent image at all.
    pub fn is_scratch(&self) -> bool {
        self.repository == "docker.io/library/scratch"
    }

    /// The name without its digest, as a registry tag reference (`repo:tag`).
    pub fn tagged(&self) -> Option<String> {
        self.tag
            .as_ref()
            .map(|t| format!("{}:{t}", self.repository))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        ImageName::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_spellings_of_one_image() {
        assert_eq!(n("python:3.11"), "docker.io/library/python:3.11");
        assert_eq!(
            n("docker.io/library/python:3.11"),
            "docker.io/library/python:3.11"
        );
        assert_eq!(
            n("index.docker.io/library/python:3.11"),
            "docker.io/library/python:3.11"
        );
        assert_eq!(n("debian"), "docker.io/library/debian:latest");
        assert_eq!(n("team/app"), "docker.io/team/app:latest");
        assert_eq!(n("docker://127.0.0.1:5000/base:1"), "127.0.0.1:5000/base:1");
        assert_eq!(
            n("Registry.Example/team/app:1.4"),
            "registry.example/team/app:1.4"
        );
        assert_eq!(n("localhost/x"), "localhost/x:latest");
        let pinned = ImageName::parse(
            "r.example/base:1@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .unwrap();
        assert_eq!(pinned.tag.as_deref(), Some("1"));
        assert!(pinned.digest.is_some());
        assert_eq!(pinned.tagged().unwrap(), "r.example/base:1");
        let by_digest = ImageName::parse(
            "r.example/base@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .unwrap();
        assert_eq!(by_digest.tag, None);
        assert_eq!(n("oci:build/layout:base"), "oci:build/layout:base");
        assert_eq!(
            ImageName::parse("oci:build/layout:base")
                .unwrap()
                .repository,
            "oci:build/layout"
        );
        assert!(ImageName::parse("scratch").unwrap().is_scratch());
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "é:1",
            "a@",
            "@",
            ":",
            "x/:y",
            "oci::",
            "docker://",
            "docker://:",
            "ü/ö:ä@sha256:",
            "a:b:c:d",
            "///",
            "host:5000/",
            "host:5000/a:",
            "dir:",
            "oci:é:ü",
            "\u{feff}x",
            "x@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855@x",
        ] {
            let _ = ImageName::parse(s).map(|n| (n.to_string(), n.tagged(), n.is_scratch()));
        }
        let long = "a/".repeat(3000);
        assert!(ImageName::parse(&long).is_none());
    }

    #[test]
    fn rejects_non_names() {
        for bad in ["", " ", "a b", "x@sha256:zz", "x:", "/x", "a//b", "oci:"] {
            assert!(ImageName::parse(bad).is_none(), "{bad:?}");
        }
    }
}
