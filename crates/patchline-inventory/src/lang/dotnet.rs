//! .NET: `*.deps.json`, the dependency manifest `dotnet build` and `dotnet publish`
//! write beside an application (`MyApp.deps.json`), which the host reads to load its
//! assemblies.
//!
//! Only its `libraries` object is read: keys `Name/Version` (`AWSSDK.Core/3.7.10.6`, the
//! NuGet id as published and the resolved version), values objects whose `type` says what
//! the library is. `targets` repeats the same libraries per runtime with their files, and
//! is skipped unread, as are `sha512`, `path` and the rest.
//!
//! Which types are listed: `package` (a NuGet package) and `project` (a project of the
//! solution), as osv-scalibr lists both; and `runtimepack`, the .NET runtime a
//! self-contained app carries, whose key is the NuGet id of the runtime pack behind a
//! `runtimepack.` prefix (`runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1`):
//! the prefix is dropped, so that advisories about the runtime pack reach it. Other
//! types (`reference`, `referenceassembly`, `msbuildproject`) are assemblies or build
//! artefacts without a NuGet identity, skipped silently.
//!
//! Bad input: a key without `/Version` (or with an empty part), a value that is not an
//! object, a missing or non-string `type` are skipped with a warning naming the key. A
//! file that is not JSON, is not an object, or has no `libraries` object gives a warning
//! and the libraries read before. The file is streamed: one library at a time in memory
//! with the packages kept, serde_json's scratch buffer charged to the budget (see
//! [`bounded_json`](super::bounded_json)); warnings are capped.

use std::io::Read;

use patchline_model::{Ecosystem, Package};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::bounded_json::{read_json, unexpected_kinds, Scalar};
use crate::extract::{
    charge, quoted, Budget, CappedWarnings, Charged, ExtractError, Extracted, Extractor,
};

/// The `*.deps.json` extractor.
pub struct DepsJson;

const SUFFIX: &str = ".deps.json";

impl Extractor for DepsJson {
    fn name(&self) -> &'static str {
        "deps.json"
    }

    fn wants(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        name.len() > SUFFIX.len() && name.ends_with(SUFFIX)
    }

    fn locations(&self) -> Vec<String> {
        vec![]
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        parse_deps_json(path, content)
    }

    fn extract_from(
        &self,
        path: &str,
        _size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        parse_deps_json_from(path, content, budget)
    }
}

/// Reads the packages of a `*.deps.json`. `path` is recorded as each package's `db_path`
/// and names the file in errors.
pub fn parse_deps_json(path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
    parse_deps_json_from(path, &mut &content[..], &Budget::unlimited())
}

/// [`parse_deps_json`] from a stream; memory is charged to `budget`.
pub fn parse_deps_json_from(
    path: &str,
    content: &mut dyn Read,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let mut ctx = Ctx {
        path,
        budget,
        packages: Vec::new(),
        charged: Charged::default(),
        warnings: CappedWarnings::default(),
        fatal: None,
        libraries: false,
        wrong_top: false,
    };
    let stopped = read_json(path, content, budget, Top(&mut ctx))?;
    if let Some(e) = ctx.fatal {
        return Err(e);
    }
    if let Some(reason) = stopped {
        ctx.warnings.push(format!(
            "reading stopped: {reason} (the {} packages read before are kept)",
            ctx.packages.len()
        ));
    } else if !ctx.libraries && !ctx.wrong_top {
        ctx.warnings
            .push("no \"libraries\" object: not a .deps.json; no packages".into());
    }
    Ok(Extracted {
        packages: ctx.packages,
        warnings: ctx.warnings.finish(),
        ..Default::default()
    })
}

/// The `type`s listed, and the prefix of their keys to drop.
const LISTED: &[(&str, &str)] = &[
    ("package", ""),
    ("project", ""),
    ("runtimepack", "runtimepack."),
];

struct Ctx<'a> {
    path: &'a str,
    budget: &'a Budget,
    packages: Vec<Package>,
    charged: Charged,
    warnings: CappedWarnings,
    /// Over the budget while keeping packages (the parse is stopped through a serde error).
    fatal: Option<ExtractError>,
    libraries: bool,
    /// The file is JSON but not an object (warned about).
    wrong_top: bool,
}

impl Ctx<'_> {
    /// Lists the library under `key` of `type` `kind`, or warns why not. `Err`: over the
    /// budget.
    fn finish(&mut self, key: &Scalar, kind: Option<Scalar>) -> Result<(), ()> {
        let Some(key) = key.as_str() else {
            self.warnings
                .push(format!("libraries: a key of {}; skipped", key.describe()));
            return Ok(());
        };
        let at = format!("libraries[{}]", quoted(key.as_bytes()));
        let kind = match kind {
            Some(Scalar::Str(k)) => k,
            Some(other) => {
                self.warnings.push(format!(
                    "{at}: \"type\" is {}, not a string; skipped",
                    other.describe()
                ));
                return Ok(());
            }
            None => {
                self.warnings.push(format!("{at}: no \"type\"; skipped"));
                return Ok(());
            }
        };
        let Some(prefix) = LISTED
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(&kind))
            .map(|(_, p)| *p)
        else {
            return Ok(());
        };
        let bad = |c: char| c.is_whitespace() || c.is_control();
        let (name, version) = match key.split_once('/') {
            Some((n, v)) if !n.is_empty() && !v.is_empty() && !v.contains('/') => (n, v),
            _ => {
                self.warnings
                    .push(format!("{at}: not \"Name/Version\"; skipped"));
                return Ok(());
            }
        };
        if name.chars().any(bad) || version.chars().any(bad) {
            self.warnings.push(format!(
                "{at}: name or version has spaces or control characters; skipped"
            ));
            return Ok(());
        }
        let name = match name.get(..prefix.len()) {
            Some(p) if !prefix.is_empty() && p.eq_ignore_ascii_case(prefix) => {
                &name[prefix.len()..]
            }
            _ => name,
        };
        if name.is_empty() {
            self.warnings.push(format!("{at}: empty name; skipped"));
            return Ok(());
        }
        let mut pkg = Package::new(Ecosystem::Nuget, name, version);
        pkg.db_path = self.path.to_string();
        self.packages.push(pkg);
        charge(self.path, &self.packages, &mut self.charged, self.budget).map_err(|e| {
            self.fatal = Some(e);
        })
    }
}

/// The whole file: an object holding `libraries`.
struct Top<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Top<'_, '_> {
    fn unexpected(self, kind: &str) {
        self.0.warnings.push(format!(
            "the file is {kind}, not a .deps.json object; no packages"
        ));
        self.0.wrong_top = true;
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a .deps.json object")
    }

    unexpected_kinds!('de; scalars, seq);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Scalar>()? {
            if key.as_str() == Some("libraries") && !self.0.libraries {
                self.0.libraries = true;
                map.next_value_seed(Libraries(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `libraries` object.
struct Libraries<'c, 'a>(&'c mut Ctx<'a>);

impl Libraries<'_, '_> {
    fn unexpected(self, kind: &str) {
        self.0
            .warnings
            .push(format!("\"libraries\" is {kind}, not an object; ignored"));
    }
}

impl<'de> DeserializeSeed<'de> for Libraries<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Libraries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of libraries")
    }

    unexpected_kinds!('de; scalars, seq);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Scalar>()? {
            let library = map.next_value::<Library>()?;
            let kind = match library {
                Library::Type(kind) => kind,
                Library::Not(what) => {
                    self.0.warnings.push(format!(
                        "libraries[{}]: {what}, not an object; skipped",
                        key.describe()
                    ));
                    continue;
                }
            };
            self.0
                .finish(&key, kind)
                .map_err(|()| de::Error::custom("over the memory budget"))?;
        }
        Ok(())
    }
}

/// One library's value: its `type` (the first), or what it was instead of an object.
enum Library {
    Type(Option<Scalar>),
    Not(&'static str),
}

impl<'de> de::Deserialize<'de> for Library {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LibraryVisitor)
    }
}

struct LibraryVisitor;

impl LibraryVisitor {
    fn unexpected(self, kind: &'static str) -> Library {
        Library::Not(kind)
    }
}

impl<'de> Visitor<'de> for LibraryVisitor {
    type Value = Library;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a library object")
    }

    unexpected_kinds!('de; scalars, seq);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Library, A::Error> {
        let mut kind = None;
        while let Some(key) = map.next_key::<Scalar>()? {
            if key.as_str() == Some("type") && kind.is_none() {
                kind = Some(map.next_value::<Scalar>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Library::Type(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Extracted {
        parse_deps_json("app/MyApp.deps.json", input.as_bytes()).unwrap()
    }

    fn ids(x: &Extracted) -> Vec<(String, String)> {
        x.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn selects_deps_json_files_anywhere() {
        let d = DepsJson;
        for yes in ["app.deps.json", "app/publish/My.App.deps.json"] {
            assert!(d.wants(yes), "{yes}");
        }
        for no in [
            "",
            ".deps.json",
            "app/.deps.json",
            "test.deps",
            "app.deps.json.bak",
        ] {
            assert!(!d.wants(no), "{no}");
        }
        assert!(d.locations().is_empty());
    }

    #[test]
    fn lists_packages_projects_and_the_runtime_pack() {
        let x = parse(
            r#"{
              "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64"},
              "targets": {".NETCoreApp,Version=v8.0/linux-x64": {"Newtonsoft.Json/13.0.1": {}}},
              "libraries": {
                "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
                "Newtonsoft.Json/13.0.1": {"type": "package", "serviceable": true,
                                          "sha512": "sha512-x", "path": "newtonsoft.json/13.0.1"},
                "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1": {"type": "runtimepack"},
                "System.Xml/4.0.0.0": {"type": "reference"},
                "Legacy/1.0.0": {"type": "referenceassembly"}
              }
            }"#,
        );
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(
            ids(&x),
            [
                ("MyApp".into(), "1.0.0".into()),
                ("Newtonsoft.Json".into(), "13.0.1".into()),
                (
                    "Microsoft.NETCore.App.Runtime.linux-x64".into(),
                    "8.0.1".into()
                )
            ]
        );
        assert!(x
            .packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Nuget && p.db_path == "app/MyApp.deps.json"));
    }

    #[test]
    fn bad_libraries_are_skipped_with_warnings() {
        let x = parse(
            r#"{"libraries": {
                "NoVersion": {"type": "package"},
                "A/1.0": {"type": "package"},
                "/1.0": {"type": "package"},
                "B/": {"type": "package"},
                "C/1/2": {"type": "package"},
                "D/1.0": "package",
                "E/1.0": {"sha512": ""},
                "F/1.0": {"type": 3},
                "G H/1.0": {"type": "package"},
                "runtimepack./1.0": {"type": "runtimepack"}
            }}"#,
        );
        assert_eq!(ids(&x), [("A".into(), "1.0".into())]);
        assert_eq!(
            x.warnings,
            [
                "libraries[\"NoVersion\"]: not \"Name/Version\"; skipped",
                "libraries[\"/1.0\"]: not \"Name/Version\"; skipped",
                "libraries[\"B/\"]: not \"Name/Version\"; skipped",
                "libraries[\"C/1/2\"]: not \"Name/Version\"; skipped",
                "libraries[\"D/1.0\"]: a string, not an object; skipped",
                "libraries[\"E/1.0\"]: no \"type\"; skipped",
                "libraries[\"F/1.0\"]: \"type\" is a number, not a string; skipped",
                "libraries[\"G H/1.0\"]: name or version has spaces or control characters; skipped",
                "libraries[\"runtimepack./1.0\"]: empty name; skipped",
            ]
        );
    }

    #[test]
    fn not_json_or_not_deps_json_is_a_warning() {
        for (input, want) in [
            (
                "not\njson\n",
                "reading stopped: expected ident at line 1 column 2",
            ),
            (
                "[]",
                "the file is an array, not a .deps.json object; no packages",
            ),
            (
                "null",
                "the file is null, not a .deps.json object; no packages",
            ),
            ("{}", "no \"libraries\" object"),
            (
                "{\"libraries\": []}",
                "\"libraries\" is an array, not an object; ignored",
            ),
        ] {
            let x = parse(input);
            assert!(x.packages.is_empty());
            assert_eq!(x.warnings.len(), 1, "{input}: {:?}", x.warnings);
            assert!(
                x.warnings[0].starts_with(want),
                "{input}: {}",
                x.warnings[0]
            );
        }
    }

    #[test]
    fn crlf_bom_truncation_and_non_utf8() {
        let x = parse_deps_json(
            "a.deps.json",
            b"\xef\xbb\xbf{\r\n\"libraries\": {\r\n\"A/1.0\": {\"type\": \"package\", \"x\": \"\xff\"},\r\n\
              \"B/2.0\": {\"type\": \"pack",
        )
        .unwrap();
        assert_eq!(ids(&x), [("A".into(), "1.0".into())]);
        assert_eq!(x.warnings.len(), 1);
        assert!(x.warnings[0].starts_with("reading stopped: EOF while parsing a string"));

        let x = parse_deps_json(
            "a.deps.json",
            b"{\"libraries\": {\"A\xff/1.0\": {\"type\": \"package\"}}}",
        )
        .unwrap();
        assert!(x.packages.is_empty());
        assert!(
            x.warnings[0].contains("invalid unicode code point"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn huge_file_within_and_over_the_budget() {
        let mut input = String::from("{\"targets\": {\"x\": [[[[]]]]}, \"libraries\": {");
        for i in 0..5_000 {
            if i > 0 {
                input.push(',');
            }
            input.push_str(&format!(
                "\"Lib{i}/1.0.{i}\": {{\"type\": \"package\", \"sha512\": \"{}\"}}",
                "s".repeat(1000)
            ));
        }
        input.push_str("}}");
        let x = parse(&input);
        assert_eq!(x.packages.len(), 5_000);
        assert!(x.warnings.is_empty());
        // Streamed: a budget below the file's size holds the packages kept.
        assert!(input.len() > 5 << 20);
        let streamed =
            parse_deps_json_from("a.deps.json", &mut input.as_bytes(), &Budget::new(4 << 20))
                .unwrap();
        assert_eq!(streamed.packages.len(), 5_000);

        let budget = Budget::new((1 << 20) + (256 << 10));
        let e = parse_deps_json_from("a.deps.json", &mut input.as_bytes(), &budget).unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
    }
}
