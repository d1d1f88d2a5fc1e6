#![no_main]
//! dpkg status parsing must not panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(x) = patchline_inventory::dpkg::parse_status("var/lib/dpkg/status", data) {
        // Every listed package has what the inventory relies on.
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
});
