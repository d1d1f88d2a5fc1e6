//! Language ecosystems: packages that applications bring along in the image, found by the
//! files their package managers and build tools leave (OSV ecosystems other than the
//! distributions').

pub mod java;
