//! The reference implementations' own test suites, run against this crate.
//!
//! Data: `shared/data/versions` next to the repository (provenance in
//! `shared/data/SOURCES.md`, section A). Every row is checked in both directions
//! (`a op b` and `b op.reverse() a`) and every mismatch is reported with its line
//! number before the test fails. Rows where osv-scalibr's hand-written fixtures
//! disagree with the ecosystem's own tool are listed in [`deviations`] with the
//! reason; the test checks that they still behave exactly as documented there.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::Path;

use patchline_test_support::shared_data_path;
use patchline_version::{apk_fuzzy_match, pep440_normalize, Scheme};

fn read(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Row {
    line: usize,
    a: String,
    op: String,
    b: String,
}

/// `left<TAB>op<TAB>right` rows; blank lines and `#` comments are skipped, fields
/// are not trimmed (some inputs test surrounding whitespace).
fn rows(text: &str, name: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            f.len(),
            3,
            "{name}:{}: expected 3 tab-separated fields: {line:?}",
            i + 1
        );
        out.push(Row {
            line: i + 1,
            a: f[0].to_string(),
            op: f[1].to_string(),
            b: f[2].to_string(),
        });
    }
    out
}

fn op_ordering(op: &str) -> Ordering {
    match op {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        _ => panic!("unknown operator {op:?}"),
    }
}

fn sym(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// What a row produced: `<`, `=`, `>` for both directions consistent with each
/// other, or a description of the failure.
fn outcome(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, String> {
    let ab = scheme.compare(a, b).map_err(|e| format!("error: {e}"))?;
    let ba = scheme.compare(b, a).map_err(|e| format!("error: {e}"))?;
    if ba != ab.reverse() {
        return Err(format!(
            "not antisymmetric: a {} b but b {} a",
            sym(ab),
            sym(ba)
        ));
    }
    Ok(ab)
}

/// How a documented deviation behaves here.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Here {
    /// One of the two inputs is rejected by `parse`.
    Rejected,
    /// Ordered this way instead.
    Orders(Ordering),
}

struct Deviation {
    a: &'static str,
    op: &'static str,
    b: &'static str,
    here: Here,
    why: &'static str,
}

/// Rows of osv-scalibr's fixtures that contradict the ecosystem's own tool in the
/// version whose test suite this crate follows: hand-written rows reflecting
/// osv-scalibr's own lenient parsers, and generated rows produced by an older
/// Maven.
fn deviations(file: &str, scheme: Scheme) -> Vec<Deviation> {
    const NOT_SEMVER: &str = "not SemVer: node-semver and the Rust semver crate reject it; \
        osv-scalibr's lenient 'semver-like' parser accepts any number of components";
    const NOT_GO: &str = "not a Go module version: golang.org/x/mod/semver rejects more \
        than three components";
    const NOT_APK: &str = "malformed (apk_version_validate rejects it); apk-tools 3 stops \
        comparing at the malformed token, osv-scalibr's own parser (and partly apk-tools 2) \
        reads further";
    const MAVEN_386: &str = "generated with maven-artifact 3.8.6; Maven 3.9 (MNG-7644: \
        `1.0.0.X1` is `1.0.0-X1`) and the combination items of current Maven (`rc2` is one \
        item, greater than `rc`) order it the other way, as Maven's own current test suite \
        (maven.tsv) requires";
    const MAVEN_NOW: &str = "osv-scalibr's hand-written expectation; current Maven reads \
        `X-1` as the combination `X1`, which is not equal to a bare qualifier list";
    const PHP_HASH: &str = "osv-scalibr's own comparator keeps `#` as a token ranked like a \
        number (PHP's rank for `#`), which makes `1.2.3.#` equal to both `1.2.3` (the row \
        above it) and `1.2.3.1`, although 1.2.3 < 1.2.3.1: no total order has both. Here `#` \
        separates, as PHP's version_compare() treats it; no OSV Packagist version contains it";
    let d = |a, op, b, here, why| Deviation {
        a,
        op,
        b,
        here,
        why,
    };
    use Here::*;
    match (file, scheme) {
        ("osv-scalibr/semver-versions.tsv", Scheme::Semver) => vec![
            d(
                "999999999999999999999999999991",
                "<",
                "999999999999999999999999999999",
                Rejected,
                NOT_SEMVER,
            ),
            d("1.1.3.4.5", "=", "1.1.3.4.5", Rejected, NOT_SEMVER),
        ],
        ("osv-scalibr/semver-versions.tsv", Scheme::Go) => {
            vec![d("1.1.3.4.5", "=", "1.1.3.4.5", Rejected, NOT_GO)]
        }
        ("osv-scalibr/alpine-versions.tsv", Scheme::Apk) => [
            ("1-r", "=", "1-r0", Orders(Ordering::Less)),
            ("0..1..0", "<", "0..1..1", Orders(Ordering::Equal)),
            ("0...1...0", "<", "0...1...1", Orders(Ordering::Equal)),
            ("0...1...0.r1", "<", "0...1...0.r2", Orders(Ordering::Equal)),
            ("0...1...0r1", "<", "0...1...0r2", Orders(Ordering::Equal)),
            ("0..8", ">", "0...8", Orders(Ordering::Equal)),
            ("0.8.21.r2", ">", "0.8.21.r1", Orders(Ordering::Equal)),
            ("1-r0-1", "=", "1-r-2", Orders(Ordering::Greater)),
            (".2", ">", ".1", Orders(Ordering::Equal)),
            ("a", "<", "b", Orders(Ordering::Equal)),
            ("c", ">", "b", Orders(Ordering::Equal)),
        ]
        .into_iter()
        .map(|(a, op, b, here)| d(a, op, b, here, NOT_APK))
        .collect(),
        ("osv-scalibr/maven-versions.tsv", Scheme::Maven) => vec![
            d(
                "1-1.foo-bar-1-baz-0.1",
                "=",
                "1-1.foo-bar1baz-.1",
                Orders(Ordering::Greater),
                MAVEN_NOW,
            ),
            d("1-1", "=", "1-ga-1", Orders(Ordering::Greater), MAVEN_NOW),
        ],
        ("osv-scalibr/maven-versions-generated.tsv", Scheme::Maven) => [
            ("3.2.0rc2", "3.2.0-rc.1"),
            ("1.0.0-RC16", "1.0.0.RC8-beta"),
            ("1.0.0-gradle-rework-beta3", "1.0.0.RC7-3"),
            ("2.9.0-1", "2.9.0.RC1"),
            ("6.1.12.rc5", "6.1.12rc1"),
            ("1.0.0-beta11", "1.0.0-beta.6"),
            ("1.1.31.sec10", "1.1.31_noneautotype"),
            ("1.1.34.sec10", "1.1.34_noneautotype"),
            ("1.1.46.sec10", "1.1.46_noneautotype"),
            ("1.2.8.sec10_noneautotype", "1.2.8_noneautotype"),
            ("1.2.31.sec10", "1.2.31_noneautotype"),
            ("1.2.48.sec10", "1.2.48_noneautotype"),
            ("1.2.50.sec10", "1.2.50_noneautotype"),
            ("1.2.54.sec10", "1.2.54_noneautotype"),
            ("1.2.57.sec10", "1.2.57_noneautotype"),
            ("1.2.60.sec10", "1.2.60_noneautotype"),
            ("1.2.67.sec10", "1.2.67_noneautotype"),
            ("1.0.0rc0", "1.0.beta8"),
            ("1.5.9.RC1", "1.5.9-RC0"),
            ("3.5.0-CR-2", "3.5.0.Beta-1"),
            ("1.1.0-01-glassfish", "1.1.0.Beta1"),
            ("v3.7.0rc2", "v3.7.0-rc.3"),
        ]
        .into_iter()
        .map(|(a, b)| d(a, "<", b, Orders(Ordering::Greater), MAVEN_386))
        .collect(),
        ("osv-scalibr/packagist-versions.tsv", Scheme::Composer) => vec![d(
            "1.2.3.#",
            "=",
            "1.2.3.1",
            Orders(Ordering::Less),
            PHP_HASH,
        )],
        _ => Vec::new(),
    }
}

struct Report {
    rows: usize,
    agree: usize,
    documented: usize,
    mismatches: Vec<String>,
}

fn run_pairs(dir: &Path, file: &str, scheme: Scheme) -> Report {
    let text = read(dir, file);
    let devs = deviations(file, scheme);
    let mut used = vec![false; devs.len()];
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for row in rows(&text, file) {
        rep.rows += 1;
        let want = op_ordering(&row.op);
        let got = outcome(scheme, &row.a, &row.b);
        if let Some(k) = devs
            .iter()
            .position(|d| d.a == row.a && d.op == row.op && d.b == row.b)
        {
            used[k] = true;
            let here = match &got {
                Ok(o) => Here::Orders(*o),
                Err(e) if e.starts_with("error:") => Here::Rejected,
                Err(e) => {
                    rep.mismatches.push(format!("{file}:{}: {e}", row.line));
                    continue;
                }
            };
            if here == devs[k].here {
                rep.documented += 1;
            } else {
                rep.mismatches.push(format!(
                    "{file}:{}: documented deviation {:?} {} {:?} now gives {here:?}, not {:?} ({})",
                    row.line, row.a, row.op, row.b, devs[k].here, devs[k].why
                ));
            }
            continue;
        }
        match got {
            Ok(o) if o == want => rep.agree += 1,
            Ok(o) => rep.mismatches.push(format!(
                "{file}:{}: {:?} {} {:?}: got {}",
                row.line,
                row.a,
                row.op,
                row.b,
                sym(o)
            )),
            Err(e) => rep.mismatches.push(format!(
                "{file}:{}: {:?} {} {:?}: {e}",
                row.line, row.a, row.op, row.b
            )),
        }
    }
    for (k, d) in devs.iter().enumerate() {
        if !used[k] {
            rep.mismatches.push(format!(
                "{file}: documented deviation {:?} {} {:?} not found in the file",
                d.a, d.op, d.b
            ));
        }
    }
    rep
}

fn check(file: &str, scheme: Scheme) {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let rep = run_pairs(&dir, file, scheme);
    finish(file, scheme, rep);
}

/// [`check`] for a file that must agree on every row, with no documented
/// deviation to fall back on.
fn check_every_row(file: &str, scheme: Scheme) {
    assert!(
        deviations(file, scheme).is_empty(),
        "{file} as {scheme} must agree on every row: no deviations may be listed"
    );
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let rep = run_pairs(&dir, file, scheme);
    let (rows, agree) = (rep.rows, rep.agree);
    finish(file, scheme, rep);
    assert_eq!(agree, rows, "{file} as {scheme}: every row must agree");
}

fn finish(file: &str, scheme: Scheme, rep: Report) {
    let mut msg = String::new();
    let _ = write!(
        msg,
        "{file} as {scheme}: {} rows, {} agree, {} documented deviations, {} mismatches",
        rep.rows,
        rep.agree,
        rep.documented,
        rep.mismatches.len()
    );
    eprintln!("{msg}");
    if !rep.mismatches.is_empty() {
        for m in &rep.mismatches {
            eprintln!("  {m}");
        }
        panic!("{msg}");
    }
    assert!(rep.rows > 0, "{file}: no rows");
}

// --- native suites -------------------------------------------------------------

#[test]
fn dpkg_tsv() {
    check("dpkg.tsv", Scheme::Dpkg);
}

#[test]
fn rpm_tsv() {
    check("rpm.tsv", Scheme::Rpm);
}

#[test]
fn apk_tsv() {
    check("apk.tsv", Scheme::Apk);
}

#[test]
fn pep440_tsv() {
    check("pep440.tsv", Scheme::Pep440);
}

#[test]
fn maven_tsv() {
    check("maven.tsv", Scheme::Maven);
}

/// Maven's own test also checks that the canonical form is a fixed point.
#[test]
fn maven_tsv_canonical_is_a_fixed_point() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "maven.tsv";
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for row in rows(&read(&dir, file), file) {
        for v in [&row.a, &row.b] {
            rep.rows += 1;
            let canonical = Scheme::Maven.parse(v).ok().and_then(|p| p.canonical());
            let again = canonical
                .as_deref()
                .and_then(|c| Scheme::Maven.parse(c).ok())
                .and_then(|p| p.canonical());
            match (&canonical, &again) {
                (Some(c), Some(d)) if c == d => rep.agree += 1,
                _ => rep.mismatches.push(format!(
                    "{file}:{}: canonical({v:?}) = {canonical:?}, canonical of that = {again:?}",
                    row.line
                )),
            }
        }
    }
    finish(file, Scheme::Maven, rep);
}

#[test]
fn semver_tsv() {
    check("semver.tsv", Scheme::Semver);
}

#[test]
fn gomod_semver_tsv() {
    check("gomod_semver.tsv", Scheme::Go);
}

#[test]
fn apk_validity_tsv() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "apk_validity.tsv";
    let text = read(&dir, file);
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let Some((v, want)) = line.split_once('\t') else {
            panic!("{file}:{}: expected version<TAB>valid|invalid", i + 1);
        };
        rep.rows += 1;
        let got = Scheme::Apk.validate(v);
        let ok = match want {
            "valid" => got.is_ok(),
            "invalid" => got.is_err(),
            _ => panic!("{file}:{}: unknown verdict {want:?}", i + 1),
        };
        if ok {
            rep.agree += 1;
        } else {
            rep.mismatches.push(format!(
                "{file}:{}: {v:?} should be {want}: got {got:?}",
                i + 1
            ));
        }
    }
    finish(file, Scheme::Apk, rep);
}

fn check_all_invalid(file: &str, scheme: Scheme) {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let text = read(&dir, file);
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for (i, v) in text.lines().enumerate() {
        rep.rows += 1;
        match scheme.validate(v) {
            Err(_) => rep.agree += 1,
            Ok(()) => rep.mismatches.push(format!(
                "{file}:{}: {v:?} accepted, should be invalid",
                i + 1
            )),
        }
    }
    finish(file, scheme, rep);
}

#[test]
fn pep440_invalid_txt() {
    check_all_invalid("pep440_invalid.txt", Scheme::Pep440);
}

#[test]
fn gomod_semver_invalid_txt() {
    check_all_invalid("gomod_semver_invalid.txt", Scheme::Go);
}

#[test]
fn pep440_sorted_txt() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "pep440_sorted.txt";
    let text = read(&dir, file);
    let versions: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    // Every pair, like packaging's own test: the list is strictly increasing.
    for (k, &(la, a)) in versions.iter().enumerate() {
        for &(lb, b) in &versions[k..] {
            rep.rows += 1;
            let want = if la == lb {
                Ordering::Equal
            } else {
                Ordering::Less
            };
            match outcome(Scheme::Pep440, a, b) {
                Ok(o) if o == want => rep.agree += 1,
                got => rep.mismatches.push(format!(
                    "{file}:{la}/{lb}: {a:?} {} {b:?}: got {got:?}",
                    sym(want)
                )),
            }
        }
    }
    finish(file, Scheme::Pep440, rep);
}

#[test]
fn pep440_normalized_json() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "pep440_normalized.json";
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&read(&dir, file)).expect("pep440_normalized.json is a JSON array");
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for (i, e) in entries.iter().enumerate() {
        let (Some(input), Some(want)) = (e["input"].as_str(), e["normalized"].as_str()) else {
            panic!("{file}: entry {i} lacks input/normalized strings");
        };
        rep.rows += 1;
        let got = pep440_normalize(input);
        let equal = Scheme::Pep440.compare(input, want);
        match (&got, &equal) {
            (Ok(g), Ok(Ordering::Equal)) if g == want => rep.agree += 1,
            _ => rep.mismatches.push(format!(
                "{file}: entry {i}: {input:?} should normalize to {want:?}: got {got:?}, compare {equal:?}"
            )),
        }
    }
    finish(file, Scheme::Pep440, rep);
}

/// Loose-mode rows: strict SemVer must reject them or agree, never misorder.
#[test]
fn semver_loose_tsv_is_rejected_or_agrees() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "semver_loose.tsv";
    let text = read(&dir, file);
    let (mut rejected, mut agree, mut wrong) = (0, 0, Vec::new());
    for row in rows(&text, file) {
        match outcome(Scheme::Semver, &row.a, &row.b) {
            Ok(o) if o == op_ordering(&row.op) => agree += 1,
            Err(e) if e.starts_with("error:") => rejected += 1,
            got => wrong.push(format!(
                "{file}:{}: {:?} {} {:?}: {got:?}",
                row.line, row.a, row.op, row.b
            )),
        }
    }
    eprintln!(
        "{file} (informative) as semver: {agree} agree, {rejected} rejected as not strict, {} misordered",
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// apk's fuzzy operators (informative upstream, cheap to keep honest).
#[test]
fn apk_fuzzy_tsv() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "apk_fuzzy.tsv";
    let text = read(&dir, file);
    let mut rep = Report {
        rows: 0,
        agree: 0,
        documented: 0,
        mismatches: Vec::new(),
    };
    for row in rows(&text, file) {
        rep.rows += 1;
        let fuzzy = apk_fuzzy_match(&row.a, &row.b);
        let ord = Scheme::Apk
            .compare(&row.a, &row.b)
            .expect("apk parses non-empty strings");
        let ok = match row.op.as_str() {
            "~" => fuzzy,
            "!~" => !fuzzy,
            "<~" => fuzzy || ord == Ordering::Less,
            ">~" => fuzzy || ord == Ordering::Greater,
            op => panic!("{file}:{}: unknown operator {op:?}", row.line),
        };
        if ok {
            rep.agree += 1;
        } else {
            rep.mismatches.push(format!(
                "{file}:{}: {:?} {} {:?} does not hold (fuzzy={fuzzy}, cmp={ord:?})",
                row.line, row.a, row.op, row.b
            ));
        }
    }
    finish(file, Scheme::Apk, rep);
}

/// rpm's commented-out "arguably buggy" cases: report only.
#[test]
fn rpm_disabled_oddities_tsv_report_only() {
    let Some(dir) = shared_data_path("versions") else {
        return;
    };
    let file = "rpm_disabled_oddities.tsv";
    let rep = run_pairs(&dir, file, Scheme::Rpm);
    eprintln!(
        "{file} (informative) as rpm: {} rows, {} agree, {} differ",
        rep.rows,
        rep.agree,
        rep.mismatches.len()
    );
    for m in &rep.mismatches {
        eprintln!("  {m}");
    }
}

// --- osv-scalibr ----------------------------------------------------------------
// Ecosystems not implemented here (CRAN, Hackage, Pub) are not run.

#[test]
fn scalibr_alpine() {
    check("osv-scalibr/alpine-versions.tsv", Scheme::Apk);
}

#[test]
fn scalibr_alpine_generated() {
    check("osv-scalibr/alpine-versions-generated.tsv", Scheme::Apk);
}

#[test]
fn scalibr_debian() {
    check("osv-scalibr/debian-versions.tsv", Scheme::Dpkg);
}

#[test]
fn scalibr_debian_generated() {
    check("osv-scalibr/debian-versions-generated.tsv", Scheme::Dpkg);
}

#[test]
fn scalibr_redhat() {
    check("osv-scalibr/redhat-versions.tsv", Scheme::Rpm);
}

#[test]
fn scalibr_pypi() {
    check_every_row("osv-scalibr/pypi-versions.tsv", Scheme::Pep440);
}

#[test]
fn scalibr_pypi_generated() {
    check_every_row("osv-scalibr/pypi-versions-generated.tsv", Scheme::Pep440);
}

#[test]
fn scalibr_maven() {
    check("osv-scalibr/maven-versions.tsv", Scheme::Maven);
}

#[test]
fn scalibr_maven_generated() {
    check("osv-scalibr/maven-versions-generated.tsv", Scheme::Maven);
}

#[test]
fn scalibr_semver_as_semver() {
    check("osv-scalibr/semver-versions.tsv", Scheme::Semver);
}

#[test]
fn scalibr_semver_as_go() {
    check("osv-scalibr/semver-versions.tsv", Scheme::Go);
}

#[test]
fn scalibr_rubygems() {
    check_every_row("osv-scalibr/rubygems-versions.tsv", Scheme::Gem);
}

#[test]
fn scalibr_rubygems_generated() {
    check_every_row("osv-scalibr/rubygems-versions-generated.tsv", Scheme::Gem);
}

/// Hand-written by osv-scalibr; one row needs a non-transitive order (see
/// [`deviations`]).
#[test]
fn scalibr_packagist() {
    check("osv-scalibr/packagist-versions.tsv", Scheme::Composer);
}

/// Generated with PHP's version_compare() from every version in OSV's Packagist
/// data.
#[test]
fn scalibr_packagist_generated() {
    check_every_row(
        "osv-scalibr/packagist-versions-generated.tsv",
        Scheme::Composer,
    );
}

#[test]
fn scalibr_nuget() {
    check("osv-scalibr/nuget-versions.tsv", Scheme::Nuget);
}
