//! Adding a distro is one module and one registry line: a made-up distro, "Zebra Linux",
//! defined here in one `Spec`, is recognised from its os-release and from every purl
//! spelling, has its feed in `db update`'s default set, its upgrade command in plans,
//! and its packages matched with its own version scheme, ecosystems, vendor ratings and
//! end of life. Nothing outside this file knows about it.

use patchline_match::{MatchOptions, Matcher, MemoryDb};
use patchline_model::distro::{Recognition, Registry};
use patchline_model::vuln::{
    Advisory, Affected, Event, FixState, Range, RangeKind, Severity, SeverityScore,
};
use patchline_model::{Distro, Ecosystem, ImageInfo, Inventory, Package};

/// The whole of the new distro.
mod zebra {
    use patchline_model::distro::{defaults, major, Spec};

    fn ecosystems(release: &str) -> Vec<String> {
        vec![format!("Zebra:{release}")]
    }

    pub const ZEBRA: Spec = Spec {
        id: "zebra",
        name: "Zebra Linux",
        aliases: &["zebra linux"],
        purl_namespace: "zebra",
        codenames: &[("stripes", "1"), ("mane", "2")],
        release: major,
        ecosystems,
        osv_names: &["Zebra"],
        feeds: &["osv-Zebra"],
        eol: &[("1", (2020, 1, 31))],
        vendor: "zebra",
        vendor_ratings: &["zebra"],
        ..defaults::APK
    };
}

fn registry() -> Registry {
    // The one registry line.
    Registry::builtin().with(&zebra::ZEBRA)
}

fn os(id: &str, version: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: Some(version.into()),
        source: "etc/os-release".into(),
        ..Default::default()
    }
}

#[test]
fn recognised_everywhere_the_registry_is_asked() {
    let reg = registry();
    let Recognition::Release(r) = reg.recognize(&os("zebra", "2.7")) else {
        panic!("zebra 2.7 not recognised");
    };
    assert_eq!(
        (r.version.as_str(), r.display()),
        ("2", "Zebra Linux 2".into())
    );
    assert_eq!(r.ecosystems, ["Zebra:2"]);
    for (q, ns) in [
        ("zebra-2.7", None),
        ("mane", Some("zebra")),
        ("2", Some("zebra")),
    ] {
        let d = reg.distro_from_qualifier(q, ns);
        assert_eq!(
            reg.release_of(&d).map(|r| r.ecosystems),
            Some(vec!["Zebra:2".into()]),
            "{q}"
        );
    }
    assert_eq!(reg.by_name("Zebra Linux").map(|s| s.id), Some("zebra"));
    assert!(reg.feeds().contains(&"osv-Zebra"));
    assert_eq!(
        reg.by_name("zebra")
            .unwrap()
            .upgrade_for(&[])
            .render(&["musl".into()]),
        "apk upgrade --no-cache musl"
    );
    // The built-in registry is untouched.
    assert!(matches!(
        Registry::builtin().recognize(&os("zebra", "2")),
        Recognition::Unknown
    ));
}

fn advisory(id: &str, ecosystem: &str, fixed: &str, rating: &str) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: vec![],
        source: "osv-Zebra".into(),
        affected: vec![Affected {
            ecosystem: ecosystem.into(),
            package: "musl".into(),
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.into())],
            }],
            severity: vec![SeverityScore {
                kind: "Zebra".into(),
                score: rating.into(),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn matched_with_its_own_rules() {
    let reg = registry();
    let mut db = MemoryDb::new();
    db.insert(advisory("CVE-2024-0001", "Zebra:2", "1.2.4-r3", "high"));
    // Another release's record must not match.
    db.insert(advisory("CVE-2024-0002", "Zebra:1", "9.9.9-r0", "low"));
    let mut musl = Package::new(Ecosystem::Apk, "musl", "1.2.4-r2");
    musl.source_name = Some("musl".into());
    let mut inv = Inventory::new(ImageInfo {
        reference: "zebra-app:1".into(),
        ..Default::default()
    });
    inv.distro = Some(os("zebra", "2.7"));
    inv.packages = vec![musl];

    let today = time::Date::from_calendar_date(2026, time::Month::December, 7).unwrap();
    let opts = MatchOptions { today: Some(today) };
    let r = Matcher::with_registry(&db, &reg).scan(&inv, &opts).unwrap();
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(f.id, "CVE-2024-0001");
    assert_eq!(f.state, FixState::Fixed);
    assert_eq!(f.fixed_versions, ["1.2.4-r3"]);
    assert_eq!(
        (f.severity, f.severity_source.as_str()),
        (Severity::High, "zebra")
    );
    assert!(!r.distro_eol);

    // Its end-of-life table applies.
    inv.distro = Some(os("zebra", "1"));
    let r = Matcher::with_registry(&db, &reg).scan(&inv, &opts).unwrap();
    assert!(r.distro_eol);
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("end of life on 2020-01-31")));

    // The built-in registry does not know it: nothing is reported clean.
    let r = Matcher::new(&db).scan(&inv, &opts).unwrap();
    assert!(r.findings.is_empty());
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("patchline does not know it")));
}
