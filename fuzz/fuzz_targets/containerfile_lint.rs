#![no_main]
//! The Containerfile lint (with its shell reader of RUN scripts) must not panic on any
//! input, and every finding must point at a line of the file.

use libfuzzer_sys::fuzz_target;
use patchline_checks::containerfile::lint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count().max(1) as u32;
    for dockerignore in [None, Some(false), Some(true)] {
        if let Ok(findings) = lint(text, "Containerfile", dockerignore) {
            for f in &findings {
                let line = f.line.expect("a lint finding has a line");
                assert!(line >= 1 && line <= lines, "line {line} of {lines}");
            }
        }
    }
});
