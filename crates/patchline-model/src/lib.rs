//! Plain data shared by every patchline crate.
//!
//! This crate is the JSON contract of patchline: what `patchline sbom --format json` prints,
//! what the matcher and the server read back. It holds no logic beyond parsing and
//! formatting of identifiers (digests, purls), so that every other crate can depend on it
//! without pulling anything heavy.
//!
//! The inventory document is versioned by [`INVENTORY_SCHEMA`]. Fields may be added in a
//! minor revision (readers ignore unknown fields); renaming or removing a field, or changing
//! its meaning, bumps the version. The document is described field by field in
//! `docs/inventory-json.md` at the repository root.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod check;
pub mod distro;
pub mod ecosystem;
pub mod policy;
pub mod purl;
pub mod vuln;

/// Identifier of the inventory JSON document format written by this version.
pub const INVENTORY_SCHEMA: &str = "patchline.inventory/v1";

/// A content digest such as `sha256:9f86…`. Only algorithms registries actually use are
/// accepted, and the hex part must have the algorithm's exact length, so a digest taken
/// from untrusted JSON can be used as a file name without further checks.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

impl DigestAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
    fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha512 => 128,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {input:?}: {reason}")]
pub struct DigestError {
    pub input: String,
    pub reason: &'static str,
}

impl Digest {
    /// Builds a sha256 digest from raw hash bytes.
    pub fn sha256_from_bytes(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: DigestAlgorithm::Sha256,
            hex: {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut s = String::with_capacity(bytes.len() * 2);
                for b in bytes {
                    s.push(HEX[(b >> 4) as usize] as char);
                    s.push(HEX[(b & 0xf) as usize] as char);
                }
                s
            },
        }
    }
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }
    pub fn hex(&self) -> &str {
        &self.hex
    }
    /// A short form for humans: the first 12 hex characters.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| DigestError {
            input: s.chars().take(200).collect(),
            reason,
        };
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| err("expected ALGORITHM:HEX"))?;
        let algorithm = match alg {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            _ => return Err(err("unsupported algorithm (sha256 or sha512 expected)")),
        };
        if hex.len() != algorithm.hex_len() {
            return Err(err("wrong length for the algorithm"));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err("not lowercase hex"));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Package ecosystems patchline inventories: the OS package managers, matched through
/// the distro release's advisories, and the language ecosystems, matched through their
/// OSV ecosystem ([`ecosystem::LANGUAGES`]). The serde name is the purl type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// dpkg: Debian, Ubuntu and derivatives (`var/lib/dpkg/status`, `status.d/`).
    Deb,
    /// apk: Alpine, Wolfi, Chainguard (`lib/apk/db/installed`).
    Apk,
    /// rpm: RHEL and rebuilds, Fedora, SUSE, Azure Linux (`rpmdb.sqlite`, `Packages`, `Packages.db`).
    Rpm,
    /// Python distributions (`*.dist-info/METADATA`, `*.egg-info`), OSV `PyPI`.
    Pypi,
    /// npm packages (`node_modules/**/package.json`, `package-lock.json`), OSV `npm`.
    Npm,
    /// Go modules in binaries' build info, OSV `Go`.
    Golang,
    /// Rust crates (cargo-auditable binaries, `Cargo.lock`), OSV `crates.io`.
    Cargo,
    /// Java artifacts in jars (`pom.properties`, `MANIFEST.MF`), OSV `Maven`.
    Maven,
    /// Ruby gems (`specifications/*.gemspec`), OSV `RubyGems`.
    Gem,
    /// PHP packages (`vendor/composer/installed.json`, `composer.lock`), OSV `Packagist`.
    Composer,
    /// .NET packages (`*.deps.json`), OSV `NuGet`.
    Nuget,
}

impl Ecosystem {
    /// Every ecosystem, OS package managers first.
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Pypi,
        Ecosystem::Npm,
        Ecosystem::Golang,
        Ecosystem::Cargo,
        Ecosystem::Maven,
        Ecosystem::Gem,
        Ecosystem::Composer,
        Ecosystem::Nuget,
    ];

    /// The purl type.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Golang => "golang",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
        }
    }

    /// The ecosystem of a purl type (`pypi`, `deb`).
    pub fn from_purl_type(t: &str) -> Option<Ecosystem> {
        Ecosystem::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(t))
    }

    /// An OS package manager's ecosystem, matched through the distro release.
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }

    /// The language ecosystem's OSV name, scheme and naming rules; `None` for OS
    /// package managers.
    pub fn language(self) -> Option<&'static ecosystem::Language> {
        if self.is_os() {
            return None;
        }
        ecosystem::LANGUAGES
            .iter()
            .find(|l| l.purl_type == self.as_str())
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operating system release of an image, as read from `os-release` or a fallback file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// os-release `ID`, lowercase (`debian`, `ubuntu`, `alpine`, `rhel`, `rocky`, ...).
    pub id: String,
    /// os-release `VERSION_ID` (`12`, `22.04`, `3.18.4`, `8.9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// `CPE_NAME` where the release publishes one (Red Hat family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe_name: Option<String>,
    /// Path inside the image of the file this was read from (`etc/os-release`, ...).
    pub source: String,
}

impl Distro {
    /// `ID-VERSION_ID` as used in purl `distro=` qualifiers, e.g. `debian-12`.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{}", self.id, v),
            None => self.id.clone(),
        }
    }
}

/// A layer of the image, by position (0 = bottom) and uncompressed digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub index: usize,
    pub diff_id: Digest,
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The full version in the ecosystem's own notation, epoch included where the
    /// ecosystem has one: dpkg `1:2.3-4`, rpm `1:2.3-4.el8`, apk `1.2.3-r0`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// dpkg `Source:`, apk `origin`, rpm source rpm name. Equal to `name` when the
    /// database does not say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Version of the source package, same notation as `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
    /// package-url of the package, with `arch`, `distro`, `epoch` and `upstream` qualifiers.
    pub purl: String,
    /// Path inside the image of the database this package was read from.
    pub db_path: String,
    /// For a language package: the OS package whose database lists the file it was read
    /// from (`python3-requests` for `usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO`).
    /// The distro patches such a package and reports it under its own version, so it is
    /// matched through that OS package's advisories, not its language ecosystem's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    /// The layer that first installed this package (in the run of layers that still
    /// carry it). `None` for inputs without layers (`dir:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<LayerRef>,
    /// The layer that last changed it (installed the version now present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed: Option<LayerRef>,
    /// The package's identifier in the SBOM it was read from (CycloneDX `bom-ref`, SPDX
    /// `SPDXID`), so that reports on an SBOM refer to its own components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_ref: Option<String>,
}

impl Package {
    /// A package as an extractor finds it: identity only, purl and layers filled later.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Self {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            epoch: None,
            arch: None,
            source_name: None,
            source_version: None,
            licenses: Vec::new(),
            maintainer: None,
            purl: String::new(),
            db_path: String::new(),
            managed_by: None,
            introduced: None,
            last_changed: None,
            sbom_ref: None,
        }
    }

    /// The identity under which a package is tracked across layers: the same name and
    /// architecture in the same ecosystem is "the same package", whatever its version.
    ///
    /// Language packages are also told apart by where they were found: two virtualenvs
    /// may each hold their own `requests`.
    pub fn key(&self) -> (Ecosystem, &str, &str) {
        let third = if self.ecosystem.is_os() {
            self.arch.as_deref().unwrap_or("")
        } else {
            self.db_path.as_str()
        };
        (self.ecosystem, self.name.as_str(), third)
    }

    /// The version without its epoch prefix (`2.3-4` for `1:2.3-4`).
    pub fn version_without_epoch(&self) -> &str {
        match self.ecosystem {
            Ecosystem::Deb | Ecosystem::Rpm => match self.version.split_once(':') {
                Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
                _ => &self.version,
            },
            _ => &self.version,
        }
    }
}

/// One layer of the scanned image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub index: usize,
    /// Digest of the blob as stored (compressed); absent for `dir:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Digest of the uncompressed tar stream, from the image config.
    pub diff_id: Digest,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The history entry that produced the layer (`RUN apt-get install ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// What was scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The reference as given on the command line (`oci:build/layout:base`).
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub layers: Vec<LayerInfo>,
    /// How a container of the image runs (the config's `config` object); `None` for
    /// inputs without one (SBOMs, `dir:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
}

/// The runtime settings of an image config (OCI `config`, Docker `config`): what the
/// configuration checks judge. `env` holds values as the image has them until the scan's
/// checks stage redacts the ones that are secrets, before anything is written out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// `User`: empty or absent means root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `ExposedPorts` keys: `80/tcp`, `53/udp`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<String>,
    /// `Env`: `NAME=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `Healthcheck.Test` (`["CMD-SHELL", "curl -f http://localhost/"]`, `["NONE"]`);
    /// `None`: the image sets no healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

/// Something that went wrong without stopping the inventory (a corrupt database, an
/// unresolvable link). Its presence sets `complete` to false when it means packages may
/// be missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Which part raised it: `extractor:rpm`, `layer`, `os-release`, ...
    pub source: String,
    /// Where: `layer 2 (sha256:…) var/lib/rpm/Packages`.
    pub location: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "patchline".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The inventory of one image: the document `patchline sbom --format json` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Always [`INVENTORY_SCHEMA`] for documents this version writes.
    pub schema: String,
    pub tool: Tool,
    pub image: ImageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// False when an extractor failed on a database or a layer could only be partly read:
    /// the package list may then miss entries.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Components an SBOM lists that could not be identified as packages patchline
    /// matches (no purl, a language ecosystem): never matched, so never a clean result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unidentified: Vec<Unidentified>,
    /// Findings of the checks that ran during the layer walk (filesystem, secrets) and on
    /// the image config, already redacted; empty when no checks ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<check::CheckFinding>,
}

/// A component that was listed but could not be identified as a package to match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unidentified {
    /// `name@version`, or the purl when there is one.
    pub component: String,
    pub reason: String,
}

impl Inventory {
    pub fn new(image: ImageInfo) -> Self {
        Inventory {
            schema: INVENTORY_SCHEMA.to_string(),
            tool: Tool::default(),
            image,
            distro: None,
            packages: Vec::new(),
            complete: true,
            warnings: Vec::new(),
            unidentified: Vec::new(),
            checks: Vec::new(),
        }
    }
}

/// An untrusted string (from an image, a database, a server) made safe to put in a
/// warning or an error message: quoted, at most `max_chars` characters of it kept (cut at a
/// character boundary), control characters escaped (`escape_debug`), and `…(N bytes)`
/// appended with the full length when it was cut. The one helper every message that quotes
/// attacker-controlled text goes through.
pub fn quote_capped(s: &str, max_chars: usize) -> String {
    quote_head(s, max_chars, s.len())
}

/// [`quote_capped`] of bytes that may not be UTF-8 (invalid sequences become U+FFFD). Only
/// the first `4 * max_chars` bytes are decoded, so a huge input costs nothing.
pub fn quote_capped_bytes(b: &[u8], max_chars: usize) -> String {
    let head = &b[..b.len().min(max_chars.saturating_mul(4).saturating_add(4))];
    quote_head(&String::from_utf8_lossy(head), max_chars, b.len())
}

/// `head` is the start of a text of `total` bytes.
fn quote_head(head: &str, max_chars: usize, total: usize) -> String {
    let kept = match head.char_indices().nth(max_chars) {
        Some((i, _)) => &head[..i],
        None => head,
    };
    let mut out = String::with_capacity(kept.len() + 24);
    out.push('"');
    // As `{:?}` writes a string: `'` needs no escape between double quotes.
    for c in kept.chars() {
        match c {
            '\'' => out.push(c),
            c => out.extend(c.escape_debug()),
        }
    }
    out.push('"');
    if kept.len() < head.len() || head.len() < total {
        out.push_str(&format!("…({total} bytes)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trip_and_rejects() {
        let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert_eq!(d.short(), "e3b0c44298fc");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
        );
        for bad in [
            "sha256:abc",
            "md5:e3b0c44298fc1c149afbf4c8996fb924",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:../../../../etc/passwd/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn version_without_epoch() {
        let p = Package::new(Ecosystem::Deb, "libgcc1", "1:8-20180414-1ubuntu2");
        assert_eq!(p.version_without_epoch(), "8-20180414-1ubuntu2");
        let p = Package::new(Ecosystem::Apk, "musl", "1.1.14-r10");
        assert_eq!(p.version_without_epoch(), "1.1.14-r10");
    }

    #[test]
    fn quote_capped_cuts_escapes_and_counts() {
        assert_eq!(quote_capped("abc", 10), "\"abc\"");
        assert_eq!(quote_capped("abcdef", 3), "\"abc\"…(6 bytes)");
        assert_eq!(quote_capped("ééé", 2), "\"éé\"…(6 bytes)");
        assert_eq!(quote_capped("a\nb\u{1b}", 10), "\"a\\nb\\u{1b}\"");
        for s in ["it's \"q\"\t\\", "e\u{301}", "\u{202e}rtl"] {
            assert_eq!(
                quote_capped(s, 100),
                format!("{s:?}"),
                "same as Debug when short"
            );
        }
        let big = "x".repeat(1 << 20);
        let q = quote_capped(&big, 100);
        assert!(q.len() < 130, "{q}");
        assert!(q.ends_with("…(1048576 bytes)"));
        assert_eq!(quote_capped_bytes(b"ab\xffc", 10), "\"ab\u{fffd}c\"");
        let q = quote_capped_bytes(big.as_bytes(), 100);
        assert!(q.ends_with("\"…(1048576 bytes)"), "{q}");
        assert_eq!(q.matches('x').count(), 100);
    }
}
