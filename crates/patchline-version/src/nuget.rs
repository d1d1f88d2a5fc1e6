//! NuGet package versions, as `NuGet.Versioning.NuGetVersion.TryParse` reads them
//! and `VersionComparer.Default` orders them.
//!
//! * Surrounding whitespace is trimmed; then 1 to 4 dot-separated numbers
//!   (`1` means `1.0`, missing parts are 0; leading zeros are allowed: `1.01` =
//!   `1.1`), an optional `-` pre-release label list and an optional `+` metadata.
//! * Labels are non-empty `[0-9A-Za-z-]+`, numeric ones without leading zeros;
//!   metadata identifiers are non-empty `[0-9A-Za-z-]+`.
//! * Order: the four numbers, then releases after pre-releases, labels compared
//!   SemVer-style but case-insensitively (`1.0.0-BETA` = `1.0.0-beta`). Metadata is
//!   ignored.
//!
//! Deviation, on purpose: NuGet parses each number into an `Int32` and rejects
//! larger ones, and compares all-digit labels above `Int32` as text. Here numbers
//! have no size limit and all-digit labels always compare numerically.

use std::cmp::Ordering;

use crate::num::{stripped_span, Span};
use crate::semver::{parse_tail, SemVer};

pub(crate) fn parse(input: &str) -> Result<SemVer, String> {
    let s: Box<str> = input.trim().into();
    let b = s.as_bytes();
    let mut nums = [Span::default(); 4];
    let mut pos = 0;
    for (k, slot) in nums.iter_mut().enumerate() {
        if k > 0 {
            if b.get(pos) != Some(&b'.') {
                break;
            }
            pos += 1;
        }
        let n = crate::num::digit_run(&b[pos..]);
        if n == 0 {
            return Err(format!("expected a number at byte {pos}"));
        }
        *slot = stripped_span(&s, pos, pos + n);
        pos += n;
    }
    let (pre, build, end) = parse_tail(&s, pos)?;
    if end != b.len() {
        return Err(format!("unexpected {:?} at byte {end}", &s[end..]));
    }
    Ok(SemVer {
        s,
        nums,
        pre,
        build,
    })
}

pub(crate) fn cmp(a: &SemVer, b: &SemVer) -> Ordering {
    crate::semver::cmp_with(a, b, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn four_parts_case_and_metadata() {
        assert_eq!(c("1.0", "1.0.0.0"), Equal);
        assert_eq!(c("1", "1.0.0"), Equal);
        assert_eq!(c("1.0.01", "1.0.1.0"), Equal);
        assert_eq!(c("1.0.0", "1.0.0.1"), Less);
        assert_eq!(c("1.0.0-BETA", "1.0.0-beta"), Equal);
        assert_eq!(c("1.0.0-beta+AA", "1.0.0-beta+zz"), Equal);
        assert_eq!(c("1.0.0-beta2", "1.0.0-BETA"), Greater);
        assert_eq!(c("1.0.0-beta", "1.0.0"), Less);
        assert_eq!(c("1.0.0-1", "1.0.0-a"), Less);
    }

    #[test]
    fn invalid() {
        for bad in [
            "",
            "v1.0",
            "1.0.0.0.0",
            "1..0",
            "1.0-",
            "1.0+",
            "1.0-01",
            "1.0-a..b",
            "1.0-a+",
            "1.0 beta",
            "-1.0",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(" 1.0.0-rc.1+build.5 ").is_ok());
    }
}
