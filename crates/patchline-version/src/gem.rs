//! RubyGems versions, validated and ordered like `Gem::Version`.
//!
//! * Valid strings match `Gem::Version::ANCHORED_VERSION_PATTERN`:
//!   `\s* ( [0-9]+ (\.[0-9a-zA-Z]+)* (-[0-9A-Za-z-]+ (\.[0-9A-Za-z-]+)*)? )? \s*`
//!   (Ruby `\s`: space, `\t\n\v\f\r`). A blank string means `0`. So `1.0.a1` and
//!   `1.0-rc1` are valid, `1a` and `1..0` are not.
//! * `Scheme::parse` is looser than `Scheme::validate` in one place: the first
//!   segment may continue with letters (`1beta`, `2rc1`), a pre-release written
//!   without a separator. `Gem::Version.new` raises on them, but osv-scalibr,
//!   which OSV's scanner matches with, orders them (its fixtures expect
//!   `1beta < 1`); they are ordered here by the very segment rules below (`1beta`
//!   is `1.beta`, a pre-release of `1`), so a version or range bound spelled that
//!   way still evaluates. `Scheme::validate` stays `Gem::Version.correct?`.
//! * Every `-` stands for `.pre.` (`1.0-rc1` is `1.0.pre.rc1`, a pre-release).
//! * The version splits into runs of digits and runs of ASCII letters (other
//!   characters only separate). Trailing zeros are dropped from the numeric head
//!   and from the part starting at the first letter run (`1.0.a.0` ≡ `1.a`).
//! * Segments compare pairwise, a missing one counting as 0: numbers by value,
//!   letter runs bytewise (case-sensitive), and a letter run sorts before any
//!   number (`1.0.a < 1.0 < 1.0.0.1`).

use std::cmp::Ordering;

use crate::num::{cmp_dec, stripped_span, Span};

#[derive(Clone, Copy, Debug)]
enum Seg {
    Num(Span),
    Str(Span),
}

#[derive(Clone, Debug)]
pub(crate) struct Gem {
    original: Box<str>,
    /// Trimmed, blank as `0`, every `-` replaced by `.pre.`; spans point here.
    s: Box<str>,
    /// Canonical segments (trailing zeros dropped).
    segs: Vec<Seg>,
}

impl Gem {
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

/// Ruby's `\s` in a regular expression.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// `lenient`: the first segment is `[0-9][0-9a-zA-Z]*` instead of `[0-9]+`.
fn check_syntax(s: &str, lenient: bool) -> Result<(), String> {
    let b = s.as_bytes();
    let mut pos = crate::num::digit_run(b);
    if pos == 0 {
        return Err("must start with a digit".into());
    }
    if lenient {
        pos += b[pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
    }
    while b.get(pos) == Some(&b'.') {
        let n = b[pos + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if n == 0 {
            return Err(format!("empty segment after '.' at byte {pos}"));
        }
        pos += 1 + n;
    }
    if b.get(pos) == Some(&b'-') {
        let mut first = true;
        while first || b.get(pos) == Some(&b'.') {
            first = false;
            let n = b[pos + 1..]
                .iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-')
                .count();
            if n == 0 {
                return Err(format!("empty pre-release segment at byte {pos}"));
            }
            pos += 1 + n;
        }
    }
    if pos != b.len() {
        return Err(format!("unexpected {:?} at byte {pos}", &s[pos..]));
    }
    Ok(())
}

/// Ruby's surrounding-whitespace trim, with a blank string read as `0`.
fn trimmed(input: &str) -> &str {
    let t = input.trim_matches(is_ruby_space);
    if t.is_empty() {
        "0"
    } else {
        t
    }
}

/// `Gem::Version.correct?`.
pub(crate) fn validate(input: &str) -> Result<(), String> {
    check_syntax(trimmed(input), false).map_err(|e| format!("malformed version number string: {e}"))
}

pub(crate) fn parse(input: &str) -> Result<Gem, String> {
    let trimmed = trimmed(input);
    check_syntax(trimmed, true).map_err(|e| format!("malformed version number string: {e}"))?;
    let s: Box<str> = trimmed.replace('-', ".pre.").into();

    let b = s.as_bytes();
    let mut all = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let n = crate::num::digit_run(&b[i..]);
            all.push(Seg::Num(stripped_span(&s, i, i + n)));
            i += n;
        } else if c.is_ascii_alphabetic() {
            let n = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            all.push(Seg::Str(Span::new(i, i + n)));
            i += n;
        } else {
            i += 1;
        }
    }

    let is_zero = |s: &Seg| matches!(s, Seg::Num(sp) if sp.is_empty());
    let split = all
        .iter()
        .position(|s| matches!(s, Seg::Str(_)))
        .unwrap_or(all.len());
    let (head, tail) = all.split_at(split);
    let trim = |part: &[Seg]| part.len() - part.iter().rev().take_while(|s| is_zero(s)).count();
    let mut segs = Vec::with_capacity(all.len());
    segs.extend_from_slice(&head[..trim(head)]);
    segs.extend_from_slice(&tail[..trim(tail)]);

    Ok(Gem {
        original: input.into(),
        s,
        segs,
    })
}

pub(crate) fn cmp(a: &Gem, b: &Gem) -> Ordering {
    let zero = Seg::Num(Span::default());
    let n = a.segs.len().max(b.segs.len());
    for i in 0..n {
        let x = a.segs.get(i).copied().unwrap_or(zero);
        let y = b.segs.get(i).copied().unwrap_or(zero);
        let o = match (x, y) {
            (Seg::Num(m), Seg::Num(n)) => cmp_dec(m.bytes(&a.s), n.bytes(&b.s)),
            (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
            (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
            (Seg::Str(m), Seg::Str(n)) => m.bytes(&a.s).cmp(n.bytes(&b.s)),
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn prerelease_letters_and_trailing_zeros() {
        let ordered = [
            "0.9", "1.0.a.2", "1.0.a10", "1.0.b1", "1.0.b.2", "1.0.b10", "1.0-rc1", "1.0", "1.0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(c("1.0.a2", "1.0.a.2"), Equal);
        assert_eq!(c("1.0.0", "1"), Equal);
        assert_eq!(c("1.0.a.0", "1.0.a"), Equal);
        assert_eq!(c("", "0"), Equal);
        assert_eq!(c("1.0.B", "1.0.a"), Less);
        assert_eq!(c("1.0-1", "1.0.pre.1"), Equal);
    }

    #[test]
    fn validity() {
        for bad in [
            "junk", "1..0", "1.0.", ".1", "1.0\n2.0", "1.0-", "1.0-a..b", "v1", "1beta..0", "1_a",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        for ok in [
            " 1.0 ",
            "\n1.0\n",
            "1.0.x",
            "1.0--",
            "1.0-rc-1.2",
            "   ",
            "1.0.a2",
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
            assert!(validate(ok).is_ok(), "{ok:?}");
        }
        // Gem::Version rejects a letter in the first segment; parse reads it.
        for loose in ["1a", "1beta", "1gamma", "2rc1.0", "10b2-x"] {
            assert!(validate(loose).is_err(), "{loose:?}");
            assert!(parse(loose).is_ok(), "{loose:?}");
        }
    }

    #[test]
    fn letters_in_the_first_segment_make_a_prerelease() {
        assert_eq!(c("1beta", "1"), Less);
        assert_eq!(c("1gamma", "1"), Less);
        assert_eq!(c("1beta", "1.beta"), Equal);
        assert_eq!(c("1beta", "1.0.beta"), Equal);
        assert_eq!(c("1beta", "1gamma"), Less);
        assert_eq!(c("1beta2", "1.beta.2"), Equal);
        assert_eq!(c("1beta", "0.9"), Greater);
        // `-` stands for `.pre.`, and `pre` < `rc` bytewise.
        assert_eq!(c("2rc1", "2.0-rc1"), Greater);
        assert_eq!(c("2rc1", "2.0.rc1"), Equal);
    }
}
