//! Wire types of `POST /v1/portal-links`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/portal-links` (the body is optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalLink {
    /// How long the link works if unused, e.g. `15m` (default 15m, at most 24h).
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// A one-time dashboard sign-in link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortalLink {
    /// Open this once: it signs the holder into the dashboard for the platform.
    pub url: String,
    /// When it stops working if unused (RFC 3339).
    pub expires_at: String,
}
