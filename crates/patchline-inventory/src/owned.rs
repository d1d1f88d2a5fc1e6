//! Files owned by OS packages, so that a language package found in one is known to be
//! the OS package's.
//!
//! Why: Debian's `python3-requests` ships
//! `usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO`; the Python extractor
//! reports it as PyPI `requests 2.28.1`, and PyPI's ranges would then give a second,
//! wrong finding: Debian backports fixes and reports them under its own version. Such a
//! package is kept in the inventory, marked `managed_by` the OS package, and matched only
//! through the distro's advisories (osv-scalibr's OS-duplicate annotator and Trivy do the
//! same).
//!
//! Where ownership comes from:
//! - dpkg: `var/lib/dpkg/info/<pkg>[:<arch>].list`, one absolute path per line, the
//!   package's directories included (Debian lists name a `.egg-info` directory and the
//!   `PKG-INFO` inside it both). Distroless images have no lists but
//!   `var/lib/dpkg/status.d/<pkg>.md5sums`, `<md5>  <relative path>` per line, files only.
//!   Both are read by [`DpkgFiles`], an extractor of its own that returns no packages:
//!   the dpkg database stays `status` and `status.d` stanzas.
//! - apk: the `F:` (folder) and `R:` (file) lines of `lib/apk/db/installed` (`apk.rs`).
//! - rpm: each header's file list (`rpm.rs`, through `patchline-rpmdb`).
//!
//! Only the paths a language extractor reads are kept ([`interesting`]): a Debian system
//! owns tens of thousands of files, and the lists are held per layer (and cached) until
//! the squash.
//!
//! Choices. A list that is malformed costs only the ownership of the files it would name:
//! its bad lines are skipped with one warning, and a list that cannot be read at all is a
//! warning too, never an incomplete inventory. A list's package name is its file name
//! without `.list` (`.md5sums`) and without the `:arch` that multi-arch packages carry;
//! the squash only counts a list whose package is still in the final inventory, as dpkg
//! removes both together. Lines with a `..` component, and lines not in UTF-8 (the layer
//! walk refuses such paths, so no package can be read from one), are skipped; a line is
//! at most [`MAX_LINE`] bytes.

use std::io::{BufRead, BufReader, Read};

use crate::extract::{
    charge_owned, quoted, Budget, CappedWarnings, ExtractError, Extracted, Extractor,
};

/// Does a language extractor read this path (root-relative, no leading slash)? The
/// predicate is wider than any one extractor's: a false positive costs a few bytes, a
/// false negative a duplicate finding.
pub fn interesting(path: &str) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let dir_name = dir.rsplit('/').next().unwrap_or("");
    let ends = |s: &str, suffix: &str| {
        s.len() > suffix.len()
            && s.is_char_boundary(s.len() - suffix.len())
            && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    // Python: wheel and egg metadata, eggs and egg-info files, wheels.
    (file == "METADATA" && ends(dir_name, ".dist-info"))
        || (file == "PKG-INFO" && (ends(dir_name, ".egg-info") || dir_name == "EGG-INFO"))
        || [".egg-info", ".egg", ".whl"].iter().any(|s| ends(file, s))
        // Java archives.
        || [".jar", ".war", ".ear", ".jmod", ".par", ".sar", ".jpi", ".hpi", ".lpkg", ".nar"]
            .iter()
            .any(|s| ends(file, s))
        // npm, Ruby, PHP, .NET, Rust manifests and lock files.
        || matches!(
            file,
            "package.json" | "package-lock.json" | "composer.lock" | "Cargo.lock"
        )
        || (ends(file, ".gemspec") && dir_name == "specifications")
        || (file == "installed.json" && (dir == "vendor/composer" || dir.ends_with("/vendor/composer")))
        || ends(file, ".deps.json")
        // Executables: Go build info, cargo-auditable.
        || dir
            .split('/')
            .any(|c| matches!(c, "bin" | "sbin" | "libexec"))
}

/// A path as a list writes it (`/usr/lib/x`, `./usr/lib/x`, `usr//lib/x`) made
/// root-relative like the layer walk's; `None` for the root itself and for paths with
/// a `..` component.
pub fn normalize(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(c);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The longest line a file list may have: Linux's `PATH_MAX`, plus a checksum.
pub const MAX_LINE: usize = 4096 + 128;

const INFO_DIR: &str = "var/lib/dpkg/info/";
const STATUS_DIR: &str = "var/lib/dpkg/status.d/";

/// dpkg's file lists: `info/*.list` and distroless `status.d/*.md5sums`.
pub struct DpkgFiles;

impl Extractor for DpkgFiles {
    fn name(&self) -> &'static str {
        "dpkg-files"
    }

    fn wants(&self, path: &str) -> bool {
        list_of(path).is_some()
    }

    /// No database lives here: the lists only say who owns what, and must not make the
    /// inventory incomplete when they are links or missing.
    fn locations(&self) -> Vec<String> {
        vec![]
    }

    fn lists_owned_files(&self) -> bool {
        true
    }

    /// Streamed a line at a time: no list is too large to be read.
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
        _size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        Ok(read_list(
            path,
            &mut BufReader::with_capacity(64 << 10, content),
            budget,
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListKind {
    /// `info/<pkg>.list`: absolute paths.
    List,
    /// `status.d/<pkg>.md5sums`: `<md5>  <relative path>`.
    Md5sums,
}

/// The kind of list at `path`, and the file name it is named after (the package name,
/// possibly with `:arch`).
fn list_of(path: &str) -> Option<(ListKind, &str)> {
    let (kind, file) = if let Some(f) = path.strip_prefix(INFO_DIR) {
        (ListKind::List, f.strip_suffix(".list")?)
    } else {
        let f = path.strip_prefix(STATUS_DIR)?;
        (ListKind::Md5sums, f.strip_suffix(".md5sums")?)
    };
    (!file.is_empty() && !file.contains('/')).then_some((kind, file))
}

/// dpkg's package name rule: an alphanumeric first, then alphanumerics and `-+._`.
fn valid_package_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || b"-+._".contains(&c))
}

/// Reads one dpkg file list. Never fails: what cannot be read is a warning.
pub fn read_list(path: &str, r: &mut dyn BufRead, budget: &Budget) -> Extracted {
    let mut out = Extracted::default();
    let Some((kind, stem)) = list_of(path) else {
        out.warnings
            .push("not named like a dpkg file list; ignored".to_string());
        return out;
    };
    let package = stem.split_once(':').map_or(stem, |(n, _)| n);
    if !valid_package_name(package) {
        out.warnings.push(format!(
            "file list of {}, which is not a valid package name; ignored",
            quoted(stem.as_bytes())
        ));
        return out;
    }
    let mut warnings = CappedWarnings::default();
    let mut bad = 0usize;
    let mut first_bad: Option<(usize, String)> = None;
    let mut charged = 0usize;
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        line_no += 1;
        match read_line(r, &mut line) {
            Ok(Line::End) => break,
            Ok(Line::TooLong) => {
                warnings.push(format!(
                    "line {line_no} is longer than {MAX_LINE} bytes; skipped"
                ));
                continue;
            }
            Ok(Line::Read) => {}
            Err(e) => {
                warnings.push(format!(
                    "reading stopped at line {line_no}: {e}; files listed after it are not known to be {package}'s"
                ));
                break;
            }
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let listed = match kind {
            ListKind::List => text.strip_prefix(b"/"),
            // Two spaces (or a space and `*`, md5sum's binary mode) after 32 hex digits.
            ListKind::Md5sums => (text.len() > 34
                && text[..32].iter().all(u8::is_ascii_hexdigit)
                && text[32] == b' '
                && matches!(text[33], b' ' | b'*'))
            .then(|| &text[34..]),
        };
        let Some(listed) = listed else {
            bad += 1;
            first_bad.get_or_insert_with(|| (line_no, quoted(text)));
            continue;
        };
        let Ok(listed) = std::str::from_utf8(listed) else {
            continue;
        };
        let Some(p) = normalize(listed) else { continue };
        if !interesting(&p) {
            continue;
        }
        out.owned.push((p, package.to_string()));
        if let Err(e) = charge_owned(path, &out.owned, &mut charged, budget) {
            out.owned.pop();
            warnings.push(format!(
                "{}; files listed after line {line_no} are not known to be {package}'s",
                e.reason
            ));
            break;
        }
    }
    if let Some((at, text)) = first_bad {
        let form = match kind {
            ListKind::List => "an absolute path",
            ListKind::Md5sums => "'<md5>  <path>'",
        };
        warnings.push(format!(
            "{bad} {} not {form}, skipped (first at line {at}: {text})",
            if bad == 1 { "line is" } else { "lines are" }
        ));
    }
    out.warnings = warnings.finish();
    out
}

enum Line {
    Read,
    End,
    /// Over [`MAX_LINE`]: consumed to its end, nothing kept.
    TooLong,
}

/// Reads one line into `buf` (with its `\n`), holding at most [`MAX_LINE`] bytes.
fn read_line(r: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long && buf.len() + take <= MAX_LINE + 1 {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            too_long = true;
            buf.clear();
        }
        r.consume(take);
        if done {
            break;
        }
    }
    Ok(match (any, too_long) {
        (false, _) => Line::End,
        (true, true) => Line::TooLong,
        (true, false) => Line::Read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(path: &str, content: &[u8]) -> Extracted {
        DpkgFiles.extract(path, content).unwrap()
    }

    fn owned(x: &Extracted) -> Vec<(&str, &str)> {
        x.owned
            .iter()
            .map(|(p, n)| (p.as_str(), n.as_str()))
            .collect()
    }

    #[test]
    fn interesting_paths() {
        for p in [
            "usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA",
            "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO",
            "usr/lib/python3/dist-packages/requests-2.28.1.egg-info",
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
            "usr/lib/python3/dist-packages/x.egg/EGG-INFO/PKG-INFO",
            "usr/lib/python3/dist-packages/setuptools-44.egg",
            "usr/share/python-wheels/pip-23.0.1-py3-none-any.whl",
            "usr/share/java/commons-io.jar",
            "opt/app/App.WAR",
            "usr/share/nodejs/acorn/package.json",
            "package.json",
            "srv/app/package-lock.json",
            "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec",
            "var/www/vendor/composer/installed.json",
            "srv/composer.lock",
            "usr/lib/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json",
            "usr/share/cargo/registry/foo/Cargo.lock",
            "usr/bin/docker",
            "bin/bash",
            "usr/sbin/nginx",
            "usr/libexec/docker/cli-plugins/docker-compose",
            "usr/lib/jvm/java-17/bin/java",
        ] {
            assert!(interesting(p), "{p}");
        }
        for p in [
            "usr/lib/python3/dist-packages/requests/__init__.py",
            "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/top_level.txt",
            "usr/lib/python3/dist-packages/x.dist-info/RECORD",
            "usr/share/doc/bash/README",
            "etc/bash.bashrc",
            "usr/share/ruby/rake.gemspec",
            "installed.json",
            "usr/share/binaries/x",
            ".egg",
            "usr/lib/x86_64-linux-gnu/libc.so.6",
        ] {
            assert!(!interesting(p), "{p}");
        }
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("/usr/bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(normalize("./usr//bin/./x").as_deref(), Some("usr/bin/x"));
        assert_eq!(normalize("/."), None);
        assert_eq!(normalize("/usr/../etc/x"), None);
    }

    #[test]
    fn wants_lists_and_md5sums_only() {
        let w = |p| DpkgFiles.wants(p);
        assert!(w("var/lib/dpkg/info/python3-requests.list"));
        assert!(w("var/lib/dpkg/info/libacl1:amd64.list"));
        assert!(w("var/lib/dpkg/status.d/libssl3.md5sums"));
        assert!(!w("var/lib/dpkg/info/bash.md5sums"));
        assert!(!w("var/lib/dpkg/info/.list"));
        assert!(!w("var/lib/dpkg/info/sub/x.list"));
        assert!(!w("var/lib/dpkg/status.d/libssl3"));
        assert!(!w("var/lib/dpkg/status"));
        assert!(DpkgFiles.locations().is_empty());
    }

    /// As Debian 12's python3-cryptography and python3-xmltodict lists read.
    #[test]
    fn dpkg_list() {
        let x = list(
            "var/lib/dpkg/info/python3-cryptography:amd64.list",
            b"/.\n/usr\n/usr/lib\n/usr/lib/python3/dist-packages\n\
/usr/lib/python3/dist-packages/cryptography\n\
/usr/lib/python3/dist-packages/cryptography/__init__.py\n\
/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info\n\
/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA\n\
/usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/RECORD\n\
/usr/lib/python3/dist-packages/cryptography.egg-info\n\
/usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO\n\
/usr/share/doc/python3-cryptography/copyright",
        );
        assert!(x.packages.is_empty());
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert_eq!(
            owned(&x),
            [
                (
                    "usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA",
                    "python3-cryptography"
                ),
                (
                    "usr/lib/python3/dist-packages/cryptography.egg-info",
                    "python3-cryptography"
                ),
                (
                    "usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO",
                    "python3-cryptography"
                ),
            ]
        );
    }

    /// As distroless writes them (the first is base-files' own, from osv-scalibr's test
    /// data, with two interesting lines added).
    #[test]
    fn distroless_md5sums() {
        let x = list(
            "var/lib/dpkg/status.d/python3-six.md5sums",
            b"07d31e7e63800ab1b7966980709c51eb  usr/lib/os-release\r\n\
0a540d50c157ed0070459b82c358a05a  usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO\n\
\n\
d68ce7c7d7d2bb7d48aeb2f137b828e4 *usr/bin/six-tool\n",
        );
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
        assert_eq!(
            owned(&x),
            [
                (
                    "usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                    "python3-six"
                ),
                ("usr/bin/six-tool", "python3-six"),
            ]
        );
    }

    #[test]
    fn malformed_lists_only_warn() {
        let x = list(
            "var/lib/dpkg/info/python3-six.list",
            b"usr/bin/relative\n/usr/bin/ok\n\0\xff\xfe\n/usr/bin/\xff\n/usr/../bin/x\n",
        );
        assert_eq!(owned(&x), [("usr/bin/ok", "python3-six")]);
        assert_eq!(
            x.warnings,
            ["2 lines are not an absolute path, skipped (first at line 1: \"usr/bin/relative\")"]
        );
        let x = list(
            "var/lib/dpkg/status.d/six.md5sums",
            b"abc  usr/bin/x\n0a540d50c157ed0070459b82c358a05a usr/bin/y\n",
        );
        assert!(x.owned.is_empty());
        assert_eq!(
            x.warnings,
            ["2 lines are not '<md5>  <path>', skipped (first at line 1: \"abc  usr/bin/x\")"]
        );
        let x = list("var/lib/dpkg/info/-bad.list", b"/usr/bin/x\n");
        assert!(x.owned.is_empty());
        assert_eq!(
            x.warnings,
            ["file list of \"-bad\", which is not a valid package name; ignored"]
        );
        // An overlong line is skipped, the next still read.
        let mut long = b"/usr/bin/".to_vec();
        long.extend(std::iter::repeat_n(b'x', 1 << 20));
        long.extend_from_slice(b"\n/usr/bin/after");
        let x = list("var/lib/dpkg/info/a.list", &long);
        assert_eq!(owned(&x), [("usr/bin/after", "a")]);
        assert_eq!(x.warnings, ["line 1 is longer than 4224 bytes; skipped"]);
    }

    #[test]
    fn over_the_budget_is_a_warning() {
        let mut content = Vec::new();
        for i in 0..10_000 {
            content.extend_from_slice(format!("/usr/bin/tool-{i}\n").as_bytes());
        }
        let budget = Budget::new(64 << 10);
        let x = DpkgFiles
            .extract_from(
                "var/lib/dpkg/info/big.list",
                content.len() as u64,
                &mut &content[..],
                &budget,
            )
            .unwrap();
        assert!(!x.owned.is_empty() && x.owned.len() < 10_000);
        assert_eq!(x.warnings.len(), 1);
        assert!(
            x.warnings[0].contains("memory budget")
                && x.warnings[0].contains("are not known to be big's"),
            "{:?}",
            x.warnings
        );
    }
}
