//! The SBOM forms read besides CycloneDX and SPDX JSON: CycloneDX XML, Syft JSON and
//! in-toto attestations (plain statements, DSSE envelopes, one envelope a line), on
//! third-party documents (`tests/data/sbom/`, see its README) and on the real Debian 12
//! fixture images. Each gives the inventory its JSON equivalent gives; broken input
//! gives an error naming the file.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::*;
use patchline_inventory::sbom_input::{parse_sbom, read_sbom, SbomInputError};
use patchline_model::{Ecosystem, Inventory, LayerRef};
use serde_json::{json, Value};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/sbom")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses `bytes` under a fixed origin, so that inventories of twin documents compare.
fn parse(bytes: &[u8]) -> Inventory {
    parse_sbom(bytes, "sbom").unwrap_or_else(|e| panic!("{e}"))
}

fn distro(inv: &Inventory) -> (String, Option<String>) {
    let d = inv.distro.as_ref().expect("a distro");
    (d.id.clone(), d.version_id.clone())
}

fn sbom_of(image: &str, format: &str, cache: &Path) -> Vec<u8> {
    let out = patchline(&[
        "sbom",
        image,
        "--format",
        format,
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "patchline sbom {image} --format {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// ---------------------------------------------------------------------------------
// CycloneDX XML

#[test]
fn cyclonedx_xml_twins_read_like_their_json() {
    // Syft's encoder snapshots (CycloneDX 1.7) and CycloneDX's own laravel example
    // (1.4, CDATA text, legacy `<tool>` list): the whole inventory is the same.
    for (xml, json) in [
        ("syft-image-encoder.cdx.xml", "syft-image-encoder.cdx.json"),
        ("laravel-7.12.0.bom.1.4.xml", "laravel-7.12.0.bom.1.4.json"),
    ] {
        let from_xml = parse(&read(xml));
        let from_json = parse(&read(json));
        assert_eq!(
            serde_json::to_value(&from_xml).unwrap(),
            serde_json::to_value(&from_json).unwrap(),
            "{xml} vs {json}"
        );
    }
    let syft = parse(&read("syft-image-encoder.cdx.xml"));
    let names: Vec<(Ecosystem, &str)> = syft
        .packages
        .iter()
        .map(|p| (p.ecosystem, p.name.as_str()))
        .collect();
    // The Python package's purl (`a-purl-1`) is no purl: listed as unmatched.
    assert_eq!(names, [(Ecosystem::Deb, "package-2")]);
    assert_eq!(syft.unidentified.len(), 1, "{:?}", syft.unidentified);
    assert_eq!(syft.tool.name, "syft");
    assert_eq!(distro(&syft).0, "debian");
    let laravel = parse(&read("laravel-7.12.0.bom.1.4.xml"));
    assert_eq!(laravel.tool.name, "cyclonedx-php-composer");
    // Composer packages, named `vendor/name` as Packagist advisories name them.
    assert!(!laravel.packages.is_empty());
    assert!(
        laravel
            .packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Composer && p.name.contains('/')),
        "{:?}",
        laravel.packages.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    assert!(
        laravel.unidentified.is_empty(),
        "{:?}",
        laravel.unidentified
    );
}

/// CycloneDX JSON written as CycloneDX XML in namespace `version`, element for element
/// (the elements the reader uses; the order of the XML schema).
fn cdx_json_to_xml(bom: &Value, version: &str) -> String {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    fn leaf(out: &mut String, v: &Value, k: &str) {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            out.push_str(&format!("<{k}>{}</{k}>", esc(s)));
        }
    }
    fn props(out: &mut String, v: &Value) {
        if let Some(ps) = v.get("properties").and_then(Value::as_array) {
            out.push_str("<properties>");
            for p in ps {
                out.push_str(&format!(
                    "<property name=\"{}\">{}</property>",
                    esc(p["name"].as_str().unwrap()),
                    esc(p["value"].as_str().unwrap_or(""))
                ));
            }
            out.push_str("</properties>");
        }
    }
    fn component(out: &mut String, c: &Value) {
        out.push_str(&format!(
            "<component type=\"{}\"",
            esc(c["type"].as_str().unwrap())
        ));
        if let Some(r) = c.get("bom-ref").and_then(Value::as_str) {
            out.push_str(&format!(" bom-ref=\"{}\"", esc(r)));
        }
        out.push_str(">\n");
        if let Some(s) = c.pointer("/supplier/name").and_then(Value::as_str) {
            out.push_str(&format!("<supplier><name>{}</name></supplier>", esc(s)));
        }
        for k in ["publisher", "name", "version", "description"] {
            leaf(out, c, k);
        }
        if let Some(hs) = c.get("hashes").and_then(Value::as_array) {
            out.push_str("<hashes>");
            for h in hs {
                out.push_str(&format!(
                    "<hash alg=\"{}\">{}</hash>",
                    esc(h["alg"].as_str().unwrap()),
                    esc(h["content"].as_str().unwrap())
                ));
            }
            out.push_str("</hashes>");
        }
        if let Some(ls) = c.get("licenses").and_then(Value::as_array) {
            out.push_str("<licenses>");
            for l in ls {
                if let Some(e) = l.get("expression").and_then(Value::as_str) {
                    out.push_str(&format!("<expression>{}</expression>", esc(e)));
                } else {
                    out.push_str("<license>");
                    leaf(out, &l["license"], "id");
                    leaf(out, &l["license"], "name");
                    out.push_str("</license>");
                }
            }
            out.push_str("</licenses>");
        }
        leaf(out, c, "cpe");
        leaf(out, c, "purl");
        props(out, c);
        if let Some(cs) = c.get("components").and_then(Value::as_array) {
            out.push_str("<components>");
            for c in cs {
                component(out, c);
            }
            out.push_str("</components>");
        }
        out.push_str("</component>\n");
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/{version}\" version=\"1\">\n"
    );
    if let Some(m) = bom.get("metadata") {
        out.push_str("<metadata>");
        if let Some(tools) = m.get("tools") {
            out.push_str("<tools>");
            let list = tools
                .get("components")
                .or(Some(tools))
                .and_then(Value::as_array);
            // 1.4's `<tool>` list; 1.5 and later also allow `<components>`.
            if version == "1.4" {
                for t in list.into_iter().flatten() {
                    out.push_str("<tool>");
                    leaf(&mut out, t, "vendor");
                    leaf(&mut out, t, "name");
                    leaf(&mut out, t, "version");
                    out.push_str("</tool>");
                }
            } else {
                out.push_str("<components>");
                for t in list.into_iter().flatten() {
                    let mut t = t.clone();
                    t["type"] = t.get("type").cloned().unwrap_or(json!("application"));
                    component(&mut out, &t);
                }
                out.push_str("</components>");
            }
            out.push_str("</tools>");
        }
        if let Some(c) = m.get("component") {
            component(&mut out, c);
        }
        props(&mut out, m);
        out.push_str("</metadata>\n");
    }
    if let Some(cs) = bom.get("components").and_then(Value::as_array) {
        out.push_str("<components>\n");
        for c in cs {
            component(&mut out, c);
        }
        out.push_str("</components>\n");
    }
    out.push_str("</bom>\n");
    out
}

#[test]
fn cyclonedx_xml_of_the_real_images_reads_like_the_json() {
    let Some(fx) = fixtures() else { return };
    let cache = tempfile::tempdir().unwrap();
    for tag in ["base", "child"] {
        let image = format!("oci:{}:{tag}", fx.join("layout").display());
        let want: Inventory =
            serde_json::from_slice(&sbom_of(&image, "json", cache.path())).unwrap();
        let cdx = sbom_of(&image, "cyclonedx", cache.path());
        let from_json = parse(&cdx);
        let bom: Value = serde_json::from_slice(&cdx).unwrap();
        for version in ["1.4", "1.5", "1.6"] {
            let xml = cdx_json_to_xml(&bom, version);
            let from_xml = parse(xml.as_bytes());
            assert_eq!(
                serde_json::to_value(&from_xml).unwrap(),
                serde_json::to_value(&from_json).unwrap(),
                "{tag}: CycloneDX XML {version} vs JSON"
            );
            assert_eq!(
                from_xml.packages.len(),
                want.packages.len(),
                "{tag} {version}"
            );
            assert_eq!(
                matcher_view(&from_xml, false),
                matcher_view(&want, false),
                "{tag} {version}"
            );
            assert_eq!(distro(&from_xml), ("debian".into(), Some("12".into())));
        }
    }
}

// ---------------------------------------------------------------------------------
// Syft JSON

#[test]
fn syft_json_reads_like_syfts_cyclonedx() {
    // The same encoder test image in Syft's two formats (the CycloneDX one has its
    // layer ids and image digest redacted).
    let syft = parse(&read("syft-image-encoder.syft.json"));
    let cdx = parse(&read("syft-image-encoder.cdx.json"));
    let strip = |inv: &Inventory| {
        matcher_view(inv, false)
            .into_iter()
            .map(|mut k| {
                k.9 = None;
                k.10 = None;
                k
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&syft), strip(&cdx));
    assert_eq!(syft.distro, cdx.distro);
    assert_eq!(
        syft.warnings, cdx.warnings,
        "the python package skipped in both"
    );
    assert_eq!(syft.tool.name, "syft");
    // Syft JSON names the layers, so the deb's layer comes back.
    assert_eq!(syft.image.layers.len(), 2);
    let p = &syft.packages[0];
    assert_eq!(p.introduced.as_ref().map(|l| l.index), Some(1));
    assert_eq!(p.db_path, "somefile-2.txt");
}

#[test]
fn syft_json_of_a_real_alpine_image() {
    let bytes = read("syft-alpine-3.12.syft.json");
    let inv = parse(&bytes);
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let artifacts: Vec<&Value> = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "apk")
        .collect();
    assert_eq!(artifacts.len(), 14);
    assert_eq!(inv.packages.len(), artifacts.len());
    let (id, version) = distro(&inv);
    assert_eq!(id, "alpine");
    assert!(
        version.as_deref().unwrap().starts_with("3.12"),
        "{version:?}"
    );

    let diff_id: patchline_model::Digest = doc["source"]["metadata"]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(inv.image.reference, "alpine:3.12");
    assert_eq!(
        inv.image
            .manifest_digest
            .as_ref()
            .map(|d| d.to_string())
            .as_deref(),
        doc["source"]["metadata"]["manifestDigest"].as_str()
    );
    assert_eq!(inv.image.layers.len(), 1);
    assert_eq!(inv.image.layers[0].diff_id, diff_id);
    let layer = Some(LayerRef { index: 0, diff_id });
    for a in artifacts {
        let name = a["name"].as_str().unwrap();
        let p = inv
            .packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(p.ecosystem, Ecosystem::Apk);
        assert_eq!(p.version, a["version"].as_str().unwrap(), "{name}");
        assert_eq!(p.purl, a["purl"].as_str().unwrap(), "{name}");
        assert_eq!(p.arch.as_deref(), Some("aarch64"), "{name}");
        assert_eq!(
            p.source_name.as_deref(),
            a["metadata"]["originPackage"].as_str(),
            "{name}"
        );
        assert_eq!(p.source_version.as_deref(), Some(p.version.as_str()));
        assert_eq!(p.introduced, layer, "{name}");
        assert_eq!(p.last_changed, layer, "{name}");
        assert_eq!(p.db_path, "lib/apk/db/installed");
    }
    let ssl = inv.packages.iter().find(|p| p.name == "libssl1.1").unwrap();
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
}

#[test]
fn syft_json_schema_1() {
    // Grype's test SBOM: Syft schema 1.1.0 of a directory, one deb, one rpm and one apk
    // (whose purl type is Syft 0.x's `alpine`) among 40 language packages.
    let inv = parse(&read("grype-sbom-grype-source.syft.json"));
    let view: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem.is_os())
        .map(|p| {
            (
                p.ecosystem,
                p.name.as_str(),
                p.version.as_str(),
                p.source_name.as_deref().unwrap(),
                p.source_version.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            (Ecosystem::Deb, "apt", "1.8.2", "apt-dev", "1.8.2"),
            (Ecosystem::Rpm, "dive", "0.9.2-1", "dive", "0.9.2-1"),
            (
                Ecosystem::Apk,
                "libvncserver",
                "0.9.9",
                "libvncserver",
                "0.9.9"
            ),
        ]
    );
    assert!(inv.distro.is_none(), "the document names none");
    assert_eq!(inv.image.reference, "sbom", "a directory, not an image");
    // Its 40 language packages (36 Go modules, 2 jars, a wheel, a gem) are packages of
    // their ecosystems, named as OSV names them.
    let count = |e: Ecosystem| inv.packages.iter().filter(|p| p.ecosystem == e).count();
    assert_eq!(
        [
            count(Ecosystem::Golang),
            count(Ecosystem::Maven),
            count(Ecosystem::Pypi),
            count(Ecosystem::Gem)
        ],
        [36, 2, 1, 1]
    );
    assert!(
        inv.packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Maven)
            .all(|p| p.name.contains(':')),
        "Maven names are group:artifact"
    );
    assert!(inv.unidentified.is_empty(), "{:?}", inv.unidentified);
    let apt = inv.packages.iter().find(|p| p.name == "apt").unwrap();
    // Syft 0.x wrote no purl for it: patchline writes one.
    assert_eq!(
        apt.purl,
        "pkg:deb/debian/apt@1.8.2?arch=amd64&upstream=apt-dev"
    );
    assert_eq!(
        apt.db_path,
        "test/integration/testdata/image-debian-match-coverage/var/lib/dpkg/status"
    );
}

// ---------------------------------------------------------------------------------
// in-toto attestations

fn statement(predicate_type: &str, predicate: &Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "registry.example/app", "digest": {"sha256": "a".repeat(64)}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    })
}

fn envelope(statement: &Value) -> Value {
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64::engine::general_purpose::STANDARD.encode(statement.to_string()),
        "signatures": [{"keyid": "", "sig": "MEUCIQ"}],
    })
}

fn assert_unverified_warning(inv: &Inventory) {
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.message.contains("signatures are not verified")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn trivy_cosign_attestation_reads_like_the_cyclonedx_inside() {
    // Trivy's integration fixture: `cosign attest --type cyclonedx` of a CentOS 7 image,
    // as `cosign download attestation` gives it, beside the same SBOM as plain JSON.
    let att = parse(&read("trivy-centos-7-cyclonedx.intoto.jsonl"));
    let plain = parse(&read("trivy-centos-7-cyclonedx.json"));
    assert_eq!(att.packages.len(), 2);
    assert_eq!(matcher_view(&att, false), matcher_view(&plain, false));
    assert_eq!(att.distro, plain.distro);
    assert_eq!(distro(&att).0, "centos");
    assert_eq!(att.image.reference, plain.image.reference);
    assert_unverified_warning(&att);
    let ssl = att
        .packages
        .iter()
        .find(|p| p.name == "openssl-libs")
        .unwrap();
    assert_eq!(ssl.epoch, Some(1));

    // Trivy's other fixture: cosign 1 wrapped the predicate as `{"Data": SBOM}`; Trivy
    // reads musl 1.2.3-r0 on Alpine 3.16 from it (pkg/fanal/artifact/sbom/sbom_test.go).
    let other = parse(&read("trivy-sbom.cdx.intoto.jsonl"));
    assert_unverified_warning(&other);
    let os: Vec<&patchline_model::Package> = other
        .packages
        .iter()
        .filter(|p| p.ecosystem.is_os())
        .collect();
    assert_eq!(os.len(), 1);
    let musl = os[0];
    assert_eq!(
        (musl.name.as_str(), musl.version.as_str()),
        ("musl", "1.2.3-r0")
    );
    assert_eq!(musl.source_name.as_deref(), Some("musl"));
    let (id, version) = distro(&other);
    assert_eq!(id, "alpine");
    assert!(
        version.as_deref().unwrap().starts_with("3.16"),
        "{version:?}"
    );
}

#[test]
fn cosign_data_wrapping_of_a_predicate_is_unwrapped() {
    // cosign 1 wrapped a predicate file that is not JSON as a string in `Data`.
    let xml = String::from_utf8(read("syft-image-encoder.cdx.xml")).unwrap();
    let st = statement(
        "https://cyclonedx.org/bom",
        &json!({"Data": xml, "Timestamp": "2022-06-14T15:08:48Z"}),
    );
    let inv = parse(envelope(&st).to_string().as_bytes());
    let plain = parse(xml.as_bytes());
    assert_eq!(matcher_view(&inv, false), matcher_view(&plain, false));
    assert_eq!(inv.distro, plain.distro);
    assert_unverified_warning(&inv);
}

#[test]
fn spdx_statements_and_lines_read_like_the_spdx_inside() {
    let spdx: Value = serde_json::from_slice(&read("trivy-centos-7-spdx.json")).unwrap();
    let plain = parse(&read("trivy-centos-7-spdx.json"));
    assert_eq!(plain.packages.len(), 2);
    let provenance = statement("https://slsa.dev/provenance/v0.2", &json!({"builder": {}}));
    for pt in [
        "https://spdx.dev/Document",
        "https://spdx.dev/Document/v2.3",
    ] {
        let st = statement(pt, &spdx);
        let env = envelope(&st);
        let lines = format!("{}\n{}\n", envelope(&provenance), env);
        for (what, doc) in [
            ("statement", st.to_string()),
            ("envelope", env.to_string()),
            ("lines", lines),
        ] {
            let inv = parse(doc.as_bytes());
            assert_eq!(
                matcher_view(&inv, false),
                matcher_view(&plain, false),
                "{pt} {what}"
            );
            assert_eq!(inv.distro, plain.distro, "{pt} {what}");
            assert_unverified_warning(&inv);
            if what == "lines" {
                assert!(
                    inv.warnings
                        .iter()
                        .any(|w| w.message.contains("slsa.dev/provenance")),
                    "{:?}",
                    inv.warnings
                );
            }
        }
    }
}

#[test]
fn attestations_of_the_real_images_read_like_the_image() {
    let Some(fx) = fixtures() else { return };
    let cache = tempfile::tempdir().unwrap();
    let image = format!("oci:{}:child", fx.join("layout").display());
    let want: Inventory = serde_json::from_slice(&sbom_of(&image, "json", cache.path())).unwrap();
    for (format, pt) in [
        ("cyclonedx", "https://cyclonedx.org/bom"),
        ("cyclonedx", "https://cyclonedx.org/bom/v1.6"),
        ("spdx", "https://spdx.dev/Document"),
    ] {
        let doc: Value = serde_json::from_slice(&sbom_of(&image, format, cache.path())).unwrap();
        let direct = parse(doc.to_string().as_bytes());
        let env = envelope(&statement(pt, &doc));
        let inv = parse(env.to_string().as_bytes());
        assert_eq!(inv.packages.len(), want.packages.len(), "{pt}");
        assert_eq!(
            matcher_view(&inv, false),
            matcher_view(&direct, false),
            "{pt}"
        );
        assert_eq!(distro(&inv), ("debian".into(), Some("12".into())), "{pt}");
        if format == "cyclonedx" {
            assert_eq!(
                matcher_view(&inv, false),
                matcher_view(&want, false),
                "{pt}"
            );
        }
        assert_unverified_warning(&inv);
    }
}

// ---------------------------------------------------------------------------------
// Broken input

fn error_of(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let err: SbomInputError = read_sbom(&path).expect_err(name);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&path.display().to_string()),
        "{name}: the error names the file: {msg}"
    );
    msg
}

#[test]
fn broken_xml_is_refused_with_the_file_named() {
    let ns = "http://cyclonedx.org/schema/bom/1.5";
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE bom [\n<!ENTITY a \"aaaaaaaaaa\">\n\
         <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n]>\n\
         <bom xmlns=\"{ns}\"><components><component type=\"library\"><name>&c;</name></component></components></bom>"
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE bom [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n\
         <bom xmlns=\"{ns}\"><components><component type=\"library\"><name>&x;</name></component></components></bom>"
    );
    let undeclared = format!(
        "<bom xmlns=\"{ns}\"><components><component type=\"library\"><name>&x;</name></component></components></bom>"
    );
    let deep = format!(
        "<bom xmlns=\"{ns}\"><components>{}{}</components></bom>",
        "<component type=\"library\"><name>x</name><components>".repeat(100),
        "</components></component>".repeat(100)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.xml",
            format!("<bom xmlns=\"{ns}\"><components>").into_bytes(),
            "invalid XML document",
        ),
        ("laughs.xml", laughs.into_bytes(), "DTD"),
        ("xxe.xml", xxe.into_bytes(), "DTD"),
        ("undeclared.xml", undeclared.into_bytes(), "entity"),
        ("deep.xml", deep.into_bytes(), "nested more than"),
        (
            "latin1.xml",
            b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"><x>\xe9</x></bom>".to_vec(),
            "UTF-8",
        ),
        (
            "old.xml",
            b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.2\"/>".to_vec(),
            "unsupported CycloneDX XML version",
        ),
        (
            "pom.xml",
            b"<project xmlns=\"http://maven.apache.org/POM/4.0.0\"/>".to_vec(),
            "not CycloneDX",
        ),
        (
            "rdf.xml",
            b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>".to_vec(),
            "SPDX RDF/XML",
        ),
    ];
    for (name, bytes, want) in cases {
        let msg = error_of(name, &bytes);
        assert!(msg.contains(want), "{name}: {msg}");
    }
}

#[test]
fn broken_attestations_are_refused_with_the_file_named() {
    let sbom: Value = serde_json::from_slice(&read("trivy-centos-7-cyclonedx.json")).unwrap();
    let good = statement("https://cyclonedx.org/bom", &sbom);
    let mut bad_b64 = envelope(&good);
    bad_b64["payload"] = json!("not base64 at all!");
    let mut bad_payload_type = envelope(&good);
    bad_payload_type["payloadType"] = json!("text/plain");
    let mut bad_statement = envelope(&good);
    bad_statement["payload"] =
        json!(base64::engine::general_purpose::STANDARD.encode("{\"predicate\": 1"));
    let vuln = statement(
        "https://cosign.sigstore.dev/attestation/vuln/v1",
        &json!({"scanner": {}}),
    );
    let mut old_type = good.clone();
    old_type["_type"] = json!("https://in-toto.io/Statement/v9");
    let nested = statement("https://cyclonedx.org/bom", &envelope(&good));
    let mut no_predicate = good.clone();
    no_predicate.as_object_mut().unwrap().remove("predicate");
    let spdx: Value = serde_json::from_slice(&read("trivy-centos-7-spdx.json")).unwrap();
    let mismatch = statement("https://cyclonedx.org/bom", &spdx);
    let cases: Vec<(&str, String, &str)> = vec![
        ("b64.json", bad_b64.to_string(), "not base64"),
        ("mismatch.json", mismatch.to_string(), "is an SPDX document"),
        ("ptype.json", bad_payload_type.to_string(), "payloadType"),
        ("payload.json", bad_statement.to_string(), "DSSE payload"),
        ("vuln.json", vuln.to_string(), "in-toto predicate type"),
        (
            "vuln.jsonl",
            format!("{}\n{}\n", envelope(&vuln), vuln),
            "none of the 2 is an SBOM",
        ),
        ("type.json", old_type.to_string(), "Statement/v9"),
        ("nested.json", nested.to_string(), "attestation inside"),
        ("none.json", no_predicate.to_string(), "no predicate"),
        (
            "lines.jsonl",
            format!("{}\n{{broken\n", envelope(&good)),
            "line 2",
        ),
    ];
    for (name, doc, want) in cases {
        let msg = error_of(name, doc.as_bytes());
        assert!(msg.contains(want), "{name}: {msg}");
    }
}

#[test]
fn broken_syft_json_is_refused_with_the_file_named() {
    let mut doc: Value = serde_json::from_slice(&read("syft-alpine-3.12.syft.json")).unwrap();
    doc["artifacts"][3]["locations"] = json!("nowhere");
    let msg = error_of("syft.json", doc.to_string().as_bytes());
    assert!(
        msg.contains("Syft JSON") && msg.contains("artifacts[3].locations"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------
// End to end

/// (id, binary package, installed version, state, fixed versions, introduced layer).
fn finding_rows(
    env: &AdvisoryEnv,
    input: &str,
) -> Vec<(String, String, String, String, String, String)> {
    let v = patchline_json(&[
        "scan",
        input,
        "--db",
        &env.db,
        "--cache-dir",
        &env.cache,
        "--format",
        "json",
    ]);
    let s = |v: &Value| v.to_string();
    let mut rows: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(&f["id"]),
                s(&f["package"]["name"]),
                s(&f["package"]["version"]),
                s(&f["state"]),
                s(&f["fixed_versions"]),
                s(&f["package"]["introduced"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn scanning_each_form_finds_what_scanning_the_image_finds() {
    let Some(fx) = fixtures() else { return };
    let env = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
    let image = format!("oci:{}:child", fx.join("layout").display());
    let want = finding_rows(&env, &image);
    assert!(want.len() > 10, "{want:?}");
    let cache = Path::new(&env.cache);
    let cdx: Value = serde_json::from_slice(&sbom_of(&image, "cyclonedx", cache)).unwrap();
    let spdx: Value = serde_json::from_slice(&sbom_of(&image, "spdx", cache)).unwrap();
    let provenance = statement("https://slsa.dev/provenance/v0.2", &json!({"builder": {}}));
    let forms = [
        ("child.cdx.xml", cdx_json_to_xml(&cdx, "1.6")),
        (
            "child.cdx.intoto.json",
            envelope(&statement("https://cyclonedx.org/bom", &cdx)).to_string(),
        ),
        (
            "child.spdx.intoto.jsonl",
            format!(
                "{}\n{}\n",
                envelope(&provenance),
                envelope(&statement("https://spdx.dev/Document", &spdx))
            ),
        ),
    ];
    for (name, doc) in forms {
        let path = env.dir.join(name);
        std::fs::write(&path, doc).unwrap();
        let got = finding_rows(&env, &format!("sbom:{}", path.display()));
        assert_eq!(got, want, "{name}");
    }
}
