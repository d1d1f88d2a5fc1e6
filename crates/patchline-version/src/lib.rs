//! Version comparison rules of each package ecosystem.
//!
//! A vulnerability matcher asks one question millions of times: is the installed
//! version of this package before, at, or after a range bound published by an
//! advisory? Every ecosystem answers it with its own rules, and getting them
//! slightly wrong produces false positives or, worse, silent misses. This crate
//! implements those rules, one module per [`Scheme`], and checks them against the
//! reference implementations' own test suites (see *Sources of truth* below).
//!
//! ```
//! use patchline_version::Scheme;
//! use std::cmp::Ordering;
//!
//! assert_eq!(Scheme::Dpkg.compare("1.0~rc1-1", "1.0-1")?, Ordering::Less);
//! assert_eq!(Scheme::Pep440.compare("1.0.post1", "1.0+local")?, Ordering::Greater);
//!
//! // Parse the installed version once, then compare it with many range bounds.
//! let installed = Scheme::Rpm.parse("2:1.1.1k-12.el8_9")?;
//! for fixed in ["1:1.1.1k-7.el8", "2:1.1.1k-14.el8_9"] {
//!     let fixed = Scheme::Rpm.parse(fixed)?;
//!     println!("{installed} < {fixed}: {}", installed < fixed);
//! }
//! # Ok::<(), patchline_version::InvalidVersion>(())
//! ```
//!
//! # Schemes
//!
//! | [`Scheme`] | ecosystems | rules of | notes |
//! |---|---|---|---|
//! | `dpkg` | Debian, Ubuntu | `dpkg --compare-versions` | `[epoch:]upstream[-revision]`; `~` sorts before the end |
//! | `rpm` | Red Hat family, SUSE, Fedora, Azure Linux | `rpmvercmp` + EVR split of `parseEVR` | `~` pre-release, `^` post-release; a missing release sorts first |
//! | `apk` | Alpine, Wolfi | apk-tools 3 `version.c` | suffix ladder `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`, `~hash`, `-rN`; fuzzy `~`: [`apk_fuzzy_match`] |
//! | `pep440` | PyPI | `packaging.version.Version` (+ `LegacyVersion`) | normalisation: [`pep440_normalize`] |
//! | `semver` | npm, crates.io | node-semver (strict), SemVer 2.0.0 precedence | build metadata ignored |
//! | `go` | Go modules | `golang.org/x/mod/semver` | optional `v`; `+incompatible` ignored; pseudo-versions are pre-releases |
//! | `maven` | Maven | `ComparableVersion` | qualifiers `alpha < beta < milestone < rc < snapshot < release < sp < others` |
//! | `gem` | RubyGems | `Gem::Version` | `-` means `.pre.`; a letter segment makes a pre-release (`1beta` ordered, as OSV does) |
//! | `nuget` | NuGet | `NuGetVersion` / `VersionComparer.Default` | up to four numbers; labels case-insensitive; metadata ignored |
//! | `composer` | Packagist | PHP `version_compare()` as OSV applies it; validity: Composer's `VersionParser` | `v` dropped; `dev < alpha < beta < RC < number < patch`; `1.0 < 1.0.0` |
//!
//! Each scheme's module ([`dpkg`], [`rpm`], [`apk`], [`pep440`], [`semver`],
//! [`gomod`], [`maven`], [`gem`], [`nuget`], [`composer`]) documents its grammar
//! and ordering in full; the types themselves are used through [`Scheme`] and
//! [`Version`].
//!
//! # Validity
//!
//! [`Scheme::parse`] (and so [`Scheme::compare`]) fails with [`InvalidVersion`]
//! when the ecosystem's own comparison would refuse the string;
//! [`Scheme::validate`] is the ecosystem's well-formedness check. They agree for
//! every scheme but four, where the ecosystem (or OSV, for it) orders strings it
//! calls malformed:
//!
//! * apk: `apk version -t` orders malformed versions (`1.0 < 1.0bc`, and apk-tools
//!   2 read `6.0.2p1-r3` fully), so `parse` accepts any non-empty string and
//!   `validate` is `apk_version_validate()`.
//! * pep440: PyPI still serves pre-PEP 440 versions and osv.dev orders them with
//!   `packaging_legacy` (before every PEP 440 version), so `parse` accepts them as
//!   legacy versions while `validate` (and [`pep440_normalize`]) accept PEP 440
//!   only.
//! * gem: osv-scalibr orders pre-releases written without a separator (`1beta`),
//!   which `Gem::Version.new` rejects; `parse` reads them by the same segment
//!   rules (`1beta` = `1.beta`), `validate` stays `Gem::Version.correct?`.
//! * composer: OSV orders Packagist versions with PHP's `version_compare()`,
//!   which takes any string; `validate` is Composer's `VersionParser::isValid`
//!   (`1.0.0-SNAPSHOT`, `4.3-2` and `1.2.3.#` are ordered but not valid).
//!
//! What each scheme rejects:
//!
//! * **dpkg**: everything dpkg's `parseversion()` reports, warnings included
//!   (empty, embedded blanks, epoch not a number or above `INT_MAX`, nothing after
//!   `:`, empty revision or upstream part, upstream not starting with a digit,
//!   characters outside `[A-Za-z0-9.+~:-]` / `[A-Za-z0-9.+~]`). dpkg only warns
//!   about the last two when comparing, but rejects them in every package it reads.
//! * **rpm**: `rpmvercmp` accepts anything; we reject the empty string, an empty
//!   version part (`1:`, `-1`) and ASCII whitespace or control characters.
//! * **apk**: `parse`: the empty string. `validate`: anything outside apk's grammar
//!   `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
//! * **pep440**: `parse`: blank strings. `validate`: anything packaging's
//!   `VERSION_PATTERN` rejects (ASCII only; surrounding whitespace allowed).
//! * **semver**: anything but node-semver's strict form (surrounding whitespace
//!   and one leading `v` allowed, then exactly three numbers without leading zeros,
//!   at most 256 characters): `1.2`, `01.2.3`, `=1.2.3`, `1.2.3-01`.
//! * **go**: `semver.IsValid`, with the `v` optional (OSV writes Go versions
//!   without it).
//! * **maven**: nothing up to Maven's own 256-character limit.
//! * **gem**: `parse`: `Gem::Version.correct?` with letters allowed in the first
//!   segment (`1..0`, `junk`). `validate`: `Gem::Version.correct?` (also `1beta`).
//! * **nuget**: `NuGetVersion.TryParse` (`v1.0`, five numbers, `1.0-01`).
//! * **composer**: `parse`: the empty string. `validate`: what Composer's
//!   `VersionParser::normalize` rejects (`feature-foo`, `1.0.0.0.0`, `1.0-meh`).
//!
//! Where a reference implementation caps numbers (Int32 in NuGet, 2^53 in
//! node-semver, 2^63 in Maven's fast paths) the cap is not reproduced: numbers of
//! any size are accepted and compared exactly. apk is the exception, because apk's
//! own wrap-around at 2^64 decides its ordering.
//!
//! # Parsed versions
//!
//! [`Version`] holds the input together with its pre-parsed components, so a
//! package version parsed once can be compared against many advisory bounds;
//! comparing two `Version`s never allocates. `Version` implements [`Ord`] within
//! one scheme. Ordering versions of *different* schemes is a logic error: it does
//! not panic, but the result (by scheme, then arbitrary) means nothing. `Version`
//! deliberately does not implement `Hash`: equality is semantic (`1.0` = `1.00` in
//! rpm, `1.0` = `1` in Maven) and no hash could follow it without a canonical form
//! per scheme.
//!
//! # Sources of truth
//!
//! `tests/suites.rs` runs these suites (copies under `shared/data/versions`,
//! provenance in `shared/data/SOURCES.md`) and reports every mismatch:
//!
//! * dpkg: `scripts/t/Dpkg_Version.t` (dpkg); osv-scalibr's Debian fixtures,
//!   generated with dpkg itself.
//! * rpm: `tests/rpmvercmp.at` (rpm); osv-scalibr's Red Hat fixture.
//! * apk: `test/unit/version.data` (apk-tools 3), ordering, validity and fuzzy
//!   matching; osv-scalibr's Alpine fixtures (the generated one made with
//!   apk-tools 2).
//! * pep440: packaging's `tests/test_version.py` (ordering, normalisation, invalid
//!   versions); osv-scalibr's PyPI fixtures, generated with packaging 21
//!   (`LegacyVersion` included).
//! * semver: node-semver's comparison and equality fixtures; osv-scalibr's SemVer
//!   fixture.
//! * go: `golang.org/x/mod/semver`'s test table; osv-scalibr's SemVer fixture.
//! * maven: Maven's `ComparableVersionTest` (current master); osv-scalibr's Maven
//!   fixtures (the generated one made with maven-artifact 3.8.6).
//! * gem: osv-scalibr's RubyGems fixtures, generated with RubyGems.
//! * nuget: osv-scalibr's NuGet fixture.
//! * composer: osv-scalibr's Packagist fixtures (the generated one made with PHP's
//!   `version_compare()`); the unit tests check `validate` against normal forms
//!   and rejections from composer/semver's `VersionParserTest`.
//!
//! The native suites agree row for row, and so do osv-scalibr's PyPI, RubyGems
//! and generated Packagist fixtures. A few dozen other osv-scalibr rows
//! contradict the ecosystem's tool as these suites define it; the test lists each
//! one with its reason instead of bending the rules to it: inputs the tool
//! rejects (`1.1.3.4.5` as SemVer), malformed apk versions that osv-scalibr's own
//! parser reads further than apk-tools 3, rows generated with Maven 3.8.6 that
//! Maven 3.9 (MNG-7644) and later order the other way, and one hand-written
//! Packagist row (`1.2.3.# = 1.2.3.1`) that no total order can honour together
//! with its neighbour `1.2.3.# = 1.2.3`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod gem;
pub mod gomod;
pub mod maven;
pub mod nuget;
mod num;
pub mod pep440;
pub mod rpm;
pub mod semver;

/// A version scheme: the syntax and ordering rules of one family of ecosystems.
/// With the `clap` feature it is a `clap::ValueEnum`, named as [`Scheme::as_str`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Scheme {
    /// Debian packages (`dpkg --compare-versions`).
    Dpkg,
    /// RPM packages (`rpmvercmp` on epoch, version, release).
    Rpm,
    /// Alpine packages (apk-tools).
    Apk,
    /// Python packages (PEP 440, `packaging`).
    Pep440,
    /// SemVer 2.0.0 (npm, crates.io).
    Semver,
    /// Go modules (`golang.org/x/mod/semver`).
    Go,
    /// Maven artifacts (`ComparableVersion`).
    Maven,
    /// Ruby gems (`Gem::Version`).
    Gem,
    /// NuGet packages (`NuGetVersion`).
    Nuget,
    /// Composer packages (Packagist): PHP's `version_compare()`, as OSV uses it.
    Composer,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::Gem,
        Scheme::Nuget,
        Scheme::Composer,
    ];

    /// The scheme's name as [`FromStr`] accepts it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Gem => "gem",
            Scheme::Nuget => "nuget",
            Scheme::Composer => "composer",
        }
    }

    /// Orders two version strings; fails if either does not parse (see
    /// [`Scheme::parse`]).
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, InvalidVersion> {
        Ok(self.parse(a)?.cmp(&self.parse(b)?))
    }

    /// Parses a version for repeated comparison.
    pub fn parse(self, v: &str) -> Result<Version, InvalidVersion> {
        let inner = match self {
            Scheme::Dpkg => dpkg::parse(v).map(Inner::Dpkg),
            Scheme::Rpm => rpm::parse(v).map(Inner::Rpm),
            Scheme::Apk => apk::parse(v).map(Inner::Apk),
            Scheme::Pep440 => pep440::parse_any(v).map(Inner::Pep440),
            Scheme::Semver => semver::parse(v).map(Inner::Semver),
            Scheme::Go => gomod::parse(v).map(Inner::Go),
            Scheme::Maven => maven::parse(v).map(Inner::Maven),
            Scheme::Gem => gem::parse(v).map(Inner::Gem),
            Scheme::Nuget => nuget::parse(v).map(Inner::Nuget),
            Scheme::Composer => composer::parse(v).map(Inner::Composer),
        };
        inner
            .map(|inner| Version { inner })
            .map_err(|reason| InvalidVersion::new(self, v, reason))
    }

    /// Checks that `v` is well-formed for the ecosystem. At least as strict as
    /// [`Scheme::parse`]; stricter only for apk, pep440, gem and composer (see the
    /// crate documentation).
    pub fn validate(self, v: &str) -> Result<(), InvalidVersion> {
        let checked = match self {
            Scheme::Apk => apk::validate(v),
            Scheme::Pep440 => pep440::parse(v).map(|_| ()),
            Scheme::Gem => gem::validate(v),
            Scheme::Composer => composer::validate(v),
            _ => return self.parse(v).map(|_| ()),
        };
        checked.map_err(|reason| InvalidVersion::new(self, v, reason))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Scheme::as_str`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown version scheme {0:?} (expected one of dpkg, rpm, apk, pep440, semver, go, maven, gem, nuget, composer)")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Accepts the names of [`Scheme::as_str`], ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|sc| sc.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownScheme(s.to_string()))
    }
}

/// A string that is not a valid version of a scheme.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct InvalidVersion {
    pub scheme: Scheme,
    pub version: String,
    pub reason: String,
}

impl InvalidVersion {
    fn new(scheme: Scheme, version: &str, reason: String) -> Self {
        // The input is untrusted: keep error messages (and logs) bounded.
        const MAX: usize = 200;
        let version = if version.len() > MAX {
            let mut end = MAX;
            while !version.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &version[..end])
        } else {
            version.to_string()
        };
        InvalidVersion {
            scheme,
            version,
            reason,
        }
    }
}

/// A parsed version of one [`Scheme`].
///
/// `Ord` and `Eq` follow the scheme's ordering (`1.0` = `1.00` for rpm);
/// comparing versions of different schemes is a logic error (see the crate
/// documentation). `Display` prints the input as given.
#[derive(Clone, Debug)]
pub struct Version {
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    Dpkg(dpkg::Dpkg),
    Rpm(rpm::Rpm),
    Apk(apk::Apk),
    Pep440(pep440::PyVersion),
    Semver(semver::SemVer),
    Go(semver::SemVer),
    Maven(maven::Maven),
    Gem(gem::Gem),
    Nuget(semver::SemVer),
    Composer(composer::Composer),
}

impl Version {
    pub fn scheme(&self) -> Scheme {
        match self.inner {
            Inner::Dpkg(_) => Scheme::Dpkg,
            Inner::Rpm(_) => Scheme::Rpm,
            Inner::Apk(_) => Scheme::Apk,
            Inner::Pep440(_) => Scheme::Pep440,
            Inner::Semver(_) => Scheme::Semver,
            Inner::Go(_) => Scheme::Go,
            Inner::Maven(_) => Scheme::Maven,
            Inner::Gem(_) => Scheme::Gem,
            Inner::Nuget(_) => Scheme::Nuget,
            Inner::Composer(_) => Scheme::Composer,
        }
    }

    /// The string this version was parsed from. dpkg, semver and nuget drop the
    /// surrounding whitespace they ignore; the other schemes keep the input as is.
    pub fn as_str(&self) -> &str {
        match &self.inner {
            Inner::Dpkg(v) => v.as_str(),
            Inner::Rpm(v) => v.as_str(),
            Inner::Apk(v) => v.as_str(),
            Inner::Pep440(v) => v.as_str(),
            Inner::Semver(v) | Inner::Go(v) | Inner::Nuget(v) => v.as_str(),
            Inner::Maven(v) => v.as_str(),
            Inner::Gem(v) => v.as_str(),
            Inner::Composer(v) => v.as_str(),
        }
    }

    /// A canonical spelling where the ecosystem defines one: PEP 440's normal form
    /// (`1.0-ALPHA1` → `1.0a1`), Maven's `getCanonical()` (`1.0.0-GA` → `1-ga`).
    /// `None` for the other schemes.
    pub fn canonical(&self) -> Option<String> {
        match &self.inner {
            Inner::Pep440(v) => v.normalized(),
            Inner::Maven(v) => Some(v.canonical()),
            _ => None,
        }
    }

    /// The epoch of a dpkg or rpm version (`0` when absent); `None` for the other
    /// schemes. rpm epochs above `u64::MAX` saturate.
    pub fn epoch(&self) -> Option<u64> {
        match &self.inner {
            Inner::Dpkg(v) => Some(u64::from(v.epoch())),
            Inner::Rpm(v) => Some(v.epoch().parse().unwrap_or(u64::MAX)),
            _ => None,
        }
    }

    /// The `+build` metadata of a semver, go or nuget version (`incompatible` in
    /// `v2.0.0+incompatible`); it never affects ordering.
    pub fn build_metadata(&self) -> Option<&str> {
        match &self.inner {
            Inner::Semver(v) | Inner::Go(v) | Inner::Nuget(v) => v.build(),
            _ => None,
        }
    }

    fn scheme_rank(&self) -> usize {
        let s = self.scheme();
        Scheme::ALL.iter().position(|&x| x == s).unwrap_or(0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.inner, &other.inner) {
            (Inner::Dpkg(a), Inner::Dpkg(b)) => dpkg::cmp(a, b),
            (Inner::Rpm(a), Inner::Rpm(b)) => rpm::cmp(a, b),
            (Inner::Apk(a), Inner::Apk(b)) => apk::cmp(a, b),
            (Inner::Pep440(a), Inner::Pep440(b)) => pep440::cmp_any(a, b),
            (Inner::Semver(a), Inner::Semver(b)) => semver::cmp(a, b),
            (Inner::Go(a), Inner::Go(b)) => gomod::cmp(a, b),
            (Inner::Maven(a), Inner::Maven(b)) => maven::cmp(a, b),
            (Inner::Gem(a), Inner::Gem(b)) => gem::cmp(a, b),
            (Inner::Nuget(a), Inner::Nuget(b)) => nuget::cmp(a, b),
            (Inner::Composer(a), Inner::Composer(b)) => composer::cmp(a, b),
            // Logic error (documented): keep the order total and deterministic.
            _ => self
                .scheme_rank()
                .cmp(&other.scheme_rank())
                .then_with(|| self.as_str().cmp(other.as_str())),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// The PEP 440 normal form of `v`, as `str(packaging.version.Version(v))` spells
/// it: `" V1.0-ALPHA-1.Rev_2 "` → `"1.0a1.post2"`.
pub fn pep440_normalize(v: &str) -> Result<String, InvalidVersion> {
    pep440::parse(v)
        .map(|p| p.normalized())
        .map_err(|reason| InvalidVersion::new(Scheme::Pep440, v, reason))
}

/// apk's fuzzy match (the `~` dependency operator): `version` agrees with
/// `pattern` on every token `pattern` has, so `3.6.9 ~ 3.6` and `3.6_pre1 ~ 3.6`
/// but not `3.8.0 ~ 3.8.1`.
pub fn apk_fuzzy_match(version: &str, pattern: &str) -> bool {
    apk::fuzzy_match(version, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip() {
        for s in Scheme::ALL {
            assert_eq!(s.as_str().parse::<Scheme>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!("PEP440".parse::<Scheme>(), Ok(Scheme::Pep440));
        assert!("npm".parse::<Scheme>().is_err());
    }

    /// The CLI's `--scheme` values are the names `FromStr` takes.
    #[cfg(feature = "clap")]
    #[test]
    fn clap_names_are_the_scheme_names() {
        use clap::ValueEnum;
        assert_eq!(Scheme::value_variants(), &Scheme::ALL);
        for s in Scheme::ALL {
            assert_eq!(s.to_possible_value().unwrap().get_name(), s.as_str());
        }
    }

    #[test]
    fn errors_name_scheme_version_and_reason() {
        let e = Scheme::Dpkg.parse("1.0-").unwrap_err();
        assert_eq!(e.scheme, Scheme::Dpkg);
        assert_eq!(
            e.to_string(),
            r#"invalid dpkg version "1.0-": revision number is empty"#
        );
        let long = "x".repeat(10_000);
        assert!(Scheme::Semver.parse(&long).unwrap_err().version.len() < 300);
    }

    #[test]
    fn validate_is_stricter_only_for_apk_pep440_gem_and_composer() {
        assert!(Scheme::Apk.parse("1.0bc").is_ok());
        assert!(Scheme::Apk.validate("1.0bc").is_err());
        assert!(Scheme::Apk.validate("1.0b").is_ok());
        assert!(Scheme::Pep440.parse("2013-01-21T20:33:09+0100").is_ok());
        assert!(Scheme::Pep440.validate("2013-01-21T20:33:09+0100").is_err());
        assert!(pep440_normalize("2013-01-21T20:33:09+0100").is_err());
        assert!(Scheme::Gem.parse("1beta").is_ok());
        assert!(Scheme::Gem.validate("1beta").is_err());
        assert!(Scheme::Gem.validate("1.beta").is_ok());
        assert!(Scheme::Composer.parse("4.3-2").is_ok());
        assert!(Scheme::Composer.validate("4.3-2").is_err());
        assert!(Scheme::Composer.validate("v4.3.2-RC1").is_ok());
        assert!(Scheme::Semver.validate("1.2").is_err());
        assert!(Scheme::Semver.parse("1.2").is_err());
    }

    #[test]
    fn composer_orders_as_written() {
        let c = |a, b| Scheme::Composer.compare(a, b).unwrap();
        assert_eq!(c("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(c("v1.0.0-RC1", "1.0.0rc1"), Ordering::Equal);
        assert_eq!(c("1.0.0-beta", "1.0.0"), Ordering::Less);
        assert_eq!(c("1.0.0-p1", "1.0.0"), Ordering::Greater);
    }

    #[test]
    fn version_accessors() {
        let v = Scheme::Pep440.parse(" 1.0-ALPHA1 ").unwrap();
        assert_eq!(v.scheme(), Scheme::Pep440);
        assert_eq!(v.as_str(), " 1.0-ALPHA1 ");
        assert_eq!(v.canonical().as_deref(), Some("1.0a1"));
        assert_eq!(Scheme::Rpm.parse("3:1-1").unwrap().epoch(), Some(3));
        assert_eq!(Scheme::Dpkg.parse("1.0").unwrap().epoch(), Some(0));
        assert_eq!(Scheme::Go.parse("v1.0.0").unwrap().epoch(), None);
        let go = Scheme::Go.parse("v2.3.0+incompatible").unwrap();
        assert_eq!(go.build_metadata(), Some("incompatible"));
    }

    #[test]
    fn cross_scheme_order_is_total_but_meaningless() {
        let a = Scheme::Dpkg.parse("1.0").unwrap();
        let b = Scheme::Rpm.parse("1.0").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
    }
}
