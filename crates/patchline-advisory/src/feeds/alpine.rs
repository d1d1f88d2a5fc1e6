//! Alpine secdb JSON (<https://secdb.alpinelinux.org/>, one file per release and
//! repository): `{distroversion: "v3.11", reponame, packages: [{pkg: {name, secfixes:
//! {"1.2.3-r0": ["CVE-…", …]}}}]}`.
//!
//! One [`Advisory`] per vulnerability id, named like osv.dev names its Alpine records
//! (`ALPINE-CVE-2018-1333`, alias `CVE-2018-1333`); each (package, fixed version) is an
//! `affected` entry in the ecosystem the distro registry names for the `distroversion`
//! ([`secdb_ecosystem`]: `v3.11` → `Alpine:v3.11`) with range introduced 0, fixed
//! V and state `Fixed`. The fixed version `0` means the package was never affected
//! (`NotAffected`, no range). A secfix line may hold several ids and free text
//! (`CVE-2019-1234 CVE-2019-5678`, `XSA-123`, `CVE-2017-1000082 (systemd)`): every id in
//! it is taken; a line without any id is skipped with a warning.

use std::collections::BTreeMap;

use patchline_model::vuln::{Advisory, Affected, DistroState, Event, Range, RangeKind};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use patchline_model::distro::alpine::secdb_ecosystem;

use super::{Document, Feed, Format, Sink, Yields};
use crate::error::{json_error, Origin, Result};
use crate::util::{ids_in_text, nullable, shown};

/// Alpine's secdb. No built-in download: `db update` takes Alpine from osv.dev
/// (`osv-Alpine`, built from the same secdb); import secdb files with `db import`.
pub struct SecdbFeed;

impl Feed for SecdbFeed {
    fn format(&self) -> Format {
        Format::AlpineSecdb
    }
    fn title(&self) -> &'static str {
        "Alpine secdb JSON"
    }
    fn yields(&self) -> Yields {
        Yields::Advisories
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json()
            .is_some_and(|s| s.is_object && s.has("distroversion") && s.has("packages"))
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
}

#[derive(Deserialize)]
struct Secdb {
    distroversion: String,
    #[serde(default, deserialize_with = "nullable")]
    reponame: Option<String>,
    #[serde(deserialize_with = "packages")]
    packages: Vec<PkgEntry>,
}

#[derive(Deserialize)]
struct PkgEntry {
    pkg: Pkg,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    secfixes: BTreeMap<String, FixList>,
}

/// A secfix value: normally a list of strings; `{}` and `null` occur in the wild and
/// mean "no ids".
#[derive(Default)]
struct FixList(Vec<String>);

impl<'de> Deserialize<'de> for FixList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FixList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of vulnerability ids")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<FixList, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = a.next_element::<Option<String>>()? {
                    v.extend(s);
                }
                Ok(FixList(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<FixList, A::Error> {
                if a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "expected a list of ids, found a non-empty object",
                    ));
                }
                Ok(FixList(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<FixList, E> {
                Ok(FixList(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `packages` is a list; releases without any fix write `{}`.
fn packages<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PkgEntry>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<PkgEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of packages")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut v = Vec::new();
            while let Some(p) = a.next_element()? {
                v.push(p);
            }
            Ok(v)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            if a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                return Err(de::Error::custom(
                    "expected a list of packages, found a non-empty object",
                ));
            }
            Ok(Vec::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let db: Secdb = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "Alpine secdb JSON", e))?;
    let release = db.distroversion.trim();
    if release.is_empty() || release.contains(char::is_whitespace) {
        return Err(crate::Error::input(
            origin,
            format!(
                "field `distroversion`: {} is not a release name",
                shown(release)
            ),
        ));
    }
    let ecosystem = secdb_ecosystem(release);
    let _ = db.reponame;
    let mut out: BTreeMap<String, Advisory> = BTreeMap::new();
    for (i, entry) in db.packages.into_iter().enumerate() {
        let name = entry.pkg.name;
        if name.trim().is_empty() {
            return Err(crate::Error::input(
                origin,
                format!("field `packages[{i}].pkg.name`: is empty"),
            ));
        }
        for (version, FixList(lines)) in entry.pkg.secfixes {
            let version = version.trim();
            if version.is_empty() {
                return Err(crate::Error::input(
                    origin,
                    format!("field `packages[{i}].pkg.secfixes`: empty version key"),
                ));
            }
            for line in lines {
                let ids = ids_in_text(&line);
                if ids.is_empty() {
                    sink.warning(
                        origin,
                        format!(
                            "{name} {version}: secfix entry {} names no vulnerability id; skipped",
                            shown(&line)
                        ),
                    );
                }
                for id in ids {
                    let adv = out.entry(id.clone()).or_insert_with(|| Advisory {
                        id: format!("ALPINE-{id}"),
                        aliases: vec![id.clone()],
                        source: Format::AlpineSecdb.as_str().into(),
                        ..Advisory::default()
                    });
                    let (ranges, state) = if version == "0" {
                        (Vec::new(), DistroState::NotAffected)
                    } else {
                        (
                            vec![Range {
                                kind: RangeKind::Ecosystem,
                                events: vec![
                                    Event::Introduced("0".into()),
                                    Event::Fixed(version.to_string()),
                                ],
                            }],
                            DistroState::Fixed,
                        )
                    };
                    let aff = Affected {
                        ecosystem: ecosystem.clone(),
                        package: name.clone(),
                        purl: None,
                        ranges,
                        versions: Vec::new(),
                        state: Some(state),
                        severity: Vec::new(),
                    };
                    if !adv.affected.contains(&aff) {
                        adv.affected.push(aff);
                    }
                }
            }
        }
    }
    let n = out.len();
    for (_, adv) in out {
        sink.advisory(adv)?;
    }
    Ok(n)
}
