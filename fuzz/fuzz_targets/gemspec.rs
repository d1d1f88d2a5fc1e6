#![no_main]
//! Installed-gem specification reading must not panic, whatever the bytes; under a small
//! memory budget it either succeeds with the same packages or stops.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::ruby::{parse_gemspec, parse_gemspec_from};
use patchline_inventory::Budget;

const PATH: &str = "usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec";

fuzz_target!(|data: &[u8]| {
    let whole = parse_gemspec(PATH, data);
    if let Ok(x) = &whole {
        assert!(x.packages.len() <= 1);
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
    let budget = Budget::new((1 << 20) + (64 << 10));
    if let Ok(small) = parse_gemspec_from(PATH, &mut &data[..], &budget) {
        assert_eq!(Some(&small), whole.as_ref().ok());
    }
});
