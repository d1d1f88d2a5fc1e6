#![no_main]
//! Whole rpm databases (SQLite, BerkeleyDB hash, NDB), format detected from the bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = patchline_rpmdb::read_packages(data) {
        // Touch the results so the whole path is exercised.
        for p in &read.packages {
            let _ = p.is_gpg_pubkey();
            let _ = p.source();
        }
    }
});
