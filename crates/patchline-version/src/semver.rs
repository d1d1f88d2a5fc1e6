//! SemVer 2.0.0 precedence, as npm (node-semver, strict mode) and crates.io apply it.
//!
//! Syntax is node-semver's strict `FULL` pattern: surrounding whitespace is trimmed
//! (JavaScript `trim()`), one optional leading `v`, then
//! `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` where numbers have no leading zeros,
//! pre-release identifiers are non-empty `[0-9A-Za-z-]+` with no leading zero on
//! numeric ones, and build identifiers are non-empty `[0-9A-Za-z-]+`. Loose-mode
//! spellings (`=1.2.3`, `v 1.2.3`, `1.2.3beta`) are rejected, as is anything longer
//! than node-semver's 256-character limit. Numbers are not limited to 2^53 (node)
//! or 2^64 (Rust `semver`): they compare exactly at any size.
//!
//! Precedence ignores build metadata; a release sorts after its pre-releases;
//! numeric identifiers compare as numbers and sort before alphanumeric ones, which
//! compare by ASCII; a longer identifier list wins a tie.

use std::cmp::Ordering;

use crate::num::{cmp_dec, stripped_span, Span};

/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Ident {
    /// Digits without leading zeros (NuGet and Go spans too).
    Num(Span),
    Alnum(Span),
}

#[derive(Clone, Debug)]
pub(crate) struct SemVer {
    pub(crate) s: Box<str>,
    /// Major, minor, patch (and NuGet's revision): stripped digit spans, empty = 0.
    pub(crate) nums: [Span; 4],
    pub(crate) pre: Vec<Ident>,
    pub(crate) build: Option<Span>,
}

impl SemVer {
    pub fn as_str(&self) -> &str {
        &self.s
    }

    pub fn build(&self) -> Option<&str> {
        self.build.map(|b| b.of(&self.s))
    }
}

/// JavaScript's `String.prototype.trim()` set.
fn is_js_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

pub(crate) fn parse(input: &str) -> Result<SemVer, String> {
    if input.len() > MAX_LENGTH {
        return Err(format!("longer than {MAX_LENGTH} bytes"));
    }
    let trimmed = input.trim_matches(is_js_space);
    let s: Box<str> = trimmed.into();
    let b = s.as_bytes();
    let mut pos = usize::from(b.first() == Some(&b'v'));
    let mut nums = [Span::default(); 4];
    for (k, slot) in nums.iter_mut().take(3).enumerate() {
        if k > 0 {
            if b.get(pos) != Some(&b'.') {
                return Err(format!("expected '.' at byte {pos}"));
            }
            pos += 1;
        }
        let end = pos + crate::num::digit_run(&b[pos..]);
        *slot = numeric_ident(&s, pos, end)?;
        pos = end;
    }
    let (pre, build, end) = parse_tail(&s, pos)?;
    if end != b.len() {
        return Err(format!("unexpected {:?} at byte {end}", &s[end..]));
    }
    Ok(SemVer {
        nums,
        pre,
        build,
        s,
    })
}

/// A numeric identifier: at least one digit, no leading zero unless it is `0`.
pub(crate) fn numeric_ident(s: &str, start: usize, end: usize) -> Result<Span, String> {
    let d = &s.as_bytes()[start..end];
    if d.is_empty() {
        return Err(format!("expected a number at byte {start}"));
    }
    if d.len() > 1 && d[0] == b'0' {
        return Err(format!("number with a leading zero at byte {start}"));
    }
    Ok(stripped_span(s, start, end))
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Parses `[-PRERELEASE][+BUILD]` from `pos`; returns where it stopped.
pub(crate) fn parse_tail(
    s: &str,
    mut pos: usize,
) -> Result<(Vec<Ident>, Option<Span>, usize), String> {
    let b = s.as_bytes();
    let mut pre = Vec::new();
    if b.get(pos) == Some(&b'-') {
        loop {
            pos += 1;
            let start = pos;
            let n = b[pos..].iter().take_while(|&&c| is_ident_char(c)).count();
            if n == 0 {
                return Err(format!("empty pre-release identifier at byte {start}"));
            }
            pos += n;
            let id = &b[start..pos];
            pre.push(if id.iter().all(u8::is_ascii_digit) {
                if id.len() > 1 && id[0] == b'0' {
                    return Err(format!(
                        "numeric pre-release identifier with a leading zero at byte {start}"
                    ));
                }
                Ident::Num(stripped_span(s, start, pos))
            } else {
                Ident::Alnum(Span::new(start, pos))
            });
            if b.get(pos) != Some(&b'.') {
                break;
            }
        }
    }
    let mut build = None;
    if b.get(pos) == Some(&b'+') {
        let start = pos + 1;
        loop {
            pos += 1;
            let n = b[pos..].iter().take_while(|&&c| is_ident_char(c)).count();
            if n == 0 {
                return Err(format!("empty build identifier at byte {pos}"));
            }
            pos += n;
            if b.get(pos) != Some(&b'.') {
                break;
            }
        }
        build = Some(Span::new(start, pos));
    }
    Ok((pre, build, pos))
}

pub(crate) fn cmp(a: &SemVer, b: &SemVer) -> Ordering {
    cmp_with(a, b, false)
}

/// Shared by SemVer, Go and NuGet (which compares alphanumeric identifiers
/// case-insensitively and has a fourth number).
pub(crate) fn cmp_with(a: &SemVer, b: &SemVer, ignore_case: bool) -> Ordering {
    for (x, y) in a.nums.iter().zip(&b.nums) {
        let o = cmp_dec(x.bytes(&a.s), y.bytes(&b.s));
        if o.is_ne() {
            return o;
        }
    }
    cmp_prerelease(&a.pre, &a.s, &b.pre, &b.s, ignore_case)
}

pub(crate) fn cmp_prerelease(
    a: &[Ident],
    sa: &str,
    b: &[Ident],
    sb: &str,
    ignore_case: bool,
) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b) {
        let o = match (*x, *y) {
            (Ident::Num(m), Ident::Num(n)) => cmp_dec(m.bytes(sa), n.bytes(sb)),
            (Ident::Num(_), Ident::Alnum(_)) => Ordering::Less,
            (Ident::Alnum(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Alnum(m), Ident::Alnum(n)) => {
                let (m, n) = (m.bytes(sa), n.bytes(sb));
                if ignore_case {
                    m.iter()
                        .map(u8::to_ascii_uppercase)
                        .cmp(n.iter().map(u8::to_ascii_uppercase))
                } else {
                    m.cmp(n)
                }
            }
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn precedence() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for w in ordered.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(c("1.2.3+build", "1.2.3+other"), Equal);
        assert_eq!(c(" v1.2.3 ", "1.2.3"), Equal);
        assert_eq!(c("1.2.3-R2", "1.2.3-r100"), Less);
        assert_eq!(c("1.2.3-5-foo", "1.2.3-5"), Greater);
    }

    #[test]
    fn strict_syntax() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "=1.2.3",
            "v 1.2.3",
            "1.2.3beta",
            "1.2.3-a..b",
            "vv1.2.3",
            "1.2.3-é",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for ok in ["0.0.0", "1.2.3-0a", "1.2.3+01", "1.2.3---", "1.2.3-0-0"] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }
}
