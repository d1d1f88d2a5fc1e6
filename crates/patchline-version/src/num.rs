//! Helpers shared by the schemes: spans into a stored string and arbitrary-size
//! decimal comparison.
//!
//! Parsed versions keep their text once and refer to pieces of it by [`Span`], so
//! comparing two versions only walks bytes that already exist: no allocation.

use std::cmp::Ordering;

/// A byte range into the string a parsed version owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn of<'a>(&self, s: &'a str) -> &'a str {
        // Spans are only ever built by the parsers from char boundaries of the very
        // string they are applied to; `get` keeps a bug there from becoming a panic.
        s.get(self.start..self.end).unwrap_or("")
    }

    pub fn bytes<'a>(&self, s: &'a str) -> &'a [u8] {
        self.of(s).as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }
}

/// `digits` without its leading zeros ("" for zero).
pub(crate) fn strip_zeros(digits: &[u8]) -> &[u8] {
    let n = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[n..]
}

/// Span of `digits` (starting at byte `start` of the owning string) with leading
/// zeros dropped, so that [`cmp_dec`] can compare by length first.
pub(crate) fn stripped_span(s: &str, start: usize, end: usize) -> Span {
    let n = s.as_bytes()[start..end]
        .iter()
        .take_while(|&&c| c == b'0')
        .count();
    Span::new(start + n, end)
}

/// Compares two runs of ASCII digits as unbounded non-negative integers.
///
/// Ecosystems differ in how large a number they accept (Int32 in NuGet, 2^53 in
/// node-semver, unbounded in Go, Python and Ruby); comparing the digits themselves
/// is exact for every size and never overflows.
pub(crate) fn cmp_dec(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Length of the run of ASCII digits at the start of `s`.
pub(crate) fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_comparison_ignores_leading_zeros_and_size() {
        assert_eq!(cmp_dec(b"007", b"7"), Ordering::Equal);
        assert_eq!(cmp_dec(b"", b"0000"), Ordering::Equal);
        assert_eq!(cmp_dec(b"10", b"9"), Ordering::Greater);
        assert_eq!(
            cmp_dec(
                b"999999999999999999999999999991",
                b"999999999999999999999999999999"
            ),
            Ordering::Less
        );
    }
}
