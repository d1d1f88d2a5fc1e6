#![no_main]
//! Executables (Go build info, cargo-auditable `.dep-v0`) must not panic, whatever the
//! bytes: read in memory and kept whole through the stream they agree; streamed with
//! nothing kept whole under a small budget, every reservation is given back but for the
//! packages kept.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::binary::Executables;
use patchline_inventory::{Budget, Extractor};

const PATH: &str = "usr/bin/app";

fuzz_target!(|data: &[u8]| {
    let e = Executables::default();
    let whole = e.extract(PATH, data).expect("no budget to exceed");
    for p in &whole.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty());
    }
    let size = data.len() as u64;
    let kept = e
        .extract_from(PATH, size, &mut &data[..], &Budget::unlimited())
        .expect("no budget to exceed");
    assert_eq!(kept, whole);
    let budget = Budget::new(4 << 20);
    let streamed =
        Executables::with_whole_file_cap(0).extract_from(PATH, size, &mut &data[..], &budget);
    let kept_bytes: u64 = match &streamed {
        // Packages are charged for good: about their strings and struct each.
        Ok(x) => x
            .packages
            .iter()
            .map(|p| 2048 + 2 * (p.name.len() + p.version.len() + p.db_path.len()) as u64)
            .sum(),
        Err(_) => 0,
    };
    assert!(
        budget.used() <= kept_bytes,
        "{} > {kept_bytes}",
        budget.used()
    );
});
