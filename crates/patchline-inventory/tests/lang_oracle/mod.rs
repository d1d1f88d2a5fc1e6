//! The expectations of osv-scalibr's upstream tests, read from the `*_test.go.txt` files
//! saved beside its test data (`language/osv-scalibr/<eco>/<extractor>/`), so that the
//! comparison follows the oracle as stored rather than a copy of it.
//!
//! The Go test tables are regular enough to scan by lines: a case is a block whose
//! `name:` (or `Name:`) key sits at the shallowest indentation of such keys; its input is
//! `path:`/`Path:` (`inputPath:` in FileRequired tables), its packages the deeper
//! `Name:`/`Version:` pairs, and a `wantErr:`/`WantErr:` key means it expects an error.

#![allow(dead_code)]

use std::path::Path;

/// One case of an Extract table.
#[derive(Debug, Clone)]
pub struct Case {
    pub title: String,
    pub path: String,
    /// `(name, version)` of the packages it expects, in the table's order.
    pub packages: Vec<(String, String)>,
    pub want_err: bool,
}

/// One case of a FileRequired table.
#[derive(Debug, Clone)]
pub struct Required {
    pub title: String,
    pub path: String,
    pub want: bool,
    /// The case sets a file-size limit (osv-scalibr's per-extractor option, which
    /// patchline has as one inventory-wide limit instead).
    pub size_limited: bool,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The Go string literal value of `key: "value",` (no escapes in these tables).
fn string_value(line: &str, keys: &[&str]) -> Option<String> {
    let t = line.trim();
    for key in keys {
        if let Some(rest) = t.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let rest = rest.trim();
            let rest = rest.strip_prefix('"')?;
            let end = rest.find('"')?;
            return Some(rest[..end].to_string());
        }
    }
    None
}

fn has_key(line: &str, keys: &[&str]) -> bool {
    let t = line.trim();
    keys.iter()
        .any(|k| t.strip_prefix(k).is_some_and(|r| r.starts_with(':')))
}

/// The body of `func <func>(` up to the next top-level `func`.
fn function<'a>(go: &'a str, func: &str) -> &'a str {
    let start = go
        .find(&format!("func {func}("))
        .unwrap_or_else(|| panic!("no func {func} in the test file"));
    let body = &go[start..];
    let end = body[1..].find("\nfunc ").map_or(body.len(), |i| i + 1);
    &body[..end]
}

/// The blocks of a table: lines grouped from one case-level `name:` key to the next.
fn blocks(body: &str) -> Vec<Vec<&str>> {
    let lines: Vec<&str> = body.lines().collect();
    let level = lines
        .iter()
        .filter(|l| has_key(l, &["name", "Name"]))
        .map(|l| indent(l))
        .min()
        .expect("a table with name keys");
    let mut out: Vec<Vec<&str>> = Vec::new();
    for l in lines {
        // The loop after the table ends the last case.
        if l.trim_start().starts_with("for _, ") {
            break;
        }
        if has_key(l, &["name", "Name"]) && indent(l) == level {
            out.push(Vec::new());
        }
        if let Some(b) = out.last_mut() {
            b.push(l);
        }
    }
    out
}

/// The cases of the Extract test function `func`.
pub fn extract_cases(test_file: &Path, func: &str) -> Vec<Case> {
    let go = std::fs::read_to_string(test_file)
        .unwrap_or_else(|e| panic!("{}: {e}", test_file.display()));
    blocks(function(&go, func))
        .into_iter()
        .map(|b| {
            let level = indent(b[0]);
            let title = string_value(b[0], &["name", "Name"]).unwrap();
            let path = b
                .iter()
                .find_map(|l| string_value(l, &["path", "Path"]))
                .unwrap_or_else(|| panic!("case {title} has no path"));
            let want_err = b.iter().any(|l| has_key(l, &["wantErr", "WantErr"]));
            let mut packages = Vec::new();
            let mut name: Option<String> = None;
            for l in &b[1..] {
                if indent(l) <= level {
                    continue;
                }
                if let Some(n) = string_value(l, &["Name"]) {
                    name = Some(n);
                } else if let Some(v) = string_value(l, &["Version"]) {
                    let n = name
                        .take()
                        .unwrap_or_else(|| panic!("{title}: Version without Name"));
                    packages.push((n, v));
                }
            }
            Case {
                title,
                path,
                packages,
                want_err,
            }
        })
        .collect()
}

/// The cases of the FileRequired test function `func`.
pub fn required_cases(test_file: &Path, func: &str) -> Vec<Required> {
    let go = std::fs::read_to_string(test_file)
        .unwrap_or_else(|e| panic!("{}: {e}", test_file.display()));
    blocks(function(&go, func))
        .into_iter()
        .map(|b| {
            let title = string_value(b[0], &["name", "Name"]).unwrap();
            let path = b
                .iter()
                .find_map(|l| string_value(l, &["path", "inputPath"]))
                .unwrap_or_else(|| panic!("case {title} has no path"));
            let want = b.iter().any(|l| {
                let t: String = l.split_whitespace().collect();
                t == "want:true," || t == "wantRequired:true,"
            });
            let size_limited = b.iter().any(|l| has_key(l, &["maxFileSizeBytes"]));
            Required {
                title,
                path,
                want,
                size_limited,
            }
        })
        .collect()
}

/// Sorted `(name, version)` pairs, to compare as multisets (osv-scalibr's tests sort).
pub fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}
