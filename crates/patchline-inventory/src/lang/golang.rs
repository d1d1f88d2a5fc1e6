//! Go modules compiled into a Go executable, read from its build info (Go 1.13 and
//! later), OSV ecosystem `Go`.
//!
//! The linker writes a 32-byte header, 16-byte aligned, at the start of the
//! `.go.buildinfo` section (ELF), `__go_buildinfo` (Mach-O) or the data section (PE):
//!
//! ```text
//! "\xff Go buildinf:"  14 bytes
//! pointer size         1 byte (4 or 8)
//! flags                1 byte: bit 0 big-endian, bit 1 the strings follow inline
//! ```
//!
//! * **Inline format** (Go 1.18 and later, flag bit 1): from offset 32, the toolchain
//!   version and the module information, each a uvarint length and that many bytes.
//! * **Pointer format** (Go 1.13 to 1.17): at offsets 16 and 16 + pointer size, the
//!   addresses of two Go string headers (data pointer, length), which point elsewhere in
//!   the image (typically `.rodata`, before the header). Reading them means mapping
//!   addresses through the segments, i.e. random access to the whole file.
//!
//! The module information is wrapped in two 16-byte sentinels, then is lines of
//! tab-separated fields: `path` (the main package), `mod` (the main module: path,
//! version, sum), `dep` (a dependency), `=>` (the replacement of the line before),
//! `build` (settings). As the go command, a text without the sentinels counts as no
//! module information (a binary built outside module mode, like Debian's Go programs,
//! has the toolchain version only).
//!
//! Packages, as osv-scalibr's Go-binary extractor reports them (its test expectations
//! are the oracle, `tests/golang.rs`):
//!
//! * the main module (`mod`), with its version: `(devel)` for a build from a checkout
//!   (kept as is: it matches no advisory range, and shows the module is there);
//! * every `dep`, or its replacement when it has one: the replacement is what was
//!   compiled in. A replacement by a local directory (`=> ./fork (devel)`) is left
//!   out: its path is no module and it has no version to match (osv-scalibr lists
//!   the directory as a package);
//! * the toolchain as `stdlib`, the name OSV's Go advisories give the standard library
//!   (osv-scalibr calls it `go`), with the version's first word without `go`:
//!   `go1.22.1 X:boringcrypto` is `1.22.1`. A pre-release toolchain's tag is written as
//!   the Go vulnerability database writes it (its `GoTagToSemver`): `go1.21rc2` is
//!   `1.21.0-rc.2`, `go1.19beta1` `1.19.0-beta.1`, so that its ranges
//!   (`introduced: 1.21.0-0`) hold it; `devel` builds are kept as they are;
//! * module versions lose their leading `v` (OSV's Go ranges are written without it).
//!
//! Finding the header and keeping the bytes is the binary extractor's work
//! ([`crate::lang::binary`]); this module decodes what it kept.

use patchline_model::{Ecosystem, Package};

use super::objfile::{Image, View};
use crate::extract::{quoted, CappedWarnings};

/// The start of the build info header.
pub(crate) const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The header's size and alignment.
pub(crate) const HEADER: u64 = 32;
pub(crate) const ALIGN: u64 = 16;
/// The longest toolchain version read (`go1.22.1 X:boringcrypto,nocoverageredesign`).
const MAX_VERSION: u64 = 1 << 10;
/// The longest module information read: a large program (Kubernetes) has about 30 KB.
pub(crate) const MAX_MODINFO: u64 = 1 << 20;
/// What a streaming read keeps after a header for the inline format: both lengths
/// (10 bytes each at most) and both strings.
pub(crate) const INLINE_WINDOW: u64 = HEADER + 20 + MAX_VERSION + MAX_MODINFO;

const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;

/// What reading one build info header gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not a build info header after all (the magic in some other data).
    NotOurs,
    /// Read: the toolchain version and the module information.
    Read { version: Vec<u8>, modinfo: Vec<u8> },
    /// A build info header whose strings cannot be read: the reason.
    Broken(String),
    /// A pointer-format header whose strings lie in parts of the file not kept.
    NotKept,
}

/// Reads the header at file offset `at`, with `image` (when the headers were readable)
/// to map the pointer format's addresses.
pub(crate) fn read_header(view: &View<'_>, at: u64, image: Option<&Image>) -> Outcome {
    let Some(h) = view.get(at, HEADER) else {
        return if view.in_file(at, HEADER) {
            Outcome::NotKept
        } else {
            Outcome::Broken(format!(
                "Go build info header at {at:#x} is cut short by the end of the file"
            ))
        };
    };
    if &h[..14] != MAGIC {
        return Outcome::NotOurs;
    }
    let ptr_size = h[14];
    let flags = h[15];
    if flags & FLAG_INLINE != 0 {
        return inline(view, at);
    }
    if ptr_size != 4 && ptr_size != 8 {
        return Outcome::NotOurs;
    }
    let big = flags & FLAG_BIG_ENDIAN != 0;
    let Some(image) = image else {
        return Outcome::Broken(format!(
            "Go build info at {at:#x} is in the pointer format (Go < 1.18), but the \
             file's segments could not be read to follow its pointers"
        ));
    };
    let word = |b: &[u8]| -> u64 {
        match (ptr_size, big) {
            (4, false) => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            (4, true) => u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            (_, false) => u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
            (_, true) => u64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])),
        }
    };
    let p = usize::from(ptr_size);
    let version_at = word(&h[16..16 + p]);
    let modinfo_at = word(&h[16 + p..16 + 2 * p]);
    let string = |addr: u64, what: &str, max: u64| -> Result<Vec<u8>, Outcome> {
        let n = u64::from(ptr_size);
        let bogus = |a: u64| {
            Outcome::Broken(format!(
                "Go build info at {at:#x}: the {what} pointer {a:#x} is outside the file's segments"
            ))
        };
        let hdr_off = image.offset_of(addr, 2 * n).ok_or_else(|| bogus(addr))?;
        let hdr = view
            .get(hdr_off, 2 * n)
            .ok_or_else(|| kept_or_cut(view, hdr_off, 2 * n))?;
        let (data, len) = (word(&hdr[..p]), word(&hdr[p..2 * p]));
        if len > max {
            return Err(Outcome::Broken(format!(
                "Go build info at {at:#x}: the {what} is {len} bytes long, over the limit of {max}"
            )));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let off = image.offset_of(data, len).ok_or_else(|| bogus(data))?;
        let bytes = view
            .get(off, len)
            .ok_or_else(|| kept_or_cut(view, off, len))?;
        Ok(bytes.to_vec())
    };
    let version = match string(version_at, "version", MAX_VERSION) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let modinfo = match string(modinfo_at, "module information", MAX_MODINFO) {
        Ok(m) => m,
        Err(o) => return o,
    };
    Outcome::Read { version, modinfo }
}

fn kept_or_cut(view: &View<'_>, off: u64, n: u64) -> Outcome {
    if view.in_file(off, n) {
        Outcome::NotKept
    } else {
        Outcome::Broken(format!(
            "Go build info points past the end of the file ({n} bytes at {off:#x})"
        ))
    }
}

fn inline(view: &View<'_>, at: u64) -> Outcome {
    let mut pos = at + HEADER;
    let mut next = |what: &str, max: u64| -> Result<Vec<u8>, Outcome> {
        let (len, used) = uvarint(view, pos).map_err(|e| {
            Outcome::Broken(format!(
                "Go build info at {at:#x}: the length of the {what} {e}"
            ))
        })?;
        if len > max {
            return Err(Outcome::Broken(format!(
                "Go build info at {at:#x}: the {what} is {len} bytes long, over the limit of {max}"
            )));
        }
        let start = pos + used;
        let bytes = view.get(start, len).ok_or_else(|| {
            if view.in_file(start, len) {
                Outcome::NotKept
            } else {
                Outcome::Broken(format!(
                    "Go build info at {at:#x}: the {what} ({len} bytes) is cut short by the end of the file"
                ))
            }
        })?;
        pos = start + len;
        Ok(bytes.to_vec())
    };
    let version = match next("version", MAX_VERSION) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let modinfo = match next("module information", MAX_MODINFO) {
        Ok(m) => m,
        Err(o) => return o,
    };
    Outcome::Read { version, modinfo }
}

/// An unsigned LEB128 length at `pos`: (value, bytes used).
fn uvarint(view: &View<'_>, pos: u64) -> Result<(u64, u64), &'static str> {
    let mut value: u64 = 0;
    for i in 0..10u64 {
        let Some(b) = view.get(pos + i, 1) else {
            return Err("is cut short");
        };
        let b = b[0];
        if i == 9 && b > 1 {
            return Err("overflows 64 bits");
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("overflows 64 bits")
}

/// The packages of a build info's version and module information.
pub(crate) fn packages(
    path: &str,
    version: &[u8],
    modinfo: &[u8],
    warnings: &mut CappedWarnings,
) -> Vec<Package> {
    let mut out = Vec::new();
    let pkg = |name: &str, version: &str| {
        let mut p = Package::new(Ecosystem::Golang, name, version);
        p.db_path = path.to_string();
        p
    };
    let version = String::from_utf8_lossy(version);
    let toolchain = stdlib_version(
        version
            .split(' ')
            .next()
            .unwrap_or("")
            .trim_start_matches("go"),
    );
    if version.trim().is_empty() {
        warnings.push("Go build info has an empty toolchain version".to_string());
    }

    // The sentinels are 16 bytes each, the text ends with a newline.
    let text = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[][..]
    };
    let text = String::from_utf8_lossy(text);
    /// A module path and version.
    type Module = (String, String);
    let mut main: Option<Module> = None;
    // Each dependency and its replacement, in order.
    let mut deps: Vec<(Module, Option<Module>)> = Vec::new();
    // Which the last `mod` or `dep` line was, for `=>`.
    let mut last_is_main = None;
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        if line.is_empty() {
            continue;
        }
        let (kind, rest) = line.split_once('\t').unwrap_or((line, ""));
        let fields: Vec<&str> = rest.split('\t').collect();
        let module = || -> Option<Module> {
            match fields.as_slice() {
                [p, v] | [p, v, _] if !p.is_empty() => Some((p.to_string(), v.to_string())),
                _ => None,
            }
        };
        match kind {
            "path" | "build" | "go" => {}
            "mod" | "dep" => {
                let Some(m) = module() else {
                    last_is_main = None;
                    warnings.push(format!(
                        "Go module information line {line_no}: {kind} line without a module path and version: {}",
                        quoted(line.as_bytes())
                    ));
                    continue;
                };
                if kind == "mod" {
                    main = Some(m);
                    last_is_main = Some(true);
                } else {
                    deps.push((m, None));
                    last_is_main = Some(false);
                }
            }
            "=>" => {
                let (Some(m), [_, _, _]) = (module(), fields.as_slice()) else {
                    warnings.push(format!(
                        "Go module information line {line_no}: replacement without path, version and sum: {}",
                        quoted(line.as_bytes())
                    ));
                    continue;
                };
                match last_is_main {
                    // A replaced main module is still the module being built.
                    Some(true) => {}
                    Some(false) => {
                        if let Some(d) = deps.last_mut() {
                            d.1 = Some(m);
                        }
                    }
                    None => warnings.push(format!(
                        "Go module information line {line_no}: replacement with no module before it"
                    )),
                }
                last_is_main = None;
            }
            _ => warnings.push(format!(
                "Go module information line {line_no}: unknown line {}",
                quoted(line.as_bytes())
            )),
        }
    }

    if let Some((p, v)) = main {
        if !v.is_empty() {
            out.push(pkg(&p, v.strip_prefix('v').unwrap_or(&v)));
        }
    }
    for ((p, v), rep) in deps {
        let (p, v) = match rep {
            // A local directory: nothing to match (see the module doc).
            Some((rp, _)) if is_directory(&rp) => continue,
            Some(r) => r,
            None => (p, v),
        };
        if v.is_empty() {
            warnings.push(format!(
                "Go module information: dependency {} has no version",
                quoted(p.as_bytes())
            ));
            continue;
        }
        out.push(pkg(&p, v.strip_prefix('v').unwrap_or(&v)));
    }
    if !toolchain.is_empty() {
        out.push(pkg("stdlib", &toolchain));
    }
    out
}

/// Whether a replacement path names a directory rather than a module, as `go.mod`
/// tells them apart: relative (`./x`, `../x`, either slash) or absolute (`/x`, `C:\x`).
fn is_directory(path: &str) -> bool {
    let b = path.as_bytes();
    path == "."
        || path == ".."
        || ["./", "../", ".\\", "..\\", "/", "\\"]
            .iter()
            .any(|p| path.starts_with(p))
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// A Go release tag without its `go` as the Go vulnerability database writes versions:
/// a pre-release (`1.21rc2`, `1.19beta1`, `1.14alpha1`) becomes
/// `MAJOR.MINOR.PATCH-KIND.N`; anything else is returned as it is.
pub fn stdlib_version(tag: &str) -> String {
    let Some(at) = ["alpha", "beta", "rc"]
        .iter()
        .filter_map(|k| tag.find(k).map(|i| (i, *k)))
        .min()
    else {
        return tag.to_string();
    };
    let (release, kind) = (&tag[..at.0], at.1);
    let n = &tag[at.0 + kind.len()..];
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = release.split('.').collect();
    if !numeric(n) || !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| numeric(p)) {
        return tag.to_string();
    }
    let patch = parts.get(2).copied().unwrap_or("0");
    format!("{}.{}.{patch}-{kind}.{n}", parts[0], parts[1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn pre_release_toolchains_as_the_go_vulnerability_database_writes_them() {
        for (tag, want) in [
            ("1.21rc2", "1.21.0-rc.2"),
            ("1.19beta1", "1.19.0-beta.1"),
            ("1.14alpha1", "1.14.0-alpha.1"),
            ("1.22.1", "1.22.1"),
            ("1.20", "1.20"),
            ("devel", "devel"),
            ("1.21rc", "1.21rc"),
            ("1.21rcx", "1.21rcx"),
            ("rc1", "rc1"),
            ("1.x.2rc1", "1.x.2rc1"),
            ("", ""),
        ] {
            assert_eq!(super::stdlib_version(tag), want, "{tag}");
        }
    }

    use super::*;

    fn wrap(text: &str) -> Vec<u8> {
        let mut m = vec![0x30u8; 16];
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(&[0xf9u8; 16]);
        m
    }

    fn names(pkgs: &[Package]) -> Vec<(String, String)> {
        pkgs.iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn modinfo_with_replacements() {
        let mut w = CappedWarnings::default();
        let m = wrap(
            "path\texample.com/cmd/x\nmod\texample.com\t(devel)\t\n\
             dep\tgolang.org/x/xerrors\tv0.0.0-2022\n=>\tgithub.com/golang/xerrors\tv0.0.0-2022\th1:abc=\n\
             dep\texample.com/local\tv1.0.0\n=>\t../local\t\t\n\
             dep\texample.com/fork\tv0.0.0\n=>\t./fork\t(devel)\t\n\
             dep\texample.com/win\tv0.0.0\n=>\tC:\\src\\win\t(devel)\t\n\
             dep\tgithub.com/a/b\tv1.2.3\th1:x=\n\
             build\tGOOS=linux\n",
        );
        let p = packages("bin/x", b"go1.22.1 X:boringcrypto", &m, &mut w);
        assert_eq!(
            names(&p),
            [
                ("example.com".into(), "(devel)".into()),
                ("github.com/golang/xerrors".into(), "0.0.0-2022".into()),
                ("github.com/a/b".into(), "1.2.3".into()),
                ("stdlib".into(), "1.22.1".into()),
            ]
        );
        assert!(p.iter().all(|p| p.db_path == "bin/x"));
        assert!(w.finish().is_empty());
    }

    #[test]
    fn no_sentinels_means_no_module_information() {
        let mut w = CappedWarnings::default();
        let p = packages("x", b"go1.19.8", b"mod\ta\tv1\n", &mut w);
        assert_eq!(names(&p), [("stdlib".into(), "1.19.8".into())]);
    }

    #[test]
    fn bad_lines_are_warned_and_skipped() {
        let mut w = CappedWarnings::default();
        let m = wrap("dep\t\nzzz\tq\n=>\ta\tb\tc\ndep\tok\tv2.0.0+incompatible\n");
        let p = packages("x", b"", &m, &mut w);
        assert_eq!(names(&p), [("ok".into(), "2.0.0+incompatible".into())]);
        let w = w.finish();
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(w[0].contains("empty toolchain version"), "{w:?}");
        assert!(w[1].contains("line 1"), "{w:?}");
        assert!(w[2].contains("unknown line"), "{w:?}");
        assert!(w[3].contains("no module before it"), "{w:?}");
    }

    fn inline_header(version: &[u8], modinfo: &[u8]) -> Vec<u8> {
        let mut d = MAGIC.to_vec();
        d.extend_from_slice(&[8, FLAG_INLINE]);
        d.resize(32, 0);
        for s in [version, modinfo] {
            let mut n = s.len() as u64;
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    d.push(b);
                    break;
                }
                d.push(b | 0x80);
            }
            d.extend_from_slice(s);
        }
        d
    }

    #[test]
    fn inline_header_reads_both_strings() {
        let m = wrap("mod\ta\tv1.0.0\t\n");
        let d = inline_header(b"go1.22.0", &m);
        let got = read_header(&View::whole(&d), 0, None);
        assert_eq!(
            got,
            Outcome::Read {
                version: b"go1.22.0".to_vec(),
                modinfo: m
            }
        );
    }

    #[test]
    fn inline_truncated_and_huge_lengths_are_broken() {
        let d = inline_header(b"go1.22.0", &wrap("mod\ta\tv1\t\n"));
        let cut = &d[..d.len() - 5];
        let Outcome::Broken(e) = read_header(&View::whole(cut), 0, None) else {
            panic!()
        };
        assert!(e.contains("cut short by the end of the file"), "{e}");

        let mut huge = d[..32].to_vec();
        huge.extend_from_slice(&[0xff; 9]);
        huge.push(0x01);
        let Outcome::Broken(e) = read_header(&View::whole(&huge), 0, None) else {
            panic!()
        };
        assert!(e.contains("over the limit"), "{e}");

        let mut over = d[..32].to_vec();
        over.extend_from_slice(&[0xff; 10]);
        let Outcome::Broken(e) = read_header(&View::whole(&over), 0, None) else {
            panic!()
        };
        assert!(e.contains("overflows"), "{e}");

        let Outcome::Broken(e) = read_header(&View::whole(&d[..20]), 0, None) else {
            panic!()
        };
        assert!(e.contains("header"), "{e}");
    }

    #[test]
    fn a_bad_pointer_size_is_not_a_header() {
        let mut d = MAGIC.to_vec();
        d.extend_from_slice(&[b'x', 0]);
        d.resize(64, 0);
        assert_eq!(read_header(&View::whole(&d), 0, None), Outcome::NotOurs);
    }
}
