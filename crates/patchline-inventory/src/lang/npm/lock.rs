//! npm lockfiles: `package-lock.json` and `npm-shrinkwrap.json`.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use patchline_model::{Ecosystem, Package};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::json::{json_error, Meter, Utf8Lossy};
use super::MAX_NAME;
use crate::extract::{
    charge, package_bytes, Budget, CappedWarnings, Charged, ExtractError, Extracted, Extractor,
    OverBudget,
};

/// The extractor of npm lockfiles.
pub struct NpmLock;

/// The largest lockfile read. Big monorepos' lockfiles reach some tens of megabytes. Over
/// this the file is skipped with a warning: it only restates what is installed, which
/// the `node_modules` manifests tell on their own.
pub const MAX_LOCKFILE: u64 = 128 << 20;

/// Is `path` an application's lockfile: `package-lock.json` or `npm-shrinkwrap.json`
/// outside any `node_modules` directory? Inside one it is a dependency's, listing what
/// its own development needed, not what was installed (osv-scalibr's rule).
pub fn is_lockfile(path: &str) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    (file == "package-lock.json" || file == "npm-shrinkwrap.json")
        && !dir.split('/').any(|c| c == "node_modules")
}

impl Extractor for NpmLock {
    fn name(&self) -> &'static str {
        "npm-lock"
    }

    fn wants(&self, path: &str) -> bool {
        is_lockfile(path)
    }

    /// Found anywhere in the image.
    fn locations(&self) -> Vec<String> {
        vec![]
    }

    /// It bounds its own reads: a file over [`MAX_LOCKFILE`] is a warning, not a failed
    /// database.
    fn max_file_bytes(&self) -> Option<u64> {
        Some(u64::MAX)
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        self.extract_from(
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
        let mut x = read_lockfile(path, size, content, budget)?;
        x.superseded_by = superseded_by(path);
        Ok(x)
    }
}

/// What makes a lockfile's packages redundant, as npm decides what a directory has:
/// the `node_modules/` beside it, once it holds installed packages (their manifests say
/// what is there, where the lockfile says what was meant to be: it also lists the
/// `devDependencies` that `npm ci --omit=dev` left out, and optional packages of other
/// platforms), as Trivy and Syft read only installed manifests in images; and for a
/// `package-lock.json`, an `npm-shrinkwrap.json` beside it, which npm reads instead
/// (osv-scalibr's rule too). npm's hidden lockfile, `node_modules/.package-lock.json`,
/// is not read: it restates the installed manifests.
pub fn superseded_by(path: &str) -> Vec<String> {
    let (dir, file) = match path.rsplit_once('/') {
        Some((d, f)) => (format!("{d}/"), f),
        None => (String::new(), path),
    };
    let mut out = vec![format!("{dir}node_modules/")];
    if file == "package-lock.json" {
        out.push(format!("{dir}npm-shrinkwrap.json"));
    }
    out
}

/// Reads one lockfile of `size` bytes. `path` becomes the packages' `db_path`. Memory:
/// the string being parsed (at most `size`), the packages and the table of those already
/// seen, all charged to `budget`; the packages returned stay charged.
pub fn read_lockfile(
    path: &str,
    size: u64,
    content: &mut dyn Read,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    if size > MAX_LOCKFILE {
        return Ok(Extracted {
            packages: vec![],
            warnings: vec![format!(
                "the lockfile is {size} bytes, over the limit of {MAX_LOCKFILE}; not read"
            )],
            ..Default::default()
        });
    }
    let mut ctx = Ctx {
        meter: Meter::new(budget),
        over_budget: None,
        tree: None,
        v1: Found::default(),
        warnings: CappedWarnings::default(),
        null: false,
    };
    ctx.meter
        .add(size)
        .map_err(|e| ExtractError::new(path, format!("{size} bytes to read: {e}")))?;
    let mut de = serde_json::Deserializer::from_reader(Utf8Lossy::new(content.take(size)));
    let parsed = Lockfile(&mut ctx)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = ctx.over_budget.take() {
        let found = ctx.tree.as_ref().unwrap_or(&ctx.v1).packages.len();
        return Err(ExtractError::new(
            path,
            format!("stopped after {found} packages: {e}"),
        ));
    }
    // osv-scalibr's rule: the `packages` map when there is one (lockfile versions 2 and
    // 3), else the `dependencies` tree (version 1).
    let mut packages = ctx.tree.unwrap_or(ctx.v1).packages;
    let mut warnings = ctx.warnings;
    match parsed {
        Ok(()) => {}
        Err(e) if e.is_io() => {
            return Err(ExtractError::new(path, format!("reading failed: {e}")));
        }
        Err(e) if packages.is_empty() => {
            warnings.push(format!("the lockfile is not readable: {}", json_error(&e)))
        }
        Err(e) => warnings.push(format!(
            "the lockfile is not readable to its end ({}); the {} packages listed before are kept",
            json_error(&e),
            packages.len()
        )),
    }
    if ctx.null {
        warnings.push("the lockfile is `null`, not an object".into());
    }
    drop(ctx.meter);
    for p in &mut packages {
        p.db_path = path.to_string();
    }
    charge(path, &packages, &mut Charged::default(), budget)?;
    Ok(Extracted {
        packages,
        warnings: warnings.finish(),
        ..Default::default()
    })
}

/// Packages of one listing, each name and source once.
#[derive(Default)]
struct Found {
    packages: Vec<Package>,
    /// (name, what it was installed from): the version, or the git URL with its commit
    /// (two commits of one package are two packages, whatever version they claim).
    seen: HashSet<(String, String)>,
}

struct Ctx<'b> {
    meter: Meter<'b>,
    over_budget: Option<OverBudget>,
    /// The `packages` map, once it is seen to be an object.
    tree: Option<Found>,
    v1: Found,
    warnings: CappedWarnings,
    /// The whole file is `null`.
    null: bool,
}

/// Which listing a package goes to.
#[derive(Clone, Copy)]
enum Listing {
    Tree,
    V1,
}

impl Ctx<'_> {
    /// Adds a package unless already there; a serde error stops the parse when the budget
    /// is exhausted.
    fn add<E: de::Error>(
        &mut self,
        listing: Listing,
        name: String,
        version: String,
        source: String,
    ) -> Result<(), E> {
        if name.is_empty() {
            return Ok(());
        }
        if name.len() > MAX_NAME || version.len() > MAX_NAME {
            self.warnings.push(format!(
                "an entry's name or version is over {MAX_NAME} bytes; no npm package has one, skipped"
            ));
            return Ok(());
        }
        let found = match listing {
            Listing::Tree => self.tree.get_or_insert_with(Found::default),
            Listing::V1 => &mut self.v1,
        };
        let key = (name, source);
        if found.seen.contains(&key) {
            return Ok(());
        }
        let p = Package::new(Ecosystem::Npm, key.0.clone(), version);
        // The package, and the table's copy of its name and source.
        let cost = package_bytes(&p) + (key.0.len() + key.1.len() + 64) as u64;
        found.packages.push(p);
        found.seen.insert(key);
        if let Err(e) = self.meter.add(cost) {
            self.over_budget = Some(e);
            return Err(E::custom("over the memory budget"));
        }
        Ok(())
    }
}

/// The whole file.
struct Lockfile<'c, 'b>(&'c mut Ctx<'b>);

impl<'de> DeserializeSeed<'de> for Lockfile<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Lockfile<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a package-lock.json object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.null = true;
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "packages" => map.next_value_seed(Tree(&mut *ctx))?,
                // Lockfile versions 2 write the version-1 tree after the map, for old
                // npm releases: not read twice.
                "dependencies" if ctx.tree.is_none() => map.next_value_seed(V1Deps(&mut *ctx))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Lockfile versions 2 and 3: `packages`, keyed by install path (`node_modules/a`,
/// `node_modules/a/node_modules/@s/b`, a workspace's `packages/w`; `""` is the project).
struct Tree<'c, 'b>(&'c mut Ctx<'b>);

/// The fields of a `packages` entry read here. Strings, booleans or null as npm writes
/// them; another type makes the lockfile unreadable from there, as in osv-scalibr.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    /// The real name of an aliased package (`"node_modules/cjs": {"name": "string-width"}`).
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    link: Option<bool>,
}

impl<'de> DeserializeSeed<'de> for Tree<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Tree<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the `packages` object")
    }

    /// `"packages": null` is no map: the version-1 tree is read instead.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        // A repeated `packages` key: the last one counts.
        ctx.tree = Some(Found::default());
        while let Some(key) = map.next_key::<String>()? {
            let Some(entry) = map.next_value::<Option<Entry>>()? else {
                continue;
            };
            // The project itself, and the links npm writes for workspaces and `file:`
            // directories (`"node_modules/w": {"resolved": "packages/w", "link": true}`),
            // whose target has its own entry with the version.
            if key.is_empty() || entry.link == Some(true) {
                continue;
            }
            let name = match entry.name {
                Some(n) if !n.is_empty() => n,
                _ => name_from_install_path(&key),
            };
            let version = entry.version.unwrap_or_default();
            // A git dependency is told apart by its commit (in `resolved` after `#`);
            // registry tarballs have no `#`.
            let source = match entry.resolved {
                Some(r) if r.contains('#') => r,
                _ => version.clone(),
            };
            ctx.add(Listing::Tree, name, version, source)?;
        }
        Ok(())
    }
}

/// The package name an install path ends in: `node_modules/a/node_modules/@s/b` is
/// `@s/b`, `packages/w` is `w`.
fn name_from_install_path(key: &str) -> String {
    let key = key.trim_end_matches('/');
    let (parent, base) = key.rsplit_once('/').unwrap_or(("", key));
    match parent.rsplit('/').next() {
        Some(scope) if scope.starts_with('@') => format!("{scope}/{base}"),
        _ => base.to_string(),
    }
}

/// Lockfile version 1: `dependencies`, a tree of name to `{version, dependencies}`.
struct V1Deps<'c, 'b>(&'c mut Ctx<'b>);

impl<'de> DeserializeSeed<'de> for V1Deps<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for V1Deps<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a `dependencies` object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(name) = map.next_key::<String>()? {
            map.next_value_seed(V1Dep {
                ctx: &mut *ctx,
                name,
            })?;
        }
        Ok(())
    }
}

/// One version-1 dependency. Its nesting is bounded by serde_json's recursion limit.
struct V1Dep<'c, 'b> {
    ctx: &'c mut Ctx<'b>,
    name: String,
}

impl<'de> DeserializeSeed<'de> for V1Dep<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for V1Dep<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a dependency object")
    }

    /// `"name": null` says nothing.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut raw: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => raw = map.next_value()?,
                "dependencies" => map.next_value_seed(V1Deps(&mut *ctx))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let raw = raw.unwrap_or_default();
        let (name, version) = match raw.strip_prefix("npm:") {
            // An alias: `"string-width-cjs": {"version": "npm:string-width@4.2.0"}`.
            Some(alias) => match alias.rsplit_once('@') {
                Some((real, v)) if !real.is_empty() => (real.to_string(), v.to_string()),
                _ => {
                    ctx.warnings.push(format!(
                        "dependency {} is an alias without a version ({}), kept under its own name",
                        crate::extract::quoted(self.name.as_bytes()),
                        crate::extract::quoted(raw.as_bytes())
                    ));
                    (self.name, raw.clone())
                }
            },
            // Not a version but where it came from: a git URL with its commit, a
            // `file:` directory, a tarball URL. The version is unknown.
            None if raw.contains([':', '/']) => (self.name, String::new()),
            None => (self.name, raw.clone()),
        };
        ctx.add(Listing::V1, name, version, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "app/package-lock.json";

    fn read(json: &[u8]) -> Extracted {
        NpmLock.extract(PATH, json).unwrap()
    }

    fn pairs(x: &Extracted) -> Vec<(String, String)> {
        let mut v: Vec<_> = x
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        v.sort();
        v
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn application_lockfiles_only() {
        for yes in [
            "package-lock.json",
            "npm-shrinkwrap.json",
            "app/package-lock.json",
            "srv/app/npm-shrinkwrap.json",
        ] {
            assert!(is_lockfile(yes), "{yes}");
        }
        for no in [
            "",
            "app/node_modules/a/package-lock.json",
            "node_modules/package-lock.json",
            "app/node_modules/.package-lock.json",
            "app/package-lock.json/file",
            "app/package-lock.json.bak",
            "app/yarn.lock",
            "path.to.my.package.lock.json",
        ] {
            assert!(!is_lockfile(no), "{no}");
        }
    }

    #[test]
    fn version_2_packages_map() {
        let x = read(
            br#"{"lockfileVersion": 3, "packages": {
                "": {"name": "app", "version": "1.0.0"},
                "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz"},
                "node_modules/b/node_modules/a": {"version": "2.0.0"},
                "node_modules/c/node_modules/a": {"version": "2.0.0"},
                "node_modules/@s/b": {"version": "3.0.0", "dev": true, "inBundle": true},
                "node_modules/cjs": {"name": "@s/real", "version": "4.0.0"},
                "node_modules/w": {"resolved": "packages/w", "link": true},
                "packages/w": {"name": "w", "version": "0.1.0"},
                "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/o/g.git#aaaa"},
                "node_modules/x/node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/o/g.git#bbbb"},
                "node_modules/nothing": null
            }, "dependencies": {"zzz": {"version": "9.9.9"}}}"#,
        );
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert_eq!(
            pairs(&x),
            [
                p("@s/b", "3.0.0"),
                p("@s/real", "4.0.0"),
                p("a", "1.0.0"),
                p("a", "2.0.0"),
                p("g", "1.0.0"),
                p("g", "1.0.0"),
                p("w", "0.1.0"),
            ]
        );
        assert!(x
            .packages
            .iter()
            .all(|p| p.db_path == PATH && p.ecosystem == Ecosystem::Npm && p.purl.is_empty()));
    }

    #[test]
    fn version_1_dependency_tree() {
        let x = read(
            br#"{"lockfileVersion": 1, "dependencies": {
                "a": {"version": "1.0.0", "dependencies": {
                    "b": {"version": "2.0.0", "dependencies": {"a": {"version": "1.0.0"}}},
                    "a2": {"version": "npm:a@3.0.0"}
                }},
                "cjs": {"version": "npm:@s/real@4.0.0"},
                "bad-alias": {"version": "npm:no-at-here"},
                "g1": {"version": "git+ssh://git@github.com/o/g.git#aaaa"},
                "g2": {"version": "github:o/g#bbbb"},
                "f": {"version": "file:deps/f"},
                "t": {"version": "https://example.com/t-1.0.0.tgz"},
                "n": {},
                "z": null
            }}"#,
        );
        assert_eq!(
            pairs(&x),
            [
                p("@s/real", "4.0.0"),
                p("a", "1.0.0"),
                p("a", "3.0.0"),
                p("b", "2.0.0"),
                p("bad-alias", "npm:no-at-here"),
                p("f", ""),
                p("g1", ""),
                p("g2", ""),
                p("n", ""),
                p("t", ""),
            ]
        );
        assert_eq!(x.warnings.len(), 1);
        assert!(x.warnings[0].contains("\"bad-alias\""), "{:?}", x.warnings);
    }

    #[test]
    fn the_packages_map_wins_wherever_it_is() {
        let v1_first = br#"{"dependencies": {"old": {"version": "1.0.0"}},
            "packages": {"node_modules/new": {"version": "2.0.0"}}}"#;
        assert_eq!(pairs(&read(v1_first)), [p("new", "2.0.0")]);
        let empty_map = br#"{"packages": {}, "dependencies": {"old": {"version": "1.0.0"}}}"#;
        assert_eq!(pairs(&read(empty_map)), []);
        let null_map = br#"{"packages": null, "dependencies": {"old": {"version": "1.0.0"}}}"#;
        assert_eq!(pairs(&read(null_map)), [p("old", "1.0.0")]);
    }

    #[test]
    fn broken_files_keep_what_was_read_with_a_warning() {
        let cut =
            br#"{"packages": {"node_modules/a": {"version": "1.0.0"}, "node_modules/b": {"vers"#;
        let x = read(cut);
        assert_eq!(pairs(&x), [p("a", "1.0.0")]);
        assert!(
            x.warnings[0].contains("EOF while parsing"),
            "{:?}",
            x.warnings
        );
        let wrong_type = br#"{"packages": {"node_modules/a": {"version": "1.0.0"}, "node_modules/b": {"version": 2}}}"#;
        let x = read(wrong_type);
        assert_eq!(pairs(&x), [p("a", "1.0.0")]);
        assert!(x.warnings[0].contains("invalid type"), "{:?}", x.warnings);
        for (json, says) in [
            (
                &b"this is not json!"[..],
                "not readable: expected ident at line 1",
            ),
            (b"null", "`null`"),
            (b"[]", "expected a package-lock.json object"),
            (b"", "EOF while parsing"),
            (b"{} x", "trailing characters"),
            (br#"{"packages": []}"#, "expected the `packages` object"),
        ] {
            let x = read(json);
            assert!(x.packages.is_empty(), "{json:?}");
            assert_eq!(x.warnings.len(), 1, "{json:?}: {:?}", x.warnings);
            assert!(x.warnings[0].contains(says), "{json:?}: {:?}", x.warnings);
        }
    }

    #[test]
    fn bom_crlf_and_invalid_utf8() {
        let x = read(b"\xef\xbb\xbf{\r\n\"packages\": {\r\n\"node_modules/a\": {\"version\": \"1.0.0\", \"license\": \"\xe9\"},\r\n\"node_modules/\xff\": {\"version\": \"2.0.0\"}}}\r\n");
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert_eq!(pairs(&x), [p("a", "1.0.0"), p("\u{fffd}", "2.0.0")]);
    }

    #[test]
    fn deep_version_1_trees_stop_at_the_recursion_limit() {
        let depth = 10_000;
        let mut json = String::from(r#"{"dependencies": "#);
        for i in 0..depth {
            json.push_str(&format!(
                r#"{{"d{i}": {{"version": "1.0.0", "dependencies": "#
            ));
        }
        json.push_str("{}");
        json.push_str(&"}}".repeat(depth));
        json.push('}');
        let x = read(json.as_bytes());
        assert!(
            x.warnings[0].contains("recursion limit"),
            "{:?}",
            x.warnings
        );
        // A dependency is listed once its object is read whole, which none is here.
        assert!(x.packages.is_empty());
        // Deep values nobody reads are skipped without recursion.
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        let json = format!(
            r#"{{"x": {deep}, "packages": {{"node_modules/a": {{"version": "1", "y": {deep}}}}}}}"#
        );
        assert_eq!(pairs(&read(json.as_bytes())), [p("a", "1")]);
    }

    #[test]
    fn huge_lockfiles_are_a_warning_and_the_budget_an_error() {
        let mut never = std::io::repeat(b' ');
        let x = read_lockfile(PATH, MAX_LOCKFILE + 1, &mut never, &Budget::new(0)).unwrap();
        assert!(x.packages.is_empty());
        assert!(x.warnings[0].contains("over the limit"), "{:?}", x.warnings);

        let mut json = String::from(r#"{"packages": {"#);
        for i in 0..50_000 {
            json.push_str(&format!(
                r#""node_modules/p{i}": {{"version": "1.0.{i}"}},"#
            ));
        }
        json.push_str(r#""node_modules/last": {"version": "1.0.0"}}}"#);
        let size = json.len() as u64;
        let budget = Budget::new(size + (4 << 20));
        let e = read_lockfile(PATH, size, &mut json.as_bytes(), &budget).unwrap_err();
        assert!(
            e.reason.contains("stopped after") && e.reason.contains("memory budget"),
            "{e}"
        );
        assert_eq!(budget.used(), 0);
        let budget = Budget::new(64 << 20);
        let x = read_lockfile(PATH, size, &mut json.as_bytes(), &budget).unwrap();
        assert_eq!(x.packages.len(), 50_001);
        // What stays charged is the packages, not the file.
        let alone = Budget::unlimited();
        charge(PATH, &x.packages, &mut Charged::default(), &alone).unwrap();
        assert_eq!(budget.used(), alone.used());
    }

    #[test]
    fn install_paths_name_packages() {
        assert_eq!(name_from_install_path("node_modules/a"), "a");
        assert_eq!(
            name_from_install_path("node_modules/a/node_modules/@s/b"),
            "@s/b"
        );
        assert_eq!(name_from_install_path("packages/w"), "w");
        assert_eq!(name_from_install_path("w"), "w");
        assert_eq!(name_from_install_path("node_modules/@s/"), "@s");
        assert_eq!(name_from_install_path("/"), "");
    }
}
