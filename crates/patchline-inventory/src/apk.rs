//! apk: Alpine, Wolfi, Chainguard.
//!
//! Reads `lib/apk/db/installed`, apk-tools' text database: one record per installed
//! package, records separated by blank lines, each line a one-letter key, a colon and the
//! value (`P:musl`). Only the package's own lines matter here: `P` name, `V` version,
//! `A` architecture, `o` origin (the aport the package was built from, i.e. its source
//! package), `L` license, `m` maintainer. Of the file lists, `F:` (a folder, relative to
//! the root) and the `R:` lines after it (its files) give the files the package owns:
//! those a language extractor reads ([`crate::owned::interesting`]) are kept, joined, in
//! [`Extracted::owned`]; the rest, with the checksums and modes (`Z`, `a`, `M`), is
//! dropped while the record streams. Files of a record that gives no package are not kept.
//!
//! Choices: the source version is the package version (apk builds every subpackage of
//! an origin at the origin's version); without `o:` the source is the package itself.
//! The `L:` value is kept whole as one license entry: newer packages carry an SPDX
//! expression (`( Apache-2.0 OR MIT ) AND MPL-2.0`), older ones a space-separated list
//! (`MIT BSD GPL2+`) that is no valid expression, and splitting either would lose what
//! the packager wrote; the SBOM writers decide how to render it.
//!
//! Quirks handled: CRLF line ends, runs of blank lines, a record reduced to a lone `P:`
//! line (skipped with a warning, as Trivy does), non-UTF-8 bytes in values (read
//! lossily). Lines that are not `X:value` are ignored with one warning per record; a file
//! in which no record has a `P:` line while some lines are not `X:value` is not an apk
//! database, which is an error. Work is linear in the input; the file is streamed, one
//! record (without its file lists) in memory at a time, charged to the inventory's
//! memory budget with the packages kept; warnings are capped.

use patchline_model::{Ecosystem, Package};

use std::io::{BufRead, BufReader, Read};

use crate::extract::{
    charge, charge_owned, lines, paragraphs, quoted, snippet, trim, Budget, CappedWarnings,
    Charged, ExtractError, Extracted, Extractor,
};
use crate::owned::{interesting, normalize};

/// The apk installed-database extractor.
pub struct Apk;

const INSTALLED: &str = "lib/apk/db/installed";

impl Extractor for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, path: &str) -> bool {
        path == INSTALLED
    }

    fn locations(&self) -> Vec<String> {
        vec![INSTALLED.into()]
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        parse_installed(path, content)
    }

    fn extract_from(
        &self,
        path: &str,
        _size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        parse_installed_from(
            path,
            &mut BufReader::with_capacity(64 << 10, content),
            budget,
        )
    }
}

/// Reads the packages of an apk `installed` database. `path` is recorded as each
/// package's `db_path` and names the file in errors.
pub fn parse_installed(path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
    parse_installed_from(path, &mut &content[..], &Budget::unlimited())
}

/// The file lists (`F:` folders, `R:` files, `Z:` checksums, `a:`/`M:` modes) are most
/// of a record: only their key is kept while streaming, except that an `R:` line whose
/// file is [`interesting`] is kept as `R:` and the file's whole path (its folder joined).
#[derive(Default)]
struct FileLists {
    /// The current `F:` value; file lines come last in a record, so any other line
    /// ends the folder.
    folder: Vec<u8>,
}

impl FileLists {
    fn keep(&mut self, line: &[u8], para: &mut Vec<u8>) {
        match line {
            [b'F', b':', folder @ ..] => {
                self.folder.clear();
                self.folder
                    .extend_from_slice(folder.strip_suffix(b"\r").unwrap_or(folder));
                para.extend_from_slice(b"F:");
            }
            [b'R', b':', name @ ..] => {
                para.extend_from_slice(b"R:");
                let name = name.strip_suffix(b"\r").unwrap_or(name);
                let joined = [&self.folder[..], b"/", name].concat();
                if let Some(path) = std::str::from_utf8(&joined).ok().and_then(normalize) {
                    if interesting(&path) {
                        para.extend_from_slice(path.as_bytes());
                    }
                }
            }
            [b'Z' | b'a' | b'M', b':', ..] => para.extend_from_slice(&line[..2]),
            _ => {
                self.folder.clear();
                para.extend_from_slice(line);
            }
        }
    }
}

/// [`parse_installed`] from a stream, holding one record (without its file lists) at a
/// time; memory is charged to `budget`.
pub fn parse_installed_from(
    path: &str,
    content: &mut dyn BufRead,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let mut parser = Parser {
        path,
        out: Extracted::default(),
        warnings: CappedWarnings::default(),
        records_with_name: 0,
        bad_lines: 0,
        first_bad_line: None,
    };
    let mut count = 0usize;
    let mut charged = Charged::default();
    let mut owned_charged = 0usize;
    let mut lists = FileLists::default();
    let keep = |line: &[u8], para: &mut Vec<u8>| lists.keep(line, para);
    paragraphs(path, content, budget, keep, |first, para| {
        let mut record = Record::default();
        for (index, raw) in para.split(|&b| b == b'\n').enumerate() {
            let line_no = first + index;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.iter().all(|&b| b == b' ' || b == b'\t') {
                if record.lines > 0 {
                    parser.finish(std::mem::take(&mut record));
                }
                continue;
            }
            if record.lines == 0 {
                count += 1;
                record.number = count;
                record.line = line_no;
            }
            record.lines += 1;

            match line {
                [key, b':', value @ ..] if key.is_ascii_graphic() && !value.contains(&0) => {
                    record.fields += 1;
                    if *key == b'R' {
                        // A kept file: its whole path (see `FileLists`).
                        if !value.is_empty() {
                            record.files.push(value);
                        }
                        continue;
                    }
                    let slot = match key {
                        b'P' => &mut record.name,
                        b'V' => &mut record.version,
                        b'A' => &mut record.arch,
                        b'o' => &mut record.origin,
                        b'L' => &mut record.license,
                        b'm' => &mut record.maintainer,
                        _ => continue,
                    };
                    // apk writes each of these once; should one repeat, the first is the
                    // package's own (file lines come after).
                    slot.get_or_insert(value);
                }
                _ => {
                    parser.bad_lines += 1;
                    if parser.first_bad_line.is_none() {
                        parser.first_bad_line = Some((line_no, snippet(line)));
                    }
                    if record.bad_lines == 0 {
                        record.first_bad_line = line_no;
                    }
                    record.bad_lines += 1;
                }
            }
        }
        if record.lines > 0 {
            parser.finish(record);
        }
        charge(path, &parser.out.packages, &mut charged, budget)?;
        charge_owned(path, &parser.out.owned, &mut owned_charged, budget)?;
        Ok(())
    })?;

    if parser.records_with_name == 0 && parser.bad_lines > 0 {
        let (line_no, snippet) = parser.first_bad_line.unwrap_or_default();
        return Err(ExtractError::new(
            path,
            format!(
                "not an apk installed database: no record has a P: line and {} lines are not \
                 'X:value' (first at line {line_no}: {snippet})",
                parser.bad_lines
            ),
        ));
    }
    parser.out.warnings = parser.warnings.finish();
    Ok(parser.out)
}

#[derive(Default)]
struct Record<'a> {
    number: usize,
    line: usize,
    lines: usize,
    fields: usize,
    bad_lines: usize,
    first_bad_line: usize,
    name: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
    license: Option<&'a [u8]>,
    maintainer: Option<&'a [u8]>,
    /// Whole paths of the interesting files.
    files: Vec<&'a [u8]>,
}

struct Parser<'p> {
    path: &'p str,
    out: Extracted,
    warnings: CappedWarnings,
    records_with_name: usize,
    bad_lines: usize,
    first_bad_line: Option<(usize, String)>,
}

impl Parser<'_> {
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn finish(&mut self, record: Record<'_>) {
        let at = format!("record {} (line {})", record.number, record.line);
        if record.fields == 0 {
            self.warn(format!(
                "{at}: no 'X:value' line, {} unreadable; skipped",
                lines(record.bad_lines)
            ));
            return;
        }
        let Some(name) = record.name.map(trim).filter(|n| !n.is_empty()) else {
            self.warn(format!("{at}: no P: (package name) line; skipped"));
            return;
        };
        self.records_with_name += 1;
        let at = format!("{at}, package {}", quoted(name));
        let name = String::from_utf8_lossy(name).into_owned();
        if record.bad_lines > 0 {
            self.warn(format!(
                "{at}: {} not in 'X:value' form ignored (first at line {})",
                lines(record.bad_lines),
                record.first_bad_line
            ));
        }
        if name.chars().any(char::is_whitespace) {
            self.warn(format!("{at}: package name has spaces; skipped"));
            return;
        }
        let Some(version) = record.version.map(trim).filter(|v| !v.is_empty()) else {
            self.warn(format!("{at}: no V: (version) line; skipped"));
            return;
        };
        let version_bytes = version;
        let version = String::from_utf8_lossy(version).into_owned();
        if version.chars().any(char::is_whitespace) {
            self.warn(format!(
                "{at}: version {} has spaces; skipped",
                quoted(version_bytes)
            ));
            return;
        }

        let mut pkg = Package::new(Ecosystem::Apk, name, version);
        pkg.arch = non_empty(record.arch);
        pkg.source_name = Some(non_empty(record.origin).unwrap_or_else(|| pkg.name.clone()));
        pkg.source_version = Some(pkg.version.clone());
        pkg.licenses = non_empty(record.license).into_iter().collect();
        pkg.maintainer = non_empty(record.maintainer);
        pkg.db_path = self.path.to_string();
        self.out.owned.extend(
            record
                .files
                .iter()
                .map(|f| (String::from_utf8_lossy(f).into_owned(), pkg.name.clone())),
        );
        self.out.packages.push(pkg);
    }
}

fn non_empty(value: Option<&[u8]>) -> Option<String> {
    value
        .map(trim)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lists_do_not_count_against_the_budget() {
        // A package of 200,000 files: its record is some 10 MB, its kept lines a few bytes.
        let mut db = b"P:linux-firmware\nV:1-r0\nA:x86_64\n".to_vec();
        for i in 0..200_000 {
            db.extend_from_slice(
                format!("R:firmware-file-{i}\nZ:Q1abcdefghijklmnopqrstuvwxyz0123=\n").as_bytes(),
            );
        }
        db.extend_from_slice(b"\nP:musl\nV:1.2.4-r2\n");
        let budget = Budget::new(4 << 20);
        let x = parse_installed_from(INSTALLED, &mut &db[..], &budget).unwrap();
        let names: Vec<&str> = x.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["linux-firmware", "musl"]);
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert!(x.owned.is_empty());
    }

    /// As Alpine's py3-requests and a Go tool's records read (apk-tools writes folders
    /// without a leading slash, files after their folder, checksums after each file).
    #[test]
    fn folders_and_files_give_owned_paths() {
        let db = b"C:Q1abc=\nP:py3-requests\nV:2.31.0-r1\nA:noarch\no:py3-requests\n\
F:usr\nF:usr/lib\nF:usr/lib/python3.11/site-packages/requests\nR:__init__.py\nZ:Q1x=\n\
F:usr/lib/python3.11/site-packages/requests-2.31.0.dist-info\r\nR:METADATA\r\nZ:Q1y=\n\
R:RECORD\na:0:0:644\nR:top_level.txt\n\
\n\
P:crane\nV:0.19.1-r0\nR:ignored-without-folder\nF:usr/bin\nR:crane\nM:0:0:755\nR:gcrane\n\
\n\
P:broken\nF:usr/bin\nR:tool\n\
\n\
P:rootfile\nV:1-r0\nF:\nR:package.json\n";
        let x = parse_installed(INSTALLED, db).unwrap();
        let names: Vec<&str> = x.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["py3-requests", "crane", "rootfile"]);
        let owned: Vec<(&str, &str)> = x
            .owned
            .iter()
            .map(|(p, n)| (p.as_str(), n.as_str()))
            .collect();
        assert_eq!(
            owned,
            [
                (
                    "usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
                    "py3-requests"
                ),
                ("usr/bin/crane", "crane"),
                ("usr/bin/gcrane", "crane"),
                ("package.json", "rootfile"),
            ]
        );
        // The record without a version gives no package, and its files no owner.
        assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
        assert!(x.warnings[0].contains("no V: (version) line"));
    }
}
