//! Composer (PHP): `vendor/composer/installed.json` and `composer.lock`.
//!
//! Composer records what it installed in `<vendor-dir>/composer/installed.json`, in two
//! layouts: Composer 1 writes a top-level array of packages, Composer 2 an object
//! `{"packages": [...], "dev": true, "dev-package-names": [...]}`. A project's
//! `composer.lock` is an object with `packages` and `packages-dev` arrays. Every package
//! is an object of which only `name` (`vendor/name`, the Packagist name OSV uses),
//! `version` and `license` (an array of SPDX ids, or one string in old files) are read;
//! `require`, `dist`, `autoload`, descriptions and the rest are skipped unread.
//!
//! Choices. Dev packages are listed too: osv-scalibr lists `packages-dev` of a lock file
//! (as its dev group), and in `installed.json` a dev package is in the list only when it
//! was installed (`composer install --no-dev` leaves it out). Versions are kept as
//! written, as osv-scalibr keeps them: tags with a `v` (`v5.4.21`, most of Symfony),
//! branch versions (`dev-main`, `2.x-dev`); `version_normalized` is not used. Any vendor
//! directory name is accepted (`composer/installed.json` at the end of the path), since
//! `vendor-dir` is configurable. Both files of one project are read, each package then
//! listed once per file (the `db_path` tells them apart), as osv-scalibr does.
//!
//! Bad input: a package without a usable `name` or `version` (missing, not a string,
//! empty, with spaces or control characters), or an entry that is not an object, is
//! skipped with a warning naming it (`packages-dev[3]`). A file that is not JSON, or not
//! of these shapes (`null`, a number), gives a warning and the packages read before the
//! error. The file is streamed: only the package being read and the packages kept are in
//! memory, with serde_json's scratch buffer charged to the budget (see
//! [`bounded_json`](super::bounded_json)); warnings are capped.

use std::io::Read;

use patchline_model::{Ecosystem, Package};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::bounded_json::{read_json, unexpected_kinds, Scalar};
use crate::extract::{
    charge, quoted, Budget, CappedWarnings, Charged, ExtractError, Extracted, Extractor,
};

/// The composer `installed.json` and `composer.lock` extractor.
pub struct Composer;

impl Extractor for Composer {
    fn name(&self) -> &'static str {
        "composer"
    }

    fn wants(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        name == "composer.lock"
            || path == "composer/installed.json"
            || path.ends_with("/composer/installed.json")
    }

    fn locations(&self) -> Vec<String> {
        vec![]
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        parse_composer(path, content)
    }

    fn extract_from(
        &self,
        path: &str,
        _size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        parse_composer_from(path, content, budget)
    }
}

/// Reads the packages of a composer `installed.json` or `composer.lock`. `path` is
/// recorded as each package's `db_path` and names the file in errors.
pub fn parse_composer(path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
    parse_composer_from(path, &mut &content[..], &Budget::unlimited())
}

/// [`parse_composer`] from a stream; memory is charged to `budget`.
pub fn parse_composer_from(
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
        lists: 0,
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
    } else if ctx.lists == 0 && !ctx.wrong_top {
        ctx.warnings.push(
            "no \"packages\" array: not a composer.lock or installed.json; no packages".into(),
        );
    }
    Ok(Extracted {
        packages: ctx.packages,
        warnings: ctx.warnings.finish(),
        ..Default::default()
    })
}

/// Licenses kept per package; a longer list is cut with a warning.
const MAX_LICENSES: usize = 64;

struct Ctx<'a> {
    path: &'a str,
    budget: &'a Budget,
    packages: Vec<Package>,
    charged: Charged,
    warnings: CappedWarnings,
    /// Over the budget while keeping packages: the parse is stopped through a serde error,
    /// and this is the real one.
    fatal: Option<ExtractError>,
    /// Package lists seen (`packages`, `packages-dev`, or a Composer 1 array).
    lists: usize,
    /// The file is JSON but neither an object nor an array (warned about).
    wrong_top: bool,
}

/// A package's fields as read.
#[derive(Default)]
struct Fields {
    name: Option<Scalar>,
    version: Option<Scalar>,
    licenses: Vec<String>,
    /// License entries that were not strings, or past [`MAX_LICENSES`].
    bad_licenses: usize,
    license_kind: Option<&'static str>,
}

impl Ctx<'_> {
    /// Lists the package `at` names (`packages[3]`), or warns why not. `Err`: over the
    /// budget.
    fn finish(&mut self, at: &str, f: Fields) -> Result<(), ()> {
        let name = match valid(f.name.as_ref()) {
            Ok(name) => name,
            Err(why) => {
                self.warnings.push(format!("{at}: \"name\" {why}; skipped"));
                return Ok(());
            }
        };
        let at = format!("{at} ({})", quoted(name.as_bytes()));
        let version = match valid(f.version.as_ref()) {
            Ok(v) => v,
            Err(why) => {
                self.warnings
                    .push(format!("{at}: \"version\" {why}; skipped"));
                return Ok(());
            }
        };
        if let Some(kind) = f.license_kind {
            self.warnings
                .push(format!("{at}: \"license\" is {kind}; ignored"));
        }
        if f.bad_licenses > 0 {
            self.warnings.push(format!(
                "{at}: {} \"license\" entries that are not short strings, or past the first \
                 {MAX_LICENSES}, ignored",
                f.bad_licenses
            ));
        }
        let mut pkg = Package::new(Ecosystem::Composer, name, version);
        pkg.licenses = f.licenses;
        pkg.db_path = self.path.to_string();
        self.packages.push(pkg);
        charge(self.path, &self.packages, &mut self.charged, self.budget).map_err(|e| {
            self.fatal = Some(e);
        })
    }
}

/// The string of a name or version field, or what is wrong with it.
fn valid(field: Option<&Scalar>) -> Result<&str, String> {
    match field {
        None => Err("missing".into()),
        Some(Scalar::Str(s)) if s.is_empty() => Err("is empty".into()),
        Some(Scalar::Str(s)) if s.chars().any(|c| c.is_whitespace() || c.is_control()) => Err(
            format!("{} has spaces or control characters", quoted(s.as_bytes())),
        ),
        Some(Scalar::Str(s)) => Ok(s),
        Some(other) => Err(format!("is {}, not a string", other.describe())),
    }
}

/// The whole file: a Composer 1 array, or an object holding the lists.
struct Top<'c, 'a>(&'c mut Ctx<'a>);

impl Top<'_, '_> {
    fn unexpected(self, kind: &str) {
        self.0.warnings.push(format!(
            "the file is {kind}, not a composer.lock or installed.json; no packages"
        ));
        self.0.wrong_top = true;
    }
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a composer.lock or installed.json: an object or an array of packages")
    }

    unexpected_kinds!('de; scalars);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        List {
            ctx: self.0,
            label: "",
        }
        .visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Scalar>()? {
            let label = match key.as_str() {
                Some("packages") => "packages",
                Some("packages-dev") => "packages-dev",
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(List {
                ctx: &mut *self.0,
                label,
            })?;
        }
        Ok(())
    }
}

/// One list of packages: `label` is `packages`, `packages-dev`, or empty for Composer 1's
/// top-level array.
struct List<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    label: &'static str,
}

impl List<'_, '_> {
    fn unexpected(self, kind: &str) {
        self.ctx.warnings.push(format!(
            "\"{}\" is {kind}, not an array of packages; ignored",
            self.label
        ));
    }
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of packages")
    }

    unexpected_kinds!('de; scalars, map);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.ctx.lists += 1;
        let mut index = 0usize;
        loop {
            let at = format!("{}[{index}]", self.label);
            let entry = Entry {
                ctx: &mut *self.ctx,
                at: &at,
            };
            if seq.next_element_seed(entry)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// One entry of a list, `at` naming it.
struct Entry<'c, 'a, 'p> {
    ctx: &'c mut Ctx<'a>,
    at: &'p str,
}

impl Entry<'_, '_, '_> {
    fn unexpected(self, kind: &str) {
        self.ctx.warnings.push(format!(
            "{}: {kind}, not a package object; skipped",
            self.at
        ));
    }
}

impl<'de> DeserializeSeed<'de> for Entry<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a package object")
    }

    unexpected_kinds!('de; scalars, seq);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut f = Fields::default();
        let mut license_seen = false;
        while let Some(key) = map.next_key::<Scalar>()? {
            // Composer writes each key once; should one repeat, the first counts.
            match key.as_str() {
                Some("name") if f.name.is_none() => f.name = Some(map.next_value()?),
                Some("version") if f.version.is_none() => f.version = Some(map.next_value()?),
                Some("license") if !license_seen => {
                    license_seen = true;
                    map.next_value_seed(Licenses(&mut f))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.ctx
            .finish(self.at, f)
            .map_err(|()| de::Error::custom("over the memory budget"))
    }
}

/// A package's `license`: an array of ids, or one id.
struct Licenses<'f>(&'f mut Fields);

impl Licenses<'_> {
    fn unexpected(self, kind: &'static str) {
        self.0.license_kind = Some(kind);
    }
}

impl<'de> DeserializeSeed<'de> for Licenses<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Licenses<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a license id or an array of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        push_license(self.0, Scalar::Str(v.to_string()));
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.unexpected("a boolean");
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.unexpected("a number");
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.unexpected("a number");
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.unexpected("a number");
        Ok(())
    }

    // `"license": null` is how some packages say they state none.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    unexpected_kinds!('de; map);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(id) = seq.next_element::<Scalar>()? {
            push_license(self.0, id);
        }
        Ok(())
    }
}

fn push_license(f: &mut Fields, id: Scalar) {
    match id {
        Scalar::Str(s) if f.licenses.len() < MAX_LICENSES => {
            let s = s.trim();
            if !s.is_empty() {
                f.licenses.push(s.to_string());
            }
        }
        _ => f.bad_licenses += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Extracted {
        parse_composer("app/composer.lock", input.as_bytes()).unwrap()
    }

    fn ids(x: &Extracted) -> Vec<(String, String)> {
        x.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn selects_lock_files_and_installed_json_anywhere() {
        let c = Composer;
        for yes in [
            "composer.lock",
            "var/www/html/composer.lock",
            "var/www/html/vendor/composer/installed.json",
            "app/lib/composer/installed.json",
        ] {
            assert!(c.wants(yes), "{yes}");
        }
        for no in [
            "",
            "path/to/my/composer.lock/file",
            "path/to/my/composer.lock.file",
            "path.to.my.composer.lock",
            "vendor/composer/installed.php",
            "vendor/mycomposer/installed.json",
            "installed.json",
        ] {
            assert!(!c.wants(no), "{no}");
        }
        assert!(c.locations().is_empty());
    }

    #[test]
    fn reads_both_installed_json_layouts() {
        let v1 = r#"[{"name": "monolog/monolog", "version": "1.27.1", "version_normalized": "1.27.1.0",
                      "license": ["MIT"], "require": {"php": ">=5.3.0"}},
                     {"name": "symfony/yaml", "version": "v4.4.45", "license": "MIT"}]"#;
        let x = parse_composer("srv/vendor/composer/installed.json", v1.as_bytes()).unwrap();
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(
            ids(&x),
            [
                ("monolog/monolog".into(), "1.27.1".into()),
                ("symfony/yaml".into(), "v4.4.45".into())
            ]
        );
        assert_eq!(x.packages[1].licenses, ["MIT"]);
        assert_eq!(x.packages[0].ecosystem, Ecosystem::Composer);
        assert_eq!(x.packages[0].db_path, "srv/vendor/composer/installed.json");

        let v2 = r#"{"packages": [{"name": "psr/log", "version": "3.0.0", "install-path": "../psr/log",
                      "license": ["MIT", "Apache-2.0"]},
                     {"name": "phpunit/phpunit", "version": "10.5.1"}],
                     "dev": true, "dev-package-names": ["phpunit/phpunit"]}"#;
        let x = parse(v2);
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(
            ids(&x),
            [
                ("psr/log".into(), "3.0.0".into()),
                ("phpunit/phpunit".into(), "10.5.1".into())
            ]
        );
        assert_eq!(x.packages[0].licenses, ["MIT", "Apache-2.0"]);
    }

    #[test]
    fn bad_entries_are_skipped_with_warnings() {
        let x = parse(
            r#"{"packages": [
                 {"name": "a/ok", "version": "1.0.0"},
                 {"version": "1.0"},
                 {"name": "b/b", "version": 2},
                 {"name": "c c", "version": "1"},
                 {"name": "d/d", "version": ""},
                 "e/e",
                 null,
                 {"name": "f/f", "version": "1.0", "license": 5},
                 {"name": "g/g", "version": "1.0", "license": ["MIT", 1, null, {"x": 1}]},
                 {"name": "h/h", "version": "1.0", "license": null, "name": "ignored"}
               ],
               "packages-dev": {"x": 1}}"#,
        );
        assert_eq!(
            ids(&x),
            [
                ("a/ok".into(), "1.0.0".into()),
                ("f/f".into(), "1.0".into()),
                ("g/g".into(), "1.0".into()),
                ("h/h".into(), "1.0".into())
            ]
        );
        assert_eq!(x.packages[2].licenses, ["MIT"]);
        assert!(x.packages[3].licenses.is_empty());
        let w = &x.warnings;
        assert_eq!(w.len(), 9, "{w:#?}");
        assert_eq!(w[0], "packages[1]: \"name\" missing; skipped");
        assert_eq!(
            w[1],
            "packages[2] (\"b/b\"): \"version\" is a number, not a string; skipped"
        );
        assert!(
            w[2].starts_with("packages[3]: \"name\" \"c c\" has spaces"),
            "{}",
            w[2]
        );
        assert_eq!(w[3], "packages[4] (\"d/d\"): \"version\" is empty; skipped");
        assert_eq!(w[4], "packages[5]: a string, not a package object; skipped");
        assert_eq!(w[5], "packages[6]: null, not a package object; skipped");
        assert_eq!(
            w[6],
            "packages[7] (\"f/f\"): \"license\" is a number; ignored"
        );
        assert!(
            w[7].starts_with("packages[8] (\"g/g\"): 3 \"license\" entries"),
            "{}",
            w[7]
        );
        assert_eq!(
            w[8],
            "\"packages-dev\" is an object, not an array of packages; ignored"
        );
    }

    #[test]
    fn not_json_or_not_a_package_list_is_a_warning() {
        for (input, want) in [
            (
                "this is not json!",
                "reading stopped: expected ident at line 1 column 2",
            ),
            (
                "null",
                "the file is null, not a composer.lock or installed.json; no packages",
            ),
            ("\"x\"", "the file is a string, not a composer.lock"),
            (
                "",
                "reading stopped: EOF while parsing a value at line 1 column 0",
            ),
            ("{\"content-hash\": \"x\"}", "no \"packages\" array"),
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
    fn truncated_file_keeps_packages_read_before() {
        let x = parse(r#"{"packages": [{"name": "a/a", "version": "1"}, {"name": "b/b", "vers"#);
        assert_eq!(ids(&x), [("a/a".into(), "1".into())]);
        assert_eq!(x.warnings.len(), 1);
        assert!(
            x.warnings[0].starts_with("reading stopped: EOF while parsing")
                && x.warnings[0].ends_with("(the 1 packages read before are kept)"),
            "{}",
            x.warnings[0]
        );
    }

    #[test]
    fn crlf_bom_and_non_utf8() {
        let x = parse_composer(
            "composer.lock",
            b"\xef\xbb\xbf{\r\n  \"packages\": [\r\n    {\"name\": \"a/a\", \"version\": \"1.0\", \
              \"description\": \"caf\xe9\"}\r\n  ]\r\n}\r\n",
        )
        .unwrap();
        // Skipped strings are not checked for UTF-8.
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(ids(&x), [("a/a".into(), "1.0".into())]);

        let x = parse_composer(
            "composer.lock",
            b"{\"packages\": [{\"name\": \"a/a\", \"version\": \"1.0\"}, \
              {\"name\": \"b/\xff\", \"version\": \"1.0\"}]}",
        )
        .unwrap();
        assert_eq!(ids(&x), [("a/a".into(), "1.0".into())]);
        assert!(
            x.warnings[0].contains("invalid unicode code point"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn huge_file_within_and_over_the_budget() {
        let mut input = String::from("{\"packages\": [");
        for i in 0..5_000 {
            if i > 0 {
                input.push(',');
            }
            input.push_str(&format!(
                "{{\"name\": \"v/p{i}\", \"version\": \"1.{i}\", \"description\": \"{}\"}}",
                "d".repeat(1000)
            ));
        }
        input.push_str("]}");
        let x = parse_composer("composer.lock", input.as_bytes()).unwrap();
        assert_eq!(x.packages.len(), 5_000);
        assert!(x.warnings.is_empty());

        // Streamed: a budget below the file's size holds the packages kept.
        assert!(input.len() > 5 << 20);
        let budget = Budget::new(4 << 20);
        let streamed =
            parse_composer_from("composer.lock", &mut input.as_bytes(), &budget).unwrap();
        assert_eq!(streamed, x);

        let budget = Budget::new((1 << 20) + (256 << 10));
        let e = parse_composer_from("composer.lock", &mut input.as_bytes(), &budget).unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
    }

    #[test]
    fn warnings_are_capped() {
        let input = format!("[{}1]", "1,".repeat(1000));
        let x = parse(&input);
        assert_eq!(x.warnings.len(), 101);
        assert_eq!(x.warnings[100], "901 further warnings not shown");
    }
}
