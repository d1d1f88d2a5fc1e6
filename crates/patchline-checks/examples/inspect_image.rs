//! Inventories an image with or without the filesystem and secret inspectors, for
//! bench/checks.sh and for a look at what the checks find (the CLI does not run them
//! yet). No layer cache: every run is cold.
//!
//!   inspect_image [--checks] [--json] REF     (REF: oci:DIR:TAG, oci-archive:FILE, ...)
//!
//! Prints `packages N findings M` on stderr, and with `--json` the findings on stdout.

use patchline_checks::{fs, inspectors, secrets, Scanners};
use patchline_image::{ImageRef, OpenOptions};
use patchline_inventory::{inventory_image, InventoryOptions, NoProgress};

fn main() {
    let mut checks = false;
    let mut json = false;
    let mut reference = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--checks" => checks = true,
            "--json" => json = true,
            _ => reference = Some(a),
        }
    }
    let Some(raw) = reference else {
        eprintln!("usage: inspect_image [--checks] [--json] REF");
        std::process::exit(2);
    };
    let parsed = ImageRef::parse(&raw).unwrap_or_else(|e| {
        eprintln!("inspect_image: {raw}: {e}");
        std::process::exit(2)
    });
    let source =
        patchline_image::open(&parsed, &raw, &OpenOptions::default()).unwrap_or_else(|e| {
            eprintln!("inspect_image: {raw}: {e}");
            std::process::exit(1)
        });
    let opts = InventoryOptions {
        inspectors: if checks {
            inspectors(Scanners::default())
        } else {
            Vec::new()
        },
        ..InventoryOptions::default()
    };
    let mut inv = inventory_image(source.as_ref(), &opts, &NoProgress).unwrap_or_else(|e| {
        eprintln!("inspect_image: {raw}: {e}");
        std::process::exit(1)
    });
    if checks {
        fs::merge_package_caches(&mut inv.checks);
        let config = secrets::check_config(&mut inv.image);
        inv.checks.extend(config);
    }
    eprintln!(
        "packages {} findings {}",
        inv.packages.len(),
        inv.checks.len()
    );
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&inv.checks).expect("findings serialize")
        );
    }
}
