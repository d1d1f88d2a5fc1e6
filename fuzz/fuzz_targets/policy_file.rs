#![no_main]
//! Policy files, exceptions files and the imported ignore files (Trivy's YAML and line
//! formats, Grype's rules) must not panic on any input; every error names a line within
//! the input.

use libfuzzer_sys::fuzz_target;
use patchline_policy::file::{parse_exceptions, parse_policy};
use patchline_policy::import::parse_exceptions_file;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // YAML breaks lines at LF, CRLF and a lone CR alike.
    let lines = text.replace("\r\n", "\n").replace('\r', "\n").lines().count().max(1);
    if let Err(e) = parse_policy(text, "policy.yaml") {
        for line in e.problems.iter().filter_map(|p| p.line) {
            assert!(line as usize <= lines + 1, "line {line} of {lines}");
        }
    }
    let _ = parse_exceptions(text, "exceptions.yaml");
    for name in [".trivyignore", ".trivyignore.yaml", ".grype.yaml", "x.yaml"] {
        let _ = parse_exceptions_file(text, name);
    }
});
