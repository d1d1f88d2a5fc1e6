#![no_main]
//! The VEX reader (OpenVEX, CycloneDX VEX, CSAF) must not panic on any input, and every
//! statement it returns must be usable for matching.

use libfuzzer_sys::fuzz_target;
use patchline_policy::vex::parse_vex;

fuzz_target!(|data: &[u8]| {
    if let Ok(statements) = parse_vex(data, "fuzz.json") {
        for s in &statements {
            assert!(!s.vulnerability.is_empty());
        }
    }
});
