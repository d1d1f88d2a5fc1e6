//! Language ecosystems: packages of applications, read from their installed metadata,
//! their lock files and their compiled binaries, found by file name (or, for
//! executables, by mode and magic bytes) anywhere in the image.

pub mod binary;
pub mod golang;
mod objfile;
pub mod python;
pub mod rust;
