//! Trusted images, governed: requests to use an external image are scanned on the spot,
//! approved or rejected by the security role with a reason and an expiry, and revoked
//! when the image falls behind its upstream or gains a KEV finding. The policy's
//! `trusted_bases` is served from this list.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// `/api/v1/trusted-images`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
