//! Scan reports the scan renderer tests render: what the matcher reports for a Debian 12
//! image with curl installed on an older base, with every fix state, a KEV entry, EPSS
//! scores, CVSS vectors from NVD, the distro's own ratings, and a warning.
#![allow(dead_code)] // each test crate uses a different subset

use patchline_model::vuln::{
    Cvss, DbInfo, Epss, Finding, FindingPackage, FixState, Kev, ScanReport, Severity, SCAN_SCHEMA,
};
use patchline_model::{Digest, Distro, Ecosystem, ImageInfo, LayerInfo, LayerRef, Tool, Warning};
use patchline_report::{render_scan, RenderOptions, ScanFormat};

#[path = "../schemas/mod.rs"]
mod schemas;
#[allow(unused_imports)] // each test crate uses a different subset
pub use schemas::{
    assert_valid, cyclonedx_validator, gitlab_validator, openvex_validator, sarif_validator,
};
use serde_json::Value;

pub const TIMESTAMP: time::OffsetDateTime = time::macros::datetime!(2024-05-01 12:00:00 UTC);
pub const SERIAL: uuid::Uuid = uuid::uuid!("3e671687-395b-41f5-a30f-a58921a69b79");

pub fn fixed_options() -> RenderOptions {
    RenderOptions {
        color: false,
        timestamp: Some(TIMESTAMP),
        started: None,
        serial: Some(SERIAL),
    }
}

pub fn render(report: &ScanReport, format: ScanFormat, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    render_scan(report, format, opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

pub fn render_json(report: &ScanReport, format: ScanFormat) -> Value {
    serde_json::from_str(&render(report, format, &fixed_options())).expect("valid JSON")
}

fn digest(hex: &str) -> Digest {
    format!("sha256:{hex}").parse().expect("fixture digest")
}

const MANIFEST: &str = "5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";
const LAYER0: &str = "1f1d5ae3e7d8e5b1f3a2c4d6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8";
const LAYER1: &str = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

fn layer(index: usize) -> LayerRef {
    LayerRef {
        index,
        diff_id: digest(if index == 0 { LAYER0 } else { LAYER1 }),
    }
}

fn pkg(
    name: &str,
    version: &str,
    source: (&str, &str),
    intro: usize,
    changed: usize,
) -> FindingPackage {
    let enc = |s: &str| s.replace('+', "%2B").replace(':', "%3A");
    let (bare, epoch) = match version.split_once(':') {
        Some((e, rest)) => (rest, Some(e)),
        None => (version, None),
    };
    let mut purl = format!(
        "pkg:deb/debian/{name}@{}?arch=amd64&distro=debian-12",
        enc(bare)
    );
    if let Some(e) = epoch {
        purl.push_str(&format!("&epoch={e}"));
    }
    if source.0 != name || source.1 != version {
        let sv = source.1.split_once(':').map(|(_, r)| r).unwrap_or(source.1);
        if sv == bare {
            purl.push_str(&format!("&upstream={}", source.0));
        } else {
            purl.push_str(&format!("&upstream={}%40{}", source.0, enc(sv)));
        }
    }
    FindingPackage {
        ecosystem: Ecosystem::Deb,
        name: name.into(),
        version: version.into(),
        arch: Some("amd64".into()),
        source_name: Some(source.0.into()),
        source_version: Some(source.1.into()),
        purl,
        introduced: Some(layer(intro)),
        last_changed: Some(layer(changed)),
        sbom_ref: None,
        path: None,
    }
}

fn nvd(version: &str, vector: &str, score: f64) -> Cvss {
    Cvss {
        version: version.into(),
        vector: vector.into(),
        base_score: score,
        source: "nvd".into(),
    }
}

struct F<'a> {
    id: &'a str,
    aliases: &'a [&'a str],
    advisories: &'a [&'a str],
    state: FixState,
    fixed: &'a [&'a str],
    severity: Severity,
    source: &'a str,
    cvss: Vec<Cvss>,
    kev: Option<Kev>,
    epss: Option<(f64, f64)>,
    summary: Option<&'a str>,
    references: &'a [&'a str],
}

fn finding(p: &FindingPackage, f: &F) -> Finding {
    Finding {
        id: f.id.into(),
        aliases: f.aliases.iter().map(|s| s.to_string()).collect(),
        advisories: f.advisories.iter().map(|s| s.to_string()).collect(),
        package: p.clone(),
        ecosystem: "Debian:12".into(),
        state: f.state,
        fixed_versions: f.fixed.iter().map(|s| s.to_string()).collect(),
        severity: f.severity,
        severity_source: f.source.into(),
        cvss: f.cvss.clone(),
        kev: f.kev.clone(),
        epss: f.epss.map(|(score, percentile)| Epss {
            score,
            percentile,
            date: Some("2024-04-30".into()),
        }),
        summary: f.summary.map(str::to_string),
        references: f.references.iter().map(|s| s.to_string()).collect(),
    }
}

/// `registry.example.com/app/curl:1.0`: an older Debian 12 base (layer 0) with curl
/// installed on top (layer 1); findings in the matcher's risk order.
pub fn report() -> ScanReport {
    let libc6 = pkg("libc6", "2.36-9+deb12u1", ("glibc", "2.36-9+deb12u1"), 0, 0);
    let libc_bin = pkg(
        "libc-bin",
        "2.36-9+deb12u1",
        ("glibc", "2.36-9+deb12u1"),
        0,
        0,
    );
    let curl = pkg(
        "curl",
        "7.88.1-10+deb12u3",
        ("curl", "7.88.1-10+deb12u3"),
        1,
        1,
    );
    let libcurl = pkg(
        "libcurl4",
        "7.88.1-10+deb12u3",
        ("curl", "7.88.1-10+deb12u3"),
        1,
        1,
    );
    let krb = pkg(
        "libkrb5-3",
        "1.20.1-2+deb12u1",
        ("krb5", "1.20.1-2+deb12u1"),
        0,
        1,
    );
    let login = pkg(
        "login",
        "1:4.13+dfsg1-1+b1",
        ("shadow", "1:4.13+dfsg1-1"),
        0,
        0,
    );
    let tinfo = pkg("libtinfo6", "6.4-4", ("ncurses", "6.4-4"), 0, 0);
    let sysv = pkg("sysvinit-utils", "3.06-4", ("sysvinit", "3.06-4"), 0, 0);

    let looney = F {
        id: "CVE-2023-4911",
        aliases: &["DSA-5514-1"],
        advisories: &["debian-tracker:CVE-2023-4911", "osv:DSA-5514-1"],
        state: FixState::Fixed,
        fixed: &["2.36-9+deb12u3"],
        severity: Severity::High,
        source: "nvd",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.8,
        )],
        kev: Some(Kev {
            date_added: "2023-11-21".into(),
            due_date: Some("2023-12-12".into()),
            known_ransomware_campaign_use: Some("Unknown".into()),
        }),
        epss: Some((0.0208, 0.889)),
        summary: Some("glibc: buffer overflow in ld.so leading to privilege escalation"),
        references: &[
            "https://www.openwall.com/lists/oss-security/2023/10/03/2",
            "https://security-tracker.debian.org/tracker/CVE-2023-4911",
        ],
    };
    let socks = F {
        id: "CVE-2023-38545",
        aliases: &["DSA-5523-1"],
        advisories: &["debian-tracker:CVE-2023-38545", "osv:DSA-5523-1"],
        state: FixState::Fixed,
        fixed: &["7.88.1-10+deb12u4"],
        severity: Severity::Critical,
        source: "nvd",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
        )],
        kev: None,
        epss: Some((0.2081, 0.962)),
        summary: Some("curl: heap based buffer overflow in the SOCKS5 proxy handshake"),
        references: &["https://curl.se/docs/CVE-2023-38545.html"],
    };
    let cookie = F {
        id: "CVE-2024-2398",
        aliases: &[],
        advisories: &["debian-tracker:CVE-2024-2398"],
        state: FixState::Fixed,
        fixed: &["7.88.1-10+deb12u6"],
        severity: Severity::Medium,
        source: "nvd",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
            5.9,
        )],
        kev: None,
        epss: Some((0.0009, 0.38)),
        summary: Some("curl: HTTP/2 push headers memory-leak"),
        references: &["https://curl.se/docs/CVE-2024-2398.html"],
    };
    let krb5 = F {
        id: "CVE-2024-26462",
        aliases: &[],
        advisories: &["debian-tracker:CVE-2024-26462"],
        state: FixState::Unfixed,
        fixed: &[],
        severity: Severity::Medium,
        source: "nvd",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H",
            5.5,
        )],
        kev: None,
        epss: Some((0.0005, 0.17)),
        summary: Some("krb5: memory leak in the KDC"),
        references: &[],
    };
    let cookie_low = F {
        id: "CVE-2023-38546",
        aliases: &["DSA-5523-1"],
        advisories: &["debian-tracker:CVE-2023-38546", "osv:DSA-5523-1"],
        state: FixState::Fixed,
        fixed: &["7.88.1-10+deb12u4"],
        severity: Severity::Low,
        source: "nvd",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:L/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N",
            3.7,
        )],
        kev: None,
        epss: Some((0.0012, 0.46)),
        summary: Some("curl: cookie injection with none file"),
        references: &["https://curl.se/docs/CVE-2023-38546.html"],
    };
    let shadow = F {
        id: "CVE-2023-4641",
        aliases: &[],
        advisories: &["debian-tracker:CVE-2023-4641"],
        state: FixState::WillNotFix,
        fixed: &[],
        severity: Severity::Low,
        source: "debian",
        cvss: vec![nvd(
            "3.1",
            "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N",
            4.7,
        )],
        kev: None,
        epss: None,
        summary: Some("shadow-utils: possible password leak during passwd(1) change"),
        references: &[],
    };
    let tic = F {
        id: "CVE-2023-50495",
        aliases: &[],
        advisories: &["debian-tracker:CVE-2023-50495"],
        state: FixState::Unimportant,
        fixed: &[],
        severity: Severity::Negligible,
        source: "debian",
        cvss: vec![nvd("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 6.5)],
        kev: None,
        epss: None,
        summary: Some("NCurse v6.4-20230418 was discovered to contain a segmentation fault via the component _nc_wrap_entry()."),
        references: &[],
    };
    let temp = F {
        id: "TEMP-0517018-A83CE6",
        aliases: &[],
        advisories: &["debian-tracker:TEMP-0517018-A83CE6"],
        state: FixState::Unfixed,
        fixed: &[],
        severity: Severity::Unknown,
        source: "none",
        cvss: vec![],
        kev: None,
        epss: None,
        summary: None,
        references: &[],
    };

    let findings = vec![
        finding(&libc_bin, &looney),
        finding(&libc6, &looney),
        finding(&curl, &socks),
        finding(&libcurl, &socks),
        finding(&curl, &cookie),
        finding(&libcurl, &cookie),
        finding(&krb, &krb5),
        finding(&curl, &cookie_low),
        finding(&libcurl, &cookie_low),
        finding(&login, &shadow),
        finding(&tinfo, &tic),
        finding(&sysv, &temp),
    ];

    ScanReport { scanners: Default::default(), checks: Default::default(), policy: Default::default(),
        schema: SCAN_SCHEMA.into(),
        tool: Tool {
            name: "patchline".into(),
            version: "0.1.0".into(),
        },
        image: ImageInfo { config: Default::default(),
            reference: "registry.example.com/app/curl:1.0".into(),
            manifest_digest: Some(digest(MANIFEST)),
            config_digest: None,
            os: Some("linux".into()),
            architecture: Some("amd64".into()),
            variant: None,
            created: Some("2024-04-23T00:00:00Z".into()),
            labels: Default::default(),
            annotations: Default::default(),
            layers: vec![
                LayerInfo {
                    index: 0,
                    digest: None,
                    diff_id: digest(LAYER0),
                    media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    size: Some(29_151_104),
                    created_by: None,
                },
                LayerInfo {
                    index: 1,
                    digest: None,
                    diff_id: digest(LAYER1),
                    media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    size: Some(10_934_272),
                    created_by: Some("RUN apt-get install -y curl".into()),
                },
            ],
        },
        distro: Some(Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            name: Some("Debian GNU/Linux".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            id_like: vec![],
            cpe_name: None,
            source: "etc/os-release".into(),
        }),
        distro_eol: false,
        db: DbInfo {
            path: "/root/.cache/patchline/advisories.db".into(),
            schema_version: 1,
            updated_at: Some("2024-04-30T06:00:00Z".into()),
            sources: [
                ("debian-tracker".to_string(), 48_211u64),
                ("epss".to_string(), 241_905),
                ("kev".to_string(), 1_104),
                ("nvd".to_string(), 247_530),
            ]
            .into_iter()
            .collect(),
        },
        packages_scanned: 124,
        packages_not_matched: 0,
        unmatched: vec![],
        packages_managed_by_os: 0,
        findings,
        inventory_complete: true,
        warnings: vec![Warning {
            source: "matcher".into(),
            location: "package perl-base 5.36.0-7+deb12u1".into(),
            message: "advisory DEBIAN-CVE-2023-47038 has an invalid fixed version \"5.36.0-7+deb12u1~\u{1b}[31m\"; range skipped".into(),
        }],
    }
}

/// The same image past its distro's end of life, with an incomplete inventory.
pub fn eol_incomplete() -> ScanReport {
    let mut r = report();
    r.distro_eol = true;
    r.inventory_complete = false;
    r.findings.truncate(2);
    r
}

/// A scan that found nothing.
pub fn clean_report() -> ScanReport {
    let mut r = report();
    r.findings.clear();
    r.warnings.clear();
    r.db.updated_at = None;
    r
}
