//! Reading feed inputs: files, directories (recursively), zip archives (osv.dev's
//! `all.zip`) and gzip files, within size bounds; each document goes to the one feed of
//! [`FEEDS`](crate::feeds::FEEDS) that recognises its content.
//!
//! A path named explicitly must be a feed: an unrecognised shape is an error naming it.
//! Inside a directory or an archive, files whose names end in none of the feeds'
//! extensions (`.json`, `.csv`, OSV's `.yaml`/`.yml`) nor `.gz` or `.zip` are skipped
//! (READMEs, licences), and content of an unrecognised shape (a JSON schema beside the
//! data) is skipped with a warning. A directory in which nothing was recognised is an
//! error that counts what was skipped. Broken content of a recognised format is always
//! an error. YAML is read as the JSON it spells, within a parser budget.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use patchline_model::vuln::{Advisory, Enrichment};

use crate::error::{Error, Origin, Result};
use crate::feeds::{self, Document, Feed, Format, Sink};

/// Size bounds on untrusted input.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest single document (a JSON or CSV file, or a gzip's decompressed content).
    pub max_document: u64,
    /// Largest zip member, decompressed.
    pub max_member: u64,
    /// Largest decompressed/compressed ratio of a zip member over 1 MiB (zip bombs reach
    /// ~1000; feed JSON stays under ~30).
    pub max_ratio: u64,
    /// Largest total decompressed size of one archive.
    pub max_archive_total: u64,
    /// Most members in one archive.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document: 512 << 20,
            max_member: 512 << 20,
            max_ratio: 200,
            max_archive_total: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// What an import read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Files and archive members parsed as feeds.
    pub documents: usize,
    /// Files and members skipped (not feed-like names, unrecognised JSON).
    pub skipped: usize,
    /// Records per format (advisories for advisory feeds, CVEs for enrichment feeds).
    pub records: BTreeMap<Format, usize>,
}

impl ImportStats {
    pub fn advisories(&self) -> usize {
        self.records
            .iter()
            .filter(|(f, _)| f.is_advisory())
            .map(|(_, n)| n)
            .sum()
    }
    pub fn enrichments(&self) -> usize {
        self.records
            .iter()
            .filter(|(f, _)| !f.is_advisory())
            .map(|(_, n)| n)
            .sum()
    }
    pub fn add(&mut self, other: &ImportStats) {
        self.documents += other.documents;
        self.skipped += other.skipped;
        for (f, n) in &other.records {
            *self.records.entry(*f).or_default() += n;
        }
    }
}

/// Imports a file or a directory tree into `sink`.
pub fn import_path(path: &Path, limits: &Limits, sink: &mut dyn Sink) -> Result<ImportStats> {
    let mut stats = ImportStats::default();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        walk(path, limits, sink, &mut stats)?;
    } else {
        import_file(path, false, limits, sink, &mut stats)?;
    }
    Ok(stats)
}

/// Extensions of the wrappers read around feed documents (the feeds' own extensions are
/// [`Feed::extensions`]).
pub(crate) const CONTAINER_EXTENSIONS: &[&str] = &["gz", "zip"];

fn walk(dir: &Path, limits: &Limits, sink: &mut dyn Sink, stats: &mut ImportStats) -> Result<()> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        entries.push(e.path());
    }
    // Sorted, so an import is reproducible and a later duplicate wins predictably.
    entries.sort();
    for p in entries {
        let lmeta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
        if lmeta.is_dir() {
            walk(&p, limits, sink, stats)?;
            continue;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || !feeds::feed_like_name(&name) {
            stats.skipped += 1;
            continue;
        }
        if lmeta.file_type().is_symlink() {
            // A link to a file is read; a link to a directory is not followed (loops).
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => {}
                _ => {
                    sink.warning(
                        &Origin::file(&p),
                        "symbolic link to a non-file: not followed".into(),
                    );
                    stats.skipped += 1;
                    continue;
                }
            }
        } else if !lmeta.is_file() {
            stats.skipped += 1;
            continue;
        }
        import_file(&p, true, limits, sink, stats)?;
    }
    Ok(())
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

fn import_file(
    path: &Path,
    contained: bool,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let origin = Origin::file(path);
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 4];
    let n = read_up_to(&mut f, &mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC) {
        f.rewind().map_err(|e| Error::io(path, e))?;
        return import_zip(&origin, f, limits, sink, stats);
    }
    if len > limits.max_document {
        return Err(Error::TooLarge {
            origin,
            message: format!(
                "{len} bytes is over the {} byte limit for one document",
                limits.max_document
            ),
        });
    }
    f.rewind().map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(limits.max_document + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limits.max_document {
        return Err(too_large_document(&origin, limits));
    }
    import_document(&origin, &bytes, contained, true, limits, sink, stats).map(|_| ())
}

fn is_yaml_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".yaml") || n.ends_with(".yml")
}

fn starts_like_json(bytes: &[u8]) -> bool {
    matches!(
        bytes.iter().copied().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// A YAML document as JSON bytes. The parser's budget bounds what a hostile document
/// (aliases expanding without end, deep nesting) can cost.
fn yaml_to_json(origin: &Origin, bytes: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::input(origin, format!("YAML that is not UTF-8: {e}")))?;
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 1_000_000usize.max(text.len()),
            max_nodes: 1_000_000usize.max(text.len()),
        },
    };
    let value: serde_json::Value = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| Error::input(origin, format!("malformed YAML: {e}")))?;
    serde_json::to_vec(&value).map_err(|e| Error::input(origin, format!("YAML: {e}")))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn too_large_document(origin: &Origin, limits: &Limits) -> Error {
    Error::TooLarge {
        origin: origin.clone(),
        message: format!(
            "over the {} byte limit for one document",
            limits.max_document
        ),
    }
}

/// What the archive-reading thread hands to the importing thread.
enum Msg {
    Advisory(Advisory),
    Enrichment(String, Format, Enrichment),
    Warning(Origin, String),
}

/// A [`Sink`] that forwards records to another thread.
struct ChannelSink(std::sync::mpsc::SyncSender<Msg>);

/// The receiving side is gone: it failed and its own error is the one to report.
fn receiver_gone(origin: &Origin) -> Error {
    Error::input(origin, "import stopped")
}

impl Sink for ChannelSink {
    fn advisory(&mut self, a: Advisory) -> Result<()> {
        self.0
            .send(Msg::Advisory(a))
            .map_err(|_| receiver_gone(&Origin::default()))
    }
    fn enrichment(&mut self, id: String, feed: Format, e: Enrichment) -> Result<()> {
        self.0
            .send(Msg::Enrichment(id, feed, e))
            .map_err(|_| receiver_gone(&Origin::default()))
    }
    fn warning(&mut self, origin: &Origin, message: String) {
        let _ = self.0.send(Msg::Warning(origin.clone(), message));
    }
}

/// Reads an archive on a second thread (inflate and parse) while this one stores the
/// records (serialize, compress, SQLite): the two halves cost about the same, so a bulk
/// import runs nearly twice as fast on two cores.
fn import_zip<R: Read + Seek + Send>(
    origin: &Origin,
    reader: R,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(512);
    std::thread::scope(|scope| {
        let reader_thread = scope.spawn(move || {
            let mut sink = ChannelSink(tx);
            let mut stats = ImportStats::default();
            read_zip(origin, reader, limits, &mut sink, &mut stats).map(|_| stats)
        });
        let mut store_err = None;
        for msg in rx.iter() {
            let r = match msg {
                Msg::Advisory(a) => sink.advisory(a),
                Msg::Enrichment(id, f, e) => sink.enrichment(id, f, e),
                Msg::Warning(o, m) => {
                    sink.warning(&o, m);
                    Ok(())
                }
            };
            if let Err(e) = r {
                store_err = Some(e);
                break;
            }
        }
        // Dropping the receiver stops the reader at its next record.
        drop(rx);
        let read = reader_thread
            .join()
            .unwrap_or_else(|_| Err(Error::input(origin, "the archive reader panicked")));
        if let Some(e) = store_err {
            return Err(e);
        }
        stats.add(&read?);
        Ok(())
    })
}

fn read_zip<R: Read + Seek>(
    origin: &Origin,
    reader: R,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<()> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        Error::input(
            origin,
            format!("not a readable zip archive (truncated or corrupt?): {e}"),
        )
    })?;
    if zip.len() > limits.max_entries {
        return Err(Error::TooLarge {
            origin: origin.clone(),
            message: format!(
                "{} zip members is over the limit of {}",
                zip.len(),
                limits.max_entries
            ),
        });
    }
    let mut total: u64 = 0;
    let mut buf = Vec::new();
    // An osv.dev archive holds one format: once a member was a feed's, the next ones are
    // offered to that feed directly (OSV parses them without probing), and only one it
    // does not take is probed.
    let mut last: Option<&'static dyn Feed> = None;
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| Error::input(origin, format!("zip member #{i}: unreadable: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let name = member
            .name()
            .map_err(|e| Error::input(origin, format!("zip member #{i}: bad name: {e}")))?
            .into_owned();
        let morigin = origin.with_member(&name);
        let leaf = name.rsplit('/').next().unwrap_or(&name);
        if leaf.starts_with('.') || !feeds::feed_like_name(leaf) {
            stats.skipped += 1;
            continue;
        }
        let declared = member.size();
        let compressed = member.compressed_size().max(1);
        let bomb = |size: u64| size > (1 << 20) && size / compressed > limits.max_ratio;
        if declared > limits.max_member || bomb(declared) {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "declares {declared} bytes from {compressed} compressed (limits: {} bytes, ratio {})",
                    limits.max_member, limits.max_ratio
                ),
            });
        }
        // The declared size may lie: the bounds hold on what is actually inflated.
        let bound = limits
            .max_member
            .min(compressed.saturating_mul(limits.max_ratio).max(1 << 20));
        buf.clear();
        (&mut member)
            .take(bound + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::input(&morigin, format!("unreadable zip member data: {e}")))?;
        if buf.len() as u64 > bound {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "inflates past {bound} bytes from {compressed} compressed (zip bomb?)"
                ),
            });
        }
        total += buf.len() as u64;
        if total > limits.max_archive_total {
            return Err(Error::TooLarge {
                origin: morigin,
                message: format!(
                    "the archive inflates past {} bytes in total",
                    limits.max_archive_total
                ),
            });
        }
        drop(member);
        if buf.starts_with(ZIP_MAGIC) {
            return Err(Error::input(
                &morigin,
                "nested zip archives are not supported",
            ));
        }
        if let Some(feed) = last {
            if let Some(n) = feed.parse_unprobed(&morigin, &buf, sink) {
                let n = n?;
                stats.documents += 1;
                *stats.records.entry(feed.format()).or_default() += n;
                continue;
            }
        }
        last = import_document(&morigin, &buf, true, true, limits, sink, stats)?;
    }
    Ok(())
}

/// Imports one in-memory document (JSON, CSV, or gzip of either) of any supported format.
/// Returns the format and the number of records it held. For the fuzzers and tools that
/// have bytes rather than files.
pub fn import_bytes(
    origin: &Origin,
    bytes: &[u8],
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Result<ImportStats> {
    let mut stats = ImportStats::default();
    import_document(origin, bytes, false, true, limits, sink, &mut stats)?;
    Ok(stats)
}

/// Imports one document; returns the feed that read it (`None`: skipped as unknown).
fn import_document(
    origin: &Origin,
    bytes: &[u8],
    contained: bool,
    may_gunzip: bool,
    limits: &Limits,
    sink: &mut dyn Sink,
    stats: &mut ImportStats,
) -> Result<Option<&'static dyn Feed>> {
    if bytes.starts_with(GZIP_MAGIC) {
        if !may_gunzip {
            return Err(Error::input(origin, "gzip inside gzip is not supported"));
        }
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limits.max_document + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::input(origin, format!("bad gzip data: {e}")))?;
        if out.len() as u64 > limits.max_document {
            return Err(too_large_document(origin, limits));
        }
        return import_document(origin, &out, contained, false, limits, sink, stats);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        return Err(Error::input(
            origin,
            "a zip archive inside a gzip or zip is not supported",
        ));
    }
    // OSV records are also written as YAML (OSV's own repositories, advisory-database
    // exports): read as the JSON they spell.
    let converted;
    let bytes = if is_yaml_name(origin.name()) && !starts_like_json(bytes) {
        converted = yaml_to_json(origin, bytes)?;
        converted.as_slice()
    } else {
        bytes
    };
    let doc = Document::new(origin, bytes)?;
    let feed = match feeds::detect(&doc) {
        Ok(f) => f,
        Err(detail) if contained => {
            sink.warning(
                origin,
                format!("skipped: not a feed this version knows ({detail})"),
            );
            stats.skipped += 1;
            return Ok(None);
        }
        Err(detail) => {
            return Err(Error::UnknownFormat {
                origin: origin.clone(),
                detail,
            })
        }
    };
    let n = feed.parse(origin, &doc, sink)?;
    stats.documents += 1;
    *stats.records.entry(feed.format()).or_default() += n;
    Ok(Some(feed))
}
