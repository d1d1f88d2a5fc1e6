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
//! A package found twice in one file (the same jar nested twice) is listed once. The
//! manifest's `Bundle-License` (a URL or an SPDX expression, kept whole) is the licence of
//! the archive's package when there is one, and the manifest describes it (same artifact
//! or version as its `pom.properties`): Debian's `guice.jar` holds cglib's
//! `pom.properties` under guice's manifest.
//!
//! The file name counts for nested archives too (`WEB-INF/lib/commons-io-2.11.0.jar`
//! without a `pom.properties`). What osv-scalibr also emits and this module does not: an
//! `unknown` package carrying the jar's SHA-1 when nothing identifies it, and (optionally)
//! the dependencies listed in `pom.xml`: neither names a package an advisory can match.
//! A zip may have bytes before it (a `.jmod`'s magic, a "fully executable" Spring Boot
//! jar's launch script): the directory is found from the end.
//!
//! Bounds. The image's file itself is bounded by the inventory (`max_file_bytes`) and,
//! read whole, by the memory budget. Within it, each bound gives a warning naming the
//! nested path (`app.war!/WEB-INF/lib/x.jar`) and the rest of the file is still read:
//! archives nested deeper than [`MAX_DEPTH`] levels (the image's file is level 1; that is
//! osv-scalibr's limit, and its tests go ten levels deep); more than [`MAX_TOTAL_BYTES`]
//! decompressed from the file's members altogether (zip bombs, and the CPU they cost;
//! osv-scalibr's equivalent limit also counts the file's own size); a `pom.properties` or
//! manifest over [`MAX_MEMBER_BYTES`]; a member decompressing past the size it declares;
//! more than [`MAX_ENTRIES`] entries in the file's archives altogether. Only the few
//! members that matter are decompressed, never class files. An archive's directory is
//! parsed whole, which costs memory (about 200 bytes an entry, charged to the budget), so
//! its entries are first counted by their signatures (an upper bound, which includes
//! those of the stored archives nested in it) and an archive that could pass the entry
//! limit is not opened at all. Decompressed members are charged to the budget while
//! held; running out of it is the only error (the file's packages would be missing). A
//! corrupt archive or member, an encrypted member or one compressed by another method
//! than deflate: a warning, never a panic. An empty file says nothing and gives nothing,
//! without a warning (osv-scalibr ignores it too).

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
/// Entries of one image file's archives, nested ones included (a large war or Spring
/// Boot jar has some ten thousand).
pub const MAX_ENTRIES: u64 = 500_000;

/// Memory the zip reader holds per central-directory entry besides its name (measured:
/// about 180 bytes with zip 9).
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
        crate::extract::read_whole(path, size, content, budget, |bytes| {
            self.read(path, bytes, budget)
        })
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
            ..Default::default()
        })
    }
}

/// The members read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PomProperties,
    Manifest,
    Archive,
}

impl Kind {
    /// Like osv-scalibr: by the base name anywhere in the archive (the manifest's in any
    /// case), or the extension.
    fn of(name: &str) -> Option<Kind> {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base == "pom.properties" {
            Some(Kind::PomProperties)
        } else if base.eq_ignore_ascii_case("manifest.mf") {
            Some(Kind::Manifest)
        } else if is_archive(base) {
            Some(Kind::Archive)
        } else {
            None
        }
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
        // signatures that could start one (nested stored archives' count too), whichever
        // end-of-directory record the zip reader ends up trusting.
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
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                self.warn(chain, format_args!("not a readable zip archive: {e}"));
                return Ok(());
            }
        };
        // Charged once its real size is known: the count above also holds the entries of
        // the stored archives nested in this one, which would charge a fat jar's twice.
        let names: u64 = zip.file_names_raw().map(|n| n.len() as u64).sum();
        let entries = zip.len() as u64;
        let _directory = self.reserve(chain, entries * ENTRY_COST + names, "its directory")?;
        self.entries += entries;

        let mut poms = Vec::new();
        let mut manifests = Vec::new();
        for i in 0..zip.len() {
            // Names are owned only for the few members read.
            let (kind, member) = match zip.name_for_index(i) {
                Some(Ok(n)) => match Kind::of(&n) {
                    Some(k) => (k, n.into_owned()),
                    None => continue,
                },
                Some(Err(e)) => {
                    self.warn(chain, format_args!("entry {i}: {e}"));
                    continue;
                }
                None => continue,
            };
            chain.push(member);
            let cap = self.opts.max_member_bytes;
            match kind {
                Kind::PomProperties => {
                    if let Some(b) = self.member(&mut zip, i, chain, cap)? {
                        poms.extend(pom_properties(&b));
                    }
                }
                Kind::Manifest => {
                    if let Some(b) = self.member(&mut zip, i, chain, cap)? {
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
                }
                Kind::Archive if depth >= self.opts.max_depth => {
                    let max = self.opts.max_depth;
                    self.warn(
                        chain,
                        format_args!("not read: nested deeper than {max} archives"),
                    );
                }
                Kind::Archive => {
                    if let Some(b) = self.member(&mut zip, i, chain, u64::MAX)? {
                        let inner = chain.last().cloned().unwrap_or_default();
                        self.archive(chain, &inner, &b, depth + 1)?;
                    }
                }
            }
            chain.pop();
        }
        let own = self.identify(name, poms, &manifests);
        self.found.extend(own);
        Ok(())
    }

    /// What the archive called `name` is, from its `pom.properties`, else its name and
    /// manifest, else its manifests.
    fn identify(&self, name: &str, poms: Vec<Coordinates>, manifests: &[Manifest]) -> Vec<Found> {
        let valid: Vec<Coordinates> = manifests.iter().filter_map(Manifest::coordinates).collect();
        let from_pom = !poms.is_empty();
        let own: Vec<Coordinates> = if from_pom {
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
        // A licence stated by the manifest is the archive's own: it is given to the
        // archive's one package only, and to one from a `pom.properties` only when the
        // manifest describes the same artifact (Debian's guice.jar holds cglib's
        // `pom.properties` and guice's manifest).
        let license = match (own.as_slice(), manifests) {
            ([c], [m])
                if !from_pom
                    || m.coordinates().is_some_and(|mc| mc.artifact == c.artifact)
                    || m.version() == c.version =>
            {
                Some(m.value(BUNDLE_LICENSE)).filter(|l| !l.is_empty())
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        zip_with(entries, CompressionMethod::Deflated)
    }

    fn pom(g: &str, a: &str, v: &str) -> Vec<u8> {
        format!("#Generated by Maven\r\ngroupId={g}\r\nartifactId={a}\r\nversion={v}\r\n")
            .into_bytes()
    }

    fn names(x: &Extracted) -> Vec<String> {
        let mut v: Vec<String> = x
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        v.sort();
        v
    }

    fn manifest(text: &[u8]) -> Option<Coordinates> {
        let (m, bad) = Manifest::parse(text);
        assert_eq!(bad, None);
        m.coordinates()
    }

    fn coords(g: &str, a: &str, v: &str) -> Option<Coordinates> {
        Some(Coordinates {
            group: g.into(),
            artifact: a.into(),
            version: v.into(),
        })
    }

    #[test]
    fn selects_java_archives_by_extension() {
        let ex = JavaArchive::default();
        for p in [
            "a.jar",
            "opt/x/A.WAR",
            "x.ear",
            "lib/app.Jpi",
            "m/java.base.jmod",
        ] {
            assert!(ex.wants(p), "{p}");
        }
        for p in ["a.jar/", "jar", "opt/jar/readme", "a.jar.sha1", "a.zip"] {
            assert!(!ex.wants(p), "{p}");
        }
    }

    #[test]
    fn shaded_jar_lists_every_artifact_and_the_own_license() {
        let mf =
            b"Manifest-Version: 1.0\nImplementation-Version: 1.0\nBundle-License: Apache-2.0\n";
        let own = jar(&[
            ("META-INF/MANIFEST.MF", mf),
            (
                "META-INF/maven/org.x/app/pom.properties",
                &pom("org.x", "app", "1.0"),
            ),
        ]);
        let x = JavaArchive::default().extract("app-1.0.jar", &own).unwrap();
        assert_eq!(names(&x), ["org.x:app@1.0"]);
        assert_eq!(x.packages[0].licenses, ["Apache-2.0"]);

        let shaded = jar(&[
            ("META-INF/MANIFEST.MF", mf),
            (
                "META-INF/maven/org.x/app/pom.properties",
                &pom("org.x", "app", "1.0"),
            ),
            (
                "META-INF/maven/org.y/lib/pom.properties",
                &pom("org.y", "lib", "2.0"),
            ),
            // The same artifact twice is listed once.
            (
                "META-INF/maven/org.y/lib2/pom.properties",
                &pom("org.y", "lib", "2.0"),
            ),
        ]);
        let x = JavaArchive::default()
            .extract("app-1.0.jar", &shaded)
            .unwrap();
        assert_eq!(names(&x), ["org.x:app@1.0", "org.y:lib@2.0"]);
        assert!(x.packages.iter().all(|p| p.licenses.is_empty()));
        assert!(x.warnings.is_empty());
    }

    #[test]
    fn archives_behind_a_header_are_read() {
        // A JDK `.jmod` (a 4-byte magic), a Spring Boot "fully executable" jar (a script).
        let body = jar(&[("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1"))]);
        for head in [
            &b"JM\x01\x00"[..],
            b"#!/bin/bash\nexec java -jar \"$0\" \"$@\"\n",
        ] {
            let mut file = head.to_vec();
            file.extend_from_slice(&body);
            let x = JavaArchive::default().extract("x.jar", &file).unwrap();
            assert_eq!(names(&x), ["g:a@1"]);
            assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        }
    }

    #[test]
    fn the_manifest_license_goes_to_the_artifact_it_describes() {
        let mf = b"Bundle-SymbolicName: com.google.inject\nBundle-Name: guice\nBundle-Version: 4.2.3\nBundle-License: http://www.apache.org/licenses/LICENSE-2.0.txt\n";
        let with = |g: &str, a: &str, v: &str| {
            let p = pom(g, a, v);
            let j = jar(&[
                ("META-INF/MANIFEST.MF", mf),
                ("META-INF/maven/x/pom.properties", &p),
            ]);
            JavaArchive::default()
                .extract("guice.jar", &j)
                .unwrap()
                .packages
        };
        assert!(with("cglib", "cglib", "3.2.12")[0].licenses.is_empty());
        assert_eq!(
            with("com.google.inject", "guice", "4.2.3-1")[0]
                .licenses
                .len(),
            1
        );
        assert_eq!(
            with("com.google.inject", "guice-x", "4.2.3")[0]
                .licenses
                .len(),
            1
        );
        let j = jar(&[("META-INF/MANIFEST.MF", mf)]);
        let x = JavaArchive::default().extract("guice.jar", &j).unwrap();
        assert_eq!(names(&x), ["com.google.inject:guice@4.2.3"]);
        assert_eq!(x.packages[0].licenses.len(), 1);
    }

    #[test]
    fn war_libraries_are_read_with_their_file_names() {
        let lib_with_pom = jar(&[("META-INF/maven/a/b/pom.properties", &pom("a", "b", "1"))]);
        let bare = jar(&[("x/Y.class", b"\xca\xfe\xba\xbe")]);
        let war = zip_with(
            &[
                ("WEB-INF/lib/b-1.jar", &lib_with_pom),
                ("WEB-INF/lib/commons-io-2.11.0.jar", &bare),
                ("WEB-INF/lib/nameless.jar", &bare),
            ],
            CompressionMethod::Stored,
        );
        let x = JavaArchive::default().extract("srv/app.war", &war).unwrap();
        assert_eq!(names(&x), ["a:b@1", "commons-io:commons-io@2.11.0"]);
        assert!(x.packages.iter().all(|p| p.db_path == "srv/app.war"));
        assert!(x.warnings.is_empty());
    }

    /// `levels` jars, each holding `inner.jar` and its own pom.properties.
    fn nested(levels: usize) -> Vec<u8> {
        let mut cur = jar(&[("pom.properties", &pom("g", "level1", "1"))]);
        for level in 2..=levels {
            let p = pom("g", &format!("level{level}"), "1");
            cur = jar(&[("pom.properties", &p), ("lib/inner.jar", &cur)]);
        }
        cur
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_a_warning_naming_the_path() {
        let ex = JavaArchive {
            max_depth: 3,
            ..JavaArchive::default()
        };
        let x = ex.extract("opt/a.jar", &nested(5)).unwrap();
        assert_eq!(names(&x), ["g:level3@1", "g:level4@1", "g:level5@1"]);
        assert_eq!(
            x.warnings,
            ["opt/a.jar!/lib/inner.jar!/lib/inner.jar!/lib/inner.jar: not read: nested deeper than 3 archives"]
        );
        let x = ex.extract("opt/a.jar", &nested(3)).unwrap();
        assert_eq!(x.packages.len(), 3);
        assert!(x.warnings.is_empty());
    }

    #[test]
    fn a_zip_bomb_is_stopped_at_the_total_and_the_rest_still_read() {
        let zeros = vec![0u8; 8 << 20];
        // 8 MiB jars of zeros, which deflate to a few KiB in the jar holding them.
        let bomb = zip_with(&[("huge.bin", &zeros)], CompressionMethod::Stored);
        let inner = jar(&[
            ("a.jar", &bomb),
            ("pom.properties", &pom("g", "inner", "1")),
        ]);
        let outer = jar(&[
            ("lib/inner.jar", &inner),
            ("BOOT-INF/lib/big.jar", &bomb),
            ("pom.properties", &pom("g", "outer", "1")),
        ]);
        assert!(outer.len() < 200 << 10, "{}", outer.len());
        let ex = JavaArchive {
            max_total_bytes: 1 << 20,
            ..JavaArchive::default()
        };
        let x = ex.extract("x.jar", &outer).unwrap();
        assert_eq!(names(&x), ["g:inner@1", "g:outer@1"]);
        assert_eq!(x.warnings.len(), 2, "{:?}", x.warnings);
        assert!(x.warnings[0].starts_with("x.jar!/lib/inner.jar!/a.jar: not read: its "));
        assert!(x.warnings[1].starts_with("x.jar!/BOOT-INF/lib/big.jar: not read: its "));
        assert!(x.warnings[1].ends_with(
            "would pass the limit of 1048576 bytes decompressed from this file's archives"
        ));

        // A metadata file has its own, smaller bound.
        let ex = JavaArchive {
            max_member_bytes: 1 << 10,
            ..JavaArchive::default()
        };
        let mut big = pom("g", "a", "1");
        big.extend(std::iter::repeat_n(b'#', 2 << 10));
        let x = ex
            .extract("y.jar", &jar(&[("pom.properties", &big)]))
            .unwrap();
        assert!(x.packages.is_empty());
        assert_eq!(
            x.warnings,
            [format!(
                "y.jar!/pom.properties: not read: {} bytes, over the limit of 1024",
                big.len()
            )]
        );
    }

    /// Rewrites the uncompressed size of every entry, in the local and central headers.
    fn declare_size(mut zip: Vec<u8>, size: u32) -> Vec<u8> {
        for (sig, at) in [(&b"PK\x03\x04"[..], 22), (&b"PK\x01\x02"[..], 24)] {
            let offsets: Vec<usize> = memchr::memmem::find_iter(&zip, sig).collect();
            for o in offsets {
                zip[o + at..o + at + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
        zip
    }

    #[test]
    fn a_member_larger_than_it_declares_is_not_read() {
        let lying = declare_size(jar(&[("pom.properties", &pom("g", "a", "1"))]), 10);
        let outer = zip_with(
            &[
                (
                    "lib/lying.jar",
                    &jar(&[("pom.properties", &pom("g", "b", "2"))]),
                ),
                ("lib/inner.jar", &lying),
                ("pom.properties", &pom("g", "outer", "1")),
            ],
            CompressionMethod::Stored,
        );
        let x = JavaArchive::default().extract("x.jar", &outer).unwrap();
        assert_eq!(names(&x), ["g:b@2", "g:outer@1"]);
        assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
        assert!(
            x.warnings[0].starts_with("x.jar!/lib/inner.jar!/pom.properties: not read: "),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn too_many_entries_leave_an_archive_unopened() {
        let many: Vec<(String, Vec<u8>)> = (0..40).map(|i| (format!("f{i}"), vec![])).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
        let inner = jar(&many);
        let outer = jar(&[
            ("pom.properties", &pom("g", "outer", "1")),
            ("lib/many.jar", &inner),
        ]);
        let ex = JavaArchive {
            max_entries: 30,
            ..JavaArchive::default()
        };
        let x = ex.extract("x.jar", &outer).unwrap();
        assert_eq!(names(&x), ["g:outer@1"]);
        assert_eq!(
            x.warnings,
            ["x.jar!/lib/many.jar: not read: up to 40 entries, over the limit of 30 entries in this file's archives"]
        );
        let x = ex.extract("x.jar", &inner).unwrap();
        assert_eq!(
            x.warnings,
            ["not read: up to 40 entries, over the limit of 30 entries in this file's archives"]
        );
    }

    #[test]
    fn truncated_and_garbage_archives_are_warnings() {
        let good = jar(&[("pom.properties", &pom("g", "a", "1"))]);
        for bad in [
            &good[..good.len() / 2],
            &good[..good.len() - 1],
            b"PK\x05\x06",
            b"\0",
        ] {
            let x = JavaArchive::default().extract("t.jar", bad).unwrap();
            assert!(x.packages.is_empty());
            assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
            assert!(
                x.warnings[0].starts_with("not a readable zip archive"),
                "{:?}",
                x.warnings
            );
        }
        // Empty: nothing, quietly (as osv-scalibr).
        assert_eq!(
            JavaArchive::default().extract("t.jar", b"").unwrap(),
            Extracted::default()
        );
        // A truncated nested archive does not hide the outer one's packages.
        let outer = jar(&[
            ("lib/cut.jar", &good[..good.len() - 10]),
            ("pom.properties", &pom("g", "outer", "1")),
        ]);
        let x = JavaArchive::default().extract("o.jar", &outer).unwrap();
        assert_eq!(names(&x), ["g:outer@1"]);
        assert_eq!(x.warnings.len(), 1);
        assert!(x.warnings[0].starts_with("o.jar!/lib/cut.jar: not a readable zip archive"));
    }

    #[test]
    fn nested_archives_are_charged_to_the_budget() {
        let inner = zip_with(
            &[
                ("pom.properties", &pom("g", "inner", "1")),
                ("pad", &[7u8; 300 << 10]),
            ],
            CompressionMethod::Stored,
        );
        let outer = zip_with(
            &[
                ("pom.properties", &pom("g", "outer", "1")),
                ("lib/inner.jar", &inner),
            ],
            CompressionMethod::Stored,
        );
        let size = outer.len() as u64;
        let ex = JavaArchive::default();
        // Room for the file itself, not for a copy of the nested jar.
        let budget = Budget::new(size + (64 << 10));
        let e = ex
            .extract_from("o.jar", size, &mut &outer[..], &budget)
            .unwrap_err();
        assert!(
            e.reason.starts_with("o.jar!/lib/inner.jar: ") && e.reason.contains("memory budget"),
            "{e}"
        );
        assert_eq!(budget.used(), 0);
        let budget = Budget::new(4 * size);
        let x = ex
            .extract_from("o.jar", size, &mut &outer[..], &budget)
            .unwrap();
        assert_eq!(names(&x), ["g:inner@1", "g:outer@1"]);
        // Only the packages stay charged.
        assert!(
            budget.used() > 0 && budget.used() < 4096,
            "{}",
            budget.used()
        );
    }

    #[test]
    fn manifest_continuation_lines_join_without_a_space() {
        // Wrapped at 72 bytes in the middle of a word, and of a UTF-8 character (é).
        let text = "Manifest-Version: 1.0\nBundle-SymbolicName: org.exa\n mple.lib\nBundle-Version: 1.2\n .3\nBundle-Name: caf\u{e9}\n"
            .as_bytes()
            .to_vec();
        let cut = text
            .windows(2)
            .position(|w| w == "\u{e9}".as_bytes())
            .unwrap()
            + 1;
        let mut wrapped = text[..cut].to_vec();
        wrapped.extend_from_slice(b"\n ");
        wrapped.extend_from_slice(&text[cut..]);
        let (m, bad) = Manifest::parse(&wrapped);
        assert_eq!(bad, None);
        assert_eq!(m.value("bundle-symbolicname"), "org.example.lib");
        assert_eq!(m.value("bundle-name"), "caf\u{e9}");
        assert_eq!(
            m.coordinates(),
            coords("org.example.lib", "caf\u{e9}", "1.2.3")
        );
    }

    #[test]
    fn manifest_line_ends_crlf_lf_and_cr() {
        let lf = b"Implementation-Title: spring-web\nImplementation-Version: 5.3.26\n";
        let want = coords("org.springframework", "spring-web", "5.3.26");
        assert_eq!(manifest(lf), want);
        let crlf = b"\xef\xbb\xbfImplementation-Title: spring-web\r\nImplementation-Version: 5.3.26\r\n\r\n";
        assert_eq!(manifest(crlf), want);
        assert_eq!(
            manifest(b"Implementation-Title: spring-web\rImplementation-Version: 5.3.26"),
            want
        );
    }

    #[test]
    fn manifest_sections_are_one_and_the_first_value_wins() {
        let text = b"Manifest-Version: 1.0\n\nName: org/apache/axis\nImplementation-Title: Apache Axis\nImplementation-Version: 1.4 1855 April 22 2006\n\nName: other\nImplementation-Version: 9\n";
        assert_eq!(manifest(text), coords("org.apache.axis", "axis", "1.4"));
    }

    #[test]
    fn manifest_rules() {
        // The bundle plugin's artifact: the symbolic name's last part, attributes cut.
        let m = b"Created-By: Apache Maven Bundle Plugin\nBundle-SymbolicName: com.x.Core;singleton:=true\nBundle-Version: 3\n";
        assert_eq!(manifest(m), coords("com.x.core", "Core", "3"));
        // Placeholders and class paths are no artifacts.
        let m = b"Name: com/x/Y.class\nImplementation-Title: ${name}\nSpecification-Title: %t\nBundle-Name: real\nExtension-Name: ext.group\nSpecification-Version: 2\n";
        assert_eq!(manifest(m), coords("ext.group", "real", "2"));
        // No group, no version, no artifact: nothing.
        assert_eq!(manifest(b"Bundle-Name: a\nBundle-Version: 1\n"), None);
        assert_eq!(manifest(b"Bundle-Name: a\nExtension-Name: g\n"), None);
        assert_eq!(
            manifest(b"Bundle-SymbolicName: g\nBundle-Version: 1\nBundle-Name: a b\n"),
            None
        );
        // Malformed lines are counted and skipped.
        let (m, bad) = Manifest::parse(
            b" orphan\nBundle-Name: a\nbroken\nExtension-Name: g\nno colon\nBundle-Version: 1\n",
        );
        assert_eq!(bad, Some((1, 3)));
        assert_eq!(m.coordinates(), coords("g", "a", "1"));
    }

    #[test]
    fn a_malformed_manifest_is_a_warning_and_still_read() {
        let mf = b"Bundle-Name: a\nbroken\nExtension-Name: g\nBundle-Version: 1\n";
        let x = JavaArchive::default()
            .extract("lib/a.jar", &jar(&[("META-INF/MANIFEST.MF", mf)]))
            .unwrap();
        assert_eq!(names(&x), ["g:a@1"]);
        assert_eq!(
            x.warnings,
            ["lib/a.jar!/META-INF/MANIFEST.MF: 1 malformed line(s) ignored (no `Name: value`), the first at line 2"]
        );
    }

    #[test]
    fn pom_properties_rules() {
        assert_eq!(
            pom_properties(b"# c\n groupId = g \nartifactId=a\nversion=1=2\n"),
            coords("g", "a", "1=2")
        );
        assert_eq!(pom_properties(b"artifactId=a\nversion=1\n"), None);
        assert_eq!(
            pom_properties(b"groupId=g\nartifactId=a b\nversion=1\n"),
            None
        );
        assert_eq!(pom_properties(b"groupId=\nartifactId=a\nversion=1\n"), None);
        assert_eq!(pom_properties(b"\xff\xfe"), None);
    }

    #[test]
    fn filename_versions() {
        let v = |p: &str| parse_filename(p).map(|f| (f.artifact, f.version, f.group));
        let s = |x: &str| x.to_string();
        assert_eq!(
            v("a/commons-io-2.11.0.jar"),
            Some((s("commons-io"), s("2.11.0"), None))
        );
        assert_eq!(v("x-r12a.jar"), Some((s("x"), s("r12a"), None)));
        assert_eq!(v("x-r1a.jar"), None);
        assert_eq!(v("x-rc.jar"), None);
        assert_eq!(v("x-build.jar"), None);
        assert_eq!(v("-1.0.jar"), None);
        assert_eq!(v(".x-1.jar"), Some((s(".x"), s("1"), None)));
        assert_eq!(v("é-1.jar"), Some((s("é"), s("1"), None)));
        assert_eq!(v("x-é.jar"), None);
        assert_eq!(v(""), None);
    }
}
