//! RubyGems: the specifications of installed gems, and source gemspecs.
//!
//! `gem install` (and bundler) writes one Ruby file per installed gem under its gem
//! home: `specifications/<name>-<version>[-<platform>].gemspec`, and
//! `specifications/default/` for the gems bundled with Ruby (`json`, `openssl`...). Gem
//! homes are anywhere: `usr/lib/ruby/gems/3.1.0/`, `usr/local/bundle/`,
//! `usr/share/rubygems-integration/all/`, a user's `~/.gem/ruby/...`. Source gemspecs
//! (an application or engine that is itself a gem: `app/my_app.gemspec`) are read too,
//! as osv-scalibr reads them, except inside a `gems/<dir>/` directory: there they are the
//! unpacked sources of installed gems (`gems/rack-2.2.3/rack.gemspec`), which their
//! installed specification already lists, or bundler's git checkouts
//! (`bundler/gems/rails-abc123/`), not followed yet.
//!
//! The file is Ruby, written by rubygems' `Gem::Specification#to_ruby`:
//!
//! ```text
//! # stub: rack 2.2.3 ruby lib
//! Gem::Specification.new do |s|
//!   s.name = "rack".freeze
//!   s.version = "2.2.3"
//!   s.licenses = ["MIT".freeze]
//! ```
//!
//! It is never evaluated: it is read as text, line by line. After the
//! `Gem::Specification.new do |s|` line (any block variable, `{ |s|` too), the
//! assignments `s.name =`, `s.version =` and `s.licenses =` (or `s.license =`) are read
//! when their value is a literal: a `"double"`, `'single'`, `%q{...}` or `%Q(...)` string,
//! with its escapes, optionally `.freeze`, optionally followed by a comment or an `if`
//! / `unless` modifier; an array of such strings for the licenses (it may span lines).
//! The first assignment of each counts. A value that is a constant (`VERSION`,
//! `MyGem::VERSION`) is looked up among the constants the same file assigns a literal
//! to, by its last segment, as a hand-written gemspec does (`VERSION = '3.0.0'` above the
//! block). Source gemspecs mostly take it from another file:
//! `require_relative 'lib/my_gem/version'` (or `File.join(...)`, `File.expand_path(...,
//! __dir__)`, `require File.dirname(__FILE__) + '/lib/...'`, over several lines too).
//! An extractor sees one file, so such a gem is handed back [`Deferred`]: the required
//! files, and the inventory completes it from the squashed view, where this extractor
//! has read every `lib/.../version.rb` (at most two directories below a `lib/`, outside
//! gem homes' `gems/`) for the string constants it assigns. A required file of another
//! name is not read, and a load-path `require 'my_gem/version'` cannot be located
//! without Ruby's `$LOAD_PATH`: those gems, like a version that is an interpolated
//! string (`"#{x}"`) or a method call (`MyGem.version`), are skipped with a warning
//! saying so (osv-scalibr fails on the same ones). Installed specifications always carry
//! literals.
//!
//! Bad input: a file with no `Gem::Specification.new` block (empty, or comments only, is
//! silent), no readable name or version, or a name or version that is empty or has
//! spaces gives a warning and no package. Quirks handled: CRLF, a UTF-8 byte-order mark,
//! non-UTF-8 bytes (values are read lossily; names and versions are ASCII in practice).
//! Memory is bounded whatever the file: lines are read one at a time, each cut at
//! [`LINE_MAX`] bytes (the fields read are short; `s.files = [...]` lines of source
//! gemspecs can be long), and at most [`MAX_CONSTANTS`] short constants are kept.

use std::io::{BufRead, BufReader, Read};

use patchline_model::{Ecosystem, Package};

use crate::extract::{
    charge, package_bytes, quoted, snippet, Budget, CappedWarnings, Charged, Deferred,
    ExtractError, Extracted, Extractor,
};

/// The installed-gem specification extractor.
pub struct Gemspec;

/// Bytes of a line that are looked at; the rest of a longer line is skipped unread.
pub const LINE_MAX: usize = 64 << 10;
/// Constants kept for lookups, each with a value of at most [`CONSTANT_MAX`] bytes.
pub const MAX_CONSTANTS: usize = 64;
const CONSTANT_MAX: usize = 256;
/// Licenses kept per gem.
const MAX_LICENSES: usize = 64;
/// Lines a license array may span.
const MAX_ARRAY_LINES: usize = 64;

impl Extractor for Gemspec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn wants(&self, path: &str) -> bool {
        wants_gemspec(path) || wants_definitions(path)
    }

    fn locations(&self) -> Vec<String> {
        vec![]
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
        let mut content = BufReader::with_capacity(64 << 10, content);
        if path.ends_with(".rb") {
            parse_definitions_from(path, &mut content, budget)
        } else {
            parse_gemspec_from(path, &mut content, budget)
        }
    }
}

/// Whether `path` is a gemspec this extractor reads: an installed specification (its
/// directory is `specifications` or `specifications/default`), or a source gemspec
/// anywhere but inside an installed gem's directory.
pub fn wants_gemspec(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if name.len() <= ".gemspec".len() || !name.ends_with(".gemspec") {
        return false;
    }
    let home = dir.strip_suffix("/default").unwrap_or(dir);
    home == "specifications" || home.ends_with("/specifications") || !in_gem_tree(dir)
}

/// Whether `path` is a `version.rb` read for the constants it assigns: at most two
/// directories below a `lib/` (`lib/foo/version.rb`, `lib/foo/bar/version.rb`, where
/// gems keep their `VERSION`), outside installed gems' directories.
pub fn wants_definitions(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/version.rb") else {
        return false;
    };
    if in_gem_tree(dir) {
        return false;
    }
    let parts: Vec<&str> = dir.split('/').collect();
    parts
        .iter()
        .rposition(|p| *p == "lib")
        .is_some_and(|i| parts.len() - 1 - i <= 2)
}

/// Whether directory `dir` is below a `gems/<something>/` directory: the unpacked gems of
/// a gem home (`gems/rack-2.2.3/`) or bundler's git checkouts (`bundler/gems/x-abc/`),
/// whose gemspecs are sources the installed specification already lists (or gems this
/// reader does not follow yet: git gems).
fn in_gem_tree(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts
        .iter()
        .position(|p| *p == "gems")
        .is_some_and(|i| i + 1 < parts.len())
}

/// Reads the string constants a Ruby file assigns (`VERSION = "1.2.3"`, `.freeze`
/// allowed), for the source gemspecs that require it: [`Extracted::defines`], at most
/// [`MAX_CONSTANTS`], each value at most 256 bytes. Never a warning: a file that
/// assigns nothing readable only leaves the gemspec that needs it without a version.
pub fn parse_definitions_from(
    path: &str,
    content: &mut dyn BufRead,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    let _held = budget
        .reserve(LINE_MAX as u64)
        .map_err(|e| ExtractError::new(path, format!("reading a Ruby file: {e}")))?;
    let mut constants: Vec<(String, String)> = Vec::new();
    let mut line = Vec::new();
    while read_line(content, &mut line)
        .map_err(|e| ExtractError::new(path, format!("reading failed: {e}")))?
    {
        if constants.len() >= MAX_CONSTANTS {
            break;
        }
        let l = trim_start(line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&line));
        let l = l.strip_suffix(b"\n").unwrap_or(l);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if let Some((name, Value::Str(v))) = constant_assignment(l) {
            if v.len() <= CONSTANT_MAX && !constants.iter().any(|(n, _)| *n == name) {
                constants.push((name, v));
            }
        }
    }
    let bytes: usize = constants.iter().map(|(n, v)| n.len() + v.len() + 48).sum();
    budget
        .reserve(bytes as u64)
        .map_err(|e| ExtractError::new(path, format!("reading a Ruby file: {e}")))?
        .keep();
    Ok(Extracted {
        defines: Some(constants),
        ..Default::default()
    })
}

/// Reads the gem of an installed `.gemspec`. `path` is recorded as the package's
/// `db_path` and names the file in errors.
pub fn parse_gemspec(path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
    parse_gemspec_from(path, &mut &content[..], &Budget::unlimited())
}

/// [`parse_gemspec`] from a stream, one line at a time; memory is charged to `budget`.
pub fn parse_gemspec_from(
    path: &str,
    content: &mut dyn BufRead,
    budget: &Budget,
) -> Result<Extracted, ExtractError> {
    // The line buffer, the license array being joined and the constants, at their bound.
    let held = (2 * LINE_MAX + MAX_CONSTANTS * (CONSTANT_MAX + 64)) as u64;
    let _held = budget
        .reserve(held)
        .map_err(|e| ExtractError::new(path, format!("reading a gemspec: {e}")))?;
    let mut reader = Reader::default();
    let mut line = Vec::new();
    let mut line_no = 0usize;
    while read_line(content, &mut line)
        .map_err(|e| ExtractError::new(path, format!("reading failed: {e}")))?
    {
        line_no += 1;
        let mut l: &[u8] = &line;
        if line_no == 1 {
            l = l.strip_prefix(b"\xef\xbb\xbf").unwrap_or(l);
        }
        let l = l.strip_suffix(b"\n").unwrap_or(l);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        reader.line(line_no, l);
    }
    let mut out = Extracted::default();
    if let Some(pkg) = reader.finish(path) {
        out.packages.push(pkg);
        charge(path, &out.packages, &mut Charged::default(), budget)?;
    }
    if let Some(d) = reader.deferred.take() {
        let bytes = package_bytes(&d.package)
            + d.files.iter().map(|f| f.len() as u64 + 24).sum::<u64>()
            + (d.constant.len() + d.context.len()) as u64;
        budget
            .reserve(bytes)
            .map_err(|e| ExtractError::new(path, format!("reading a gemspec: {e}")))?
            .keep();
        out.deferred.push(d);
    }
    out.warnings = reader.warnings.finish();
    Ok(out)
}

/// Reads one line into `line` (cleared first), keeping at most [`LINE_MAX`] bytes of it
/// and the final `\n` if any; `false` at the end of the input.
fn read_line(r: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = LINE_MAX.saturating_sub(line.len());
        line.extend_from_slice(&buf[..take.min(room)]);
        r.consume(take);
        if done {
            return Ok(true);
        }
    }
}

/// A value assigned to a field or constant, as far as it can be read without Ruby.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    /// A constant reference, `A::B::VERSION`.
    Const(String),
    /// Anything else: what was written, for the warning.
    Other(String),
}

/// An assignment read, with its line.
#[derive(Debug)]
struct Assigned {
    line: usize,
    value: Value,
}

#[derive(Default)]
struct Reader {
    /// The block variable (`s`) once the `Gem::Specification.new` line is seen.
    var: Option<Vec<u8>>,
    code_lines: usize,
    name: Option<Assigned>,
    version: Option<Assigned>,
    licenses: Option<Result<Vec<String>, (usize, String)>>,
    /// A license array opened on `.0` and not closed yet: the text so far.
    pending: Option<(usize, Vec<u8>)>,
    pending_lines: usize,
    constants: Vec<(String, String)>,
    /// The files the gemspec requires, relative to its directory (`None`: a require this
    /// reader cannot follow, a load-path `require 'foo/version'`), at most
    /// [`MAX_REQUIRES`].
    requires: Vec<Option<String>>,
    /// A `require_relative File.join(` whose arguments continue on the next lines.
    pending_require: Option<(bool, Vec<u8>, usize)>,
    deferred: Option<Deferred>,
    warnings: CappedWarnings,
}

/// Requires kept per gemspec, and lines one may span.
const MAX_REQUIRES: usize = 16;
const MAX_REQUIRE_LINES: usize = 16;

impl Reader {
    fn line(&mut self, no: usize, raw: &[u8]) {
        let l = trim_start(raw);
        if let Some((start, mut text)) = self.pending.take() {
            text.push(b' ');
            text.extend_from_slice(&l[..l.len().min(LINE_MAX - text.len().min(LINE_MAX))]);
            self.pending_lines += 1;
            match string_array(&text) {
                Array::Open if self.pending_lines < MAX_ARRAY_LINES && text.len() < LINE_MAX => {
                    self.pending = Some((start, text));
                }
                Array::Open => {
                    self.licenses = Some(Err((start, "a license array that does not end".into())))
                }
                Array::Done(r) => self.licenses = Some(r.map_err(|e| (start, e))),
            }
            return;
        }
        if let Some((relative, mut text, lines)) = self.pending_require.take() {
            text.push(b' ');
            text.extend_from_slice(&l[..l.len().min(LINE_MAX.saturating_sub(text.len()))]);
            if open_parens(&text) > 0 && lines < MAX_REQUIRE_LINES && text.len() < LINE_MAX {
                self.pending_require = Some((relative, text, lines + 1));
            } else {
                self.push_require(require_path(relative, &text));
            }
            return;
        }
        if l.is_empty() || l[0] == b'#' {
            return;
        }
        self.code_lines += 1;
        if let Some((relative, arg)) = require_call(l) {
            if open_parens(arg) > 0 {
                self.pending_require = Some((relative, arg.to_vec(), 1));
            } else {
                self.push_require(require_path(relative, arg));
            }
            return;
        }
        if self.constants.len() < MAX_CONSTANTS {
            if let Some((name, Value::Str(v))) = constant_assignment(l) {
                if v.len() <= CONSTANT_MAX {
                    self.constants.push((name, v));
                }
            }
        }
        let Some(var) = &self.var else {
            self.var = block_variable(l);
            return;
        };
        let Some((field, rhs)) = field_assignment(l, var) else {
            return;
        };
        match field {
            b"name" if self.name.is_none() => {
                self.name = Some(Assigned {
                    line: no,
                    value: value(rhs),
                })
            }
            b"version" if self.version.is_none() => {
                self.version = Some(Assigned {
                    line: no,
                    value: value(rhs),
                })
            }
            b"licenses" if self.licenses.is_none() => match string_array(rhs) {
                Array::Open => {
                    self.pending = Some((no, rhs.to_vec()));
                    self.pending_lines = 1;
                    // Until closed, a later `s.license =` must not count.
                    self.licenses = Some(Ok(Vec::new()));
                }
                Array::Done(r) => self.licenses = Some(r.map_err(|e| (no, e))),
            },
            b"license" if self.licenses.is_none() => {
                self.licenses = Some(match value(rhs) {
                    Value::Str(s) => Ok(vec![s]),
                    other => Err((no, describe(&other))),
                })
            }
            _ => {}
        }
    }

    fn push_require(&mut self, file: Option<String>) {
        if self.requires.len() < MAX_REQUIRES {
            self.requires.push(file);
        }
    }

    fn finish(&mut self, path: &str) -> Option<Package> {
        if let Some((relative, text, _)) = self.pending_require.take() {
            self.push_require(require_path(relative, &text));
        }
        if self.pending.is_some() {
            let (start, _) = self.pending.take().unwrap_or_default();
            self.licenses = Some(Err((start, "a license array that does not end".into())));
        }
        if self.var.is_none() {
            if self.code_lines > 0 {
                self.warnings.push(
                    "no `Gem::Specification.new do |s|` block: not a gem specification; \
                     no package"
                        .into(),
                );
            }
            return None;
        }
        let name = self.name.take();
        let name = self.resolve("name", name.as_ref())?;
        let version = self.version.take();
        let deferred = match &version {
            Some(Assigned {
                line,
                value: Value::Const(c),
            }) if self.local_constant(c).is_none() => {
                let files = self.required_files(path);
                (!files.is_empty()).then(|| Deferred {
                    package: Package::new(Ecosystem::Gem, "", ""),
                    constant: c.rsplit("::").next().unwrap_or(c).to_string(),
                    context: format!(
                        "line {line}: the version is the constant {}",
                        quoted(c.as_bytes())
                    ),
                    files,
                })
            }
            _ => None,
        };
        let version = match deferred {
            Some(_) => String::new(),
            None => self.resolve("version", version.as_ref())?,
        };
        let mut pkg = Package::new(Ecosystem::Gem, name, version);
        match self.licenses.take() {
            Some(Ok(ids)) => {
                let ids: Vec<String> = ids
                    .into_iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if ids.len() > MAX_LICENSES {
                    self.warnings.push(format!(
                        "{} licenses, only the first {MAX_LICENSES} kept",
                        ids.len()
                    ));
                }
                pkg.licenses = ids.into_iter().take(MAX_LICENSES).collect();
            }
            Some(Err((line, what))) => self.warnings.push(format!(
                "line {line}: licenses not read: {what} (the gem is listed without them)"
            )),
            None => {}
        }
        pkg.db_path = path.to_string();
        if let Some(mut d) = deferred {
            d.package = pkg;
            self.deferred = Some(d);
            return None;
        }
        Some(pkg)
    }

    fn local_constant(&self, c: &str) -> Option<&str> {
        let last = c.rsplit("::").next().unwrap_or(c);
        self.constants
            .iter()
            .find(|(n, _)| n == last)
            .map(|(_, v)| v.as_str())
    }

    /// The files this gemspec at `path` requires that [`wants_definitions`] reads, as
    /// image paths.
    fn required_files(&self, path: &str) -> Vec<String> {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let mut out: Vec<String> = Vec::new();
        for rel in self.requires.iter().flatten() {
            if let Some(p) = normalise(dir, rel) {
                if wants_definitions(&p) && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The string a field holds, or `None` after warning why it is unknown.
    fn resolve(&mut self, field: &str, a: Option<&Assigned>) -> Option<String> {
        let Some(a) = a else {
            self.warnings.push(format!(
                "no `.{field} =` in the Gem::Specification block; no package"
            ));
            return None;
        };
        let at = format!("line {}", a.line);
        let s = match &a.value {
            Value::Str(s) => s.clone(),
            Value::Const(c) => match self.local_constant(c) {
                Some(v) => v.to_string(),
                None => {
                    let required = self.requires.len();
                    self.warnings.push(format!(
                        "{at}: the {field} is the constant {}, not assigned in this file{}; \
                         no package",
                        quoted(c.as_bytes()),
                        if field != "version" || required == 0 {
                            " (installed specifications carry it literally)"
                        } else {
                            " nor in a file it requires that this reader follows (a \
                             require_relative of a lib/.../version.rb)"
                        }
                    ));
                    return None;
                }
            },
            other => {
                self.warnings.push(format!(
                    "{at}: the {field} is {}, not a string this reader can know without \
                     running Ruby; no package",
                    describe(other)
                ));
                return None;
            }
        };
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.warnings.push(format!(
                "{at}: {field} {} is empty or has spaces; no package",
                quoted(s.as_bytes())
            ));
            return None;
        }
        Some(s)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("the string {}", quoted(s.as_bytes())),
        Value::Const(c) => format!("the constant {}", quoted(c.as_bytes())),
        Value::Other(text) if text.is_empty() => "missing".into(),
        Value::Other(text) => format!("the expression {}", snippet(text.as_bytes())),
    }
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

fn trim(s: &[u8]) -> &[u8] {
    crate::extract::trim(s)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The block variable of a `Gem::Specification.new ... do |s|` (or `{ |s|`) line.
fn block_variable(l: &[u8]) -> Option<Vec<u8>> {
    const MARK: &[u8] = b"Gem::Specification.new";
    let at = memchr::memmem::find(l, MARK)?;
    let rest = &l[at + MARK.len()..];
    let open = memchr::memchr(b'|', rest)?;
    let inner = &rest[open + 1..];
    let close = memchr::memchr(b'|', inner)?;
    let var = trim(&inner[..close]);
    let ok = !var.is_empty()
        && (var[0].is_ascii_lowercase() || var[0] == b'_')
        && var.iter().all(|&b| is_ident(b));
    ok.then(|| var.to_vec())
}

/// `var.field = rhs`: the field and the right-hand side.
fn field_assignment<'l>(l: &'l [u8], var: &[u8]) -> Option<(&'l [u8], &'l [u8])> {
    let rest = l.strip_prefix(var)?.strip_prefix(b".")?;
    let end = rest
        .iter()
        .position(|&b| !is_ident(b))
        .unwrap_or(rest.len());
    let (field, rest) = rest.split_at(end);
    let rest = assignment_rhs(rest)?;
    Some((field, rest))
}

/// The right-hand side after ` = ` (not `==`, `=~`, `=>`).
fn assignment_rhs(s: &[u8]) -> Option<&[u8]> {
    let s = trim_start(s).strip_prefix(b"=")?;
    if matches!(s.first(), Some(b'=' | b'~' | b'>')) {
        return None;
    }
    Some(trim(s))
}

/// `CONST = "literal"` or `A::CONST = ...`: the last segment and the value.
fn constant_assignment(l: &[u8]) -> Option<(String, Value)> {
    let (path, rest) = constant_path(l)?;
    let rhs = assignment_rhs(rest)?;
    let last = path.rsplit("::").next().unwrap_or(&path).to_string();
    Some((last, value(rhs)))
}

/// A constant path at the start of `s` (`::A::B`), and what follows it.
fn constant_path(s: &[u8]) -> Option<(String, &[u8])> {
    let mut rest = s.strip_prefix(b"::").unwrap_or(s);
    let mut path = String::new();
    loop {
        if !rest.first().is_some_and(u8::is_ascii_uppercase) {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| !is_ident(b))
            .unwrap_or(rest.len());
        if !path.is_empty() {
            path.push_str("::");
        }
        path.push_str(&String::from_utf8_lossy(&rest[..end]));
        rest = &rest[end..];
        match rest.strip_prefix(b"::") {
            Some(r) => rest = r,
            None => return Some((path, rest)),
        }
    }
}

/// Whether what follows a value leaves it the value assigned: nothing, a comment, or a
/// modifier (`if s.respond_to? :x`).
fn clean_tail(s: &[u8]) -> bool {
    let s = trim(s);
    s.is_empty() || s[0] == b'#' || s.starts_with(b"if ") || s.starts_with(b"unless ") || s == b";"
}

/// Drops `.freeze` (and `.to_s`, `.dup`) after a value.
fn strip_calls(mut s: &[u8]) -> &[u8] {
    loop {
        let t = trim_start(s);
        let next = [&b".freeze"[..], b".to_s", b".dup"].iter().find_map(|m| {
            t.strip_prefix(*m)
                .filter(|r| !r.first().is_some_and(|&b| is_ident(b)))
        });
        match next {
            Some(r) => s = r,
            None => return s,
        }
    }
}

/// The value of a right-hand side.
fn value(rhs: &[u8]) -> Value {
    let rhs = trim(rhs);
    let other = || Value::Other(String::from_utf8_lossy(rhs).into_owned());
    if let Ok(Some((s, rest))) = literal(rhs) {
        return if clean_tail(strip_calls(rest)) {
            Value::Str(String::from_utf8_lossy(&s).into_owned())
        } else {
            other()
        };
    }
    if let Some((path, rest)) = constant_path(rhs) {
        if clean_tail(strip_calls(rest)) {
            return Value::Const(path);
        }
    }
    other()
}

/// A literal's value, and the text after it.
type Lit<'s> = (Vec<u8>, &'s [u8]);

/// Why a literal could not be read.
#[derive(Debug, PartialEq, Eq)]
enum NotLiteral {
    /// It interpolates (`"#{x}"`): its value is only known by running it.
    Interpolated,
    /// It does not end on this line.
    Unterminated,
}

/// A Ruby string literal at the start of `s`: its value and what follows. `Ok(None)`:
/// `s` does not start with one.
fn literal(s: &[u8]) -> Result<Option<Lit<'_>>, NotLiteral> {
    match s {
        [b'"', rest @ ..] => double_quoted(rest, b'"', None).map(Some),
        [b'\'', rest @ ..] => single_quoted(rest, b'\'', None).map(Some),
        [b'%', b'q', d, rest @ ..] if !d.is_ascii_alphanumeric() && !d.is_ascii_whitespace() => {
            let (open, close) = delimiters(*d);
            single_quoted(rest, close, open).map(Some)
        }
        [b'%', b'Q', d, rest @ ..] if !d.is_ascii_alphanumeric() && !d.is_ascii_whitespace() => {
            let (open, close) = delimiters(*d);
            double_quoted(rest, close, open).map(Some)
        }
        [b'%', d @ (b'{' | b'(' | b'[' | b'<' | b'|' | b'!'), rest @ ..] => {
            let (open, close) = delimiters(*d);
            double_quoted(rest, close, open).map(Some)
        }
        _ => Ok(None),
    }
}

/// The closing delimiter of a `%q` string, and the opening one when they nest.
fn delimiters(d: u8) -> (Option<u8>, u8) {
    match d {
        b'(' => (Some(b'('), b')'),
        b'[' => (Some(b'['), b']'),
        b'{' => (Some(b'{'), b'}'),
        b'<' => (Some(b'<'), b'>'),
        d => (None, d),
    }
}

/// A non-interpolating string body up to `close` (nested `open`/`close` pairs kept):
/// only `\\` and an escaped delimiter are escapes.
fn single_quoted(s: &[u8], close: u8, open: Option<u8>) -> Result<Lit<'_>, NotLiteral> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'\\' && i + 1 < s.len() {
            let n = s[i + 1];
            if n == b'\\' || n == close || Some(n) == open {
                out.push(n);
            } else {
                out.extend_from_slice(&[b, n]);
            }
            i += 2;
            continue;
        }
        if Some(b) == open {
            depth += 1;
        } else if b == close {
            if depth == 0 {
                return Ok((out, &s[i + 1..]));
            }
            depth -= 1;
        }
        out.push(b);
        i += 1;
    }
    Err(NotLiteral::Unterminated)
}

/// An interpolating string body up to `close`, escapes decoded; interpolation fails it.
fn double_quoted(s: &[u8], close: u8, open: Option<u8>) -> Result<Lit<'_>, NotLiteral> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        match b {
            b'\\' => {
                let Some(&n) = s.get(i + 1) else { break };
                i += 2;
                match n {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'0' => out.push(0),
                    b's' => out.push(b' '),
                    b'e' => out.push(0x1b),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'v' => out.push(0x0b),
                    b'x' => {
                        let digits = hex_run(&s[i..], 2);
                        let v = u32::from_str_radix(std::str::from_utf8(digits).unwrap_or("0"), 16)
                            .unwrap_or(0);
                        out.push(v as u8);
                        i += digits.len();
                    }
                    b'u' if s.get(i) == Some(&b'{') => {
                        let Some(end) = memchr::memchr(b'}', &s[i..]) else {
                            return Err(NotLiteral::Unterminated);
                        };
                        for cp in s[i + 1..i + end].split(|&b| b == b' ') {
                            push_code_point(&mut out, cp);
                        }
                        i += end + 1;
                    }
                    b'u' => {
                        let digits = hex_run(&s[i..], 4);
                        push_code_point(&mut out, digits);
                        i += digits.len();
                    }
                    n => out.push(n),
                }
                continue;
            }
            b'#' if matches!(s.get(i + 1), Some(b'{' | b'@' | b'$')) => {
                return Err(NotLiteral::Interpolated);
            }
            _ => {}
        }
        if Some(b) == open {
            depth += 1;
        } else if b == close {
            if depth == 0 {
                return Ok((out, &s[i + 1..]));
            }
            depth -= 1;
        }
        out.push(b);
        i += 1;
    }
    Err(NotLiteral::Unterminated)
}

fn hex_run(s: &[u8], max: usize) -> &[u8] {
    let n = s
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    &s[..n]
}

fn push_code_point(out: &mut Vec<u8>, hex: &[u8]) {
    if hex.is_empty() {
        return;
    }
    let c = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// How far a `[...]` of string literals got.
enum Array {
    /// Not closed yet (it may continue on the next line).
    Open,
    /// The strings, or what is wrong.
    Done(Result<Vec<String>, String>),
}

/// A `["a".freeze, 'b']` array of string literals.
fn string_array(rhs: &[u8]) -> Array {
    let Some(mut s) = rhs.strip_prefix(b"[") else {
        return Array::Done(Err(describe(&value(rhs))));
    };
    let mut items = Vec::new();
    loop {
        s = trim_start(s);
        if s.is_empty() {
            return Array::Open;
        }
        if let Some(rest) = s.strip_prefix(b"]") {
            let rest = strip_calls(rest);
            return Array::Done(if clean_tail(rest) {
                Ok(items)
            } else {
                Err(format!("the expression {}", snippet(rhs)))
            });
        }
        match literal(s) {
            Ok(Some((v, rest))) => {
                items.push(String::from_utf8_lossy(&v).into_owned());
                s = trim_start(strip_calls(rest));
                if let Some(r) = s.strip_prefix(b",") {
                    s = r;
                } else if !s.is_empty() && s[0] != b']' {
                    return Array::Done(Err(format!("the expression {}", snippet(rhs))));
                }
            }
            Err(NotLiteral::Unterminated) => return Array::Open,
            Ok(None) | Err(NotLiteral::Interpolated) => {
                return Array::Done(Err(format!("the expression {}", snippet(rhs))))
            }
        }
    }
}

/// `require_relative ARG` or `require ARG` (parenthesised or not) at the start of a
/// line: whether it is relative, and the argument's text.
fn require_call(l: &[u8]) -> Option<(bool, &[u8])> {
    let (relative, rest) = match l.strip_prefix(b"require_relative") {
        Some(r) => (true, r),
        None => (false, l.strip_prefix(b"require")?),
    };
    match rest.first() {
        Some(b' ' | b'\t' | b'(') => Some((relative, trim(rest))),
        _ => None,
    }
}

/// Parentheses opened and not closed in `s`, outside string literals.
fn open_parens(s: &[u8]) -> i64 {
    let mut depth = 0i64;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'#' => break,
            b'"' | b'\'' | b'%' => {
                if let Ok(Some((_, rest))) = literal(&s[i..]) {
                    i = s.len() - rest.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    depth
}

/// What a path expression of a require evaluates to, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathValue {
    /// A string with no anchor (`'lib/foo'`).
    Str(String),
    /// A path from the gemspec's own directory (`__dir__`, `File.dirname(__FILE__)`).
    Dir(String),
    /// `__FILE__`, the gemspec itself.
    File,
}

/// The file a `require_relative` (`relative`) or `require` of `arg` loads, relative to
/// the requiring file's directory, `.rb` added. `None` when it is not known without
/// running Ruby: a load-path `require 'foo/version'`, a method call, a variable.
/// Understood: string literals, `+`, `__dir__`, `__FILE__`, `File.dirname`,
/// `File.join`, `File.expand_path(p)` and `File.expand_path(p, base)`.
fn require_path(relative: bool, arg: &[u8]) -> Option<String> {
    let (arg, parens) = match arg.strip_prefix(b"(") {
        Some(inner) => (inner, true),
        None => (arg, false),
    };
    let (v, mut rest) = path_expr(arg, 0)?;
    if parens {
        rest = trim_start(rest).strip_prefix(b")")?;
    }
    if !clean_tail(rest) {
        return None;
    }
    let rel = match v {
        PathValue::Dir(p) => p,
        PathValue::Str(p) if relative && !p.starts_with('/') => p,
        _ => return None,
    };
    Some(if rel.ends_with(".rb") {
        rel
    } else {
        format!("{rel}.rb")
    })
}

/// Nesting of path expressions evaluated, at most.
const MAX_PATH_DEPTH: usize = 8;

/// `term ('+' term)*`.
fn path_expr(s: &[u8], depth: usize) -> Option<(PathValue, &[u8])> {
    let (mut v, mut rest) = path_term(s, depth)?;
    loop {
        let Some(r) = trim_start(rest).strip_prefix(b"+") else {
            return Some((v, rest));
        };
        let (w, r) = path_term(r, depth)?;
        let PathValue::Str(tail) = w else { return None };
        v = match v {
            PathValue::Str(a) => PathValue::Str(a + &tail),
            PathValue::Dir(a) => PathValue::Dir(a + &tail),
            PathValue::File => return None,
        };
        rest = r;
    }
}

/// One operand of a path expression.
fn path_term(s: &[u8], depth: usize) -> Option<(PathValue, &[u8])> {
    if depth > MAX_PATH_DEPTH {
        return None;
    }
    let s = trim_start(s);
    if let Ok(Some((v, rest))) = literal(s) {
        let rest = strip_calls(rest);
        return Some((
            PathValue::Str(String::from_utf8_lossy(&v).into_owned()),
            rest,
        ));
    }
    if let Some(rest) = s.strip_prefix(b"__dir__") {
        return Some((PathValue::Dir(".".into()), rest));
    }
    if let Some(rest) = s.strip_prefix(b"__FILE__") {
        return Some((PathValue::File, rest));
    }
    let (call, rest) = [&b"File.dirname("[..], b"File.join(", b"File.expand_path("]
        .iter()
        .find_map(|c| s.strip_prefix(*c).map(|r| (*c, r)))?;
    let mut args = Vec::new();
    let mut rest = rest;
    loop {
        let (v, r) = path_expr(rest, depth + 1)?;
        args.push(v);
        let r = trim_start(r);
        if let Some(r) = r.strip_prefix(b",") {
            rest = r;
            continue;
        }
        rest = r.strip_prefix(b")")?;
        break;
    }
    let v = match (call, args.as_slice()) {
        (b"File.dirname(", [PathValue::File]) => PathValue::Dir(".".into()),
        (b"File.dirname(", [PathValue::Dir(p)]) => PathValue::Dir(format!("{p}/..")),
        (b"File.dirname(", [PathValue::Str(p)]) => {
            PathValue::Str(p.rsplit_once('/').map_or(".", |(d, _)| d).to_string())
        }
        (b"File.join(", [first, more @ ..]) => {
            let mut parts = Vec::new();
            for a in more {
                match a {
                    PathValue::Str(p) => parts.push(p.as_str()),
                    _ => return None,
                }
            }
            let tail = parts.join("/");
            match first {
                PathValue::Str(p) if tail.is_empty() => PathValue::Str(p.clone()),
                PathValue::Str(p) => PathValue::Str(format!("{p}/{tail}")),
                PathValue::Dir(p) => PathValue::Dir(format!("{p}/{tail}")),
                PathValue::File => return None,
            }
        }
        (b"File.expand_path(", [PathValue::Dir(p)]) => PathValue::Dir(p.clone()),
        (b"File.expand_path(", [PathValue::Str(p), PathValue::Dir(base)]) => {
            PathValue::Dir(format!("{base}/{p}"))
        }
        // Ruby expands against the file's path as if it were a directory, so the usual
        // `File.expand_path('../lib/x', __FILE__)` is the gemspec's `lib/x`; a path with
        // no `../` is taken from the gemspec's directory too, as osv-scalibr does.
        (b"File.expand_path(", [PathValue::Str(p), PathValue::File]) => {
            PathValue::Dir(p.strip_prefix("../").unwrap_or(p).to_string())
        }
        _ => return None,
    };
    Some((v, rest))
}

/// `dir/rel` with `.` and `..` resolved; `None` when it leaves the image root.
fn normalise(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in dir.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Extracted {
        parse_gemspec("specifications/x.gemspec", input.as_bytes()).unwrap()
    }

    fn one(x: &Extracted) -> (&str, &str, Vec<&str>) {
        assert_eq!(x.packages.len(), 1, "{:?}", x.warnings);
        let p = &x.packages[0];
        (
            p.name.as_str(),
            p.version.as_str(),
            p.licenses.iter().map(String::as_str).collect(),
        )
    }

    #[test]
    fn selects_gemspecs_and_version_files() {
        let g = Gemspec;
        for yes in [
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
            "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
            "usr/share/rubygems-integration/all/specifications/rake-13.0.6.gemspec",
            "usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec",
            "specifications/a-1.gemspec",
            // Source gemspecs of an application, and the version files they require.
            "app/my_app.gemspec",
            "srv/engines/billing/billing.gemspec",
            "my_app.gemspec",
            "app/lib/my_app/version.rb",
            "app/lib/my_app/sub/version.rb",
            "app/lib/version.rb",
        ] {
            assert!(g.wants(yes), "{yes}");
        }
        for no in [
            // Inside an installed gem, whose installed specification counts.
            "usr/local/bundle/gems/rack-2.2.3/rack.gemspec",
            "usr/local/bundle/bundler/gems/rails-abc/rails.gemspec",
            "usr/local/bundle/gems/rack-2.2.3/lib/rack/version.rb",
            "specifications/.gemspec",
            "specifications/a.gemspec.bak",
            "testdata/test.rb",
            "app/lib/my_app/other.rb",
            "app/my_app/version.rb",
            // Ruby's own library, deeper than a gem's lib/NAME/.
            "usr/lib/ruby/3.1.0/rubygems/version.rb",
            "usr/lib/ruby/vendor_ruby/rack/version.rb",
        ] {
            assert!(!g.wants(no), "{no}");
        }
        assert!(g.locations().is_empty());
    }

    #[test]
    fn require_paths() {
        let r = |relative, arg: &str| require_path(relative, arg.as_bytes());
        let want = Some("lib/x/version.rb".to_string());
        assert_eq!(r(true, "'lib/x/version'"), want);
        assert_eq!(r(true, "('lib/x/version.rb')"), want);
        assert_eq!(r(true, "\"lib/x/version\" if defined?(X)"), want);
        assert_eq!(r(true, "File.join('lib', 'x', 'version')"), want);
        assert_eq!(
            r(true, "File.expand_path('lib/x/version', __dir__)"),
            Some("./lib/x/version.rb".into())
        );
        assert_eq!(
            r(false, "File.expand_path('../lib/x/version', __FILE__)"),
            Some("lib/x/version.rb".into())
        );
        assert_eq!(
            r(
                false,
                "File.expand_path(File.join('lib', 'x', 'version.rb'), __FILE__)"
            ),
            Some("lib/x/version.rb".into())
        );
        assert_eq!(
            r(false, "File.dirname(__FILE__) + '/lib/x/version'"),
            Some("./lib/x/version.rb".into())
        );
        assert_eq!(
            r(true, "File.join(File.dirname(__dir__), 'x', 'version')"),
            Some("./../x/version.rb".into())
        );
        // Not knowable without Ruby: load-path requires, variables, absolute paths.
        for (relative, arg) in [
            (false, "'x/version'"),
            (false, "'rubygems' unless Object.const_defined?(:Gem)"),
            (true, "lib + '/x'"),
            (true, "'/opt/x/version'"),
            (true, "File.expand_path('lib/x/version')"),
            (true, "File.join(__FILE__, 'x')"),
            (true, "'lib/x' + y"),
            (true, "'lib/x'; puts 1 if true"),
            (true, "File.join("),
        ] {
            assert_eq!(r(relative, arg), None, "{arg}");
        }
        assert_eq!(
            normalise("app", "./../x/version.rb").as_deref(),
            Some("x/version.rb")
        );
        assert_eq!(normalise("", "../x.rb"), None);
        // Nesting is bounded.
        let deep = format!("{}'a'{}", "File.join(".repeat(100), ")".repeat(100));
        assert_eq!(r(true, &deep), None);
    }

    #[test]
    fn a_version_required_from_another_file_is_deferred() {
        let x = parse_gemspec(
            "app/my_app.gemspec",
            b"require_relative File.join(\n  'lib',\n  'my_app',\n  'version'\n)\n\
              require 'rubygems'\n\
              Gem::Specification.new do |s|\n  s.name = 'my_app'\n  \
              s.version = MyApp::VERSION\n  s.license = 'MIT'\nend\n",
        )
        .unwrap();
        assert!(x.packages.is_empty() && x.warnings.is_empty(), "{x:?}");
        let d = &x.deferred[0];
        assert_eq!(d.files, ["app/lib/my_app/version.rb"]);
        assert_eq!(d.constant, "VERSION");
        assert_eq!(
            d.context,
            "line 9: the version is the constant \"MyApp::VERSION\""
        );
        assert_eq!(
            (d.package.name.as_str(), d.package.version.as_str()),
            ("my_app", "")
        );
        assert_eq!(d.package.licenses, ["MIT"]);
        assert_eq!(d.package.db_path, "app/my_app.gemspec");
        // A required file this reader does not read: a warning now.
        let x = parse_gemspec(
            "app/my_app.gemspec",
            b"require_relative 'lib/my_app/gem_version'\n\
              Gem::Specification.new do |s|\n  s.name = 'my_app'\n  \
              s.version = MyApp::VERSION\nend\n",
        )
        .unwrap();
        assert!(x.packages.is_empty() && x.deferred.is_empty());
        assert!(
            x.warnings[0].contains("nor in a file it requires that this reader follows"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn version_files_give_their_constants() {
        let x = Gemspec
            .extract(
                "app/lib/my_app/version.rb",
                b"# frozen_string_literal: true\nmodule MyApp\n  VERSION = '1.2.3'.freeze\n  \
                  Version = \"4\"\n  VERSION = '9'\n  MAJOR = 1\n  X = \"#{MAJOR}\"\nend\n",
            )
            .unwrap();
        assert_eq!(
            x.defines,
            Some(vec![
                ("VERSION".into(), "1.2.3".into()),
                ("Version".into(), "4".into())
            ])
        );
        assert!(x.packages.is_empty() && x.warnings.is_empty());
        // Garbage: no constants, no warning, bounded.
        let mut big = Vec::new();
        for i in 0..10_000 {
            big.extend(format!("C{i} = 'v'\n").as_bytes());
        }
        let budget = Budget::new(1 << 20);
        let x = parse_definitions_from("lib/a/version.rb", &mut &big[..], &budget).unwrap();
        assert_eq!(x.defines.unwrap().len(), MAX_CONSTANTS);
        assert!(budget.used() < 16 << 10, "{}", budget.used());
        let x = Gemspec.extract("lib/a/version.rb", b"\xff\x00").unwrap();
        assert_eq!(x.defines, Some(vec![]));
    }

    #[test]
    fn reads_what_rubygems_writes() {
        let x = parse(
            "# -*- encoding: utf-8 -*-\n# stub: nokogiri 1.15.4 x86_64-linux lib\n\n\
             Gem::Specification.new do |s|\n  s.name = \"nokogiri\".freeze\n  \
             s.version = \"1.15.4\"\n  s.platform = \"x86_64-linux\".freeze\n\n  \
             s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze) if s.respond_to? :required_rubygems_version=\n  \
             s.licenses = [\"MIT\".freeze, \"Apache-2.0\".freeze]\n  \
             s.summary = \"Caf\\u00E9 #{not code}\".freeze\nend\n",
        );
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(one(&x), ("nokogiri", "1.15.4", vec!["MIT", "Apache-2.0"]));
        let p = &x.packages[0];
        assert_eq!(p.ecosystem, Ecosystem::Gem);
        assert_eq!(p.db_path, "specifications/x.gemspec");
    }

    #[test]
    fn older_and_hand_written_forms() {
        // rubygems 1.x: %q{} strings, `s.license`, a different block variable.
        let x = parse(
            "Gem::Specification.new do |spec|\n  spec.name = %q{rake}\n  \
             spec.version = '0.8.7' # pinned\n  spec.license = %q<MIT>\nend\n",
        );
        assert_eq!(one(&x), ("rake", "0.8.7", vec!["MIT"]));
        // A license array over several lines, a brace block, a constant of the file.
        let x = parse(
            "module Foo\n  VERSION = \"2.0.1\".freeze unless defined?(VERSION)\nend\n\
             Gem::Specification.new { |g|\n  g.name    =   \"foo\"\n  g.version = Foo::VERSION\n  \
             g.licenses = [\n    'BSD-2-Clause',\n    \"Ruby\"\n  ]\n}\n",
        );
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(one(&x), ("foo", "2.0.1", vec!["BSD-2-Clause", "Ruby"]));
        // The first assignment counts; comparisons are not assignments.
        let x = parse(
            "Gem::Specification.new do |s|\n  s.name == \"no\"\n  s.name = \"a\"\n  \
             s.name = \"b\"\n  s.version = \"1\"\n  s.version = \"2\"\nend\n",
        );
        assert_eq!(one(&x), ("a", "1", vec![]));
    }

    #[test]
    fn unknowable_values_are_warnings() {
        for (body, want) in [
            (
                "s.name = \"x\"\ns.version = \"#{major}.0\"",
                "line 3: the version is the expression \"\\\"#{major}.0\\\"\"",
            ),
            (
                "s.name = \"x\"\ns.version = X.version",
                "line 3: the version is the expression",
            ),
            (
                "s.name = \"x\"\ns.version = X::VERSION",
                "line 3: the version is the constant \"X::VERSION\", not assigned in this file",
            ),
            (
                "s.name = \"x\"\ns.version = \"1.0\" + \"-beta\"",
                "line 3: the version is the expression",
            ),
            ("s.name =\n", "line 2: the name is missing, not a string"),
            (
                "s.name = \"a b\"\ns.version = \"1\"",
                "line 2: name \"a b\" is empty or has spaces",
            ),
            (
                "s.name = \"x\"",
                "no `.version =` in the Gem::Specification block",
            ),
            (
                "s.name = \"x\"\ns.version = \"1.0",
                "line 3: the version is the expression",
            ),
        ] {
            let x = parse(&format!("Gem::Specification.new do |s|\n{body}\nend\n"));
            assert!(x.packages.is_empty(), "{body}");
            assert_eq!(x.warnings.len(), 1, "{body}: {:?}", x.warnings);
            assert!(x.warnings[0].starts_with(want), "{body}: {}", x.warnings[0]);
        }
        // Unreadable licenses leave the gem listed, with a warning.
        let x = parse("Gem::Specification.new do |s|\ns.name = \"x\"\ns.version = \"1\"\ns.licenses = LICENSES\nend\n");
        assert_eq!(one(&x), ("x", "1", vec![]));
        assert_eq!(
            x.warnings,
            ["line 4: licenses not read: the constant \"LICENSES\" (the gem is listed without them)"]
        );
        let x = parse("Gem::Specification.new do |s|\ns.name = \"x\"\ns.version = \"1\"\ns.licenses = [\"MIT\",\n");
        assert_eq!(one(&x), ("x", "1", vec![]));
        assert!(
            x.warnings[0].contains("a license array that does not end"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn files_without_a_specification_block() {
        assert_eq!(parse(""), Extracted::default());
        assert_eq!(parse("# just a comment\n\n"), Extracted::default());
        let x = parse("Gem::Specif\n  s.name = \"foo\"\n  s.version = \"1.2.3\"\nend\n");
        assert!(x.packages.is_empty());
        assert_eq!(x.warnings.len(), 1);
        assert!(x.warnings[0].starts_with("no `Gem::Specification.new do |s|` block"));
    }

    #[test]
    fn string_literals() {
        let lit = |s: &str| {
            literal(s.as_bytes())
                .map(|o| o.map(|(v, rest)| (String::from_utf8(v).unwrap(), rest.len())))
        };
        assert_eq!(
            lit(r#""a\"b\\c\x41\u00e9\u{1F600 41}" x"#),
            Ok(Some(("a\"b\\cAé😀A".into(), 2)))
        );
        assert_eq!(lit(r"'a\'b\nc'"), Ok(Some(("a'b\\nc".into(), 0))));
        assert_eq!(lit("%q{a{b}c}.freeze"), Ok(Some(("a{b}c".into(), 7))));
        assert_eq!(lit("%Q(a\\tb)"), Ok(Some(("a\tb".into(), 0))));
        assert_eq!(lit("%q|a|"), Ok(Some(("a".into(), 0))));
        assert_eq!(lit("\"#@x\""), Err(NotLiteral::Interpolated));
        assert_eq!(lit("\"a#b\""), Ok(Some(("a#b".into(), 0))));
        assert_eq!(lit("\"abc"), Err(NotLiteral::Unterminated));
        assert_eq!(lit("abc"), Ok(None));
        assert_eq!(lit("\"\\"), Err(NotLiteral::Unterminated));
        assert_eq!(lit("\"\\u{12"), Err(NotLiteral::Unterminated));
    }

    #[test]
    fn crlf_bom_and_non_utf8() {
        let x = parse_gemspec(
            "specifications/a-1.gemspec",
            b"\xef\xbb\xbf# -*- encoding: utf-8 -*-\r\nGem::Specification.new do |s|\r\n  \
              s.name = \"a\".freeze\r\n  s.version = \"1.0\"\r\n  s.authors = [\"J\xf6rg\".freeze]\r\n  \
              s.licenses = [\"MIT\".freeze]\r\nend\r\n",
        )
        .unwrap();
        assert_eq!(x.warnings, Vec::<String>::new());
        assert_eq!(one(&x), ("a", "1.0", vec!["MIT"]));
        // A non-UTF-8 byte in the name is read lossily (and kept: it has no space).
        let x = parse_gemspec(
            "specifications/a-1.gemspec",
            b"Gem::Specification.new do |s|\n s.name = \"a\xff\"\n s.version = \"1\"\nend\n",
        )
        .unwrap();
        assert_eq!(one(&x).0, "a\u{fffd}");
    }

    #[test]
    fn huge_files_are_read_in_bounded_memory() {
        // A 20 MB `s.files` line and 100k constants: memory stays at the fixed reservation.
        let mut input =
            b"Gem::Specification.new do |s|\n  s.name = \"big\"\n  s.files = [".to_vec();
        for i in 0..2_000_000 {
            input.extend(format!("\"f{i}\", ").as_bytes());
        }
        input.extend(b"]\n");
        for i in 0..100_000 {
            input.extend(format!("  C{i} = \"v\"\n").as_bytes());
        }
        input.extend(b"  s.version = \"9.9\"\n  s.licenses = [\"MIT\"]\nend\n");
        assert!(input.len() > 20 << 20);
        let budget = Budget::new(1 << 20);
        let x =
            parse_gemspec_from("specifications/big-9.9.gemspec", &mut &input[..], &budget).unwrap();
        assert_eq!(one(&x), ("big", "9.9", vec!["MIT"]));
        // Only the package stays charged.
        assert!(budget.used() < 4096, "{}", budget.used());

        // A huge single line: its first LINE_MAX bytes are looked at.
        let mut input = b"Gem::Specification.new do |s|\n s.name = \"x\"\n s.version = \"".to_vec();
        input.extend(std::iter::repeat_n(b'1', 1 << 20));
        input.extend(b"\"\nend\n");
        let x = parse(std::str::from_utf8(&input).unwrap());
        assert!(x.packages.is_empty());
        assert!(
            x.warnings[0].starts_with("line 3: the version is the expression"),
            "{:?}",
            x.warnings
        );

        // Over a tiny budget: an error, nothing kept.
        let budget = Budget::new(1000);
        let e =
            parse_gemspec_from("specifications/a.gemspec", &mut &b"x"[..], &budget).unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
    }
}
