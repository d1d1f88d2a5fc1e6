//! What is installed in an image, and which layer put it there.
//!
//! One module per ecosystem (`dpkg`, `apk`, `rpm`), each an [`Extractor`]: it says which
//! paths it wants and turns one database file's bytes into packages. `osrelease` tells the
//! distro. The `layers` module drives them over an image: every layer is streamed once
//! (in parallel), the wanted files are captured and parsed there, and the per-layer
//! results (cached by diff_id) are squashed in order, whiteouts applied, into the final
//! inventory with each package's introducing and last-changing layer.
//!
//! Adding an ecosystem means one module here and one line in [`extractors`].

pub mod apk;
pub mod dpkg;
pub mod extract;
pub mod image;
pub mod lang;
pub mod osrelease;
pub mod rpm;
pub mod sbom_input;

pub use extract::{Budget, ExtractError, Extracted, Extractor};

/// Every extractor, in the order their results are listed.
pub fn extractors() -> Vec<Box<dyn Extractor>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(rpm::Rpm),
        Box::new(lang::java::JavaArchive::default()),
    ]
}

pub use image::{inventory_image, inventory_rootfs, InventoryOptions, NoProgress, Progress};
