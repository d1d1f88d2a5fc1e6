//! Debian package versions, `[epoch:]upstream_version[-debian_revision]`, ordered as
//! `dpkg --compare-versions` orders them (dpkg's `lib/dpkg/version.c`, Debian
//! Policy §5.6.12).
//!
//! Validity follows dpkg's `parseversion()`. Its hard errors (empty, embedded
//! blanks, bad epoch, nothing after the colon, empty revision or upstream part) are
//! errors here too. Its two warnings (upstream not starting with a digit, a byte
//! outside `[A-Za-z0-9.+~-:]` / `[A-Za-z0-9.+~]`) are also errors: dpkg only warns
//! about them in `--compare-versions`, but refuses them in every control file it
//! parses, so no installed package or archive can carry such a version.

use std::cmp::Ordering;

use crate::num::Span;

#[derive(Clone, Debug)]
pub(crate) struct Dpkg {
    s: Box<str>,
    epoch: u32,
    upstream: Span,
    revision: Span,
}

impl Dpkg {
    pub fn as_str(&self) -> &str {
        &self.s
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    #[cfg(test)]
    fn upstream(&self) -> &str {
        self.upstream.of(&self.s)
    }

    #[cfg(test)]
    fn revision(&self) -> &str {
        self.revision.of(&self.s)
    }
}

/// dpkg's `c_isblank`: the only whitespace `parseversion()` trims.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn parse(input: &str) -> Result<Dpkg, String> {
    let s = input.trim_matches(is_blank);
    if s.is_empty() {
        return Err("version string is empty".into());
    }
    if let Some(pos) = s.find(is_blank) {
        return Err(format!(
            "version string has embedded spaces (at byte {pos})"
        ));
    }
    let owned: Box<str> = s.into();
    let bytes = owned.as_bytes();

    let (epoch, rest_start) = match owned.find(':') {
        Some(colon) => {
            let digits = &bytes[..colon];
            if digits.is_empty() {
                return Err("epoch in version is empty".into());
            }
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err("epoch in version is not number".into());
            }
            // dpkg stores the epoch in an int and rejects anything above INT_MAX.
            let epoch = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|&e| e <= i32::MAX as u32)
                .ok_or_else(|| "epoch in version is too big".to_string())?;
            if colon + 1 == bytes.len() {
                return Err("nothing after colon in version number".into());
            }
            (epoch, colon + 1)
        }
        None => (0, 0),
    };

    // The revision starts after the *last* hyphen; the upstream part may hold more.
    let (upstream, revision) = match owned[rest_start..].rfind('-') {
        Some(rel) => {
            let hyphen = rest_start + rel;
            if hyphen + 1 == bytes.len() {
                return Err("revision number is empty".into());
            }
            (
                Span::new(rest_start, hyphen),
                Span::new(hyphen + 1, bytes.len()),
            )
        }
        None => (
            Span::new(rest_start, bytes.len()),
            Span::new(bytes.len(), bytes.len()),
        ),
    };

    let up = upstream.bytes(&owned);
    match up.first() {
        None => return Err("version number is empty".into()),
        Some(c) if !c.is_ascii_digit() => {
            return Err("version number does not start with digit".into())
        }
        Some(_) => {}
    }
    if let Some(i) = up
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b".-+~:".contains(&c)))
    {
        return Err(format!(
            "invalid character in version number (byte {})",
            upstream.start + i
        ));
    }
    if let Some(i) = revision
        .bytes(&owned)
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b".+~".contains(&c)))
    {
        return Err(format!(
            "invalid character in revision number (byte {})",
            revision.start + i
        ));
    }

    Ok(Dpkg {
        s: owned,
        epoch,
        upstream,
        revision,
    })
}

pub(crate) fn cmp(a: &Dpkg, b: &Dpkg) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream.bytes(&a.s), b.upstream.bytes(&b.s)))
        .then_with(|| verrevcmp(a.revision.bytes(&a.s), b.revision.bytes(&b.s)))
}

/// Weight of a non-digit byte: `~` before the end of the string, the end before
/// letters, letters before everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// Alternates non-digit runs (compared byte by byte with [`order`]) and digit runs
/// (compared numerically, any length).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    let non_digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while non_digit(a, i) || non_digit(b, j) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while a.get(i).is_some_and(u8::is_ascii_digit) && b.get(j).is_some_and(u8::is_ascii_digit) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if a.get(i).is_some_and(u8::is_ascii_digit) {
            return Ordering::Greater;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
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
    fn tilde_sorts_before_everything_even_the_end() {
        assert_eq!(c("1.0~rc1", "1.0"), Less);
        assert_eq!(c("1.0~~", "1.0~"), Less);
        assert_eq!(c("1.0~rc1-1", "1.0-1"), Less);
        assert_eq!(c("1.2.3-1~deb7u1", "1.2.3-1"), Less);
        assert_eq!(c("1.0+dfsg", "1.0"), Greater);
    }

    #[test]
    fn epoch_and_revision() {
        assert_eq!(c("1:0.1", "2.0"), Greater);
        assert_eq!(c("0:1.0", "1.0"), Equal);
        assert_eq!(c("1.0", "1.0-0"), Equal);
        assert_eq!(c("1.0-1", "1.0-1.1"), Less);
        // The upstream part keeps every hyphen but the last one.
        let v = parse("1.2-3-4").unwrap();
        assert_eq!((v.upstream(), v.revision()), ("1.2-3", "4"));
        assert_eq!(c("1.09", "1.9"), Equal);
        assert_eq!(c("2:0.0.44-1", "2:0.0.44-nobin"), Less);
    }

    #[test]
    fn letters_before_other_symbols() {
        assert_eq!(c("1.0a", "1.0+"), Less);
        assert_eq!(c("1.0a", "1.0"), Greater);
        assert_eq!(c("0foo.bar", "0foobar"), Greater);
    }

    #[test]
    fn invalid_versions() {
        for bad in [
            "",
            "   ",
            "1 2",
            ":1.0",
            "a:1.0",
            "-1:1.0",
            "1:",
            "1.0-",
            "1:-1",
            "abc",
            "1.0_1",
            "1.0-1:2",
            "99999999999:1",
            "1.2.3-not-a-debian:version!@#$",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
        assert!(parse(" 1.0 ").is_ok());
        assert!(parse("2147483647:1").is_ok());
        assert!(parse("2147483648:1").is_err());
    }
}
