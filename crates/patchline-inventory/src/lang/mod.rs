//! Language ecosystems: packages of applications, read from their lock files, their
//! installed metadata and their compiled binaries.

pub mod binary;
pub mod golang;
mod objfile;
pub mod rust;
