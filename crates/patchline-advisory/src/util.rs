//! Small helpers shared by the importers.

use std::fmt;

use patchline_model::vuln::SeverityScore;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Deserializes `null` as the type's default: feeds write `"aliases": null` as often as
/// they omit the field.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string when the value is one, `None` for anything else (skipped without building
/// it). For free-form vendor blocks (`database_specific`, `ecosystem_specific`) whose
/// fields patchline reads opportunistically: a field of an unexpected type there must not
/// reject the record.
pub(crate) fn lenient_str<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// The OSV severity type of a CVSS vector string.
pub(crate) fn cvss_kind(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4") {
        "CVSS_V4"
    } else if vector.starts_with("CVSS:3") {
        "CVSS_V3"
    } else {
        "CVSS_V2"
    }
}

pub(crate) fn push_unique_severity(list: &mut Vec<SeverityScore>, s: SeverityScore) {
    if !list.contains(&s) {
        list.push(s);
    }
}

pub(crate) fn push_unique(list: &mut Vec<String>, s: &str) {
    if !list.iter().any(|x| x == s) {
        list.push(s.to_string());
    }
}

/// Vulnerability ids inside free text: `CVE-2019-1234 CVE-2019-5678`, `XSA-123`,
/// `CVE-2017-1000082 (systemd)`. A token is an id when it is an upper-case prefix of two
/// or more letters, then dash-separated alphanumeric parts with at least one digit.
pub(crate) fn ids_in_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\'')
    }) {
        let tok = raw.trim_end_matches(['.', ':']);
        let Some((prefix, rest)) = tok.split_once('-') else {
            continue;
        };
        let prefix_ok = prefix.len() >= 2 && prefix.bytes().all(|b| b.is_ascii_uppercase());
        let rest_ok = !rest.is_empty()
            && rest
                .split('-')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
            && rest.bytes().any(|b| b.is_ascii_digit());
        if prefix_ok && rest_ok && tok.len() <= 64 {
            push_unique(&mut out, tok);
        }
    }
    out
}

/// `CVE-2023-38545` when `id` is a distro's copy of a CVE: `UBUNTU-CVE-2023-38545`,
/// `DEBIAN-CVE-…`, `ALPINE-CVE-…`.
pub(crate) fn embedded_cve(id: &str) -> Option<&str> {
    let pos = id.find("-CVE-")?;
    let cve = &id[pos + 1..];
    let mut parts = cve.splitn(3, '-');
    let (_, year, num) = (parts.next()?, parts.next()?, parts.next()?);
    (year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && !num.is_empty()
        && num.bytes().all(|b| b.is_ascii_digit()))
    .then_some(cve)
}

/// Checks an id read from a feed: non-empty, bounded, printable, no whitespace.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is empty".into());
    }
    if id.len() > 256 {
        return Err(format!("is {} bytes long (at most 256)", id.len()));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("{id:?} contains whitespace or control characters"));
    }
    Ok(())
}

/// `"value"` quoted and cut to 80 characters, for error messages about input values.
pub(crate) fn shown(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_secfix_text() {
        assert_eq!(
            ids_in_text("CVE-2019-1234 CVE-2019-5678"),
            ["CVE-2019-1234", "CVE-2019-5678"]
        );
        assert_eq!(ids_in_text("XSA-123"), ["XSA-123"]);
        assert_eq!(
            ids_in_text("CVE-2017-1000082 (systemd)"),
            ["CVE-2017-1000082"]
        );
        assert_eq!(
            ids_in_text("GHSA-jfh8-c2jp-5v3q, ZBX-2020-1"),
            ["GHSA-jfh8-c2jp-5v3q", "ZBX-2020-1"]
        );
        assert!(ids_in_text("fixed upstream").is_empty());
        assert!(ids_in_text("X-1 CVE- a-1").is_empty());
    }

    #[test]
    fn embedded() {
        assert_eq!(
            embedded_cve("UBUNTU-CVE-2023-38545"),
            Some("CVE-2023-38545")
        );
        assert_eq!(embedded_cve("CVE-2023-38545"), None);
        assert_eq!(embedded_cve("GHSA-CVE-x"), None);
    }
}
