//! Image references in skopeo's transport syntax.

use std::fmt;
use std::path::PathBuf;

use patchline_model::Digest;

use crate::error::{ImageError, Result};

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    /// `oci:DIR[:TAG]`: an OCI image layout directory.
    OciLayout { dir: PathBuf, tag: Option<String> },
    /// `oci-archive:FILE[:TAG]`: an OCI image layout in a tar file.
    OciArchive { file: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:REPO:TAG]`: `docker save` output (classic or OCI-style).
    DockerArchive { file: PathBuf, tag: Option<String> },
    /// `dir:ROOTFS`: an unpacked root filesystem.
    RootFs { dir: PathBuf },
    /// `docker://HOST/REPO[:TAG|@DIGEST]`.
    Registry(RegistryRef),
}

/// A reference into an OCI distribution registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRef {
    /// `host[:port]`, e.g. `127.0.0.1:5000` or `registry-1.docker.io`.
    pub registry: String,
    /// `library/debian`, `team/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl RegistryRef {
    /// What to ask the registry's `/manifests/` endpoint for: the digest if pinned, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

const TRANSPORTS: &str = "oci:, oci-archive:, docker-archive:, dir:, docker://";

impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef> {
        let err = |reason: &str| ImageError::Reference {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(err("empty reference"));
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return parse_registry(rest)
                .map(ImageRef::Registry)
                .map_err(|r| err(&r));
        }
        if let Some((transport, rest)) = s.split_once(':') {
            let (path, tag) = split_path_tag(rest);
            match transport {
                "oci" => {
                    return nonempty(path, &err).map(|dir| ImageRef::OciLayout { dir, tag });
                }
                "oci-archive" => {
                    return nonempty(path, &err).map(|file| ImageRef::OciArchive { file, tag });
                }
                "docker-archive" => {
                    // docker-archive:FILE[:REPO:TAG] — the tag may itself hold a colon.
                    let (file, tag) = match rest.split_once(':') {
                        Some((f, t)) if !t.is_empty() => (f, Some(t.to_string())),
                        _ => (rest, None),
                    };
                    return nonempty(file, &err).map(|file| ImageRef::DockerArchive { file, tag });
                }
                "dir" => return nonempty(rest, &err).map(|dir| ImageRef::RootFs { dir }),
                _ => {}
            }
            // `host:5000/repo:tag` also has a colon before its first slash: it is a
            // registry reference when the part before the first slash looks like a host.
            let first = s.split('/').next().unwrap_or("");
            let hostlike = s.contains('/')
                && (first.contains('.') || first.contains(':') || first == "localhost");
            if !hostlike {
                return Err(err(&format!(
                    "unknown transport {transport:?} (expected one of {TRANSPORTS}, or HOST/REPO:TAG)"
                )));
            }
        }
        // A registry host never starts like a path: say which transport to name.
        if s.starts_with(['/', '.', '~']) {
            return Err(err(&format!(
                "looks like a path; name how to read it: docker-archive:{s}, oci-archive:{s}, oci:{s} or dir:{s}"
            )));
        }
        if s.contains('/') {
            return parse_registry(s)
                .map(ImageRef::Registry)
                .map_err(|r| err(&r));
        }
        Err(err(&format!(
            "no transport (expected one of {TRANSPORTS}, or HOST/REPO:TAG)"
        )))
    }
}

fn nonempty(path: &str, err: &dyn Fn(&str) -> ImageError) -> Result<PathBuf> {
    if path.is_empty() {
        Err(err("empty path"))
    } else {
        Ok(PathBuf::from(path))
    }
}

/// `DIR[:TAG]`: the tag is what follows the last colon, when that colon comes after the
/// last slash (so `./a:b/c` is a path).
fn split_path_tag(rest: &str) -> (&str, Option<String>) {
    match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') && i + 1 < rest.len() => {
            (&rest[..i], Some(rest[i + 1..].to_string()))
        }
        Some(i) if i + 1 == rest.len() => (&rest[..i], None),
        _ => (rest, None),
    }
}

fn parse_registry(s: &str) -> std::result::Result<RegistryRef, String> {
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d.parse::<Digest>().map_err(|e| e.to_string())?)),
        None => (s, None),
    };
    let (name, tag) = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(name[i + 1..].to_string())),
        _ => (name, None),
    };
    if let Some(t) = &tag {
        let valid = !t.is_empty()
            && t.len() <= 128
            && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(format!("invalid tag {t:?}"));
        }
    }
    let (registry, repository) = match name.split_once('/') {
        Some((h, r)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_string(), r.to_string())
        }
        // Docker Hub short names: `library/debian`, `team/app`.
        _ => ("registry-1.docker.io".to_string(), {
            if name.contains('/') {
                name.to_string()
            } else {
                format!("library/{name}")
            }
        }),
    };
    if repository.is_empty()
        || !repository.split('/').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
        })
    {
        return Err(format!("invalid repository name {repository:?}"));
    }
    Ok(RegistryRef {
        registry,
        repository,
        tag: if digest.is_none() && tag.is_none() {
            Some("latest".into())
        } else {
            tag
        },
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports() {
        assert_eq!(
            ImageRef::parse("oci:build/layout:base").unwrap(),
            ImageRef::OciLayout {
                dir: "build/layout".into(),
                tag: Some("base".into())
            }
        );
        assert_eq!(
            ImageRef::parse("oci:/abs/layout").unwrap(),
            ImageRef::OciLayout {
                dir: "/abs/layout".into(),
                tag: None
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:child.tar:child:1").unwrap(),
            ImageRef::DockerArchive {
                file: "child.tar".into(),
                tag: Some("child:1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("dir:/tmp/rootfs").unwrap(),
            ImageRef::RootFs {
                dir: "/tmp/rootfs".into()
            }
        );
        let r = ImageRef::parse("docker://127.0.0.1:5000/team/base:1").unwrap();
        assert_eq!(
            r,
            ImageRef::Registry(RegistryRef {
                registry: "127.0.0.1:5000".into(),
                repository: "team/base".into(),
                tag: Some("1".into()),
                digest: None
            })
        );
        let bare = ImageRef::parse("127.0.0.1:5000/team/base:1").unwrap();
        assert_eq!(bare, r);
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        match ImageRef::parse(&format!("localhost/app@{d}")).unwrap() {
            ImageRef::Registry(r) => {
                assert_eq!(r.manifest_reference(), d);
                assert_eq!(r.tag, None)
            }
            other => panic!("{other:?}"),
        }
        match ImageRef::parse("docker://debian:12").unwrap() {
            ImageRef::Registry(r) => {
                assert_eq!(r.to_string(), "registry-1.docker.io/library/debian:12")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "ftp:foo",
            "podman:thing",
            "oci:",
            "docker://host/Repo:1",
            "docker://host/repo:t@g",
            "debian",
        ] {
            let e = ImageRef::parse(bad).unwrap_err().to_string();
            assert!(e.contains("invalid image reference"), "{bad}: {e}");
        }
        // A path is never taken for a registry (`./x.tar` once asked DNS for host ".").
        for path in ["/tmp/x.tar", "./x.tar", "../img", "~/x.tar"] {
            let e = ImageRef::parse(path).unwrap_err().to_string();
            assert!(e.contains(&format!("docker-archive:{path}")), "{path}: {e}");
        }
    }
}
