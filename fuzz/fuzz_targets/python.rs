#![no_main]
//! Python metadata, egg and wheel reading must not panic, whatever the bytes; a stream
//! handing out one byte at a time gives the same result as the whole input.

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::python::Python;
use patchline_inventory::{Budget, Extractor};

const PATHS: [&str; 3] = [
    "usr/lib/python3/dist-packages/demo-1.0.dist-info/METADATA",
    "usr/lib/python3/dist-packages/demo-1.0-py3.12.egg",
    "wheels/demo-1.0-py3-none-any.whl",
];

struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    for path in PATHS {
        let whole = Python.extract(path, data);
        let x = whole.as_ref().expect("only the budget can fail");
        assert!(x.packages.len() <= 1);
        for p in &x.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
            assert!(!p.name.contains(char::is_whitespace));
        }
        if x.packages.is_empty() {
            assert!(!x.warnings.is_empty(), "no package and no warning");
        }
        let streamed = Python.extract_from(
            path,
            data.len() as u64,
            &mut Trickle(data),
            &Budget::unlimited(),
        );
        assert_eq!(streamed, whole);
    }
});
