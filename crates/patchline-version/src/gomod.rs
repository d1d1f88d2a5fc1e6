//! Go module versions, validated and ordered like `golang.org/x/mod/semver`
//! (`IsValid`, `Compare`).
//!
//! * `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`: the shorthands `v1` and `v1.2`
//!   mean `v1.0.0` and `v1.2.0` and cannot carry a pre-release or build suffix.
//! * The leading `v` is optional here: OSV's Go ecosystem writes versions without
//!   it (`1.2.3`, and `0` for "since the beginning"), so `1.2.3` is read as
//!   `v1.2.3`. Everything after the `v` follows `semver.IsValid` exactly.
//! * `+incompatible` (a major version ≥ 2 of a module without a `go.mod`) is build
//!   metadata, so `v2.0.0+incompatible` = `v2.0.0`.
//! * Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`,
//!   `v1.2.4-0.20191109021931-daa7c04131f5`) are ordinary pre-releases, which is
//!   exactly how the go command orders them against tagged versions.

use std::cmp::Ordering;

use crate::num::Span;
use crate::semver::{numeric_ident, parse_tail, SemVer};

pub(crate) fn parse(input: &str) -> Result<SemVer, String> {
    let s: Box<str> = input.into();
    let b = s.as_bytes();
    let mut pos = usize::from(b.first() == Some(&b'v'));
    let mut nums = [Span::default(); 4];
    let mut parts = 0;
    while parts < 3 {
        if parts > 0 {
            if b.get(pos) != Some(&b'.') {
                break;
            }
            pos += 1;
        }
        let end = pos + crate::num::digit_run(&b[pos..]);
        nums[parts] = numeric_ident(&s, pos, end)?;
        pos = end;
        parts += 1;
    }
    let (pre, build, end) = if parts == 3 {
        parse_tail(&s, pos)?
    } else {
        (Vec::new(), None, pos)
    };
    if end != b.len() {
        return Err(if parts < 3 && matches!(b.get(end), Some(b'-' | b'+')) {
            format!("pre-release or build suffix on a shorthand version (byte {end})")
        } else {
            format!("unexpected {:?} at byte {end}", &s[end..])
        });
    }
    Ok(SemVer {
        s,
        nums,
        pre,
        build,
    })
}

pub(crate) fn cmp(a: &SemVer, b: &SemVer) -> Ordering {
    crate::semver::cmp_with(a, b, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn c(a: &str, b: &str) -> Ordering {
        cmp(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn pseudo_versions_and_incompatible() {
        // A pseudo-version based on no tag sorts before every release.
        assert_eq!(c("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1"), Less);
        // One derived from v1.2.3 sorts after it and before v1.2.4.
        let pseudo = "v1.2.4-0.20191109021931-daa7c04131f5";
        assert_eq!(c(pseudo, "v1.2.3"), Greater);
        assert_eq!(c(pseudo, "v1.2.4"), Less);
        assert_eq!(c(pseudo, "v1.2.4-0.20200101000000-0123456789ab"), Less);
        assert_eq!(c("v2.0.0+incompatible", "v2.0.0"), Equal);
        assert_eq!(c("11.4.0+incompatible", "v11.5.0"), Less);
    }

    #[test]
    fn shorthand_and_optional_v() {
        assert_eq!(c("v1", "v1.0.0"), Equal);
        assert_eq!(c("v1.2", "1.2.0"), Equal);
        assert_eq!(c("0", "v0.0.0"), Equal);
        assert_eq!(c("1.19.0-0", "1.19.0"), Less);
        for bad in [
            "",
            "v",
            "bad",
            "v1-pre",
            "v1.2+meta",
            "v01.2.3",
            "v1.2.3-01",
            "v1.2.3.4",
            "vv1",
            " v1.2.3",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
