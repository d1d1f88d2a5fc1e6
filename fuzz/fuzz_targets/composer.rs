#![no_main]
//! composer.lock / installed.json reading must not panic, whatever the bytes; under a
//! small memory budget it either succeeds with the same packages or stops.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::php::{parse_composer, parse_composer_from};
use patchline_inventory::Budget;

const PATH: &str = "var/www/vendor/composer/installed.json";

fuzz_target!(|data: &[u8]| {
    let whole = parse_composer(PATH, data);
    if let Ok(x) = &whole {
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
    // One 1 MiB step for serde_json's scratch buffer, then little room for packages.
    let budget = Budget::new((1 << 20) + (64 << 10));
    if let Ok(small) = parse_composer_from(PATH, &mut &data[..], &budget) {
        assert_eq!(Some(&small), whole.as_ref().ok());
    }
});
