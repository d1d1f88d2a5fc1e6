//! `patchline db update`: downloading the configured feeds and swapping in a new database.
//!
//! Each source is one URL: the feeds' downloads ([`builtin_sources`]) or `NAME=URL`.
//! Without `--source`, the default set ([`default_source_names`]) is fetched: the feeds
//! the distro registry names for the distros patchline scans, plus KEV and EPSS.
//!
//! Every download follows the same rules, on every run: it is conditional (the ETag and
//! Last-Modified of the previous download are sent as `If-None-Match` /
//! `If-Modified-Since`; a 304 keeps the source's records and moves its `fetched_at`) and
//! resumable (the body goes to `<downloads>/<source>.part`; a later run asks for the rest
//! with `Range: bytes=N-` and `If-Range`, appends on 206 and starts over on 200). A
//! transport error, an HTTP error status or a body shorter than its `Content-Length`
//! fails that source only: its previous records stay, the other sources are applied, and
//! the run reports the failure. The new database becomes visible in one rename at the
//! end ([`crate::DbWriter`]).
//!
//! A mirror (`--mirror URL`) replaces the scheme and host of every source URL and keeps
//! its path: a mirror serves `/<Ecosystem>/all.zip`, `/tracker/data/json`,
//! `/sites/default/files/feeds/known_exploited_vulnerabilities.json` and
//! `/epss_scores-current.csv.gz` under its base URL.
//!
//! NVD is not a built-in source: its API is paged and rate-limited and serves no bulk
//! file; import NVD API responses with `patchline db import` instead (or point a custom
//! source `NAME=URL` at a mirror that serves one file).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use patchline_model::distro::Registry;
use serde::{Deserialize, Serialize};

use crate::db::{DbWriter, SourceMeta};
use crate::error::{Error, Result};
use crate::feeds::{Yields, FEEDS};
use crate::input::{import_path, ImportStats, Limits};

/// A downloadable source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedSource {
    pub name: String,
    pub url: String,
    /// Fetched by `db update` without `--source`.
    pub default: bool,
}

/// The built-in sources: every feed's [`downloads`](crate::feeds::Feed::downloads), in
/// [`FEEDS`] order, each marked whether [`default_source_names`] has it.
pub fn builtin_sources() -> Vec<FeedSource> {
    let default = default_source_names();
    FEEDS
        .iter()
        .flat_map(|f| f.downloads())
        .map(|d| FeedSource {
            default: default.contains(&d.name),
            name: d.name,
            url: d.url,
        })
        .collect()
}

/// What `db update` fetches without `--source`, the one place that decides it: the feeds
/// of every distro in the built-in registry (see [`default_source_names_for`]).
pub fn default_source_names() -> Vec<String> {
    default_source_names_for(Registry::builtin())
}

/// Every source the matcher can use for the distros of `registry` and the language
/// packages the inventory finds, and no more: the registry's feeds (`debian-tracker`,
/// `osv-Ubuntu`, …), osv.dev's record set of each language ecosystem patchline
/// inventories (`osv-PyPI`, `osv-npm`, `osv-Go`, … — not Hex or Pub, which nothing
/// produces), then the downloads of the enrichment feeds (KEV, EPSS: they rate findings
/// of every ecosystem). `osv-Debian` stays selectable by name only (Debian comes from
/// the security tracker, which has the no-DSA / unimportant verdicts osv.dev's Debian
/// records lack).
pub fn default_source_names_for(registry: &Registry) -> Vec<String> {
    let mut names: Vec<String> = registry.feeds().iter().map(|f| f.to_string()).collect();
    for lang in inventoried_languages() {
        let name = format!("osv-{}", lang.osv);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for feed in FEEDS.iter().filter(|f| f.yields() == Yields::Enrichment) {
        for d in feed.downloads() {
            if !names.contains(&d.name) {
                names.push(d.name);
            }
        }
    }
    names
}

/// The language ecosystems the inventory produces packages of.
pub fn inventoried_languages() -> impl Iterator<Item = &'static patchline_model::ecosystem::Language>
{
    patchline_model::Ecosystem::ALL
        .into_iter()
        .filter_map(patchline_model::Ecosystem::language)
}

/// Resolves `--source` arguments: built-in names, or `NAME=URL` for a custom feed (any
/// format `db import` reads). No arguments means the default set.
pub fn resolve_sources(requested: &[String]) -> Result<Vec<FeedSource>> {
    let all = builtin_sources();
    if requested.is_empty() {
        return Ok(all.into_iter().filter(|s| s.default).collect());
    }
    let mut out: Vec<FeedSource> = Vec::new();
    for r in requested {
        let src = if let Some((name, url)) = r.split_once('=') {
            if name.is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Usage(format!(
                    "--source {r:?}: expected NAME=http(s)://URL"
                )));
            }
            FeedSource {
                name: name.into(),
                url: url.into(),
                default: false,
            }
        } else {
            match all.iter().find(|s| s.name == *r) {
                Some(s) => s.clone(),
                None => {
                    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                    return Err(Error::Usage(format!(
                        "unknown source {r:?}: known sources are {}, or give NAME=URL",
                        names.join(", ")
                    )));
                }
            }
        };
        if !out.iter().any(|s| s.name == src.name) {
            out.push(src);
        }
    }
    Ok(out)
}

/// `url` with its scheme and host replaced by `mirror` (a base URL, path kept).
pub fn mirror_url(url: &str, mirror: &str) -> Result<String> {
    let base = mirror.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::Usage(format!(
            "--mirror {mirror:?}: expected an http:// or https:// base URL"
        )));
    }
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    Ok(format!("{base}{path}"))
}

/// Options of [`update`].
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    pub db: PathBuf,
    pub mirror: Option<String>,
    /// `--source` arguments (see [`resolve_sources`]).
    pub sources: Vec<String>,
    /// Build from an empty database rather than a copy of the current one.
    pub fresh: bool,
    /// Where partial downloads are kept; `<db dir>/downloads` when `None`.
    pub downloads: Option<PathBuf>,
    pub limits: Limits,
    /// Time until a feed's answer starts (its body is then held to a minimum rate of
    /// 1 KiB/s over 30 s windows); connecting takes at most 10 s of it.
    pub timeout: Duration,
    /// Largest download accepted.
    pub max_download: u64,
}

impl UpdateOptions {
    pub fn new(db: PathBuf) -> UpdateOptions {
        UpdateOptions {
            db,
            mirror: None,
            sources: Vec::new(),
            fresh: false,
            downloads: None,
            limits: Limits::default(),
            timeout: Duration::from_secs(60),
            max_download: 8 << 30,
        }
    }
}

/// What happened to one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Downloaded (`resumed_from` > 0 when a partial download was continued) and imported.
    Updated {
        bytes: u64,
        resumed_from: u64,
        stats: ImportStats,
    },
    /// The server answered 304: the source's records are unchanged.
    NotModified,
    /// Download or import failed; the source's previous records are kept.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    pub name: String,
    pub url: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub sources: Vec<SourceReport>,
    pub warnings: Vec<String>,
    /// False when nothing could be written (every source failed).
    pub committed: bool,
}

impl UpdateReport {
    pub fn failures(&self) -> Vec<&SourceReport> {
        self.sources
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Failed(_)))
            .collect()
    }
}

/// Downloads the selected sources and writes the new database. `progress` receives one
/// line per step for the user. Errors are returned for what stops everything (bad
/// options, the database cannot be written); a failing source is reported in the
/// [`UpdateReport`] instead.
pub fn update(opts: &UpdateOptions, progress: &mut dyn FnMut(&str)) -> Result<UpdateReport> {
    let sources = resolve_sources(&opts.sources)?;
    let mut urls = Vec::with_capacity(sources.len());
    for src in &sources {
        urls.push(match &opts.mirror {
            Some(m) => mirror_url(&src.url, m)?,
            None => src.url.clone(),
        });
    }
    let downloads = match &opts.downloads {
        Some(d) => d.clone(),
        None => opts
            .db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("downloads"),
    };
    std::fs::create_dir_all(&downloads).map_err(|e| Error::io(&downloads, e))?;
    let mut writer = DbWriter::begin_notifying(&opts.db, opts.fresh, &mut |lock| {
        progress(&format!(
            "waiting for {}: another patchline is writing this database",
            lock.display()
        ))
    })?;
    let mut report = UpdateReport::default();
    let mut done_files = Vec::new();
    for (src, url) in sources.iter().zip(urls) {
        let prev = writer.source_info(&src.name)?;
        let validators = prev
            .as_ref()
            .filter(|p| p.url.as_deref() == Some(url.as_str()) && !opts.fresh)
            .map(|p| (p.etag.clone(), p.last_modified.clone()));
        progress(&format!("{}: fetching {url}", src.name));
        let fetched = fetch(
            &src.name,
            &url,
            validators,
            &downloads,
            opts.timeout,
            opts.max_download,
        );
        let outcome = match fetched {
            Err(msg) => Outcome::Failed(msg),
            Ok(Fetched::NotModified) => {
                writer.touch_source(&src.name, None)?;
                Outcome::NotModified
            }
            Ok(Fetched::File {
                path,
                meta_path,
                etag,
                last_modified,
                bytes,
                resumed_from,
            }) => {
                let meta = SourceMeta {
                    name: src.name.clone(),
                    url: Some(url.clone()),
                    etag,
                    last_modified,
                    fetched_at: None,
                };
                let limits = &opts.limits;
                let res = writer.import_source(meta, |sink| import_path(&path, limits, sink));
                // Complete data is never resumed: whether it imported or was bad, it goes.
                done_files.push(path);
                done_files.push(meta_path);
                match res {
                    Ok((stats, warnings)) => {
                        report
                            .warnings
                            .extend(warnings.into_iter().map(|w| format!("{}: {w}", src.name)));
                        Outcome::Updated {
                            bytes,
                            resumed_from,
                            stats,
                        }
                    }
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        progress(&match &outcome {
            Outcome::Updated {
                bytes,
                resumed_from,
                stats,
            } => format!(
                "{}: {} bytes{}, {} advisories, {} enrichment records",
                src.name,
                bytes,
                if *resumed_from > 0 {
                    format!(" (resumed at {resumed_from})")
                } else {
                    String::new()
                },
                stats.advisories(),
                stats.enrichments()
            ),
            Outcome::NotModified => format!("{}: not modified", src.name),
            Outcome::Failed(m) => format!("{}: FAILED: {m}", src.name),
        });
        report.sources.push(SourceReport {
            name: src.name.clone(),
            url,
            outcome,
        });
    }
    let any_ok = report
        .sources
        .iter()
        .any(|s| !matches!(s.outcome, Outcome::Failed(_)));
    if any_ok {
        writer.commit()?;
        report.committed = true;
    }
    for f in done_files {
        let _ = std::fs::remove_file(f);
    }
    Ok(report)
}

#[derive(Debug)]
enum Fetched {
    NotModified,
    File {
        path: PathBuf,
        meta_path: PathBuf,
        etag: Option<String>,
        last_modified: Option<String>,
        bytes: u64,
        resumed_from: u64,
    },
}

/// What is known about a partial download, kept beside it.
#[derive(Serialize, Deserialize, Default)]
struct PartMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    total: Option<u64>,
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    hostport.split(':').next().unwrap_or("")
}

/// Whether `NO_PROXY` (or loopback) exempts `host` from the environment's proxy.
fn bypass_proxy(host: &str) -> bool {
    if host == "localhost" || host.starts_with("127.") || host == "::1" {
        return true;
    }
    let list = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|e| {
            e == "*" || {
                let e = e.trim_start_matches('.');
                host == e || host.ends_with(&format!(".{e}"))
            }
        })
}

fn client(url: &str, timeout: Duration) -> std::result::Result<patchline_http::Client, String> {
    patchline_http::Client::new(&patchline_http::Config {
        user_agent: concat!("patchline/", env!("CARGO_PKG_VERSION")).to_string(),
        https_only: false,
        proxy_from_env: !bypass_proxy(host_of(url)),
        // Feeds move (EPSS redirects to its new host); no credentials go with them.
        follow_redirects: true,
        limits: patchline_http::Limits {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(10)),
            ..Default::default()
        },
    })
    .map_err(|e| e.message)
}

/// `bytes START-END/TOTAL` → (START, TOTAL if known).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

fn fetch(
    name: &str,
    url: &str,
    validators: Option<(Option<String>, Option<String>)>,
    dir: &Path,
    timeout: Duration,
    max_bytes: u64,
) -> std::result::Result<Fetched, String> {
    let stem = safe_name(name);
    let part = dir.join(format!("{stem}.part"));
    let meta_path = dir.join(format!("{stem}.part.json"));
    let client = client(url, timeout)?;
    let parsed_url =
        patchline_http::Url::parse(url).map_err(|e| format!("invalid URL {url:?}: {e}"))?;

    // A partial download of the same URL with a validator can be continued.
    let mut resume: Option<(u64, String, PartMeta)> = None;
    if let (Ok(m), Ok(raw)) = (std::fs::metadata(&part), std::fs::read(&meta_path)) {
        if let Ok(pm) = serde_json::from_slice::<PartMeta>(&raw) {
            let validator = pm
                .etag
                .clone()
                .filter(|e| !e.starts_with("W/"))
                .or_else(|| pm.last_modified.clone());
            if pm.url == url && m.len() > 0 {
                if let Some(v) = validator {
                    resume = Some((m.len(), v, pm));
                }
            }
        }
    }
    if resume.is_none() {
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_file(&meta_path);
    }

    for attempt in 0..2 {
        let mut req = client
            .request(patchline_http::Method::GET, &parsed_url)
            .header("Accept-Encoding", "identity");
        if let Some((etag, lm)) = &validators {
            if let Some(e) = etag {
                req = req.header("If-None-Match", e);
            }
            if let Some(l) = lm {
                req = req.header("If-Modified-Since", l);
            }
        }
        if let Some((offset, validator, _)) = &resume {
            req = req
                .header("Range", &format!("bytes={offset}-"))
                .header("If-Range", validator);
        }
        let resp = client
            .send(req, client.limits().deadline())
            .map_err(|e| e.message)?;
        let status = resp.status();
        if status == 416 && attempt == 0 && resume.is_some() {
            // The partial file no longer fits the resource: start over.
            resume = None;
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&meta_path);
            continue;
        }
        if status >= 400 {
            return Err(format!("HTTP {status} {}", resp.status_text())
                .trim_end()
                .to_string());
        }
        if status == 304 {
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&meta_path);
            return Ok(Fetched::NotModified);
        }
        let header = |h: &str| resp.header(h).map(str::to_string);
        let etag = header("ETag");
        let last_modified = header("Last-Modified");
        let (append_at, total, pm) = match status {
            206 => {
                let Some((offset, _, prev)) = resume.take() else {
                    return Err("HTTP 206 to a request without Range".into());
                };
                let cr = header("Content-Range").unwrap_or_default();
                match parse_content_range(&cr) {
                    Some((start, total)) if start == offset => (
                        offset,
                        total,
                        PartMeta {
                            url: url.into(),
                            etag: etag.clone().or(prev.etag),
                            last_modified: last_modified.clone().or(prev.last_modified),
                            total: total.or(prev.total),
                        },
                    ),
                    _ => {
                        let _ = std::fs::remove_file(&part);
                        let _ = std::fs::remove_file(&meta_path);
                        return Err(format!(
                            "HTTP 206 with Content-Range {cr:?} that does not continue at byte {offset}; partial download discarded"
                        ));
                    }
                }
            }
            200 => {
                let total = header("Content-Length").and_then(|v| v.trim().parse().ok());
                (
                    0,
                    total,
                    PartMeta {
                        url: url.into(),
                        etag: etag.clone(),
                        last_modified: last_modified.clone(),
                        total,
                    },
                )
            }
            other => return Err(format!("unexpected HTTP {other} {}", resp.status_text())),
        };
        if let Some(t) = total {
            if t > max_bytes {
                return Err(format!(
                    "{t} bytes is over the download limit of {max_bytes}"
                ));
            }
        }
        let meta_json = serde_json::to_vec(&pm).map_err(|e| e.to_string())?;
        std::fs::write(&meta_path, meta_json)
            .map_err(|e| format!("{}: {e}", meta_path.display()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append_at > 0)
            .truncate(append_at == 0)
            .open(&part)
            .map_err(|e| format!("{}: {e}", part.display()))?;
        let pace = client.limits().min_rate_pace();
        let mut body = resp
            .into_body(pace)
            .take(max_bytes.saturating_sub(append_at) + 1);
        let mut buf = vec![0u8; 256 << 10];
        let mut have = append_at;
        loop {
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    file.write_all(&buf[..n])
                        .map_err(|e| format!("{}: {e}", part.display()))?;
                    have += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = file.sync_all();
                    let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
                    return Err(format!(
                        "download interrupted or truncated after {have}{of} bytes ({e}); the partial file is kept and the next update resumes it"
                    ));
                }
            }
        }
        file.sync_all()
            .map_err(|e| format!("{}: {e}", part.display()))?;
        if have > max_bytes {
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(&meta_path);
            return Err(format!("over the download limit of {max_bytes} bytes"));
        }
        if let Some(t) = total {
            if have != t {
                return Err(format!(
                    "truncated body: {have} of {t} bytes; the partial file is kept and the next update resumes it"
                ));
            }
        }
        return Ok(Fetched::File {
            path: part,
            meta_path,
            etag: pm.etag,
            last_modified: pm.last_modified,
            bytes: have,
            resumed_from: append_at,
        });
    }
    Err("the server refused the resumed range twice".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            mirror_url(
                "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
                "http://127.0.0.1:8080/mirror/"
            )
            .unwrap(),
            "http://127.0.0.1:8080/mirror/Rocky%20Linux/all.zip"
        );
        assert!(mirror_url("https://x/y", "ftp://m").is_err());
        assert_eq!(host_of("http://user@[::1]:80/x"), "::1");
        assert_eq!(host_of("https://a.b:443/x"), "a.b");
        assert_eq!(parse_content_range("bytes 10-19/20"), Some((10, Some(20))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn sources() {
        let d = resolve_sources(&[]).unwrap();
        assert!(d.iter().any(|s| s.name == "debian-tracker"));
        assert!(!d.iter().any(|s| s.name == "osv-Debian"));
        let s = resolve_sources(&["osv-Debian".into(), "x=https://h/p".into()]).unwrap();
        assert_eq!(s.len(), 2);
        assert!(resolve_sources(&["nope".into()]).is_err());
    }

    #[test]
    fn default_set_is_the_registry_feeds_plus_enrichment() {
        let registry: Vec<String> = Registry::builtin()
            .feeds()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut expected = registry.clone();
        for lang in [
            "PyPI",
            "npm",
            "Go",
            "crates.io",
            "Maven",
            "RubyGems",
            "Packagist",
            "NuGet",
        ] {
            expected.push(format!("osv-{lang}"));
        }
        expected.extend(["kev".to_string(), "epss".to_string()]);
        assert_eq!(default_source_names(), expected);
        // What `db update` fetches without --source is exactly that set.
        let mut fetched: Vec<String> = resolve_sources(&[])
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        fetched.sort();
        expected.sort();
        assert_eq!(fetched, expected);
        // One vocabulary: every feed a distro names is a built-in source.
        let all = builtin_sources();
        for name in &registry {
            assert!(
                all.iter().any(|s| &s.name == name),
                "the distro registry names feed {name:?}, which is no source of patchline-advisory"
            );
        }
    }

    #[test]
    fn inventoried_language_ecosystems_are_default_the_others_selectable() {
        let all = builtin_sources();
        for lang in patchline_model::ecosystem::LANGUAGES {
            let name = format!("osv-{}", lang.osv);
            let src = all.iter().find(|s| s.name == name);
            let inventoried = inventoried_languages().any(|l| l.osv == lang.osv);
            assert!(
                src.is_some_and(|s| s.default == inventoried),
                "{name}: {src:?}"
            );
            assert_eq!(
                resolve_sources(std::slice::from_ref(&name)).unwrap()[0].name,
                name
            );
        }
        // No NVD download: its API serves no bulk file.
        assert!(!all.iter().any(|s| s.name.contains("nvd")));
    }

    #[test]
    fn a_distro_added_to_the_registry_adds_its_feed() {
        use patchline_model::distro::{defaults, Spec};
        static EXTRA: Spec = Spec {
            id: "example",
            feeds: &["osv-Debian", "debian-tracker"],
            ..defaults::DPKG
        };
        let reg = Registry::builtin().with(&EXTRA);
        let names = default_source_names_for(&reg);
        assert_eq!(names.iter().filter(|n| *n == "debian-tracker").count(), 1);
        assert!(names.iter().any(|n| n == "osv-Debian"));
        assert!(!default_source_names().iter().any(|n| n == "osv-Debian"));
    }
}
