//! Containerfile / Dockerfile parsing with exact byte spans, and byte-preserving edits.
//!
//! Lineage needs two things from a Containerfile: which image the final image is built on
//! (and which other images the build reads), and a way to move that base to a new
//! reference without touching anything else. So the parser understands the whole *layout*
//! of the file (parser directives, comments, blank lines, line continuations, heredocs)
//! but the *meaning* of only `FROM` and `ARG` (plus the `--from` of `COPY` and
//! `RUN --mount`, which name build-time inputs). Every instruction keeps the byte span it
//! came from, and edits are expressed as one replaced span ([`Edit`]), so the rest of the
//! file, CRLF line endings and odd spacing included, survives byte for byte.
//!
//! # Layout rules (as BuildKit's Dockerfile frontend applies them)
//! - Parser directives (`# syntax=`, `# escape=`, `# check=`) are recognised only on the
//!   first lines of the file; the first line that is not a known directive (a comment, an
//!   unknown directive, a blank line, an instruction) ends them. A directive given twice
//!   is an error, and `escape` must be `\` or `` ` ``.
//! - A line whose last non-blank character is the escape character continues on the next
//!   line. Comment lines and blank lines inside a continued instruction are skipped. A
//!   continuation still open at the end of the file ends the instruction there
//!   ([`Instruction::dangling_continuation`]).
//! - `RUN`, `COPY` and `ADD` (also behind `ONBUILD`) in shell form may open heredocs
//!   (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`): the bodies follow the instruction line in
//!   order, each closed by a line equal to its word (`<<-` strips leading tabs first).
//!   Bodies are never read as instructions; an unclosed heredoc is an error.
//! - A leading UTF-8 byte-order mark is ignored.
//!
//! # FROM and ARG
//! `FROM [--platform=P] IMAGE [AS NAME]`: any other flag is an error, as is a FROM without
//! an image or with a second word that is not `AS`. Stage names follow BuildKit
//! (`[a-z][a-z0-9-_.]*`, compared without case, no duplicates). `ARG`s before the first
//! `FROM` are global: they, the build arguments that override their defaults, and the
//! predefined platform arguments (`BUILDPLATFORM`, `TARGETARCH`…, only when given as
//! build arguments) are what `FROM` may use. Substitution supports `$V`, `${V}`,
//! `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?w}`, `${V?w}`, quotes and the escape
//! character; pattern operators (`${V#p}`, `${V%p}`, `${V/a/b}`) are reported as
//! unsupported rather than guessed. A base that expands to the name of an earlier stage
//! is that stage; `scratch` is no image.
//!
//! # Decisions
//! - **The final stage is the last one** (what `docker build` produces without
//!   `--target`). Its *external base* is found by following stage references:
//!   `FROM build AS final` is built on whatever `build` is built on.
//! - **Build-time inputs** are the external bases of the other stages, and external
//!   images read by `COPY --from=` / `RUN --mount=…,from=`, except the final base itself.
//! - **Moving the base** ([`Containerfile::final_base_edit`], [`set_final_base`]) rewrites
//!   the image word of the `FROM` that holds the final image's external base. When that
//!   word is exactly one variable (`FROM $BASE` / `FROM ${BASE}`) and the variable is a
//!   global `ARG` with a default, the *default of the ARG* is rewritten instead, so the
//!   file keeps its parameter (the edit's note says so, and warns that a `--build-arg`
//!   would still override it). Any other use of variables (`python:${PY}-slim`, an ARG
//!   without default, `${BASE:-x}`) is replaced by the literal reference: the plan must
//!   pin exactly one image, and a partial template cannot express it.
//! - **The upgrade step** ([`insert_upgrade_step`]) is inserted as its own `RUN` line
//!   right after the *last `RUN`* of the final stage (after its continuation lines and
//!   heredoc bodies), or right after the final stage's `FROM` when that stage has no
//!   `RUN`. Placing it last matters: a stage that installs the package itself
//!   (`RUN apt-get install -y curl`) would otherwise install it after the upgrade, and
//!   the step's `rm -rf /var/lib/apt/lists/*` would break a later `apt-get install` that
//!   does not run `apt-get update` first. Instructions after the last `RUN` (`COPY`,
//!   `USER`, `CMD`…) do not install packages, so they stay after the step. The new lines
//!   take the line ending of the line they follow (CRLF stays CRLF). An instruction whose
//!   continuation runs into the end of the file is refused: a line appended there would
//!   be swallowed by it.
//! - **Users.** The user in effect at the insertion point is the last `USER` of the final
//!   stage before it or, when the stage has none there, the last `USER` of the stage it
//!   is built on (`FROM build AS final` inherits `build`'s user), and so on up the chain.
//!   When that user is not root (anything but `root` or `0`, with or without a group; a
//!   variable counts as not root), the step is wrapped: `USER root`, the `RUN`, then
//!   `USER <that user>` as written, so the rest of the stage runs as before and the edit
//!   carries a note saying so. A `USER` the *external* base image sets is not visible in
//!   the file; the plan notes that case.
//! - Both edit functions return `Result` (not a bare `String`): a Containerfile that does
//!   not parse, or has no base to move (`FROM scratch`), must be reported, not guessed.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// Build arguments (`--build-arg NAME=VALUE`).
pub type BuildArgs = BTreeMap<String, String>;

const KNOWN_DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Arguments BuildKit defines in the global scope without an `ARG`.
const PREDEFINED_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

// ---------------------------------------------------------------------------------------
// Errors

/// Why a Containerfile does not parse (or a FROM does not resolve), and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("empty Containerfile: no instructions")]
    Empty,
    #[error("no FROM instruction")]
    NoFrom,
    #[error("parser directive `{0}` given more than once")]
    DuplicateDirective(String),
    #[error("invalid escape directive {0:?}: must be `\\` or `` ` ``")]
    InvalidEscape(String),
    #[error("unknown instruction `{0}`")]
    UnknownInstruction(String),
    #[error("`{0}` before the first FROM (only ARG may come before FROM)")]
    InstructionBeforeFrom(String),
    #[error("FROM without an image")]
    FromWithoutImage,
    #[error("FROM takes IMAGE [AS NAME], found {0} words after the flags")]
    FromArguments(usize),
    #[error("expected `AS` after the image, found `{0}`")]
    ExpectedAs(String),
    #[error("unknown flag `{flag}` on {instruction}")]
    UnknownFlag { instruction: String, flag: String },
    #[error("flag `{0}` needs a value (`{0}=VALUE`)")]
    MissingFlagValue(String),
    #[error("invalid stage name `{0}` (expected [a-z][a-z0-9-_.]*)")]
    InvalidStageName(String),
    #[error("duplicate stage name `{0}`")]
    DuplicateStageName(String),
    #[error("unterminated heredoc `{0}`: no line closes it before the end of the file")]
    UnterminatedHeredoc(String),
    #[error("unbalanced `${{`: no closing `}}`")]
    UnbalancedBrace,
    #[error("bad substitution `{0}`")]
    BadSubstitution(String),
    #[error("unsupported substitution `{0}` (only -, +, ? with or without `:`)")]
    UnsupportedSubstitution(String),
    #[error("unterminated quote")]
    UnterminatedQuote,
    #[error("ARG without a name")]
    ArgWithoutName,
    #[error("variable `{name}` is required: {message}")]
    RequiredVariable { name: String, message: String },
    #[error("the base `{0}` expands to an empty image name")]
    BlankBase(String),
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("Containerfile does not parse: {0}")]
    Parse(#[from] ParseError),
    #[error("the final stage is built FROM scratch (line {line}): it has no base image to move")]
    Scratch { line: usize },
    #[error("invalid image reference {0:?}: {1}")]
    InvalidReference(String, &'static str),
    #[error("invalid step {0:?}: {1}")]
    InvalidStep(String, &'static str),
    #[error("line {line}: the {what} is split across a line continuation; edit it by hand")]
    SplitToken { line: usize, what: &'static str },
    #[error("line {line}: the line continuation of the instruction the upgrade step would follow runs into the end of the file")]
    DanglingContinuation { line: usize },
    #[error("edits overlap")]
    Overlap,
}

// ---------------------------------------------------------------------------------------
// Public model

/// An image reference as written in a Containerfile (after substitution), e.g.
/// `python:3.12-slim` or `registry.local:5000/base/debian:12@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRefText(pub String);

impl ImageRefText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `registry/path/name` without tag and digest.
    pub fn repository(&self) -> &str {
        let name = self.0.split('@').next().unwrap_or("");
        match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => &name[..i],
            _ => name,
        }
    }
    pub fn tag(&self) -> Option<&str> {
        let name = self.0.split('@').next().unwrap_or("");
        match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => Some(&name[i + 1..]),
            _ => None,
        }
    }
    pub fn digest(&self) -> Option<&str> {
        self.0.split_once('@').map(|(_, d)| d)
    }
}

impl fmt::Display for ImageRefText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parser directive from the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-case name: `syntax`, `escape` or `check`.
    pub name: String,
    pub value: String,
    pub line: usize,
    /// The whole directive line, without its line ending.
    pub span: Range<usize>,
}

/// A heredoc opened by an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiting word, quotes removed.
    pub name: String,
    /// `<<-`: leading tabs are stripped before the terminator is compared.
    pub strip_tabs: bool,
    /// The body lines, line endings included, terminator excluded.
    pub body: Range<usize>,
    /// The terminator line, without its line ending.
    pub terminator: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    logical: usize,
    orig: usize,
    len: usize,
}

/// One instruction with the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-case keyword.
    pub keyword: String,
    /// 1-based line of the keyword.
    pub line: usize,
    /// From the keyword to the end of its last line (continuations and heredoc bodies
    /// included), line ending excluded.
    pub span: Range<usize>,
    /// Just after the line ending of the instruction's last line (or the end of the file).
    pub line_end: usize,
    /// The instruction line as BuildKit sees it: continuation characters removed, lines
    /// joined, skipped comment lines dropped; heredoc bodies not included.
    pub logical: String,
    /// Where the arguments start in `logical`.
    pub args_offset: usize,
    pub heredocs: Vec<Heredoc>,
    /// The last line ended with the escape character and the file ended.
    pub dangling_continuation: bool,
    segs: Vec<Seg>,
}

impl Instruction {
    /// The arguments, as joined text.
    pub fn args(&self) -> &str {
        &self.logical[self.args_offset..]
    }

    /// JSON (exec) form: `["a", "b"]`.
    pub fn is_json_form(&self) -> bool {
        let a = self.args().trim();
        a.starts_with('[') && a.ends_with(']')
    }

    /// Original offset of a logical offset.
    fn orig(&self, logical: usize) -> usize {
        match self.seg_at(logical) {
            Some(s) => s.orig + logical.saturating_sub(s.logical),
            None => self.segs.last().map_or(self.span.start, |s| s.orig + s.len),
        }
    }

    /// The segment holding a logical offset (segments tile the logical text in order).
    fn seg_at(&self, logical: usize) -> Option<&Seg> {
        let i = self.segs.partition_point(|s| s.logical + s.len <= logical);
        self.segs.get(i)
    }

    /// Original byte range of a logical range, when it lies on one physical line.
    fn orig_span(&self, r: &Range<usize>) -> Option<Range<usize>> {
        if r.start == r.end {
            let o = self.orig(r.start);
            return Some(o..o);
        }
        let seg = self.seg_at(r.start)?;
        (r.end <= seg.logical + seg.len).then(|| {
            let start = seg.orig + (r.start - seg.logical);
            start..start + (r.end - r.start)
        })
    }
}

/// An `ARG` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    /// The default as written (quotes kept), `None` without `=`.
    pub default: Option<String>,
    pub line: usize,
    /// Original bytes of the default as written; `None` without `=` or when the word
    /// straddles a line continuation.
    pub value_span: Option<Range<usize>>,
    /// Index of the instruction that declares it.
    pub instruction: usize,
}

/// A build stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// `AS name` as written.
    pub name: Option<String>,
    /// The image word as written (`${BASE}`, `python:3.12-slim`, `build`).
    pub base: String,
    /// The image word with ARG defaults (or build arguments) substituted; `None` when it
    /// expands to nothing (an ARG with no default and no build argument).
    pub base_resolved: Option<String>,
    /// `--platform=` value as written.
    pub platform: Option<String>,
    /// `--platform=` value substituted, when that is possible.
    pub platform_resolved: Option<String>,
    /// The earlier stage this stage is built on, when its base names one.
    pub base_stage: Option<usize>,
    /// The base is `scratch`.
    pub scratch: bool,
    /// 1-based line and column of the image word.
    pub line: usize,
    pub column: usize,
    /// Index of the FROM instruction.
    pub instruction: usize,
    /// Original bytes of the image word; `None` when it straddles a line continuation.
    pub image_span: Option<Range<usize>>,
    /// ARGs declared inside this stage.
    pub args: Vec<ArgDecl>,
}

/// How a build-time input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InputKind {
    /// The base of a stage that is not in the final image's chain.
    StageBase,
    /// `COPY --from=IMAGE` / `ADD --from=IMAGE`.
    CopyFrom,
    /// `RUN --mount=…,from=IMAGE`.
    MountFrom,
}

/// An image the build reads that is not the final image's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInput {
    pub reference: ImageRefText,
    pub kind: InputKind,
    /// Stage that reads it.
    pub stage: usize,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RawFrom {
    image: String,
    image_logical: Range<usize>,
    platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RawInput {
    value: String,
    kind: InputKind,
    stage: usize,
    line: usize,
    column: usize,
}

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    text: String,
    escape: char,
    directives: Vec<Directive>,
    instructions: Vec<Instruction>,
    global_args: Vec<ArgDecl>,
    stages: Vec<Stage>,
    raw_froms: Vec<RawFrom>,
    raw_inputs: Vec<RawInput>,
    line_starts: Vec<usize>,
}

// ---------------------------------------------------------------------------------------
// Physical lines

#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    /// End of content: `\r\n` or `\n` excluded.
    content_end: usize,
    /// After the line ending.
    end: usize,
}

fn split_lines(text: &str) -> Vec<Line> {
    let b = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < b.len() {
        let (content_end, end) = match memchr_nl(&b[start..]) {
            Some(i) => {
                let nl = start + i;
                let ce = if nl > start && b[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                (ce, nl + 1)
            }
            // Like a `\r\n`, a `\r` that ends the file is not part of the line.
            None if b.last() == Some(&b'\r') => (b.len() - 1, b.len()),
            None => (b.len(), b.len()),
        };
        lines.push(Line {
            start,
            content_end,
            end,
        });
        start = end;
    }
    lines
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

struct Locator<'a> {
    text: &'a str,
    starts: &'a [usize],
}

impl Locator<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let ls = self.starts.get(idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(ls..offset)
            .map_or(offset - ls, |s| s.chars().count());
        (idx + 1, col + 1)
    }
    fn err(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.at(offset);
        ParseError { line, column, kind }
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(
        text.bytes()
            .enumerate()
            .filter(|&(_, c)| c == b'\n')
            .map(|(i, _)| i + 1),
    );
    v
}

/// `# name = value` → (name, value).
fn directive_of(content: &str) -> Option<(&str, &str)> {
    let s = content.trim_start_matches(is_blank).strip_prefix('#')?;
    let s = s.trim_start_matches(is_blank);
    let name_len = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, rest) = s.split_at(name_len);
    let rest = rest.trim_start_matches(is_blank).strip_prefix('=')?;
    let value = rest.trim_matches(is_blank);
    (!value.is_empty()).then_some((name, value))
}

/// End of the line's text without a trailing continuation, and whether it continues.
fn strip_continuation(text: &str, start: usize, content_end: usize, escape: char) -> (usize, bool) {
    let s = &text[start..content_end];
    let t = s.trim_end_matches(is_blank);
    match t.strip_suffix(escape) {
        Some(rest) => (start + rest.len(), true),
        None => (content_end, false),
    }
}

// ---------------------------------------------------------------------------------------
// Words

/// Split on blanks; `quotes` also keeps quoted blanks (and escaped ones) inside a word.
/// Returns words with their logical ranges, and whether a quote was left open.
fn split_words(
    s: &str,
    base: usize,
    quotes: bool,
    escape: char,
) -> (Vec<(String, Range<usize>)>, bool) {
    let mut words = Vec::new();
    let mut cur_start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if quote.is_none() && is_blank(c) {
            if let Some(st) = cur_start.take() {
                words.push((s[st..i].to_string(), base + st..base + i));
            }
            continue;
        }
        if cur_start.is_none() {
            cur_start = Some(i);
        }
        if !quotes {
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == escape => {
                it.next();
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == escape => {
                it.next();
            }
            None => {}
        }
    }
    if let Some(st) = cur_start {
        words.push((s[st..].to_string(), base + st..base + s.len()));
    }
    (words, quote.is_some())
}

#[derive(Debug)]
struct ExpandError {
    /// Byte offset in the expanded word.
    offset: usize,
    kind: ParseErrorKind,
}

/// Shell-like word expansion as BuildKit applies it to FROM and ARG: quotes removed,
/// escapes applied, variables substituted.
struct Expander<'a> {
    s: &'a str,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Expander<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn err(&self, offset: usize, kind: ParseErrorKind) -> ExpandError {
        ExpandError { offset, kind }
    }

    /// Reads until the end (or, in a `${…}` word, until its `}`).
    fn word(&mut self, in_brace: Option<usize>, active: bool) -> Result<String, ExpandError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return match in_brace {
                    Some(open) => Err(self.err(open, ParseErrorKind::UnbalancedBrace)),
                    None => Ok(out),
                };
            };
            let at = self.pos;
            match c {
                '}' if in_brace.is_some() => {
                    self.bump();
                    return Ok(out);
                }
                '\'' => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(self.err(at, ParseErrorKind::UnterminatedQuote)),
                            Some('\'') => break,
                            Some(ch) => out.push(ch),
                        }
                    }
                }
                '"' => {
                    self.bump();
                    loop {
                        match self.peek() {
                            None => return Err(self.err(at, ParseErrorKind::UnterminatedQuote)),
                            Some('"') => {
                                self.bump();
                                break;
                            }
                            Some('$') => out.push_str(&self.dollar(active)?),
                            Some(ch) if ch == self.escape => {
                                self.bump();
                                match self.peek() {
                                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                                        self.bump();
                                        out.push(n);
                                    }
                                    _ => out.push(ch),
                                }
                            }
                            Some(ch) => {
                                self.bump();
                                out.push(ch);
                            }
                        }
                    }
                }
                '$' => out.push_str(&self.dollar(active)?),
                ch if ch == self.escape => {
                    self.bump();
                    if let Some(n) = self.bump() {
                        out.push(n);
                    }
                }
                ch => {
                    self.bump();
                    out.push(ch);
                }
            }
        }
    }

    fn name(&mut self) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }

    fn dollar(&mut self, active: bool) -> Result<String, ExpandError> {
        let at = self.pos;
        self.bump(); // '$'
        match self.peek() {
            Some('{') => {
                self.bump();
                let name = self.name().to_string();
                let starts_ok = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                let op_at = self.pos;
                let Some(op) = self.bump() else {
                    return Err(self.err(at, ParseErrorKind::UnbalancedBrace));
                };
                if !starts_ok {
                    let end = self.s[at..].find('}').map_or(self.s.len(), |e| at + e + 1);
                    return Err(self.err(
                        at,
                        ParseErrorKind::BadSubstitution(self.s[at..end].to_string()),
                    ));
                }
                let value = (self.lookup)(&name);
                if op == '}' {
                    return Ok(value.unwrap_or_default());
                }
                let (colon, op) = if op == ':' {
                    match self.bump() {
                        Some(o @ ('-' | '+' | '?')) => (true, o),
                        None => return Err(self.err(at, ParseErrorKind::UnbalancedBrace)),
                        Some(_) => {
                            return Err(self.err(
                                at,
                                ParseErrorKind::UnsupportedSubstitution(
                                    self.s[at..self.pos].to_string(),
                                ),
                            ))
                        }
                    }
                } else {
                    (false, op)
                };
                match op {
                    '-' | '+' | '?' => {}
                    '#' | '%' | '/' | '^' | ',' => {
                        return Err(self.err(
                            at,
                            ParseErrorKind::UnsupportedSubstitution(self.s[at..=op_at].to_string()),
                        ))
                    }
                    _ => {
                        return Err(self.err(
                            at,
                            ParseErrorKind::BadSubstitution(self.s[at..self.pos].to_string()),
                        ))
                    }
                }
                let set = match &value {
                    Some(v) => !colon || !v.is_empty(),
                    None => false,
                };
                let word_active = active
                    && match op {
                        '-' | '?' => !set,
                        _ => set,
                    };
                let word = self.word(Some(at), word_active)?;
                match op {
                    '-' => Ok(if set { value.unwrap_or_default() } else { word }),
                    '+' => Ok(if set { word } else { String::new() }),
                    _ => {
                        if set || !active {
                            Ok(value.unwrap_or_default())
                        } else {
                            Err(self.err(
                                at,
                                ParseErrorKind::RequiredVariable {
                                    name,
                                    message: if word.is_empty() {
                                        "not set".to_string()
                                    } else {
                                        word
                                    },
                                },
                            ))
                        }
                    }
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name().to_string();
                Ok((self.lookup)(&name).unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }
}

fn expand(
    s: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut e = Expander {
        s,
        pos: 0,
        escape,
        lookup,
    };
    e.word(None, true)
}

/// Checks the syntax of a word: every variable is taken as set, so only syntax errors
/// can come out.
fn check_syntax(s: &str, escape: char) -> Result<(), ExpandError> {
    expand(s, escape, &|_| Some("x".to_string())).map(|_| ())
}

/// `$NAME` or `${NAME}` and nothing else.
fn sole_variable(word: &str) -> Option<&str> {
    let name = if let Some(inner) = word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
        inner
    } else {
        word.strip_prefix('$')?
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

// ---------------------------------------------------------------------------------------
// Parsing

/// Parses a Containerfile.
pub fn parse(text: &str) -> Result<Containerfile, ParseError> {
    let lines = split_lines(text);
    let starts = line_starts(text);
    let loc = Locator {
        text,
        starts: &starts,
    };
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let line_start = |i: usize| {
        if i == 0 {
            lines[0].start + bom
        } else {
            lines[i].start
        }
    };

    let mut directives: Vec<Directive> = Vec::new();
    let mut escape = '\\';
    let mut i = 0;
    while i < lines.len() {
        let content = &text[line_start(i)..lines[i].content_end];
        let Some((name, value)) = directive_of(content) else {
            break;
        };
        let lname = name.to_ascii_lowercase();
        if !KNOWN_DIRECTIVES.contains(&lname.as_str()) {
            break;
        }
        let at = line_start(i);
        if directives.iter().any(|d| d.name == lname) {
            return Err(loc.err(at, ParseErrorKind::DuplicateDirective(lname)));
        }
        if lname == "escape" {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => return Err(loc.err(at, ParseErrorKind::InvalidEscape(value.to_string()))),
            };
        }
        directives.push(Directive {
            name: lname,
            value: value.to_string(),
            line: i + 1,
            span: at..lines[i].content_end,
        });
        i += 1;
    }

    let mut instructions: Vec<Instruction> = Vec::new();
    while i < lines.len() {
        let start = line_start(i);
        let content = &text[start..lines[i].content_end];
        let trimmed = content.trim_start_matches(is_blank);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let first_line = i;
        let kw_start = lines[i].content_end - trimmed.len();
        let mut logical = String::new();
        let mut segs = Vec::new();
        let (end, mut continuing) =
            strip_continuation(text, kw_start, lines[i].content_end, escape);
        segs.push(Seg {
            logical: 0,
            orig: kw_start,
            len: end - kw_start,
        });
        logical.push_str(&text[kw_start..end]);
        let mut last = i;
        let mut dangling = false;
        i += 1;
        while continuing {
            if i >= lines.len() {
                dangling = true;
                break;
            }
            let l = lines[i];
            let c = &text[l.start..l.content_end];
            let t = c.trim_start_matches(is_blank);
            i += 1;
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (end, cont) = strip_continuation(text, l.start, l.content_end, escape);
            segs.push(Seg {
                logical: logical.len(),
                orig: l.start,
                len: end - l.start,
            });
            logical.push_str(&text[l.start..end]);
            last = i - 1;
            continuing = cont;
        }

        let kw_len = logical.find(is_blank).unwrap_or(logical.len());
        let keyword = logical[..kw_len].to_ascii_uppercase();
        if !INSTRUCTIONS.contains(&keyword.as_str()) {
            return Err(loc.err(
                kw_start,
                ParseErrorKind::UnknownInstruction(logical[..kw_len].to_string()),
            ));
        }
        let args_offset = kw_len
            + (logical[kw_len..].len() - logical[kw_len..].trim_start_matches(is_blank).len());
        let mut ins = Instruction {
            keyword,
            line: first_line + 1,
            span: kw_start..lines[last].content_end,
            line_end: lines[last].end,
            logical,
            args_offset,
            heredocs: Vec::new(),
            dangling_continuation: dangling,
            segs,
        };

        if allows_heredoc(&ins) {
            for (name, strip_tabs, at) in heredoc_words(&ins, escape) {
                let body_start = lines.get(i).map_or(text.len(), |l| l.start);
                let mut closed = None;
                while i < lines.len() {
                    let l = lines[i];
                    let c = &text[l.start..l.content_end];
                    let c = if strip_tabs {
                        c.trim_start_matches('\t')
                    } else {
                        c
                    };
                    i += 1;
                    if c == name {
                        closed = Some(l);
                        break;
                    }
                }
                let Some(term) = closed else {
                    return Err(loc.err(ins.orig(at), ParseErrorKind::UnterminatedHeredoc(name)));
                };
                ins.heredocs.push(Heredoc {
                    name,
                    strip_tabs,
                    body: body_start..term.start,
                    terminator: term.start..term.content_end,
                });
                ins.span.end = term.content_end;
                ins.line_end = term.end;
            }
        }
        instructions.push(ins);
    }

    if instructions.is_empty() {
        return Err(loc.err(text.len(), ParseErrorKind::Empty));
    }
    analyse(
        text.to_string(),
        escape,
        directives,
        instructions,
        starts.clone(),
    )
}

fn allows_heredoc(ins: &Instruction) -> bool {
    let kw = ins.keyword.as_str();
    let inner = if kw == "ONBUILD" {
        ins.args()
            .split(is_blank)
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    } else {
        kw.to_string()
    };
    matches!(inner.as_str(), "RUN" | "COPY" | "ADD") && !ins.is_json_form()
}

/// Heredoc words of an instruction line: (name, strip_tabs, logical offset).
fn heredoc_words(ins: &Instruction, escape: char) -> Vec<(String, bool, usize)> {
    let (words, _) = split_words(&ins.logical, 0, true, escape);
    let mut out = Vec::new();
    for (w, r) in words {
        let digits = w.bytes().take_while(u8::is_ascii_digit).count();
        let Some(rest) = w[digits..].strip_prefix("<<") else {
            continue;
        };
        let (strip, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let name: String = rest.chars().filter(|&c| c != '"' && c != '\'').collect();
        if name.is_empty() {
            continue;
        }
        out.push((name, strip, r.start));
    }
    out
}

fn analyse(
    text: String,
    escape: char,
    directives: Vec<Directive>,
    instructions: Vec<Instruction>,
    line_starts: Vec<usize>,
) -> Result<Containerfile, ParseError> {
    let loc = Locator {
        text: &text,
        starts: &line_starts,
    };
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut raw_froms = Vec::new();
    let mut raw_inputs = Vec::new();

    for (idx, ins) in instructions.iter().enumerate() {
        let err_at = |logical: usize, kind| loc.err(ins.orig(logical), kind);
        match ins.keyword.as_str() {
            "FROM" => {
                let (words, _) = split_words(ins.args(), ins.args_offset, false, escape);
                let mut platform = None;
                let mut rest = words.as_slice();
                while let Some(((w, r), tail)) = rest.split_first() {
                    let Some(flag) = w.strip_prefix("--") else {
                        break;
                    };
                    let (fname, value) = match flag.split_once('=') {
                        Some((n, v)) => (n, Some(v)),
                        None => (flag, None),
                    };
                    if !fname.eq_ignore_ascii_case("platform") {
                        return Err(err_at(
                            r.start,
                            ParseErrorKind::UnknownFlag {
                                instruction: "FROM".into(),
                                flag: format!("--{fname}"),
                            },
                        ));
                    }
                    let value = value.ok_or_else(|| {
                        err_at(
                            r.start,
                            ParseErrorKind::MissingFlagValue("--platform".into()),
                        )
                    })?;
                    check_syntax(value, escape)
                        .map_err(|e| err_at(r.start + 2 + fname.len() + 1 + e.offset, e.kind))?;
                    platform = Some(value.to_string());
                    rest = tail;
                }
                let (image, image_r) = match rest {
                    [] => {
                        // Point where the image should have been: the end of the FROM.
                        let end = ins.logical.trim_end_matches(is_blank).len();
                        return Err(err_at(end, ParseErrorKind::FromWithoutImage));
                    }
                    [(img, r)] | [(img, r), _, _] => (img.clone(), r.clone()),
                    _ => {
                        return Err(err_at(
                            rest[0].1.start,
                            ParseErrorKind::FromArguments(rest.len()),
                        ))
                    }
                };
                let mut name = None;
                if let [_, (as_kw, as_r), (n, n_r)] = rest {
                    if !as_kw.eq_ignore_ascii_case("as") {
                        return Err(err_at(
                            as_r.start,
                            ParseErrorKind::ExpectedAs(as_kw.clone()),
                        ));
                    }
                    let lower = n.to_ascii_lowercase();
                    if !valid_stage_name(&lower) {
                        return Err(err_at(
                            n_r.start,
                            ParseErrorKind::InvalidStageName(n.clone()),
                        ));
                    }
                    if stages
                        .iter()
                        .any(|s| s.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
                    {
                        return Err(err_at(
                            n_r.start,
                            ParseErrorKind::DuplicateStageName(n.clone()),
                        ));
                    }
                    name = Some(n.clone());
                }
                check_syntax(&image, escape)
                    .map_err(|e| err_at(image_r.start + e.offset, e.kind))?;
                let (line, column) = loc.at(ins.orig(image_r.start));
                stages.push(Stage {
                    index: stages.len(),
                    name,
                    base: image.clone(),
                    base_resolved: None,
                    platform: platform.clone(),
                    platform_resolved: None,
                    base_stage: None,
                    scratch: false,
                    line,
                    column,
                    instruction: idx,
                    image_span: ins.orig_span(&image_r),
                    args: Vec::new(),
                });
                raw_froms.push(RawFrom {
                    image,
                    image_logical: image_r,
                    platform,
                });
            }
            "ARG" => {
                let (words, open_quote) = split_words(ins.args(), ins.args_offset, true, escape);
                if open_quote {
                    let at = words.last().map_or(ins.args_offset, |(_, r)| r.start);
                    return Err(err_at(at, ParseErrorKind::UnterminatedQuote));
                }
                if words.is_empty() {
                    return Err(err_at(ins.logical.len(), ParseErrorKind::ArgWithoutName));
                }
                for (w, r) in words {
                    let (name, default, value_r) = match w.split_once('=') {
                        Some((n, v)) => {
                            let vs = r.start + n.len() + 1;
                            (n.to_string(), Some(v.to_string()), Some(vs..r.end))
                        }
                        None => (w.clone(), None, None),
                    };
                    if name.is_empty() {
                        return Err(err_at(r.start, ParseErrorKind::ArgWithoutName));
                    }
                    if let (Some(d), Some(vr)) = (&default, &value_r) {
                        check_syntax(d, escape).map_err(|e| err_at(vr.start + e.offset, e.kind))?;
                    }
                    let decl = ArgDecl {
                        name,
                        default,
                        line: loc.at(ins.orig(r.start)).0,
                        value_span: value_r.and_then(|vr| ins.orig_span(&vr)),
                        instruction: idx,
                    };
                    match stages.last_mut() {
                        Some(s) => s.args.push(decl),
                        None => global_args.push(decl),
                    }
                }
            }
            kw => {
                if stages.is_empty() {
                    return Err(loc.err(
                        ins.span.start,
                        ParseErrorKind::InstructionBeforeFrom(kw.to_string()),
                    ));
                }
                if matches!(kw, "COPY" | "ADD" | "RUN") {
                    let stage = stages.len() - 1;
                    let (words, _) = split_words(ins.args(), ins.args_offset, false, escape);
                    for (w, r) in words.iter().take_while(|(w, _)| w.starts_with("--")) {
                        let found = if kw == "RUN" {
                            w.strip_prefix("--mount=").and_then(|m| {
                                m.split(',').find_map(|kv| {
                                    let (k, v) = kv.split_once('=')?;
                                    k.eq_ignore_ascii_case("from")
                                        .then(|| (v.to_string(), InputKind::MountFrom))
                                })
                            })
                        } else {
                            w.strip_prefix("--from=")
                                .map(|v| (v.to_string(), InputKind::CopyFrom))
                        };
                        if let Some((value, kind)) = found {
                            if value.is_empty() {
                                continue;
                            }
                            let (line, column) = loc.at(ins.orig(r.start));
                            raw_inputs.push(RawInput {
                                value,
                                kind,
                                stage,
                                line,
                                column,
                            });
                        }
                    }
                }
            }
        }
    }
    if stages.is_empty() {
        let at = instructions.last().map_or(0, |i| i.span.end);
        return Err(loc.err(at, ParseErrorKind::NoFrom));
    }
    let mut cf = Containerfile {
        text,
        escape,
        directives,
        instructions,
        global_args,
        stages,
        raw_froms,
        raw_inputs,
        line_starts,
    };
    let resolved = cf.resolve(&BuildArgs::new(), false)?;
    cf.stages = resolved;
    Ok(cf)
}

// ---------------------------------------------------------------------------------------
// Resolution

impl Containerfile {
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub fn escape(&self) -> char {
        self.escape
    }
    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }
    /// ARGs declared before the first FROM.
    pub fn global_args(&self) -> &[ArgDecl] {
        &self.global_args
    }
    /// Stages, resolved with the ARG defaults.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Stages resolved with build arguments overriding the ARG defaults. Fails on a
    /// `${V:?}` whose variable is unset.
    pub fn stages_with_args(&self, build_args: &BuildArgs) -> Result<Vec<Stage>, ParseError> {
        self.resolve(build_args, true)
    }

    fn locator(&self) -> Locator<'_> {
        Locator {
            text: &self.text,
            starts: &self.line_starts,
        }
    }

    fn global_scope(&self, build_args: &BuildArgs) -> BTreeMap<String, Option<String>> {
        let mut scope: BTreeMap<String, Option<String>> = BTreeMap::new();
        for decl in &self.global_args {
            let value = if let Some(b) = build_args.get(&decl.name) {
                Some(b.clone())
            } else if let Some(d) = &decl.default {
                let lookup = |n: &str| lookup_global(&scope, build_args, n);
                // A `${V:?}` in a default leaves the ARG unset rather than failing: it
                // matters only if a FROM uses it, and then that FROM says so.
                expand(d, self.escape, &lookup).ok()
            } else {
                None
            };
            scope.insert(decl.name.clone(), value);
        }
        scope
    }

    fn resolve(&self, build_args: &BuildArgs, strict: bool) -> Result<Vec<Stage>, ParseError> {
        let (stages, errors) = self.resolve_lenient(build_args);
        match errors.into_iter().flatten().next() {
            Some(e) if strict => Err(e),
            _ => Ok(stages),
        }
    }

    /// Stages resolved, with the error of each stage whose FROM could not be expanded
    /// (that stage's base is then unresolved).
    fn resolve_lenient(&self, build_args: &BuildArgs) -> (Vec<Stage>, Vec<Option<ParseError>>) {
        let scope = self.global_scope(build_args);
        let lookup = |n: &str| lookup_global(&scope, build_args, n);
        let mut out: Vec<Stage> = Vec::with_capacity(self.stages.len());
        let mut errors = Vec::with_capacity(self.stages.len());
        for (stage, raw) in self.stages.iter().zip(&self.raw_froms) {
            let mut s = stage.clone();
            let mut error = None;
            s.base_resolved = match expand(&raw.image, self.escape, &lookup) {
                Ok(v) if v.is_empty() => None,
                Ok(v) => Some(v),
                Err(e) => {
                    let ins = &self.instructions[stage.instruction];
                    let at = ins.orig(raw.image_logical.start + e.offset);
                    error = Some(self.locator().err(at, e.kind));
                    None
                }
            };
            s.platform_resolved = raw
                .platform
                .as_ref()
                .and_then(|p| expand(p, self.escape, &lookup).ok())
                .filter(|p| !p.is_empty());
            s.scratch = s
                .base_resolved
                .as_deref()
                .is_some_and(|b| b.eq_ignore_ascii_case("scratch"));
            s.base_stage = s.base_resolved.as_deref().and_then(|b| {
                out.iter()
                    .position(|e| e.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(b)))
            });
            out.push(s);
            errors.push(error);
        }
        (out, errors)
    }

    /// Index of the stage that holds the final image's external base (following stage
    /// references from the last stage).
    pub fn final_base_stage(&self) -> usize {
        base_holder(&self.stages, self.stages.len() - 1)
    }

    /// The final image's external base, following stage references; `None` for
    /// `scratch`. Fails when a FROM on that chain needs a variable that is unset
    /// (`${V:?}`) or the base expands to nothing.
    pub fn final_base(&self, build_args: &BuildArgs) -> Result<Option<ImageRefText>, ParseError> {
        // Only the stages on the final image's chain matter here: an unrelated stage
        // whose FROM needs a missing build argument does not change the final base.
        let (stages, errors) = self.resolve_lenient(build_args);
        let mut i = stages.len() - 1;
        loop {
            if let Some(e) = &errors[i] {
                return Err(e.clone());
            }
            match stages[i].base_stage {
                Some(b) => i = b,
                None => return external_base(&stages[i]),
            }
        }
    }

    /// Images the build reads that are not the final image's base: the bases of the
    /// other stages, and `COPY --from=` / `RUN --mount=from=` images. Sorted, one entry
    /// per (reference, kind, stage). Fails when any stage's FROM needs a variable that is
    /// unset (`${V:?}`) or the final base expands to nothing.
    pub fn build_time_inputs(&self, build_args: &BuildArgs) -> Result<Vec<BuildInput>, ParseError> {
        let stages = self.resolve(build_args, true)?;
        let last = stages.len() - 1;
        let mut chain = vec![last];
        let mut cur = last;
        while let Some(b) = stages[cur].base_stage {
            chain.push(b);
            cur = b;
        }
        let final_base = external_base(&stages[cur])?;
        let mut out: Vec<BuildInput> = Vec::new();
        let mut push = |reference: String, kind, stage, line| {
            if final_base.as_ref().is_some_and(|f| f.0 == reference) {
                return;
            }
            let item = BuildInput {
                reference: ImageRefText(reference),
                kind,
                stage,
                line,
            };
            if !out.contains(&item) {
                out.push(item);
            }
        };
        for s in &stages {
            if chain.contains(&s.index) || s.base_stage.is_some() || s.scratch {
                continue;
            }
            if let Some(b) = &s.base_resolved {
                push(b.clone(), InputKind::StageBase, s.index, s.line);
            }
        }
        let scope = self.global_scope(build_args);
        for raw in &self.raw_inputs {
            let stage = &stages[raw.stage];
            let lookup = |n: &str| {
                for a in stage.args.iter().rev() {
                    if a.name == n {
                        if let Some(b) = build_args.get(n) {
                            return Some(b.clone());
                        }
                        return match &a.default {
                            Some(d) => expand(d, self.escape, &|g: &str| {
                                lookup_global(&scope, build_args, g)
                            })
                            .ok(),
                            None => scope.get(n).cloned().flatten(),
                        };
                    }
                }
                None
            };
            let Ok(value) = expand(&raw.value, self.escape, &lookup) else {
                continue;
            };
            let is_stage = value.bytes().all(|c| c.is_ascii_digit())
                || stages.iter().any(|s| {
                    s.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&value))
                });
            if value.is_empty() || is_stage || value.eq_ignore_ascii_case("scratch") {
                continue;
            }
            push(value, raw.kind, raw.stage, raw.line);
        }
        out.sort_by(|a, b| (a.stage, a.line, &a.reference).cmp(&(b.stage, b.line, &b.reference)));
        Ok(out)
    }
}

fn lookup_global(
    scope: &BTreeMap<String, Option<String>>,
    build_args: &BuildArgs,
    name: &str,
) -> Option<String> {
    match scope.get(name) {
        Some(v) => v.clone(),
        None if PREDEFINED_ARGS.contains(&name) => build_args.get(name).cloned(),
        None => None,
    }
}

fn base_holder(stages: &[Stage], mut i: usize) -> usize {
    // Stage references always point backwards, so this ends.
    while let Some(b) = stages[i].base_stage {
        i = b;
    }
    i
}

fn external_base(s: &Stage) -> Result<Option<ImageRefText>, ParseError> {
    match &s.base_resolved {
        None => Err(ParseError {
            line: s.line,
            column: s.column,
            kind: ParseErrorKind::BlankBase(s.base.clone()),
        }),
        Some(_) if s.scratch => Ok(None),
        Some(b) => Ok(Some(ImageRefText(b.clone()))),
    }
}

// ---------------------------------------------------------------------------------------
// Edits

/// What an edit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditTarget {
    /// The image word of a stage's FROM.
    FromImage { stage: usize, line: usize },
    /// The default of a global ARG used as the FROM image.
    ArgDefault { name: String, line: usize },
    /// New lines right after a stage's FROM (the stage has no `RUN`).
    AfterFrom { stage: usize, line: usize },
    /// New lines right after a stage's last `RUN` (`line`: where that RUN starts).
    AfterRun { stage: usize, line: usize },
    /// A pinned package version in a `RUN` (`line`: where that RUN starts).
    Pin {
        stage: usize,
        line: usize,
        package: String,
    },
}

/// One replaced byte span: everything outside `span` is kept as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub replacement: String,
    pub target: EditTarget,
    /// What a reviewer should know about the edit.
    pub note: Option<String>,
}

impl Edit {
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.replacement.len());
        out.push_str(&text[..self.span.start]);
        out.push_str(&self.replacement);
        out.push_str(&text[self.span.end..]);
        out
    }
}

/// Applies non-overlapping edits made on the same text.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    for w in sorted.windows(2) {
        if w[0].span.end > w[1].span.start {
            return Err(EditError::Overlap);
        }
    }
    let mut out = text.to_string();
    for e in sorted.iter().rev() {
        out.replace_range(e.span.clone(), &e.replacement);
    }
    Ok(out)
}

fn check_reference(r: &str) -> Result<(), EditError> {
    let bad = |why| Err(EditError::InvalidReference(r.to_string(), why));
    if r.is_empty() {
        return bad("empty");
    }
    if r.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    if r.contains(['$', '"', '\'', '\\', '`', '#']) {
        return bad("contains characters a Containerfile would interpret");
    }
    if r.eq_ignore_ascii_case("scratch") {
        return bad("scratch is not an image");
    }
    Ok(())
}

impl Containerfile {
    /// The edit that moves the final image's external base to `new_ref` (see the module
    /// docs for which bytes it rewrites).
    pub fn final_base_edit(&self, new_ref: &str) -> Result<Edit, EditError> {
        check_reference(new_ref)?;
        let holder = self.final_base_stage();
        let s = &self.stages[holder];
        if s.scratch {
            return Err(EditError::Scratch { line: s.line });
        }
        if let Some(var) = sole_variable(&s.base) {
            if let Some(decl) = self.global_args.iter().rev().find(|a| a.name == var) {
                if let Some(default) = &decl.default {
                    let Some(span) = decl.value_span.clone() else {
                        return Err(EditError::SplitToken {
                            line: decl.line,
                            what: "ARG default",
                        });
                    };
                    let quoted = default.len() >= 2
                        && ((default.starts_with('"') && default.ends_with('"'))
                            || (default.starts_with('\'') && default.ends_with('\'')))
                        && !default[1..default.len() - 1].contains(['"', '\'']);
                    let span = if quoted {
                        span.start + 1..span.end - 1
                    } else {
                        span
                    };
                    let others: Vec<String> = self
                        .stages
                        .iter()
                        .filter(|o| o.index != holder && sole_variable(&o.base) == Some(var))
                        .map(|o| o.index.to_string())
                        .collect();
                    let mut note = format!(
                        "FROM uses ${{{var}}}: rewrote the default of ARG {var} (line {}) instead of the FROM line; a --build-arg {var}=… passed by the build still overrides it",
                        decl.line
                    );
                    if default.contains('$') {
                        note.push_str(&format!("; the old default {default} was built from other ARGs and is now a literal reference"));
                    }
                    if !others.is_empty() {
                        note.push_str(&format!(
                            "; stage(s) {} use ${var} too and move with it",
                            others.join(", ")
                        ));
                    }
                    return Ok(Edit {
                        span,
                        replacement: new_ref.to_string(),
                        target: EditTarget::ArgDefault {
                            name: var.to_string(),
                            line: decl.line,
                        },
                        note: Some(note),
                    });
                }
            }
        }
        let Some(span) = s.image_span.clone() else {
            return Err(EditError::SplitToken {
                line: s.line,
                what: "FROM image",
            });
        };
        let note = s.base.contains('$').then(|| {
            format!(
                "FROM {} (line {}) used ARG substitution; replaced by the literal reference",
                s.base, s.line
            )
        });
        Ok(Edit {
            span,
            replacement: new_ref.to_string(),
            target: EditTarget::FromImage {
                stage: holder,
                line: s.line,
            },
            note,
        })
    }

    /// The edit that inserts `RUN <step>` on its own line after the final stage's last
    /// `RUN` (or its FROM when it has none), wrapped in `USER root` / `USER <previous>`
    /// when a non-root user is in effect there (see the module docs). `step` is a
    /// one-line shell command without `RUN`.
    pub fn upgrade_step_edit(&self, step: &str) -> Result<Edit, EditError> {
        let step = step.trim();
        if step.is_empty() {
            return Err(EditError::InvalidStep(step.to_string(), "empty"));
        }
        if step.contains(['\n', '\r']) {
            return Err(EditError::InvalidStep(step.to_string(), "must be one line"));
        }
        let last = self.stages.len() - 1;
        let from = self.stages[last].instruction;
        let stage_end = self.instructions.len();
        let after = (from..stage_end)
            .rev()
            .find(|&k| self.instructions[k].keyword == "RUN")
            .unwrap_or(from);
        let ins = &self.instructions[after];
        if ins.dangling_continuation {
            return Err(EditError::DanglingContinuation { line: ins.line });
        }
        let tail = &self.text[ins.span.end..ins.line_end];
        let (prefix, eol, suffix) = if tail.ends_with('\n') {
            ("", tail, tail)
        } else if tail == "\r" {
            // The file ends in a lone `\r`: complete it to `\r\n`.
            ("\n", "\r\n", "")
        } else {
            // The instruction is the last line and has no line ending: keep the file
            // without a final newline, using the file's own line ending between lines.
            let eol = if self.text.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            (eol, eol, "")
        };
        let run = format!("RUN {step}");
        let (body, note) = match self.user_at(last, after) {
            Some((user, line)) if !is_root_user(&user) => (
                format!("USER root{eol}{run}{eol}USER {user}"),
                Some(format!(
                    "the final stage runs as USER {user} (line {line}): the upgrade step is wrapped in USER root and USER {user}"
                )),
            ),
            _ => (run, None),
        };
        let target = if after == from {
            EditTarget::AfterFrom {
                stage: last,
                line: ins.line,
            }
        } else {
            EditTarget::AfterRun {
                stage: last,
                line: ins.line,
            }
        };
        Ok(Edit {
            span: ins.line_end..ins.line_end,
            replacement: format!("{prefix}{body}{suffix}"),
            target,
            note,
        })
    }

    /// Edits that move a pinned package version in place, for the packages of `fixes`
    /// (name → version to move to) that a `RUN` of the final stage installs at a pinned
    /// version: `NAME=VERSION` for apt, apk and zypper, `NAME-VERSION` for dnf, yum and
    /// microdnf (`tool` says which). Keeping the old pin and adding an upgrade step after
    /// it would download the package twice in two layers; moving the pin does it once.
    /// Returns the package names it moved with their edits; a pin split by a line
    /// continuation is left alone (the upgrade step then covers it).
    pub fn pin_edits(
        &self,
        tool: &str,
        fixes: &std::collections::BTreeMap<String, String>,
    ) -> Vec<(String, Edit)> {
        let dash = matches!(tool, "dnf" | "yum" | "microdnf" | "tdnf");
        let last = self.stages.len() - 1;
        let from = self.stages[last].instruction;
        let mut out: Vec<(String, Edit)> = Vec::new();
        for ins in &self.instructions[from..] {
            if ins.keyword != "RUN" || ins.is_json_form() {
                continue;
            }
            let args = ins.args();
            let base = ins.args_offset;
            let mut pos = 0;
            for word in args.split_inclusive(char::is_whitespace) {
                let start = pos;
                pos += word.len();
                let token = word.trim_end();
                // Quotes around a whole word (`'curl=7.88.1-10'`) are kept as they are.
                let (lead, core) = match token.strip_prefix(['\'', '"']) {
                    Some(rest) => (1, rest.trim_end_matches(['\'', '"'])),
                    None => (0, token),
                };
                let found = fixes.iter().find_map(|(name, new)| {
                    let rest = if dash {
                        core.strip_prefix(name.as_str())?.strip_prefix('-')?
                    } else {
                        // apt also takes `NAME:ARCH=VERSION`.
                        let r = core.strip_prefix(name.as_str())?;
                        let r = match r.strip_prefix(':') {
                            Some(a) => &a[a.find('=')?..],
                            None => r,
                        };
                        r.strip_prefix('=')?
                    };
                    // A version starts with a digit (an epoch too): `curl-devel` is
                    // another package, not curl at version `devel`.
                    (rest.starts_with(|c: char| c.is_ascii_digit()) && rest != new.as_str())
                        .then(|| (name.clone(), new.clone(), rest.len()))
                });
                let Some((name, new, old_len)) = found else {
                    continue;
                };
                if out.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                let version_end = base + start + lead + core.len();
                let logical = version_end - old_len..version_end;
                let Some(span) = ins.orig_span(&logical) else {
                    continue;
                };
                out.push((
                    name.clone(),
                    Edit {
                        span,
                        replacement: new.clone(),
                        target: EditTarget::Pin {
                            stage: last,
                            line: ins.line,
                            package: name,
                        },
                        note: None,
                    },
                ));
            }
        }
        out
    }

    /// The `USER` in effect just after instruction `upto` of `stage` (as written, with
    /// its line), following the stage's base stages when it sets none before that.
    fn user_at(&self, stage: usize, upto: usize) -> Option<(String, usize)> {
        let mut stage = stage;
        let mut upto = upto;
        // Each step moves to an earlier stage, so this ends; the bound is a safeguard.
        for _ in 0..=self.stages.len() {
            let from = self.stages[stage].instruction;
            let found = self.instructions[from..=upto]
                .iter()
                .rev()
                .find(|i| i.keyword == "USER");
            if let Some(u) = found {
                return Some((u.args().trim().to_string(), u.line));
            }
            let base = self.stages[stage].base_stage?;
            if base >= stage {
                return None;
            }
            stage = base;
            upto = self
                .stages
                .get(base + 1)
                .map_or(self.instructions.len(), |s| s.instruction)
                .checked_sub(1)?;
        }
        None
    }
}

/// `root`, `0`, `root:GROUP` or `0:GROUP`: the upgrade can run as that user.
fn is_root_user(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("");
    name == "root" || name == "0"
}

/// Moves the final image's external base to `new_ref` (`repo:tag@sha256:…`), keeping every
/// other byte.
pub fn set_final_base(text: &str, new_ref: &str) -> Result<String, EditError> {
    let cf = parse(text)?;
    Ok(cf.final_base_edit(new_ref)?.apply(text))
}

/// Inserts `RUN <step>` after the final stage's last `RUN` (or its FROM), wrapped in
/// `USER root` / `USER <previous>` when needed, keeping every other byte.
pub fn insert_upgrade_step(text: &str, step: &str) -> Result<String, EditError> {
    let cf = parse(text)?;
    Ok(cf.upgrade_step_edit(step)?.apply(text))
}
