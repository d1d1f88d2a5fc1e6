//! dpkg: Debian, Ubuntu and derivatives.
//!
//! Reads `var/lib/dpkg/status` and the per-package files of distroless images in
//! `var/lib/dpkg/status.d/` (one or more stanzas each, the `*.md5sums` and similar
//! companions are not stanza files and are not wanted).
//!
//! The format is deb822: stanzas of `Field: value` lines separated by blank lines, a line
//! starting with a space or tab continuing the previous field. Quirks handled, because real
//! images have them: CRLF line ends, a UTF-8 byte-order mark, runs of blank (or
//! whitespace-only) lines, field names in any case, descriptions and maintainers in
//! Latin-1 or other non-UTF-8 bytes (read lossily: only names and versions must be ASCII).
//!
//! Which packages are listed. dpkg keeps removed packages in the database; a package is
//! listed when its `Status:` state says some of its files are on disk, i.e. every state
//! except `not-installed` and `config-files` (only conffiles left). This is what
//! `dpkg-query -W` lists, minus the `config-files` leftovers that hold no code, and it
//! matches Trivy's `deinstall ok config-files` exclusion. It differs on purpose from Trivy,
//! which also drops installed packages merely marked for removal (`deinstall ok
//! installed`): their files are still there. It differs from osv-scalibr, which keeps
//! only the `installed` state: an `unpacked` or `half-configured` package's files are
//! just as present. A stanza without `Status:` is listed: distroless `status.d` files
//! are written from the package's control file and never carry one (dpkg itself would
//! call such a stanza not-installed, but dpkg never writes one).
//!
//! What is skipped, with a warning naming the stanza: no `Package:`, no `Version:`, a
//! package name or version dpkg would reject (empty epoch, empty revision, characters
//! outside dpkg's set). Trivy skips the same invalid versions. A version not starting with
//! a digit is kept: dpkg only warns about it and compares it fine. Lines that are not
//! `Field: value` are ignored with one warning per stanza (dpkg would refuse the whole
//! database; dropping every package for one corrupt description line helps nobody).
//! A file in which no stanza even has a `Package:` field while some lines are not
//! `Field: value` (binary data, an md5sums list) is not a status file: that is an error.
//!
//! Work is linear in the input; memory is one stanza plus the packages kept (fields are
//! borrowed slices of the stanza, one `Package` per stanza at most, warnings capped), all
//! charged to the inventory's memory budget: the file is streamed, never held whole.

use patchline_model::{Ecosystem, Package};

use std::io::{BufRead, BufReader, Read};

use crate::extract::{
    charge, lines, paragraphs, quoted, snippet, trim, Budget, CappedWarnings, Charged,
    ExtractError, Extracted, Extractor,
};

/// The dpkg database extractor.
pub struct Dpkg;

const STATUS_FILE: &str = "var/lib/dpkg/status";
const STATUS_DIR: &str = "var/lib/dpkg/status.d/";

/// Companion files found next to the stanza files in `status.d` directories, or left by
/// dpkg and editors; none holds stanzas.
const NON_STANZA_SUFFIXES: &[&str] = &[
    ".md5sums",
    ".sha256sums",
    ".list",
    ".conffiles",
    ".triggers",
    ".shlibs",
    ".symbols",
    ".templates",
    ".preinst",
    ".postinst",
    ".prerm",
    ".postrm",
    ".dpkg-old",
    ".dpkg-new",
    ".dpkg-tmp",
    ".dpkg-dist",
    ".dpkg-bak",
    "~",
];

impl Extractor for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn locations(&self) -> Vec<String> {
        vec![STATUS_FILE.into(), STATUS_DIR.into()]
    }

    fn wants(&self, path: &str) -> bool {
        if path == STATUS_FILE {
            return true;
        }
        match path.strip_prefix(STATUS_DIR) {
            Some(file) => {
                !file.is_empty()
                    && !file.contains('/')
                    && !file.starts_with('.')
                    && !NON_STANZA_SUFFIXES.iter().any(|s| file.ends_with(s))
            }
            None => false,
        }
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        parse_status(path, content)
    }

    fn extract_from(
        &self,
        path: &str,
        _size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        parse_status_from(
            path,
            &mut BufReader::with_capacity(64 << 10, content),
            budget,
        )
    }
}

/// Reads the packages of a dpkg status file (or one `status.d` file). `path` is recorded
/// as each package's `db_path` and names the file in errors.
pub fn parse_status(path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
    parse_status_from(path, &mut &content[..], &Budget::unlimited())
}

/// [`parse_status`] from a stream, holding one stanza at a time: memory is the packages
/// kept plus the longest stanza, both charged to `budget`.
pub fn parse_status_from(
    path: &str,
    content: &mut dyn BufRead,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let mut parser = Parser {
        path,
        out: Extracted::default(),
        warnings: CappedWarnings::default(),
        stanzas_with_package: 0,
        bad_lines: 0,
        first_bad_line: None,
    };
    let mut stanza_count = 0usize;
    let mut charged = Charged::default();
    paragraphs(
        path,
        content,
        budget,
        |l, para| para.extend_from_slice(l),
        |first, para| {
            let mut stanza = Stanza::default();
            for (index, raw) in para.split(|&b| b == b'\n').enumerate() {
                let line_no = first + index;
                let line = raw.strip_suffix(b"\r").unwrap_or(raw);

                if line.iter().all(|&b| b == b' ' || b == b'\t') {
                    if stanza.started() {
                        parser.finish(std::mem::take(&mut stanza));
                    }
                    continue;
                }
                if !stanza.started() {
                    stanza_count += 1;
                    stanza.number = stanza_count;
                    stanza.line = line_no;
                }
                stanza.lines += 1;

                if line.contains(&0) {
                    parser.bad_line(&mut stanza, line_no, line);
                    continue;
                }
                if line[0] == b'#' {
                    // deb822 comment; dpkg never writes them but hand-made status.d files may.
                    continue;
                }
                if line[0] == b' ' || line[0] == b'\t' {
                    if !stanza.in_field {
                        parser.bad_line(&mut stanza, line_no, line);
                    } else if let Some(slot) = stanza.last {
                        stanza.mark_multiline(slot);
                    }
                    continue;
                }
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    parser.bad_line(&mut stanza, line_no, line);
                    continue;
                };
                let name = &line[..colon];
                if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
                    parser.bad_line(&mut stanza, line_no, line);
                    continue;
                }
                let value = trim(&line[colon + 1..]);
                stanza.fields += 1;
                stanza.in_field = true;
                stanza.last = Slot::of(name);
                if let Some(slot) = stanza.last {
                    let field = stanza.slot_mut(slot);
                    if field.is_some() {
                        stanza.duplicate.get_or_insert(slot.name());
                    } else {
                        *field = Some(Field {
                            value,
                            multiline: false,
                        });
                    }
                }
            }
            if stanza.started() {
                parser.finish(stanza);
            }
            charge(path, &parser.out.packages, &mut charged, budget)?;
            Ok(())
        },
    )?;

    if parser.stanzas_with_package == 0 && parser.bad_lines > 0 {
        let (line_no, snippet) = parser.first_bad_line.unwrap_or_default();
        return Err(ExtractError::new(
            path,
            format!(
                "not a dpkg status file: no stanza has a Package field and {} lines are not \
                 'Field: value' (first at line {line_no}: {snippet})",
                parser.bad_lines
            ),
        ));
    }
    parser.out.warnings = parser.warnings.finish();
    Ok(parser.out)
}

#[derive(Clone, Copy)]
struct Field<'a> {
    value: &'a [u8],
    multiline: bool,
}

/// The fields an inventory needs; the others are only checked for form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Package,
    Version,
    Architecture,
    Source,
    Maintainer,
    Status,
}

impl Slot {
    fn of(name: &[u8]) -> Option<Slot> {
        // deb822 field names are case-insensitive.
        const SLOTS: [(&str, Slot); 6] = [
            ("package", Slot::Package),
            ("version", Slot::Version),
            ("architecture", Slot::Architecture),
            ("source", Slot::Source),
            ("maintainer", Slot::Maintainer),
            ("status", Slot::Status),
        ];
        SLOTS
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()))
            .map(|&(_, s)| s)
    }

    fn name(self) -> &'static str {
        match self {
            Slot::Package => "Package",
            Slot::Version => "Version",
            Slot::Architecture => "Architecture",
            Slot::Source => "Source",
            Slot::Maintainer => "Maintainer",
            Slot::Status => "Status",
        }
    }
}

#[derive(Default)]
struct Stanza<'a> {
    /// 1-based position in the file, counting every stanza.
    number: usize,
    /// Line where the stanza starts.
    line: usize,
    lines: usize,
    fields: usize,
    bad_lines: usize,
    first_bad_line: usize,
    /// A field has been seen, so an indented line continues it.
    in_field: bool,
    /// The field being continued, when it is one this extractor reads.
    last: Option<Slot>,
    duplicate: Option<&'static str>,
    package: Option<Field<'a>>,
    version: Option<Field<'a>>,
    architecture: Option<Field<'a>>,
    source: Option<Field<'a>>,
    maintainer: Option<Field<'a>>,
    status: Option<Field<'a>>,
}

impl<'a> Stanza<'a> {
    fn started(&self) -> bool {
        self.lines > 0
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut Option<Field<'a>> {
        match slot {
            Slot::Package => &mut self.package,
            Slot::Version => &mut self.version,
            Slot::Architecture => &mut self.architecture,
            Slot::Source => &mut self.source,
            Slot::Maintainer => &mut self.maintainer,
            Slot::Status => &mut self.status,
        }
    }

    fn mark_multiline(&mut self, slot: Slot) {
        if let Some(f) = self.slot_mut(slot) {
            f.multiline = true;
        }
    }
}

struct Parser<'p> {
    path: &'p str,
    out: Extracted,
    warnings: CappedWarnings,
    stanzas_with_package: usize,
    bad_lines: usize,
    first_bad_line: Option<(usize, String)>,
}

impl Parser<'_> {
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn bad_line(&mut self, stanza: &mut Stanza<'_>, line_no: usize, line: &[u8]) {
        self.bad_lines += 1;
        if self.first_bad_line.is_none() {
            self.first_bad_line = Some((line_no, snippet(line)));
        }
        if stanza.bad_lines == 0 {
            stanza.first_bad_line = line_no;
        }
        stanza.bad_lines += 1;
    }

    fn finish(&mut self, stanza: Stanza<'_>) {
        let at = format!("stanza {} (line {})", stanza.number, stanza.line);
        if stanza.fields == 0 {
            if stanza.bad_lines > 0 {
                self.warn(format!(
                    "{at}: no 'Field: value' line, {} unreadable; skipped",
                    lines(stanza.bad_lines)
                ));
            }
            return;
        }
        let Some(package) = stanza.package else {
            self.warn(format!("{at}: no Package field; skipped"));
            return;
        };
        self.stanzas_with_package += 1;
        let name = String::from_utf8_lossy(package.value);
        let at = format!("{at}, package {}", quoted(package.value));
        if stanza.bad_lines > 0 {
            self.warn(format!(
                "{at}: {} not in 'Field: value' form ignored (first at line {})",
                lines(stanza.bad_lines),
                stanza.first_bad_line
            ));
        }
        if let Some(field) = stanza.duplicate {
            self.warn(format!("{at}: {field} field repeated; first value kept"));
        }
        for (slot, field) in [
            (Slot::Package, stanza.package),
            (Slot::Version, stanza.version),
            (Slot::Architecture, stanza.architecture),
            (Slot::Source, stanza.source),
            (Slot::Status, stanza.status),
        ] {
            if field.is_some_and(|f| f.multiline) {
                self.warn(format!(
                    "{at}: {} field continues on several lines; skipped",
                    slot.name()
                ));
                return;
            }
        }
        if !valid_package_name(package.value) {
            self.warn(format!("{at}: invalid package name; skipped"));
            return;
        }

        if let Some(status) = stanza.status {
            match classify_status(status.value) {
                Presence::Present => {}
                Presence::Gone => return,
                Presence::Unknown => self.warn(format!(
                    "{at}: unrecognised Status {}; listed as installed",
                    quoted(status.value)
                )),
            }
        }

        let Some(version) = stanza.version else {
            self.warn(format!("{at}: no Version field; skipped"));
            return;
        };
        let version_str = String::from_utf8_lossy(version.value);
        let epoch = match check_version(version.value) {
            Ok(epoch) => epoch,
            Err(why) => {
                self.warn(format!(
                    "{at}: Version {} {why}; skipped",
                    quoted(version.value)
                ));
                return;
            }
        };

        let mut pkg = Package::new(Ecosystem::Deb, name.into_owned(), version_str.into_owned());
        pkg.epoch = epoch;
        pkg.arch = stanza.architecture.and_then(|f| non_empty_lossy(f.value));
        pkg.maintainer = stanza.maintainer.and_then(|f| non_empty_lossy(f.value));
        pkg.db_path = self.path.to_string();

        let (source_name, source_version) = match stanza.source {
            Some(src) => self.parse_source(&at, src.value),
            None => (None, SourceVersion::Same),
        };
        pkg.source_name = Some(source_name.unwrap_or_else(|| pkg.name.clone()));
        pkg.source_version = match source_version {
            SourceVersion::Given(v) => Some(v),
            SourceVersion::Same => Some(pkg.version.clone()),
            SourceVersion::Invalid => None,
        };
        self.out.packages.push(pkg);
    }

    /// `Source: name` or `Source: name (version)`, the version given only when it differs
    /// from the binary's (binNMUs, `+b1`).
    fn parse_source(&mut self, at: &str, value: &[u8]) -> (Option<String>, SourceVersion) {
        let split = value
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(value.len());
        let (name, rest) = (&value[..split], trim(&value[split..]));
        if name.is_empty() {
            return (None, SourceVersion::Same);
        }
        if !valid_package_name(name) {
            self.warn(format!(
                "{at}: Source {} is not a valid package name; source taken as the package",
                quoted(value)
            ));
            return (None, SourceVersion::Same);
        }
        let name = Some(String::from_utf8_lossy(name).into_owned());
        if rest.is_empty() {
            return (name, SourceVersion::Same);
        }
        let inner = rest
            .strip_prefix(b"(")
            .and_then(|r| r.strip_suffix(b")"))
            .map(trim);
        match inner {
            Some(v) if check_version(v).is_ok() => (
                name,
                SourceVersion::Given(String::from_utf8_lossy(v).into_owned()),
            ),
            _ => {
                self.warn(format!(
                    "{at}: Source {} has no valid '(version)'; source version left empty",
                    quoted(value)
                ));
                (name, SourceVersion::Invalid)
            }
        }
    }
}

enum SourceVersion {
    Given(String),
    Same,
    Invalid,
}

enum Presence {
    /// Some or all of the package's files are on disk.
    Present,
    /// `not-installed` or `config-files`: no code left.
    Gone,
    Unknown,
}

/// The `Status:` field is `want flag state`; only the state tells what is on disk.
fn classify_status(value: &[u8]) -> Presence {
    let text = String::from_utf8_lossy(value);
    let words: Vec<&str> = text.split_ascii_whitespace().take(4).collect();
    let [want, flag, state] = words[..] else {
        return Presence::Unknown;
    };
    let known_want = matches!(want, "unknown" | "install" | "hold" | "deinstall" | "purge");
    let known_flag = matches!(flag, "ok" | "reinstreq" | "hold" | "hold-reinstreq");
    if !known_want || !known_flag {
        return Presence::Unknown;
    }
    match state {
        "not-installed" | "config-files" => Presence::Gone,
        "half-installed" | "unpacked" | "half-configured" | "triggers-awaited"
        | "triggers-pending" | "installed" => Presence::Present,
        _ => Presence::Unknown,
    }
}

/// dpkg's package name rule: an alphanumeric first, then alphanumerics and `-+._`.
fn valid_package_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-+._".contains(b))
        }
        None => false,
    }
}

/// Checks a version the way dpkg parses one and returns its explicit epoch. Everything
/// dpkg rejects is rejected, and so are characters outside dpkg's set (dpkg only warns
/// about those in its own database, but a version with them cannot be compared reliably).
fn check_version(v: &[u8]) -> Result<Option<u32>, &'static str> {
    if v.is_empty() {
        return Err("is empty");
    }
    if v.iter().any(|b| b.is_ascii_whitespace()) {
        return Err("has embedded spaces");
    }
    let (epoch, rest) = match v.iter().position(|&b| b == b':') {
        Some(colon) => {
            let digits = &v[..colon];
            if digits.is_empty() {
                return Err("has an empty epoch");
            }
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err("has a non-numeric epoch");
            }
            // dpkg stores the epoch in an int.
            let epoch = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|&e| e <= i32::MAX as u32)
                .ok_or("has an epoch too large")?;
            let rest = &v[colon + 1..];
            if rest.is_empty() {
                return Err("has nothing after the epoch colon");
            }
            (Some(epoch), rest)
        }
        None => (None, v),
    };
    let (upstream, revision) = match rest.iter().rposition(|&b| b == b'-') {
        Some(dash) => {
            let revision = &rest[dash + 1..];
            if revision.is_empty() {
                return Err("has an empty revision");
            }
            (&rest[..dash], Some(revision))
        }
        None => (rest, None),
    };
    if upstream.is_empty() {
        return Err("has an empty upstream version");
    }
    if !upstream
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b".-+~:".contains(b))
    {
        return Err("has an invalid character in the upstream version");
    }
    if let Some(revision) = revision {
        if !revision
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(b))
        {
            return Err("has an invalid character in the revision");
        }
    }
    Ok(epoch)
}

fn non_empty_lossy(value: &[u8]) -> Option<String> {
    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_like_dpkg() {
        assert_eq!(check_version(b"1:2.3-4"), Ok(Some(1)));
        assert_eq!(check_version(b"0:2.3"), Ok(Some(0)));
        assert_eq!(check_version(b"2.3-4ubuntu1~18.04"), Ok(None));
        assert_eq!(check_version(b"1.2-3-4"), Ok(None));
        assert_eq!(check_version(b"1:2:3-4"), Ok(Some(1)));
        assert_eq!(check_version(b"v1.0"), Ok(None));
        assert!(check_version(b"1:5.#").is_err());
        assert!(check_version(b":1.0").is_err());
        assert!(check_version(b"a:1.0").is_err());
        assert!(check_version(b"1:").is_err());
        assert!(check_version(b"1.0-").is_err());
        assert!(check_version(b"-1").is_err());
        assert!(check_version(b"1.0-a_b").is_err());
        assert!(check_version(b"99999999999:1").is_err());
        assert!(check_version(b"").is_err());
    }

    #[test]
    fn status_states() {
        assert!(matches!(
            classify_status(b"install ok installed"),
            Presence::Present
        ));
        assert!(matches!(
            classify_status(b"deinstall ok config-files"),
            Presence::Gone
        ));
        assert!(matches!(
            classify_status(b"purge ok not-installed"),
            Presence::Gone
        ));
        assert!(matches!(
            classify_status(b"install ok half-configured"),
            Presence::Present
        ));
        assert!(matches!(classify_status(b"installed"), Presence::Unknown));
        assert!(matches!(
            classify_status(b"install ok installed extra"),
            Presence::Unknown
        ));
    }
}
