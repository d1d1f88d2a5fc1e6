//! Language ecosystems: packages of applications, read from their installed metadata,
//! their lock files and their compiled binaries, found by file name (or, for
//! executables, by mode and magic bytes) anywhere in the image. They have no fixed
//! home, so `locations()` is empty; a malformed file is a warning, never a failed
//! inventory.

pub mod binary;
mod bounded_json;
pub mod dotnet;
pub mod golang;
pub mod java;
pub mod npm;
mod objfile;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;
