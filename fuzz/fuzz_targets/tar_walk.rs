#![no_main]
//! Feeds arbitrary bytes to the layer walker as a layer blob (gzip, zstd or plain tar,
//! as the magic bytes say). Digests never match, so only the path up to that check and
//! the error paths are exercised: no panic, no unbounded allocation.

use libfuzzer_sys::fuzz_target;
use patchline_image::layer::{walk, Limits};
use patchline_image::LayerDesc;

fuzz_target!(|data: &[u8]| {
    let desc = LayerDesc {
        index: 0,
        digest: None,
        diff_id: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
        media_type: String::new(),
        size: None,
        created_by: None,
        locator: String::new(),
    };
    let limits = Limits {
        max_layer_bytes: 16 << 20,
        max_entries: 10_000,
    };
    let _ = walk(data, &desc, &limits, &mut |e| {
        if e.kind == patchline_image::layer::EntryKind::File {
            let _ = std::io::Read::read_to_end(
                &mut std::io::Read::take(e.reader(), 1 << 20),
                &mut Vec::new(),
            );
        }
        Ok(())
    });
});
