//! Golden outputs of every scan format for fixed options. Review a changed snapshot as a
//! diff of what users will see; accept it with
//! `INSTA_UPDATE=always cargo test -p patchline-report --test scan_snapshots`.

mod scan_common;

use patchline_report::{RenderOptions, ScanFormat};
use scan_common::{clean_report, eol_incomplete, fixed_options, render, report};

#[test]
fn scan_table() {
    insta::assert_snapshot!(render(&report(), ScanFormat::Table, &fixed_options()));
}

#[test]
fn scan_table_colour() {
    let opts = RenderOptions {
        color: true,
        ..fixed_options()
    };
    insta::assert_snapshot!(render(&eol_incomplete(), ScanFormat::Table, &opts));
}

#[test]
fn scan_table_eol_incomplete() {
    insta::assert_snapshot!(render(
        &eol_incomplete(),
        ScanFormat::Table,
        &fixed_options()
    ));
}

#[test]
fn scan_table_clean() {
    insta::assert_snapshot!(render(&clean_report(), ScanFormat::Table, &fixed_options()));
}

#[test]
fn scan_json() {
    insta::assert_snapshot!(render(&report(), ScanFormat::Json, &fixed_options()));
}

#[test]
fn scan_sarif() {
    insta::assert_snapshot!(render(&report(), ScanFormat::Sarif, &fixed_options()));
}

#[test]
fn scan_cyclonedx() {
    insta::assert_snapshot!(render(&report(), ScanFormat::CycloneDx, &fixed_options()));
}

#[test]
fn scan_gitlab() {
    let opts = RenderOptions {
        started: Some(time::macros::datetime!(2024-05-01 11:59:30 UTC)),
        ..fixed_options()
    };
    insta::assert_snapshot!(render(&report(), ScanFormat::Gitlab, &opts));
}
