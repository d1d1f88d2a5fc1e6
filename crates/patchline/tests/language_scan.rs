//! Language packages matched against osv.dev's real records (`../shared/data/osv`): an
//! SBOM listing Python, Go and npm packages gives exactly the advisories whose ranges
//! hold each version, and a package of an ecosystem the DB holds nothing for is listed
//! as not matched (never a clean result).

mod common;

use common::*;
use patchline_test_support::shared_data_path;
use serde_json::json;

#[test]
fn python_and_go_packages_get_exactly_the_osv_advisories_whose_ranges_hold_them() {
    let Some(pypi) = shared_data_path("osv/PyPI") else {
        return;
    };
    let Some(go) = shared_data_path("osv/Go") else {
        return;
    };
    let env = AdvisoryEnv::with_feeds(&[&pypi, &go]);
    let dir = tempfile::tempdir().unwrap();
    let sbom = dir.path().join("app.cdx.json");
    let doc = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"component": {"type": "container", "name": "app"}},
        "components": [
            {"type": "library", "name": "requests", "version": "2.25.0", "purl": "pkg:pypi/requests@2.25.0"},
            // PEP 503: the same distribution however it is spelled.
            {"type": "library", "name": "urllib3", "version": "1.26.4", "purl": "pkg:pypi/URLLib3@1.26.4"},
            {"type": "library", "name": "net", "version": "v0.0.0-20200202094626-16171245cfb2",
             "purl": "pkg:golang/golang.org/x/net@v0.0.0-20200202094626-16171245cfb2"},
            {"type": "library", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"}
        ]
    });
    std::fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
    let sbom_arg = format!("sbom:{}", sbom.display());
    let report = patchline_json(&["scan", &sbom_arg, "--db", &env.db, "--format", "json"]);

    let mut got: Vec<(String, String, Vec<String>)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_string(),
                f["id"].as_str().unwrap().to_string(),
                f["fixed_versions"]
                    .as_array()
                    .map(|v| v.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    // Read off the records by hand: urllib3 1.26.4 is the fixed version of
    // CVE-2021-28363 (introduced 1.26.0), so that one is absent; each listed record's
    // range holds the version. The GIT ranges' commits place nothing.
    let want: Vec<(String, String, Vec<String>)> = [
        (
            "golang.org/x/net",
            "CVE-2022-27664",
            vec!["0.0.0-20220906165146-f3363e06e74c"],
        ),
        ("golang.org/x/net", "CVE-2022-41717", vec!["0.4.0"]),
        ("golang.org/x/net", "CVE-2022-41723", vec!["0.7.0"]),
        ("golang.org/x/net", "CVE-2023-39325", vec!["0.17.0"]),
        ("requests", "CVE-2023-32681", vec!["2.31.0"]),
        ("URLLib3", "CVE-2021-33503", vec!["1.26.5"]),
        ("URLLib3", "CVE-2023-43804", vec!["1.26.17"]),
        ("URLLib3", "CVE-2023-45803", vec!["1.26.18"]),
    ]
    .into_iter()
    .map(|(p, id, f)| {
        (
            p.to_string(),
            id.to_string(),
            f.into_iter().map(String::from).collect(),
        )
    })
    .collect();
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
    let requests = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == "requests")
        .unwrap();
    assert_eq!(requests["ecosystem"], "PyPI");
    assert_eq!(requests["package"]["ecosystem"], "pypi");
    assert!(requests["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "PYSEC-2023-74"));

    // npm: nothing in the DB, so not matched, with the reason; a gate fails closed.
    assert_eq!(report["packages_not_matched"], 1);
    assert_eq!(report["unmatched"][0]["package"], "pkg:npm/lodash@4.17.20");
    assert!(report["unmatched"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no advisory data for npm"));
    let out = patchline(&["scan", &sbom_arg, "--db", &env.db, "--fail-on", "critical"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
