//! Alpine package versions, ordered as apk-tools 3 orders them (`src/version.c`,
//! `apk version -t`):
//!
//! ```text
//! number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}
//! ```
//!
//! Suffixes sort `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`.
//! A number after the first one that has a leading zero is compared as a string
//! (Gentoo rule: `1.01 < 1.1`, `1.001 < 1.01`).
//!
//! apk compares *malformed* versions too: the tokenizer stops at the first token
//! that cannot follow the previous one and the result depends on how far each side
//! got (apk-tools' own test data relies on this, e.g. `1.0 < 1.0bc`). So
//! `Scheme::Apk.parse` accepts every non-empty string and compares it the apk way,
//! while `Scheme::Apk.validate` is `apk_version_validate()`.
//!
//! One extension, from apk-tools 2 (the apk of every Alpine release up to 3.22):
//! when comparing, digits may follow the letter (`6.0.2p1-r3`). apk-tools 3 calls
//! such versions malformed and stops there, which would make `6.0.2p1-r3` equal to
//! `6.0.2p1-r5`; apk-tools 2 reads the number and the revision, and Alpine's
//! security database holds such versions. `validate` still rejects them, as
//! apk-tools 3 does.

use std::cmp::Ordering;

#[derive(Clone, Debug)]
pub(crate) struct Apk {
    s: Box<str>,
}

impl Apk {
    pub fn as_str(&self) -> &str {
        &self.s
    }
}

pub(crate) fn parse(input: &str) -> Result<Apk, String> {
    if input.is_empty() {
        return Err("version string is empty".into());
    }
    Ok(Apk { s: input.into() })
}

/// `apk_version_validate()`: the whole string tokenizes without an invalid token.
pub(crate) fn validate(input: &str) -> Result<(), String> {
    let mut t = Tokenizer::new(input.as_bytes(), false);
    let mut tok = t.first();
    while tok.kind < Kind::End {
        tok = t.next(tok);
    }
    if tok.kind == Kind::End {
        Ok(())
    } else {
        Err(format!(
            "not of the form number{{.number}}...{{letter}}{{_suffix{{number}}}}...{{~hash}}{{-r#}} (stops at byte {})",
            t.invalid_at
        ))
    }
}

/// Token kinds, in the order they may appear; the order also decides comparisons
/// between versions of different length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks; `None` (no suffix) is the pivot between pre- and post-release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Invalid,
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

fn suffix_value(s: &[u8]) -> Suffix {
    let (val, text): (Suffix, &[u8]) = match s.first() {
        Some(b'a') => (Suffix::Alpha, b"alpha"),
        Some(b'b') => (Suffix::Beta, b"beta"),
        Some(b'c') => (Suffix::Cvs, b"cvs"),
        Some(b'g') => (Suffix::Git, b"git"),
        Some(b'h') => (Suffix::Hg, b"hg"),
        Some(b'p') if s.len() > 1 => (Suffix::Pre, b"pre"),
        Some(b'p') => (Suffix::P, b"p"),
        Some(b'r') => (Suffix::Rc, b"rc"),
        Some(b's') => (Suffix::Svn, b"svn"),
        _ => return Suffix::Invalid,
    };
    if s == text {
        val
    } else {
        Suffix::Invalid
    }
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    kind: Kind,
    suffix: Suffix,
    /// apk keeps numbers in a `uint64_t` and lets them wrap; so do we, so that
    /// absurdly long digit runs order exactly as apk orders them.
    number: u64,
    /// A number right after the letter (the apk-tools 2 extension): always
    /// compared as a number, as apk-tools 2 did.
    after_letter: bool,
    value: &'a [u8],
}

struct Tokenizer<'a> {
    rest: &'a [u8],
    /// Accept digits after the letter (comparison only, see the module docs).
    lenient: bool,
    /// Byte offset where the first invalid token started (for error messages).
    invalid_at: usize,
    len: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(s: &'a [u8], lenient: bool) -> Self {
        Tokenizer {
            rest: s,
            lenient,
            invalid_at: 0,
            len: s.len(),
        }
    }

    fn offset(&self) -> usize {
        self.len - self.rest.len()
    }

    /// `apk_blob_pull_uint(b, 10)`: stops at the first non-digit (or NUL).
    fn digits(&mut self, mut tok: Token<'a>) -> Token<'a> {
        let n = crate::num::digit_run(self.rest);
        let (d, rest) = self.rest.split_at(n);
        tok.number = d.iter().fold(0u64, |acc, &c| {
            acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
        });
        tok.value = d;
        self.rest = rest;
        if d.is_empty() {
            self.invalid(tok)
        } else {
            tok
        }
    }

    fn invalid(&mut self, mut tok: Token<'a>) -> Token<'a> {
        self.invalid_at = self.offset();
        tok.kind = Kind::Invalid;
        tok
    }

    fn first(&mut self) -> Token<'a> {
        let tok = Token {
            kind: Kind::InitialDigit,
            suffix: Suffix::Invalid,
            number: 0,
            after_letter: false,
            value: &[],
        };
        self.digits(tok)
    }

    fn next(&mut self, mut tok: Token<'a>) -> Token<'a> {
        let Some(&c) = self.rest.first() else {
            tok.kind = Kind::End;
            return tok;
        };
        match c {
            b'a'..=b'z' => {
                if tok.kind > Kind::Digit {
                    return self.invalid(tok);
                }
                tok.value = &self.rest[..1];
                tok.kind = Kind::Letter;
                self.rest = &self.rest[1..];
                tok
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if tok.kind > Kind::Digit {
                        return self.invalid(tok);
                    }
                    self.rest = &self.rest[1..];
                }
                tok.after_letter = false;
                tok.kind = match tok.kind {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNo,
                    Kind::Letter if c != b'.' && self.lenient => {
                        tok.after_letter = true;
                        Kind::Digit
                    }
                    _ => return self.invalid(tok),
                };
                self.digits(tok)
            }
            b'_' => {
                if tok.kind > Kind::SuffixNo {
                    return self.invalid(tok);
                }
                let rest = &self.rest[1..];
                let n = rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
                tok.value = &rest[..n];
                tok.suffix = suffix_value(tok.value);
                if tok.suffix == Suffix::Invalid {
                    return self.invalid(tok);
                }
                self.rest = &rest[n..];
                tok.kind = Kind::Suffix;
                tok
            }
            b'~' => {
                if tok.kind >= Kind::CommitHash {
                    return self.invalid(tok);
                }
                let rest = &self.rest[1..];
                let n = rest
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                    .count();
                if n == 0 {
                    return self.invalid(tok);
                }
                tok.value = &rest[..n];
                self.rest = &rest[n..];
                tok.kind = Kind::CommitHash;
                tok
            }
            b'-' => {
                if tok.kind >= Kind::RevisionNo || !self.rest.starts_with(b"-r") {
                    return self.invalid(tok);
                }
                self.rest = &self.rest[2..];
                tok.kind = Kind::RevisionNo;
                self.digits(tok)
            }
            _ => self.invalid(tok),
        }
    }
}

/// `apk_blob_sort`: bytewise, then shorter first.
fn blob_sort(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        Kind::Digit
            if !(a.after_letter || b.after_letter)
                && (a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0')) =>
        {
            blob_sort(a.value, b.value)
        }
        Kind::Digit | Kind::InitialDigit | Kind::SuffixNo | Kind::RevisionNo => {
            a.number.cmp(&b.number)
        }
        Kind::Letter => a.value.first().cmp(&b.value.first()),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        _ => blob_sort(a.value, b.value),
    }
}

pub(crate) fn cmp(a: &Apk, b: &Apk) -> Ordering {
    cmp_str(a.s.as_bytes(), b.s.as_bytes(), false)
}

/// `apk_version_compare_fuzzy`; with `fuzzy`, `a` matches when `b` is a prefix of
/// it at token granularity (`3.6.9 ~ 3.6`).
fn cmp_str(a: &[u8], b: &[u8], fuzzy: bool) -> Ordering {
    let (mut ta_it, mut tb_it) = (Tokenizer::new(a, true), Tokenizer::new(b, true));
    let (mut ta, mut tb) = (ta_it.first(), tb_it.first());
    while ta.kind == tb.kind && ta.kind < Kind::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta = ta_it.next(ta);
        tb = tb_it.next(tb);
    }
    if ta.kind == tb.kind || (fuzzy && tb.kind == Kind::End) {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is newer unless what it has next is a
    // pre-release suffix.
    if ta.kind == Kind::Suffix && ta.suffix < Suffix::None {
        return Ordering::Less;
    }
    if tb.kind == Kind::Suffix && tb.suffix < Suffix::None {
        return Ordering::Greater;
    }
    // A later token kind (the end, or an invalid token, being the latest) means
    // the version stopped earlier.
    tb.kind.cmp(&ta.kind)
}

/// apk's fuzzy match (`~` in `apk version -t`/dependencies): `version` equals
/// `pattern` on every token `pattern` has, e.g. `3.6.9 ~ 3.6`.
pub(crate) fn fuzzy_match(version: &str, pattern: &str) -> bool {
    cmp_str(version.as_bytes(), pattern.as_bytes(), true) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn suffix_ladder() {
        let ladder = [
            "1.2_alpha",
            "1.2_alpha1",
            "1.2_beta",
            "1.2_pre2",
            "1.2_rc1",
            "1.2",
            "1.2_cvs1",
            "1.2_svn1",
            "1.2_git20240101",
            "1.2_hg1",
            "1.2_p1",
            "1.2_p1-r1",
            "1.2a",
            "1.2.0",
            "1.3_alpha",
        ];
        for w in ladder.windows(2) {
            assert_eq!(c(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
            assert_eq!(c(w[1], w[0]), Greater);
        }
    }

    #[test]
    fn revisions_hashes_and_leading_zeros() {
        assert_eq!(c("1.0-r1", "1.0-r2"), Less);
        assert_eq!(c("1.0", "1.0-r0"), Less);
        assert_eq!(c("0.1_pre2~1234abcd", "0.1_pre2"), Greater);
        assert_eq!(c("1.01", "1.1"), Less);
        assert_eq!(c("1.001", "1.01"), Less);
        assert_eq!(c("006", "1.0.0"), Greater);
    }

    #[test]
    fn digits_after_the_letter_compare_like_apk_tools_2() {
        assert_eq!(c("6.0.2p1-r3", "6.0.2p1-r5"), Less);
        assert_eq!(c("1.9.5p1-r1", "1.9.5p2-r1"), Less);
        assert_eq!(c("6.6.2p1", "6.6.2_p1"), Greater);
        assert!(validate("6.0.2p1-r3").is_err());
    }

    #[test]
    fn validity() {
        for ok in [
            "1.2",
            "0.1_pre2~1234abcd",
            "0.1_git20240101_pre1",
            "1.0-r10",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "1.0bc", "0.1_foobar", "0.1-r", "1.0-r1-r2", "1..2"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        // Comparable anyway, the way apk compares it.
        assert_eq!(c("1.0", "1.0bc"), Less);
    }

    #[test]
    fn fuzzy() {
        assert!(fuzzy_match("3.6.9", "3.6"));
        assert!(fuzzy_match("3.6_pre1", "3.6"));
        assert!(!fuzzy_match("3.8.0", "3.8.1"));
    }
}
