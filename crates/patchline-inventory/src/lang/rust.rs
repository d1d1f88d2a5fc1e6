//! Rust crates, OSV ecosystem `crates.io`: the dependency list cargo-auditable embeds
//! in a binary, and `Cargo.lock` files.
//!
//! **cargo-auditable** links a `.dep-v0` section into the executables it builds
//! (ELF and PE `.dep-v0`, Mach-O `__DATA,.dep-v0`): zlib-compressed JSON,
//!
//! ```text
//! {"packages":[{"name":"serde","version":"1.0.217","source":"crates.io",
//!               "kind":"build","dependencies":[6],"root":true}, ...]}
//! ```
//!
//! where `kind` is `runtime` when absent and `root` marks the crate the binary is. As
//! osv-scalibr's cargo-auditable extractor (its test expectations are the oracle,
//! `tests/rust.rs`), every crate is listed, the root and local crates included, except
//! build-only ones (`kind: build`: build scripts' dependencies, not compiled into the
//! binary). The section is found by the binary extractor ([`crate::lang::binary`]),
//! which reads each executable once for Go and Rust alike; this module inflates and
//! decodes it, at most [`MAX_DEP_JSON`] bytes (cargo-auditable's own reader refuses
//! more too), charged to the memory budget as they are inflated, so a zlib bomb stops
//! early with a warning. The maintained readers (`auditable-extract`, `auditable-info`)
//! want the whole binary in one slice, which a streaming read does not have.
//!
//! **`Cargo.lock`** (any version of the format): every `[[package]]` with its `name` and
//! `version`, local and git crates included, duplicates (two versions of one crate)
//! kept, in file order. It is parsed as TOML (the `toml` crate, whose nesting depth is
//! bounded); a file that is not TOML gives a warning and no packages.

use std::io::Read;

use patchline_model::{Ecosystem, Package};
use serde::Deserialize;

use crate::extract::{charge, quoted, Budget, CappedWarnings, Charged, ExtractError, Held};
use crate::{Extracted, Extractor};

/// The largest `.dep-v0` section read (compressed); real ones are a few kilobytes.
pub(crate) const MAX_DEP_SECTION: u64 = 8 << 20;
/// The largest dependency list inflated.
pub const MAX_DEP_JSON: u64 = 8 << 20;

/// What a candidate `.dep-v0` section gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Auditable {
    /// Not zlib-compressed JSON of cargo-auditable's shape (only said for sections
    /// that are not known by name to be `.dep-v0`).
    NotOurs,
    Read(Vec<Package>),
    /// The section is `.dep-v0` but cannot be read: the reason.
    Broken(String),
}

#[derive(Deserialize)]
struct DepInfo {
    packages: Vec<DepPackage>,
}

#[derive(Deserialize)]
struct DepPackage {
    name: String,
    version: String,
    #[serde(default)]
    kind: Option<String>,
}

/// Inflates and decodes a `.dep-v0` section. `named`: the section is known to be
/// `.dep-v0` (else a failure means it is some other section, and is not reported).
pub(crate) fn auditable(
    path: &str,
    section: &[u8],
    named: bool,
    budget: &Budget,
    warnings: &mut CappedWarnings,
) -> Result<Auditable, ExtractError> {
    let broken = |why: String| {
        Ok(if named {
            Auditable::Broken(why)
        } else {
            Auditable::NotOurs
        })
    };
    // A zlib header: deflate, and a check value over the two bytes.
    let zlib = section.len() >= 2
        && section[0] & 0x0f == 8
        && (u16::from(section[0]) << 8 | u16::from(section[1])) % 31 == 0;
    if !zlib {
        return broken("the cargo-auditable dependency list (.dep-v0) is not zlib data".into());
    }
    /// Bytes of inflated JSON charged to the budget at a time.
    const STEP: u64 = 1 << 20;
    let mut json = Vec::new();
    let mut held: Vec<Held<'_>> = Vec::new();
    let mut z = flate2::read::ZlibDecoder::new(section);
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = match z.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                return broken(format!(
                    "the cargo-auditable dependency list (.dep-v0) does not inflate: {e}"
                ))
            }
        };
        if json.len() as u64 + n as u64 > MAX_DEP_JSON {
            return broken(format!(
                "the cargo-auditable dependency list (.dep-v0) inflates to more than {MAX_DEP_JSON} bytes"
            ));
        }
        while (held.len() as u64) * STEP < json.len() as u64 + n as u64 {
            let h = budget.reserve(STEP).map_err(|e| {
                ExtractError::new(
                    path,
                    format!("inflating the cargo-auditable dependency list: {e}"),
                )
            })?;
            held.push(h);
        }
        json.extend_from_slice(&buf[..n]);
    }
    let info: DepInfo = match serde_json::from_slice(&json) {
        Ok(i) => i,
        Err(e) => {
            return broken(format!(
                "the cargo-auditable dependency list (.dep-v0) is not the expected JSON: {e}"
            ))
        }
    };
    drop(json);
    let mut out = Vec::new();
    for (i, d) in info.packages.into_iter().enumerate() {
        if d.kind.as_deref() == Some("build") {
            continue;
        }
        if d.name.is_empty() || d.version.is_empty() {
            warnings.push(format!(
                "cargo-auditable dependency list: package {} has an empty name or version",
                i + 1
            ));
            continue;
        }
        let mut p = Package::new(Ecosystem::Cargo, d.name, d.version);
        p.db_path = path.to_string();
        out.push(p);
    }
    Ok(Auditable::Read(out))
}

/// `Cargo.lock` files.
pub struct CargoLock;

/// The largest `Cargo.lock` read; big workspaces have a few hundred kilobytes.
const MAX_LOCK_BYTES: u64 = 64 << 20;
/// The TOML tree costs a few times the text; charged on top of the text.
const TREE_FACTOR: u64 = 4;

impl Extractor for CargoLock {
    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn wants(&self, path: &str) -> bool {
        path == "Cargo.lock" || path.ends_with("/Cargo.lock")
    }

    fn locations(&self) -> Vec<String> {
        Vec::new()
    }

    fn max_file_bytes(&self) -> Option<u64> {
        Some(MAX_LOCK_BYTES)
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        Ok(parse_lock(path, content))
    }

    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let cost = size.saturating_mul(1 + TREE_FACTOR);
        let held = budget
            .reserve(cost)
            .map_err(|e| ExtractError::new(path, format!("{size} bytes of TOML to parse: {e}")))?;
        let mut buf = Vec::with_capacity(size as usize);
        content
            .take(size)
            .read_to_end(&mut buf)
            .map_err(|e| ExtractError::new(path, format!("reading failed: {e}")))?;
        let x = parse_lock(path, &buf);
        drop(buf);
        drop(held);
        charge(path, &x.packages, &mut Charged::default(), budget)?;
        Ok(x)
    }
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<toml::Value>,
}

/// The packages of a `Cargo.lock`; a file that is not TOML gives a warning.
pub fn parse_lock(path: &str, content: &[u8]) -> Extracted {
    let mut warnings = CappedWarnings::default();
    let text = match std::str::from_utf8(content) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!(
                "not a Cargo.lock: not UTF-8 (byte {})",
                e.valid_up_to()
            ));
            return Extracted {
                packages: Vec::new(),
                warnings: warnings.finish(),
                ..Default::default()
            };
        }
    };
    let lock: Lock = match toml::from_str(text) {
        Ok(l) => l,
        Err(e) => {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            let msg: String = e
                .message()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(200)
                .collect();
            warnings.push(match line {
                Some(l) => format!("not a Cargo.lock: TOML error at line {l}: {}", msg.trim()),
                None => format!("not a Cargo.lock: TOML error: {}", msg.trim()),
            });
            return Extracted {
                packages: Vec::new(),
                warnings: warnings.finish(),
                ..Default::default()
            };
        }
    };
    let mut packages = Vec::new();
    for (i, entry) in lock.package.iter().enumerate() {
        let field = |k: &str| entry.get(k).and_then(toml::Value::as_str);
        match (field("name"), field("version")) {
            (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => {
                let mut p = Package::new(Ecosystem::Cargo, n, v);
                p.db_path = path.to_string();
                packages.push(p);
            }
            (n, _) => warnings.push(format!(
                "[[package]] {} ({}) has no name or version",
                i + 1,
                n.map_or_else(|| "no name".to_string(), |n| quoted(n.as_bytes()))
            )),
        }
    }
    Extracted {
        packages,
        warnings: warnings.finish(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(section: &[u8], named: bool) -> (Auditable, Vec<String>) {
        let mut w = CappedWarnings::default();
        let got = auditable("bin/x", section, named, &Budget::unlimited(), &mut w).unwrap();
        (got, w.finish())
    }

    #[test]
    fn build_only_crates_are_left_out() {
        let json =
            br#"{"packages":[{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"},
            {"name":"x","version":"0.1.0","source":"local","root":true,"dependencies":[2]},
            {"name":"serde","version":"1.0.0","source":"crates.io","kind":"runtime"}]}"#;
        let (got, w) = run(&zlib(json), true);
        let Auditable::Read(p) = got else { panic!() };
        let names: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, [("x", "0.1.0"), ("serde", "1.0.0")]);
        assert!(p
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Cargo && p.db_path == "bin/x"));
        assert!(w.is_empty());
    }

    #[test]
    fn a_zlib_bomb_stops_at_the_limit_within_the_budget() {
        let bomb = zlib(&vec![b' '; (MAX_DEP_JSON + (1 << 20)) as usize]);
        assert!(bomb.len() < 64 << 10);
        let budget = Budget::new(MAX_DEP_JSON + (1 << 20));
        let mut w = CappedWarnings::default();
        let got = auditable("x", &bomb, true, &budget, &mut w).unwrap();
        let Auditable::Broken(e) = got else {
            panic!("{got:?}")
        };
        assert!(e.contains("inflates to more than"), "{e}");
        assert_eq!(budget.used(), 0);
        // A budget smaller than the inflated text stops it as an error of the inventory.
        let small = Budget::new(2 << 20);
        let e = auditable("x", &bomb, true, &small, &mut w).unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
        assert_eq!(small.used(), 0);
    }

    #[test]
    fn garbage_is_broken_when_named_and_silent_otherwise() {
        for data in [&b""[..], b"\x78\x9c\x01\x02\x03", b"not zlib at all"] {
            assert!(
                matches!(run(data, true).0, Auditable::Broken(_)),
                "{data:?}"
            );
            assert_eq!(run(data, false).0, Auditable::NotOurs);
        }
        let (got, _) = run(&zlib(b"{\"packages\": 3}"), true);
        assert!(matches!(got, Auditable::Broken(e) if e.contains("expected JSON")));
    }

    #[test]
    fn cargo_lock_paths() {
        let c = CargoLock;
        assert!(c.wants("Cargo.lock"));
        assert!(c.wants("src/app/Cargo.lock"));
        assert!(!c.wants(""));
        assert!(!c.wants("path/to/my/Cargo.lock/file"));
        assert!(!c.wants("path/to/my/Cargo.lock.file"));
        assert!(!c.wants("path.to.my.Cargo.lock"));
        assert!(!c.wants("xCargo.lock"));
    }

    #[test]
    fn cargo_lock_bad_entries_and_bad_toml() {
        let x = parse_lock(
            "Cargo.lock",
            b"[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\n\n[[package]]\nversion = 3\n",
        );
        assert_eq!(x.packages.len(), 1);
        assert_eq!(x.warnings.len(), 2, "{:?}", x.warnings);
        assert!(x.warnings[0].contains("2 (\"b\")"), "{:?}", x.warnings);

        let x = parse_lock("Cargo.lock", b"version = 3\n\n[[package]\nname = 1");
        assert!(x.packages.is_empty());
        assert!(x.warnings[0].contains("line 3"), "{:?}", x.warnings);

        let x = parse_lock("Cargo.lock", b"\xff\xfe");
        assert!(x.warnings[0].contains("not UTF-8"), "{:?}", x.warnings);

        // Deep nesting is refused by the parser, not the stack.
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let x = parse_lock("Cargo.lock", deep.as_bytes());
        assert!(x.packages.is_empty() && x.warnings.len() == 1);
    }
}
