//! Compiled executables: Go build info ([`crate::lang::golang`]) and cargo-auditable
//! dependency lists ([`crate::lang::rust`]), read by one extractor so that each
//! executable of an image is streamed once for both (the collector hands a file to the
//! first extractor that wants it, and a binary can hold both: a Go program linking a
//! Rust library built with cargo-auditable).
//!
//! **Selection.** No path names a binary: [`Executables::wants_file`] takes regular files
//! with an execute bit (or named `*.exe`, as Windows layers carry no modes) of at least
//! [`MIN_BINARY_BYTES`], except names that are obviously scripts or data (`.sh`, `.py`,
//! `.json`, ...). The first bytes decide: ELF, Mach-O (32/64-bit, either byte order),
//! fat Mach-O or PE; anything else gives `Extracted::default()` (no packages, no
//! warnings: the collector records the file as present only) after reading 64 KiB.
//!
//! **Reading.** A binary can be hundreds of megabytes ([`Executables::max_file_bytes`]
//! raises the inventory's limit to [`MAX_BINARY_BYTES`]), so it is streamed and only what
//! the formats need is kept:
//!
//! * A file of at most `whole_file_cap` bytes ([`WHOLE_FILE_CAP`], 64 MiB, by default)
//!   is kept whole when the memory budget allows (reserved before buffering): the Go
//!   pointer format (Go < 1.18) needs random access, its strings lying before the header.
//! * A larger file, or one the budget does not allow, is streamed once with bounded
//!   memory: the first 64 KiB (headers and tables: ELF program headers, Mach-O load
//!   commands, the PE section table), the ranges those tables name (PE and Mach-O
//!   `.dep-v0`), for ELF the section header table and two windows where non-allocated
//!   sections such as `.dep-v0` go (after the last loaded byte, and before the table),
//!   and after each Go build info header found on the way (16-byte aligned, in a
//!   writable segment when the segments are known: the magic elsewhere is a string
//!   constant of a program that reads build info) the window the inline format needs.
//!   What then lies outside the kept parts (the pointer format's strings, a `.dep-v0`
//!   far from both ELF windows) gives a warning saying so, never a silent miss.
//!
//! Everything kept is charged to the memory budget; a reservation the budget refuses in
//! the streaming read is an error (the inventory is then incomplete).

use std::io::{self, Read};
use std::ops::Range;

use memchr::memmem;

use super::golang::{self, Outcome};
use super::objfile::{self, Found, Image, View};
use super::rust::{self, Auditable, MAX_DEP_SECTION};
use crate::extract::{charge, Budget, CappedWarnings, Charged, ExtractError, Held};
use crate::{Extracted, Extractor};

/// The smallest file looked at: a Go or Rust executable has hundreds of kilobytes at
/// least.
pub const MIN_BINARY_BYTES: u64 = 4 << 10;
/// The largest binary read (streamed: what is kept stays bounded).
pub const MAX_BINARY_BYTES: u64 = 4 << 30;
/// Binaries up to this size are kept whole (within the memory budget).
pub const WHOLE_FILE_CAP: u64 = 64 << 20;
/// Read first: the headers and tables of all three formats.
const PREFIX: u64 = 64 << 10;
const CHUNK: usize = 64 << 10;
/// Go build info candidates kept while streaming; a binary has one header (a fat
/// Mach-O one per slice).
const MAX_GO_CANDIDATES: usize = 4;
/// Candidates tried in a file kept whole (each is a cheap check).
const MAX_WHOLE_CANDIDATES: usize = 1024;
/// ELF windows kept while streaming a large file: after the last loaded byte, and before
/// the section header table. A stripped binary's non-allocated sections all fit.
const ELF_HEAD_WINDOW: u64 = 4 << 20;
const ELF_TAIL_WINDOW: u64 = 1 << 20;

/// Go build info and cargo-auditable data in executables.
#[derive(Debug, Clone)]
pub struct Executables {
    whole_file_cap: u64,
}

impl Default for Executables {
    fn default() -> Self {
        Executables {
            whole_file_cap: WHOLE_FILE_CAP,
        }
    }
}

impl Executables {
    /// With another limit for keeping a file whole (tests, fuzzing: 0 streams always).
    pub fn with_whole_file_cap(whole_file_cap: u64) -> Self {
        Executables { whole_file_cap }
    }
}

/// File name extensions of executables that are not binaries.
fn unlikely_binary(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    const EXTS: &[&str] = &[
        "sh", "bash", "zsh", "ksh", "csh", "fish", "py", "pyc", "pl", "pm", "rb", "php", "js",
        "mjs", "cjs", "ts", "lua", "tcl", "awk", "sed", "ps1", "bat", "cmd", "txt", "md", "rst",
        "json", "xml", "yaml", "yml", "toml", "ini", "cfg", "conf", "html", "htm", "css", "svg",
        "png", "jpg", "jpeg", "gif", "ico", "h", "c", "cc", "cpp", "go", "rs", "java", "class",
        "jar", "zip", "gz", "tgz", "xz", "bz2", "zst", "tar", "pem", "crt", "mo", "po",
    ];
    EXTS.iter().any(|e| ext.eq_ignore_ascii_case(e))
}

impl Extractor for Executables {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn wants(&self, _path: &str) -> bool {
        false
    }

    fn wants_file(&self, path: &str, mode: u32, size: u64) -> bool {
        let exe = path
            .rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case("exe"));
        size >= MIN_BINARY_BYTES && (mode & 0o111 != 0 || exe) && !unlikely_binary(path)
    }

    fn locations(&self) -> Vec<String> {
        Vec::new()
    }

    fn max_file_bytes(&self) -> Option<u64> {
        Some(MAX_BINARY_BYTES)
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        if objfile::sniff(content).is_none() {
            return Ok(Extracted::default());
        }
        let candidates = scan_whole(content);
        analyze(
            path,
            &View::whole(content),
            &candidates,
            None,
            &Budget::unlimited(),
        )
    }

    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let read_err = |e: io::Error| ExtractError::new(path, format!("reading failed: {e}"));
        let mut content = content.take(size);
        let mut prefix = Vec::new();
        (&mut content)
            .take(PREFIX)
            .read_to_end(&mut prefix)
            .map_err(read_err)?;
        if objfile::sniff(&prefix).is_none() {
            return Ok(Extracted::default());
        }
        let why_streamed = if size > self.whole_file_cap {
            format!(
                "the file is {size} bytes, more than the {} read whole",
                self.whole_file_cap
            )
        } else {
            match budget.reserve(size) {
                Ok(held) => {
                    let mut data = prefix;
                    // Exactly what was reserved, not a doubling vector's slack.
                    data.reserve_exact((size as usize).saturating_sub(data.len()));
                    content.read_to_end(&mut data).map_err(read_err)?;
                    let candidates = scan_whole(&data);
                    let x = analyze(path, &View::whole(&data), &candidates, None, budget)?;
                    drop(data);
                    drop(held);
                    charge(path, &x.packages, &mut Charged::default(), budget)?;
                    return Ok(x);
                }
                Err(e) => format!("reading it whole would go {e}"),
            }
        };

        let images = objfile::parse(&View::partial(size, vec![(0, &prefix)]));
        let plan = plan(&images, size);
        let planned: u64 = plan.iter().map(|r| r.end - r.start).sum();
        let _planned = budget.reserve(planned).map_err(|e| {
            ExtractError::new(path, format!("{planned} bytes of tables to keep: {e}"))
        })?;
        let mut s = Stream {
            images: &images,
            captures: plan.into_iter().map(Capture::new).collect(),
            go: Vec::new(),
            held: Vec::new(),
            finder: memmem::Finder::new(golang::MAGIC),
            window: Vec::with_capacity(CHUNK + golang::MAGIC.len()),
            window_at: 0,
            size,
            budget,
            path,
        };
        s.feed(0, &prefix)?;
        let mut pos = prefix.len() as u64;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            s.feed(pos, &buf[..n])?;
            pos += n as u64;
        }
        let mut pieces: Vec<(u64, &[u8])> = vec![(0, &prefix)];
        pieces.extend(s.captures.iter().map(|c| (c.start, &c.data[..])));
        pieces.extend(s.go.iter().map(|c| (c.start, &c.data[..])));
        let candidates: Vec<u64> = s.go.iter().map(|c| c.start).collect();
        let view = View::partial(pos, pieces);
        let x = analyze(path, &view, &candidates, Some(&why_streamed), budget)?;
        drop(s.held);
        charge(path, &x.packages, &mut Charged::default(), budget)?;
        Ok(x)
    }
}

/// The 16-byte aligned Go build info magics of a file in memory.
fn scan_whole(data: &[u8]) -> Vec<u64> {
    memmem::find_iter(data, golang::MAGIC)
        .filter(|i| (*i as u64).is_multiple_of(golang::ALIGN))
        .take(MAX_WHOLE_CANDIDATES)
        .map(|i| i as u64)
        .collect()
}

/// The file ranges a streaming read keeps for cargo-auditable data, from the tables of
/// the first bytes; each clipped to the file.
fn plan(images: &[Image], size: u64) -> Vec<Range<u64>> {
    let clip = |r: Range<u64>| r.start.min(size)..r.end.min(size);
    let mut out = Vec::new();
    for img in images {
        if let Some((table, loaded_end)) = &img.elf_tail {
            out.push(clip(table.start..table.end));
            let head_end = loaded_end.saturating_add(ELF_HEAD_WINDOW).min(table.start);
            out.push(clip(*loaded_end..head_end));
            let tail_start = table.start.saturating_sub(ELF_TAIL_WINDOW).max(head_end);
            out.push(clip(tail_start..table.start));
        }
        if let Found::At(r) = &img.dep_v0 {
            let end = r.end.min(r.start.saturating_add(MAX_DEP_SECTION));
            out.push(clip(r.start..end));
        }
    }
    out.retain(|r| r.start < r.end);
    out
}

/// A file range being kept as the stream passes it.
struct Capture {
    start: u64,
    end: u64,
    data: Vec<u8>,
}

impl Capture {
    fn new(r: Range<u64>) -> Capture {
        Capture {
            start: r.start,
            end: r.end,
            data: Vec::new(),
        }
    }

    /// Keeps what of `bytes` (at file offset `at`, following what was fed before) it
    /// still needs.
    fn feed(&mut self, at: u64, bytes: &[u8]) {
        let have = self.start + self.data.len() as u64;
        let end = at + bytes.len() as u64;
        if have >= self.end || at > have || end <= have {
            return;
        }
        let from = (have - at) as usize;
        let to = (self.end.min(end) - at) as usize;
        self.data.extend_from_slice(&bytes[from..to]);
    }
}

/// The state of a streaming read.
struct Stream<'a> {
    images: &'a [Image],
    captures: Vec<Capture>,
    /// Windows after Go build info headers.
    go: Vec<Capture>,
    held: Vec<Held<'a>>,
    finder: memmem::Finder<'static>,
    /// The last bytes of the previous chunk (a magic may straddle two), then this one.
    window: Vec<u8>,
    window_at: u64,
    size: u64,
    budget: &'a Budget,
    path: &'a str,
}

impl Stream<'_> {
    fn feed(&mut self, at: u64, bytes: &[u8]) -> Result<(), ExtractError> {
        for c in self.captures.iter_mut().chain(self.go.iter_mut()) {
            c.feed(at, bytes);
        }
        let carry = golang::MAGIC.len() - 1;
        let keep = self.window.len().min(carry);
        self.window.drain(..self.window.len() - keep);
        self.window_at = at - keep as u64;
        self.window.extend_from_slice(bytes);
        let hits: Vec<usize> = self.finder.find_iter(&self.window).collect();
        for i in hits {
            let hit = self.window_at + i as u64;
            if self.go.len() >= MAX_GO_CANDIDATES || !self.wanted(hit) {
                continue;
            }
            let len = golang::INLINE_WINDOW.min(self.size.saturating_sub(hit));
            let h = self.budget.reserve(len).map_err(|e| {
                ExtractError::new(
                    self.path,
                    format!("keeping the Go build info at {hit:#x}: {e}"),
                )
            })?;
            self.held.push(h);
            let mut c = Capture::new(hit..hit + len);
            c.feed(hit, &self.window[i..]);
            self.go.push(c);
        }
        Ok(())
    }

    /// Whether a magic at `hit` may be the build info header: aligned, and in a
    /// writable segment of its image when the image's segments are known.
    fn wanted(&self, hit: u64) -> bool {
        match self.images.iter().find(|i| i.span.contains(&hit)) {
            Some(img) if !img.segments.is_empty() => {
                (hit - img.span.start).is_multiple_of(golang::ALIGN)
                    && img.in_writable(hit, golang::HEADER)
            }
            _ => hit.is_multiple_of(golang::ALIGN),
        }
    }
}

/// The packages of a binary from what `view` holds. `streamed`: why the file was not
/// kept whole (for warnings about what was not kept).
fn analyze(
    path: &str,
    view: &View<'_>,
    candidates: &[u64],
    streamed: Option<&str>,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let images = objfile::parse(view);
    let mut warnings = CappedWarnings::default();
    let mut packages = Vec::new();
    let not_kept = |what: String| match streamed {
        Some(why) => {
            format!("{what} lies in parts of the file not kept while streaming it ({why})")
        }
        None => format!("{what} could not be read"),
    };

    for &at in candidates {
        // Outside every known image (headers unreadable, a fat slice whose header was
        // not kept) the header check alone decides.
        let image = images.iter().find(|i| i.span.contains(&at));
        if let Some(img) = image {
            if !img.segments.is_empty() && !img.in_writable(at, golang::HEADER) {
                continue;
            }
        }
        match golang::read_header(view, at, image) {
            Outcome::NotOurs => continue,
            Outcome::Read { version, modinfo } => {
                packages.extend(golang::packages(path, &version, &modinfo, &mut warnings));
            }
            Outcome::Broken(why) => warnings.push(why),
            Outcome::NotKept => warnings.push(not_kept(format!(
                "Go build info at {at:#x} is in the pointer format of Go < 1.18, whose strings"
            ))),
        }
        // One build info per binary (a fat Mach-O's slices repeat the same).
        break;
    }

    for img in &images {
        match &img.dep_v0 {
            Found::No => continue,
            Found::At(r) => {
                let len = r.end - r.start;
                if len > MAX_DEP_SECTION {
                    warnings.push(format!(
                        "the cargo-auditable dependency list (.dep-v0) is {len} bytes, over the limit of {MAX_DEP_SECTION}"
                    ));
                } else if let Some(bytes) = view.get(r.start, len) {
                    match rust::auditable(path, bytes, true, budget, &mut warnings)? {
                        Auditable::Read(p) => packages.extend(p),
                        Auditable::Broken(why) => warnings.push(why),
                        Auditable::NotOurs => {}
                    }
                } else if view.in_file(r.start, len) {
                    warnings.push(not_kept(format!(
                        "the cargo-auditable dependency list (.dep-v0, {len} bytes at {:#x})",
                        r.start
                    )));
                } else {
                    warnings.push(format!(
                        "the cargo-auditable dependency list (.dep-v0, {len} bytes at {:#x}) runs past the end of the file",
                        r.start
                    ));
                }
            }
            Found::Unnamed(ranges) => {
                let mut found = false;
                for r in ranges {
                    let len = r.end - r.start;
                    let Some(bytes) = view.get(r.start, len.min(MAX_DEP_SECTION)) else {
                        continue;
                    };
                    if let Auditable::Read(p) =
                        rust::auditable(path, bytes, false, budget, &mut warnings)?
                    {
                        packages.extend(p);
                        found = true;
                        break;
                    }
                }
                if !found {
                    continue;
                }
            }
        }
        // One dependency list per binary (a fat Mach-O's slices repeat the same).
        break;
    }
    Ok(Extracted {
        packages,
        warnings: warnings.finish(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const RO_OFF: u64 = 0x1000;
    const RO_ADDR: u64 = 0x40_1000;
    const PAGE: u64 = 0x1000;

    /// A minimal little-endian ELF64: a read-only segment at 0x1000 holding `rodata`, a
    /// writable one after it holding `data`, then (when given) a `.dep-v0` section, the
    /// section names and the section header table.
    fn elf(rodata: &[u8], data: &[u8], dep: Option<&[u8]>) -> Vec<u8> {
        let data_off = RO_OFF + (rodata.len() as u64).div_ceil(PAGE).max(1) * PAGE;
        let data_addr = RO_ADDR + (data_off - RO_OFF);
        let mut f = vec![0u8; data_off as usize];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        let put = |f: &mut Vec<u8>, at: usize, v: &[u8]| f[at..at + v.len()].copy_from_slice(v);
        put(&mut f, 0x20, &64u64.to_le_bytes());
        put(&mut f, 0x36, &56u16.to_le_bytes());
        put(&mut f, 0x38, &2u16.to_le_bytes());
        for (i, (off, addr, len, flags)) in [
            (RO_OFF, RO_ADDR, rodata.len() as u64, 4u32),
            (data_off, data_addr, data.len() as u64, 6u32),
        ]
        .into_iter()
        .enumerate()
        {
            let p = 64 + i * 56;
            put(&mut f, p, &1u32.to_le_bytes());
            put(&mut f, p + 4, &flags.to_le_bytes());
            put(&mut f, p + 8, &off.to_le_bytes());
            put(&mut f, p + 16, &addr.to_le_bytes());
            put(&mut f, p + 32, &len.to_le_bytes());
            put(&mut f, p + 40, &len.to_le_bytes());
        }
        put(&mut f, RO_OFF as usize, rodata);
        f.extend_from_slice(data);
        if let Some(dep) = dep {
            let dep_off = f.len() as u64;
            f.extend_from_slice(dep);
            let names_off = f.len() as u64;
            let names = b"\0.dep-v0\0.shstrtab\0";
            f.extend_from_slice(names);
            while !f.len().is_multiple_of(8) {
                f.push(0);
            }
            let shoff = f.len() as u64;
            let mut sh = vec![0u8; 64 * 3];
            for (i, (name, kind, off, size)) in [
                (1u32, 1u32, dep_off, dep.len() as u64),
                (9, 3, names_off, names.len() as u64),
            ]
            .into_iter()
            .enumerate()
            {
                let p = 64 * (i + 1);
                sh[p..p + 4].copy_from_slice(&name.to_le_bytes());
                sh[p + 4..p + 8].copy_from_slice(&kind.to_le_bytes());
                sh[p + 24..p + 32].copy_from_slice(&off.to_le_bytes());
                sh[p + 32..p + 40].copy_from_slice(&size.to_le_bytes());
            }
            f.extend_from_slice(&sh);
            put(&mut f, 0x28, &shoff.to_le_bytes());
            put(&mut f, 0x3a, &64u16.to_le_bytes());
            put(&mut f, 0x3c, &3u16.to_le_bytes());
            put(&mut f, 0x3e, &2u16.to_le_bytes());
        }
        // Past the minimum size the extractor looks at.
        f.resize(f.len().max(MIN_BINARY_BYTES as usize), 0);
        f
    }

    fn data_addr(rodata_len: usize) -> u64 {
        RO_ADDR + (rodata_len as u64).div_ceil(PAGE).max(1) * PAGE
    }

    fn modinfo(text: &str) -> Vec<u8> {
        let mut m = vec![0x30u8; 16];
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(&[0xf9u8; 16]);
        m
    }

    /// A Go 1.16-style binary: the pointer format, its strings in `.rodata`.
    fn pointer_format(version_ptr: Option<u64>) -> Vec<u8> {
        let version = b"go1.16.5";
        let m = modinfo(
            "path\tex.com/x\nmod\tex.com/x\tv1.0.0\th1:a=\ndep\tgolang.org/x/text\tv0.3.6\th1:b=\n",
        );
        // The strings past the first 64 KiB, so that a streaming read does not keep them.
        let at = 2 * PREFIX as usize;
        let mut rodata = vec![0u8; at];
        rodata.extend_from_slice(version);
        rodata.extend_from_slice(&m);
        let da = data_addr(rodata.len());
        let (v_addr, m_addr) = (RO_ADDR + at as u64, RO_ADDR + (at + version.len()) as u64);
        let mut data = golang::MAGIC.to_vec();
        data.extend_from_slice(&[8, 0]);
        data.extend_from_slice(&version_ptr.unwrap_or(da + 32).to_le_bytes());
        data.extend_from_slice(&(da + 48).to_le_bytes());
        data.extend_from_slice(&v_addr.to_le_bytes());
        data.extend_from_slice(&(version.len() as u64).to_le_bytes());
        data.extend_from_slice(&m_addr.to_le_bytes());
        data.extend_from_slice(&(m.len() as u64).to_le_bytes());
        elf(&rodata, &data, None)
    }

    fn uvarint(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// A Go 1.18+ header followed by `rest` (lengths and strings).
    fn inline(rest: &[u8]) -> Vec<u8> {
        let mut data = golang::MAGIC.to_vec();
        data.extend_from_slice(&[8, 2]);
        data.resize(32, 0);
        data.extend_from_slice(rest);
        data
    }

    fn inline_strings(version: &[u8], m: &[u8]) -> Vec<u8> {
        let mut rest = Vec::new();
        for s in [version, m] {
            uvarint(s.len() as u64, &mut rest);
            rest.extend_from_slice(s);
        }
        rest
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A reader handing out a few bytes at a time, as a decompressing tar reader may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// In memory, streamed and kept whole, streamed in small reads with nothing kept
    /// whole; the last under a budget that must be given back but for the packages.
    fn three_ways(bin: &[u8]) -> (Extracted, Extracted, Extracted) {
        let whole = Executables::default().extract("b", bin).unwrap();
        let n = bin.len() as u64;
        let kept = Executables::default()
            .extract_from("b", n, &mut &bin[..], &Budget::unlimited())
            .unwrap();
        let budget = Budget::new(64 << 20);
        let streamed = Executables::with_whole_file_cap(0)
            .extract_from("b", n, &mut Trickle(bin, 7), &budget)
            .unwrap();
        let kept_bytes: u64 = streamed
            .packages
            .iter()
            .map(crate::extract::package_bytes)
            .sum();
        assert!(budget.used() <= kept_bytes + 4096, "{}", budget.used());
        (whole, kept, streamed)
    }

    fn pairs(x: &Extracted) -> Vec<(&str, &str)> {
        x.packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect()
    }

    #[test]
    fn pointer_format_needs_the_file_kept_whole() {
        let bin = pointer_format(None);
        let (whole, kept, streamed) = three_ways(&bin);
        assert_eq!(
            pairs(&whole),
            [
                ("ex.com/x", "1.0.0"),
                ("golang.org/x/text", "0.3.6"),
                ("stdlib", "1.16.5")
            ]
        );
        assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        assert_eq!(whole, kept);
        assert!(streamed.packages.is_empty());
        assert_eq!(streamed.warnings.len(), 1);
        assert!(
            streamed.warnings[0].contains("pointer format of Go < 1.18")
                && streamed.warnings[0].contains("more than the 0 read whole"),
            "{:?}",
            streamed.warnings
        );
        // Within the cap but over the budget: streamed too, and the warning says why.
        let x = Executables::default()
            .extract_from("b", bin.len() as u64, &mut &bin[..], &Budget::new(4096))
            .unwrap();
        assert!(
            x.warnings[0].contains("memory budget of 4096"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn bogus_pointers_are_warned() {
        let (whole, _, _) = three_ways(&pointer_format(Some(0xdead_0000)));
        assert!(whole.packages.is_empty());
        assert_eq!(whole.warnings.len(), 1);
        assert!(
            whole.warnings[0].contains("version pointer 0xdead0000 is outside"),
            "{:?}",
            whole.warnings
        );
    }

    #[test]
    fn inline_format_reads_every_way() {
        let m = modinfo("mod\tex.com/y\t(devel)\t\ndep\tgithub.com/a/b\tv1.2.3\th1:c=\n");
        let bin = elf(b"rodata", &inline(&inline_strings(b"go1.22.1", &m)), None);
        let (whole, kept, streamed) = three_ways(&bin);
        assert_eq!(
            pairs(&whole),
            [
                ("ex.com/y", "(devel)"),
                ("github.com/a/b", "1.2.3"),
                ("stdlib", "1.22.1")
            ]
        );
        assert_eq!(whole, kept);
        assert_eq!(whole, streamed);
    }

    #[test]
    fn the_magic_outside_writable_data_is_not_build_info() {
        // A program that reads build info has the magic among its string constants.
        let mut rodata = golang::MAGIC.to_vec();
        rodata.extend_from_slice(&[8, 2]);
        rodata.resize(32, 0);
        rodata.extend_from_slice(&inline_strings(b"go1.0", b""));
        let bin = elf(&rodata, b"plain data", None);
        let (whole, kept, streamed) = three_ways(&bin);
        assert_eq!(whole, Extracted::default());
        assert_eq!(kept, Extracted::default());
        assert_eq!(streamed, Extracted::default());
    }

    #[test]
    fn truncated_strings_and_huge_lengths_are_warned() {
        // The module information's length runs past the end of the file.
        let mut rest = Vec::new();
        uvarint(8, &mut rest);
        rest.extend_from_slice(b"go1.22.1");
        uvarint(1 << 19, &mut rest);
        rest.extend_from_slice(b"\x30\x30");
        let mut bin = elf(b"r", &inline(&rest), None);
        let end = bin.iter().rposition(|&b| b != 0).unwrap() + 1;
        bin.truncate(end.max(MIN_BINARY_BYTES as usize));
        let (whole, kept, streamed) = three_ways(&bin);
        assert!(whole.packages.is_empty());
        assert!(
            whole.warnings[0].contains("module information (524288 bytes) is cut short"),
            "{:?}",
            whole.warnings
        );
        assert_eq!(whole, kept);
        assert_eq!(whole, streamed);

        // A length of 2^63 and one overflowing 64 bits.
        for (lenbytes, says) in [
            (
                &[0x80u8, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01][..],
                "over the limit",
            ),
            (&[0xff; 11][..], "overflows"),
        ] {
            let bin = elf(b"r", &inline(lenbytes), None);
            let (whole, _, streamed) = three_ways(&bin);
            assert!(whole.warnings[0].contains(says), "{:?}", whole.warnings);
            assert_eq!(whole, streamed);
        }
    }

    #[test]
    fn dep_v0_in_elf_and_a_zlib_bomb() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},
            {"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
        let bin = elf(b"r", b"d", Some(&zlib(json)));
        let (whole, kept, streamed) = three_ways(&bin);
        assert_eq!(pairs(&whole), [("app", "0.1.0")]);
        assert_eq!(
            whole.packages[0].ecosystem,
            patchline_model::Ecosystem::Cargo
        );
        assert_eq!(whole, kept);
        assert_eq!(whole, streamed);

        let bomb = zlib(&vec![b'{'; (rust::MAX_DEP_JSON + 1) as usize]);
        let bin = elf(b"r", b"d", Some(&bomb));
        let (whole, _, streamed) = three_ways(&bin);
        assert!(whole.packages.is_empty());
        assert!(
            whole.warnings[0].contains("inflates to more than"),
            "{:?}",
            whole.warnings
        );
        assert_eq!(whole, streamed);
    }

    #[test]
    fn dep_v0_without_section_names_is_found_by_content() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0"}]}"#;
        let mut bin = elf(b"r", b"d", Some(&zlib(json)));
        // Point e_shstrndx at the (empty) null section: names cannot be read.
        bin[0x3e..0x40].copy_from_slice(&0u16.to_le_bytes());
        let (whole, _, streamed) = three_ways(&bin);
        assert_eq!(pairs(&whole), [("app", "0.1.0")]);
        assert_eq!(whole, streamed);
    }

    #[test]
    fn scripts_empty_and_truncated_files_give_nothing() {
        let script = format!("#!/bin/sh\n{}", "echo \u{ff} Go buildinf:\n".repeat(500));
        let mut truncated: Vec<Vec<u8>> = vec![Vec::new(), script.into_bytes()];
        let bin = pointer_format(None);
        for cut in [1, 4, 16, 63, 64, 100, 119, 120, 200, 4096] {
            truncated.push(bin[..cut.min(bin.len())].to_vec());
        }
        for head in [
            &b"\xcf\xfa\xed\xfe"[..],
            b"\xca\xfe\xba\xbe\0\0\0\x02",
            b"MZ\x90\0",
        ] {
            let mut f = head.to_vec();
            f.resize(100, 0xff);
            truncated.push(f);
        }
        for f in &truncated {
            let (whole, kept, streamed) = three_ways(f);
            assert_eq!(whole, Extracted::default(), "{:?}", &f[..f.len().min(8)]);
            assert_eq!(kept, whole);
            assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn selection() {
        let e = Executables::default();
        assert!(e.wants_file("usr/bin/app", 0o100755, 1 << 20));
        assert!(!e.wants_file("usr/bin/app", 0o100755, 0));
        assert!(!e.wants_file("usr/bin/app", 0o100644, 1 << 20));
        assert!(e.wants_file("Files/app.EXE", 0o644, 1 << 20));
        assert!(!e.wants_file("usr/bin/x.sh", 0o755, 1 << 20));
        assert!(!e.wants_file("usr/share/doc/README.md", 0o755, 1 << 20));
        assert!(e.locations().is_empty());
    }
}
