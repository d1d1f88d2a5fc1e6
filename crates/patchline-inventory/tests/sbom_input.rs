//! Reading SBOMs back into inventories: patchline's own three formats round-trip every
//! field the matcher uses; Trivy- and Syft-shaped CycloneDX documents give the right
//! packages; bad input gives errors that name the file and the problem.

use std::io::Write;

use patchline_inventory::sbom_input::{parse_sbom, read_sbom, SbomInputError, MAX_SBOM_BYTES};
use patchline_model::{
    purl, Digest, Distro, Ecosystem, ImageInfo, Inventory, LayerInfo, LayerRef, Package, Tool,
    Warning,
};
use patchline_report::{render_sbom, RenderOptions, SbomFormat};

fn digest(c: char) -> Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

fn layer_ref(index: usize) -> LayerRef {
    LayerRef {
        index,
        diff_id: digest(if index == 0 { 'a' } else { 'b' }),
    }
}

fn image(reference: &str) -> ImageInfo {
    ImageInfo {
        config: Default::default(),
        reference: reference.into(),
        manifest_digest: Some(digest('d')),
        config_digest: Some(digest('c')),
        os: Some("linux".into()),
        architecture: Some("amd64".into()),
        variant: None,
        created: Some("2024-04-23T00:00:00Z".into()),
        labels: [(
            "org.opencontainers.image.version".to_string(),
            "1.0".to_string(),
        )]
        .into_iter()
        .collect(),
        annotations: [(
            "org.opencontainers.image.base.name".to_string(),
            "docker.io/library/debian:12".to_string(),
        )]
        .into_iter()
        .collect(),
        layers: vec![
            LayerInfo {
                index: 0,
                digest: Some(digest('0')),
                diff_id: digest('a'),
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                size: Some(29_151_104),
                created_by: Some("/bin/sh -c #(nop) ADD file:4b1b in / ".into()),
            },
            LayerInfo {
                index: 1,
                digest: Some(digest('1')),
                diff_id: digest('b'),
                media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
                size: Some(10_934_272),
                created_by: Some("RUN apt-get install -y curl # buildkit".into()),
            },
        ],
    }
}

/// (name, version, arch, source name, source version, licences, introduced, last changed)
type Spec<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [&'a str],
    usize,
    usize,
);

fn packages(eco: Ecosystem, distro: &Distro, db: &str, specs: &[Spec]) -> Vec<Package> {
    specs
        .iter()
        .map(|&(name, version, arch, src, srcv, lic, intro, changed)| {
            let mut p = Package::new(eco, name, version);
            p.epoch = match eco {
                Ecosystem::Apk => None,
                _ => version.split_once(':').and_then(|(e, _)| e.parse().ok()),
            };
            p.arch = Some(arch.into());
            p.source_name = Some(src.into());
            p.source_version = Some(srcv.into());
            p.licenses = lic.iter().map(|l| l.to_string()).collect();
            p.maintainer = Some("Debian Maintainers <maint@lists.debian.org>".into());
            p.purl = purl::for_package(&p, Some(distro));
            p.db_path = db.into();
            p.introduced = Some(layer_ref(intro));
            p.last_changed = Some(layer_ref(changed));
            p
        })
        .collect()
}

fn inventory(reference: &str, distro: Distro, packages: Vec<Package>) -> Inventory {
    let mut inv = Inventory::new(image(reference));
    inv.tool = Tool {
        name: "patchline".into(),
        version: "0.1.0".into(),
    };
    inv.distro = Some(distro);
    inv.packages = packages;
    inv
}

/// Debian 12 as debootstrap and apt leave it: epochs, `+` and `~` in versions, binNMUs
/// (`+b1`) whose source version differs from the binary's, source packages named
/// differently, an `all` package, one package upgraded by the second layer.
fn debian() -> Inventory {
    let d = Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        version_codename: Some("bookworm".into()),
        name: Some("Debian GNU/Linux".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        source: "etc/os-release".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let specs: &[Spec] = &[
        ("login", "1:4.13+dfsg1-1+b1", "amd64", "shadow", "1:4.13+dfsg1-1", &[], 0, 0),
        ("passwd", "1:4.13+dfsg1-1+b1", "amd64", "shadow", "1:4.13+dfsg1-1", &[], 0, 0),
        ("zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib", "1:1.2.13.dfsg-1", &["Zlib"], 0, 0),
        ("libssl3", "3.0.11-1~deb12u2", "amd64", "openssl", "3.0.11-1~deb12u2", &["Apache-2.0"], 0, 1),
        ("libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4", &["LGPL-2.1-or-later", "GPL-2.0-or-later"], 0, 0),
        ("libgcc-s1", "12.2.0-14", "amd64", "gcc-12", "12.2.0-14", &[], 0, 0),
        ("tzdata", "2024a-0+deb12u1", "all", "tzdata", "2024a-0+deb12u1", &[], 0, 0),
        ("curl", "7.88.1-10+deb12u5", "amd64", "curl", "7.88.1-10+deb12u5", &["curl"], 1, 1),
        ("libcurl4", "7.88.1-10+deb12u5", "amd64", "curl", "7.88.1-10+deb12u5", &["curl"], 1, 1),
        ("libpcre2-8-0", "10.42-1", "amd64", "pcre2", "10.42-1", &[], 0, 0),
        ("gcc-12-base", "12.2.0-14", "amd64", "gcc-12", "12.2.0-14", &[], 0, 0),
        ("libsystemd0", "252.22-1~deb12u1", "amd64", "systemd", "252.22-1~deb12u1", &[], 0, 0),
        ("bsdutils", "1:2.38.1-5+b1", "amd64", "util-linux", "2.38.1-5", &[], 0, 0),
    ];
    inventory(
        "oci:build/layout:app",
        d.clone(),
        packages(Ecosystem::Deb, &d, "var/lib/dpkg/status", specs),
    )
}

/// Ubuntu 18.04's libgcc1: the binary has an epoch its source version does not.
fn ubuntu() -> Inventory {
    let d = Distro {
        id: "ubuntu".into(),
        version_id: Some("18.04".into()),
        version_codename: Some("bionic".into()),
        pretty_name: Some("Ubuntu 18.04.6 LTS".into()),
        id_like: vec!["debian".into()],
        source: "etc/os-release".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let specs: &[Spec] = &[
        ("libgcc1", "1:8.4.0-1ubuntu1~18.04", "amd64", "gcc-8", "8.4.0-1ubuntu1~18.04", &[], 0, 0),
        ("libssl1.1", "1.1.1-1ubuntu2.1~18.04.23", "amd64", "openssl", "1.1.1-1ubuntu2.1~18.04.23", &[], 0, 1),
    ];
    inventory(
        "docker-archive:ubuntu.tar",
        d.clone(),
        packages(Ecosystem::Deb, &d, "var/lib/dpkg/status", specs),
    )
}

fn alpine() -> Inventory {
    let d = Distro {
        id: "alpine".into(),
        version_id: Some("3.19.1".into()),
        name: Some("Alpine Linux".into()),
        pretty_name: Some("Alpine Linux v3.19".into()),
        source: "etc/os-release".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let specs: &[Spec] = &[
        ("musl", "1.2.4_git20230717-r4", "x86_64", "musl", "1.2.4_git20230717-r4", &["MIT"], 0, 0),
        ("busybox-binsh", "1.36.1-r15", "x86_64", "busybox", "1.36.1-r15", &["GPL-2.0-only"], 0, 0),
        ("libcrypto3", "3.1.4-r5", "x86_64", "openssl", "3.1.4-r5", &["Apache-2.0"], 0, 1),
        ("ca-certificates-bundle", "20240226-r0", "x86_64", "ca-certificates", "20240226-r0", &["MPL-2.0 AND MIT"], 0, 1),
    ];
    inventory(
        "oci:build/layout:alpine",
        d.clone(),
        packages(Ecosystem::Apk, &d, "lib/apk/db/installed", specs),
    )
}

fn rhel() -> Inventory {
    let d = Distro {
        id: "rhel".into(),
        version_id: Some("8.9".into()),
        name: Some("Red Hat Enterprise Linux".into()),
        pretty_name: Some("Red Hat Enterprise Linux 8.9 (Ootpa)".into()),
        id_like: vec!["fedora".into()],
        cpe_name: Some("cpe:/o:redhat:enterprise_linux:8::baseos".into()),
        source: "etc/os-release".into(),
        ..Default::default()
    };
    #[rustfmt::skip]
    let specs: &[Spec] = &[
        ("openssl-libs", "1:1.1.1k-12.el8_9", "x86_64", "openssl", "1:1.1.1k-12.el8_9", &["OpenSSL and ASL 2.0"], 0, 1),
        ("rpm-libs", "4.14.3-28.el8_9", "x86_64", "rpm", "4.14.3-28.el8_9", &["GPLv2+ and LGPLv2+"], 0, 0),
        ("tzdata", "2024a-1.el8", "noarch", "tzdata", "2024a-1.el8", &["Public Domain"], 0, 0),
        // An explicit zero epoch, as some rpm headers carry.
        ("libacl", "0:2.2.53-3.el8", "x86_64", "acl", "0:2.2.53-3.el8", &["LGPLv2+"], 0, 0),
    ];
    inventory(
        "docker-archive:ubi8.tar",
        d.clone(),
        packages(Ecosystem::Rpm, &d, "var/lib/rpm/rpmdb.sqlite", specs),
    )
}

fn render(inv: &Inventory, format: SbomFormat) -> Vec<u8> {
    let mut out = Vec::new();
    render_sbom(inv, format, &RenderOptions::default(), &mut out).unwrap();
    out
}

/// What the matcher reads of one package.
type Key = (
    Ecosystem,
    String,
    String,
    Option<u32>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<LayerRef>,
    Option<LayerRef>,
    Option<String>,
);

fn matcher_view(inv: &Inventory) -> Vec<Key> {
    let mut v: Vec<Key> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                p.name.clone(),
                p.version.clone(),
                p.epoch,
                p.arch.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
                p.purl.clone(),
                p.db_path.clone(),
                p.introduced.clone(),
                p.last_changed.clone(),
                p.managed_by.clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| (a.0, &a.1, &a.4, &a.2).cmp(&(b.0, &b.1, &b.4, &b.2)));
    v
}

fn assert_matcher_fields_equal(want: &Inventory, got: &Inventory, what: &str) {
    assert_eq!(matcher_view(got), matcher_view(want), "{what}: packages");
    let d = |i: &Inventory| {
        i.distro
            .as_ref()
            .map(|d| (d.id.clone(), d.version_id.clone()))
    };
    assert_eq!(d(got), d(want), "{what}: distro");
    assert_eq!(
        got.image.reference, want.image.reference,
        "{what}: reference"
    );
    assert_eq!(
        got.image.manifest_digest, want.image.manifest_digest,
        "{what}: manifest digest"
    );
    let layers = |i: &Inventory| {
        i.image
            .layers
            .iter()
            .map(|l| (l.index, l.diff_id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(layers(got), layers(want), "{what}: layers");
    assert_eq!(got.complete, want.complete, "{what}: complete");
}

fn sorted(mut inv: Inventory) -> Inventory {
    inv.packages
        .sort_by(|a, b| (a.ecosystem, &a.name, &a.arch).cmp(&(b.ecosystem, &b.name, &b.arch)));
    inv
}

#[test]
fn round_trips_through_every_patchline_format() {
    for (name, inv) in [
        ("debian", debian()),
        ("ubuntu", ubuntu()),
        ("alpine", alpine()),
        ("rhel", rhel()),
    ] {
        for format in [SbomFormat::Json, SbomFormat::CycloneDx, SbomFormat::Spdx] {
            let what = format!("{name} via {format}");
            let bytes = render(&inv, format);
            let back = parse_sbom(&bytes, &format!("{name}.{format}.json"))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_matcher_fields_equal(&inv, &back, &what);
            assert!(back.warnings.is_empty(), "{what}: {:?}", back.warnings);
            assert_eq!(back.tool, inv.tool, "{what}");
        }
    }
}

#[test]
fn json_round_trip_is_exact() {
    for inv in [debian(), alpine(), rhel()] {
        let back = parse_sbom(&render(&inv, SbomFormat::Json), "inv.json").unwrap();
        assert_eq!(back, inv);
    }
}

/// CycloneDX carries everything but the distro's `NAME` (CycloneDX has one description
/// for it, which holds `PRETTY_NAME`).
#[test]
fn cyclonedx_round_trip_is_exact_but_for_the_distro_name() {
    for mut inv in [debian(), ubuntu(), alpine(), rhel()] {
        inv.complete = false;
        inv.warnings.push(Warning {
            source: "extractor:dpkg".into(),
            location: "layer 1 (sha256:bbbbbbbbbbbb) var/lib/dpkg/status".into(),
            message: "record 3: field \"Version\" missing".into(),
        });
        let mut back = parse_sbom(&render(&inv, SbomFormat::CycloneDx), "inv.cdx.json").unwrap();
        // Read back, each package also knows its bom-ref (the purl patchline wrote).
        for p in &mut back.packages {
            assert_eq!(p.sbom_ref.as_deref(), Some(p.purl.as_str()));
            p.sbom_ref = None;
        }
        let mut want = sorted(inv);
        if let Some(d) = &mut want.distro {
            d.name = None;
        }
        assert_eq!(back, want);
    }
}

/// A language package an OS package owns keeps its owner through patchline's
/// CycloneDX (`patchline:package:managed_by`), so a scan of the SBOM matches it as the
/// image scan did; the property counts only in patchline's own components.
#[test]
fn cyclonedx_round_trip_keeps_managed_by() {
    let mut inv = debian();
    let mut managed = Package::new(Ecosystem::Pypi, "requests", "2.28.1");
    managed.db_path = "usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO".into();
    managed.managed_by = Some("python3-requests".into());
    managed.introduced = Some(layer_ref(1));
    managed.last_changed = Some(layer_ref(1));
    managed.purl = purl::for_package(&managed, None);
    let mut own = Package::new(Ecosystem::Pypi, "urllib3", "1.26.12");
    own.db_path = "opt/venv/lib/python3.11/site-packages/urllib3-1.26.12.dist-info/METADATA".into();
    own.introduced = Some(layer_ref(1));
    own.last_changed = Some(layer_ref(1));
    own.purl = purl::for_package(&own, None);
    inv.packages.extend([managed, own]);

    let bytes = render(&inv, SbomFormat::CycloneDx);
    let mut back = parse_sbom(&bytes, "inv.cdx.json").unwrap();
    for p in &mut back.packages {
        p.sbom_ref = None;
    }
    let mut want = sorted(inv);
    if let Some(d) = &mut want.distro {
        d.name = None;
    }
    assert_eq!(back, want);
    assert_eq!(
        find(&back, "requests").managed_by.as_deref(),
        Some("python3-requests")
    );
    assert_eq!(find(&back, "urllib3").managed_by, None);

    // The same component without patchline's ecosystem property is another tool's.
    let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    for c in doc["components"].as_array_mut().unwrap() {
        if let Some(props) = c["properties"].as_array_mut() {
            props.retain(|p| p["name"] != "patchline:package:ecosystem");
        }
    }
    let foreign = parse_sbom(&serde_json::to_vec(&doc).unwrap(), "other.cdx.json").unwrap();
    assert_eq!(find(&foreign, "requests").managed_by, None);
}

#[test]
fn spdx_round_trip_keeps_completeness_and_warnings() {
    let mut inv = debian();
    inv.complete = false;
    inv.warnings.push(Warning {
        source: "extractor:dpkg".into(),
        location: "layer 1 (sha256:bbbbbbbbbbbb) var/lib/dpkg/status.d/broken".into(),
        message: "record 3: field \"Version\" missing".into(),
    });
    let back = parse_sbom(&render(&inv, SbomFormat::Spdx), "inv.spdx.json").unwrap();
    assert_matcher_fields_equal(&inv, &back, "spdx");
    assert_eq!(back.warnings, inv.warnings);
    let img = &back.image;
    assert_eq!(img.config_digest, inv.image.config_digest);
    assert_eq!(
        (img.os.as_deref(), img.architecture.as_deref()),
        (Some("linux"), Some("amd64"))
    );
    let login = back.packages.iter().find(|p| p.name == "login").unwrap();
    assert_eq!(
        login.maintainer.as_deref(),
        Some("Debian Maintainers <maint@lists.debian.org>")
    );
    let rhel = parse_sbom(&render(&rhel(), SbomFormat::Spdx), "rhel.spdx.json").unwrap();
    let ssl = rhel
        .packages
        .iter()
        .find(|p| p.name == "openssl-libs")
        .unwrap();
    assert_eq!(ssl.licenses, vec!["OpenSSL and ASL 2.0".to_string()]);
}

#[test]
fn read_sbom_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sbom.cdx.json");
    std::fs::write(&path, render(&alpine(), SbomFormat::CycloneDx)).unwrap();
    let inv = read_sbom(&path).unwrap();
    assert_eq!(inv.packages.len(), 4);
    assert_eq!(inv.distro.unwrap().version_id.as_deref(), Some("3.19.1"));
}

/// A Trivy CycloneDX image SBOM, written after the shape of Trivy's own CycloneDX
/// marshalling tests (aquasecurity/trivy, pkg/sbom/cyclonedx marshal_test.go): the image
/// as a `container` with `aquasecurity:trivy:*` properties and its diff_ids, the OS as an
/// `operating-system` component named by Trivy's family and `/etc/debian_version`, OS
/// packages with the version without epoch, the epoch in the purl, the source in
/// `aquasecurity:trivy:Src*`, the layer in `aquasecurity:trivy:LayerDiffID`; a language
/// target as an `application` component with a gem inside.
const TRIVY_CDX: &str = r#"{
  "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
  "bomFormat": "CycloneDX",
  "specVersion": "1.5",
  "serialNumber": "urn:uuid:3ff14136-e09f-4df9-80ea-000000000001",
  "version": 1,
  "metadata": {
    "timestamp": "2024-05-01T12:00:00+00:00",
    "tools": {"components": [{"type": "application", "group": "aquasecurity", "name": "trivy", "version": "0.51.1"}]},
    "component": {
      "bom-ref": "pkg:oci/app@sha256%3A5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270?repository_url=registry.example.com%2Fteam%2Fapp&arch=amd64",
      "type": "container",
      "name": "registry.example.com/team/app:1.0",
      "purl": "pkg:oci/app@sha256%3A5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270?repository_url=registry.example.com%2Fteam%2Fapp&arch=amd64",
      "properties": [
        {"name": "aquasecurity:trivy:DiffID", "value": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"name": "aquasecurity:trivy:DiffID", "value": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
        {"name": "aquasecurity:trivy:ImageID", "value": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"},
        {"name": "aquasecurity:trivy:RepoDigest", "value": "registry.example.com/team/app@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"},
        {"name": "aquasecurity:trivy:RepoTag", "value": "registry.example.com/team/app:1.0"},
        {"name": "aquasecurity:trivy:SchemaVersion", "value": "2"}
      ]
    }
  },
  "components": [
    {
      "bom-ref": "1d7d3b1e-8f9c-4f3c-9d8e-000000000003",
      "type": "operating-system",
      "name": "debian",
      "version": "12.5",
      "properties": [
        {"name": "aquasecurity:trivy:Class", "value": "os-pkgs"},
        {"name": "aquasecurity:trivy:Type", "value": "debian"}
      ]
    },
    {
      "bom-ref": "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12.5&epoch=1",
      "type": "library",
      "supplier": {"name": "Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>"},
      "name": "login",
      "version": "4.13+dfsg1-1+b1",
      "licenses": [{"license": {"name": "GPL-2.0-only"}}],
      "purl": "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12.5&epoch=1",
      "properties": [
        {"name": "aquasecurity:trivy:LayerDiffID", "value": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"name": "aquasecurity:trivy:PkgID", "value": "login@1:4.13+dfsg1-1+b1"},
        {"name": "aquasecurity:trivy:PkgType", "value": "debian"},
        {"name": "aquasecurity:trivy:SrcEpoch", "value": "1"},
        {"name": "aquasecurity:trivy:SrcName", "value": "shadow"},
        {"name": "aquasecurity:trivy:SrcRelease", "value": "1"},
        {"name": "aquasecurity:trivy:SrcVersion", "value": "4.13+dfsg1"}
      ]
    },
    {
      "bom-ref": "pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12.5",
      "type": "library",
      "name": "libcurl4",
      "version": "7.88.1-10+deb12u5",
      "purl": "pkg:deb/debian/libcurl4@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12.5",
      "properties": [
        {"name": "aquasecurity:trivy:LayerDiffID", "value": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
        {"name": "aquasecurity:trivy:PkgID", "value": "libcurl4@7.88.1-10+deb12u5"},
        {"name": "aquasecurity:trivy:PkgType", "value": "debian"},
        {"name": "aquasecurity:trivy:SrcName", "value": "curl"},
        {"name": "aquasecurity:trivy:SrcRelease", "value": "10+deb12u5"},
        {"name": "aquasecurity:trivy:SrcVersion", "value": "7.88.1"}
      ]
    },
    {
      "bom-ref": "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12.5",
      "type": "library",
      "name": "tzdata",
      "version": "2024a-0+deb12u1",
      "purl": "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12.5",
      "properties": [
        {"name": "aquasecurity:trivy:LayerDiffID", "value": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"name": "aquasecurity:trivy:PkgType", "value": "debian"},
        {"name": "aquasecurity:trivy:SrcName", "value": "tzdata"},
        {"name": "aquasecurity:trivy:SrcRelease", "value": "0+deb12u1"},
        {"name": "aquasecurity:trivy:SrcVersion", "value": "2024a"}
      ]
    },
    {
      "bom-ref": "3ff14136-e09f-4df9-80ea-000000000004",
      "type": "application",
      "name": "usr/lib/ruby/gems/3.1.0/specifications",
      "properties": [
        {"name": "aquasecurity:trivy:Class", "value": "lang-pkgs"},
        {"name": "aquasecurity:trivy:Type", "value": "gemspec"}
      ]
    },
    {
      "bom-ref": "pkg:gem/rake@13.0.6?file_path=usr%2Flib%2Fruby%2Fgems%2F3.1.0%2Fspecifications%2Frake-13.0.6.gemspec",
      "type": "library",
      "name": "rake",
      "version": "13.0.6",
      "purl": "pkg:gem/rake@13.0.6",
      "properties": [
        {"name": "aquasecurity:trivy:FilePath", "value": "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec"},
        {"name": "aquasecurity:trivy:PkgType", "value": "gemspec"}
      ]
    }
  ],
  "dependencies": [],
  "vulnerabilities": []
}"#;

fn find<'a>(inv: &'a Inventory, name: &str) -> &'a Package {
    inv.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not found in {:?}", inv.packages))
}

#[test]
fn trivy_cyclonedx() {
    let inv = parse_sbom(TRIVY_CDX.as_bytes(), "trivy.cdx.json").unwrap();
    assert_eq!(inv.tool.name, "trivy");
    assert_eq!(inv.image.reference, "registry.example.com/team/app:1.0");
    assert_eq!(
        inv.image
            .manifest_digest
            .as_ref()
            .map(|d| d.to_string())
            .as_deref(),
        Some("sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270")
    );
    assert_eq!(inv.image.config_digest, Some(digest('c')));
    assert_eq!(inv.image.layers.len(), 2);
    let d = inv.distro.as_ref().unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("debian", Some("12"))
    );
    assert_eq!(inv.packages.len(), 4);

    let login = find(&inv, "login");
    assert_eq!(login.ecosystem, Ecosystem::Deb);
    assert_eq!(login.version, "1:4.13+dfsg1-1+b1");
    assert_eq!(login.epoch, Some(1));
    assert_eq!(login.arch.as_deref(), Some("amd64"));
    assert_eq!(login.source_name.as_deref(), Some("shadow"));
    assert_eq!(login.source_version.as_deref(), Some("1:4.13+dfsg1-1"));
    assert_eq!(login.introduced, Some(layer_ref(0)));
    assert_eq!(
        login.maintainer.as_deref(),
        Some("Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>")
    );
    let curl = find(&inv, "libcurl4");
    assert_eq!(
        (
            curl.source_name.as_deref(),
            curl.source_version.as_deref(),
            curl.last_changed.as_ref().map(|l| l.index)
        ),
        (Some("curl"), Some("7.88.1-10+deb12u5"), Some(1))
    );
    let tz = find(&inv, "tzdata");
    assert_eq!(tz.arch.as_deref(), Some("all"));
    assert_eq!(tz.source_version.as_deref(), Some("2024a-0+deb12u1"));

    // A language component is a package of its ecosystem, matched through its OSV data.
    let rake = find(&inv, "rake");
    assert_eq!(
        (rake.ecosystem, rake.version.as_str(), rake.purl.as_str()),
        (Ecosystem::Gem, "13.0.6", "pkg:gem/rake@13.0.6")
    );
    assert!(inv.unidentified.is_empty(), "{:?}", inv.unidentified);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

/// A Syft CycloneDX 1.4 image SBOM, written after the shape Syft's CycloneDX encoder
/// produces (anchore/syft, cyclonedxhelpers; the property names are those its tests
/// assert): legacy `tools` array, the OS component with `syft:distro:*` properties,
/// purls with a literal `+` and an `upstream=` qualifier, locations with layer and path,
/// the dpkg source in `syft:metadata:source` / `sourceVersion`, an rpm source in
/// `syft:metadata:sourceRpm`, a Python package.
const SYFT_CDX: &str = r#"{
  "bomFormat": "CycloneDX",
  "specVersion": "1.4",
  "serialNumber": "urn:uuid:f43b8443-cdff-4bae-8d06-96fbf90b4c89",
  "version": 1,
  "metadata": {
    "timestamp": "2024-05-01T12:00:00Z",
    "tools": [{"vendor": "anchore", "name": "syft", "version": "0.105.0"}],
    "component": {
      "bom-ref": "5709fbf328a0af67",
      "type": "container",
      "name": "registry.example.com/team/app:1.0",
      "version": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
    }
  },
  "components": [
    {
      "bom-ref": "pkg:deb/debian/bsdutils@2.38.1-5+b1?arch=amd64&upstream=util-linux%402.38.1-5&distro=debian-12&package-id=1",
      "type": "library",
      "publisher": "util-linux packagers <util-linux@packages.debian.org>",
      "name": "bsdutils",
      "version": "1:2.38.1-5+b1",
      "cpe": "cpe:2.3:a:bsdutils:bsdutils:1\\:2.38.1-5\\+b1:*:*:*:*:*:*:*",
      "purl": "pkg:deb/debian/bsdutils@1:2.38.1-5+b1?arch=amd64&upstream=util-linux%402.38.1-5&distro=debian-12",
      "properties": [
        {"name": "syft:package:foundBy", "value": "dpkg-db-cataloger"},
        {"name": "syft:package:metadataType", "value": "dpkg-db-entry"},
        {"name": "syft:package:type", "value": "deb"},
        {"name": "syft:location:0:layerID", "value": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
        {"name": "syft:location:0:path", "value": "/var/lib/dpkg/status"},
        {"name": "syft:metadata:installedSize", "value": "393"},
        {"name": "syft:metadata:source", "value": "util-linux"},
        {"name": "syft:metadata:sourceVersion", "value": "2.38.1-5"}
      ]
    },
    {
      "bom-ref": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
      "type": "library",
      "publisher": "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>",
      "name": "libssl3",
      "version": "3.0.11-1~deb12u2",
      "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
      "properties": [
        {"name": "syft:package:type", "value": "deb"},
        {"name": "syft:location:0:layerID", "value": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
        {"name": "syft:location:0:path", "value": "/var/lib/dpkg/status"},
        {"name": "syft:metadata:source", "value": "openssl"}
      ]
    },
    {
      "bom-ref": "pkg:deb/debian/gcc-12-base@12.2.0-14?arch=amd64&upstream=gcc-12&distro=debian-12",
      "type": "library",
      "name": "gcc-12-base",
      "version": "12.2.0-14",
      "purl": "pkg:deb/debian/gcc-12-base@12.2.0-14?arch=amd64&upstream=gcc-12&distro=debian-12",
      "properties": [
        {"name": "syft:package:type", "value": "deb"}
      ]
    },
    {
      "type": "library",
      "name": "urllib3",
      "version": "1.26.12",
      "purl": "pkg:pypi/urllib3@1.26.12",
      "properties": [
        {"name": "syft:package:language", "value": "python"},
        {"name": "syft:package:type", "value": "python"}
      ]
    },
    {
      "type": "operating-system",
      "name": "debian",
      "version": "12",
      "description": "Debian GNU/Linux 12 (bookworm)",
      "cpe": "cpe:2.3:o:debian:debian_linux:12:*:*:*:*:*:*:*",
      "swid": {"tagId": "debian", "name": "debian", "version": "12"},
      "properties": [
        {"name": "syft:distro:id", "value": "debian"},
        {"name": "syft:distro:prettyName", "value": "Debian GNU/Linux 12 (bookworm)"},
        {"name": "syft:distro:versionCodename", "value": "bookworm"},
        {"name": "syft:distro:versionID", "value": "12"}
      ]
    }
  ]
}"#;

#[test]
fn syft_cyclonedx() {
    let inv = parse_sbom(SYFT_CDX.as_bytes(), "syft.cdx.json").unwrap();
    assert_eq!(inv.tool.name, "syft");
    assert_eq!(
        inv.image.manifest_digest.as_ref().map(|d| d.short()),
        Some("5b0bcabd1ed2")
    );
    let d = inv.distro.as_ref().unwrap();
    assert_eq!(
        (
            d.id.as_str(),
            d.version_id.as_deref(),
            d.version_codename.as_deref()
        ),
        ("debian", Some("12"), Some("bookworm"))
    );
    assert_eq!(inv.packages.len(), 4);
    let bsd = find(&inv, "bsdutils");
    assert_eq!(
        (bsd.version.as_str(), bsd.epoch, bsd.arch.as_deref()),
        ("1:2.38.1-5+b1", Some(1), Some("amd64"))
    );
    assert_eq!(
        (bsd.source_name.as_deref(), bsd.source_version.as_deref()),
        (Some("util-linux"), Some("2.38.1-5"))
    );
    assert_eq!(bsd.db_path, "var/lib/dpkg/status");
    let ssl = find(&inv, "libssl3");
    assert_eq!(
        (ssl.source_name.as_deref(), ssl.source_version.as_deref()),
        (Some("openssl"), Some("3.0.11-1~deb12u2"))
    );
    // Only the purl says where it comes from.
    let base = find(&inv, "gcc-12-base");
    assert_eq!(
        (base.source_name.as_deref(), base.source_version.as_deref()),
        (Some("gcc-12"), Some("12.2.0-14"))
    );
    let urllib3 = find(&inv, "urllib3");
    assert_eq!(
        (urllib3.ecosystem, urllib3.version.as_str()),
        (Ecosystem::Pypi, "1.26.12")
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

/// Another tool's SPDX with purls only: the distro comes from the purls' qualifiers, the
/// source from `upstream=`, the epoch from `epoch=`.
#[test]
fn spdx_from_purls_only() {
    let doc = r#"{
      "spdxVersion": "SPDX-2.3",
      "dataLicense": "CC0-1.0",
      "SPDXID": "SPDXRef-DOCUMENT",
      "name": "redhat/ubi8",
      "documentNamespace": "https://example.com/ubi8",
      "creationInfo": {"created": "2024-05-01T12:00:00Z", "creators": ["Tool: othertool-2.1.0"]},
      "packages": [
        {"SPDXID": "SPDXRef-img", "name": "redhat/ubi8", "downloadLocation": "NOASSERTION",
         "primaryPackagePurpose": "CONTAINER"},
        {"SPDXID": "SPDXRef-p1", "name": "openssl-libs", "versionInfo": "1.1.1k-12.el8_9",
         "downloadLocation": "NOASSERTION", "supplier": "Organization: Red Hat, Inc.",
         "licenseDeclared": "NOASSERTION",
         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
           "referenceLocator": "pkg:rpm/redhat/openssl-libs@1.1.1k-12.el8_9?arch=x86_64&distro=redhat-8.9&epoch=1&upstream=openssl-1.1.1k-12.el8_9.src.rpm"}]},
        {"SPDXID": "SPDXRef-p2", "name": "requests", "versionInfo": "2.31.0",
         "downloadLocation": "NOASSERTION",
         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
           "referenceLocator": "pkg:pypi/requests@2.31.0"}]}
      ],
      "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-img"}]
    }"#;
    let inv = parse_sbom(doc.as_bytes(), "other.spdx.json").unwrap();
    assert_eq!(inv.image.reference, "redhat/ubi8");
    assert_eq!(inv.tool.name, "othertool");
    let d = inv.distro.as_ref().unwrap();
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("rhel", Some("8.9"))
    );
    assert_eq!(inv.packages.len(), 2);
    let p = find(&inv, "openssl-libs");
    assert_eq!(
        (p.version.as_str(), p.epoch),
        ("1:1.1.1k-12.el8_9", Some(1))
    );
    assert_eq!(p.maintainer.as_deref(), Some("Red Hat, Inc."));
    // Syft's rpm purls give the source rpm's file name in `upstream=`; its epoch is the
    // binary's.
    assert_eq!(
        (p.source_name.as_deref(), p.source_version.as_deref()),
        (Some("openssl"), Some("1:1.1.1k-12.el8_9"))
    );
    let r = find(&inv, "requests");
    assert_eq!(
        (r.ecosystem, r.version.as_str()),
        (Ecosystem::Pypi, "2.31.0")
    );
}

fn err(bytes: &[u8]) -> SbomInputError {
    parse_sbom(bytes, "in.json").expect_err("must fail")
}

#[test]
fn bad_input_errors_name_the_file_and_the_problem() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "in.json: not JSON: the file is empty"),
        (b"{\"bomFormat\": \"CycloneDX\",", "in.json: not JSON"),
        (b"\x00\x01binary", "in.json: not JSON"),
        (b"[1, 2]", "not an object"),
        (b"{\"hello\": 1}", "not a known SBOM format"),
        (b"<?xml version=\"1.0\"?><bom/>", "XML"),
        (b"SPDXVersion: SPDX-2.3\n", "tag-value"),
        (b"{\"bomFormat\": \"SWID\"}", "bomFormat is \"SWID\""),
        (b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.2\"}", "specVersion \"1.2\""),
        (b"{\"bomFormat\": \"CycloneDX\"}", "specVersion is missing"),
        (b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": 1.6}", "not a string"),
        (b"{\"spdxVersion\": \"SPDX-2.1\"}", "spdxVersion \"SPDX-2.1\""),
        (b"{\"@context\": \"https://spdx.org/rdf/3.0.1/spdx-context.jsonld\"}", "SPDX 3"),
        (b"{\"schema\": \"patchline.inventory/v9\"}", "patchline.inventory/v9"),
        (b"{\"schema\": \"patchline.scan/v1\"}", "scan report"),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": {}}",
            "at components: invalid type: map",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": [{\"type\": \"library\", \"name\": \"x\", \"version\": 7}]}",
            "at components[0].version: invalid type: integer `7`",
        ),
        (
            b"{\"spdxVersion\": \"SPDX-2.3\", \"packages\": [{\"SPDXID\": \"SPDXRef-x\", \"externalRefs\": [{\"referenceLocator\": []}]}]}",
            "at packages[0].externalRefs[0].referenceLocator",
        ),
        (
            b"{\"schema\": \"patchline.inventory/v1\", \"tool\": {\"name\": \"p\", \"version\": \"1\"}, \"image\": {\"reference\": \"x\"}, \"packages\": [{\"ecosystem\": \"hex\"}], \"complete\": true}",
            "at packages[0].ecosystem: unknown variant `hex`",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"} trailing",
            "not JSON",
        ),
    ];
    for (input, want) in cases {
        let e = err(input).to_string();
        assert!(e.starts_with("in.json: "), "{e}");
        assert!(
            e.contains(want),
            "{:?}: got {e:?}, want {want:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Deeply nested components are refused by the JSON parser, not by the stack.
    let deep = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"components\": {}[]{}}}",
        "[{\"components\": ".repeat(100_000),
        "}]".repeat(100_000)
    );
    let e = err(deep.as_bytes()).to_string();
    assert!(e.contains("recursion limit"), "{e}");
    // Deep nesting in fields nobody reads is skipped without recursion.
    let deep = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(parse_sbom(deep.as_bytes(), "in.json").is_ok());
}

#[test]
fn an_os_package_with_a_broken_purl_is_reported_not_dropped_silently() {
    let doc = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "libc6", "version": "2.36-9", "purl": "pkg:deb/debian/libc6@2.36-9%zz"},
        {"type": "library", "name": "zlib1g", "version": "1:1.2.13.dfsg-1", "purl": "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?epoch=1&distro=debian-12"}
    ]}"#;
    let inv = parse_sbom(doc, "in.json").unwrap();
    assert_eq!(inv.packages.len(), 1);
    assert!(!inv.complete);
    assert!(
        inv.warnings[0].message.contains("libc6") && inv.warnings[0].message.contains("%zz"),
        "{:?}",
        inv.warnings
    );
    assert_eq!(inv.image.reference, "in.json");
    assert_eq!(inv.distro.as_ref().unwrap().source, "sbom:purl");
}

#[test]
fn huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let f = std::fs::File::create(&path).unwrap();
    // Sparse: claims 2 GiB without using the disk.
    f.set_len(2 << 30).unwrap();
    let e = read_sbom(&path).unwrap_err();
    assert!(
        matches!(e, SbomInputError::TooLarge { size, .. } if size == 2 << 30),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("huge.json") && msg.contains(&MAX_SBOM_BYTES.to_string()),
        "{msg}"
    );

    let missing = dir.path().join("missing.json");
    let e = read_sbom(&missing).unwrap_err().to_string();
    assert!(e.contains("missing.json: cannot read"), "{e}");

    let mut f = std::fs::File::create(dir.path().join("small.json")).unwrap();
    f.write_all(b"not json").unwrap();
    let e = read_sbom(&dir.path().join("small.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("small.json: not JSON"), "{e}");
}

/// A patchline CycloneDX scan result lists only vulnerable packages: reading it as an
/// SBOM is allowed but flagged.
#[test]
fn a_scan_result_is_flagged_as_partial() {
    let doc = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"properties": [{"name": "patchline:scan:schema", "value": "patchline.scan/v1"}]},
        "components": []}"#;
    let inv = parse_sbom(doc, "scan.cdx.json").unwrap();
    assert!(!inv.complete);
    assert!(inv.warnings[0].message.contains("scan result"));
}

/// The real thing: a patchline CycloneDX scan result read back keeps its packages but
/// says it is partial.
#[test]
fn a_rendered_scan_result_reads_back_flagged() {
    use patchline_model::vuln::{
        DbInfo, Finding, FindingPackage, FixState, ScanReport, Severity, SCAN_SCHEMA,
    };
    use patchline_report::{render_scan, ScanFormat};
    let inv = debian();
    let login = inv.packages.iter().find(|p| p.name == "login").unwrap();
    let report = ScanReport {
        scanners: Default::default(),
        checks: Default::default(),
        policy: Default::default(),
        schema: SCAN_SCHEMA.into(),
        tool: inv.tool.clone(),
        image: inv.image.clone(),
        distro: inv.distro.clone(),
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: inv.packages.len(),
        packages_not_matched: 0,
        unmatched: vec![],
        packages_managed_by_os: 0,
        findings: vec![Finding {
            id: "CVE-2023-4641".into(),
            aliases: vec![],
            advisories: vec!["debian-tracker:CVE-2023-4641".into()],
            package: FindingPackage {
                ecosystem: login.ecosystem,
                name: login.name.clone(),
                version: login.version.clone(),
                arch: login.arch.clone(),
                source_name: login.source_name.clone(),
                source_version: login.source_version.clone(),
                purl: login.purl.clone(),
                introduced: login.introduced.clone(),
                last_changed: login.last_changed.clone(),
                sbom_ref: None,
                path: None,
            },
            ecosystem: "Debian:12".into(),
            state: FixState::WillNotFix,
            fixed_versions: vec![],
            severity: Severity::Low,
            severity_source: "debian".into(),
            cvss: vec![],
            kev: None,
            epss: None,
            summary: None,
            references: vec![],
        }],
        inventory_complete: true,
        warnings: vec![],
    };
    let mut out = Vec::new();
    render_scan(
        &report,
        ScanFormat::CycloneDx,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    let back = parse_sbom(&out, "scan.cdx.json").unwrap();
    assert!(!back.complete);
    assert!(back
        .warnings
        .iter()
        .any(|w| w.message.contains("scan result")));
    assert_eq!(back.packages.len(), 1);
    let p = &back.packages[0];
    assert_eq!(
        (
            p.version.as_str(),
            p.epoch,
            p.source_name.as_deref(),
            p.source_version.as_deref(),
            &p.purl
        ),
        (
            "1:4.13+dfsg1-1+b1",
            Some(1),
            Some("shadow"),
            Some("1:4.13+dfsg1-1"),
            &login.purl
        )
    );
    assert_eq!(p.introduced, login.introduced);
}
