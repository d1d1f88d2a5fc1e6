#![no_main]
//! `Cargo.lock` parsing must not panic, whatever the bytes; streamed under a budget it
//! gives the same packages or an error.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::rust::{parse_lock, CargoLock};
use patchline_inventory::{Budget, Extractor};

const PATH: &str = "app/Cargo.lock";

fuzz_target!(|data: &[u8]| {
    let whole = parse_lock(PATH, data);
    for p in &whole.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty());
    }
    let budget = Budget::new(1 << 20);
    if let Ok(x) = CargoLock.extract_from(PATH, data.len() as u64, &mut &data[..], &budget) {
        assert_eq!(x, whole);
    }
});
