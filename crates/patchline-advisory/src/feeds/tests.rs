use super::*;

/// Every format, listed through an exhaustive match so a new variant must be added here.
fn all_formats() -> Vec<Format> {
    let all = vec![
        Format::Osv,
        Format::DebianTracker,
        Format::AlpineSecdb,
        Format::Nvd,
        Format::Cve5,
        Format::Kev,
        Format::Epss,
        Format::OsvParts,
    ];
    for f in &all {
        match f {
            Format::Osv
            | Format::DebianTracker
            | Format::AlpineSecdb
            | Format::Nvd
            | Format::Cve5
            | Format::Kev
            | Format::Epss
            | Format::OsvParts => {}
        }
    }
    all
}

/// A small document of every layout each feed reads (the real files are checked by
/// `tests/real_feeds.rs`).
const SAMPLES: &[(Format, &str, &str)] = &[
    (Format::Osv, "X-1.json", r#"{"id":"X-1","affected":[]}"#),
    (
        Format::Osv,
        "X-2.json",
        r#"{"id":"X-2","modified":"2024-01-01T00:00:00Z"}"#,
    ),
    (Format::Osv, "x.json", r#"[{"id":"X-1","modified":"x"}]"#),
    (
        Format::Osv,
        "api.json",
        r#"{"vulns":[{"id":"X-1","modified":"x"}]}"#,
    ),
    (
        Format::DebianTracker,
        "json",
        r#"{"curl":{"CVE-1":{"releases":{}}}}"#,
    ),
    (
        Format::DebianTracker,
        "tracker.json",
        r#"{"curl":{"TEMP-0000000-1":{"description":"x","releases":{"trixie":{"status":"open"}}}}}"#,
    ),
    (
        Format::AlpineSecdb,
        "main.json",
        r#"{"distroversion":"v3.1","packages":[]}"#,
    ),
    (
        Format::AlpineSecdb,
        "main.json",
        r#"{"apkurl":"x","archs":[],"reponame":"main","urlprefix":"x","distroversion":"v3.19","packages":{}}"#,
    ),
    (
        Format::OsvParts,
        "CVE-2016-2176.alpine.json",
        r#"[{"pkg_name":"openssl","ecosystem":"Alpine:v3.3"}]"#,
    ),
    (
        Format::OsvParts,
        "CVE-2016-2176.nvd.json",
        r#"[{"fixed_version":{"AffectedVersions":[]}}]"#,
    ),
    (
        Format::Nvd,
        "page.json",
        r#"{"resultsPerPage":1,"format":"NVD_CVE","vulnerabilities":[]}"#,
    ),
    (
        Format::Nvd,
        "CVE-1.json",
        r#"{"cve":{"id":"CVE-1","sourceIdentifier":"x"}}"#,
    ),
    (
        Format::Nvd,
        "CVE-2.json",
        r#"{"id":"CVE-2","sourceIdentifier":"x","published":"x","metrics":{}}"#,
    ),
    (
        Format::Cve5,
        "CVE-3.json",
        r#"{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-3"}}"#,
    ),
    (
        Format::Cve5,
        "CVE-4.json",
        r#"{"containers":{"cna":{"descriptions":[]}},"cveMetadata":{"cveId":"CVE-4"}}"#,
    ),
    (
        Format::Kev,
        "known_exploited_vulnerabilities.json",
        r#"{"title":"CISA Catalog","catalogVersion":"1","dateReleased":"x","count":0,"vulnerabilities":[]}"#,
    ),
    (
        Format::Epss,
        "epss_scores-2024-05-02.csv",
        "#model_version:v2023.03.01,score_date:2024-05-02T00:00:00+0000\ncve,epss,percentile\n",
    ),
    (
        Format::Epss,
        "scores.csv",
        "cve,epss,percentile\nCVE-1,0.1,0.2\n",
    ),
];

#[test]
fn every_format_has_exactly_one_feed() {
    for f in all_formats() {
        let n = FEEDS.iter().filter(|x| x.format() == f).count();
        assert_eq!(n, 1, "{f}: {n} feeds in FEEDS");
        assert_eq!(by_format(f).format(), f);
        assert_eq!(Format::from_name(f.as_str()), Some(f));
    }
    assert_eq!(FEEDS.len(), all_formats().len());
    assert_eq!(Format::from_name("nope"), None);
}

#[test]
fn every_sample_is_claimed_by_exactly_its_feed() {
    for f in all_formats() {
        assert!(
            SAMPLES.iter().any(|(g, _, _)| *g == f),
            "{f}: no sample document"
        );
    }
    for (format, name, body) in SAMPLES {
        assert_eq!(
            claimants(name, body.as_bytes()).unwrap(),
            [*format],
            "{name}: {body}"
        );
        // With a byte order mark too, and leading whitespace before JSON.
        let padded = if *format == Format::Epss {
            format!("\u{feff}{body}")
        } else {
            format!("\u{feff}\n  {body}")
        };
        assert_eq!(claimants(name, padded.as_bytes()).unwrap(), [*format]);
        let origin = Origin {
            file: name.to_string(),
            member: None,
        };
        let doc = Document::new(&origin, body.as_bytes()).unwrap();
        assert_eq!(detect(&doc).map(|f| f.format()), Ok(*format), "{name}");
    }
}

#[test]
fn documents_of_no_feed_are_described() {
    let no = |body: &str| {
        let origin = Origin::default();
        let doc = Document::new(&origin, body.as_bytes()).unwrap();
        assert!(
            claimants("x.json", body.as_bytes()).unwrap().is_empty(),
            "{body}"
        );
        detect(&doc).map(|f| f.format()).unwrap_err()
    };
    assert_eq!(no(r#"{"hello":1}"#), r#"a JSON object with keys ["hello"]"#);
    assert_eq!(no("[]"), "an empty JSON array");
    assert_eq!(no("{}"), "an empty JSON object");
    assert_eq!(no("3"), "text starting \"3\"");
    assert_eq!(no("  \n"), "an empty file");
    assert_eq!(no(""), "an empty file");
    assert_eq!(no("a\0b"), "binary data");
    assert_eq!(no("cve,score\nCVE-1,3\n"), "text starting \"cve,score\"");
    // A JSON schema beside the data (the KEV catalog's ships one).
    assert!(
        no(r#"{"$schema":"x","title":"t","type":"object","properties":{}}"#)
            .starts_with("a JSON object with keys")
    );
    assert!(Document::new(&Origin::default(), b"{\"a\":").is_err());
}

#[test]
fn a_document_two_feeds_claim_is_ambiguous() {
    // Crafted: KEV's keys and a CVE 5 record's at once.
    let body = r#"{"cveMetadata":{},"catalogVersion":"1","vulnerabilities":[]}"#;
    assert_eq!(
        claimants("x.json", body.as_bytes()).unwrap(),
        [Format::Cve5, Format::Kev]
    );
    let origin = Origin::default();
    let doc = Document::new(&origin, body.as_bytes()).unwrap();
    let e = detect(&doc).map(|f| f.format()).unwrap_err();
    assert!(
        e.starts_with("ambiguous") && e.contains("CVE JSON 5"),
        "{e}"
    );
}

#[test]
fn walked_names_are_the_feeds_extensions_and_wrappers() {
    for n in [
        "a.json", "A.JSON", "s.csv", "s.csv.gz", "all.zip", "x.yaml", "X.YML",
    ] {
        assert!(feed_like_name(n), "{n}");
    }
    for n in ["README.md", "LICENSE", "json", "x.json.txt"] {
        assert!(!feed_like_name(n), "{n}");
    }
}

#[test]
fn kinds_ranks_and_titles() {
    for f in FEEDS {
        let advisory = matches!(
            f.format(),
            Format::Osv | Format::DebianTracker | Format::AlpineSecdb | Format::OsvParts
        );
        assert_eq!(f.format().is_advisory(), advisory, "{}", f.format());
        assert!(!f.title().is_empty());
    }
    let ranks: Vec<u8> = [Format::Nvd, Format::Cve5, Format::Kev, Format::Epss]
        .iter()
        .map(|f| f.enrichment_rank())
        .collect();
    assert_eq!(ranks, [0, 1, 2, 3]);
    assert!(Format::Osv.enrichment_rank() > 3);
    let t = titles();
    assert!(
        t.starts_with("OSV JSON (or YAML) or all.zip, Debian security tracker JSON")
            && t.ends_with(", CISA KEV JSON or an EPSS CSV (plain or gzip)"),
        "{t}"
    );
}

#[test]
fn downloads_have_unique_names_and_official_urls() {
    let mut names = Vec::new();
    for f in FEEDS {
        for d in f.downloads() {
            assert!(d.url.starts_with("https://"), "{}: {}", d.name, d.url);
            assert!(!names.contains(&d.name), "{} twice", d.name);
            names.push(d.name);
        }
    }
    for n in [
        "debian-tracker",
        "kev",
        "epss",
        "osv-Alpine",
        "osv-Rocky Linux",
    ] {
        assert!(names.iter().any(|x| x == n), "{n}");
    }
}
