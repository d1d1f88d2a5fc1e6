//! Which distribution an image is.
//!
//! The answer comes from `os-release` (freedesktop.org): `KEY=value` lines, values
//! optionally quoted with `"` or `'`, `\` escaping inside double quotes and in bare values,
//! `#` comment lines and blank lines ignored. [`parse_vars`] reads any such file; the
//! parser is lenient where real files are sloppy: CRLF line ends, a byte-order mark, spaces
//! around `=`, an unterminated quote (the value runs to the end of the line), `export `
//! prefixes, invalid UTF-8 (read lossily). Lines that are not assignments are skipped. A
//! key assigned twice keeps its last value, as a shell sourcing the file would.
//!
//! Images without os-release (old or stripped ones) still say what they are in older
//! files, read as fallbacks by [`detect`] and normalised to what os-release would say:
//! `etc/alpine-release`; `etc/lsb-release` (checked before `debian_version` because
//! Ubuntu ships both and its `debian_version` names a Debian codename); the Red Hat family's
//! `etc/*-release` one-liners, distro-specific files first because Oracle Linux's
//! `redhat-release` claims to be Red Hat Enterprise Linux; `etc/debian_version` last.
//! Normalisations: Debian's `12.5` gives `VERSION_ID` `12` and `bookworm/sid` (testing or
//! unstable) the codename `bookworm` with no version, as os-release does; CentOS
//! `7.6.1810` gives `7` for the same reason. When a Debian os-release names neither a
//! version nor a codename (testing images of some years), the codename is taken from
//! `etc/debian_version`.
//!
//! Inputs are small files, but they are untrusted: work and memory are linear in the
//! input, and nothing panics.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use patchline_model::distro::{alpine, debian, redhat, Registry, Spec};
use patchline_model::Distro;

const OS_RELEASE: &str = "etc/os-release";
const USR_OS_RELEASE: &str = "usr/lib/os-release";
/// Bottlerocket keeps its os-release inside the per-architecture sysroot of its images.
const BOTTLEROCKET: [&str; 2] = [
    "x86_64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
    "aarch64-bottlerocket-linux-gnu/sys-root/usr/lib/os-release",
];
const ALPINE_RELEASE: &str = "etc/alpine-release";
const LSB_RELEASE: &str = "etc/lsb-release";
const DEBIAN_VERSION: &str = "etc/debian_version";
/// The `etc/*-release` one-line files, most specific first (the distro registry's own,
/// in registry order), then the generic Red Hat-family ones, which name nobody by
/// themselves: Oracle Linux's `redhat-release` claims to be Red Hat Enterprise Linux.
fn release_files() -> impl Iterator<Item = (&'static str, Option<&'static Spec>)> {
    // Asked for every path of every layer: built once.
    static FILES: OnceLock<Vec<(&'static str, Option<&'static Spec>)>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            Registry::builtin()
                .release_files()
                .into_iter()
                .map(|(path, spec)| (path, Some(spec)))
                .chain(redhat::GENERIC_RELEASE_FILES.iter().map(|p| (*p, None)))
                .collect()
        })
        .iter()
        .copied()
}

/// Does the distro detection need this file?
pub fn wants(path: &str) -> bool {
    path == OS_RELEASE
        || path == USR_OS_RELEASE
        || BOTTLEROCKET.contains(&path)
        || path == ALPINE_RELEASE
        || path == LSB_RELEASE
        || path == DEBIAN_VERSION
        || release_files().any(|(p, _)| p == path)
}

/// Reads an os-release file. `source` is its path in the image, kept in
/// [`Distro::source`] and named in errors. Fails when the file has no `ID`.
pub fn parse_os_release(content: &[u8], source: &str) -> Result<Distro, String> {
    let vars = parse_vars(content);
    let get = |key: &str| {
        vars.get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let id = get("ID")
        .map(|id| id.to_lowercase())
        .ok_or_else(|| format!("{source}: no ID= assignment, not an os-release file"))?;
    Ok(Distro {
        id,
        version_id: get("VERSION_ID"),
        // Ubuntu before 16.04 only had its own key.
        version_codename: get("VERSION_CODENAME").or_else(|| get("UBUNTU_CODENAME")),
        name: get("NAME"),
        pretty_name: get("PRETTY_NAME"),
        id_like: vars
            .get("ID_LIKE")
            .map(|v| v.split_whitespace().map(str::to_lowercase).collect())
            .unwrap_or_default(),
        cpe_name: get("CPE_NAME"),
        source: source.to_string(),
    })
}

/// Every assignment of an os-release style file (also `lsb-release`), values unquoted
/// and unescaped.
pub fn parse_vars(content: &[u8]) -> BTreeMap<String, String> {
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    let mut vars = BTreeMap::new();
    for raw in content.split(|&b| b == b'\n') {
        let line = trim_start(raw.strip_suffix(b"\r").unwrap_or(raw));
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let line = line
            .strip_prefix(b"export ")
            .map(trim_start)
            .unwrap_or(line);
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let key = trim_end(&line[..eq]);
        let valid_key = matches!(key.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
            && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if !valid_key {
            continue;
        }
        let value = unquote(trim_start(&line[eq + 1..]));
        // The key is ASCII by the check above.
        let key = String::from_utf8_lossy(key).into_owned();
        vars.insert(key, String::from_utf8_lossy(&value).into_owned());
    }
    vars
}

/// Shell-style value: bare text with `\x` escapes, `'...'` literal, `"..."` with `\` only
/// escaping `"`, `\`, `$` and backquote; pieces may be concatenated. Whitespace that ends
/// a bare value is dropped, whitespace inside quotes is kept.
fn unquote(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    // Length of `out` that must survive trimming: up to the last quoted or escaped byte.
    let mut kept = 0;
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'"' => {
                i += 1;
                while i < value.len() && value[i] != b'"' {
                    if value[i] == b'\\'
                        && i + 1 < value.len()
                        && matches!(value[i + 1], b'"' | b'\\' | b'$' | b'`')
                    {
                        i += 1;
                    }
                    out.push(value[i]);
                    i += 1;
                }
                i += 1; // the closing quote, if any
                kept = out.len();
            }
            b'\'' => {
                i += 1;
                while i < value.len() && value[i] != b'\'' {
                    out.push(value[i]);
                    i += 1;
                }
                i += 1;
                kept = out.len();
            }
            b'\\' => {
                if let Some(&next) = value.get(i + 1) {
                    out.push(next);
                    kept = out.len();
                }
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    while out.len() > kept && matches!(out.last(), Some(b' ' | b'\t')) {
        out.pop();
    }
    out
}

/// Tells the distribution of an image from its files. `read` looks a path (relative to
/// the image root, no leading slash) up in the squashed filesystem, links already
/// followed. os-release wins; the fallbacks described in the module doc are read only
/// when no os-release exists or none has an `ID`.
pub fn detect(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Option<Distro> {
    let os_release = [OS_RELEASE, USR_OS_RELEASE]
        .into_iter()
        .chain(BOTTLEROCKET)
        .find_map(|path| parse_os_release(&read(path)?, path).ok());
    if let Some(mut distro) = os_release {
        if distro.id == debian::DEBIAN.id
            && distro.version_id.is_none()
            && distro.version_codename.is_none()
        {
            if let Some(from_file) = read(DEBIAN_VERSION).and_then(|c| debian_version(&c)) {
                distro.version_id = from_file.version_id;
                distro.version_codename = from_file.version_codename;
            }
        }
        return Some(distro);
    }

    if let Some(d) = read(ALPINE_RELEASE).and_then(|c| alpine_release(&c)) {
        return Some(d);
    }
    if let Some(d) = read(LSB_RELEASE).and_then(|c| lsb_release(&c)) {
        return Some(d);
    }
    for (path, own) in release_files() {
        if let Some(d) = read(path).and_then(|c| redhat_release(&c, path, own)) {
            return Some(d);
        }
    }
    read(DEBIAN_VERSION).and_then(|c| debian_version(&c))
}

fn alpine_release(content: &[u8]) -> Option<Distro> {
    let version = first_line(content)?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) || version.contains(char::is_whitespace) {
        return None;
    }
    Some(Distro {
        id: alpine::ALPINE.id.into(),
        version_id: Some(version),
        source: ALPINE_RELEASE.into(),
        ..Distro::default()
    })
}

fn lsb_release(content: &[u8]) -> Option<Distro> {
    let vars = parse_vars(content);
    let get = |key: &str| {
        vars.get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    // os-release IDs have no spaces: "Linux Mint" would be "linuxmint".
    let id: String = get("DISTRIB_ID")?
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    Some(Distro {
        id,
        version_id: get("DISTRIB_RELEASE"),
        version_codename: get("DISTRIB_CODENAME"),
        pretty_name: get("DISTRIB_DESCRIPTION"),
        source: LSB_RELEASE.into(),
        ..Distro::default()
    })
}

/// `Rocky Linux release 8.9 (Green Obsidian)`: a name, the word `release`, a version.
fn redhat_release(content: &[u8], path: &str, own: Option<&'static Spec>) -> Option<Distro> {
    let line = first_line(content)?;
    let (name, rest) = line.split_once(" release ")?;
    let name = name.trim();
    let version: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    if version.is_empty() {
        return None;
    }
    let lower = name.to_lowercase();
    // Red Hat's own line carries the variant: `Red Hat Enterprise Linux Server`.
    let named = Registry::builtin().by_name(&lower).or_else(|| {
        (lower.starts_with("red hat") && !lower.contains("coreos")).then_some(&redhat::RHEL)
    });
    let id = match named.or(own) {
        Some(spec) => spec.id.to_string(),
        // A rebuild the registry knows only as a derivative (`Scientific Linux`): its
        // first word, as os-release would spell its id.
        None => {
            let first = lower.split_whitespace().next()?;
            Registry::builtin().by_name_or_derivative(first)?;
            first.to_string()
        }
    };
    // CentOS's os-release VERSION_ID is the major release only.
    let version_id = if id == redhat::CENTOS.id {
        version.split('.').next().unwrap_or(version)
    } else {
        version
    };
    Some(Distro {
        id,
        version_id: Some(version_id.into()),
        name: Some(name.into()),
        pretty_name: Some(line.clone()),
        source: path.into(),
        ..Distro::default()
    })
}

/// `12.5` (a stable point release) or `trixie/sid` (testing and unstable).
fn debian_version(content: &[u8]) -> Option<Distro> {
    let text = first_line(content)?;
    let mut distro = Distro {
        id: debian::DEBIAN.id.into(),
        source: DEBIAN_VERSION.into(),
        ..Distro::default()
    };
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        let major: String = text.chars().take_while(char::is_ascii_digit).collect();
        distro.version_id = Some(major);
    } else {
        let codename = text.split('/').next().unwrap_or("").trim();
        if codename.is_empty() || !codename.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        distro.version_codename = Some(codename.to_lowercase());
    }
    Some(distro)
}

/// The first non-blank line, trimmed, of a one-line release file.
fn first_line(content: &[u8]) -> Option<String> {
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    content
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .find(|l| !l.is_empty())
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoting() {
        assert_eq!(unquote(br#""a \"b\" \\ \$ \x""#), br#"a "b" \ $ \x"#);
        assert_eq!(unquote(br"'it''s'"), b"its");
        assert_eq!(unquote(br"foo\ bar  "), b"foo bar");
        assert_eq!(unquote(br#""15.1 "  "#), b"15.1 ");
        assert_eq!(unquote(br#""unterminated"#), b"unterminated");
        assert_eq!(unquote(br"trailing\"), b"trailing");
        assert_eq!(unquote(br#"a"b c"d"#), b"ab cd");
    }
}
