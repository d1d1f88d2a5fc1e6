//! Results pushed by CI (`patchline scan IMAGE --server URL`): an inventory and its
//! findings uploaded with a scanner token, stored as the server's own scans are.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// `POST /api/v1/uploads`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
