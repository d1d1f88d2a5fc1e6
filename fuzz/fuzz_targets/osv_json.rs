#![no_main]
//! Feed parsing must not panic nor allocate without bound, whatever the bytes: every
//! format patchline-advisory's feeds detect (OSV, Debian tracker, Alpine secdb, parts,
//! NVD, CVE 5, KEV, EPSS CSV, gzip of those), through the same entry point `db import`
//! uses, with small size limits so the fuzzer explores bounds too.

use libfuzzer_sys::fuzz_target;
use patchline_advisory::feeds::osv;
use patchline_advisory::{import_bytes, Collected, Limits, Origin};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_document: 1 << 20,
        max_member: 1 << 20,
        ..Limits::default()
    };
    let origin = Origin::named("fuzz.json");
    let mut sink = Collected::default();
    if import_bytes(&origin, data, &limits, &mut sink).is_ok() {
        // What an importer accepts is what the database relies on.
        for a in &sink.advisories {
            assert!(!a.id.is_empty());
            for aff in &a.affected {
                assert!(!aff.ecosystem.trim().is_empty() && !aff.package.trim().is_empty());
            }
        }
    }
    if let Ok(a) = osv::parse(&origin, data) {
        assert!(!a.id.is_empty());
    }
});
