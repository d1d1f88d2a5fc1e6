//! OCI distribution (Docker registry v2) client: manifests, streamed blobs, tag and
//! catalog listing.
//!
//! Requests start anonymous; a 401 is answered with Basic credentials or a Bearer token
//! (see [`auth`]) taken from [`RegistryOptions`] or the Docker config (see
//! [`dockerconfig`]). Transient failures (connection errors, 429, 5xx) of idempotent
//! requests are retried with a short exponential backoff; a blob whose body has started
//! streaming is never retried, the caller sees the read error. Blob redirects are
//! followed, without credentials when they leave the registry's origin.
//!
//! Docker Hub is `registry-1.docker.io` (`docker.io` and `index.docker.io` are mapped to
//! it); its token service and redirects to its CDN are handled by the generic code but
//! cannot be tested offline.

mod auth;
mod client;
mod dockerconfig;
mod http;

use std::io::Read;

use patchline_http::{Deadline, Response};
use patchline_model::Digest;
use url::Url;

pub use auth::{parse_www_authenticate, Challenge};
use client::{Client, Req};
use http::{next_link, Step};

use crate::error::{ImageError, Result};
use crate::manifest::ACCEPTED_MANIFESTS;
use crate::reference::RegistryRef;
use crate::source::{Fetched, ManifestStore, RegistryOptions};

/// Largest manifest or index accepted. Real ones are a few KiB; big multi-platform
/// indexes stay well under 1 MiB.
pub const MAX_MANIFEST: u64 = 4 << 20;
/// Largest page of a tag list or catalog.
const MAX_LIST_PAGE: u64 = 16 << 20;
/// Bound on followed pages, against a registry whose `Link` never ends.
const MAX_PAGES: usize = 10_000;

/// A repository of a registry, as a [`ManifestStore`].
pub struct RegistryStore {
    r: RegistryRef,
    client: Client,
    accept: String,
    pull_scope: String,
}

/// The API host of a registry name: Docker Hub's names all mean `registry-1.docker.io`.
fn api_host(registry: &str) -> &str {
    match registry.to_ascii_lowercase().as_str() {
        "docker.io" | "index.docker.io" | "registry.hub.docker.com" => "registry-1.docker.io",
        _ => registry,
    }
}

fn check_repository(r: &RegistryRef) -> Result<()> {
    let ok = !r.repository.is_empty()
        && r.repository.len() <= 255
        && r.repository.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
        });
    if ok {
        Ok(())
    } else {
        Err(ImageError::Reference {
            reference: r.to_string(),
            reason: format!(
                "invalid repository name {}",
                patchline_model::quote_capped(&r.repository, 200)
            ),
        })
    }
}

/// A tag or a digest, safe to put in a URL path.
fn check_manifest_reference(reference: &str) -> std::result::Result<(), String> {
    if reference.contains(':') {
        return reference
            .parse::<Digest>()
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    let valid = !reference.is_empty()
        && reference.len() <= 128
        && reference.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {}",
            patchline_model::quote_capped(reference, 100)
        ))
    }
}

/// `media/type; charset=x` → `media/type`.
fn media_type(resp: &Response) -> Option<String> {
    resp.header("content-type")
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
        .filter(|v| !v.is_empty())
}

fn header_digest(resp: &Response) -> Option<std::result::Result<Digest, String>> {
    resp.header("docker-content-digest").map(|v| {
        v.trim()
            .parse::<Digest>()
            .map_err(|e| format!("{}: {e}", patchline_model::quote_capped(v, 100)))
    })
}

/// Reads a whole small body by `deadline`; a read failure is a retry (nothing was
/// handed out yet), a body over `max` is not.
fn read_bounded(resp: Response, max: u64, what: &str, deadline: Deadline) -> Result<Step<Vec<u8>>> {
    match resp.read_bounded(max, deadline) {
        Ok(buf) => Ok(Step::Done(buf)),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            Err(ImageError::invalid(what, e.to_string()))
        }
        Err(e) => Ok(Step::Retry {
            reason: format!("{what}: reading the body failed: {e}"),
            wait: None,
        }),
    }
}

impl RegistryStore {
    pub fn new(r: RegistryRef, opts: &RegistryOptions) -> Result<Self> {
        check_repository(&r)?;
        if let Some(t) = &r.tag {
            check_manifest_reference(t).map_err(|reason| ImageError::Reference {
                reference: r.to_string(),
                reason,
            })?;
        }
        let client = Client::new(api_host(&r.registry), opts)?;
        Ok(RegistryStore {
            pull_scope: format!("repository:{}:pull", r.repository),
            accept: ACCEPTED_MANIFESTS.join(", "),
            r,
            client,
        })
    }

    pub fn reference(&self) -> &RegistryRef {
        &self.r
    }

    fn manifest_url(&self, reference: &str) -> Result<Url> {
        check_manifest_reference(reference).map_err(|reason| ImageError::Reference {
            reference: format!("{}/{}:{reference}", self.r.registry, self.r.repository),
            reason,
        })?;
        self.client
            .url(&format!("/v2/{}/manifests/{reference}", self.r.repository))
    }

    fn fetch_manifest(&self, reference: &str, pinned: Option<Digest>) -> Result<Fetched> {
        let what = format!("manifest {}:{reference}", self.r.repository);
        let req = Req {
            method: "GET",
            url: self.manifest_url(reference)?,
            accept: Some(&self.accept),
            scope: &self.pull_scope,
            repository: &self.r.repository,
            what: &what,
        };
        let body_what = format!("registry {}: {what}", self.client.registry());
        self.client.send(&req, |resp, deadline| {
            let media_type = media_type(&resp);
            // A malformed header is ignored: the resolver hashes the bytes anyway.
            let announced = header_digest(&resp).and_then(|d| d.ok());
            Ok(
                read_bounded(resp, MAX_MANIFEST, &body_what, deadline)?.map(|bytes| Fetched {
                    bytes,
                    media_type: media_type.clone(),
                    expected: pinned.clone().or(announced),
                }),
            )
        })
    }

    /// The digest of a manifest (tag or digest) by a HEAD request, as the registry
    /// announces it in `Docker-Content-Digest`; `None` when it announces none. A missing
    /// manifest is [`ImageError::NotFound`].
    pub fn head_manifest(&self, reference: &str) -> Result<Option<Digest>> {
        let what = format!("manifest {}:{reference}", self.r.repository);
        let req = Req {
            method: "HEAD",
            url: self.manifest_url(reference)?,
            accept: Some(&self.accept),
            scope: &self.pull_scope,
            repository: &self.r.repository,
            what: &what,
        };
        self.client
            .send(&req, |resp, _| match header_digest(&resp) {
                None => Ok(Step::Done(None)),
                Some(Ok(d)) => Ok(Step::Done(Some(d))),
                Some(Err(e)) => Err(ImageError::invalid(
                    format!("registry {}: {what}", self.client.registry()),
                    format!("malformed Docker-Content-Digest {e}"),
                )),
            })
    }

    /// Every tag of the repository, following `Link` pagination.
    pub fn list_tags(&self) -> Result<Vec<String>> {
        self.list_tags_paged(None)
    }

    /// Like [`RegistryStore::list_tags`], asking for pages of `page_size` (`n=`).
    pub fn list_tags_paged(&self, page_size: Option<u32>) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut first = self
            .client
            .url(&format!("/v2/{}/tags/list", self.r.repository))?;
        if let Some(n) = page_size {
            first.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let what = format!("repository {}", self.r.repository);
        paginate(
            &self.client,
            first,
            &self.pull_scope,
            &self.r.repository,
            &what,
            |bytes, w| {
                let page: Page =
                    serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
                        what: w.to_string(),
                        source,
                    })?;
                Ok(page.tags.unwrap_or_default())
            },
        )
    }
}

/// Every repository of a registry (`/v2/_catalog`), following `Link` pagination. Many
/// public registries (Docker Hub among them) do not offer the catalog.
pub fn catalog(registry: &str, opts: &RegistryOptions) -> Result<Vec<String>> {
    catalog_paged(registry, opts, None)
}

/// Like [`catalog`], asking for pages of `page_size` (`n=`).
pub fn catalog_paged(
    registry: &str,
    opts: &RegistryOptions,
    page_size: Option<u32>,
) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        repositories: Option<Vec<String>>,
    }
    let client = Client::new(api_host(registry), opts)?;
    let mut first = client.url("/v2/_catalog")?;
    if let Some(n) = page_size {
        first.query_pairs_mut().append_pair("n", &n.to_string());
    }
    paginate(
        &client,
        first,
        "registry:catalog:*",
        "(catalog)",
        "catalog",
        |bytes, w| {
            let page: Page = serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
                what: w.to_string(),
                source,
            })?;
            Ok(page.repositories.unwrap_or_default())
        },
    )
}

fn paginate(
    client: &Client,
    first: Url,
    scope: &str,
    repository: &str,
    what: &str,
    parse: impl Fn(&[u8], &str) -> Result<Vec<String>>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = Some(first);
    while let Some(url) = next.take() {
        if !seen.insert(url.to_string()) {
            return Err(ImageError::invalid(
                format!("registry {}: {what}", client.registry()),
                format!("pagination loops back to {url}"),
            ));
        }
        if seen.len() > MAX_PAGES {
            return Err(ImageError::invalid(
                format!("registry {}: {what}", client.registry()),
                format!("more than {MAX_PAGES} pages"),
            ));
        }
        let page_what = format!("registry {}: {what} page {}", client.registry(), seen.len());
        let req = Req {
            method: "GET",
            url: url.clone(),
            accept: Some("application/json"),
            scope,
            repository,
            what,
        };
        let (bytes, link) = client.send(&req, |resp, deadline| {
            let link = resp
                .all("link")
                .iter()
                .find_map(|l| next_link(l))
                .map(str::to_string);
            Ok(read_bounded(resp, MAX_LIST_PAGE, &page_what, deadline)?.map(|b| (b, link.clone())))
        })?;
        out.extend(parse(&bytes, &page_what)?);
        if let Some(l) = link {
            let target = url.join(&l).map_err(|e| {
                ImageError::invalid(
                    &page_what,
                    format!(
                        "bad Link target {}: {e}",
                        patchline_model::quote_capped(&l, 200)
                    ),
                )
            })?;
            // Our credentials go with the next request: it must stay on the registry.
            if target.origin() != client.base().origin() {
                return Err(ImageError::invalid(
                    &page_what,
                    format!("Link points to another origin: {target}"),
                ));
            }
            next = Some(target);
        }
    }
    Ok(out)
}

/// A blob body, with read errors naming the registry and the digest.
struct BlobReader {
    inner: Box<dyn Read + Send + Sync>,
    context: String,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.context)))
    }
}

impl ManifestStore for RegistryStore {
    fn describe(&self) -> String {
        format!("docker://{}", self.r)
    }

    fn root(&self) -> Result<Fetched> {
        self.fetch_manifest(&self.r.manifest_reference(), self.r.digest.clone())
    }

    fn manifest(&self, digest: &Digest) -> Result<Fetched> {
        self.fetch_manifest(&digest.to_string(), Some(digest.clone()))
    }

    fn blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        let what = format!("blob {digest} in {}", self.r.repository);
        let req = Req {
            method: "GET",
            url: self
                .client
                .url(&format!("/v2/{}/blobs/{digest}", self.r.repository))?,
            accept: None,
            scope: &self.pull_scope,
            repository: &self.r.repository,
            what: &what,
        };
        let context = format!("registry {}: {what}", self.client.registry());
        let pace = self.client.limits().min_rate_pace();
        // Handing out the reader ends the retry loop: a stream that breaks later is the
        // caller's error, never silently restarted. From here on the body is held to the
        // minimum transfer rate, not the operation's deadline (layers may be large).
        self.client.send(&req, |resp, _| {
            Ok(Step::Done(Box::new(BlobReader {
                inner: Box::new(resp.into_body(pace)),
                context: context.clone(),
            }) as Box<dyn Read + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(repo: &str, tag: &str) -> RegistryRef {
        RegistryRef {
            registry: "127.0.0.1:5000".into(),
            repository: repo.into(),
            tag: Some(tag.into()),
            digest: None,
        }
    }

    #[test]
    fn refuses_unsafe_names() {
        let opts = RegistryOptions::default();
        for (repo, tag) in [
            ("../x", "1"),
            ("a//b", "1"),
            ("A", "1"),
            ("a", "../../x"),
            ("a", "t?x"),
        ] {
            assert!(
                RegistryStore::new(rr(repo, tag), &opts).is_err(),
                "{repo}:{tag}"
            );
        }
        let s = RegistryStore::new(rr("team/app", "1.0"), &opts).unwrap();
        assert!(s.head_manifest("x/../../y").is_err());
        assert!(s.head_manifest("sha256:zz").is_err());
        let mut hub = rr("library/debian", "12");
        hub.registry = "docker.io".into();
        let s = RegistryStore::new(hub, &opts).unwrap();
        assert_eq!(s.client.base().as_str(), "https://registry-1.docker.io/");
        assert_eq!(s.describe(), "docker://docker.io/library/debian:12");
    }

    #[test]
    fn insecure_means_http() {
        let opts = RegistryOptions {
            insecure: true,
            ..Default::default()
        };
        let s = RegistryStore::new(rr("a", "1"), &opts).unwrap();
        assert_eq!(s.client.base().as_str(), "http://127.0.0.1:5000/");
        let half = RegistryOptions {
            username: Some("u".into()),
            ..Default::default()
        };
        assert!(RegistryStore::new(rr("a", "1"), &half).is_err());
    }
}
