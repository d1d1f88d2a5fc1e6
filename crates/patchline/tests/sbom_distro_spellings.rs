//! One home per distro, end to end: an SBOM gives exactly the findings of the image it
//! came from whichever way it spells the distro, in CycloneDX and in SPDX, in the shapes
//! Trivy and Syft write (the `operating-system` component or package that names the
//! distro, or only the purls' `distro=` qualifiers).
//!
//! - Debian: the real child image (curl 7.88.1-10+deb12u5) against the real tracker
//!   facts of `tests/data/debian-tracker-bookworm.json`; its own SBOMs rewritten to
//!   `debian-12`, `12`, `bookworm`, `debian-12.5` and Trivy's `12.5`.
//! - Alpine: an Alpine 3.11 SBOM in Trivy's shapes (`distro=3.11.6`, the OS named
//!   `3.11.6`) against the real secdb extract of `v3.11` in `../shared/data`.
//! - Ubuntu: a jammy SBOM (`distro=jammy`, `22.04`, `ubuntu-22.04`) against osv.dev's real
//!   `UBUNTU-CVE-2023-38545`, whose own purls say `distro=jammy`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

type Row = (String, String, String, String, Vec<String>);

/// (id, binary package, installed version, state, fixed versions) of every finding.
fn scan_rows(env: &AdvisoryEnv, input: &str) -> (BTreeSet<Row>, Vec<String>) {
    let out = patchline(&[
        "scan",
        input,
        "--db",
        &env.db,
        "--cache-dir",
        &env.cache,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "scan {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("scan JSON");
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let rows = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(&f["id"]),
                s(&f["package"]["name"]),
                s(&f["package"]["version"]),
                s(&f["state"]),
                f["fixed_versions"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let warnings = v["warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| s(&w["message"])).collect())
        .unwrap_or_default();
    (rows, warnings)
}

fn write_json(env: &AdvisoryEnv, name: &str, v: &Value) -> String {
    let p = env.dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    format!("sbom:{}", p.display())
}

/// Replaces the value of `distro=` in a purl.
fn respell_purl(purl: &str, spelling: &str) -> String {
    let Some((head, query)) = purl.split_once('?') else {
        return purl.to_string();
    };
    let q: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some(("distro", _)) => format!("distro={spelling}"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}?{}", q.join("&"))
}

/// How the rewritten SBOM names the distro.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// Only the purls' `distro=` qualifiers (Syft's SPDX, SBOMs without an OS entry).
    PurlsOnly,
    /// Trivy: the OS as a component/package named by its family, the version as given.
    Trivy,
    /// Syft's CycloneDX: the OS component with `syft:distro:*` properties.
    Syft,
}

/// patchline's own CycloneDX, made foreign (another tool's name, none of patchline's
/// distro properties) and respelled.
fn cyclonedx_as(sbom: &Value, spelling: &str, shape: Shape) -> Value {
    let mut doc = sbom.clone();
    doc["metadata"]["tools"] = json!({"components": [
        {"type": "application", "name": match shape { Shape::Syft => "syft", _ => "trivy" }, "version": "1.0.0"}
    ]});
    let respell_all = |cs: &mut Vec<Value>| {
        for c in cs.iter_mut() {
            if let Some(p) = c["purl"].as_str() {
                c["purl"] = json!(respell_purl(p, spelling));
            }
        }
    };
    let mut components = doc["components"].as_array().cloned().unwrap_or_default();
    respell_all(&mut components);
    let os_at = components
        .iter()
        .position(|c| c["type"] == "operating-system")
        .expect("patchline's CycloneDX names the OS");
    match shape {
        Shape::PurlsOnly => {
            components.remove(os_at);
        }
        Shape::Trivy => {
            let c = &mut components[os_at];
            c["name"] = json!("debian");
            c["version"] = json!(spelling);
            c["properties"] = json!([
                {"name": "aquasecurity:trivy:Class", "value": "os-pkgs"},
                {"name": "aquasecurity:trivy:Type", "value": "debian"}
            ]);
            c.as_object_mut().unwrap().remove("description");
        }
        Shape::Syft => {
            let c = &mut components[os_at];
            c["name"] = json!("debian");
            c.as_object_mut().unwrap().remove("version");
            c["properties"] = json!([
                {"name": "syft:distro:id", "value": "debian"},
                {"name": "syft:distro:prettyName", "value": "Debian GNU/Linux 12 (bookworm)"},
                {"name": "syft:distro:versionID", "value": spelling}
            ]);
        }
    }
    doc["components"] = Value::Array(components);
    doc
}

/// patchline's own SPDX, made foreign and respelled.
fn spdx_as(sbom: &Value, spelling: &str, shape: Shape) -> Value {
    let mut doc = sbom.clone();
    doc["creationInfo"]["creators"] = json!(["Tool: trivy-0.51.1", "Organization: aquasecurity"]);
    let mut packages = doc["packages"].as_array().cloned().unwrap_or_default();
    for p in packages.iter_mut() {
        if let Some(refs) = p.get_mut("externalRefs").and_then(Value::as_array_mut) {
            for r in refs {
                if r["referenceType"] == "purl" {
                    let l = r["referenceLocator"].as_str().unwrap().to_string();
                    r["referenceLocator"] = json!(respell_purl(&l, spelling));
                }
            }
        }
    }
    let os_at = packages
        .iter()
        .position(|p| p["primaryPackagePurpose"] == "OPERATING-SYSTEM");
    match (shape, os_at) {
        (Shape::PurlsOnly, Some(i)) => {
            let id = packages[i]["SPDXID"].clone();
            packages.remove(i);
            if let Some(rels) = doc["relationships"].as_array_mut() {
                rels.retain(|r| r["spdxElementId"] != id && r["relatedSpdxElement"] != id);
            }
        }
        (Shape::PurlsOnly, None) => {}
        (_, Some(i)) => {
            let p = &mut packages[i];
            p["name"] = json!("debian");
            p["versionInfo"] = json!(spelling);
        }
        (_, None) => packages.push(json!({
            "SPDXID": "SPDXRef-OperatingSystem-debian",
            "name": "debian",
            "versionInfo": spelling,
            "downloadLocation": "NONE",
            "primaryPackagePurpose": "OPERATING-SYSTEM"
        })),
    }
    doc["packages"] = Value::Array(packages);
    doc
}

#[test]
fn debian_spellings_give_the_image_findings() {
    let Some(fx) = fixtures() else { return };
    let env = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
    let child = format!("oci:{}:child", fx.join("layout").display());
    let (want, _) = scan_rows(&env, &child);
    assert!(
        want.len() >= 28,
        "the image has its curl findings: {want:?}"
    );

    let sbom = |format: &str| -> Value {
        let out = patchline(&[
            "sbom",
            &child,
            "--format",
            format,
            "--cache-dir",
            &env.cache,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cdx = sbom("cyclonedx");
    let spdx = sbom("spdx");
    let mut checked = 0;
    for spelling in [
        "debian-12",
        "12",
        "bookworm",
        "debian-12.5",
        "12.5",
        "debian-bookworm",
    ] {
        for shape in [Shape::PurlsOnly, Shape::Trivy, Shape::Syft] {
            let name = format!("{spelling}-{shape:?}");
            let doc = cyclonedx_as(&cdx, spelling, shape);
            let (got, warnings) =
                scan_rows(&env, &write_json(&env, &format!("{name}.cdx.json"), &doc));
            assert_eq!(
                got, want,
                "CycloneDX, distro spelled {spelling:?} ({shape:?}): {warnings:?}"
            );
            checked += 1;
            if !matches!(shape, Shape::Syft) {
                let doc = spdx_as(&spdx, spelling, shape);
                let (got, warnings) =
                    scan_rows(&env, &write_json(&env, &format!("{name}.spdx.json"), &doc));
                assert_eq!(
                    got, want,
                    "SPDX, distro spelled {spelling:?} ({shape:?}): {warnings:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 30);
}

/// An Alpine 3.11 image's SBOM as Trivy writes it: apache2 2.4.33-r0 (fixed in
/// 2.4.34-r0 for CVE-2018-1333 and CVE-2018-8011 by the secdb's `v3.11` data).
fn trivy_alpine(format: &str, os_version: &str, purl_distro: &str) -> Value {
    let purl = format!("pkg:apk/alpine/apache2@2.4.33-r0?arch=x86_64&distro={purl_distro}");
    match format {
        "cyclonedx" => json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "version": 1,
            "metadata": {
                "tools": {"components": [{"type": "application", "group": "aquasecurity", "name": "trivy", "version": "0.51.1"}]},
                "component": {"bom-ref": "img", "type": "container", "name": "alpine-app:3.11"}
            },
            "components": [
                {"bom-ref": "os", "type": "operating-system", "name": "alpine", "version": os_version,
                 "properties": [{"name": "aquasecurity:trivy:Class", "value": "os-pkgs"},
                                {"name": "aquasecurity:trivy:Type", "value": "alpine"}]},
                {"bom-ref": purl.clone(), "type": "library", "name": "apache2", "version": "2.4.33-r0",
                 "purl": purl,
                 "properties": [{"name": "aquasecurity:trivy:PkgType", "value": "alpine"},
                                {"name": "aquasecurity:trivy:SrcName", "value": "apache2"},
                                {"name": "aquasecurity:trivy:SrcVersion", "value": "2.4.33-r0"}]}
            ],
            "dependencies": [{"ref": "img", "dependsOn": ["os"]}, {"ref": "os", "dependsOn": [purl]}]
        }),
        _ => json!({
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": "alpine-app:3.11",
            "documentNamespace": "http://aquasecurity.github.io/trivy/container_image/alpine-app-3.11",
            "creationInfo": {"creators": ["Organization: aquasecurity", "Tool: trivy-0.51.1"], "created": "2026-12-01T00:00:00Z"},
            "packages": [
                {"SPDXID": "SPDXRef-ContainerImage-1", "name": "alpine-app:3.11", "downloadLocation": "NONE",
                 "primaryPackagePurpose": "CONTAINER"},
                {"SPDXID": "SPDXRef-OperatingSystem-1", "name": "alpine", "versionInfo": os_version,
                 "downloadLocation": "NONE", "primaryPackagePurpose": "OPERATING-SYSTEM"},
                {"SPDXID": "SPDXRef-Package-1", "name": "apache2", "versionInfo": "2.4.33-r0",
                 "downloadLocation": "NONE", "primaryPackagePurpose": "LIBRARY",
                 "sourceInfo": "built package from: apache2 2.4.33-r0",
                 "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]}
            ],
            "relationships": [
                {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-ContainerImage-1"},
                {"spdxElementId": "SPDXRef-ContainerImage-1", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-OperatingSystem-1"},
                {"spdxElementId": "SPDXRef-OperatingSystem-1", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Package-1"}
            ]
        }),
    }
}

#[test]
fn alpine_trivy_cyclonedx_and_spdx_agree() {
    let Some(data) = shared_data() else { return };
    let feed = data.join("feeds/alpine-secdb/vuln-list-update_311-main.json");
    let env = AdvisoryEnv::with_feeds(&[&feed]);
    let want: BTreeSet<Row> = ["CVE-2018-1333", "CVE-2018-8011"]
        .iter()
        .map(|id| {
            (
                id.to_string(),
                "apache2".to_string(),
                "2.4.33-r0".to_string(),
                "fixed".to_string(),
                vec!["2.4.34-r0".to_string()],
            )
        })
        .collect();
    for format in ["cyclonedx", "spdx"] {
        for (os_version, purl_distro) in [
            ("3.11.6", "3.11.6"),
            ("3.11.6", "alpine-3.11.6"),
            ("v3.11", "v3.11"),
            ("3.11", "3.11"),
        ] {
            let doc = trivy_alpine(format, os_version, purl_distro);
            let input = write_json(&env, &format!("alpine-{format}-{purl_distro}.json"), &doc);
            let (got, warnings) = scan_rows(&env, &input);
            assert_eq!(
                got, want,
                "{format}, OS {os_version:?}, distro={purl_distro}: {warnings:?}"
            );
        }
        // Without the OS entry, the purls alone name it.
        let mut doc = trivy_alpine(format, "3.11.6", "3.11.6");
        match format {
            "cyclonedx" => doc["components"].as_array_mut().unwrap().remove(0),
            _ => doc["packages"].as_array_mut().unwrap().remove(1),
        };
        let input = write_json(&env, &format!("alpine-{format}-purls.json"), &doc);
        assert_eq!(scan_rows(&env, &input).0, want, "{format}, purls only");
    }
}

#[test]
fn ubuntu_code_names_and_releases() {
    let Some(data) = shared_data() else { return };
    let feed = data.join("osv/Ubuntu/UBUNTU-CVE-2023-38545.json");
    let env = AdvisoryEnv::with_feeds(&[&feed]);
    let sbom = |distro: &str, version: &str| {
        let purl = format!("pkg:deb/ubuntu/curl@{version}?arch=amd64&distro={distro}");
        json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"tools": {"components": [{"type": "application", "name": "osv-scalibr", "version": "0.1.0"}]}},
            "components": [{"bom-ref": purl.clone(), "type": "library", "name": "curl",
                            "version": version, "purl": purl}]
        })
    };
    let want: BTreeSet<Row> = [(
        "CVE-2023-38545".to_string(),
        "curl".to_string(),
        "7.81.0-1ubuntu1.13".to_string(),
        "fixed".to_string(),
        vec!["7.81.0-1ubuntu1.14".to_string()],
    )]
    .into();
    for distro in ["jammy", "22.04", "ubuntu-22.04", "ubuntu-jammy"] {
        let input = write_json(
            &env,
            &format!("ubuntu-{distro}.json"),
            &sbom(distro, "7.81.0-1ubuntu1.13"),
        );
        let (got, warnings) = scan_rows(&env, &input);
        assert_eq!(got, want, "distro={distro}: {warnings:?}");
    }
    // focal's fix is another version: the release decides. jammy's installed version is
    // past focal's fix, so it is clean there; focal's own older build is not.
    let input = write_json(
        &env,
        "ubuntu-focal-new.json",
        &sbom("focal", "7.81.0-1ubuntu1.13"),
    );
    assert_eq!(scan_rows(&env, &input).0, BTreeSet::new());
    let input = write_json(
        &env,
        "ubuntu-focal.json",
        &sbom("focal", "7.68.0-1ubuntu2.18"),
    );
    let (got, _) = scan_rows(&env, &input);
    assert_eq!(
        got.iter().map(|r| r.4.clone()).collect::<Vec<_>>(),
        vec![vec!["7.68.0-1ubuntu2.19".to_string()]]
    );
}
