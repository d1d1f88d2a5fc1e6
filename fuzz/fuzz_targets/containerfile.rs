#![no_main]
//! Containerfile parsing, resolution and both edits must not panic, and an edit must keep
//! every byte outside its span.

use libfuzzer_sys::fuzz_target;
use patchline_lineage::containerfile::{self, BuildArgs};

const NEW: &str = "registry.local/base/debian:12@sha256:0000000000000000000000000000000000000000000000000000000000000000";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cf) = containerfile::parse(text) else {
        return;
    };
    assert!(!cf.stages().is_empty());
    let _ = cf.final_base(&BuildArgs::new());
    let _ = cf.build_time_inputs(&BuildArgs::new());
    let mut args = BuildArgs::new();
    args.insert("BASE".into(), "alpine:3.20".into());
    let _ = cf.stages_with_args(&args);
    if let Ok(edit) = cf.final_base_edit(NEW) {
        let out = edit.apply(text);
        assert_eq!(&out[..edit.span.start], &text[..edit.span.start]);
        assert_eq!(&out[edit.span.start + NEW.len()..], &text[edit.span.end..]);
        // The edited file still parses and now builds on the new reference.
        let again = containerfile::parse(&out).expect("edited Containerfile parses");
        assert_eq!(
            again
                .final_base(&BuildArgs::new())
                .ok()
                .flatten()
                .map(|r| r.0)
                .as_deref(),
            Some(NEW)
        );
    }
    if let Ok(edit) = cf.upgrade_step_edit("apt-get install --only-upgrade -y openssl") {
        let out = edit.apply(text);
        assert_eq!(&out[..edit.span.start], &text[..edit.span.start]);
        assert_eq!(
            &out[edit.span.start + edit.replacement.len()..],
            &text[edit.span.start..]
        );
        let again = containerfile::parse(&out).expect("Containerfile with the step parses");
        // One RUN, or three when wrapped in `USER root` … `USER previous`.
        let added = edit.replacement.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(again.instructions().len(), cf.instructions().len() + added);
    }
});
