//! From an image's os-release to the advisory ecosystems of its release, and the release's
//! end of life.

use patchline_model::{Distro, Ecosystem};
use patchline_version::Scheme;
use time::{Date, Month};

/// A distro family whose own advisories patchline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Debian,
    Ubuntu,
    Alpine,
    RedHat,
    Rocky,
    Alma,
    /// CentOS has no feed of its own; like Trivy, patchline reads Red Hat's data for it.
    CentOs,
}

impl Family {
    /// The package manager whose database this family's packages come from.
    pub fn package_ecosystem(self) -> Ecosystem {
        match self {
            Family::Debian | Family::Ubuntu => Ecosystem::Deb,
            Family::Alpine => Ecosystem::Apk,
            Family::RedHat | Family::Rocky | Family::Alma | Family::CentOs => Ecosystem::Rpm,
        }
    }

    /// The version scheme of the family's packages.
    pub fn scheme(self) -> Scheme {
        match self.package_ecosystem() {
            Ecosystem::Deb => Scheme::Dpkg,
            Ecosystem::Apk => Scheme::Apk,
            Ecosystem::Rpm => Scheme::Rpm,
        }
    }

    /// The name severity ratings of this distro carry (`SeverityScore::kind`, lowercased)
    /// and that findings name in `severity_source`.
    pub fn vendor(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Ubuntu => "ubuntu",
            Family::Alpine => "alpine",
            Family::RedHat | Family::CentOs => "red hat",
            Family::Rocky => "rocky linux",
            Family::Alma => "almalinux",
        }
    }
}

/// A distro release as the matcher uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub family: Family,
    /// The release's version as its feeds name it: `12`, `22.04`, `3.18`, `8`.
    pub version: String,
    /// OSV ecosystem strings to look packages up in, most specific first.
    pub ecosystems: Vec<String>,
    /// End of the release's (security or LTS) support, when the embedded table knows it.
    pub eol: Option<Date>,
}

impl Release {
    /// True when the release is past its end of life on `today`.
    pub fn is_eol(&self, today: Date) -> bool {
        self.eol.is_some_and(|d| today > d)
    }
}

/// Debian code names for images whose os-release has no `VERSION_ID` (testing images
/// built from a code name still name it).
const DEBIAN_CODENAMES: &[(&str, &str)] = &[
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
];

/// Works out the release and its advisory ecosystems from os-release. `None` for a distro
/// patchline has no feed for (its OS packages are then not matched) or a release it
/// cannot name (Debian sid, which has no `VERSION_ID`).
pub fn release(d: &Distro) -> Option<Release> {
    let id = d.id.to_ascii_lowercase();
    let version_id = d.version_id.as_deref().map(str::trim).unwrap_or("");
    let (family, version) = match id.as_str() {
        "debian" => {
            let major = match first_number(version_id) {
                Some(m) => m.to_string(),
                None => {
                    let code = d.version_codename.as_deref()?;
                    DEBIAN_CODENAMES
                        .iter()
                        .find(|(c, _)| *c == code)
                        .map(|(_, v)| v.to_string())?
                }
            };
            (Family::Debian, major)
        }
        "ubuntu" => {
            let mut parts = version_id.split('.');
            let (major, minor) = (parts.next()?, parts.next()?);
            if !is_number(major) || !is_number(minor) {
                return None;
            }
            (Family::Ubuntu, format!("{major}.{minor}"))
        }
        "alpine" => {
            let mut parts = version_id.split('.');
            let (major, minor) = (parts.next()?, parts.next()?);
            if !is_number(major) || !is_number(minor) {
                return None;
            }
            (Family::Alpine, format!("{major}.{minor}"))
        }
        "rhel" => (Family::RedHat, first_number(version_id)?.to_string()),
        "rocky" => (Family::Rocky, first_number(version_id)?.to_string()),
        "almalinux" => (Family::Alma, first_number(version_id)?.to_string()),
        "centos" => (Family::CentOs, first_number(version_id)?.to_string()),
        _ => return None,
    };
    let ecosystems = match family {
        Family::Debian => vec![format!("Debian:{version}")],
        Family::Ubuntu => {
            // osv.dev names LTS releases `Ubuntu:22.04:LTS`; other feeds (and interim
            // releases) use the bare version.
            let mut v = vec![format!("Ubuntu:{version}")];
            if is_ubuntu_lts(&version) {
                v.insert(0, format!("Ubuntu:{version}:LTS"));
            }
            v
        }
        Family::Alpine => vec![format!("Alpine:v{version}")],
        Family::RedHat | Family::CentOs => vec![format!("Red Hat:{version}")],
        Family::Rocky => vec![format!("Rocky Linux:{version}")],
        Family::Alma => vec![format!("AlmaLinux:{version}")],
    };
    let eol = eol_date(family, &version);
    Some(Release {
        family,
        version,
        ecosystems,
        eol,
    })
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit())
}

fn first_number(s: &str) -> Option<&str> {
    let major = s.split('.').next()?;
    is_number(major).then_some(major)
}

fn is_ubuntu_lts(version: &str) -> bool {
    match version.split_once('.') {
        Some((major, "04")) => major.parse::<u32>().is_ok_and(|m| m % 2 == 0),
        _ => false,
    }
}

/// End-of-life dates. Debian: end of LTS (the security tracker keeps tracking a release
/// through LTS). Ubuntu: end of standard support (ESM data needs Ubuntu Pro). Alpine: end
/// of the branch's security support. Red Hat family: end of maintenance support. Dates
/// are from each project's published release pages, to the day where the project gives
/// one, else the end of the announced month.
const EOL: &[(Family, &str, (i32, u8, u8))] = &[
    (Family::Debian, "7", (2018, 5, 31)),
    (Family::Debian, "8", (2020, 6, 30)),
    (Family::Debian, "9", (2022, 6, 30)),
    (Family::Debian, "10", (2024, 6, 30)),
    (Family::Debian, "11", (2026, 8, 31)),
    (Family::Debian, "12", (2028, 6, 30)),
    (Family::Debian, "13", (2030, 6, 30)),
    (Family::Ubuntu, "14.04", (2019, 4, 30)),
    (Family::Ubuntu, "16.04", (2021, 4, 30)),
    (Family::Ubuntu, "18.04", (2023, 5, 31)),
    (Family::Ubuntu, "20.04", (2025, 5, 31)),
    (Family::Ubuntu, "21.04", (2022, 1, 20)),
    (Family::Ubuntu, "21.10", (2022, 7, 14)),
    (Family::Ubuntu, "22.04", (2027, 5, 31)),
    (Family::Ubuntu, "22.10", (2023, 7, 20)),
    (Family::Ubuntu, "23.04", (2024, 1, 25)),
    (Family::Ubuntu, "23.10", (2024, 7, 11)),
    (Family::Ubuntu, "24.04", (2029, 5, 31)),
    (Family::Ubuntu, "24.10", (2025, 7, 10)),
    (Family::Alpine, "3.8", (2020, 5, 1)),
    (Family::Alpine, "3.9", (2021, 1, 1)),
    (Family::Alpine, "3.10", (2021, 5, 1)),
    (Family::Alpine, "3.11", (2021, 11, 1)),
    (Family::Alpine, "3.12", (2022, 5, 1)),
    (Family::Alpine, "3.13", (2022, 11, 1)),
    (Family::Alpine, "3.14", (2023, 5, 1)),
    (Family::Alpine, "3.15", (2023, 11, 1)),
    (Family::Alpine, "3.16", (2024, 5, 23)),
    (Family::Alpine, "3.17", (2024, 11, 22)),
    (Family::Alpine, "3.18", (2025, 5, 9)),
    (Family::Alpine, "3.19", (2025, 11, 1)),
    (Family::Alpine, "3.20", (2026, 4, 1)),
    (Family::Alpine, "3.21", (2026, 11, 1)),
    (Family::Alpine, "3.22", (2027, 5, 1)),
    (Family::RedHat, "6", (2020, 11, 30)),
    (Family::RedHat, "7", (2024, 6, 30)),
    (Family::RedHat, "8", (2029, 5, 31)),
    (Family::RedHat, "9", (2032, 5, 31)),
    (Family::CentOs, "6", (2020, 11, 30)),
    (Family::CentOs, "7", (2024, 6, 30)),
    (Family::CentOs, "8", (2021, 12, 31)),
    (Family::Rocky, "8", (2029, 5, 31)),
    (Family::Rocky, "9", (2032, 5, 31)),
    (Family::Alma, "8", (2029, 5, 31)),
    (Family::Alma, "9", (2032, 5, 31)),
];

/// The end-of-life date of a release, when the embedded table has it.
pub fn eol_date(family: Family, version: &str) -> Option<Date> {
    EOL.iter()
        .find(|(f, v, _)| *f == family && *v == version)
        .and_then(|(_, _, (y, m, d))| {
            Date::from_calendar_date(*y, Month::try_from(*m).ok()?, *d).ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version_id: Option<&str>, codename: Option<&str>) -> Distro {
        Distro {
            id: id.into(),
            version_id: version_id.map(Into::into),
            version_codename: codename.map(Into::into),
            source: "etc/os-release".into(),
            ..Default::default()
        }
    }

    #[test]
    fn ecosystems_per_family() {
        let cases = [
            (
                distro("debian", Some("12"), Some("bookworm")),
                vec!["Debian:12"],
            ),
            (distro("debian", Some("10.1"), None), vec!["Debian:10"]),
            (distro("debian", None, Some("bookworm")), vec!["Debian:12"]),
            (
                distro("ubuntu", Some("22.04"), Some("jammy")),
                vec!["Ubuntu:22.04:LTS", "Ubuntu:22.04"],
            ),
            (distro("ubuntu", Some("23.10"), None), vec!["Ubuntu:23.10"]),
            (distro("alpine", Some("3.18.4"), None), vec!["Alpine:v3.18"]),
            (distro("rhel", Some("8.9"), None), vec!["Red Hat:8"]),
            (distro("rocky", Some("9.3"), None), vec!["Rocky Linux:9"]),
            (distro("almalinux", Some("8.5"), None), vec!["AlmaLinux:8"]),
            (distro("centos", Some("7"), None), vec!["Red Hat:7"]),
        ];
        for (d, want) in cases {
            let r = release(&d).unwrap_or_else(|| panic!("{d:?}"));
            assert_eq!(r.ecosystems, want, "{d:?}");
        }
        assert!(release(&distro("debian", None, Some("sid"))).is_none());
        assert!(release(&distro("arch", None, None)).is_none());
        assert!(release(&distro("alpine", Some("edge"), None)).is_none());
    }

    #[test]
    fn end_of_life() {
        let today = Date::from_calendar_date(2026, Month::November, 28).unwrap();
        let eol = |id, v| release(&distro(id, Some(v), None)).unwrap().is_eol(today);
        assert!(eol("debian", "9"));
        assert!(eol("debian", "11"));
        assert!(!eol("debian", "12"));
        assert!(eol("alpine", "3.10.2"));
        assert!(!eol("alpine", "3.22.1"));
        assert!(eol("ubuntu", "18.04"));
        assert!(!eol("ubuntu", "24.04"));
        assert!(eol("centos", "7.6.1810"));
        assert!(!eol("rhel", "9.4"));
        // A release the table does not know is not flagged.
        assert!(!eol("alpine", "3.40"));
    }
}
