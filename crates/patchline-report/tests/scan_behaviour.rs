//! What each scan format says about the fixture report, beyond the snapshots: the JSON
//! reads back unchanged, the table groups by package with the version that fixes all,
//! SARIF levels / severities / fingerprints follow the findings, and the CycloneDX VEX
//! statements follow the fix states.

mod scan_common;

use std::collections::HashSet;

use patchline_model::vuln::ScanReport;
use patchline_report::{SbomFormat, ScanFormat};
use scan_common::{clean_report, eol_incomplete, fixed_options, render, render_json, report};
use serde_json::Value;

#[test]
fn json_is_the_report_unchanged() {
    let r = report();
    let text = render(&r, ScanFormat::Json, &fixed_options());
    let back: ScanReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "patchline.scan/v1");
    assert!(text.ends_with("}\n"));
}

#[test]
fn formats_parse_and_differ_from_sbom_formats() {
    assert_eq!("sarif".parse::<ScanFormat>().unwrap(), ScanFormat::Sarif);
    assert!("sarif".parse::<SbomFormat>().is_err());
    assert!("spdx".parse::<ScanFormat>().is_err());
}

#[test]
fn table_groups_by_package_with_the_version_that_fixes_all() {
    let t = render(&report(), ScanFormat::Table, &fixed_options());
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("registry.example.com/app/curl:1.0 | sha256:5b0bcabd"));
    assert!(
        lines[0].ends_with("Debian GNU/Linux 12 (bookworm)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("advisory DB updated 2024-04-30T06:00:00Z (30 hours old)")
            && lines[1].ends_with("124 packages scanned"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "12 findings: 2 critical, 2 high, 3 medium, 3 low, 1 negligible, 1 unknown | 2 known exploited | 8 with a fix"
    );
    // curl has fixes in deb12u4 and deb12u6: one upgrade to deb12u6 fixes both.
    assert!(t.contains("\ncurl 7.88.1-10+deb12u3 → 7.88.1-10+deb12u6  [introduced in layer 1 (a3ed95caeb02)]\n"), "{t}");
    assert!(t.contains("\nlogin 1:4.13+dfsg1-1+b1 (no fix available)  [source shadow 1:4.13+dfsg1-1; introduced in layer 0 (1f1d5ae3e7d8)]\n"), "{t}");
    assert!(
        t.contains("changed in layer 1"),
        "libkrb5-3 was upgraded by layer 1"
    );
    // Each package once, in the order of its riskiest finding.
    let heads: Vec<&str> = lines
        .iter()
        .filter(|l| !l.starts_with(' ') && l.contains(" → ") || l.contains("(no fix available)"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        heads,
        [
            "libc-bin",
            "libc6",
            "curl",
            "libcurl4",
            "libkrb5-3",
            "login",
            "libtinfo6",
            "sysvinit-utils"
        ]
    );
    let kev_row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("CVE-2023-4911"))
        .unwrap();
    for want in ["high", "fixed", "2.36-9+deb12u3", "KEV", "0.021 (p89)"] {
        assert!(kev_row.contains(want), "{kev_row}");
    }
    let unimportant = lines
        .iter()
        .find(|l| l.trim_start().starts_with("CVE-2023-50495"))
        .unwrap();
    assert!(unimportant.contains("negligible") && unimportant.contains("unimportant"));
    // Advisory text cannot reach the terminal raw.
    assert!(!t.contains('\u{1b}') && t.contains("\\u{1b}[31m"), "{t}");
    assert!(t.contains("Warnings (1):"));
    assert!(!t.contains("END OF LIFE") && !t.contains("INCOMPLETE"));
    assert!(
        lines.iter().all(|l| l == &l.trim_end()),
        "no trailing blanks"
    );
}

#[test]
fn table_flags_eol_and_incomplete() {
    let t = render(&eol_incomplete(), ScanFormat::Table, &fixed_options());
    assert!(t.lines().next().unwrap().ends_with("(END OF LIFE)"));
    assert!(t.contains("\nEND OF LIFE: "));
    assert!(t.contains("\nINCOMPLETE: "));
    let c = render(&clean_report(), ScanFormat::Table, &fixed_options());
    assert!(c.contains("No vulnerabilities found."));
    assert!(c.contains("update time unknown"));
}

/// Packages that were never looked up make a report without findings anything but clean,
/// in every format.
#[test]
fn unmatched_packages_are_not_a_clean_result() {
    let mut r = clean_report();
    r.packages_scanned = 3;
    r.packages_not_matched = 3;
    let t = render(&r, ScanFormat::Table, &fixed_options());
    assert!(!t.contains("No vulnerabilities found."), "{t}");
    assert!(t.contains("3 packages scanned, 3 not matched"), "{t}");
    assert!(
        t.contains("Nothing was examined: 3 packages could not be matched"),
        "{t}"
    );
    r.packages_not_matched = 1;
    let t = render(&r, ScanFormat::Table, &fixed_options());
    assert!(
        t.contains("No vulnerabilities found in the 2 packages matched, but 1 package could not be matched"),
        "{t}"
    );
    assert_eq!(render_json(&r, ScanFormat::Json)["packages_not_matched"], 1);
    assert_eq!(
        render_json(&r, ScanFormat::Sarif)["runs"][0]["properties"]["packagesNotMatched"],
        1
    );
}

/// Language packages an OS package owns were matched through it: the header says how
/// many, the JSON carries the count, and a report without them says nothing.
#[test]
fn packages_managed_by_os_are_counted_in_the_header() {
    let mut r = clean_report();
    r.packages_scanned = 40;
    r.packages_managed_by_os = 3;
    let t = render(&r, ScanFormat::Table, &fixed_options());
    let second = t.lines().nth(1).unwrap();
    assert!(
        second.ends_with(
            "40 packages scanned, 3 language packages belong to OS packages and were matched through them"
        ),
        "{second}"
    );
    assert!(t.contains("No vulnerabilities found."), "{t}");
    r.packages_managed_by_os = 1;
    let t = render(&r, ScanFormat::Table, &fixed_options());
    assert!(
        t.contains("1 language package belongs to an OS package and was matched through it"),
        "{t}"
    );
    let json = render_json(&r, ScanFormat::Json);
    assert_eq!(json["packages_managed_by_os"], 1);
    let back: ScanReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
    let t = render(&clean_report(), ScanFormat::Table, &fixed_options());
    assert!(!t.contains("language package"), "{t}");
    assert!(render_json(&clean_report(), ScanFormat::Json)
        .get("packages_managed_by_os")
        .is_none());
}

fn sarif_rule<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

#[test]
fn sarif_levels_severities_and_fingerprints() {
    let doc = render_json(&report(), ScanFormat::Sarif);
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "patchline");
    assert!(run["tool"]["driver"]["informationUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 8, "one rule per vulnerability id");
    let sev = |id: &str| sarif_rule(&doc, id)["properties"]["security-severity"].clone();
    assert_eq!(sev("CVE-2023-38545"), "9.8");
    assert_eq!(sev("CVE-2023-4911"), "7.8");
    // Debian rates it low; NVD's 4.7 would show medium on GitHub.
    assert_eq!(sev("CVE-2023-4641"), "2.0");
    assert_eq!(sev("CVE-2023-50495"), "0.1");
    assert!(sarif_rule(&doc, "TEMP-0517018-A83CE6")["properties"]
        .get("security-severity")
        .is_none());
    assert_eq!(
        sarif_rule(&doc, "CVE-2023-38545")["helpUri"],
        "https://nvd.nist.gov/vuln/detail/CVE-2023-38545"
    );
    assert_eq!(
        sarif_rule(&doc, "TEMP-0517018-A83CE6")["helpUri"],
        "https://osv.dev/vulnerability/TEMP-0517018-A83CE6"
    );
    let tags = &sarif_rule(&doc, "CVE-2023-4911")["properties"]["tags"];
    assert!(tags
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "known-exploited"));

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 12);
    let level = |i: usize| results[i]["level"].as_str().unwrap();
    assert_eq!(
        (0..12).map(level).collect::<Vec<_>>(),
        [
            "error", "error", "error", "error", "warning", "warning", "warning", "note", "note",
            "note", "note", "warning"
        ]
    );
    let msg = results[0]["message"]["text"].as_str().unwrap();
    assert_eq!(
        msg,
        "libc-bin 2.36-9+deb12u1 (source glibc) is affected by CVE-2023-4911 (high, known exploited). Fixed in 2.36-9+deb12u3. Installed by layer 0 (1f1d5ae3e7d8) of registry.example.com/app/curl:1.0."
    );
    let loc = &results[0]["locations"][0];
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/dpkg/status"
    );
    assert!(loc["logicalLocations"][0]["fullyQualifiedName"]
        .as_str()
        .unwrap()
        .starts_with("registry.example.com/app/curl:1.0::pkg:deb/debian/libc-bin@"));
    let prints: HashSet<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"]["patchline/v1"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), results.len(), "one alert per finding");
    assert!(prints.contains("CVE-2023-4911|deb|libc-bin|amd64"));
    // The fingerprint survives an upgrade that leaves the package vulnerable.
    let mut upgraded = report();
    upgraded.findings[0].package.version = "2.36-9+deb12u2".into();
    let doc2 = render_json(&upgraded, ScanFormat::Sarif);
    assert_eq!(
        doc2["runs"][0]["results"][0]["partialFingerprints"],
        results[0]["partialFingerprints"]
    );
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1);
}

fn vuln<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
}

fn props(v: &Value) -> Vec<(String, String)> {
    v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn cyclonedx_vex_statements_follow_fix_states() {
    let doc = render_json(&report(), ScanFormat::CycloneDx);
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    );
    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), 9, "the OS and the eight vulnerable packages");
    let meta = props(&doc["metadata"]);
    assert!(meta.contains(&("patchline:scan:schema".into(), "patchline.scan/v1".into())));
    assert!(meta.contains(&("patchline:scan:packages_scanned".into(), "124".into())));

    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 8, "one statement per id and verdict");
    let looney = vuln(&doc, "CVE-2023-4911");
    assert_eq!(looney["affects"].as_array().unwrap().len(), 2);
    // Nobody triaged it: the distro's data says affected, which is not "exploitable".
    assert_eq!(looney["analysis"]["state"], "in_triage");
    assert_eq!(
        looney["analysis"]["response"],
        serde_json::json!(["update"])
    );
    assert_eq!(
        looney["recommendation"],
        "Upgrade libc-bin, libc6 to 2.36-9+deb12u3 or later"
    );
    // The feed the advisory came from, not NVD for everything.
    assert_eq!(looney["source"]["name"], "OSV");
    assert_eq!(
        looney["source"]["url"],
        "https://osv.dev/vulnerability/CVE-2023-4911"
    );
    assert_eq!(looney["references"][0]["id"], "DSA-5514-1");
    assert_eq!(looney["ratings"][0]["method"], "CVSSv31");
    assert_eq!(looney["ratings"][0]["score"], 7.8);
    let p = props(looney);
    for want in [
        ("patchline:kev", "true"),
        ("patchline:kev:date_added", "2023-11-21"),
        ("patchline:epss:score", "0.0208"),
        ("patchline:fix_state", "fixed"),
        ("patchline:fixed_version", "2.36-9+deb12u3"),
        ("patchline:advisory", "osv:DSA-5514-1"),
    ] {
        assert!(
            p.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {p:?}"
        );
    }
    let affected = &looney["affects"][0];
    assert_eq!(affected["versions"][0]["status"], "affected");
    assert_eq!(affected["versions"][0]["version"], "2.36-9+deb12u1");

    let unfixed = vuln(&doc, "CVE-2024-26462");
    assert_eq!(unfixed["analysis"]["state"], "in_triage");
    assert!(unfixed["analysis"].get("response").is_none());
    assert!(unfixed.get("recommendation").is_none());
    let wnf = vuln(&doc, "CVE-2023-4641");
    assert_eq!(
        wnf["analysis"]["response"],
        serde_json::json!(["will_not_fix"])
    );
    // The distro's rating comes first, then NVD's vector.
    assert_eq!(wnf["ratings"][0]["source"]["name"], "debian");
    assert_eq!(wnf["ratings"][0]["method"], "other");
    assert_eq!(wnf["ratings"][0]["severity"], "low");
    assert_eq!(wnf["ratings"][1]["severity"], "medium");
    let tic = vuln(&doc, "CVE-2023-50495");
    assert_eq!(tic["ratings"][0]["severity"], "info");
    assert!(tic["analysis"]["detail"]
        .as_str()
        .unwrap()
        .contains("unimportant"));
    let temp = vuln(&doc, "TEMP-0517018-A83CE6");
    assert!(temp.get("ratings").is_none());
    assert_eq!(temp["source"]["name"], "OSV");
}
