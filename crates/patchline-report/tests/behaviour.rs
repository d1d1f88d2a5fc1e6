//! Properties every renderer keeps whatever the inventory.

mod common;

use common::{debian, empty, fixed_options, odd, render, rhel};
use patchline_model::Inventory;
use patchline_report::{RenderOptions, SbomFormat};

#[test]
fn output_does_not_depend_on_package_order() {
    let inv = debian();
    let mut reversed = inv.clone();
    reversed.packages.reverse();
    for f in [SbomFormat::Table, SbomFormat::CycloneDx, SbomFormat::Spdx] {
        assert_eq!(
            render(&inv, f, &fixed_options()),
            render(&reversed, f, &fixed_options()),
            "{f}"
        );
    }
}

#[test]
fn json_is_the_inventory_unchanged() {
    for inv in [debian(), rhel(), empty(), odd()] {
        let text = render(&inv, SbomFormat::Json, &fixed_options());
        let back: Inventory = serde_json::from_str(&text).unwrap();
        assert_eq!(back, inv);
    }
}

#[test]
fn unpinned_options_give_fresh_serials() {
    let inv = rhel();
    let a = common::render(&inv, SbomFormat::CycloneDx, &RenderOptions::default());
    let b = common::render(&inv, SbomFormat::CycloneDx, &RenderOptions::default());
    let serial =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["serialNumber"].clone();
    assert_ne!(serial(&a), serial(&b));
    let ns = |inv: &Inventory| {
        let s = common::render(inv, SbomFormat::Spdx, &RenderOptions::default());
        serde_json::from_str::<serde_json::Value>(&s).unwrap()["documentNamespace"].clone()
    };
    assert_ne!(ns(&inv), ns(&inv));
}

#[test]
fn table_colours_only_when_asked() {
    let inv = debian();
    let plain = render(&inv, SbomFormat::Table, &fixed_options());
    assert!(!plain.contains('\u{1b}'));
    let coloured = render(
        &inv,
        SbomFormat::Table,
        &RenderOptions {
            color: true,
            ..fixed_options()
        },
    );
    assert!(coloured.contains("\u{1b}[1m"));
    assert!(coloured.contains("\u{1b}[1;31mINCOMPLETE"));
}

#[test]
fn table_neutralises_hostile_text() {
    let t = render(&odd(), SbomFormat::Table, &fixed_options());
    assert!(!t.contains('\u{1b}'), "{t}");
    assert!(!t.contains('\u{202e}'), "{t}");
    assert!(!t.contains('\r'), "{t}");
    assert!(t.contains("ünïcødé-名前"), "{t}");
    assert!(t.contains("(unnamed image)"), "{t}");
    // The 3000-character version is cut to its column.
    assert!(t.lines().all(|l| l.chars().count() < 200), "{t}");
    assert!(t.contains('…'), "{t}");
    assert!(t.contains("INCOMPLETE"), "{t}");
}

#[test]
fn table_reports_counts_and_warnings() {
    let t = render(&debian(), SbomFormat::Table, &fixed_options());
    let first = t.lines().next().unwrap();
    assert!(
        first.contains("registry.example.com/app/curl:1.0"),
        "{first}"
    );
    assert!(first.contains("sha256:5b0bcabd1ed2"), "{first}");
    assert!(first.contains("Debian GNU/Linux 12 (bookworm)"), "{first}");
    assert!(first.contains("13 packages"), "{first}");
    assert!(t.contains("Warnings (1):"));
    assert!(t.trim_end().ends_with("packages may be missing."));
    let complete = render(&rhel(), SbomFormat::Table, &fixed_options());
    assert!(!complete.contains("INCOMPLETE") && !complete.contains("Warnings"));
}

#[test]
fn write_errors_are_returned() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    for f in SbomFormat::ALL {
        let err = patchline_report::render_sbom(&debian(), f, &fixed_options(), &mut Full)
            .expect_err("must fail");
        assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{f}");
    }
}
