#![no_main]
//! apk installed-database parsing must not panic, whatever the bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(x) = patchline_inventory::apk::parse_installed("lib/apk/db/installed", data) {
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
});
