//! Java archives: `.jar`, `.war`, `.ear` and their kin (`.jmod`, `.par`, `.sar`, `.jpi`,
//! `.hpi`, `.lpkg`, `.nar`), anywhere in the image, as OSV `Maven` packages named
//! `groupId:artifactId`.
//!
//! An archive is a zip. It is held whole in memory (the central directory is at its end),
//! charged to the inventory's budget like any database read whole; its nested archives
//! (`WEB-INF/lib/*.jar` in a war, `BOOT-INF/lib/*.jar` in a Spring Boot jar, jars in an
//! ear or in a fat jar) are decompressed into memory one chain at a time, charged too, and
//! read the same way. Every package is recorded against the image's file (`db_path`), the
//! layer that wrote it being what the inventory attributes.
//!
//! What an archive says about itself, in order of evidence; the rules follow osv-scalibr's
//! `java/archive` extractor, whose test expectations are this module's oracle:
//!
//! 1. every `pom.properties` in it (Maven writes `META-INF/maven/<g>/<a>/pom.properties`,
//!    a shaded jar keeps one per artifact it swallowed), each `groupId`, `artifactId` and
//!    `version` present and without a space, or that file is ignored;
//! 2. else its file name (`commons-io-2.11.0.jar`: the name up to the first `-` followed
//!    by something version-like, see [`parse_filename`]), the group being the part of the
//!    name before its last dot when it has one (`org.eclipse.sisu.inject-0.3.5.jar`), or
//!    the artifact itself (`junit:junit`, how advisories name such legacy artifacts); a
//!    lone valid `MANIFEST.MF` gives the group instead;
//! 3. else each valid `MANIFEST.MF`: the artifact is the last dot-part of
//!    `Bundle-SymbolicName` for the Maven Bundle Plugin's manifests, else the first usable
//!    one of `Name`, `Implementation-Title`, `Specification-Title`, `Bundle-Name`,
//!    `Short-Name`, `Extension-Name`; the group the first usable of `Bundle-SymbolicName`,
//!    `Extension-Name`, `Specification-Vendor`, `Implementation-Vendor`,
//!    `Implementation-Vendor-Id`, `Implementation-Title` (its first dotted word),
//!    `Bundle-Activator`, `Automatic-Module-Name`, `Main-Class`, `Package`, lower-cased,
//!    cut at `;`; a few artifacts known to carry a wrong group get the right one
//!    (`spring-web` is `org.springframework`); the version the first of
//!    `Implementation-Version`, `Specification-Version`, `Plugin-Version`,
//!    `Bundle-Version`, cut at the first space (`1.4 1855 April 22 2006`).
//!
//! Like osv-scalibr, `pom.properties` and `MANIFEST.MF` are recognised by their name
//! anywhere in the archive, and a manifest's sections are read as one: the first value of
//! an attribute wins, whichever section holds it (Axis keeps its title and version in a
//! `Name:` section). Manifests are read as the JAR specification writes them, which
//! osv-scalibr's MIME-header reader does not: a line starting with one space continues the
//! previous one with that space removed and nothing inserted (lines are wrapped at 72
//! bytes, in the middle of a word or of a UTF-8 character), line ends are CRLF, LF or CR.
//! Where osv-scalibr would take a value no Maven coordinate can have, the value is passed
//! over instead: an artifact with a `/` or `:` (a signed jar's `Name: com/x/Y.class`
//! section), `Bundle-SymbolicName` attributes (`;singleton:=true`) in a bundle's artifact.
//! A package found twice in one file (the same jar nested twice) is listed once.
//!
//! Bounds, each with a warning naming the nested path (`app.war!/WEB-INF/lib/x.jar`),
//! the rest of the file still read: archives nested deeper than [`MAX_DEPTH`] levels (the
//! image's file is level 1; osv-scalibr's limit, deep enough for its ten-level test);
//! more than [`MAX_TOTAL_BYTES`] decompressed from one file's members altogether (zip
//! bombs, and the CPU they cost); a `pom.properties` or manifest over
//! [`MAX_MEMBER_BYTES`]; a member decompressing past the size it declares; more than
//! [`MAX_ENTRIES`] entries in one file's archives altogether. An archive whose directory
//! would not fit that entry limit is not opened at all, since parsing the directory is
//! what costs the memory (about 200 bytes an entry, charged). A corrupt or encrypted
//! member, an archive that is no zip: a warning, never a panic. Only the memory budget
//! running out is an error (the file's packages would be missing). An empty file has
//! nothing to say and gives nothing, without a warning, as osv-scalibr ignores it.

use std::collections::HashSet;
use std::io::{Cursor, Read};

use patchline_model::{Ecosystem, Package};
use zip::ZipArchive;

use crate::extract::{
    charge, Budget, CappedWarnings, Charged, ExtractError, Extracted, Extractor, Held,
};

/// Extensions of the Java archives read (compared without case), osv-scalibr's list.
const EXTENSIONS: &[&str] = &[
    "jar", "war", "ear", "jmod", "par", "sar", "jpi", "hpi", "lpkg", "nar",
];

/// Archives inside archives, the image's file being level 1.
pub const MAX_DEPTH: usize = 16;
/// Bytes decompressed from the members of one image file and its nested archives.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// Size of one `pom.properties` or `MANIFEST.MF` (signed jars list every class in the
/// manifest: a few MiB at most in practice).
pub const MAX_MEMBER_BYTES: u64 = 16 << 20;
/// Entries of one image file's archives, nested ones included.
pub const MAX_ENTRIES: u64 = 1 << 20;

/// Memory the zip reader holds per central-directory entry besides its name (measured:
/// about 180 bytes with zip 9), charged before a directory is parsed.
const ENTRY_COST: u64 = 256;
/// Central-directory entry signature: counting them bounds the entries a directory can
/// yield before it is parsed.
const CENTRAL_HEADER: &[u8] = b"PK\x01\x02";

/// The Java archive extractor; the fields are its bounds (see the module doc), public for
/// tests and callers that need others.
#[derive(Debug, Clone)]
pub struct JavaArchive {
    pub max_depth: usize,
    pub max_total_bytes: u64,
    pub max_member_bytes: u64,
    pub max_entries: u64,
    /// Identify an archive without `pom.properties` by its file name (osv-scalibr's
    /// default, which its tests sometimes turn off).
    pub from_filename: bool,
}

impl Default for JavaArchive {
    fn default() -> Self {
        JavaArchive {
            max_depth: MAX_DEPTH,
            max_total_bytes: MAX_TOTAL_BYTES,
            max_member_bytes: MAX_MEMBER_BYTES,
            max_entries: MAX_ENTRIES,
            from_filename: true,
        }
    }
}

/// Is this path a Java archive by its extension?
pub fn is_archive(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

impl Extractor for JavaArchive {
    fn name(&self) -> &'static str {
        "java"
    }

    fn wants(&self, path: &str) -> bool {
        is_archive(path)
    }

    fn locations(&self) -> Vec<String> {
        vec![]
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        self.read(path, content, &Budget::unlimited())
    }

    /// The default's whole-file read, with the budget handed on to charge nested archives.
    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let _held = budget
            .reserve(size)
            .map_err(|e| ExtractError::new(path, format!("{size} bytes to read whole: {e}")))?;
        let mut buf = Vec::with_capacity(size as usize);
        content
            .take(size)
            .read_to_end(&mut buf)
            .map_err(|e| ExtractError::new(path, format!("reading failed: {e}")))?;
        self.read(path, &buf, budget)
    }
}

impl JavaArchive {
    /// The packages of the archive `content` found at `path`, its nested archives' and
    /// the memory they take charged to `budget`.
    pub fn read(
        &self,
        path: &str,
        content: &[u8],
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let mut walk = Walk {
            opts: self,
            root: path,
            budget,
            decompressed: 0,
            entries: 0,
            warnings: CappedWarnings::default(),
            found: Vec::new(),
        };
        if !content.is_empty() {
            walk.archive(&mut Vec::new(), path, content, 1)?;
        }
        let mut seen = HashSet::new();
        let mut packages = Vec::new();
        for f in walk.found {
            let name = format!("{}:{}", f.group, f.artifact);
            if !seen.insert((name.clone(), f.version.clone())) {
                continue;
            }
            let mut p = Package::new(Ecosystem::Maven, name, f.version);
            p.licenses = f.license.into_iter().collect();
            p.db_path = path.to_string();
            packages.push(p);
        }
        charge(path, &packages, &mut Charged::default(), budget)?;
        Ok(Extracted {
            packages,
            warnings: walk.warnings.finish(),
        })
    }
}

/// Maven coordinates found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    group: String,
    artifact: String,
    version: String,
    license: Option<String>,
}

/// One image file being read, its nested archives included.
struct Walk<'a> {
    opts: &'a JavaArchive,
    root: &'a str,
    budget: &'a Budget,
    /// Bytes decompressed so far, against `max_total_bytes`.
    decompressed: u64,
    /// Entries looked at so far, against `max_entries`.
    entries: u64,
    warnings: CappedWarnings,
    found: Vec<Found>,
}

type Zip<'b> = ZipArchive<Cursor<&'b [u8]>>;

impl<'a> Walk<'a> {
    /// `root!/a.jar!/b.jar` for the member path `chain` (names from the archive, so
    /// shown escaped and capped).
    fn inside(&self, chain: &[String]) -> String {
        let mut s = self.root.to_string();
        for c in chain {
            s.push_str("!/");
            if c.len() <= 200 && !c.chars().any(char::is_control) {
                s.push_str(c);
            } else {
                s.push_str(&patchline_model::quote_capped(c, 120));
            }
        }
        s
    }

    /// A warning about the archive at `chain` (the image's file itself when empty, which
    /// the inventory names already).
    fn warn(&mut self, chain: &[String], message: impl std::fmt::Display) {
        if chain.is_empty() {
            self.warnings.push(message.to_string());
        } else {
            let at = self.inside(chain);
            self.warnings.push(format!("{at}: {message}"));
        }
    }

    /// Reads the archive `bytes`, found at `chain` and called `name`.
    fn archive(
        &mut self,
        chain: &mut Vec<String>,
        name: &str,
        bytes: &[u8],
        depth: usize,
    ) -> Result<(), ExtractError> {
        // The directory's entries cost memory when parsed: bound them before, by the
        // signatures that could start one (nested stored archives' count too).
        let headers = memchr::memmem::find_iter(bytes, CENTRAL_HEADER).count() as u64;
        let left = self.opts.max_entries.saturating_sub(self.entries);
        if headers > left {
            self.warn(
                chain,
                format_args!(
                    "not read: up to {headers} entries, over the limit of {} entries in this file's archives",
                    self.opts.max_entries
                ),
            );
            return Ok(());
        }
        let _directory = self.reserve(chain, headers * ENTRY_COST, "its directory")?;
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                self.warn(chain, format_args!("not a readable zip archive: {e}"));
                return Ok(());
            }
        };
        let names: u64 = zip.file_names_raw().map(|n| n.len() as u64).sum();
        let _names = self.reserve(chain, names, "its directory")?;
        let total = zip.len();
        let take = total.min(left.min(usize::MAX as u64) as usize);
        self.entries += take as u64;

        let mut poms = Vec::new();
        let mut manifests = Vec::new();
        for i in 0..take {
            let member = match zip.name_for_index(i) {
                Some(Ok(n)) => n.into_owned(),
                Some(Err(e)) => {
                    self.warn(chain, format_args!("entry {i}: {e}"));
                    continue;
                }
                None => continue,
            };
            let base = member.rsplit('/').next().unwrap_or(&member);
            if base == "pom.properties" {
                chain.push(member);
                if let Some(b) = self.member(&mut zip, i, chain, self.opts.max_member_bytes)? {
                    poms.extend(pom_properties(&b));
                }
                chain.pop();
            } else if base.eq_ignore_ascii_case("manifest.mf") {
                chain.push(member);
                if let Some(b) = self.member(&mut zip, i, chain, self.opts.max_member_bytes)? {
                    let (m, bad) = Manifest::parse(&b);
                    if let Some((line, count)) = bad {
                        self.warn(
                            chain,
                            format_args!(
                                "{count} malformed line(s) ignored (no `Name: value`), the first at line {line}"
                            ),
                        );
                    }
                    manifests.push(m);
                }
                chain.pop();
            } else if is_archive(&member) {
                chain.push(member);
                if depth >= self.opts.max_depth {
                    self.warn(
                        chain,
                        format_args!(
                            "not read: nested deeper than {} archives",
                            self.opts.max_depth
                        ),
                    );
                } else if let Some(b) = self.member(&mut zip, i, chain, u64::MAX)? {
                    let inner = chain.last().cloned().unwrap_or_default();
                    self.archive(chain, &inner, &b, depth + 1)?;
                }
                chain.pop();
            }
        }
        if take < total {
            self.warn(
                chain,
                format_args!(
                    "{} of its {total} entries not read: over the limit of {} entries in this file's archives",
                    total - take,
                    self.opts.max_entries
                ),
            );
        }
        let own = self.identify(name, poms, &manifests);
        self.found.extend(own);
        Ok(())
    }

    /// What the archive called `name` is, from its `pom.properties`, else its name and
    /// manifest, else its manifests.
    fn identify(&self, name: &str, poms: Vec<Coordinates>, manifests: &[Manifest]) -> Vec<Found> {
        let valid: Vec<Coordinates> = manifests.iter().filter_map(Manifest::coordinates).collect();
        let own: Vec<Coordinates> = if !poms.is_empty() {
            poms
        } else if let Some(f) = self
            .opts
            .from_filename
            .then(|| parse_filename(name))
            .flatten()
        {
            let group = match (valid.as_slice(), f.group) {
                ([m], _) => m.group.clone(),
                (_, Some(g)) => g.to_lowercase(),
                (_, None) => f.artifact.clone(),
            };
            vec![Coordinates {
                group,
                artifact: f.artifact,
                version: f.version,
            }]
        } else {
            valid
        };
        // A licence stated by the manifest is the archive's own: it is only given to the
        // archive's one package, not to those of a shaded jar.
        let license = match (own.len(), manifests) {
            (1, [m]) => Some(m.value(BUNDLE_LICENSE)).filter(|l| !l.is_empty()),
            _ => None,
        };
        own.into_iter()
            .map(|c| Found {
                group: c.group,
                artifact: c.artifact,
                version: c.version,
                license: license.clone(),
            })
            .collect()
    }

    /// Reserves `bytes` from the budget for what the archive at `chain` holds; running
    /// out is an error of the whole file.
    fn reserve(&self, chain: &[String], bytes: u64, what: &str) -> Result<Held<'a>, ExtractError> {
        self.budget.reserve(bytes).map_err(|e| {
            let at = if chain.is_empty() {
                String::new()
            } else {
                format!("{}: ", self.inside(chain))
            };
            ExtractError::new(self.root, format!("{at}{bytes} bytes for {what}: {e}"))
        })
    }

    /// The decompressed member `i` (at `chain`) of at most `cap` bytes, charged to the
    /// budget; `None`, with a warning, when it is over a bound or corrupt.
    fn member(
        &mut self,
        zip: &mut Zip<'_>,
        i: usize,
        chain: &[String],
        cap: u64,
    ) -> Result<Option<Member<'a>>, ExtractError> {
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                self.warn(chain, format_args!("not read: {e}"));
                return Ok(None);
            }
        };
        let declared = f.size();
        if declared > cap {
            self.warn(
                chain,
                format_args!("not read: {declared} bytes, over the limit of {cap}"),
            );
            return Ok(None);
        }
        let left = self.opts.max_total_bytes.saturating_sub(self.decompressed);
        if declared > left {
            self.warn(
                chain,
                format_args!(
                    "not read: its {declared} bytes would pass the limit of {} bytes decompressed from this file's archives",
                    self.opts.max_total_bytes
                ),
            );
            return Ok(None);
        }
        let held = self.reserve(chain, declared, "its content")?;
        let mut bytes = Vec::with_capacity(declared as usize);
        // One byte more than declared tells a member that lies about its size.
        let read = (&mut f).take(declared + 1).read_to_end(&mut bytes);
        self.decompressed += bytes.len() as u64;
        if let Err(e) = read {
            self.warn(chain, format_args!("not read: {e}"));
            return Ok(None);
        }
        if bytes.len() as u64 > declared {
            self.warn(
                chain,
                format_args!("not read: it decompresses past the {declared} bytes it declares"),
            );
            return Ok(None);
        }
        Ok(Some(Member { bytes, _held: held }))
    }
}

/// A decompressed member and its charge to the budget.
struct Member<'a> {
    bytes: Vec<u8>,
    _held: Held<'a>,
}

impl std::ops::Deref for Member<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// `groupId`, `artifactId` and `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Coordinates {
    group: String,
    artifact: String,
    version: String,
}

/// The coordinates of a `pom.properties` (a Java properties file Maven writes as
/// `key=value` lines), when all three are there without a space.
fn pom_properties(bytes: &[u8]) -> Option<Coordinates> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in bytes.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = Some(value.trim().to_string());
        match key.trim() {
            "groupId" => group = value,
            "artifactId" => artifact = value,
            "version" => version = value,
            _ => {}
        }
    }
    let ok = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| !v.is_empty() && !v.contains(' '))
    };
    if !(ok(&group) && ok(&artifact) && ok(&version)) {
        return None;
    }
    Some(Coordinates {
        group: group?,
        artifact: artifact?,
        version: version?,
    })
}

/// The manifest attributes that identify an archive, lower-cased.
const MANIFEST_KEYS: &[&str] = &[
    "bundle-symbolicname",
    "extension-name",
    "specification-vendor",
    "implementation-vendor",
    "implementation-vendor-id",
    "implementation-title",
    "bundle-activator",
    "automatic-module-name",
    "main-class",
    "package",
    "name",
    "specification-title",
    "bundle-name",
    "short-name",
    "implementation-version",
    "specification-version",
    "plugin-version",
    "bundle-version",
    "created-by",
    "bundle-license",
];
const BUNDLE_LICENSE: &str = "bundle-license";

/// Where the group is looked for, in order.
const GROUP_KEYS: &[&str] = &[
    "bundle-symbolicname",
    "extension-name",
    "specification-vendor",
    "implementation-vendor",
    "implementation-vendor-id",
    "implementation-title",
    "bundle-activator",
    "automatic-module-name",
    "main-class",
    "package",
];
/// Where the artifact is looked for, in order (after the bundle plugin's rule).
const ARTIFACT_KEYS: &[&str] = &[
    "name",
    "implementation-title",
    "specification-title",
    "bundle-name",
    "short-name",
    "extension-name",
];
/// Where the version is looked for, in order.
const VERSION_KEYS: &[&str] = &[
    "implementation-version",
    "specification-version",
    "plugin-version",
    "bundle-version",
];

/// Artifacts whose manifests name no usable group, or a wrong one, and the group Maven
/// Central has them under.
const KNOWN_GROUPS: &[(&str, &str)] = &[
    ("spring-web", "org.springframework"),
    ("spring-webflux", "org.springframework"),
    ("spring-webmvc", "org.springframework"),
    ("spring-webmvc-portlet", "org.springframework"),
    ("spring-webmvc-struts", "org.springframework"),
    ("spring-websocket", "org.springframework"),
    ("axis", "org.apache.axis"),
    ("org.apache.tomcat-catalina", "org.apache.tomcat"),
    ("org.apache.tomcat-catalina-ha", "org.apache.tomcat"),
];
/// `Name:` values that are no artifact, and the artifact they stand for.
const KNOWN_NAMES: &[(&str, &str)] = &[("org/apache/axis", "axis")];

/// The identifying attributes of a `MANIFEST.MF`, first value of each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Manifest {
    values: Vec<Option<Vec<u8>>>,
}

impl Manifest {
    /// Reads the attributes, every section as one; also tells the first malformed line
    /// (neither `Name: value`, a continuation nor blank) and how many there were.
    fn parse(bytes: &[u8]) -> (Manifest, Option<(usize, usize)>) {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut values: Vec<Option<Vec<u8>>> = vec![None; MANIFEST_KEYS.len()];
        let mut bad: Option<(usize, usize)> = None;
        // The attribute a continuation line extends: `Some(None)` for one not kept.
        let mut open: Option<Option<usize>> = None;
        for (n, line) in manifest_lines(bytes).enumerate() {
            if line.is_empty() {
                open = None;
                continue;
            }
            if let Some(rest) = line.strip_prefix(b" ") {
                match open {
                    Some(Some(k)) => {
                        if let Some(v) = values[k].as_mut() {
                            v.extend_from_slice(rest);
                        }
                    }
                    Some(None) => {}
                    None => bad = Some(bad.map_or((n + 1, 1), |(l, c)| (l, c + 1))),
                }
                continue;
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                bad = Some(bad.map_or((n + 1, 1), |(l, c)| (l, c + 1)));
                open = None;
                continue;
            };
            let key =
                String::from_utf8_lossy(crate::extract::trim(&line[..colon])).to_ascii_lowercase();
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            open = Some(
                MANIFEST_KEYS
                    .iter()
                    .position(|k| *k == key)
                    .filter(|&k| values[k].is_none()),
            );
            if let Some(Some(k)) = open {
                values[k] = Some(value.to_vec());
            }
        }
        (Manifest { values }, bad)
    }

    /// The first value of `key`, or empty.
    fn value(&self, key: &str) -> String {
        let Some(k) = MANIFEST_KEYS.iter().position(|k| *k == key) else {
            return String::new();
        };
        match self.values[k].as_deref() {
            Some(v) => String::from_utf8_lossy(crate::extract::trim(v)).into_owned(),
            None => String::new(),
        }
    }

    fn artifact(&self) -> String {
        if self.value("created-by") == "Apache Maven Bundle Plugin" {
            let symbolic = self.value("bundle-symbolicname");
            let symbolic = symbolic.split(';').next().unwrap_or("");
            if let Some(last) = symbolic.rsplit('.').next().filter(|a| valid_artifact(a)) {
                return last.to_string();
            }
        }
        let name = self.value("name");
        if let Some((_, a)) = KNOWN_NAMES.iter().find(|(n, _)| *n == name) {
            return a.to_string();
        }
        ARTIFACT_KEYS
            .iter()
            .map(|k| self.value(k))
            .find(|v| valid_artifact(v))
            .unwrap_or_default()
    }

    fn group(&self) -> String {
        for k in GROUP_KEYS {
            let mut v = self.value(k);
            if *k == "implementation-title" {
                // `org.elasticsearch#server;8.14.3`: the first dotted word.
                v = v
                    .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                    .find(|w| !w.is_empty())
                    .unwrap_or("")
                    .to_string();
            }
            if !v.is_empty() && !v.contains(' ') {
                let g = v.to_lowercase();
                return g.split(';').next().unwrap_or("").to_string();
            }
        }
        String::new()
    }

    fn version(&self) -> String {
        VERSION_KEYS
            .iter()
            .map(|k| self.value(k))
            .find(|v| !v.is_empty())
            .map(|v| v.split(' ').next().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    /// The coordinates the manifest gives, when it gives all three.
    fn coordinates(&self) -> Option<Coordinates> {
        let artifact = self.artifact();
        let mut group = self.group();
        if let Some((_, g)) = KNOWN_GROUPS.iter().find(|(a, _)| *a == artifact) {
            group = g.to_string();
        }
        let version = self.version();
        (!group.is_empty() && !artifact.is_empty() && !version.is_empty()).then_some(Coordinates {
            group,
            artifact,
            version,
        })
    }
}

/// The lines of a manifest: ended by CRLF, LF or CR.
fn manifest_lines(mut bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        match memchr::memchr2(b'\r', b'\n', bytes) {
            Some(i) => {
                let line = &bytes[..i];
                let skip = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                bytes = &bytes[i + skip..];
                Some(line)
            }
            None => {
                let line = bytes;
                bytes = &[];
                Some(line)
            }
        }
    })
}

/// An artifact ID a manifest may give: not empty, no space, no unexpanded build
/// placeholder (`${bundle.name}`, `%pluginName`), and (unlike osv-scalibr) no `/` or
/// `:`, which no Maven artifact has.
fn valid_artifact(a: &str) -> bool {
    !a.is_empty() && !a.contains([' ', '/', ':']) && !a.starts_with('$') && !a.starts_with('%')
}

/// What a Java archive's file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub artifact: String,
    pub version: String,
    /// The artifact up to its last dot, when it has one (`org.apache.felix` of
    /// `org.apache.felix.framework-1.2.3.jar`).
    pub group: Option<String>,
}

/// The artifact and version in an archive's file name (`guava-31.1-jre.jar`), `None`
/// without a version. The version starts after the first `-` that is followed by a digit,
/// `build` and a digit, or `r`/`rc` and a number not followed by a letter; else after the
/// first `_`, else the first `.`, under the same condition. Ambiguous names come out wrong,
/// as osv-scalibr's do (`mockito-4-2_3-3.2.12.0-RC2.jar` is `mockito` at
/// `4-2_3-3.2.12.0-RC2`).
pub fn parse_filename(path: &str) -> Option<FileName> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let split = |at: usize| (&stem[..at], &stem[at + 1..]);
    let (artifact, version) = stem
        .match_indices('-')
        .map(|(i, _)| split(i))
        .find(|(_, v)| is_version(v))
        .or_else(|| {
            ['_', '.']
                .iter()
                .filter_map(|sep| stem.find(*sep).map(split))
                .find(|(_, v)| is_version(v))
        })?;
    if artifact.is_empty() {
        return None;
    }
    Some(FileName {
        artifact: artifact.to_string(),
        version: version.to_string(),
        group: artifact
            .rsplit_once('.')
            .map(|(g, _)| g.to_string())
            .filter(|g| !g.is_empty()),
    })
}

fn is_version(v: &str) -> bool {
    let b = v.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) {
        return true;
    }
    if v.strip_prefix("build")
        .is_some_and(|r| r.as_bytes().first().is_some_and(u8::is_ascii_digit))
    {
        return true;
    }
    // `r12`, `rc4`: a digit after `r` or `rc`, then anything but a letter (a second digit
    // is not a letter either: `r12a` passes, `r1a` does not).
    let Some(r) = v.strip_prefix('r') else {
        return false;
    };
    let r = r.strip_prefix('c').unwrap_or(r).as_bytes();
    r.first().is_some_and(u8::is_ascii_digit) && !r.get(1).is_some_and(u8::is_ascii_alphabetic)
}
