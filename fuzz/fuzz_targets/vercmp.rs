#![no_main]
//! Version parsing and comparison, every scheme (`Scheme::ALL`, so Composer's
//! `version_compare` order and `VersionParser` validation too): never panics, and
//! the order laws hold for whatever parses. Input: two versions separated by the
//! first newline (the third line, if any, is a third version for transitivity).

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use patchline_version::{apk_fuzzy_match, pep440_normalize, Scheme};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let a = lines.next().unwrap_or("");
    let b = lines.next().unwrap_or("");
    let c = lines.next().unwrap_or("");

    for scheme in Scheme::ALL {
        let (pa, pb, pc) = (scheme.parse(a), scheme.parse(b), scheme.parse(c));
        for (s, p) in [(a, &pa), (b, &pb), (c, &pc)] {
            // `validate` is never looser than `parse`.
            if scheme.validate(s).is_ok() {
                assert!(p.is_ok(), "{scheme}: {s:?} validates but does not parse");
            }
            if let Ok(v) = p {
                assert_eq!(
                    v.cmp(v),
                    Ordering::Equal,
                    "{scheme}: {s:?} not equal to itself"
                );
                let _ = v.canonical();
            }
        }
        if let (Ok(x), Ok(y)) = (&pa, &pb) {
            assert_eq!(x.cmp(y), y.cmp(x).reverse(), "{scheme}: {a:?} vs {b:?}");
            // Transitivity holds for everything that parses (PEP 440 legacy
            // versions, separator-less gem pre-releases, any Composer string), except
            // apk's own comparison of malformed versions, kept for fidelity.
            let lawful = scheme != Scheme::Apk
                || [a, b, c].iter().all(|s| scheme.validate(s).is_ok());
            if let (Ok(z), true) = (&pc, lawful) {
                if x <= y && y <= z {
                    assert!(
                        x <= z,
                        "{scheme}: {a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}"
                    );
                }
            }
        }
    }
    if let Ok(n) = pep440_normalize(a) {
        // The normal form is a fixed point and denotes the same version.
        assert_eq!(pep440_normalize(&n).as_deref(), Ok(n.as_str()));
        assert_eq!(Scheme::Pep440.compare(a, &n), Ok(Ordering::Equal));
    }
    let _ = apk_fuzzy_match(a, b);
});
