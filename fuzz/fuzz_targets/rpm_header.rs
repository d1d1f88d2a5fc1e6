#![no_main]
//! rpm header blobs: validation and field extraction must never panic or over-allocate.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = patchline_rpmdb::header::parse(data);
});
