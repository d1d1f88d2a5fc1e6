//! Language package extractors: packages a language's package manager installed, and the
//! lockfiles applications ship, found anywhere in the image (they have no fixed home).

pub mod npm;
