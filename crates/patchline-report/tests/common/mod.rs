//! Inventories the tests render: what patchline's extractors produce for real images,
//! with versions, sources and maintainers as the distributions publish them.
#![allow(dead_code)] // each test crate uses a different subset

use patchline_model::{
    purl, Digest, Distro, Ecosystem, ImageInfo, Inventory, LayerInfo, LayerRef, Package, Tool,
    Warning,
};
use patchline_report::{render_sbom, RenderOptions, SbomFormat};

#[path = "../schemas/mod.rs"]
pub mod schemas;

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

pub fn render(inv: &Inventory, format: SbomFormat, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    render_sbom(inv, format, opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

pub fn render_json(inv: &Inventory, format: SbomFormat) -> serde_json::Value {
    serde_json::from_str(&render(inv, format, &fixed_options())).expect("valid JSON")
}

fn digest(hex: &str) -> Digest {
    format!("sha256:{hex}").parse().expect("fixture digest")
}

const MANIFEST: &str = "5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";
const CONFIG: &str = "9b1b27b8d7a6b3f9ed0b4e4d4dd2c3a2f7b6e4a1c2d3e4f5a6b7c8d9e0f1a2b3";
const LAYER0_DIFF: &str = "1f1d5ae3e7d8e5b1f3a2c4d6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8";
const LAYER0_BLOB: &str = "09f376ebb190216b0459f470e71bec7b5dfa611d66bf008492b40dcc5f1d8eae";
const LAYER1_DIFF: &str = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
const LAYER1_BLOB: &str = "e4fff0779e6ddd22366469f08626c3ab1884b5cbe1719b26da238c95f247b305";

fn layer(index: usize, diff: &str, blob: &str, size: u64, created_by: &str) -> LayerInfo {
    LayerInfo {
        index,
        digest: Some(digest(blob)),
        diff_id: digest(diff),
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        size: Some(size),
        created_by: Some(created_by.into()),
    }
}

fn layer_ref(index: usize) -> LayerRef {
    LayerRef {
        index,
        diff_id: digest(if index == 0 { LAYER0_DIFF } else { LAYER1_DIFF }),
    }
}

struct Spec<'a> {
    name: &'a str,
    version: &'a str,
    arch: &'a str,
    source: Option<(&'a str, &'a str)>,
    licenses: &'a [&'a str],
    maintainer: &'a str,
    introduced: usize,
    last_changed: usize,
}

fn package(eco: Ecosystem, distro: &Distro, db: &str, s: Spec) -> Package {
    let mut p = Package::new(eco, s.name, s.version);
    p.epoch = s
        .version
        .split_once(':')
        .and_then(|(e, _)| e.parse().ok())
        .filter(|_| eco != Ecosystem::Apk);
    p.arch = Some(s.arch.into());
    if let Some((n, v)) = s.source {
        p.source_name = Some(n.into());
        p.source_version = Some(v.into());
    }
    p.licenses = s.licenses.iter().map(|l| l.to_string()).collect();
    p.maintainer = (!s.maintainer.is_empty()).then(|| s.maintainer.into());
    p.purl = purl::for_package(&p, Some(distro));
    p.db_path = db.into();
    p.introduced = Some(layer_ref(s.introduced));
    p.last_changed = Some(layer_ref(s.last_changed));
    p
}

fn two_layer_image(reference: &str) -> ImageInfo {
    ImageInfo { config: Default::default(),
        reference: reference.into(),
        manifest_digest: Some(digest(MANIFEST)),
        config_digest: Some(digest(CONFIG)),
        os: Some("linux".into()),
        architecture: Some("amd64".into()),
        variant: None,
        created: Some("2024-04-23T00:00:00Z".into()),
        labels: [("org.opencontainers.image.source".to_string(), "https://example.com/app".to_string())]
            .into_iter()
            .collect(),
        annotations: Default::default(),
        layers: vec![
            layer(0, LAYER0_DIFF, LAYER0_BLOB, 29_151_104, "/bin/sh -c #(nop) ADD file:4b1be1de1a1e5aa608c688cad2824587262081866180d7368feb79d33ca05953 in / "),
            layer(1, LAYER1_DIFF, LAYER1_BLOB, 10_934_272, "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && rm -rf /var/lib/apt/lists/* # buildkit"),
        ],
    }
}

fn inventory(image: ImageInfo, distro: Distro, packages: Vec<Package>) -> Inventory {
    let mut inv = Inventory::new(image);
    // Pinned so that a version bump does not rewrite every snapshot.
    inv.tool = Tool {
        name: "patchline".into(),
        version: "0.1.0".into(),
    };
    inv.distro = Some(distro);
    inv.packages = packages;
    inv
}

/// A Debian 12 image with `curl` installed on top: two layers, thirteen packages, one of
/// them upgraded by the second layer, and a warning that made the inventory incomplete.
pub fn debian() -> Inventory {
    let d = Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        version_codename: Some("bookworm".into()),
        name: Some("Debian GNU/Linux".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        id_like: vec![],
        cpe_name: None,
        source: "etc/os-release".into(),
    };
    const DB: &str = "var/lib/dpkg/status";
    const LIBC: &str = "GNU Libc Maintainers <debian-glibc@lists.debian.org>";
    const SHADOW: &str = "Shadow package maintainers <pkg-shadow-devel@lists.alioth.debian.org>";
    const SSL: &str = "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>";
    const CURL: &str = "Alessandro Ghedini <ghedo@debian.org>";
    let deb = |s: Spec| package(Ecosystem::Deb, &d, DB, s);
    // Listed out of order on purpose: renderers sort.
    #[rustfmt::skip]
    let packages = vec![
        deb(Spec { name: "zlib1g", version: "1:1.2.13.dfsg-1", arch: "amd64", source: Some(("zlib", "1:1.2.13.dfsg-1")), licenses: &["Zlib"], maintainer: "Mark Brown <broonie@debian.org>", introduced: 0, last_changed: 0 }),
        deb(Spec { name: "base-files", version: "12.4+deb12u5", arch: "amd64", source: None, licenses: &["GPL-2+"], maintainer: "Santiago Vila <sanvila@debian.org>", introduced: 0, last_changed: 0 }),
        deb(Spec { name: "libc6", version: "2.36-9+deb12u4", arch: "amd64", source: Some(("glibc", "2.36-9+deb12u4")), licenses: &["LGPL-2.1-or-later", "GPL-2.0-or-later"], maintainer: LIBC, introduced: 0, last_changed: 0 }),
        deb(Spec { name: "libgcc-s1", version: "12.2.0-14", arch: "amd64", source: Some(("gcc-12", "12.2.0-14")), licenses: &["GPL-3.0-or-later WITH GCC-exception-3.1"], maintainer: "Debian GCC Maintainers <debian-gcc@lists.debian.org>", introduced: 0, last_changed: 0 }),
        deb(Spec { name: "login", version: "1:4.13+dfsg1-1+b1", arch: "amd64", source: Some(("shadow", "1:4.13+dfsg1-1")), licenses: &[], maintainer: SHADOW, introduced: 0, last_changed: 0 }),
        deb(Spec { name: "passwd", version: "1:4.13+dfsg1-1+b1", arch: "amd64", source: Some(("shadow", "1:4.13+dfsg1-1")), licenses: &[], maintainer: SHADOW, introduced: 0, last_changed: 0 }),
        deb(Spec { name: "libssl3", version: "3.0.11-1~deb12u2", arch: "amd64", source: Some(("openssl", "3.0.11-1~deb12u2")), licenses: &["Apache-2.0"], maintainer: SSL, introduced: 0, last_changed: 1 }),
        deb(Spec { name: "perl-base", version: "5.36.0-7+deb12u1", arch: "amd64", source: Some(("perl", "5.36.0-7+deb12u1")), licenses: &["GPL-1.0-or-later OR Artistic-1.0-Perl"], maintainer: "Niko Tyni <ntyni@debian.org>", introduced: 0, last_changed: 0 }),
        deb(Spec { name: "tzdata", version: "2024a-0+deb12u1", arch: "all", source: None, licenses: &["public-domain"], maintainer: LIBC, introduced: 0, last_changed: 0 }),
        deb(Spec { name: "libcurl4", version: "7.88.1-10+deb12u5", arch: "amd64", source: Some(("curl", "7.88.1-10+deb12u5")), licenses: &["curl"], maintainer: CURL, introduced: 1, last_changed: 1 }),
        deb(Spec { name: "curl", version: "7.88.1-10+deb12u5", arch: "amd64", source: Some(("curl", "7.88.1-10+deb12u5")), licenses: &["curl"], maintainer: CURL, introduced: 1, last_changed: 1 }),
        deb(Spec { name: "ca-certificates", version: "20230311", arch: "all", source: None, licenses: &["MPL-2.0", "GPL-2+"], maintainer: "Julien Cristau <jcristau@debian.org>", introduced: 1, last_changed: 1 }),
        deb(Spec { name: "libgnutls30", version: "3.7.9-2+deb12u2", arch: "amd64", source: Some(("gnutls28", "3.7.9-2+deb12u2")), licenses: &["LGPL-2.1-or-later", "GPL-3.0-or-later"], maintainer: "Debian GnuTLS Maintainers <pkg-gnutls-maint@lists.alioth.debian.org>", introduced: 0, last_changed: 0 }),
    ];
    let mut inv = inventory(
        two_layer_image("registry.example.com/app/curl:1.0"),
        d,
        packages,
    );
    inv.complete = false;
    inv.warnings.push(Warning {
        source: "extractor:dpkg".into(),
        location: format!(
            "layer 1 (sha256:{}) var/lib/dpkg/status.d/broken",
            &LAYER1_DIFF[..12]
        ),
        message: "record 3: field \"Version\" missing".into(),
    });
    inv
}

/// Alpine 3.19 with three apk packages, one of them licensed by an SPDX expression.
pub fn alpine() -> Inventory {
    let d = Distro {
        id: "alpine".into(),
        version_id: Some("3.19.1".into()),
        name: Some("Alpine Linux".into()),
        pretty_name: Some("Alpine Linux v3.19".into()),
        source: "etc/os-release".into(),
        ..Default::default()
    };
    const DB: &str = "lib/apk/db/installed";
    const NATANAEL: &str = "Natanael Copa <ncopa@alpinelinux.org>";
    let apk = |s: Spec| package(Ecosystem::Apk, &d, DB, s);
    #[rustfmt::skip]
    let packages = vec![
        apk(Spec { name: "musl", version: "1.2.4_git20230717-r4", arch: "x86_64", source: Some(("musl", "1.2.4_git20230717-r4")), licenses: &["MIT"], maintainer: "Timo Teräs <timo.teras@iki.fi>", introduced: 0, last_changed: 0 }),
        apk(Spec { name: "busybox", version: "1.36.1-r15", arch: "x86_64", source: Some(("busybox", "1.36.1-r15")), licenses: &["GPL-2.0-only"], maintainer: "Sören Tempel <soeren+alpine@soeren-tempel.net>", introduced: 0, last_changed: 0 }),
        apk(Spec { name: "ca-certificates-bundle", version: "20240226-r0", arch: "x86_64", source: Some(("ca-certificates", "20240226-r0")), licenses: &["MPL-2.0 AND MIT"], maintainer: NATANAEL, introduced: 0, last_changed: 1 }),
    ];
    inventory(two_layer_image("oci:build/layout:alpine"), d, packages)
}

/// RHEL 8 (UBI) with rpm licences in Fedora's old notation, which are not SPDX.
pub fn rhel() -> Inventory {
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
    const DB: &str = "var/lib/rpm/Packages";
    const RH: &str = "Red Hat, Inc. <http://bugzilla.redhat.com/bugzilla>";
    let rpm = |s: Spec| package(Ecosystem::Rpm, &d, DB, s);
    #[rustfmt::skip]
    let packages = vec![
        rpm(Spec { name: "rpm-libs", version: "4.14.3-28.el8_9", arch: "x86_64", source: Some(("rpm", "4.14.3-28.el8_9")), licenses: &["GPLv2+ and LGPLv2+"], maintainer: RH, introduced: 0, last_changed: 0 }),
        rpm(Spec { name: "libyaml", version: "0.1.7-5.el8", arch: "x86_64", source: Some(("libyaml", "0.1.7-5.el8")), licenses: &["MIT"], maintainer: RH, introduced: 0, last_changed: 0 }),
        rpm(Spec { name: "openssl-libs", version: "1:1.1.1k-12.el8_9", arch: "x86_64", source: Some(("openssl", "1:1.1.1k-12.el8_9")), licenses: &["OpenSSL and ASL 2.0"], maintainer: RH, introduced: 0, last_changed: 1 }),
    ];
    inventory(two_layer_image("docker-archive:ubi8.tar"), d, packages)
}

/// What patchline prints for an empty root filesystem.
pub fn empty() -> Inventory {
    let mut inv = Inventory::new(ImageInfo {
        reference: "dir:/tmp/empty".into(),
        ..Default::default()
    });
    inv.tool.version = "0.1.0".into();
    inv
}

/// Hostile and odd values: unicode, terminal escapes, spaces and slashes in names,
/// duplicate purls, a missing purl, an empty reference, a huge version, no layers.
pub fn odd() -> Inventory {
    let mut inv = Inventory::new(ImageInfo::default());
    inv.tool.version = "0.1.0".into();
    inv.complete = false;
    let distro = Distro {
        id: "wölfi".into(),
        source: "etc/os-release".into(),
        ..Default::default()
    };
    let mut a = Package::new(Ecosystem::Apk, "ünïcødé-名前", "1.0-r0");
    a.maintainer = Some("Jöhn Dœ <john@例え.jp>".into());
    a.licenses = vec!["LicenseRef-custom".into(), "(MIT".into(), "mit".into()];
    a.purl = purl::for_package(&a, Some(&distro));
    let dup = a.clone();
    let mut b = Package::new(
        Ecosystem::Deb,
        "evil\u{1b}[31mred\u{202e}txt",
        "1:2.0~rc1+dfsg/x y",
    );
    b.epoch = Some(1);
    b.maintainer = Some("<>".into());
    b.licenses = vec!["MIT OR Apache-2.0".into()];
    let mut c = Package::new(
        Ecosystem::Rpm,
        "name with spaces/and/slashes",
        "9".repeat(3000),
    );
    c.source_name = Some("sr\nc".into());
    c.licenses = vec!["x".repeat(5000)];
    c.purl = purl::for_package(&c, Some(&distro));
    let mut e = Package::new(Ecosystem::Deb, "SPDXRef-", "");
    e.purl = String::new();
    inv.distro = Some(distro);
    inv.packages = vec![a, dup, b, c, e];
    inv.warnings.push(Warning {
        source: "layer".into(),
        location: "layer 0 \u{1b}]0;pwned\u{7}".into(),
        message: "truncated tar stream\r\n".into(),
    });
    inv
}
