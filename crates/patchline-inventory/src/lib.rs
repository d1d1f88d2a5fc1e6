//! What is installed in an image, and which layer put it there.
//!
//! One module per ecosystem (`dpkg`, `apk`, `rpm`, and under `lang` the language package
//! managers and compiled binaries), each an [`Extractor`]: it says which paths (or, for
//! executables, which modes and sizes) it wants and turns one file's bytes into packages.
//! `osrelease` tells the distro. `owned` says which files OS packages own, so that a
//! language package found in one is matched as its OS package (`managed_by`). The
//! `layers` module drives them over an image: every layer is streamed once (in parallel),
//! the wanted files are captured and parsed there, and the per-layer results (cached by
//! diff_id) are squashed in order, whiteouts applied, into the final inventory with each
//! package's introducing and last-changing layer.
//!
//! The security checks that need the files (`patchline-checks`) ride the same pass as
//! [`Inspector`]s given in [`InventoryOptions::inspectors`]: their per-layer findings are
//! squashed into [`Inventory::checks`](patchline_model::Inventory::checks).
//!
//! Adding an ecosystem means one module here and one line in [`extractors`].

pub mod apk;
pub mod dpkg;
pub mod extract;
pub mod image;
pub mod inspect;
pub mod lang;
pub mod osrelease;
pub mod owned;
pub mod rpm;
pub mod sbom_input;

pub use extract::{Budget, ExtractError, Extracted, Extractor};
pub use inspect::Inspector;

/// Every extractor, in the order their results are listed.
pub fn extractors() -> Vec<Box<dyn Extractor>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(rpm::Rpm),
        Box::new(owned::DpkgFiles),
        Box::new(lang::python::Python),
        Box::new(lang::npm::NpmPackage),
        Box::new(lang::npm::NpmLock),
        Box::new(lang::java::JavaArchive::default()),
        Box::new(lang::ruby::Gemspec),
        Box::new(lang::php::Composer),
        Box::new(lang::dotnet::DepsJson),
        Box::new(lang::rust::CargoLock),
        // Last: it takes executables by mode and size, after every path-based extractor.
        Box::new(lang::binary::Executables::default()),
    ]
}

pub use image::{inventory_image, inventory_rootfs, InventoryOptions, NoProgress, Progress};
