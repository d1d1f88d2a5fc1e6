//! One streaming pass over a layer blob.
//!
//! blob bytes ─► sha256 (blob digest) ─► gzip | zstd | plain ─► sha256 (diff_id) + size bound
//!           ─► tar entries ─► normalised, checked [`Entry`]s handed to the caller's visitor.
//!
//! The compression is told by the stream's magic bytes rather than the declared media
//! type (registries and tools get media types wrong; the bytes cannot lie). Both digests
//! are checked once the stream is drained, so a layer whose bytes were swapped is an
//! error even if its tar happened to parse.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU8, Ordering};

use patchline_model::{quote_capped, quote_capped_bytes, Digest};
use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};
use crate::source::LayerDesc;

/// Bounds that protect against decompression bombs and hostile archives.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest uncompressed size of one layer.
    pub max_layer_bytes: u64,
    /// Most tar entries in one layer.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 32 << 30,
            max_entries: 4_000_000,
        }
    }
}

/// What a tar entry is, after whiteout interpretation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// Target as written in the archive (may be absolute, meaning image-root-relative).
    Symlink(String),
    /// Target path (normalised, root-relative) of an entry earlier in the same layer.
    Hardlink(String),
    /// `.wh.NAME`: removes `path` (and everything below it) of the lower layers.
    Whiteout,
    /// `.wh..wh..opq` in directory `path`: hides every lower-layer entry below `path`.
    OpaqueDir,
    /// Devices, FIFOs: present, never read.
    Other,
}

/// One entry of a layer. `path` is root-relative, normalised, without leading or
/// trailing slash (`etc/os-release`); for whiteouts it is the path being removed.
pub struct Entry<'a> {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    reader: &'a mut dyn Read,
}

impl Entry<'_> {
    /// The content of a regular file, `size` bytes, as a stream.
    pub fn reader(&mut self) -> &mut dyn Read {
        &mut *self.reader
    }
}

/// Figures gathered while walking.
#[derive(Clone, Debug, Default)]
pub struct WalkStats {
    pub entries: u64,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub compression: Compression,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Compression {
    #[default]
    None = 0,
    Gzip = 1,
    Zstd = 2,
}

/// Characters of an entry path quoted in a message (tar paths can be megabytes long).
const PATH_CHARS: usize = 200;

/// Normalises a tar entry path; refuses absolute paths and `..` components.
pub fn normalize_entry_path(raw: &[u8]) -> std::result::Result<String, String> {
    let s = std::str::from_utf8(raw)
        .map_err(|_| format!("path {} is not UTF-8", quote_capped_bytes(raw, PATH_CHARS)))?;
    if s.starts_with('/') {
        return Err(format!(
            "absolute path {} in tar entry",
            quote_capped(s, PATH_CHARS)
        ));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "path {} contains '..'",
                    quote_capped(s, PATH_CHARS)
                ))
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Most symlinks followed for one lookup, as Linux's `MAXSYMLINKS`; past it the lookup
/// is a loop (`ELOOP`).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Resolves a symlink `target` written at `link_path` to a root-relative path, lexically
/// and as the kernel does inside a chroot: absolute targets are relative to the image
/// root, and `..` at the root stays at the root (`usr/lib/foo -> ../../../../lib/foo` is
/// `lib/foo`). The result never leaves the image. Entry *names* are checked strictly by
/// [`normalize_entry_path`] instead: only link targets are resolved this way.
pub fn resolve_link(link_path: &str, target: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        parts.extend(link_path.split('/').filter(|c| !c.is_empty()));
        parts.pop();
    }
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

/// Where `path` leads once every symlink on the way is followed, as the kernel walks a
/// path: any component, not only the last, may be a link (`etc -> usr/etc`), and at most
/// [`MAX_SYMLINK_HOPS`] links are followed in all. `link` gives the target of a path that
/// is a symlink. `Err` carries the link where it gave up: a loop, or a chain too long.
pub fn follow_links<'a>(
    path: &str,
    link: impl Fn(&str) -> Option<&'a str>,
) -> std::result::Result<String, String> {
    let mut p = path.to_string();
    let mut hops = 0;
    'walk: loop {
        // Each prefix of `p`, shortest first: the first that is a link is followed.
        let mut end = 0;
        while end < p.len() {
            end = p[end + 1..].find('/').map_or(p.len(), |i| end + 1 + i);
            let prefix = &p[..end];
            if let Some(t) = link(prefix) {
                if hops == MAX_SYMLINK_HOPS {
                    return Err(prefix.to_string());
                }
                hops += 1;
                let target = resolve_link(prefix, t);
                let rest = p[end..].trim_start_matches('/');
                p = match (target.is_empty(), rest.is_empty()) {
                    (_, true) => target,
                    (true, false) => rest.to_string(),
                    (false, false) => format!("{target}/{rest}"),
                };
                continue 'walk;
            }
        }
        return Ok(p);
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
    over: Over,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Never ask for more than one byte past the limit: an endless stream stops here.
        let room = self.limit.saturating_sub(self.count).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(LimitExceeded(self.limit, self.over)));
        }
        Ok(n)
    }
}

/// Which bound a stream went past.
#[derive(Clone, Copy, Debug)]
enum Over {
    /// The uncompressed tar, against `--max-layer-size`.
    Expanded,
    /// The blob, against its descriptor's `size`.
    Declared,
    /// A blob without a declared size, against `--max-layer-size`.
    Undeclared,
}

#[derive(Debug)]
struct LimitExceeded(u64, Over);
impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Over::Expanded => write!(f, "expands beyond {} bytes (possible decompression bomb; raise --max-layer-size if the layer is genuine)", self.0),
            Over::Declared => write!(f, "blob size mismatch: the source sends more than the {} bytes its descriptor declares", self.0),
            Over::Undeclared => write!(f, "blob larger than {} bytes (raise --max-layer-size if the layer is genuine)", self.0),
        }
    }
}
impl std::error::Error for LimitExceeded {}

/// Re-serves the bytes consumed to sniff the compression, then the rest of the stream.
struct Prefixed<R> {
    head: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = buf.len().min(self.head.len() - self.pos);
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(r) => r.into_inner(),
            Decoder::Zstd(r) => r.finish(),
        }
    }
}

const BUF: usize = 256 * 1024;

/// A `Read` over chunks produced by another thread.
struct ChanReader {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The producer finished: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

const CHUNK: usize = 1 << 20;
/// Chunks in flight between two stages: bounds the memory a pipeline holds.
const DEPTH: usize = 4;

/// Pumps `r` into a channel in chunks until EOF or error. Stops early when the
/// consumer hangs up.
fn pump(mut r: impl Read, tx: std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match r.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Deliver what was read before the error, so the consumer fails at
                    // the right place (inside the entry being read).
                    chunk.truncate(filled);
                    if filled > 0 && tx.send(Ok(chunk)).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// Walks one layer blob, calling `visit` for every entry, then checks the blob digest
/// (when the layer has one) and the diff_id.
///
/// The work runs as a three-stage pipeline over bounded channels, so one layer uses up
/// to three cores: reading + hashing the blob, decompressing, and hashing + walking the
/// tar (on the calling thread, where `visit` runs).
pub fn walk(
    blob: impl Read + Send,
    layer: &LayerDesc,
    limits: &Limits,
    visit: &mut dyn FnMut(&mut Entry<'_>) -> Result<()>,
) -> Result<WalkStats> {
    let layer_err = |reason: String| ImageError::Layer {
        index: layer.index,
        digest: layer.digest.as_ref().unwrap_or(&layer.diff_id).to_string(),
        reason,
    };
    // Set by the decoder once it has sniffed the stream, read to name it in errors.
    let sniffed = AtomicU8::new(0);
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel(DEPTH);
        // Every byte count is bounded: by the descriptor's size, else by the layer limit
        // (a compressed blob is at most a little larger than its content).
        let (blob_limit, over) = match layer.size {
            Some(size) => (size, Over::Declared),
            None => (
                limits
                    .max_layer_bytes
                    .saturating_add(limits.max_layer_bytes / 64)
                    .saturating_add(1 << 20),
                Over::Undeclared,
            ),
        };
        let reader = scope.spawn(move || {
            let mut hashed = HashingReader {
                inner: blob,
                hasher: Sha256::new(),
                count: 0,
                limit: blob_limit,
                over,
            };
            pump(&mut hashed, raw_tx);
            // When a later stage gave up early, the rest of the blob is still hashed: a
            // stream that fails to decode is most often a blob that is not the one the
            // manifest names, and only the full digest can say so.
            let whole = io::copy(&mut hashed, &mut io::sink()).is_ok();
            (
                Digest::sha256_from_bytes(&hashed.hasher.finalize()),
                hashed.count,
                whole,
            )
        });
        let (plain_tx, plain_rx) = std::sync::mpsc::sync_channel(DEPTH);
        let sniffed_ref = &sniffed;
        let decoder = scope.spawn(move || decompress(raw_rx, plain_tx, sniffed_ref));
        let input = ChanReader {
            rx: plain_rx,
            chunk: Vec::new(),
            pos: 0,
        };
        let walked = walk_tar(input, limits, visit, &layer_err, &sniffed);
        // On error the receivers are gone by now, so both stages stop at their next send.
        let compression = decoder.join().unwrap_or(Compression::None);
        let (blob_digest, compressed_bytes, read_whole) = reader
            .join()
            .map_err(|_| layer_err("blob reader thread panicked".into()))?;
        let blob_mismatch =
            read_whole && layer.digest.is_some() && Some(&blob_digest) != layer.digest.as_ref();
        let (mut stats, diff_id) = match walked {
            Ok(w) => w,
            Err(ImageError::Layer { reason, .. }) if blob_mismatch => {
                return Err(layer_err(format!(
                    "blob digest mismatch: content hashes to {blob_digest} (reading it failed first: {reason})"
                )))
            }
            Err(e) => return Err(e),
        };
        stats.compression = compression;
        stats.compressed_bytes = compressed_bytes;
        if let Some(size) = layer.size {
            if compressed_bytes != size {
                return Err(layer_err(format!(
                    "blob size mismatch: the source sends {compressed_bytes} bytes, its descriptor declares {size}"
                )));
            }
        }
        if layer.digest.is_some() && Some(&blob_digest) != layer.digest.as_ref() {
            return Err(layer_err(format!(
                "blob digest mismatch: content hashes to {blob_digest}"
            )));
        }
        if diff_id != layer.diff_id {
            return Err(layer_err(format!(
                "diff_id mismatch: the config says {}, the uncompressed content hashes to {diff_id}",
                layer.diff_id
            )));
        }
        Ok(stats)
    })
}

/// The decompression stage: sniffs the magic bytes, decompresses into `tx`, and reads
/// whatever follows the compressed stream so the blob hash covers every byte.
fn decompress(
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    tx: std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    sniffed: &AtomicU8,
) -> Compression {
    let mut src = ChanReader {
        rx,
        chunk: Vec::new(),
        pos: 0,
    };
    // Peek at the magic bytes without assuming a read returns more than one byte.
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match src.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return Compression::None;
            }
        }
    }
    let magic = &magic[..got];
    let compression = if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    sniffed.store(compression as u8, Ordering::Release);
    let raw = BufReader::with_capacity(
        BUF,
        Prefixed {
            head: magic.to_vec(),
            pos: 0,
            inner: src,
        },
    );
    let mut decoder = match compression {
        Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(raw))),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(raw) {
            Ok(d) => Decoder::Zstd(d),
            Err(e) => {
                let _ = tx.send(Err(e));
                return compression;
            }
        },
        Compression::None => Decoder::Plain(raw),
    };
    pump(&mut decoder, tx.clone());
    // Bytes after the compressed stream's end (e.g. zero padding) are part of the blob.
    let mut rest = decoder.into_inner();
    if let Err(e) = io::copy(&mut rest, &mut io::sink()) {
        let _ = tx.send(Err(e));
    }
    compression
}

/// The tar stage: hashes the uncompressed stream (diff_id), bounds it, walks entries.
fn walk_tar(
    input: ChanReader,
    limits: &Limits,
    visit: &mut dyn FnMut(&mut Entry<'_>) -> Result<()>,
    layer_err: &dyn Fn(String) -> ImageError,
    sniffed: &AtomicU8,
) -> Result<(WalkStats, Digest)> {
    let io_err = |e: io::Error| {
        if let Some(l) = e.get_ref().and_then(|i| i.downcast_ref::<LimitExceeded>()) {
            return layer_err(l.to_string());
        }
        let hint = if e.kind() == io::ErrorKind::UnexpectedEof {
            " (truncated?)"
        } else {
            ""
        };
        let stage = match sniffed.load(Ordering::Acquire) {
            x if x == Compression::Gzip as u8 => "gzip stream",
            x if x == Compression::Zstd as u8 => "zstd stream",
            _ => "tar stream",
        };
        layer_err(format!("{stage}: {e}{hint}"))
    };
    let mut tar_input = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        count: 0,
        limit: limits.max_layer_bytes,
        over: Over::Expanded,
    };
    let mut stats = WalkStats::default();
    {
        let mut archive = tar::Archive::new(&mut tar_input);
        let entries = archive.entries().map_err(io_err)?;
        for entry in entries {
            let mut entry = entry.map_err(io_err)?;
            stats.entries += 1;
            if stats.entries > limits.max_entries {
                return Err(layer_err(format!(
                    "more than {} entries (raise --max-entries if the layer is genuine)",
                    limits.max_entries
                )));
            }
            let raw_path = entry.path_bytes().into_owned();
            let path = normalize_entry_path(&raw_path).map_err(layer_err)?;
            let header = entry.header();
            let size = header.entry_size().unwrap_or(0);
            let mode = header.mode().unwrap_or(0);
            let etype = header.entry_type();
            let (name, parent) = match path.rsplit_once('/') {
                Some((p, n)) => (n.to_string(), p.to_string()),
                None => (path.clone(), String::new()),
            };
            let join = |n: &str| {
                if parent.is_empty() {
                    n.to_string()
                } else {
                    format!("{parent}/{n}")
                }
            };
            let (path, kind) = if name == ".wh..wh..opq" {
                (parent.clone(), EntryKind::OpaqueDir)
            } else if name.starts_with(".wh..wh.") {
                // aufs metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not part of the image.
                continue;
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                if hidden.is_empty() {
                    return Err(layer_err(format!(
                        "empty whiteout name at {}",
                        quote_capped(&path, PATH_CHARS)
                    )));
                }
                (join(hidden), EntryKind::Whiteout)
            } else if etype.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                // A target with `..` past the root is harmless: resolution stops at the
                // root, as the kernel's does (`resolve_link`).
                (path, EntryKind::Symlink(target))
            } else if etype.is_hard_link() {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = normalize_entry_path(&target).map_err(|r| {
                    layer_err(format!(
                        "hard link {} points out of the image root: {r}",
                        quote_capped(&path, PATH_CHARS)
                    ))
                })?;
                (path, EntryKind::Hardlink(target))
            } else if etype.is_dir() {
                (path, EntryKind::Dir)
            } else if etype.is_file() || etype.is_contiguous() {
                (path, EntryKind::File)
            } else if etype.is_pax_global_extensions()
                || etype.is_pax_local_extensions()
                || etype.is_gnu_longname()
                || etype.is_gnu_longlink()
            {
                continue;
            } else {
                (path, EntryKind::Other)
            };
            if path.is_empty() && kind != EntryKind::Dir && kind != EntryKind::OpaqueDir {
                continue;
            }
            let mut e = Entry {
                path,
                kind,
                size,
                mode,
                reader: &mut entry,
            };
            visit(&mut e)?;
        }
    }
    // The tar reader stops at the end-of-archive marker; the digests cover every byte.
    io::copy(&mut tar_input, &mut io::sink()).map_err(io_err)?;
    stats.uncompressed_bytes = tar_input.count;
    let diff_id = Digest::sha256_from_bytes(&tar_input.hasher.finalize());
    Ok((stats, diff_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            normalize_entry_path(b"./etc/os-release").unwrap(),
            "etc/os-release"
        );
        assert_eq!(normalize_entry_path(b"etc//apt/").unwrap(), "etc/apt");
        assert_eq!(normalize_entry_path(b"./").unwrap(), "");
        assert!(normalize_entry_path(b"/etc/passwd").is_err());
        assert!(normalize_entry_path(b"a/../../etc").is_err());
        assert!(normalize_entry_path(b"../../etc/passwd").is_err());
        assert_eq!(
            resolve_link("etc/os-release", "../usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(resolve_link("bin", "usr/bin"), "usr/bin");
    }

    #[test]
    fn huge_bad_entry_names_are_quoted_capped() {
        let name = format!("{}../x", "a/".repeat(1 << 19));
        let e = normalize_entry_path(name.as_bytes()).unwrap_err();
        assert!(e.len() < 300, "{e:.400}");
        assert!(
            e.contains("contains '..'") && e.contains(" bytes)"),
            "{e:.400}"
        );
        let e =
            normalize_entry_path(format!("/\u{1b}{}", "b".repeat(1 << 20)).as_bytes()).unwrap_err();
        assert!(e.len() < 300 && !e.contains('\u{1b}'), "{e:.400}");
    }

    #[test]
    fn link_with_too_many_dotdots_stops_at_the_root() {
        assert_eq!(resolve_link("etc/x", "../../../etc/passwd"), "etc/passwd");
        assert_eq!(
            resolve_link("usr/lib/foo", "../../../../lib/foo"),
            "lib/foo"
        );
        assert_eq!(resolve_link("a", "../../.."), "");
    }

    #[test]
    fn absolute_link_is_relative_to_the_image_root() {
        assert_eq!(
            resolve_link("etc/os-release", "/usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(resolve_link("a/b/c", "/../../x"), "x");
    }

    #[test]
    fn link_to_a_link_is_followed() {
        let links = [("a", "b/../c"), ("c", "/../../d/e"), ("d/e", "../f")];
        let get = |p: &str| links.iter().find(|(k, _)| *k == p).map(|(_, t)| *t);
        assert_eq!(follow_links("a", get).unwrap(), "f");
        assert_eq!(follow_links("f", get).unwrap(), "f");
        // A directory on the way is a link too, with `..` past the root.
        let links = [
            ("etc", "../../../usr/etc"),
            ("usr/etc/os-release", "../lib/os"),
        ];
        let get = |p: &str| links.iter().find(|(k, _)| *k == p).map(|(_, t)| *t);
        assert_eq!(follow_links("etc/os-release", get).unwrap(), "usr/lib/os");
        assert_eq!(follow_links("etc", get).unwrap(), "usr/etc");
        assert_eq!(follow_links("etcx/a", get).unwrap(), "etcx/a");
        let to_root = |p: &str| (p == "r").then_some("../..");
        assert_eq!(follow_links("r/x/y", to_root).unwrap(), "x/y");
    }

    #[test]
    fn loop_is_bounded() {
        let links = [("a", "b"), ("b", "../../a")];
        let get = |p: &str| links.iter().find(|(k, _)| *k == p).map(|(_, t)| *t);
        assert!(follow_links("a", get).is_err());
        let self_link = |p: &str| (p == "x").then_some("./x");
        assert_eq!(follow_links("x", self_link).unwrap_err(), "x");
        // A chain of exactly MAX_SYMLINK_HOPS links resolves; one more does not.
        let names: Vec<String> = (0..=MAX_SYMLINK_HOPS + 1)
            .map(|i| format!("l{i}"))
            .collect();
        let chain = |n: usize| {
            let names = &names;
            move |p: &str| {
                let i: usize = p.strip_prefix('l')?.parse().ok()?;
                (i < n).then(|| names[i + 1].as_str())
            }
        };
        assert_eq!(
            follow_links("l0", chain(MAX_SYMLINK_HOPS)).unwrap(),
            format!("l{MAX_SYMLINK_HOPS}")
        );
        assert!(follow_links("l0", chain(MAX_SYMLINK_HOPS + 1)).is_err());
    }
}
