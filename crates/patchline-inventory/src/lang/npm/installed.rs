//! Installed npm packages: the `package.json` manifest at the root of each package
//! directory.

use std::fmt;
use std::io::Read;

use patchline_model::{Ecosystem, Package};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::json::{json_error, Utf8Lossy};
use super::MAX_NAME;
use crate::extract::{charge, Budget, Charged, ExtractError, Extracted, Extractor};

/// The extractor of installed npm packages (`node_modules/**/package.json`).
pub struct NpmPackage;

/// The largest `package.json` read. Real manifests are kilobytes; those npm 2 to 4
/// installed carry the package's README and reach a few hundred. Within it the file is
/// streamed, not held; over it the file is skipped with a warning.
pub const MAX_PACKAGE_JSON: u64 = 16 << 20;

/// Licenses kept per package, and the longest one: some packages put the license's
/// whole text in `license`, which is no license name.
const MAX_LICENSES: usize = 16;
const MAX_LICENSE_CHARS: usize = 256;

/// The longest author kept (cut at a character boundary).
const MAX_AUTHOR_CHARS: usize = 256;

/// Where Debian's `node-*` packages put npm modules: a `nodejs` directory in these
/// (`usr/share/nodejs/semver/package.json`), without a `node_modules` level; `*` is the
/// multiarch triplet (`usr/lib/x86_64-linux-gnu/nodejs`).
const DEBIAN_NODEJS_PARENTS: &[&[&str]] =
    &[&["usr", "share"], &["usr", "lib"], &["usr", "lib", "*"]];

/// Is `path` the manifest at the root of an installed package:
/// `…/node_modules/<name>/package.json` or `…/node_modules/@<scope>/<name>/package.json`,
/// or the same directly in one of Debian's module directories? `package.json` files
/// deeper inside a package (test fixtures, `dist/esm/package.json` markers) are not.
pub fn is_installed_manifest(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let mut parts = dir.rsplit('/');
    let Some(name) = parts.next() else {
        return false;
    };
    // `.bin`, `.pnpm`, `.cache` are npm's and pnpm's own directories; `@scope` alone is
    // no package.
    if name.is_empty() || name.starts_with(['.', '@']) || name == "node_modules" {
        return false;
    }
    let mut container = parts.next();
    if let Some(scope) = container.filter(|s| s.starts_with('@')) {
        if scope.len() == 1 {
            return false;
        }
        container = parts.next();
    }
    match container {
        Some("node_modules") => true,
        Some("nodejs") => {
            // What is left of the path before `nodejs`, last component first.
            let parent: Vec<&str> = parts.collect();
            DEBIAN_NODEJS_PARENTS.iter().any(|want| {
                want.len() == parent.len()
                    && want
                        .iter()
                        .rev()
                        .zip(&parent)
                        .all(|(w, got)| *w == "*" || w == got)
            })
        }
        _ => false,
    }
}

impl Extractor for NpmPackage {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn wants(&self, path: &str) -> bool {
        is_installed_manifest(path)
    }

    /// Found anywhere in the image.
    fn locations(&self) -> Vec<String> {
        vec![]
    }

    /// It bounds its own reads: a file over [`MAX_PACKAGE_JSON`] is a warning, not a
    /// failed database.
    fn max_file_bytes(&self) -> Option<u64> {
        Some(u64::MAX)
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        read_manifest(
            path,
            content.len() as u64,
            &mut &content[..],
            &Budget::unlimited(),
        )
    }

    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        read_manifest(path, size, content, budget)
    }
}

/// Reads one `package.json` of `size` bytes: at most one package. `path` becomes the
/// package's `db_path`. Memory: the one string being parsed (at most `size`, reserved
/// from `budget` while reading) and the package, charged for good.
pub fn read_manifest(
    path: &str,
    size: u64,
    content: &mut dyn Read,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let mut out = Extracted::default();
    if size > MAX_PACKAGE_JSON {
        out.warnings.push(format!(
            "package.json is {size} bytes, over the limit of {MAX_PACKAGE_JSON}; not read"
        ));
        return Ok(out);
    }
    let held = budget
        .reserve(size)
        .map_err(|e| ExtractError::new(path, format!("{size} bytes to read: {e}")))?;
    let mut de = serde_json::Deserializer::from_reader(Utf8Lossy::new(content.take(size)));
    let top = Top::deserialize(&mut de);
    // Bytes after the object make the file invalid JSON (`JSON.parse` in npm and Node,
    // Go's `json.Unmarshal` in osv-scalibr refuse it); the manifest before them is whole.
    let trailing = top.is_ok().then(|| de.end().err()).flatten();
    drop(held);
    let manifest = match top {
        Err(e) if e.is_io() => {
            return Err(ExtractError::new(path, format!("reading failed: {e}")));
        }
        Err(e) => {
            out.warnings
                .push(format!("package.json is not readable: {}", json_error(&e)));
            return Ok(out);
        }
        Ok(Top(None)) => return Ok(out),
        Ok(Top(Some(m))) => m,
    };
    if let Some(e) = trailing {
        if e.is_io() {
            return Err(ExtractError::new(path, format!("reading failed: {e}")));
        }
        out.warnings.push(format!(
            "package.json is not valid JSON after its object: {}",
            json_error(&e)
        ));
    }
    let (Some(name), Some(version)) = (manifest.name, manifest.version) else {
        return Ok(out);
    };
    // No name or no version is a project's own manifest or a private package: normal,
    // and nothing to report.
    if name.is_empty() || version.is_empty() {
        return Ok(out);
    }
    if name.len() > MAX_NAME || version.len() > MAX_NAME {
        out.warnings.push(format!(
            "package.json name or version is over {MAX_NAME} bytes; no npm package has one"
        ));
        return Ok(out);
    }
    // Outside the places npm installs to, a manifest with npm's shape may be a VS Code
    // extension's or a Unity package's (osv-scalibr's rule). Inside them it is an npm
    // package whatever its fields say (`vscode-languageclient` declares a VS Code engine).
    if !is_installed_manifest(path) && (manifest.not_npm.vscode || manifest.not_npm.unity) {
        return Ok(out);
    }
    let mut p = Package::new(Ecosystem::Npm, name, version);
    p.db_path = path.to_string();
    p.licenses = manifest.licenses.0;
    for l in manifest.legacy_licenses.0 {
        if p.licenses.len() < MAX_LICENSES && !p.licenses.contains(&l) {
            p.licenses.push(l);
        }
    }
    p.maintainer = manifest.author.0;
    out.packages.push(p);
    charge(path, &out.packages, &mut Charged::default(), budget)?;
    Ok(out)
}

/// The top-level value: `null` (an empty manifest, as Go reads it) or an object.
struct Top(Option<Manifest>);

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Manifest>::deserialize(d).map(Top)
    }
}

/// The fields of a manifest that matter here.
#[derive(Default)]
struct Manifest {
    name: Option<String>,
    version: Option<String>,
    licenses: Licenses,
    legacy_licenses: Licenses,
    author: Author,
    not_npm: NotNpm,
}

/// Signs that a manifest is not an npm package's (see osv-scalibr's packagejson
/// extractor): a VS Code engine or `contributes` (an extension's manifest), a `unity`
/// version (a Unity package's).
#[derive(Default)]
struct NotNpm {
    vscode: bool,
    unity: bool,
}

impl<'de> Deserialize<'de> for Manifest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ManifestVisitor)
    }
}

struct ManifestVisitor;

impl<'de> Visitor<'de> for ManifestVisitor {
    type Value = Manifest;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a package.json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Manifest, A::Error> {
        let mut m = Manifest::default();
        // A repeated key: the last one counts, as in Go and JavaScript.
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                // Strings or null; anything else makes the manifest unreadable, as in
                // osv-scalibr.
                "name" => m.name = map.next_value()?,
                "version" => m.version = map.next_value()?,
                "license" => m.licenses = map.next_value()?,
                "licenses" => m.legacy_licenses = map.next_value()?,
                "author" => m.author = map.next_value()?,
                "engines" => m.not_npm.vscode |= map.next_value::<Engines>()?.0,
                "contributes" => {
                    m.not_npm.vscode |= map.next_value::<Option<IgnoredAny>>()?.is_some()
                }
                "unity" => {
                    m.not_npm.unity = map.next_value::<Loose>()?.0.is_some_and(|s| !s.is_empty())
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(m)
    }
}

/// How a field read for information only takes each kind of JSON value: strings and
/// objects may say something, every other value says nothing. Such fields never make a
/// manifest unreadable, whatever they hold.
trait Shape: Sized {
    type Out: Default;

    fn string(self, _: &str) -> Self::Out {
        Self::Out::default()
    }

    fn object<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::Out::default())
    }

    fn list<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::Out::default())
    }
}

/// The visitor of a [`Shape`] (through `deserialize_any`).
struct AnyValue<S>(S);

impl<'de, S: Shape> Visitor<'de> for AnyValue<S> {
    type Value = S::Out;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<S::Out, E> {
        Ok(self.0.string(s))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<S::Out, E> {
        Ok(S::Out::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<S::Out, E> {
        Ok(S::Out::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<S::Out, E> {
        Ok(S::Out::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<S::Out, E> {
        Ok(S::Out::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<S::Out, E> {
        Ok(S::Out::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<S::Out, A::Error> {
        self.0.list(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S::Out, A::Error> {
        self.0.object(map)
    }
}

impl<'de, S: Shape> DeserializeSeed<'de> for AnyValue<S> {
    type Value = S::Out;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Out, D::Error> {
        d.deserialize_any(self)
    }
}

/// A string, or nothing.
struct Loose(Option<String>);

struct LooseShape;

impl Shape for LooseShape {
    type Out = Option<String>;

    fn string(self, s: &str) -> Option<String> {
        Some(s.to_string())
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AnyValue(LooseShape).deserialize(d).map(Loose)
    }
}

/// `license` (an SPDX expression, or in old manifests `{"type": "MIT", "url": ...}`) or
/// `licenses` (a list of either): the license names, at most [`MAX_LICENSES`].
#[derive(Default)]
struct Licenses(Vec<String>);

impl Licenses {
    fn push(&mut self, s: &str) {
        let s = s.trim();
        if !s.is_empty()
            && s.chars().count() <= MAX_LICENSE_CHARS
            && self.0.len() < MAX_LICENSES
            && !self.0.iter().any(|l| l == s)
        {
            self.0.push(s.to_string());
        }
    }
}

impl<'de> Deserialize<'de> for Licenses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Licenses::default();
        AnyValue(LicenseShape {
            out: &mut out,
            in_list: false,
        })
        .deserialize(d)?;
        Ok(out)
    }
}

struct LicenseShape<'a> {
    out: &'a mut Licenses,
    /// A list inside the list is not looked into.
    in_list: bool,
}

impl Shape for LicenseShape<'_> {
    type Out = ();

    fn string(self, s: &str) {
        self.out.push(s);
    }

    fn object<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "type" {
                if let Some(t) = map.next_value::<Loose>()?.0 {
                    self.out.push(&t);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn list<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.in_list {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        while seq
            .next_element_seed(AnyValue(LicenseShape {
                out: &mut *self.out,
                in_list: true,
            }))?
            .is_some()
        {}
        Ok(())
    }
}

/// `author`: `"Name <email> (url)"` as written, or `{"name", "email", "url"}` as
/// `Name <email>`; at most [`MAX_AUTHOR_CHARS`].
#[derive(Default)]
struct Author(Option<String>);

fn capped_author(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Some(match s.char_indices().nth(MAX_AUTHOR_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    })
}

struct AuthorShape;

impl Shape for AuthorShape {
    type Out = Option<String>;

    fn string(self, s: &str) -> Option<String> {
        capped_author(s)
    }

    fn object<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let (mut name, mut email) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value::<Loose>()?.0,
                "email" => email = map.next_value::<Loose>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let name = name.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let email = email.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(match (name, email) {
            (Some(n), Some(e)) => capped_author(&format!("{n} <{e}>")),
            (Some(n), None) => capped_author(n),
            (None, Some(e)) => capped_author(&format!("<{e}>")),
            (None, None) => None,
        })
    }
}

impl<'de> Deserialize<'de> for Author {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AnyValue(AuthorShape).deserialize(d).map(Author)
    }
}

/// `engines`: whether it names VS Code (an object with a `vscode` key).
struct Engines(bool);

struct EnginesShape;

impl Shape for EnginesShape {
    type Out = bool;

    fn object<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut vscode = false;
        while let Some(key) = map.next_key::<String>()? {
            vscode |= key == "vscode";
            map.next_value::<IgnoredAny>()?;
        }
        Ok(vscode)
    }
}

impl<'de> Deserialize<'de> for Engines {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AnyValue(EnginesShape).deserialize(d).map(Engines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "app/node_modules/left-pad/package.json";

    fn read(json: &[u8]) -> Extracted {
        NpmPackage.extract(PATH, json).unwrap()
    }

    fn one(json: &[u8]) -> Package {
        let x = read(json);
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert_eq!(x.packages.len(), 1, "{x:?}");
        x.packages.into_iter().next().unwrap()
    }

    #[test]
    fn only_package_roots_under_node_modules_and_debian_module_dirs() {
        for yes in [
            "node_modules/a/package.json",
            "app/node_modules/a/package.json",
            "app/node_modules/@s/a/package.json",
            "app/node_modules/a/node_modules/b/package.json",
            "app/node_modules/a/node_modules/@s/b/package.json",
            "usr/lib/node_modules/npm/package.json",
            "usr/local/lib/node_modules/npm/node_modules/semver/package.json",
            "app/node_modules/.pnpm/a@1.0.0/node_modules/a/package.json",
            "usr/share/nodejs/semver/package.json",
            "usr/share/nodejs/@types/node/package.json",
            "usr/lib/nodejs/a/package.json",
            "usr/lib/x86_64-linux-gnu/nodejs/a/package.json",
            "usr/share/nodejs/a/node_modules/b/package.json",
        ] {
            assert!(is_installed_manifest(yes), "{yes}");
        }
        for no in [
            "package.json",
            "app/package.json",
            "node_modules/package.json",
            "node_modules/@s/package.json",
            "node_modules/@/a/package.json",
            "node_modules/.bin/package.json",
            "node_modules/.pnpm/package.json",
            "node_modules/a/lib/package.json",
            "node_modules/a/test/fixtures/b/package.json",
            "node_modules/a/dist/esm/package.json",
            "node_modules/@s/a/b/package.json",
            "node_modules/node_modules/package.json",
            "node_modules//package.json",
            "node_modules/a/package.json.bak",
            "node_modules/a/other.json",
            "opt/nodejs/a/package.json",
            "usr/share/nodejs/package.json",
            "srv/usr/share/nodejs/a/package.json",
            "usr/lib/a/b/nodejs/x/package.json",
            "usr/share/nodejs/a/lib/package.json",
        ] {
            assert!(!is_installed_manifest(no), "{no}");
        }
    }

    #[test]
    fn reads_name_version_licenses_and_author() {
        let p = one(
            br#"{"name": "left-pad", "version": "1.3.0", "license": "WTFPL",
                "author": {"name": "Azer", "email": "azer@example.com", "url": "x"},
                "scripts": {"test": "node test"}}"#,
        );
        assert_eq!((p.ecosystem, p.name.as_str()), (Ecosystem::Npm, "left-pad"));
        assert_eq!(p.version, "1.3.0");
        assert_eq!(p.licenses, ["WTFPL"]);
        assert_eq!(p.maintainer.as_deref(), Some("Azer <azer@example.com>"));
        assert_eq!(p.db_path, PATH);
        assert!(p.purl.is_empty());
    }

    #[test]
    fn license_shapes() {
        let licenses = |json: &str| one(json.as_bytes()).licenses;
        let base = r#""name": "a", "version": "1.0.0""#;
        assert_eq!(
            licenses(&format!(r#"{{{base}, "license": "(MIT OR Apache-2.0)"}}"#)),
            ["(MIT OR Apache-2.0)"]
        );
        assert_eq!(
            licenses(&format!(
                r#"{{{base}, "license": {{"type": "MIT", "url": "u"}}}}"#
            )),
            ["MIT"]
        );
        assert_eq!(
            licenses(&format!(
                r#"{{{base}, "licenses": [{{"type": "MIT"}}, "BSD", {{"type": "MIT"}}, 3, [["x"]], null]}}"#
            )),
            ["MIT", "BSD"]
        );
        assert_eq!(
            licenses(&format!(
                r#"{{{base}, "license": "ISC", "licenses": [{{"type": "MIT"}}, {{"type": "ISC"}}]}}"#
            )),
            ["ISC", "MIT"]
        );
        // A license's whole text in the field is no license name.
        let text = "Permission is hereby granted ".repeat(20);
        assert!(licenses(&format!(r#"{{{base}, "license": "{text}"}}"#)).is_empty());
        for odd in ["5", "true", "null", "[]", "{}", r#"{"type": 7}"#] {
            assert!(
                licenses(&format!(r#"{{{base}, "license": {odd}}}"#)).is_empty(),
                "{odd}"
            );
        }
        let many: Vec<String> = (0..40).map(|i| format!(r#""L{i}""#)).collect();
        let got = licenses(&format!(r#"{{{base}, "licenses": [{}]}}"#, many.join(",")));
        assert_eq!(got.len(), MAX_LICENSES);
    }

    #[test]
    fn author_shapes() {
        let author = |a: &str| {
            one(format!(r#"{{"name": "a", "version": "1", "author": {a}}}"#).as_bytes()).maintainer
        };
        assert_eq!(
            author(r#"" Tim Caswell <tim@creationix.com> ""#).as_deref(),
            Some("Tim Caswell <tim@creationix.com>")
        );
        assert_eq!(author(r#"{"name": "Jon"}"#).as_deref(), Some("Jon"));
        assert_eq!(
            author(r#"{"email": "e@x", "name": 5}"#).as_deref(),
            Some("<e@x>")
        );
        for none in ["null", "3", "[\"a\"]", "{}", "\"  \"", r#"{"url": "u"}"#] {
            assert_eq!(author(none), None, "{none}");
        }
        let long = author(&format!("\"{}\"", "é".repeat(1000))).unwrap();
        assert_eq!(long.chars().count(), MAX_AUTHOR_CHARS + 1);
    }

    #[test]
    fn no_name_or_version_is_silently_nothing() {
        for json in [
            r#"{"name": "a"}"#,
            r#"{"version": "1.0.0"}"#,
            r#"{"name": "", "version": "1.0.0"}"#,
            r#"{"name": "a", "version": null}"#,
            r#"{"private": true}"#,
            "{}",
            "null",
            " null \r\n",
        ] {
            let x = read(json.as_bytes());
            assert_eq!(x, Extracted::default(), "{json}");
        }
    }

    #[test]
    fn unreadable_manifests_warn_without_package() {
        for (json, says) in [
            (
                r#"{"name": 5, "version": "1.0.0"}"#,
                "invalid type: integer",
            ),
            (
                r#"{"name": "a", "version": 1.5}"#,
                "invalid type: floating point",
            ),
            (
                r#"{"name": "a", "version": ["1"]}"#,
                "invalid type: sequence",
            ),
            (r#"{"name": "a", "version": "1""#, "EOF while parsing"),
            ("[1, 2]", "expected a package.json object"),
            ("\"a\"", "expected a package.json object"),
            ("", "EOF while parsing"),
            (
                "{\"name\": \"a\x01\", \"version\": \"1\"}",
                "control character",
            ),
            ("\u{feff}", "EOF while parsing"),
        ] {
            let x = read(json.as_bytes());
            assert!(x.packages.is_empty(), "{json}");
            assert_eq!(x.warnings.len(), 1, "{json}");
            assert!(x.warnings[0].contains(says), "{json}: {}", x.warnings[0]);
        }
    }

    #[test]
    fn trailing_bytes_warn_but_keep_the_package() {
        let x = read(br#"{"name": "a", "version": "1.0.0"} {"name": "b"}"#);
        assert_eq!(x.packages.len(), 1);
        assert_eq!(x.warnings.len(), 1);
        assert!(
            x.warnings[0].contains("trailing characters"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn repeated_keys_take_the_last() {
        let p = one(
            br#"{"name": "a", "version": "1", "version": "2", "license": "X", "license": "Y"}"#,
        );
        assert_eq!(
            (p.version.as_str(), p.licenses),
            ("2", vec!["Y".to_string()])
        );
    }

    #[test]
    fn bom_and_crlf() {
        let p = one(b"\xef\xbb\xbf{\r\n  \"name\": \"a\",\r\n  \"version\": \"1.0.0\"\r\n}\r\n");
        assert_eq!((p.name.as_str(), p.version.as_str()), ("a", "1.0.0"));
    }

    #[test]
    fn non_utf8_bytes_are_replaced_not_fatal() {
        let p = one(b"{\"name\": \"a\", \"version\": \"1.0.0\", \"author\": \"Jos\xe9\", \"description\": \"\xff\xfe\"}");
        assert_eq!(p.maintainer.as_deref(), Some("Jos\u{fffd}"));
        // A UTF-16 file is no JSON at all.
        let utf16: Vec<u8> = "{\"name\": \"a\"}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let x = read(&[&[0xff, 0xfe][..], &utf16].concat());
        assert!(x.packages.is_empty() && x.warnings.len() == 1, "{x:?}");
    }

    #[test]
    fn deep_nesting_is_skipped_or_refused_never_overflows() {
        let depth = 200_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // In a field nobody reads: skipped without recursion.
        let json = format!(r#"{{"name": "a", "scripts": {deep}, "version": "1"}}"#);
        assert_eq!(one(json.as_bytes()).version, "1");
        // In fields that are read: serde_json's recursion limit refuses it.
        for field in ["license", "licenses", "author", "engines"] {
            let json = format!(r#"{{"name": "a", "version": "1", "{field}": {deep}}}"#);
            let x = read(json.as_bytes());
            assert_eq!(x.packages.len(), 1, "{field}: {x:?}");
        }
        let json = format!(r#"{{"name": {deep}, "version": "1"}}"#);
        assert_eq!(read(json.as_bytes()).warnings.len(), 1);
        let deep_objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let json = format!(r#"{{"name": "a", "version": "1", "x": {deep_objects}}}"#);
        assert_eq!(one(json.as_bytes()).name, "a");
    }

    #[test]
    fn huge_files_are_skipped_with_a_warning_without_reading() {
        let mut never = std::io::repeat(b' ');
        let x = read_manifest(PATH, MAX_PACKAGE_JSON + 1, &mut never, &Budget::new(0)).unwrap();
        assert!(x.packages.is_empty());
        assert!(x.warnings[0].contains("over the limit"), "{:?}", x.warnings);
        // A manifest of many megabytes (an old install's README) within the limit is
        // streamed: only the parsed fields are held.
        let readme = "x".repeat(8 << 20);
        let json = format!(r#"{{"readme": "{readme}", "name": "a", "version": "1"}}"#);
        assert_eq!(one(json.as_bytes()).name, "a");
        let long_name = format!(r#"{{"name": "{}", "version": "1"}}"#, "n".repeat(2000));
        let x = read(long_name.as_bytes());
        assert!(x.packages.is_empty() && x.warnings.len() == 1, "{x:?}");
    }

    #[test]
    fn the_budget_bounds_the_read() {
        let json = br#"{"name": "a", "version": "1.0.0"}"#;
        let budget = Budget::new(10);
        let e = NpmPackage
            .extract_from(PATH, json.len() as u64, &mut &json[..], &budget)
            .unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
        assert_eq!(budget.used(), 0);
        let budget = Budget::new(1 << 20);
        let x = NpmPackage
            .extract_from(PATH, json.len() as u64, &mut &json[..], &budget)
            .unwrap();
        assert_eq!(x.packages.len(), 1);
        // The package stays charged; the parse buffer was given back.
        let alone = Budget::unlimited();
        charge(PATH, &x.packages, &mut Charged::default(), &alone).unwrap();
        assert_eq!(budget.used(), alone.used());
    }

    #[test]
    fn vscode_and_unity_manifests_count_only_outside_npm_directories() {
        let vscode = br#"{"name": "vscode-languageclient", "version": "9.0.1", "engines": {"vscode": "^1.82.0"}}"#;
        assert_eq!(read(vscode).packages.len(), 1);
        let elsewhere = NpmPackage.extract("ext/package.json", vscode).unwrap();
        assert_eq!(elsewhere, Extracted::default());
        let contributes = br#"{"name": "a", "version": "1", "contributes": {}}"#;
        assert!(NpmPackage
            .extract("x/package.json", contributes)
            .unwrap()
            .packages
            .is_empty());
        let unity = br#"{"name": "a", "version": "1", "unity": "2020.3"}"#;
        assert!(NpmPackage
            .extract("x/package.json", unity)
            .unwrap()
            .packages
            .is_empty());
        let not_unity = br#"{"name": "a", "version": "1", "unity": "", "engines": ["node"], "contributes": null}"#;
        assert_eq!(
            NpmPackage
                .extract("x/package.json", not_unity)
                .unwrap()
                .packages
                .len(),
            1
        );
    }
}
