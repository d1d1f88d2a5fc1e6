//! Composer (Packagist) versions: ordered the way OSV orders its Packagist ranges,
//! validated the way Composer's `VersionParser::isValid` accepts a version.
//!
//! # Order
//!
//! OSV's Packagist comparators (osv.dev's `PackagistVersion`, osv-scalibr's
//! `semantic` package) are re-implementations of PHP's `version_compare()`, which
//! also produced osv-scalibr's generated Packagist fixture from every version in
//! OSV's Packagist data. They compare the version *as written*: Composer's own
//! normal form (four numbers, `1.0` = `1.0.0.0`) plays no part, so `1.0 < 1.0.0`.
//!
//! * One leading `v` or `V` is dropped (OSV does this; PHP itself does not).
//! * The rest splits into tokens: runs of ASCII digits and runs of ASCII letters.
//!   Every other byte only separates (`-`, `_`, `+` and `.` in practice), a run of
//!   separators counts once, and a digit/letter boundary separates too, so
//!   `1.0.0-RC1`, `1.0.0RC1` and `1.0.0.RC.1` are the same version.
//! * A letter token ranks by how it *starts*, case-sensitively, as PHP's table
//!   of "special forms" does: anything else < `dev` < `a`/`alpha` < `b`/`beta` <
//!   `RC`/`rc` < a number < `p`/`pl`/`patch`. So `BETA`, `Alpha` and `stable`
//!   rank with "anything else", and `preview` and `post` as a patch level.
//! * Numbers compare by value, of any size.
//! * Versions compare token by token. When one runs out, the other's next token
//!   decides: a number or a patch level makes it the greater, anything else the
//!   smaller (`1.0 < 1.0.1`, `1.0-beta < 1.0 < 1.0-p1`).
//! * A leading separator (or nothing at all after the `v`) reads as one token
//!   of the "anything else" rank (`-1 < 1`); trailing separators are ignored.
//!
//! PHP, osv.dev and osv-scalibr disagree on inputs OSV's data does not contain
//! (no version there has a byte outside `[0-9A-Za-z.+_-]`). The choices here:
//!
//! * Token ranks match by prefix, as in PHP and osv-scalibr (osv.dev matches
//!   whole tokens, which the generated fixture contradicts: `1.0.0 < 1.0.0-patch1`).
//! * Unknown words rank below `dev`, as in PHP and osv.dev (osv-scalibr ranks
//!   them with `dev`).
//! * Bytes outside `[0-9A-Za-z.+_-]` separate and runs of separators collapse, as
//!   in PHP (the OSV re-implementations keep such bytes inside a token and read
//!   `1..0` as having an empty token).
//! * `#` is such a byte. PHP's table ranks `#` exactly like a number, and a token
//!   that keeps it (osv-scalibr's, or PHP's for a version *starting* with `#`) is
//!   then equal to every number: osv-scalibr's fixture has `1.2.3.#` equal to both
//!   `1.2.3` and `1.2.3.1`, which no total order allows. Here `1.2.3.# = 1.2.3 <
//!   1.2.3.1`, so `Ord` stays lawful.
//! * Trailing separators are ignored, as osv-scalibr's `1.2.3.# = 1.2.3` needs
//!   (PHP's `php_version_compare` reads a trailing `.` in a way that is not even
//!   antisymmetric: `1.` and `1.foo` each compare below the other).
//!
//! # Validity
//!
//! `Scheme::parse` accepts any non-empty string, as `version_compare()` does.
//! `Scheme::validate` is Composer's `VersionParser::normalize` succeeding: surrounding
//! whitespace, an `as` alias and an `@stability` flag are allowed and dropped;
//! `dev-*` (any branch name), `master`, `trunk` and `default` are branches;
//! otherwise, after `+build` metadata is dropped, either a classical version
//! (`v`, one to five digits, up to three more `.number` parts) or a date version
//! (`YYYY` then one to six two-digit and at most two one-to-three-digit groups,
//! separated by nothing, `.`, `:` or `-`), each followed by an optional stability
//! suffix (an optional `[._-]`, then `stable`, `beta`/`b`, `RC`, `alpha`/`a`,
//! `patch`/`pl`/`p` in any case, then numbers `[.-]?\d+`) and an optional
//! `[.-]?dev`; or a
//! numeric branch (`1.x-dev`, `2.0.*-dev`). `1.0.0-SNAPSHOT`, `1.0.0.0.0` and
//! `feature-foo` are not versions.

use std::cmp::Ordering;

use crate::num::{cmp_dec, digit_run, stripped_span, Span};

/// How a token ranks. The derived order is the order of the ranks; `End` stands
/// for "this version has no more tokens".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Other,
    Dev,
    Alpha,
    Beta,
    Rc,
    End,
    Number,
    Patch,
}

#[derive(Clone, Copy, Debug)]
enum Token {
    /// Digits without leading zeros (empty = 0), into `Composer::s`.
    Num(Span),
    Word(Rank),
}

#[derive(Clone, Debug)]
pub(crate) struct Composer {
    s: Box<str>,
    tokens: Vec<Token>,
}

impl Composer {
    pub fn as_str(&self) -> &str {
        &self.s
    }
}

/// The rank of a letter token: the first entry of PHP's special-form table it
/// starts with (`dev`, `alpha`, `a`, `beta`, `b`, `RC`, `rc`, `#`, `pl`, `p`).
fn word_rank(w: &[u8]) -> Rank {
    if w.starts_with(b"dev") {
        Rank::Dev
    } else if w.starts_with(b"a") {
        Rank::Alpha
    } else if w.starts_with(b"b") {
        Rank::Beta
    } else if w.starts_with(b"RC") || w.starts_with(b"rc") {
        Rank::Rc
    } else if w.starts_with(b"p") {
        Rank::Patch
    } else {
        Rank::Other
    }
}

pub(crate) fn parse(input: &str) -> Result<Composer, String> {
    if input.is_empty() {
        return Err("version string is empty".into());
    }
    let b = input.as_bytes();
    let start = usize::from(matches!(b[0], b'v' | b'V'));
    let mut tokens = Vec::new();
    if !b.get(start).is_some_and(u8::is_ascii_alphanumeric) {
        tokens.push(Token::Word(Rank::Other));
    }
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let n = digit_run(&b[i..]);
            tokens.push(Token::Num(stripped_span(input, i, i + n)));
            i += n;
        } else if c.is_ascii_alphabetic() {
            let n = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            tokens.push(Token::Word(word_rank(&b[i..i + n])));
            i += n;
        } else {
            i += 1;
        }
    }
    Ok(Composer {
        s: input.into(),
        tokens,
    })
}

fn key(v: &Composer, i: usize) -> (Rank, Span) {
    match v.tokens.get(i) {
        Some(Token::Num(sp)) => (Rank::Number, *sp),
        Some(Token::Word(r)) => (*r, Span::default()),
        None => (Rank::End, Span::default()),
    }
}

pub(crate) fn cmp(a: &Composer, b: &Composer) -> Ordering {
    for i in 0..a.tokens.len().max(b.tokens.len()) {
        let ((ra, sa), (rb, sb)) = (key(a, i), key(b, i));
        let o = ra.cmp(&rb).then_with(|| {
            if ra == Rank::Number {
                cmp_dec(sa.bytes(&a.s), sb.bytes(&b.s))
            } else {
                Ordering::Equal
            }
        });
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

// --- Composer's VersionParser::normalize ----------------------------------------
//
// Composer matches with PCRE: ASCII only, `\s` is space and `\t\n\v\f\r`, `$`
// matches at the end or before a final newline, `i` folds ASCII case.

fn is_pcre_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// PHP's `trim()`: space, `\t\n\r\0\x0B`.
fn php_trim(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{b}'))
}

/// PCRE's `$`.
fn at_end(b: &[u8], pos: usize) -> bool {
    pos == b.len() || (pos + 1 == b.len() && b[pos] == b'\n')
}

fn starts_with_ci(b: &[u8], pos: usize, word: &str) -> bool {
    b.get(pos..pos + word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// `^([^,\s]++) ++as ++([^,\s]++)$`: the alias source.
fn alias_source(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let word = |from: usize| {
        from + b[from..]
            .iter()
            .take_while(|&&c| c != b',' && !is_pcre_space(c))
            .count()
    };
    let spaces = |from: usize| from + b[from..].iter().take_while(|&&c| c == b' ').count();
    let x = word(0);
    let sp = spaces(x);
    if x == 0 || sp == x || !b[sp..].starts_with(b"as") {
        return None;
    }
    let y0 = spaces(sp + 2);
    let y = word(y0);
    (y0 > sp + 2 && y > y0 && at_end(b, y)).then(|| &s[..x])
}

/// `@(?:stable|RC|beta|alpha|dev)$` (case-insensitive) removed.
fn without_stability_flag(s: &str) -> &str {
    for flag in ["stable", "RC", "beta", "alpha", "dev"] {
        let n = flag.len() + 1;
        if s.len() >= n {
            let cut = s.len() - n;
            let b = s.as_bytes();
            if b[cut] == b'@' && starts_with_ci(b, cut + 1, flag) {
                return &s[..cut];
            }
        }
    }
    s
}

/// `^([^,\s+]++)\+[^\s]++$`: the version without its build metadata.
fn without_build_metadata(s: &str) -> &str {
    let b = s.as_bytes();
    let x = b
        .iter()
        .take_while(|&&c| c != b',' && c != b'+' && !is_pcre_space(c))
        .count();
    if x == 0 || b.get(x) != Some(&b'+') {
        return s;
    }
    let y = x
        + 1
        + b[x + 1..]
            .iter()
            .take_while(|&&c| !is_pcre_space(c))
            .count();
    if y > x + 1 && at_end(b, y) {
        &s[..x]
    } else {
        s
    }
}

/// What the modifier pattern captured.
struct Modifier<'a> {
    stability: Option<&'a str>,
    numbers: &'a str,
    dev: bool,
}

/// `([.-]?dev)?$` at `pos`: `Some(dev matched)` if the pattern reaches the end.
fn dev_then_end(b: &[u8], pos: usize) -> Option<bool> {
    let sep = b.get(pos).is_some_and(|&c| c == b'.' || c == b'-');
    if sep && starts_with_ci(b, pos + 1, "dev") && at_end(b, pos + 4) {
        return Some(true);
    }
    if starts_with_ci(b, pos, "dev") && at_end(b, pos + 3) {
        return Some(true);
    }
    at_end(b, pos).then_some(false)
}

/// Composer's modifier pattern, anchored at `pos` and at the end:
/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$`,
/// with PCRE's order of trying alternatives.
fn modifier(s: &str, pos: usize) -> Option<Modifier<'_>> {
    const STABILITIES: [&str; 9] = [
        "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
    ];
    let b = s.as_bytes();
    let sep = b.get(pos).is_some_and(|c| b"._-".contains(c));
    for p in [pos + 1, pos] {
        if p == pos + 1 && !sep {
            continue;
        }
        for w in STABILITIES {
            if !starts_with_ci(b, p, w) {
                continue;
            }
            let n0 = p + w.len();
            let mut n = n0;
            loop {
                let r = n + usize::from(b.get(n).is_some_and(|&c| c == b'.' || c == b'-'));
                let d = b.get(r..).map_or(0, digit_run);
                if d == 0 {
                    break;
                }
                n = r + d;
            }
            if let Some(dev) = dev_then_end(b, n) {
                return Some(Modifier {
                    stability: Some(&s[p..n0]),
                    numbers: &s[n0..n],
                    dev,
                });
            }
        }
        if let Some(dev) = dev_then_end(b, p) {
            return Some(Modifier {
                stability: None,
                numbers: "",
                dev,
            });
        }
    }
    None
}

/// The version part followed by what the modifier captured, as `normalize` joins
/// them.
fn with_modifier(mut version: String, m: Modifier<'_>) -> String {
    if let Some(st) = m.stability {
        if st == "stable" {
            return version;
        }
        let lower = st.to_ascii_lowercase();
        let expanded = match lower.as_str() {
            "a" => "alpha",
            "b" => "beta",
            "p" | "pl" => "patch",
            "rc" => "RC",
            other => other,
        };
        version.push('-');
        version.push_str(expanded);
        version.push_str(m.numbers.trim_start_matches(['.', '-']));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

/// `^v?(\d{1,5}+)(\.\d++)?(\.\d++)?(\.\d++)?` + modifier, case-insensitive.
fn classical(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    let major = digit_run(&b[start..]);
    if !(1..=5).contains(&major) {
        return None;
    }
    let mut version = s[start..start + major].to_string();
    let mut pos = start + major;
    for _ in 0..3 {
        let d = match b.get(pos) {
            Some(b'.') => digit_run(&b[pos + 1..]),
            _ => 0,
        };
        if d == 0 {
            break;
        }
        version.push_str(&s[pos..pos + 1 + d]);
        pos += 1 + d;
    }
    let missing = 3 - version.bytes().filter(|&c| c == b'.').count();
    for _ in 0..missing {
        version.push_str(".0");
    }
    modifier(s, pos).map(|m| with_modifier(version, m))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + modifier.
fn date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'v' | b'V')));
    if digit_run(&b[start..]) < 4 {
        return None;
    }
    let digits_at = |p: usize, n: usize| {
        b.get(p..p + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let is_sep = |p: usize| b.get(p).is_some_and(|c| b".:-".contains(c));
    // Every position where the date part can end, as a set (the pattern is
    // ambiguous: `201001021` splits several ways).
    let step = |from: &[usize], lens: &[usize]| {
        let mut out = Vec::new();
        for &p in from {
            for skip in [0, 1] {
                if skip == 1 && !is_sep(p) {
                    continue;
                }
                for &n in lens {
                    if digits_at(p + skip, n) && !out.contains(&(p + skip + n)) {
                        out.push(p + skip + n);
                    }
                }
            }
        }
        out
    };
    let mut cur = vec![start + 4];
    let mut ends = Vec::new();
    for _ in 0..6 {
        cur = step(&cur, &[2]);
        ends.extend(cur.iter().copied());
    }
    let mut cur = ends.clone();
    for _ in 0..2 {
        cur = step(&cur, &[1, 2, 3]);
        ends.extend(cur.iter().copied());
    }
    // At most one end can be followed by a modifier: the date part ends with a
    // digit, and a modifier never starts with one or with `[.:-]` and a digit.
    let end = ends.into_iter().find(|&e| modifier(s, e).is_some())?;
    let version: String = s[start..end]
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '.' })
        .collect();
    modifier(s, end).map(|m| with_modifier(version, m))
}

/// `(.*?)[.-]?dev$` (case-insensitive) whose name is a numeric branch
/// (`normalizeBranch`): `1.x-dev` → `1.9999999.9999999.9999999-dev`.
fn numeric_branch(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let t = if b.last() == Some(&b'\n') {
        b.len() - 1
    } else {
        b.len()
    };
    let d = t.checked_sub(3)?;
    if !starts_with_ci(b, d, "dev") {
        return None;
    }
    let q = if d > 0 && matches!(b[d - 1], b'.' | b'-') {
        d - 1
    } else {
        d
    };
    // `.` does not match a newline: the match starts after the last one.
    let p = b[..q]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let name = php_trim(&s[p..q]);
    let nb = name.as_bytes();
    // `^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$`
    let mut pos = usize::from(matches!(nb.first(), Some(b'v' | b'V')));
    let n = digit_run(&nb[pos..]);
    if n == 0 {
        return None;
    }
    let mut version = name[pos..pos + n].to_string();
    pos += n;
    let mut parts = 1;
    while parts < 4 && nb.get(pos) == Some(&b'.') {
        let n = digit_run(&nb[pos + 1..]);
        if n > 0 {
            version.push_str(&name[pos..pos + 1 + n]);
            pos += 1 + n;
        } else if nb.get(pos + 1).is_some_and(|c| b"xX*".contains(c)) {
            version.push_str(".9999999");
            pos += 2;
        } else {
            break;
        }
        parts += 1;
    }
    if !at_end(nb, pos) {
        return None;
    }
    for _ in parts..4 {
        version.push_str(".9999999");
    }
    version.push_str("-dev");
    Some(version)
}

/// `VersionParser::normalize`: Composer's normal form of a version, or why
/// Composer rejects it.
pub(crate) fn normalize(input: &str) -> Result<String, String> {
    let mut v = php_trim(input);
    if let Some(source) = alias_source(v) {
        v = source;
    }
    v = without_stability_flag(v);
    if matches!(v, "master" | "trunk" | "default") {
        return Ok(format!("dev-{v}"));
    }
    if starts_with_ci(v.as_bytes(), 0, "dev-") {
        return Ok(format!("dev-{}", &v[4..]));
    }
    let v = without_build_metadata(v);
    classical(v)
        .or_else(|| date(v))
        .or_else(|| numeric_branch(v))
        .ok_or_else(|| "not a Composer version (VersionParser::normalize rejects it)".into())
}

/// Composer's `VersionParser::isValid`.
pub(crate) fn validate(input: &str) -> Result<(), String> {
    normalize(input).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn order_of_special_forms() {
        let ordered = [
            "1.0-foo",
            "1.0-dev",
            "1.0-alpha1",
            "1.0-b1",
            "1.0-RC1",
            "1.0",
            "1.0.0",
            "1.0.1",
            "1.0pl1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
            assert_eq!(c(w[1], w[0]), Greater, "{} > {}", w[1], w[0]);
        }
        assert_eq!(c("1.0-beta2", "1.0.b.2"), Equal);
        assert_eq!(c("1.0-alpha", "1.0-a"), Equal);
        assert_eq!(c("1.0-rc1", "1.0RC1"), Equal);
        assert_eq!(c("1.0-patch1", "1.0-p1"), Equal);
        assert_eq!(
            c("1.0-preview", "1.0-patch"),
            Equal,
            "ranked by the first letter"
        );
    }

    #[test]
    fn special_forms_are_case_sensitive_prefixes() {
        assert_eq!(c("1.0-BETA", "1.0-dev"), Less, "BETA is not b");
        assert_eq!(c("1.0-Rc1", "1.0-foo1"), Equal);
        assert_eq!(c("1.0-stable", "1.0-foo"), Equal);
        assert_eq!(c("1.0-develop", "1.0-dev"), Equal);
        assert_eq!(c("1.0-de", "1.0-dev"), Less);
        assert_eq!(c("1.0.post1", "1.0.p1"), Equal);
    }

    #[test]
    fn v_prefix_separators_and_numbers() {
        assert_eq!(c("v1.0.0", "1.0.0"), Equal);
        assert_eq!(c("V1.0.0", "v1.0.0"), Equal);
        assert_eq!(c("vv1", "1"), Less, "only one v is dropped");
        assert_eq!(c("1.0_1", "1.0+1"), Equal);
        assert_eq!(c("1..0", "1.0"), Equal);
        assert_eq!(c("1.0.", "1.0"), Equal);
        assert_eq!(c("1.2.3.#", "1.2.3"), Equal);
        assert_eq!(c("1.2.3.#", "1.2.3.1"), Less);
        assert_eq!(c("-1", "1"), Less);
        assert_eq!(c("-1", ".1"), Equal);
        assert_eq!(c("v", "dev"), Less);
        assert_eq!(c("1.010", "1.10"), Equal);
        assert_eq!(c("dev-foo", "0"), Less);
        assert_eq!(
            c(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Less
        );
        assert!(parse("").is_err());
        assert!(parse(" ").is_ok());
    }

    fn norm(v: &str) -> String {
        normalize(v).unwrap_or_else(|e| panic!("{v:?}: {e}"))
    }

    #[test]
    fn normal_forms() {
        for (v, want) in [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("v1.0", "1.0.0.0"),
            ("0", "0.0.0.0"),
            ("99999", "99999.0.0.0"),
            ("0700", "0700.0.0.0"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("2.1-BETA3", "2.1.0.0-beta3"),
            ("1.0-stable", "1.0.0.0"),
            ("1.0-stable-dev", "1.0.0.0"),
            ("1.0-STABLE", "1.0.0.0-stable"),
            ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
            ("1.0.0+foo@dev", "1.0.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("v20100102", "20100102"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("20100102203040-10", "20100102203040.10"),
            ("201903.0", "201903.0"),
            ("123456.0", "123456.0"),
            ("20230131.0.0", "20230131.0.0"),
            ("100000", "100000"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("v2.0.*-dev", "2.0.9999999.9999999-dev"),
            ("201903.x-dev", "201903.9999999.9999999.9999999-dev"),
            ("master", "dev-master"),
            ("DEV-Feature/x", "dev-Feature/x"),
            ("dev-master as 1.0.0", "dev-master"),
            ("1.0.0+foo as 2.0", "1.0.0.0"),
            (" 1.0.0 ", "1.0.0.0"),
        ] {
            assert_eq!(norm(v), want, "{v:?}");
        }
    }

    #[test]
    fn composer_rejects() {
        for bad in [
            "",
            "   ",
            "a",
            "1.0.0-meh",
            "1.0.0.0.0",
            "feature-foo",
            "1.0.0+foo bar",
            "1.0.1-SNAPSHOT",
            "1.0.0<1.0.5-dev",
            "foo bar-dev",
            "1.0 .2",
            " as 1.2",
            "~1",
            "1.*",
            "12345.6.7.8.9",
            "20100102.0.3.4",
            "100000.0.0.0",
            "2023013.0.0",
            "20230131000.0.0",
            "1.2.3.#",
            "v",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} -> {:?}", normalize(bad));
        }
    }
}
