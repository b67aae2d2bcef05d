//! Delivery operations: retry one now.

use hookline_core::Timestamp;
use hookline_core::ids::{DeliveryId, PlatformId};
use hookline_store::DeliverySummary;

use crate::{ApiError, AppState};

/// Parses a path id; a malformed id cannot exist, so it is a 404.
pub(crate) fn delivery_id(text: &str) -> Result<DeliveryId, ApiError> {
    DeliveryId::parse(text).ok_or(ApiError::NotFound)
}

/// Makes a delivery due now, hands it to this node's engine, and returns it as it now stands.
pub(crate) async fn retry(
    state: &AppState,
    platform: &PlatformId,
    id: &DeliveryId,
) -> Result<DeliverySummary, ApiError> {
    let now = Timestamp::now();
    let webhook = state.inner.store.get_delivery(platform, id).await?.summary.delivery.webhook_id;
    if state.inner.store.get_webhook(platform, &webhook).await?.listener {
        // A listener's delivery is never the engine's: due now and leased to nobody (a lease ending now), so the
        // listener's stream claims it.
        state.inner.store.retry_delivery(platform, id, now, now).await?;
        let _ = state.inner.listen_wake.send(platform.clone());
    } else {
        let job = state.inner.store.retry_delivery(platform, id, now, now.plus(state.inner.lease)).await?;
        state.inner.engine.submit(vec![job]);
    }
    Ok(state.inner.store.get_delivery(platform, id).await?.summary)
}
