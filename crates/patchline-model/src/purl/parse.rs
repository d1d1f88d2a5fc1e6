//! Parsing purls, following the package-url specification's parsing rules.

use std::collections::BTreeMap;
use std::fmt;

use super::encode;

/// A parsed package-url: `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`, every
/// component percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    /// Lowercased (`deb`, `apk`, `rpm`, `npm`, ...).
    pub ty: String,
    /// Segments joined by `/`; `None` when absent.
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// Keys lowercased; qualifiers with an empty value are dropped, as the spec says.
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

impl Purl {
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid purl {input}: {reason}")]
pub struct PurlError {
    /// The purl as given, quoted and shortened.
    pub input: String,
    pub reason: String,
}

/// Parses a package-url following the spec's parsing rules: split from the right on
/// `#`, `?` and `@`, from the left on the type's `/`, percent-decode each component.
/// A `+` is a literal plus (purls are not form-encoded).
pub fn parse_purl(s: &str) -> Result<Purl, PurlError> {
    let err = |reason: &str| PurlError {
        input: short(s),
        reason: reason.to_string(),
    };
    let rest = match s.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("pkg:") => &s[4..],
        _ => return Err(err("does not start with `pkg:`")),
    };
    let rest = rest.trim_start_matches('/');

    let (rest, subpath) = match rest.split_once('#') {
        Some((r, sp)) => {
            let segs: Vec<String> = sp
                .split('/')
                .filter(|seg| !seg.is_empty() && *seg != "." && *seg != "..")
                .map(|seg| decode(seg).map_err(|e| err(&format!("subpath: {e}"))))
                .collect::<Result<_, _>>()?;
            (r, (!segs.is_empty()).then(|| segs.join("/")))
        }
        None => (rest, None),
    };

    let (rest, qualifiers) = match rest.rsplit_once('?') {
        Some((r, q)) => {
            let mut map = BTreeMap::new();
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| err(&format!("qualifier {} has no `=`", short(pair))))?;
                let k = k.to_ascii_lowercase();
                let valid_key = !k.is_empty()
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
                if !valid_key {
                    return Err(err(&format!("invalid qualifier key {}", short(&k))));
                }
                let v = decode(v).map_err(|e| err(&format!("qualifier {k}: {e}")))?;
                if v.is_empty() {
                    continue;
                }
                if map.insert(k.clone(), v).is_some() {
                    return Err(err(&format!("qualifier {k} repeated")));
                }
            }
            (r, map)
        }
        None => (rest, BTreeMap::new()),
    };

    let (ty, rest) = rest
        .split_once('/')
        .ok_or_else(|| err("no `/` after the type"))?;
    let valid_type = !ty.is_empty()
        && !ty.starts_with(|c: char| c.is_ascii_digit())
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    if !valid_type {
        return Err(err("invalid type"));
    }
    let rest = rest.trim_end_matches('/');

    let (rest, version) = match rest.rsplit_once('@') {
        Some((r, v)) => {
            let v = decode(v).map_err(|e| err(&format!("version: {e}")))?;
            (r, (!v.is_empty()).then_some(v))
        }
        None => (rest, None),
    };

    let (namespace, name) = match rest.rsplit_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, rest),
    };
    let name = decode(name).map_err(|e| err(&format!("name: {e}")))?;
    if name.is_empty() {
        return Err(err("empty name"));
    }
    let namespace = match namespace {
        Some(ns) => {
            let segs: Vec<String> = ns
                .split('/')
                .filter(|seg| !seg.is_empty())
                .map(|seg| decode(seg).map_err(|e| err(&format!("namespace: {e}"))))
                .collect::<Result<_, _>>()?;
            (!segs.is_empty()).then(|| segs.join("/"))
        }
        None => None,
    };

    Ok(Purl {
        ty: ty.to_ascii_lowercase(),
        namespace,
        name,
        version,
        qualifiers,
        subpath,
    })
}

/// Percent-decodes one purl component; the result must be UTF-8.
fn decode(s: &str) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes decode to invalid UTF-8".to_string())
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/') {
                write!(f, "{}/", encode(seg))?;
            }
        }
        f.write_str(&encode(&self.name))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v))?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            write!(f, "{}{k}={}", if i == 0 { '?' } else { '&' }, encode(v))?;
        }
        if let Some(sp) = &self.subpath {
            write!(f, "#{sp}")?;
        }
        Ok(())
    }
}

/// At most 100 characters of an untrusted string, quoted, for messages.
fn short(s: &str) -> String {
    crate::quote_capped(s, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_parsing() {
        let p = parse_purl(
            "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&epoch=1&upstream=shadow%404.13%2Bdfsg1-1",
        )
        .unwrap();
        assert_eq!(p.ty, "deb");
        assert_eq!(p.namespace.as_deref(), Some("debian"));
        assert_eq!(p.name, "login");
        assert_eq!(p.version.as_deref(), Some("4.13+dfsg1-1+b1"));
        assert_eq!(p.qualifier("upstream"), Some("shadow@4.13+dfsg1-1"));
        assert_eq!(p.qualifier("epoch"), Some("1"));

        // Syft leaves `+` unencoded; it is a literal plus, not a space.
        let p =
            parse_purl("pkg:deb/debian/tzdata@2021a-0+deb10u1?arch=all&distro=debian-10").unwrap();
        assert_eq!(p.version.as_deref(), Some("2021a-0+deb10u1"));

        let p = parse_purl("pkg:npm/%40angular/core@1.0.0#lib/x/../y").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("@angular"));
        assert_eq!(p.subpath.as_deref(), Some("lib/x/y"));
        let p = parse_purl("PKG://RPM/fedora/curl@7.50.3-1.fc25?Arch=i386&distro=").unwrap();
        assert_eq!(p.ty, "rpm");
        assert_eq!(p.qualifier("arch"), Some("i386"));
        assert_eq!(p.qualifier("distro"), None);

        for bad in [
            "deb/debian/x@1",
            "pkg:deb",
            "pkg:/x",
            "pkg:deb/debian/@1",
            "pkg:deb/debian/x@1%zz",
            "pkg:deb/debian/x@1%ff",
            "pkg:deb/debian/x@1?arch",
            "pkg:deb/debian/x@1?a=1&a=2",
            "pkg:1deb/x@1",
        ] {
            assert!(parse_purl(bad).is_err(), "{bad}");
        }
        let e = parse_purl("pkg:deb/debian/x@1%zz").unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }

    #[test]
    fn purl_display_round_trips() {
        let s = "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&epoch=1";
        assert_eq!(parse_purl(s).unwrap().to_string(), s);
    }
}
