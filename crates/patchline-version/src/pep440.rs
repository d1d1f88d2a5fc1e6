//! Python package versions (PEP 440 / the PyPA "Version specifiers"
//! specification), parsed and ordered like `packaging.version.Version`.
//!
//! Accepted syntax is packaging's `VERSION_PATTERN`, matched case-insensitively
//! with surrounding whitespace allowed:
//!
//! ```text
//! v? (N!)? N(.N)* ([-_.]? (a|alpha|b|beta|c|rc|pre|preview) [-_.]? N?)?
//!    (-N | [-_.]? (post|rev|r) [-_.]? N?)? ([-_.]? dev [-_.]? N?)? (+local)?
//! local = [a-z0-9]+ ([-_.][a-z0-9]+)*
//! ```
//!
//! Only ASCII digits and letters count (packaging rejects `١٢٣` and `1.0+İ`);
//! "whitespace" is Python's `str.isspace()` set, Unicode included.
//!
//! Ordering is packaging's `_cmpkey`: epoch, release with trailing zeros dropped,
//! then pre-release (a dev-only release sorts before any pre-release), post-release,
//! dev-release (absent sorts last), and the local label (absent sorts first;
//! numeric segments beat alphanumeric ones; a longer label wins a tie).
//! Numbers have no size limit.
//!
//! # Legacy versions
//!
//! Strings that are not PEP 440 (`2013-01-21T20:33:09+0100`, `0.3m1`, `1.3.1-STAGING`)
//! still occur in old PyPI releases and so in OSV's PyPI data. osv.dev orders them
//! with `packaging_legacy` (the `LegacyVersion` that packaging dropped in 22.0):
//! every legacy version sorts before every PEP 440 version, and legacy versions
//! compare by setuptools' old `parse_version` key. `Scheme::Pep440.parse` does the
//! same, so PyPI ranges evaluate as osv.dev evaluates them; `Scheme::Pep440.validate`
//! and `pep440_normalize` accept PEP 440 only. Blank strings are rejected by all.

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::num::{cmp_dec, stripped_span, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    A,
    B,
    Rc,
}

#[derive(Clone, Copy, Debug)]
enum LocalSeg {
    Num(Span),
    Str(Span),
}

#[derive(Clone, Debug)]
pub(crate) struct Pep440 {
    /// The input, trimmed and ASCII-lowercased; every span points into it.
    s: Box<str>,
    original: Box<str>,
    /// Numbers are spans of digits without leading zeros (empty = 0).
    epoch: Span,
    release: Vec<Span>,
    /// Release length without trailing zero components.
    release_sig: usize,
    pre: Option<(PreKind, Span)>,
    post: Option<Span>,
    dev: Option<Span>,
    local: Option<Vec<LocalSeg>>,
}

impl Pep440 {
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The canonical form, `str(packaging.version.Version(v))`.
    pub fn normalized(&self) -> String {
        let s = &*self.s;
        let num = |sp: Span| {
            let d = sp.of(s);
            if d.is_empty() {
                "0"
            } else {
                d
            }
        };
        let mut out = String::with_capacity(s.len());
        if !self.epoch.is_empty() {
            let _ = write!(out, "{}!", num(self.epoch));
        }
        for (i, r) in self.release.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(num(*r));
        }
        if let Some((kind, n)) = self.pre {
            out.push_str(match kind {
                PreKind::A => "a",
                PreKind::B => "b",
                PreKind::Rc => "rc",
            });
            out.push_str(num(n));
        }
        if let Some(n) = self.post {
            let _ = write!(out, ".post{}", num(n));
        }
        if let Some(n) = self.dev {
            let _ = write!(out, ".dev{}", num(n));
        }
        if let Some(local) = &self.local {
            for (i, seg) in local.iter().enumerate() {
                out.push(if i == 0 { '+' } else { '.' });
                match *seg {
                    LocalSeg::Num(n) => out.push_str(num(n)),
                    LocalSeg::Str(t) => out.push_str(t.of(s)),
                }
            }
        }
        out
    }
}

/// Python's `str.isspace()`, which is what `\s` matches in packaging's regex.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat_sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the first of `words` found here (callers list longer words first
    /// where one is a prefix of another, as the regex alternation does).
    fn eat_word<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        let rest = &self.b[self.pos..];
        for &(w, v) in words {
            if rest.starts_with(w.as_bytes()) {
                self.pos += w.len();
                return Some(v);
            }
        }
        None
    }

    fn digits(&mut self) -> Option<(usize, usize)> {
        let n = crate::num::digit_run(&self.b[self.pos..]);
        if n == 0 {
            return None;
        }
        let start = self.pos;
        self.pos += n;
        Some((start, self.pos))
    }
}

pub(crate) fn parse(input: &str) -> Result<Pep440, String> {
    let trimmed = input.trim_matches(is_py_space);
    if let Some((i, c)) = trimmed.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(format!("non-ASCII character {c:?} at byte {i}"));
    }
    let s: Box<str> = trimmed.to_ascii_lowercase().into();
    let mut cur = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let span = |(a, b): (usize, usize)| stripped_span(&s, a, b);
    let zero = Span::new(0, 0);

    if cur.peek() == Some(b'v') {
        cur.pos += 1;
    }

    let mut epoch = zero;
    let save = cur.pos;
    if let Some(d) = cur.digits() {
        if cur.peek() == Some(b'!') {
            cur.pos += 1;
            epoch = span(d);
        } else {
            cur.pos = save;
        }
    }

    let mut release = Vec::new();
    let first = cur
        .digits()
        .ok_or_else(|| format!("expected a release number at byte {}", cur.pos))?;
    release.push(span(first));
    while cur.peek() == Some(b'.') && cur.b.get(cur.pos + 1).is_some_and(u8::is_ascii_digit) {
        cur.pos += 1;
        if let Some(d) = cur.digits() {
            release.push(span(d));
        }
    }
    let release_sig = release
        .iter()
        .rposition(|r| !r.is_empty())
        .map_or(0, |i| i + 1);

    // Pre-release.
    let save = cur.pos;
    cur.eat_sep();
    let pre_words = [
        ("alpha", PreKind::A),
        ("a", PreKind::A),
        ("beta", PreKind::B),
        ("b", PreKind::B),
        ("preview", PreKind::Rc),
        ("pre", PreKind::Rc),
        ("c", PreKind::Rc),
        ("rc", PreKind::Rc),
    ];
    let pre = match cur.eat_word(&pre_words) {
        Some(kind) => {
            cur.eat_sep();
            Some((kind, cur.digits().map_or(zero, span)))
        }
        None => {
            cur.pos = save;
            None
        }
    };

    // Post-release: `-N`, or a spelled-out marker.
    let save = cur.pos;
    let mut post = None;
    if cur.peek() == Some(b'-') {
        cur.pos += 1;
        match cur.digits() {
            Some(d) => post = Some(span(d)),
            None => cur.pos = save,
        }
    }
    if post.is_none() {
        cur.eat_sep();
        match cur.eat_word(&[("post", ()), ("rev", ()), ("r", ())]) {
            Some(()) => {
                cur.eat_sep();
                post = Some(cur.digits().map_or(zero, span));
            }
            None => cur.pos = save,
        }
    }

    // Development release.
    let save = cur.pos;
    cur.eat_sep();
    let dev = match cur.eat_word(&[("dev", ())]) {
        Some(()) => {
            cur.eat_sep();
            Some(cur.digits().map_or(zero, span))
        }
        None => {
            cur.pos = save;
            None
        }
    };

    // Local version label.
    let mut local = None;
    if cur.peek() == Some(b'+') {
        cur.pos += 1;
        let mut segs = Vec::new();
        loop {
            let start = cur.pos;
            let n = cur.b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if n == 0 {
                return Err(format!("empty local version segment at byte {start}"));
            }
            cur.pos += n;
            let seg = &cur.b[start..cur.pos];
            segs.push(if seg.iter().all(u8::is_ascii_digit) {
                LocalSeg::Num(stripped_span(&s, start, cur.pos))
            } else {
                LocalSeg::Str(Span::new(start, cur.pos))
            });
            if !cur.eat_sep() {
                break;
            }
        }
        local = Some(segs);
    }

    if cur.pos != cur.b.len() {
        return Err(format!(
            "unexpected {:?} at byte {}",
            &s[cur.pos..],
            cur.pos
        ));
    }
    Ok(Pep440 {
        original: input.into(),
        epoch,
        release,
        release_sig,
        pre,
        post,
        dev,
        local,
        s,
    })
}

/// packaging's pre-release key: a bare dev release sorts before every pre-release
/// of the same release, and a final (or post) release after all of them.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    NegInf,
    Pre(PreKind, Dec<'a>),
    Inf,
}

/// Stripped decimal digits, ordered as a number.
#[derive(PartialEq, Eq)]
struct Dec<'a>(&'a [u8]);

impl PartialOrd for Dec<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_dec(self.0, other.0)
    }
}

fn pre_key(v: &Pep440) -> PreKey<'_> {
    match v.pre {
        Some((k, n)) => PreKey::Pre(k, Dec(n.bytes(&v.s))),
        None if v.post.is_none() && v.dev.is_some() => PreKey::NegInf,
        None => PreKey::Inf,
    }
}

/// A PyPI version: PEP 440, or a legacy string ordered before all of them.
#[derive(Clone, Debug)]
pub(crate) enum PyVersion {
    Pep440(Pep440),
    Legacy(Legacy),
}

impl PyVersion {
    pub fn as_str(&self) -> &str {
        match self {
            PyVersion::Pep440(v) => v.as_str(),
            PyVersion::Legacy(v) => &v.original,
        }
    }

    pub fn normalized(&self) -> Option<String> {
        match self {
            PyVersion::Pep440(v) => Some(v.normalized()),
            PyVersion::Legacy(_) => None,
        }
    }
}

/// `packaging_legacy.version.parse`: PEP 440 when possible, else `LegacyVersion`.
pub(crate) fn parse_any(input: &str) -> Result<PyVersion, String> {
    match parse(input) {
        Ok(v) => Ok(PyVersion::Pep440(v)),
        Err(_) if input.trim_matches(is_py_space).is_empty() => {
            Err("version string is empty".into())
        }
        Err(_) => Ok(PyVersion::Legacy(legacy(input))),
    }
}

pub(crate) fn cmp_any(a: &PyVersion, b: &PyVersion) -> Ordering {
    match (a, b) {
        (PyVersion::Pep440(x), PyVersion::Pep440(y)) => cmp(x, y),
        // LegacyVersion's key has epoch -1, below every PEP 440 epoch.
        (PyVersion::Legacy(_), PyVersion::Pep440(_)) => Ordering::Less,
        (PyVersion::Pep440(_), PyVersion::Legacy(_)) => Ordering::Greater,
        (PyVersion::Legacy(x), PyVersion::Legacy(y)) => {
            let (px, py) = (&x.parts, &y.parts);
            for (p, q) in px.iter().zip(py) {
                let o = p.bytes(&x.key).cmp(q.bytes(&y.key));
                if o.is_ne() {
                    return o;
                }
            }
            px.len().cmp(&py.len())
        }
    }
}

/// setuptools' pre-PEP 440 version key, as packaging's `LegacyVersion` builds it.
#[derive(Clone, Debug)]
pub(crate) struct Legacy {
    original: Box<str>,
    /// The key's parts, concatenated; `parts` index into it.
    key: String,
    parts: Vec<Span>,
}

/// Python's `\d` (Unicode decimal digits), approximated by `char::is_numeric`
/// outside ASCII.
fn is_py_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

fn legacy(input: &str) -> Legacy {
    let lower = input.to_lowercase();
    let mut out = Legacy {
        original: input.into(),
        key: String::with_capacity(lower.len() * 2),
        parts: Vec::new(),
    };
    // `re.split(r"(\d+|[a-z]+|\.|-)")`: the matches and the text between them.
    let mut rest = lower.as_str();
    while let Some(c) = rest.chars().next() {
        let class = |c: char| -> u8 {
            if is_py_digit(c) {
                0
            } else if c.is_ascii_lowercase() {
                1
            } else if c == '.' || c == '-' {
                2
            } else {
                3
            }
        };
        let k = class(c);
        let len = if k == 2 {
            1
        } else {
            rest.find(|d: char| class(d) != k).unwrap_or(rest.len())
        };
        let (piece, tail) = rest.split_at(len);
        rest = tail;
        legacy_push(&mut out, piece);
    }
    legacy_push(&mut out, "*final");
    out
}

fn legacy_push(v: &mut Legacy, piece: &str) {
    let piece = match piece {
        "pre" | "preview" | "rc" => "c",
        "-" => "final-",
        "dev" => "@",
        p => p,
    };
    if piece.is_empty() || piece == "." {
        return;
    }
    let last_is = |v: &Legacy, t: &str| v.parts.last().is_some_and(|p| p.of(&v.key) == t);
    let pop = |v: &mut Legacy| {
        if let Some(p) = v.parts.pop() {
            v.key.truncate(p.start);
        }
    };
    let start = v.key.len();
    if piece == "*final" {
        // The terminator `_parse_version_parts` appends, already starred.
        v.key.push_str(piece);
    } else if piece.starts_with(|c: char| c.is_ascii_digit()) {
        // `zfill(8)`: pad numbers so that they compare as strings.
        for _ in piece.chars().count()..8 {
            v.key.push('0');
        }
        v.key.push_str(piece);
    } else {
        v.key.push('*');
        v.key.push_str(piece);
    }
    let text = v.key.split_off(start);
    if text.starts_with('*') {
        if text.as_str() < "*final" {
            while last_is(v, "*final-") {
                pop(v);
            }
        }
        while last_is(v, "00000000") {
            pop(v);
        }
    }
    let start = v.key.len();
    v.key.push_str(&text);
    v.parts.push(Span::new(start, v.key.len()));
}

pub(crate) fn cmp(a: &Pep440, b: &Pep440) -> Ordering {
    let (sa, sb) = (&*a.s, &*b.s);
    let dec = |x: Span, y: Span| cmp_dec(x.bytes(sa), y.bytes(sb));
    let zero = Span::new(0, 0);

    dec(a.epoch, b.epoch)
        .then_with(|| {
            let n = a.release_sig.max(b.release_sig);
            (0..n)
                .map(|i| {
                    dec(
                        a.release.get(i).copied().unwrap_or(zero),
                        b.release.get(i).copied().unwrap_or(zero),
                    )
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| pre_key(a).cmp(&pre_key(b)))
        .then_with(|| match (a.post, b.post) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => dec(x, y),
        })
        .then_with(|| match (a.dev, b.dev) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => dec(x, y),
        })
        .then_with(|| match (&a.local, &b.local) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => {
                for (p, q) in x.iter().zip(y) {
                    let o = match (*p, *q) {
                        (LocalSeg::Num(m), LocalSeg::Num(n)) => dec(m, n),
                        (LocalSeg::Num(_), LocalSeg::Str(_)) => Ordering::Greater,
                        (LocalSeg::Str(_), LocalSeg::Num(_)) => Ordering::Less,
                        (LocalSeg::Str(m), LocalSeg::Str(n)) => m.bytes(sa).cmp(n.bytes(sb)),
                    };
                    if o.is_ne() {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    fn norm(v: &str) -> String {
        parse(v).unwrap().normalized()
    }

    #[test]
    fn local_versions() {
        assert_eq!(c("1.0+local", "1.0"), Greater);
        assert_eq!(c("1.0+abc", "1.0+1"), Less);
        assert_eq!(c("1.0+1", "1.0+1.0"), Less);
        assert_eq!(c("1.0+ubuntu-1", "1.0+ubuntu.1"), Equal);
        assert_eq!(c("1.0+ABC", "1.0+abc"), Equal);
        assert_eq!(c("1.0+001", "1.0+1"), Equal);
        assert_eq!(c("1.0.post1", "1.0+zzz"), Greater);
        assert_eq!(norm("1.0+Ubuntu-01_X"), "1.0+ubuntu.1.x");
    }

    #[test]
    fn pre_post_dev() {
        let ordered = [
            "1.0.dev0",
            "1.0a0.dev1",
            "1.0a0",
            "1.0a1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0.post0.dev1",
            "1.0.post0",
            "1.0.post1",
            "1.1.dev1",
            "1!0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(c("1.0", "1.0.0.0"), Equal);
        assert_eq!(c("1.0c1", "1.0rc1"), Equal);
        assert_eq!(c("1.0-1", "1.0.post1"), Equal);
    }

    #[test]
    fn normalization() {
        assert_eq!(norm("  V1.0-ALPHA-1.Rev_2-DEV3\n"), "1.0a1.post2.dev3");
        assert_eq!(norm("0!01.02"), "1.2");
        assert_eq!(norm("1!1.0preview"), "1!1.0rc0");
        assert_eq!(norm("1.0a."), "1.0a0");
    }

    #[test]
    fn legacy_versions_sort_first() {
        let ca = |a: &str, b: &str| cmp_any(&parse_any(a).unwrap(), &parse_any(b).unwrap());
        assert!(matches!(
            parse_any("french toast"),
            Ok(PyVersion::Legacy(_))
        ));
        assert!(parse_any(" \t").is_err());
        assert_eq!(ca("2013-01-21T20:33:09+0100", "0.0.1.dev0"), Less);
        assert_eq!(
            ca("2013-01-21T20:33:09+0100", "2013-01-23T17:11:52+0100"),
            Less
        );
        assert_eq!(ca("0.3m1", "0.3m2"), Less);
        assert_eq!(ca("1.0-final", "1.0-final"), Equal);
        assert_eq!(ca("4.11-final", "5.0-final"), Less);
        // "-" before a pre-release tag is dropped, trailing zeros are dropped.
        assert_eq!(ca("1.0.0-pre1x", "1.0-c1x"), Equal);
        assert_eq!(ca("0.1-bulbasaur", "0.1-charmander"), Less);
    }

    #[test]
    fn invalid() {
        for bad in [
            "", "v", "1.0+", "1.0+a+", "1..0", "1.0.", ".1", "1 .0", "1.0+İ", "١", "1.0-", "a1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
