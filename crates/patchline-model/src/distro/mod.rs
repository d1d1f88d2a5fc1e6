//! Everything patchline knows about each Linux distribution, in one place.
//!
//! One module per family ([`debian`], [`ubuntu`], [`alpine`], [`wolfi`], [`redhat`],
//! [`amazon`], [`suse`], [`photon`], [`azurelinux`]) defines a [`Spec`] per distro: its
//! os-release ids and the other names tools write for it, its release names and code
//! names, the OSV ecosystems its advisories live in and the feeds that carry them, its
//! end-of-life dates, its package manager (and so version scheme), the upgrade command
//! patch plans write, and its purl type and namespace. [`Registry::builtin`] lists them,
//! one line each, and every crate asks the registry: the inventory (os-release fallbacks,
//! purls), the SBOM readers (distro names and `distro=` spellings), the advisory importers
//! (Debian code names, Ubuntu's `:LTS`), the matcher (ecosystems, scheme, vendor rating,
//! end of life), `db update` (the default feed set) and patch plans (upgrade commands).
//!
//! Adding a distro is one module (or one `Spec` in its family's module) plus one line in
//! [`BUILTIN`]. A distro without a feed is still recognised: scans then say "no advisory
//! data for <distro> <release>" instead of treating it as unknown.
//!
//! Names are matched case-insensitively. A release is resolved from any spelling an image
//! or an SBOM uses: `12`, `12.5`, `bookworm`, `debian-12` (after the id is split off),
//! `3.16.0`, `v3.16`, `22.04`, `jammy`, `22.04 LTS`.

use std::borrow::Cow;
use std::sync::OnceLock;

use patchline_version::Scheme;

use crate::{Distro, Ecosystem};

pub mod alpine;
pub mod amazon;
pub mod azurelinux;
pub mod debian;
pub mod photon;
pub mod redhat;
pub mod suse;
pub mod ubuntu;
pub mod wolfi;

/// The built-in registry: one line per distro. No two specs claim the same name (a test
/// checks it); the order is the order `etc/*-release` fallback files are tried in.
pub const BUILTIN: &[&Spec] = &[
    &debian::DEBIAN,
    &ubuntu::UBUNTU,
    &alpine::ALPINE,
    &wolfi::WOLFI,
    &wolfi::CHAINGUARD,
    &redhat::RHEL,
    // Rocky, Alma and Oracle before CentOS: their `etc/*-release` files are read first.
    &redhat::ROCKY,
    &redhat::ALMA,
    &redhat::ORACLE,
    &redhat::CENTOS,
    &redhat::FEDORA,
    &amazon::AMAZON,
    &suse::SLES,
    &suse::OPENSUSE_LEAP,
    &suse::OPENSUSE_TUMBLEWEED,
    &photon::PHOTON,
    &azurelinux::AZURE_LINUX,
];

/// The command a patch plan adds to a Containerfile to upgrade packages. `{pkgs}` is
/// replaced by the space-separated package names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upgrade {
    pub tool: &'static str,
    pub command: &'static str,
}

impl Upgrade {
    pub fn render(&self, packages: &[String]) -> String {
        self.command.replace("{pkgs}", &packages.join(" "))
    }
}

/// A year, month and day (end-of-life dates), kept free of a date crate so the model
/// stays plain data; the matcher turns it into its own date type.
pub type Day = (i32, u8, u8);

/// One distribution. Each field is documented where a family module fills it; the
/// constants in [`defaults`] give the common values so a spec names only what differs.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The os-release `ID` (`debian`, `rhel`, `opensuse-leap`).
    pub id: &'static str,
    /// The distro's name as reports print it (`Debian`, `Red Hat Enterprise Linux`).
    pub name: &'static str,
    /// Other os-release ids that are the same distro (`mariner` for Azure Linux).
    pub other_ids: &'static [&'static str],
    /// Names other tools and files use for it, lowercase: purl namespaces (`redhat`),
    /// SBOM operating-system names (`red hat enterprise linux`), the name in its
    /// `/etc/*-release` line (`rocky linux`).
    pub aliases: &'static [&'static str],
    /// Derivatives that share the package manager but not the advisories (`raspbian`,
    /// `kali`): patch plans know how to upgrade them, the matcher does not match them.
    pub derivatives: &'static [&'static str],
    /// The package database its OS packages come from; gives the purl type and scheme.
    pub packages: Ecosystem,
    /// The purl namespace of its packages (`debian`, `redhat`).
    pub purl_namespace: &'static str,
    /// `etc/*-release` one-line files that name this distro when os-release is missing,
    /// most specific first (`etc/rocky-release`).
    pub release_files: &'static [&'static str],
    /// Release code names and the release each names (`bookworm` → `12`).
    pub codenames: &'static [(&'static str, &'static str)],
    /// Brings a version spelling (already without a leading `v` or code name) to the
    /// release the feeds name: `12.5` → `12`, `3.16.0` → `3.16`. `None`: not a release.
    pub release: fn(&str) -> Option<String>,
    /// A rolling distro has one release; its version ids are snapshots (`wolfi`).
    pub rolling: bool,
    /// os-release's `VERSION_ID` is the release itself (Debian's `12`, CentOS's `7`), so
    /// a longer spelling another tool read elsewhere (Trivy's `12.5` from
    /// `/etc/debian_version`) is cut to it when an SBOM is read back.
    pub version_id_is_release: bool,
    /// The OSV ecosystem strings a release's advisories are looked up in, most specific
    /// first (`Debian:12`, `Alpine:v3.16`). Empty when patchline knows of no such data.
    pub ecosystems: fn(&str) -> Vec<String>,
    /// OSV ecosystem names (the part before the first `:`) that belong to this distro,
    /// for version schemes and feed normalisation (`Debian`, `Red Hat`).
    pub osv_names: &'static [&'static str],
    /// Rewrites an ecosystem string a feed writes into the one patchline stores and
    /// looks up (Ubuntu drops `:LTS`). `None`: kept as written.
    pub normalize_ecosystem: Option<fn(&str) -> Option<String>>,
    /// `db update` sources that carry this distro's advisories (names of
    /// `patchline-advisory`'s built-in sources). Fetched by default.
    pub feeds: &'static [&'static str],
    /// End of (security or LTS) support per release, where the project publishes one.
    pub eol: &'static [(&'static str, Day)],
    /// The `severity_source` of findings rated by this distro (`debian`, `redhat`).
    pub vendor: &'static str,
    /// Lowercased prefixes of the severity `type`s its advisories carry its rating in.
    pub vendor_ratings: &'static [&'static str],
    /// The upgrade command of patch plans.
    pub upgrade: Upgrade,
    /// The upgrade command for minimal images that ship a smaller package manager
    /// (`microdnf` in `ubi-minimal`), when the image's base names say `minimal`.
    pub upgrade_minimal: Option<Upgrade>,
}

/// Common values, for `Spec { id: ..., ..defaults::DPKG }`.
pub mod defaults {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }
    fn no_ecosystems(_: &str) -> Vec<String> {
        Vec::new()
    }

    const BASE: Spec = Spec {
        id: "",
        name: "",
        other_ids: &[],
        aliases: &[],
        derivatives: &[],
        packages: Ecosystem::Deb,
        purl_namespace: "",
        release_files: &[],
        codenames: &[],
        release: none,
        rolling: false,
        version_id_is_release: false,
        ecosystems: no_ecosystems,
        osv_names: &[],
        normalize_ecosystem: None,
        feeds: &[],
        eol: &[],
        vendor: "",
        vendor_ratings: &[],
        upgrade: Upgrade {
            tool: "",
            command: "",
        },
        upgrade_minimal: None,
    };

    pub const DPKG: Spec = Spec {
        packages: Ecosystem::Deb,
        upgrade: Upgrade {
            tool: "apt-get",
            command: "apt-get update && apt-get install --only-upgrade -y {pkgs} && rm -rf /var/lib/apt/lists/*",
        },
        ..BASE
    };

    pub const APK: Spec = Spec {
        packages: Ecosystem::Apk,
        upgrade: Upgrade {
            tool: "apk",
            command: "apk upgrade --no-cache {pkgs}",
        },
        ..BASE
    };

    pub const DNF: Spec = Spec {
        packages: Ecosystem::Rpm,
        release: super::major,
        upgrade: Upgrade {
            tool: "dnf",
            command: "dnf upgrade -y {pkgs} && dnf clean all",
        },
        upgrade_minimal: Some(Upgrade {
            tool: "microdnf",
            command: "microdnf upgrade -y {pkgs} && microdnf clean all",
        }),
        ..BASE
    };

    pub const TDNF: Spec = Spec {
        packages: Ecosystem::Rpm,
        upgrade: Upgrade {
            tool: "tdnf",
            command: "tdnf upgrade -y {pkgs} && tdnf clean all",
        },
        ..BASE
    };

    pub const ZYPPER: Spec = Spec {
        packages: Ecosystem::Rpm,
        upgrade: Upgrade {
            tool: "zypper",
            command: "zypper --non-interactive update {pkgs} && zypper clean --all",
        },
        ..BASE
    };
}

impl Spec {
    /// The version scheme of its packages.
    pub fn scheme(&self) -> Scheme {
        package_scheme(self.packages).expect("a distro's packages are an OS package manager's")
    }

    /// Is `name` (an os-release id or one of the names other tools use) this distro?
    pub fn is_named(&self, name: &str) -> bool {
        let n = name.trim();
        n.eq_ignore_ascii_case(self.id)
            || self.other_ids.iter().any(|i| n.eq_ignore_ascii_case(i))
            || self.aliases.iter().any(|a| n.eq_ignore_ascii_case(a))
    }

    /// The release a version or code name spells, as the feeds name it: `12`, `12.5`,
    /// `bookworm` and `bookworm/sid` give `12` for Debian; `3.16.0` and `v3.16` give
    /// `3.16` for Alpine. A rolling distro's release is its id.
    pub fn resolve_release(&self, version: Option<&str>, codename: Option<&str>) -> Option<String> {
        if self.rolling {
            return Some(self.id.to_string());
        }
        let from_version = version
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .and_then(|v| self.release_of(v));
        from_version.or_else(|| codename.and_then(|c| self.release_of(c)))
    }

    fn release_of(&self, spelling: &str) -> Option<String> {
        let s = spelling.trim();
        // `bookworm/sid`: Debian testing names the next release first.
        let s = s.split('/').next().unwrap_or(s).trim();
        // `22.04 LTS`, `8.9 (Ootpa)`: the release is the first word.
        let s = s.split_whitespace().next().unwrap_or(s);
        if let Some(rel) = self.codename_release(s) {
            return Some(rel.to_string());
        }
        let s = s
            .strip_prefix('v')
            .or_else(|| s.strip_prefix('V'))
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(s);
        (self.release)(s)
    }

    /// The release a code name names (`jammy` → `22.04`).
    pub fn codename_release(&self, codename: &str) -> Option<&'static str> {
        let c = codename.trim();
        self.codenames
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(c))
            .map(|(_, rel)| *rel)
    }

    /// The code name of a release (`12` → `bookworm`), for display.
    pub fn release_codename(&self, release: &str) -> Option<&'static str> {
        self.codenames
            .iter()
            .find(|(_, rel)| *rel == release)
            .map(|(name, _)| *name)
    }

    /// End of support of a release, when the embedded table has it.
    pub fn eol_of(&self, release: &str) -> Option<Day> {
        self.eol
            .iter()
            .find(|(r, _)| *r == release)
            .map(|(_, d)| *d)
    }

    /// The upgrade command for an image whose base names are `names` (a `minimal` base
    /// gets the minimal package manager where the distro has one).
    pub fn upgrade_for(&self, names: &[&str]) -> Upgrade {
        let minimal = names
            .iter()
            .any(|n| n.to_ascii_lowercase().contains("minimal"));
        match (minimal, self.upgrade_minimal) {
            (true, Some(m)) => m,
            _ => self.upgrade,
        }
    }
}

/// The version scheme of a package database; `None` for a language ecosystem without
/// one yet.
pub fn package_scheme(e: Ecosystem) -> Option<Scheme> {
    match e {
        Ecosystem::Deb => Some(Scheme::Dpkg),
        Ecosystem::Apk => Some(Scheme::Apk),
        Ecosystem::Rpm => Some(Scheme::Rpm),
        lang => lang.language().and_then(|l| l.scheme),
    }
}

/// A distro release the registry recognised.
#[derive(Clone, Debug)]
pub struct Release {
    pub spec: &'static Spec,
    /// The release as the feeds name it (`12`, `22.04`, `3.16`, `8`); a rolling
    /// distro's id.
    pub version: String,
    /// OSV ecosystems to look packages up in, most specific first; empty when patchline
    /// knows of no advisory data for the distro.
    pub ecosystems: Vec<String>,
    /// End of support, when known.
    pub eol: Option<Day>,
}

impl Release {
    /// `Debian 12`, `Alpine 3.16`, `Wolfi` (for messages).
    pub fn display(&self) -> String {
        if self.spec.rolling {
            self.spec.name.to_string()
        } else {
            format!("{} {}", self.spec.name, self.version)
        }
    }
}

/// What the registry makes of an image's or SBOM's distro.
#[derive(Clone, Debug)]
pub enum Recognition {
    /// A known distro at a known release.
    Release(Release),
    /// A known distro whose release could not be named (Debian sid, Alpine edge, no
    /// version at all).
    UnknownRelease { spec: &'static Spec },
    /// A distro the registry does not know.
    Unknown,
}

/// A list of distro specs to answer questions from. [`Registry::builtin`] is the one
/// every crate uses; tests build their own with [`Registry::new`] to add a distro.
#[derive(Clone, Debug)]
pub struct Registry {
    specs: Vec<&'static Spec>,
}

impl Registry {
    pub fn new(specs: Vec<&'static Spec>) -> Registry {
        Registry { specs }
    }

    /// The registry of [`BUILTIN`].
    pub fn builtin() -> &'static Registry {
        static REG: OnceLock<Registry> = OnceLock::new();
        REG.get_or_init(|| Registry::new(BUILTIN.to_vec()))
    }

    /// The built-in specs plus `extra` (tests adding a distro).
    pub fn with(&self, extra: &'static Spec) -> Registry {
        let mut specs = self.specs.clone();
        specs.push(extra);
        Registry { specs }
    }

    pub fn specs(&self) -> &[&'static Spec] {
        &self.specs
    }

    /// The distro an os-release id, a purl namespace or another tool's name for it
    /// names: `debian`, `redhat`, `Red Hat Enterprise Linux`, `cbl-mariner`.
    pub fn by_name(&self, name: &str) -> Option<&'static Spec> {
        let n = name.trim();
        if n.is_empty() {
            return None;
        }
        self.specs.iter().copied().find(|s| s.is_named(n))
    }

    /// The distro whose package manager a derivative (`raspbian`, `kali`) uses, for
    /// upgrade commands; the distro itself when `name` is one.
    pub fn by_name_or_derivative(&self, name: &str) -> Option<&'static Spec> {
        self.by_name(name).or_else(|| {
            let n = name.trim();
            self.specs
                .iter()
                .copied()
                .find(|s| s.derivatives.iter().any(|d| n.eq_ignore_ascii_case(d)))
        })
    }

    /// What an os-release (or an SBOM's operating system) is.
    pub fn recognize(&self, d: &Distro) -> Recognition {
        let Some(spec) = self.by_name(&d.id) else {
            return Recognition::Unknown;
        };
        match spec.resolve_release(d.version_id.as_deref(), d.version_codename.as_deref()) {
            Some(version) => Recognition::Release(self.release(spec, version)),
            None => Recognition::UnknownRelease { spec },
        }
    }

    /// The known release of `d`, or `None` (see [`Registry::recognize`]).
    pub fn release_of(&self, d: &Distro) -> Option<Release> {
        match self.recognize(d) {
            Recognition::Release(r) => Some(r),
            _ => None,
        }
    }

    fn release(&self, spec: &'static Spec, version: String) -> Release {
        Release {
            spec,
            ecosystems: (spec.ecosystems)(&version),
            eol: spec.eol_of(&version),
            version,
        }
    }

    /// Brings a distro named by another tool (an SBOM's operating-system entry, a purl
    /// `distro=` qualifier) to the os-release identity images carry: the canonical id,
    /// and a `VERSION_ID` the release resolves from (`bookworm` → `12`, `v3.16` →
    /// `3.16`). Unknown distros are only lowercased.
    pub fn normalize(&self, d: &mut Distro) {
        let Some(spec) = self.by_name(&d.id) else {
            d.id = d.id.trim().to_ascii_lowercase();
            return;
        };
        d.id = spec.id.to_string();
        if spec.rolling {
            return;
        }
        let version = d.version_id.clone();
        if let Some(v) = version.as_deref() {
            // `debian-12` where a bare version belongs (a purl qualifier copied whole).
            let v = std::iter::once(&spec.id)
                .chain(spec.other_ids)
                .chain(spec.aliases)
                .find_map(|n| {
                    let head = v.trim().get(..n.len() + 1)?;
                    head[..n.len()]
                        .eq_ignore_ascii_case(n)
                        .then(|| &v.trim()[n.len() + 1..])
                        .filter(|_| head.ends_with('-'))
                })
                .unwrap_or(v.trim());
            if v != version.as_deref().unwrap_or("").trim() {
                d.version_id = Some(v.to_string());
            }
            if let Some(rel) = spec.codename_release(v) {
                // `distro=bookworm`: the release's code name in the version's place.
                d.version_codename
                    .get_or_insert_with(|| v.to_ascii_lowercase());
                d.version_id = Some(rel.to_string());
            } else if let Some(stripped) = v
                .strip_prefix('v')
                .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            {
                d.version_id = Some(stripped.to_string());
            }
        }
        if spec.version_id_is_release {
            if let Some(rel) = d.version_id.as_deref().and_then(spec.release) {
                d.version_id = Some(rel);
            }
        }
        if d.version_id.is_none() {
            if let Some(rel) = d
                .version_codename
                .as_deref()
                .and_then(|c| spec.codename_release(c))
            {
                d.version_id = Some(rel.to_string());
            }
        }
    }

    /// Reads a purl `distro=` qualifier in any form tools write: `debian-12`,
    /// `debian-12.5`, `bookworm`, `12`, `alpine-3.16.0`, `3.16.0`, `v3.16`,
    /// `ubuntu-22.04`, `jammy`, `opensuse-leap-15.5`. `namespace` (the purl's, `debian`)
    /// names the distro when the qualifier does not. The result is normalised
    /// ([`Registry::normalize`]).
    pub fn distro_from_qualifier(&self, qualifier: &str, namespace: Option<&str>) -> Distro {
        let q = qualifier.trim();
        let (id, version) = self.split_qualifier(q, namespace);
        let mut d = Distro {
            id,
            version_id: version,
            ..Default::default()
        };
        self.normalize(&mut d);
        d
    }

    fn split_qualifier(&self, q: &str, namespace: Option<&str>) -> (String, Option<String>) {
        // A known name, possibly followed by `-VERSION`.
        let mut best: Option<(&str, &str)> = None;
        for spec in &self.specs {
            for name in std::iter::once(&spec.id)
                .chain(spec.other_ids.iter())
                .chain(spec.aliases.iter())
            {
                if q.len() >= name.len() && q[..name.len()].eq_ignore_ascii_case(name) {
                    let rest = &q[name.len()..];
                    let ok = rest.is_empty() || rest.starts_with('-');
                    if ok && best.is_none_or(|(n, _)| name.len() > n.len()) {
                        best = Some((name, rest.strip_prefix('-').unwrap_or(rest)));
                    }
                }
            }
        }
        if let Some((name, rest)) = best {
            let rest = rest.trim();
            return (
                name.to_string(),
                (!rest.is_empty()).then(|| rest.to_string()),
            );
        }
        // A bare release or code name: the purl namespace says whose.
        if let Some(spec) = namespace.and_then(|n| self.by_name(n)) {
            if !q.is_empty() {
                return (spec.id.to_string(), Some(q.to_string()));
            }
            return (spec.id.to_string(), None);
        }
        // An unknown `ID-VERSION`: the version starts after the last `-` before a digit.
        let bytes = q.as_bytes();
        for (i, b) in bytes.iter().enumerate().rev() {
            if *b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                return (q[..i].to_string(), Some(q[i + 1..].to_string()));
            }
        }
        (q.to_string(), None)
    }

    /// The ecosystem string patchline stores and looks up for one a feed writes
    /// (`Ubuntu:22.04:LTS` → `Ubuntu:22.04`); others are kept as written.
    pub fn normalize_ecosystem<'a>(&self, ecosystem: &'a str) -> Cow<'a, str> {
        let name = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
        for spec in &self.specs {
            if let Some(f) = spec.normalize_ecosystem {
                if spec.osv_names.contains(&name) {
                    if let Some(n) = f(ecosystem) {
                        return Cow::Owned(n);
                    }
                }
            }
        }
        Cow::Borrowed(ecosystem)
    }

    /// The distro an OSV ecosystem string belongs to (`Debian:12` → Debian).
    pub fn by_ecosystem(&self, ecosystem: &str) -> Option<&'static Spec> {
        let name = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
        self.specs
            .iter()
            .copied()
            .find(|s| s.osv_names.contains(&name))
    }

    /// The `db update` sources that carry the advisories of every distro patchline
    /// matches (each named once, in registry order).
    pub fn feeds(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for s in &self.specs {
            for f in s.feeds {
                if !out.contains(f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// The `etc/*-release` one-line files, most specific first, with the distro each
    /// names when its text names nobody known.
    pub fn release_files(&self) -> Vec<(&'static str, &'static Spec)> {
        self.specs
            .iter()
            .flat_map(|s| s.release_files.iter().map(move |f| (*f, *s)))
            .collect()
    }
}

/// `8.9` → `8`; `2018.03` → `2018`: the first number.
pub fn major(v: &str) -> Option<String> {
    let m = v.split('.').next()?;
    is_number(m).then(|| m.to_string())
}

/// `3.16.0` → `3.16`; `22.04` → `22.04`: the first two numbers.
pub fn major_minor(v: &str) -> Option<String> {
    let mut parts = v.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (is_number(major) && is_number(minor)).then(|| format!("{major}.{minor}"))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
