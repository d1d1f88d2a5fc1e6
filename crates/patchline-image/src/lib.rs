//! Reading container images: references, sources, layers.
//!
//! A reference in skopeo's transport syntax ([`ImageRef`]) is opened by [`open`] as an
//! [`ImageSource`]: an OCI layout directory, an OCI or Docker archive, or a registry
//! repository. Sources that store manifests by digest (layouts, OCI archives,
//! registries) implement the small [`ManifestStore`] trait and share one resolver that
//! walks index → manifest → config, picks the platform and verifies every digest.
//!
//! Each layer is then read in one streaming pass by [`layer::walk`]: the blob is hashed
//! as it is read (its digest verified at the end), decompressed (gzip, zstd or plain),
//! hashed again (the diff_id) and walked as tar. Paths are normalised and refused when
//! they escape the root; links pointing out of the root are refused; whiteouts are
//! reported so the caller can squash layers into the view a container would see. The
//! expanded size and entry count are bounded ([`layer::Limits`]). Nothing is written to
//! disk: the caller decides which entries to keep.
//!
//! [`cache::LayerCache`] stores the caller's per-layer results under the cache directory,
//! keyed by diff_id, so a layer shared by many images is read once.
//!
//! # Module layering
//!
//! Dependencies point one way, downwards; a module may import only modules on lower
//! lines (and never one on its own line):
//!
//! ```text
//! transport            open(): picks the implementation a reference names
//! oci  archive  registry   the implementations (each imports none of the others)
//! layout  layer        OCI index.json reading (oci, archive); tar paths and the layer walk
//! source               traits, shared types and options, the manifest resolver
//! error  reference  manifest  cache   leaves
//! ```
//!
//! `reference` and `manifest` import only `error`; `cache` imports only `error`. Inside
//! [`registry`]: `mod` (the store, listing) → `client` (requests with auth and
//! retries) → `auth` (challenges, credentials, tokens) → `http` (one exchange,
//! redirects, backoff) and `dockerconfig` (credential lookup); `auth` and `http` never
//! import `client`.

pub mod archive;
pub mod cache;
pub mod error;
pub mod layer;
pub mod layout;
pub mod manifest;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod source;
pub mod transport;

pub use error::{ImageError, Result};
pub use manifest::Platform;
pub use reference::{ImageRef, RegistryRef};
pub use source::{
    ImageSource, LayerDesc, ManifestStore, OpenOptions, RegistryOptions, ResolvedImage,
};
pub use transport::open;
