#![no_main]
//! `*.deps.json` reading must not panic, whatever the bytes; under a small memory budget
//! it either succeeds with the same packages or stops.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::dotnet::{parse_deps_json, parse_deps_json_from};
use patchline_inventory::Budget;

const PATH: &str = "app/MyApp.deps.json";

fuzz_target!(|data: &[u8]| {
    let whole = parse_deps_json(PATH, data);
    if let Ok(x) = &whole {
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty() && !p.name.contains('/'));
        }
    }
    // One 1 MiB step for serde_json's scratch buffer, then little room for packages.
    let budget = Budget::new((1 << 20) + (64 << 10));
    if let Ok(small) = parse_deps_json_from(PATH, &mut &data[..], &budget) {
        assert_eq!(Some(&small), whole.as_ref().ok());
    }
});
