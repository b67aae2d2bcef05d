//! Event operations: publish (durable, then dispatched at once) and the filtered list both faces show.

use hookline_core::Timestamp;
use hookline_core::ValidationError;
use hookline_core::catalog::EventTypeName;
use hookline_core::delivery::DeliveryStatus;
use hookline_core::event::{Event, NewEvent};
use hookline_core::ids::PlatformId;
use hookline_proto as proto;
use hookline_store::ui::EventQuery;
use hookline_store::{Page, StoreError, Target};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{ApiError, AppState, convert};

/// Checks that `data` is a JSON object and keeps its text as sent.
pub(crate) fn object_data(raw: Box<RawValue>) -> Result<String, ApiError> {
    if !raw.get().starts_with('{') {
        return Err(ValidationError::new("data", "must be a JSON object").into());
    }
    Ok(String::from(Box::<str>::from(raw)))
}

/// Stores `event` (to every matching webhook, or as `target` says) and hands its deliveries to the engine.
#[tracing::instrument(name = "publish", skip_all, fields(event_id = %event.id))]
pub(crate) async fn publish(
    state: &AppState,
    platform: &PlatformId,
    event: NewEvent,
    target: Target,
) -> Result<proto::EventAccepted, ApiError> {
    state.inner.publish_limiter.admit(platform, event.data.len(), std::time::Instant::now())?;
    let now = Timestamp::now();
    // With no room in this node's memory, the deliveries are stored unleased and the poller (here or on
    // another node) claims them as room frees up.
    let lease_until = state.inner.engine.has_room().then(|| now.plus(state.inner.lease));
    let published =
        state.inner.store.publish_event(platform, event, target, now, lease_until).await.map_err(|e| match e {
            StoreError::UnknownEventType(name) => ApiError::UnknownEventType(name, "type"),
            other => other.into(),
        })?;
    let accepted = proto::EventAccepted {
        id: published.event.id.to_string(),
        event_type: published.event.event_type.clone(),
        created_at: convert::time(published.event.created_at),
        deliveries: published.delivery_count,
    };
    if published.created {
        let metrics = state.inner.engine.metrics();
        metrics.events_published.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics.deliveries_created.fetch_add(published.delivery_count as u64, std::sync::atomic::Ordering::Relaxed);
    }
    if published.created && published.delivery_count > published.jobs.len() {
        // Some deliveries were not handed to the engine: perhaps a listener's, which this node's streams send.
        let _ = state.inner.listen_wake.send(platform.clone());
    }
    state.inner.engine.submit(published.jobs);
    Ok(accepted)
}

/// The filters of an event list, as `GET /v1/events` and the events page take them: `?type=&since=&until=
/// &status=&limit=&after=`. An unknown parameter is refused rather than silently ignored.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventFilters {
    /// Only events of this type.
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    /// Only events created at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// Only events created before this RFC 3339 time.
    #[serde(default)]
    pub until: Option<String>,
    /// Only events with a delivery in this status: `pending`, `delivered`, `failed` or `held`.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many items (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
}

/// Parses an optional RFC 3339 time field; empty means absent (an empty form field).
pub(crate) fn optional_time(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => Timestamp::parse_rfc3339(text)
            .map(Some)
            .ok_or_else(|| ValidationError::new(field, "must be an RFC 3339 time, e.g. 2026-11-28T00:00:00Z").into()),
    }
}

/// Parses an optional delivery status; empty means absent.
pub(crate) fn optional_status(text: Option<&str>) -> Result<Option<DeliveryStatus>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => Ok(Some(
            DeliveryStatus::parse(text)
                .ok_or_else(|| ValidationError::new("status", "must be pending, delivered, failed or held"))?,
        )),
    }
}

impl EventFilters {
    /// The page these filters ask for.
    pub(crate) fn page(&self) -> Page {
        Page { limit: self.limit.unwrap_or(100).clamp(1, 1000), after: self.after.clone().filter(|a| !a.is_empty()) }
    }

    /// Validates the filters into a store query.
    pub(crate) fn query(&self) -> Result<EventQuery, ApiError> {
        let event_type = self.event_type.as_deref().map(str::trim).filter(|t| !t.is_empty());
        Ok(EventQuery {
            event_type: event_type
                .map(|t| EventTypeName::parse("type", t).map(|n| n.as_str().to_owned()))
                .transpose()?,
            since: optional_time("since", self.since.as_deref())?,
            until: optional_time("until", self.until.as_deref())?,
            status: optional_status(self.status.as_deref())?,
            page: self.page(),
        })
    }
}

/// A page of the platform's events matching `filters`, newest first, and the cursor of the next page.
pub(crate) async fn list(
    state: &AppState,
    platform: &PlatformId,
    filters: &EventFilters,
) -> Result<(Vec<Event>, Option<String>), ApiError> {
    let query = filters.query()?;
    let limit = query.page.limit;
    let events = state.inner.store.search_events(platform, query).await?;
    let next = (events.len() >= limit).then(|| events.last().map(|e| e.id.to_string())).flatten();
    Ok((events, next))
}
