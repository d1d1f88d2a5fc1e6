//! Golden outputs of every format for fixed options. Review a changed snapshot as a diff of
//! what users will see; accept it with `INSTA_UPDATE=always cargo test -p patchline-report`.

mod common;

use common::{alpine, debian, empty, fixed_options, render, rhel};
use patchline_report::SbomFormat;

#[test]
fn debian_table() {
    insta::assert_snapshot!(render(&debian(), SbomFormat::Table, &fixed_options()));
}

#[test]
fn debian_json() {
    insta::assert_snapshot!(render(&debian(), SbomFormat::Json, &fixed_options()));
}

#[test]
fn debian_cyclonedx() {
    insta::assert_snapshot!(render(&debian(), SbomFormat::CycloneDx, &fixed_options()));
}

#[test]
fn debian_spdx() {
    insta::assert_snapshot!(render(&debian(), SbomFormat::Spdx, &fixed_options()));
}

#[test]
fn alpine_cyclonedx() {
    insta::assert_snapshot!(render(&alpine(), SbomFormat::CycloneDx, &fixed_options()));
}

#[test]
fn rhel_cyclonedx() {
    insta::assert_snapshot!(render(&rhel(), SbomFormat::CycloneDx, &fixed_options()));
}

#[test]
fn rhel_spdx() {
    insta::assert_snapshot!(render(&rhel(), SbomFormat::Spdx, &fixed_options()));
}

#[test]
fn rhel_table() {
    insta::assert_snapshot!(render(&rhel(), SbomFormat::Table, &fixed_options()));
}

#[test]
fn empty_table() {
    insta::assert_snapshot!(render(&empty(), SbomFormat::Table, &fixed_options()));
}
