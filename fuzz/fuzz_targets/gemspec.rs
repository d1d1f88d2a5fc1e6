#![no_main]
//! Gemspec reading must not panic, whatever the bytes; under a small memory budget it
//! either succeeds with the same result or stops. The same bytes as a source gemspec
//! (which may defer its version to a required file) and as a `version.rb`.

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::ruby::{parse_gemspec, parse_gemspec_from, Gemspec};
use patchline_inventory::{Budget, Extractor};

const PATH: &str = "usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec";

fuzz_target!(|data: &[u8]| {
    let whole = parse_gemspec(PATH, data);
    if let Ok(x) = &whole {
        assert!(x.packages.len() + x.deferred.len() <= 1);
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
    let budget = Budget::new((1 << 20) + (64 << 10));
    if let Ok(small) = parse_gemspec_from(PATH, &mut &data[..], &budget) {
        assert_eq!(Some(&small), whole.as_ref().ok());
    }
    if let Ok(x) = Gemspec.extract("app/my_app.gemspec", data) {
        for d in &x.deferred {
            assert!(!d.files.is_empty() && d.package.version.is_empty());
            assert!(d.files.iter().all(|f| Gemspec.wants(f)));
        }
    }
    if let Ok(x) = Gemspec.extract("app/lib/my_app/version.rb", data) {
        assert!(x.packages.is_empty() && x.defines.is_some_and(|d| d.len() <= 64));
    }
});
