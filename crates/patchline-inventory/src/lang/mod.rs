//! Language package extractors: what an application's package manager installed, found
//! wherever it is in the image (they have no fixed home, so `locations()` is empty).

mod bounded_json;
pub mod dotnet;
pub mod php;
pub mod ruby;
