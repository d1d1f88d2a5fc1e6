//! Executables (ELF, Mach-O, fat Mach-O, PE) as far as the binary extractors need them:
//! where the segments are (addresses to file offsets, which are writable), and where
//! a named section's bytes lie.
//!
//! The readers work on a [`View`]: the whole file, or only the pieces of it a streaming
//! read kept (the headers at the start, the section header table near the end, a few
//! windows). Anything outside the kept pieces reads as absent, never as zeros, so a
//! table that was not kept is reported missing rather than misread. That is also why
//! this is hand-written rather than built on an object-file crate: those want the
//! whole image as one slice and read more than the tables (ELF symbol tables) up front.
//!
//! Every count read from a header is bounded ([`MAX_TABLE_ENTRIES`]), every offset
//! checked; a malformed header gives fewer segments or sections, never a panic.

use std::ops::Range;

/// Entries read from one segment, section or load-command table; real executables have
/// tens (a Go or Rust ELF about 40 sections), the largest a few thousand.
pub(crate) const MAX_TABLE_ENTRIES: u64 = 1 << 16;

/// Slices of a fat Mach-O read; Apple's universal binaries have two or three.
const MAX_FAT_SLICES: u64 = 16;

/// The bytes of a file of `len` bytes that are at hand, as pieces at their offsets.
pub(crate) struct View<'a> {
    len: u64,
    pieces: Vec<(u64, &'a [u8])>,
}

impl<'a> View<'a> {
    /// The whole file in memory.
    pub(crate) fn whole(data: &'a [u8]) -> View<'a> {
        View {
            len: data.len() as u64,
            pieces: vec![(0, data)],
        }
    }

    /// A file of `len` bytes of which only `pieces` (offset, bytes) were kept.
    pub(crate) fn partial(len: u64, pieces: Vec<(u64, &'a [u8])>) -> View<'a> {
        View { len, pieces }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// `n` bytes at `off`, when one kept piece holds them all.
    pub(crate) fn get(&self, off: u64, n: u64) -> Option<&'a [u8]> {
        let end = off.checked_add(n)?;
        if end > self.len {
            return None;
        }
        self.pieces.iter().find_map(|&(start, bytes)| {
            let rel = off.checked_sub(start)?;
            let rel_end = rel.checked_add(n)?;
            if rel_end <= bytes.len() as u64 {
                Some(&bytes[rel as usize..rel_end as usize])
            } else {
                None
            }
        })
    }

    /// Whether `off..off + n` lies inside the file at all (kept or not).
    pub(crate) fn in_file(&self, off: u64, n: u64) -> bool {
        off.checked_add(n).is_some_and(|e| e <= self.len)
    }

    /// The kept bytes from `off` up to (not including) the first `delim`, looking at
    /// most `max` bytes ahead.
    fn until(&self, off: u64, delim: u8, max: u64) -> Option<&'a [u8]> {
        let (start, bytes) = self
            .pieces
            .iter()
            .find(|&&(start, bytes)| off >= start && off - start < bytes.len() as u64)?;
        let rest = &bytes[(off - start) as usize..];
        let rest = &rest[..rest.len().min(max as usize)];
        memchr::memchr(delim, rest).map(|i| &rest[..i])
    }

    fn u16(&self, off: u64, big: bool) -> Option<u16> {
        let b: [u8; 2] = self.get(off, 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub(crate) fn u32(&self, off: u64, big: bool) -> Option<u32> {
        let b: [u8; 4] = self.get(off, 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    pub(crate) fn u64(&self, off: u64, big: bool) -> Option<u64> {
        let b: [u8; 8] = self.get(off, 8)?.try_into().ok()?;
        Some(if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A 32- or 64-bit word.
    fn word(&self, off: u64, big: bool, wide: bool) -> Option<u64> {
        if wide {
            self.u64(off, big)
        } else {
            self.u32(off, big).map(u64::from)
        }
    }
}

/// The container format, told by the first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Elf,
    MachO,
    FatMachO,
    Pe,
}

/// The format of a file starting with `head`, or `None` for anything else (scripts,
/// data, Java classes, which share the fat Mach-O magic).
pub(crate) fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [0x7f, b'E', b'L', b'F', ..] => Some(Format::Elf),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => {
            Some(Format::MachO)
        }
        // A Java class file starts with the same magic, then its version (45 and up)
        // where a fat header has its slice count.
        [0xca, 0xfe, 0xba, 0xbe | 0xbf, a, b, c, d, ..] => {
            let n = u32::from_be_bytes([*a, *b, *c, *d]);
            (1..=MAX_FAT_SLICES as u32)
                .contains(&n)
                .then_some(Format::FatMachO)
        }
        [b'M', b'Z', ..] => Some(Format::Pe),
        _ => None,
    }
}

/// A loaded segment: `filesz` bytes at file offset `offset` are mapped at `vaddr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub writable: bool,
}

/// Where a section's bytes are in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// The section is not there (or the table naming sections could not be read).
    No,
    /// At these file offsets.
    At(Range<u64>),
    /// ELF only: the section names could not be read, but these unnamed sections
    /// (non-allocated, no flags: where cargo-auditable's section goes) may be it.
    Unnamed(Vec<Range<u64>>),
}

/// One executable image; a fat Mach-O holds several.
#[derive(Clone, Debug)]
pub(crate) struct Image {
    /// The file offsets it spans.
    pub span: Range<u64>,
    pub segments: Vec<Segment>,
    /// cargo-auditable's `.dep-v0` section.
    pub dep_v0: Found,
    /// ELF: the section header table's file range, and where the non-allocated
    /// sections start (after the last loaded byte), for a streaming read to keep.
    pub elf_tail: Option<(Range<u64>, u64)>,
}

impl Image {
    fn new(span: Range<u64>) -> Image {
        Image {
            span,
            segments: Vec::new(),
            dep_v0: Found::No,
            elf_tail: None,
        }
    }

    /// The file offset of `n` bytes at address `addr`, when one segment maps them.
    pub(crate) fn offset_of(&self, addr: u64, n: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            let rel = addr.checked_sub(s.vaddr)?;
            (rel.checked_add(n)? <= s.filesz).then(|| s.offset + rel)
        })
    }

    /// Whether `off..off + n` lies in a writable segment's file bytes.
    pub(crate) fn in_writable(&self, off: u64, n: u64) -> bool {
        self.segments.iter().any(|s| {
            s.writable
                && off >= s.offset
                && off
                    .checked_add(n)
                    .is_some_and(|e| e <= s.offset.saturating_add(s.filesz))
        })
    }
}

/// The images of the file, as far as the view holds their tables; empty when the
/// headers themselves are not readable.
pub(crate) fn parse(view: &View<'_>) -> Vec<Image> {
    let Some(head) = view.get(0, 8.min(view.len())) else {
        return Vec::new();
    };
    match sniff(head) {
        Some(Format::Elf) => elf(view).into_iter().collect(),
        Some(Format::MachO) => macho(view, 0..view.len()).into_iter().collect(),
        Some(Format::FatMachO) => fat(view),
        Some(Format::Pe) => pe(view).into_iter().collect(),
        None => Vec::new(),
    }
}

const PT_LOAD: u32 = 1;
const PF_W: u32 = 2;
const SHT_PROGBITS: u32 = 1;
const SHT_NOBITS: u32 = 8;
/// Section names are short; `.shstrtab` entries longer than this are not ours.
const MAX_NAME: u64 = 256;

fn elf(v: &View<'_>) -> Option<Image> {
    let ident = v.get(0, 16)?;
    let wide = match ident[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match ident[5] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let mut img = Image::new(0..v.len());
    // e_phoff, e_shoff, then the 16-bit counts, at their class's offsets.
    let (phoff, shoff, half) = if wide {
        (v.u64(0x20, big)?, v.u64(0x28, big)?, 0x36)
    } else {
        (
            u64::from(v.u32(0x1c, big)?),
            u64::from(v.u32(0x20, big)?),
            0x2a,
        )
    };
    let phentsize = u64::from(v.u16(half, big)?);
    let phnum = u64::from(v.u16(half + 2, big)?);
    let shentsize = u64::from(v.u16(half + 4, big)?);
    let mut shnum = u64::from(v.u16(half + 6, big)?);
    let mut shstrndx = u64::from(v.u16(half + 8, big)?);

    let (ph_min, sh_min) = if wide { (56, 64) } else { (32, 40) };
    if phentsize >= ph_min {
        for i in 0..phnum.min(MAX_TABLE_ENTRIES) {
            let Some(p) = i.checked_mul(phentsize).and_then(|x| x.checked_add(phoff)) else {
                break;
            };
            let Some(p_type) = v.u32(p, big) else { break };
            if p_type != PT_LOAD {
                continue;
            }
            let seg = if wide {
                (|| {
                    Some(Segment {
                        writable: v.u32(p + 4, big)? & PF_W != 0,
                        offset: v.u64(p + 8, big)?,
                        vaddr: v.u64(p + 16, big)?,
                        filesz: v.u64(p + 32, big)?,
                    })
                })()
            } else {
                (|| {
                    Some(Segment {
                        offset: u64::from(v.u32(p + 4, big)?),
                        vaddr: u64::from(v.u32(p + 8, big)?),
                        filesz: u64::from(v.u32(p + 16, big)?),
                        writable: v.u32(p + 24, big)? & PF_W != 0,
                    })
                })()
            };
            match seg {
                Some(s) => img.segments.push(s),
                None => break,
            }
        }
    }
    if shoff == 0 || shentsize < sh_min {
        return Some(img);
    }
    // Section header 0 carries the real count and string-table index when they do not
    // fit the 16-bit fields.
    let sh = |i: u64| i.checked_mul(shentsize).and_then(|x| x.checked_add(shoff));
    if shnum == 0 {
        if let Some(n) = v.word(shoff + if wide { 32 } else { 20 }, big, wide) {
            shnum = n;
        }
    }
    if shstrndx == 0xffff {
        if let Some(n) = v.u32(shoff + if wide { 40 } else { 24 }, big) {
            shstrndx = u64::from(n);
        }
    }
    let shnum = shnum.min(MAX_TABLE_ENTRIES);
    let table_end = sh(shnum).unwrap_or(u64::MAX);
    let loaded_end = img
        .segments
        .iter()
        .map(|s| s.offset.saturating_add(s.filesz))
        .max()
        .unwrap_or(0);
    img.elf_tail = Some((shoff..table_end, loaded_end.min(shoff)));

    struct Shdr {
        name: u32,
        kind: u32,
        flags: u64,
        offset: u64,
        size: u64,
    }
    let read_shdr = |i: u64| -> Option<Shdr> {
        let p = sh(i)?;
        Some(if wide {
            Shdr {
                name: v.u32(p, big)?,
                kind: v.u32(p + 4, big)?,
                flags: v.u64(p + 8, big)?,
                offset: v.u64(p + 24, big)?,
                size: v.u64(p + 32, big)?,
            }
        } else {
            Shdr {
                name: v.u32(p, big)?,
                kind: v.u32(p + 4, big)?,
                flags: u64::from(v.u32(p + 8, big)?),
                offset: u64::from(v.u32(p + 16, big)?),
                size: u64::from(v.u32(p + 20, big)?),
            }
        })
    };
    let mut headers = Vec::new();
    for i in 0..shnum {
        match read_shdr(i) {
            Some(h) => headers.push(h),
            // The table was not kept (or is cut short): no sections.
            None => return Some(img),
        }
    }
    let strtab = headers
        .get(shstrndx as usize)
        .filter(|h| h.kind != SHT_NOBITS)
        .map(|h| (h.offset, h.size));
    let name_of = |h: &Shdr| -> Option<&[u8]> {
        let (off, size) = strtab?;
        if u64::from(h.name) >= size {
            return None;
        }
        v.until(
            off.checked_add(u64::from(h.name))?,
            0,
            MAX_NAME.min(size - u64::from(h.name)),
        )
    };
    let names_readable = strtab.is_some_and(|(off, size)| size > 0 && v.get(off, 1).is_some());
    let range = |h: &Shdr| h.offset..h.offset.saturating_add(h.size);
    if names_readable {
        if let Some(h) = headers
            .iter()
            .find(|h| h.kind != SHT_NOBITS && name_of(h) == Some(b".dep-v0"))
        {
            img.dep_v0 = Found::At(range(h));
        }
    } else {
        let unnamed: Vec<Range<u64>> = headers
            .iter()
            .filter(|h| h.kind == SHT_PROGBITS && h.flags == 0 && h.size > 0)
            .map(range)
            .collect();
        if !unnamed.is_empty() {
            img.dep_v0 = Found::Unnamed(unnamed);
        }
    }
    Some(img)
}

const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;
const VM_PROT_WRITE: u32 = 0x2;

/// A Mach-O image whose header is at `span.start`; its file offsets are relative to it.
fn macho(v: &View<'_>, span: Range<u64>) -> Option<Image> {
    let base = span.start;
    let magic = v.get(base, 4)?;
    let (big, wide) = match magic {
        [0xfe, 0xed, 0xfa, 0xce] => (true, false),
        [0xfe, 0xed, 0xfa, 0xcf] => (true, true),
        [0xce, 0xfa, 0xed, 0xfe] => (false, false),
        [0xcf, 0xfa, 0xed, 0xfe] => (false, true),
        _ => return None,
    };
    let mut img = Image::new(span);
    let ncmds = u64::from(v.u32(base + 16, big)?);
    let sizeofcmds = u64::from(v.u32(base + 20, big)?);
    let mut p = base + if wide { 32 } else { 28 };
    let cmds_end = p.saturating_add(sizeofcmds);
    for _ in 0..ncmds.min(MAX_TABLE_ENTRIES) {
        if p.saturating_add(8) > cmds_end {
            break;
        }
        let (Some(cmd), Some(size)) = (v.u32(p, big), v.u32(p + 4, big)) else {
            break;
        };
        let size = u64::from(size);
        if size < 8 {
            break;
        }
        let is_seg = (cmd == LC_SEGMENT && !wide) || (cmd == LC_SEGMENT_64 && wide);
        if is_seg {
            segment(v, &mut img, p, big, wide);
        }
        p = p.saturating_add(size);
    }
    Some(img)
}

fn segment(v: &View<'_>, img: &mut Image, p: u64, big: bool, wide: bool) -> Option<()> {
    let base = img.span.start;
    let w = if wide { 8 } else { 4 };
    // segname[16], vmaddr, vmsize, fileoff, filesize (words), maxprot, initprot, nsects.
    let vmaddr = v.word(p + 24, big, wide)?;
    let fileoff = v.word(p + 24 + 2 * w, big, wide)?;
    let filesize = v.word(p + 24 + 3 * w, big, wide)?;
    let initprot = v.u32(p + 24 + 4 * w + 4, big)?;
    let nsects = u64::from(v.u32(p + 24 + 4 * w + 8, big)?);
    img.segments.push(Segment {
        vaddr: vmaddr,
        offset: base.saturating_add(fileoff),
        filesz: filesize,
        writable: initprot & VM_PROT_WRITE != 0,
    });
    let first = p + 24 + 4 * w + 16;
    let sect_size = if wide { 80 } else { 68 };
    for i in 0..nsects.min(MAX_TABLE_ENTRIES) {
        let s = first + i * sect_size;
        let sectname = v.get(s, 16)?;
        let segname = v.get(s + 16, 16)?;
        if cstr(sectname) == b".dep-v0" && cstr(segname) == b"__DATA" {
            let size = v.word(s + 32 + w, big, wide)?;
            let offset = u64::from(v.u32(s + 32 + 2 * w, big)?);
            let start = base.saturating_add(offset);
            img.dep_v0 = Found::At(start..start.saturating_add(size));
        }
    }
    Some(())
}

/// A fixed-size name field up to its first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    &b[..memchr::memchr(0, b).unwrap_or(b.len())]
}

fn fat(v: &View<'_>) -> Vec<Image> {
    let Some(magic) = v.get(0, 4) else {
        return Vec::new();
    };
    let wide = magic[3] == 0xbf;
    let n = v.u32(4, true).map_or(0, u64::from).min(MAX_FAT_SLICES);
    let entry = if wide { 32 } else { 20 };
    let mut out = Vec::new();
    for i in 0..n {
        let p = 8 + i * entry;
        let slice = if wide {
            v.u64(p + 8, true).zip(v.u64(p + 16, true))
        } else {
            v.u32(p + 8, true)
                .zip(v.u32(p + 12, true))
                .map(|(o, s)| (u64::from(o), u64::from(s)))
        };
        let Some((offset, size)) = slice else { break };
        if let Some(img) = macho(v, offset..offset.saturating_add(size)) {
            out.push(img);
        }
    }
    out
}

const IMAGE_SCN_MEM_WRITE: u32 = 0x8000_0000;

fn pe(v: &View<'_>) -> Option<Image> {
    let lfanew = u64::from(v.u32(0x3c, false)?);
    if v.get(lfanew, 4)? != b"PE\0\0" {
        return None;
    }
    let coff = lfanew + 4;
    let nsections = u64::from(v.u16(coff + 2, false)?);
    let opt_size = u64::from(v.u16(coff + 16, false)?);
    let opt = coff + 20;
    let image_base = match v.u16(opt, false)? {
        0x10b => u64::from(v.u32(opt + 28, false)?),
        0x20b => v.u64(opt + 24, false)?,
        _ => return None,
    };
    let mut img = Image::new(0..v.len());
    let table = opt + opt_size;
    for i in 0..nsections {
        let s = table + i * 40;
        let Some(name) = v.get(s, 8) else { break };
        let fields = (|| {
            Some((
                u64::from(v.u32(s + 8, false)?),
                u64::from(v.u32(s + 12, false)?),
                u64::from(v.u32(s + 16, false)?),
                u64::from(v.u32(s + 20, false)?),
                v.u32(s + 36, false)?,
            ))
        })();
        let Some((vsize, rva, raw_size, raw_ptr, flags)) = fields else {
            break;
        };
        // The raw data is padded to the file alignment; the virtual size is the real one.
        let size = if vsize == 0 {
            raw_size
        } else {
            raw_size.min(vsize)
        };
        img.segments.push(Segment {
            vaddr: image_base.saturating_add(rva),
            offset: raw_ptr,
            filesz: size,
            writable: flags & IMAGE_SCN_MEM_WRITE != 0,
        });
        if cstr(name) == b".dep-v0" {
            img.dep_v0 = Found::At(raw_ptr..raw_ptr.saturating_add(size));
        }
    }
    Some(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_and_refuses_java_classes() {
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Some(Format::Elf));
        assert_eq!(sniff(b"\xcf\xfa\xed\xfe"), Some(Format::MachO));
        assert_eq!(sniff(b"\xfe\xed\xfa\xce"), Some(Format::MachO));
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\0\0\0\x02"), Some(Format::FatMachO));
        // Java 8 class file: major version 52.
        assert_eq!(sniff(b"\xca\xfe\xba\xbe\0\0\0\x34"), None);
        assert_eq!(sniff(b"MZ\x90\0"), Some(Format::Pe));
        assert_eq!(sniff(b"#!/bin/sh\n"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn view_reads_only_kept_pieces() {
        let a = [1u8, 2, 3, 4];
        let b = [9u8; 8];
        let v = View::partial(100, vec![(0, &a[..]), (50, &b[..])]);
        assert_eq!(v.get(1, 3), Some(&a[1..4]));
        assert_eq!(v.get(2, 4), None);
        assert_eq!(v.get(52, 6), Some(&b[2..8]));
        assert_eq!(v.get(10, 1), None);
        assert!(v.in_file(10, 1));
        assert!(!v.in_file(99, 2));
        assert_eq!(v.get(u64::MAX, 2), None);
        assert_eq!(v.u32(0, true), Some(0x0102_0304));
    }

    #[test]
    fn truncated_headers_give_nothing_and_never_panic() {
        for head in [
            &b"\x7fELF"[..],
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0",
            b"\xcf\xfa\xed\xfe\x07\0\0\x01",
            b"\xca\xfe\xba\xbe\0\0\0\x01\0\0\0\x07",
            b"MZ",
            b"MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xff\xff\xff\xff",
        ] {
            let images = parse(&View::whole(head));
            assert!(images.iter().all(|i| i.segments.is_empty()), "{head:?}");
        }
    }
}
