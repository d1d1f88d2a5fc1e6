#![no_main]
//! dpkg status parsing must not panic, whatever the bytes; under a small memory budget
//! it either succeeds with the same packages or stops, giving every reservation back.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::dpkg::{parse_status, parse_status_from};
use patchline_inventory::Budget;

const PATH: &str = "var/lib/dpkg/status";

fuzz_target!(|data: &[u8]| {
    let whole = parse_status(PATH, data);
    if let Ok(x) = &whole {
        // Every listed package has what the inventory relies on.
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
    // One 1 MiB step for the record buffer, then little room for packages.
    let budget = Budget::new((1 << 20) + (64 << 10));
    if let Ok(small) = parse_status_from(PATH, &mut &data[..], &budget) {
        assert_eq!(Some(&small), whole.as_ref().ok());
    }
});
