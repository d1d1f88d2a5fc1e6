//! Language package extractors: packages installed by a language's own tools, found
//! by their file names anywhere in the image.

pub mod python;
