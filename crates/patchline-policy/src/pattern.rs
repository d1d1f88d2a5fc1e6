//! Patterns and dates as policy files spell them.
//!
//! A pattern is a glob: `*` stands for any run of characters (`/` included, so
//! `registry.example.com/base/*` also covers `registry.example.com/base/team/debian:12`),
//! `?` for one character; everything else is literal. No character classes: image
//! references and package names never need them, and a `[` in a pattern is far more
//! likely a YAML slip than an intent, so it is refused.
//!
//! Dates are `YYYY-MM-DD` (ISO 8601 calendar dates, what Trivy's `expired_at` uses).

use time::{Date, Month};

/// Longest pattern accepted; a policy's patterns are short, and the matcher is
/// quadratic at worst in pattern × text.
pub const MAX_PATTERN_LEN: usize = 512;

/// Why `pattern` is not a valid pattern; `None`: it is.
pub fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some("empty pattern".into());
    }
    if pattern.len() > MAX_PATTERN_LEN {
        return Some(format!("pattern longer than {MAX_PATTERN_LEN} characters"));
    }
    if pattern.chars().any(char::is_whitespace) {
        return Some(format!("pattern {pattern:?} contains whitespace"));
    }
    if pattern.contains(['[', ']', '{', '}']) {
        return Some(format!(
            "pattern {pattern:?}: only `*` and `?` are wildcards (no [..] or {{..}})"
        ));
    }
    None
}

/// Whether `text` matches the glob `pattern` (case-sensitive).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in the usual
    // case, never exponential.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// [`glob_match`] ignoring ASCII case (vulnerability ids: `cve-2024-2004`).
pub fn glob_match_ci(pattern: &str, text: &str) -> bool {
    glob_match(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

/// Whether an image reference matches `pattern`: the whole reference, or the reference
/// without its tag and digest, so that `registry.example.com/team/app` covers every
/// tag of that repository.
pub fn reference_matches(pattern: &str, reference: &str) -> bool {
    glob_match(pattern, reference) || glob_match(pattern, repository_of(reference))
}

/// `host/repo` of `host/repo:tag@sha256:…`.
pub fn repository_of(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    // A colon after the last slash starts the tag; one before it is a registry port.
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || format!("{s:?} is not a date (expected YYYY-MM-DD, e.g. 2027-06-30)");
    let parts: Vec<&str> = s.trim().split('-').collect();
    if parts.len() != 3
        || parts[0].len() != 4
        || parts[1].len() != 2
        || parts[2].len() != 2
        || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let year: i32 = parts[0].parse().map_err(|_| bad())?;
    let month: u8 = parts[1].parse().map_err(|_| bad())?;
    let day: u8 = parts[2].parse().map_err(|_| bad())?;
    let month = Month::try_from(month).map_err(|_| format!("{s:?}: no month {month}"))?;
    Date::from_calendar_date(year, month, day)
        .map_err(|_| format!("{s:?}: {month} {year} has no day {day}"))
}

/// `YYYY-MM-DD` of a date.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "registry.example.com/base/*",
            "registry.example.com/base/debian:12"
        ));
        assert!(glob_match(
            "registry.example.com/base/*",
            "registry.example.com/base/a/b"
        ));
        assert!(!glob_match(
            "registry.example.com/base/*",
            "registry.example.com/other/debian"
        ));
        assert!(glob_match("secret.*", "secret.aws-key"));
        assert!(glob_match("lib?", "libc"));
        assert!(!glob_match("lib?", "lib"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match_ci("cve-2024-*", "CVE-2024-2004"));
        // Worst case stays fast.
        let long = "a".repeat(400);
        assert!(!glob_match("*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn references() {
        assert!(reference_matches(
            "reg:5000/team/app",
            "reg:5000/team/app:1.4"
        ));
        assert!(reference_matches(
            "reg:5000/team/app",
            "reg:5000/team/app@sha256:ab"
        ));
        assert!(reference_matches(
            "reg:5000/team/app",
            "reg:5000/team/app:1@sha256:ab"
        ));
        assert!(!reference_matches(
            "reg:5000/team/app",
            "reg:5000/team/application:1"
        ));
        assert_eq!(repository_of("reg:5000/team/app"), "reg:5000/team/app");
    }

    #[test]
    fn patterns() {
        assert!(pattern_problem("registry.example.com/base/*").is_none());
        assert!(pattern_problem("").is_some());
        assert!(pattern_problem("a b").is_some());
        assert!(pattern_problem("lib[ab]").is_some());
    }

    #[test]
    fn dates() {
        assert_eq!(format_date(parse_date("2027-06-30").unwrap()), "2027-06-30");
        assert!(parse_date("2027-6-30").is_err());
        assert!(parse_date("2027-13-01")
            .unwrap_err()
            .contains("no month 13"));
        assert!(parse_date("2027-02-30").unwrap_err().contains("no day 30"));
        assert!(parse_date("30/06/2027").is_err());
    }
}
