//! RPM versions: `[epoch:]version[-release]` strings (an EVR), each part ordered
//! with `rpmvercmp()` (rpm's `rpmio/rpmvercmp.c`, including `~` pre-release and
//! `^` post-release separators).
//!
//! Splitting follows rpm's `parseEVR()`: the epoch is a run of leading digits
//! followed by `:` (an empty run counts as epoch 0, a missing epoch as 0), the
//! release is whatever follows the *last* `-`.
//!
//! Missing release: rpm's dependency code skips the release comparison when one
//! side has none, which is not a total order (`1-1` = `1` = `1-2` yet `1-1` < `1-2`).
//! Here a missing release sorts before any release, even an empty one (`1` < `1-`
//! < `1-0`), as osv-scalibr's Red Hat comparator does, so `Ord` stays lawful.
//!
//! Validity: `rpmvercmp` accepts every string. We reject only what no rpm header
//! can carry as a version: the empty string, an empty version part (`1:`, `-1`),
//! and ASCII whitespace or control characters. Non-ASCII bytes are accepted and,
//! like any other non-alphanumeric byte, act as separators.

use std::cmp::Ordering;

use crate::num::Span;

#[derive(Clone, Debug)]
pub(crate) struct Rpm {
    s: Box<str>,
    /// `None` when the string has no epoch: compared as `"0"`.
    epoch: Option<Span>,
    version: Span,
    release: Option<Span>,
}

impl Rpm {
    pub fn as_str(&self) -> &str {
        &self.s
    }

    pub fn epoch(&self) -> &str {
        match self.epoch {
            Some(e) if !e.is_empty() => e.of(&self.s),
            _ => "0",
        }
    }

    #[cfg(test)]
    fn version(&self) -> &str {
        self.version.of(&self.s)
    }

    #[cfg(test)]
    fn release(&self) -> Option<&str> {
        self.release.map(|r| r.of(&self.s))
    }
}

pub(crate) fn parse(input: &str) -> Result<Rpm, String> {
    if input.is_empty() {
        return Err("version string is empty".into());
    }
    if let Some(pos) = input
        .bytes()
        .position(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(format!("whitespace or control character at byte {pos}"));
    }
    let s: Box<str> = input.into();
    let b = s.as_bytes();
    let digits = crate::num::digit_run(b);
    let (epoch, vstart) = if b.get(digits) == Some(&b':') {
        (Some(Span::new(0, digits)), digits + 1)
    } else {
        (None, 0)
    };
    let (version, release) = match s[vstart..].rfind('-') {
        Some(rel) => {
            let h = vstart + rel;
            (Span::new(vstart, h), Some(Span::new(h + 1, b.len())))
        }
        None => (Span::new(vstart, b.len()), None),
    };
    if version.is_empty() {
        return Err("version part is empty".into());
    }
    Ok(Rpm {
        s,
        epoch,
        version,
        release,
    })
}

pub(crate) fn cmp(a: &Rpm, b: &Rpm) -> Ordering {
    rpmvercmp(a.epoch().as_bytes(), b.epoch().as_bytes())
        .then_with(|| rpmvercmp(a.version.bytes(&a.s), b.version.bytes(&b.s)))
        .then_with(|| match (a.release, b.release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => rpmvercmp(x.bytes(&a.s), y.bytes(&b.s)),
        })
}

/// rpm's segment-by-segment comparison of one EVR component.
///
/// Separators (anything but ASCII alphanumerics, `~` and `^`) are skipped; `~`
/// sorts before anything including the end of the string; `^` sorts after the end
/// but before anything else; digit runs compare numerically, letter runs bytewise,
/// and a digit run beats a letter run.
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let skip = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while i < a.len() && skip(a[i]) {
            i += 1;
        }
        while j < b.len() && skip(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());

        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };

        let numeric = ca.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let ea = i + a[i..].iter().take_while(|c| class(c)).count();
        let eb = j + b[j..].iter().take_while(|c| class(c)).count();
        let (sa, sb) = (&a[i..ea], &b[j..eb]);
        if sb.is_empty() {
            // One side has digits where the other has letters: digits are newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            crate::num::cmp_dec(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn tilde_and_caret() {
        assert_eq!(c("1.0~rc1", "1.0"), Less);
        assert_eq!(c("1.0~rc1~git123", "1.0~rc1"), Less);
        assert_eq!(c("1.0^", "1.0"), Greater);
        assert_eq!(c("1.0^git1", "1.01"), Less);
        assert_eq!(c("1.0^20160101", "1.0.1"), Less);
        assert_eq!(c("1.0~rc1^git1", "1.0~rc1"), Greater);
        assert_eq!(c("1.0^git1~pre", "1.0^git1"), Less);
    }

    #[test]
    fn separators_and_segments() {
        assert_eq!(c("2_0", "2.0"), Equal);
        assert_eq!(c("+", "_"), Equal);
        assert_eq!(c("10.0001", "10.1"), Equal);
        assert_eq!(c("6.0.rc1", "6.0"), Greater);
        assert_eq!(c("xyz.4", "8"), Less);
        assert_eq!(c("1.1.α", "1.1.β"), Equal);
    }

    #[test]
    fn evr_split() {
        let v = parse("2:1.0-3-4.el8").unwrap();
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            ("2", "1.0-3", Some("4.el8"))
        );
        let v = parse("a:1").unwrap();
        assert_eq!((v.epoch(), v.version(), v.release()), ("0", "a:1", None));
        assert_eq!(c("0:1.0-1", "1.0-1"), Equal);
        assert_eq!(c("1:1.0", "2.0"), Greater);
        assert_eq!(c("01:2", "1:2"), Equal);
        // A missing release sorts first; rpm itself would call these equal.
        assert_eq!(c("1", "1-0"), Less);
        assert_eq!(c("1", "1-"), Less);
        assert_eq!(c("1-", "1-0"), Less);
        assert_eq!(c("1-1.", "1-1"), Equal);
        assert_eq!(c("0:3.10.0-229.el7", "0:3.10.0-229.1.2.ael7b"), Less);
    }

    #[test]
    fn invalid() {
        for bad in ["", "1 .0", "1\t", "1:", "-1", "2:-1"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
