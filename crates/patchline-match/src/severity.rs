//! Severity: distro ratings, CVSS base scores computed from vectors, and the choice
//! between them.

use std::str::FromStr;

use patchline_model::vuln::{Cvss, Severity, SeverityScore};

/// Scores a CVSS vector (v2 with or without a `CVSS:2.0/` prefix or parentheses,
/// `CVSS:3.0/`, `CVSS:3.1/`, `CVSS:4.0/`). `None` when the vector does not parse.
pub fn score_vector(vector: &str, source: &str) -> Option<Cvss> {
    let v = vector.trim();
    let v = v
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(v);
    let v = v.strip_prefix("CVSS:2.0/").unwrap_or(v);
    let parsed = cvss::Cvss::from_str(v).ok()?;
    let version = match &parsed {
        cvss::Cvss::CvssV20(_) => "2.0",
        cvss::Cvss::CvssV30(_) => "3.0",
        cvss::Cvss::CvssV31(_) => "3.1",
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => return None,
    };
    let score = parsed.score();
    if !score.is_finite() {
        return None;
    }
    Some(Cvss {
        version: version.to_string(),
        vector: v.to_string(),
        base_score: (score * 10.0).round() / 10.0,
        source: source.to_string(),
    })
}

/// Whether a severity statement carries a CVSS vector (`CVSS_V2`, `CVSS_V3`, `CVSS_V4`,
/// or a vector whatever its type says).
pub fn is_cvss(s: &SeverityScore) -> bool {
    s.kind.to_ascii_uppercase().starts_with("CVSS") || s.score.trim_start().starts_with("CVSS:")
}

/// The band of a computed score. CVSS v3 and v4 share the bands of
/// [`Severity::from_score`]; CVSS v2 has no "critical" band (NVD rates v2 scores of
/// 7.0–10.0 high), so v2 scores stop at [`Severity::High`].
pub fn band(c: &Cvss) -> Severity {
    let s = Severity::from_score(c.base_score);
    if c.version == "2.0" && s == Severity::Critical {
        Severity::High
    } else {
        s
    }
}

/// The preference among CVSS versions when choosing a finding's severity: v3.x (the
/// version NVD and the peers band their ratings with), then v4.0, then v2.0.
fn version_rank(version: &str) -> u8 {
    match version {
        "3.1" => 0,
        "3.0" => 1,
        "4.0" => 2,
        _ => 3,
    }
}

/// The vector to rate by among `scores` (already in the source's own order): the first of
/// the most preferred version.
pub fn preferred(scores: &[Cvss]) -> Option<&Cvss> {
    scores
        .iter()
        .enumerate()
        .min_by_key(|(i, c)| (version_rank(&c.version), *i))
        .map(|(_, c)| c)
}

/// A distro's own rating, as words: Debian urgencies (`unimportant`, `low`, `medium`,
/// `high`, with the tracker's `*` marks), Ubuntu priorities (`negligible` … `critical`),
/// Red Hat impacts (`low`, `moderate`, `important`, `critical`), Alpine and others alike.
/// `None` for words that rate nothing (`not yet assigned`, `end-of-life`, `untriaged`,
/// `unknown`): the caller then falls back to CVSS.
pub fn vendor_rating(word: &str) -> Option<Severity> {
    let w = word
        .trim()
        .trim_end_matches('*')
        .trim()
        .to_ascii_lowercase();
    match w.as_str() {
        "unimportant" | "negligible" => Some(Severity::Negligible),
        "low" => Some(Severity::Low),
        "medium" | "moderate" => Some(Severity::Medium),
        "high" | "important" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

/// Lowercase letters and digits only: `Red Hat` and `red-hat` → `redhat`.
pub(crate) fn normalize_kind(kind: &str) -> String {
    kind.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_each_version() {
        let c = score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "nvd").unwrap();
        assert_eq!((c.version.as_str(), c.base_score), ("3.1", 9.8));
        assert_eq!(band(&c), Severity::Critical);
        let c = score_vector("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", "x").unwrap();
        assert_eq!((c.version.as_str(), c.base_score), ("3.0", 5.6));
        let c = score_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P", "nvd").unwrap();
        assert_eq!((c.version.as_str(), c.base_score), ("2.0", 7.5));
        assert_eq!(band(&c), Severity::High);
        let c = score_vector("(AV:N/AC:L/Au:N/C:C/I:C/A:C)", "nvd").unwrap();
        assert_eq!(c.base_score, 10.0);
        assert_eq!(band(&c), Severity::High, "v2 has no critical band");
        let c = score_vector(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "osv",
        )
        .unwrap();
        assert_eq!((c.version.as_str(), c.base_score), ("4.0", 9.3));
        assert!(score_vector("CVSS:3.1/AV:X", "nvd").is_none());
        assert!(score_vector("", "nvd").is_none());
        assert!(score_vector("high", "nvd").is_none());
    }

    #[test]
    fn preference() {
        let v2 = score_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P", "nvd").unwrap();
        let v30 = score_vector("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", "nvd").unwrap();
        let v31 = score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "nvd").unwrap();
        let v4 = score_vector(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "nvd",
        )
        .unwrap();
        let all = [v2.clone(), v4.clone(), v30.clone(), v31.clone()];
        assert_eq!(preferred(&all), Some(&v31));
        assert_eq!(preferred(&[v2.clone(), v4.clone()]), Some(&v4));
        assert_eq!(preferred(std::slice::from_ref(&v2)), Some(&v2));
        assert_eq!(preferred(&[]), None);
    }

    #[test]
    fn vendor_words() {
        assert_eq!(vendor_rating("unimportant"), Some(Severity::Negligible));
        assert_eq!(vendor_rating("low**"), Some(Severity::Low));
        assert_eq!(vendor_rating("Moderate"), Some(Severity::Medium));
        assert_eq!(vendor_rating("important"), Some(Severity::High));
        assert_eq!(vendor_rating("not yet assigned"), None);
        assert_eq!(vendor_rating("end-of-life"), None);
        assert_eq!(vendor_rating("untriaged"), None);
        assert_eq!(normalize_kind("Red Hat"), "redhat");
    }
}
