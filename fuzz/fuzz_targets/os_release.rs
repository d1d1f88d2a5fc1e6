#![no_main]
//! os-release parsing and every fallback of distro detection must not panic.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::osrelease;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = osrelease::parse_os_release(data, "etc/os-release") {
        assert!(!d.id.is_empty());
    }
    // The same bytes behind every path: os-release first, and when that has no ID, each
    // fallback parser in turn.
    let _ = osrelease::detect(&|_path: &str| Some(data.to_vec()));
    // Only the fallbacks.
    let _ = osrelease::detect(&|path: &str| {
        (path != "etc/os-release" && !path.ends_with("os-release")).then(|| data.to_vec())
    });
});
