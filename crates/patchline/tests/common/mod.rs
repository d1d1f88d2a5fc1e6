//! Shared helpers for the CLI's integration tests: running the CLI.
#![allow(dead_code)]

use std::process::{Command, Output};

// Where the fixtures and the shared data are, and the skip rule: patchline-test-support.
#[allow(unused_imports)] // each test crate uses a different subset
pub use patchline_test_support::{fixtures, shared_data};

pub fn patchline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run patchline")
}

/// Runs patchline, asserting success, and parses its stdout as JSON.
pub fn patchline_json(args: &[&str]) -> serde_json::Value {
    let out = patchline(args);
    assert!(
        out.status.success(),
        "patchline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("patchline {args:?}: bad JSON: {e}"))
}
