#![no_main]
//! Java archive reading must not panic, whatever the bytes; under a small memory budget
//! it either gives the same result or stops, giving every reservation but the packages'
//! back. Input starting with `PK` is the archive itself, and is also read nested in a
//! stored jar; other input is the content of a `MANIFEST.MF` (first byte odd) or a
//! `pom.properties` (even), put in a jar named like a versioned one.

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::java::JavaArchive;
use patchline_inventory::{Budget, Extractor};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn jar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    w.start_file(name, opts).unwrap();
    w.write_all(content).unwrap();
    w.finish().unwrap().into_inner()
}

fn check(ex: &JavaArchive, path: &str, archive: &[u8]) {
    let whole = ex
        .extract(path, archive)
        .expect("only the memory budget makes an error");
    for p in &whole.packages {
        let (g, a) = p.name.split_once(':').expect("group:artifact");
        assert!(
            !g.is_empty() && !a.is_empty() && !p.version.is_empty(),
            "{p:?}"
        );
        assert_eq!(p.db_path, path);
    }
    let size = archive.len() as u64;
    let budget = Budget::new(size + (64 << 10));
    if let Ok(small) = ex.extract_from(path, size, &mut &archive[..], &budget) {
        assert_eq!(small, whole);
    }
    // What stays charged is the packages', a few hundred bytes each.
    assert!(budget.used() <= 64 << 10);
}

fuzz_target!(|data: &[u8]| {
    // Bounds small enough for libFuzzer's memory limit and speed, the same logic.
    let ex = JavaArchive {
        max_total_bytes: 16 << 20,
        max_member_bytes: 1 << 20,
        max_entries: 1 << 14,
        ..JavaArchive::default()
    };
    match data {
        [b'P', b'K', ..] => {
            check(&ex, "app/lib/x-1.0.jar", data);
            check(&ex, "app/app.war", &jar_of("WEB-INF/lib/y-2.jar", data));
        }
        [first, rest @ ..] if first % 2 == 1 => {
            check(
                &ex,
                "app/lib/m-1.0.jar",
                &jar_of("META-INF/MANIFEST.MF", rest),
            );
        }
        [_, rest @ ..] => {
            check(
                &ex,
                "app/lib/p.jar",
                &jar_of("META-INF/maven/g/a/pom.properties", rest),
            );
        }
        [] => check(&ex, "empty.jar", data),
    }
});
