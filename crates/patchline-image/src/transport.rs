//! From a reference to the source that reads it: picks the implementation a transport
//! names (`oci:`, `oci-archive:`, `docker-archive:`, a registry). The only module that
//! knows every implementation; none of them imports it.

use crate::archive::{DockerArchive, OciArchive};
use crate::error::{ImageError, Result};
use crate::oci::OciLayout;
use crate::reference::ImageRef;
use crate::registry::RegistryStore;
use crate::source::{ImageSource, ManifestSource, OpenOptions};

/// Opens the source a reference names. `dir:` references have no layers and are
/// handled by the caller (it walks the root filesystem itself); asking for one here is
/// an error.
pub fn open(reference: &ImageRef, raw: &str, opts: &OpenOptions) -> Result<Box<dyn ImageSource>> {
    match reference {
        ImageRef::OciLayout { dir, tag } => {
            let store = OciLayout::open(dir, tag.clone(), raw)?;
            Ok(Box::new(ManifestSource::new(
                store,
                raw,
                opts.platform.clone(),
            )))
        }
        ImageRef::OciArchive { file, tag } => {
            let store = OciArchive::open(file, tag.clone(), raw)?;
            Ok(Box::new(ManifestSource::new(
                store,
                raw,
                opts.platform.clone(),
            )))
        }
        ImageRef::DockerArchive { file, tag } => {
            Ok(Box::new(DockerArchive::open(file, tag.clone(), raw)?))
        }
        ImageRef::Registry(r) => {
            let store = RegistryStore::new(r.clone(), &opts.registry)?;
            Ok(Box::new(ManifestSource::new(
                store,
                raw,
                opts.platform.clone(),
            )))
        }
        ImageRef::RootFs { .. } => Err(ImageError::invalid(
            raw,
            "a root filesystem has no layers to open",
        )),
    }
}
