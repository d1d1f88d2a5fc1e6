//! Order laws for every scheme on generated versions of realistic shape:
//! reflexivity, antisymmetry (`cmp(a, b) == cmp(b, a).reverse()`) and
//! transitivity (of both `<=` and `=`), checked over every triple of a small set.
//! Small alphabets make ties and near-ties, where order bugs live, likely.

use std::cmp::Ordering;

use patchline_version::{Scheme, Version};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

fn check_laws(scheme: Scheme, inputs: &[String]) -> Result<(), TestCaseError> {
    let vs: Vec<Version> = inputs
        .iter()
        .map(|s| scheme.parse(s))
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(format!("generator made an invalid version: {e}")))?;
    for a in &vs {
        prop_assert_eq!(a.cmp(a), Ordering::Equal, "reflexivity of {}", a);
        for b in &vs {
            let ab = a.cmp(b);
            prop_assert_eq!(ab, b.cmp(a).reverse(), "antisymmetry of {} and {}", a, b);
            for c in &vs {
                let (bc, ac) = (b.cmp(c), a.cmp(c));
                if ab.is_le() && bc.is_le() {
                    prop_assert!(
                        ac.is_le(),
                        "{} <= {} <= {} but {} {:?} {}",
                        a,
                        b,
                        c,
                        a,
                        ac,
                        c
                    );
                }
                if ab.is_eq() && bc.is_eq() {
                    prop_assert!(ac.is_eq(), "{} = {} = {} but {} {:?} {}", a, b, c, a, ac, c);
                }
            }
        }
    }
    Ok(())
}

fn set(s: BoxedStrategy<String>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(s, 2..7)
}

fn re(pattern: &str) -> BoxedStrategy<String> {
    proptest::string::string_regex(pattern)
        .unwrap_or_else(|e| panic!("bad generator pattern {pattern:?}: {e}"))
        .boxed()
}

fn one_of(words: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(words).prop_map(str::to_string).boxed()
}

fn dpkg() -> BoxedStrategy<String> {
    re("([0-2]:)?[0-9]{1,2}([.+~]?[0-9a-c]{0,2}){0,3}(-[0-9][0-9a-c.+~]{0,3})?")
}

fn rpm() -> BoxedStrategy<String> {
    re("([0-2]:)?[0-9a-c]{1,2}([._+~^]?[0-9a-c]{0,2}){0,3}(-[0-9a-c.~^]{0,4})?")
}

fn apk() -> BoxedStrategy<String> {
    re("[0-9]{1,2}(\\.[0-9]{1,2}){0,3}[a-c]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(~[0-9a-f]{1,3})?(-r[0-9]{1,2})?")
}

fn pep440() -> BoxedStrategy<String> {
    let modern = "(v)?([0-2]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}([-_.]?(a|b|rc|c|alpha|beta|pre|preview)[0-9]{0,2})?(\\.post[0-9]?|-[0-9]|\\.r[0-9]?)?(\\.dev[0-9]?)?(\\+[a-c0-9]{1,3}([-_.][a-c0-9]{1,2}){0,2})?";
    // Legacy (non-PEP 440) strings sort before all of them.
    let legacy = "[0-9]{1,2}[.-]?(final|dev|pre|rc|x|m)?[-.:_]?[0-9]{0,2}";
    prop_oneof![3 => re(modern), 1 => re(legacy)].boxed()
}

const NUM: &str = "(0|[1-9][0-9]?)";
const PRE_ID: &str = "(0|[1-9][0-9]?|[a-cA-C-][0-9a-cA-C-]{0,2})";

fn semver() -> BoxedStrategy<String> {
    re(&format!(
        "v?{NUM}\\.{NUM}\\.{NUM}(-{PRE_ID}(\\.{PRE_ID}){{0,2}})?(\\+[0-9a-z-]{{1,3}})?"
    ))
}

fn go() -> BoxedStrategy<String> {
    prop_oneof![
        re(&format!("v{NUM}(\\.{NUM})?")),
        re(&format!(
            "v?{NUM}\\.{NUM}\\.{NUM}(-{PRE_ID}(\\.{PRE_ID}){{0,2}})?(\\+incompatible)?"
        )),
        // Pseudo-versions: vX.0.0-yyyymmddhhmmss-hash and vX.Y.(Z+1)-0.yyyymmddhhmmss-hash.
        re(&format!(
            "v{NUM}\\.0\\.0-2019110[89]02193[0-9]-[0-9a-f]{{12}}"
        )),
        re(&format!(
            "v{NUM}\\.{NUM}\\.{NUM}-0\\.2019110[89]02193[0-9]-[0-9a-f]{{12}}"
        )),
    ]
    .boxed()
}

fn maven() -> BoxedStrategy<String> {
    let item = prop_oneof![
        re("[0-9]{1,2}"),
        one_of(&[
            "alpha",
            "a",
            "beta",
            "b",
            "m",
            "milestone",
            "rc",
            "cr",
            "snapshot",
            "ga",
            "final",
            "release",
            "sp",
            "foo",
            "x",
            "RC",
            "Final",
        ]),
    ];
    let sep = one_of(&[".", "-", ""]);
    prop::collection::vec((sep, item), 1..6)
        .prop_map(|parts| {
            let mut s = String::new();
            for (i, (sep, item)) in parts.into_iter().enumerate() {
                if i > 0 {
                    s.push_str(&sep);
                }
                s.push_str(&item);
            }
            s
        })
        .boxed()
}

fn gem() -> BoxedStrategy<String> {
    // The optional letters right after the first number are what only `parse`
    // accepts (`1beta`); the order must stay lawful with them.
    re("[0-9]{1,2}([a-c]{1,2}[0-9]?)?(\\.([0-9]{1,2}|[a-cA]{1,2}[0-9]?)){0,3}(-[a-c0-9]{1,3}(\\.[a-c0-9]{1,2})?)?")
}

fn composer() -> BoxedStrategy<String> {
    let realistic = "[vV]?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}([-_.+]?(dev|alpha|a|beta|b|RC|rc|p|pl|patch|stable|BETA|x)[.-]?[0-9]{0,2}){0,2}";
    // Anything goes for `version_compare()`: odd separators (`#` included),
    // leading ones, letters in any case.
    let odd = "[#~ .+_-]{0,2}[vV]?[0-9a-dpRCxX#~ .+_-]{0,8}";
    prop_oneof![3 => re(realistic), 1 => re(odd)]
        .prop_filter("non-empty", |s| !s.is_empty())
        .boxed()
}

fn nuget() -> BoxedStrategy<String> {
    re(&format!(
        "[0-9]{{1,2}}(\\.[0-9]{{1,2}}){{0,3}}(-{PRE_ID}(\\.{PRE_ID}){{0,2}})?(\\+[0-9a-zA-Z]{{1,3}})?"
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dpkg_is_a_total_order(vs in set(dpkg())) { check_laws(Scheme::Dpkg, &vs)?; }

    #[test]
    fn rpm_is_a_total_order(vs in set(rpm())) { check_laws(Scheme::Rpm, &vs)?; }

    #[test]
    fn apk_is_a_total_order(vs in set(apk())) { check_laws(Scheme::Apk, &vs)?; }

    #[test]
    fn pep440_is_a_total_order(vs in set(pep440())) { check_laws(Scheme::Pep440, &vs)?; }

    #[test]
    fn semver_is_a_total_order(vs in set(semver())) { check_laws(Scheme::Semver, &vs)?; }

    #[test]
    fn go_is_a_total_order(vs in set(go())) { check_laws(Scheme::Go, &vs)?; }

    #[test]
    fn maven_is_a_total_order(vs in set(maven())) { check_laws(Scheme::Maven, &vs)?; }

    #[test]
    fn gem_is_a_total_order(vs in set(gem())) { check_laws(Scheme::Gem, &vs)?; }

    #[test]
    fn nuget_is_a_total_order(vs in set(nuget())) { check_laws(Scheme::Nuget, &vs)?; }

    #[test]
    fn composer_is_a_total_order(vs in set(composer())) { check_laws(Scheme::Composer, &vs)?; }

    /// Parsing never panics, whatever the input, and `validate` is never looser
    /// than `parse`.
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,24}|[0-9a-zA-Z.:~^+_-]{0,16}") {
        for scheme in Scheme::ALL {
            let parsed = scheme.parse(&s);
            if scheme.validate(&s).is_ok() {
                prop_assert!(parsed.is_ok(), "{} validates {:?} but does not parse it", scheme, s);
            }
            if let Ok(v) = parsed {
                prop_assert_eq!(v.cmp(&v), Ordering::Equal);
            }
        }
    }
}
