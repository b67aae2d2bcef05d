//! The overview: each webhook's health (delivered and failed in the last hour and 24 hours) with a small
//! chart of the last 24 hours, drawn server-side as SVG so it needs no JavaScript.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use hookline_store::Page;
use hookline_store::ui::WebhookHealth;
use serde::Deserialize;

use super::errors::{UiError, render};
use super::layout::Layout;
use super::session::Signed;
use crate::AppState;

/// One row of the overview.
pub(crate) struct HealthRow {
    pub id: String,
    pub url: String,
    pub enabled: bool,
    pub health: WebhookHealth,
    pub chart: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    rows: Vec<HealthRow>,
    /// The cursor of the next page of webhooks.
    next: Option<String>,
    /// Whether this is a later page (then "First page" links back).
    later: bool,
}

/// Webhooks per page of the overview: every webhook is reachable, page by page (keyset, by id).
const WEBHOOKS_PER_PAGE: usize = 50;

/// `?after=` of the overview.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OverviewQuery {
    #[serde(default)]
    after: Option<String>,
}

/// `GET /ui/`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, UiError> {
    let now = hookline_core::Timestamp::now();
    let platform = &signed.platform.id;
    let after = query.after.filter(|a| !a.is_empty());
    let later = after.is_some();
    let webhooks = state
        .inner
        .store
        .list_webhooks(platform, Page { limit: WEBHOOKS_PER_PAGE, after })
        .await
        .map_err(crate::ApiError::from)?;
    let next = (webhooks.len() >= WEBHOOKS_PER_PAGE).then(|| webhooks.last().map(|w| w.id.to_string())).flatten();
    let health = state.inner.store.webhook_health(platform, now).await.map_err(crate::ApiError::from)?;
    let rows = webhooks
        .into_iter()
        .map(|webhook| {
            let health = health.iter().find(|h| h.webhook_id == webhook.id).cloned().unwrap_or_else(|| WebhookHealth {
                webhook_id: webhook.id.clone(),
                delivered_1h: 0,
                failed_1h: 0,
                delivered_24h: 0,
                failed_24h: 0,
                hourly: vec![(0, 0); 24],
            });
            HealthRow {
                id: webhook.id.to_string(),
                url: webhook.url.as_str().to_owned(),
                enabled: webhook.enabled,
                chart: chart(&health.hourly),
                health,
            }
        })
        .collect();
    Ok(render(&OverviewPage { layout: Layout::signed(&signed, "Overview", "overview"), rows, next, later }))
}

/// A 24-bar SVG: per hour, delivered (bottom) and failed (stacked on top, hatched by colour and position).
/// The numbers are in the table beside it, so the chart is decoration for sighted users (`aria-hidden`).
pub(crate) fn chart(hourly: &[(u64, u64)]) -> String {
    const WIDTH: u64 = 5;
    const HEIGHT: u64 = 28;
    let peak = hourly.iter().map(|(d, f)| d + f).max().unwrap_or(0).max(1);
    let mut bars = String::new();
    for (index, (delivered, failed)) in hourly.iter().enumerate() {
        let x = index as u64 * (WIDTH + 1);
        let delivered_h = (delivered * HEIGHT).div_ceil(peak);
        let failed_h = (failed * HEIGHT).div_ceil(peak);
        if delivered_h > 0 {
            bars.push_str(&format!(
                r#"<rect class="ok" x="{x}" y="{}" width="{WIDTH}" height="{delivered_h}"/>"#,
                HEIGHT - delivered_h
            ));
        }
        if failed_h > 0 {
            bars.push_str(&format!(
                r#"<rect class="bad" x="{x}" y="{}" width="{WIDTH}" height="{failed_h}"/>"#,
                HEIGHT.saturating_sub(delivered_h + failed_h)
            ));
        }
        if delivered_h == 0 && failed_h == 0 {
            bars.push_str(&format!(r#"<rect class="none" x="{x}" y="{}" width="{WIDTH}" height="1"/>"#, HEIGHT - 1));
        }
    }
    format!(
        r#"<svg class="chart" viewBox="0 0 {} {HEIGHT}" width="{}" height="{HEIGHT}" aria-hidden="true" focusable="false">{bars}</svg>"#,
        24 * (WIDTH + 1),
        24 * (WIDTH + 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_scales_bars_to_the_busiest_hour() {
        let mut hourly = vec![(0, 0); 24];
        hourly[23] = (10, 0);
        hourly[22] = (5, 5);
        let svg = chart(&hourly);
        assert!(svg.contains(r#"<rect class="ok" x="138" y="0" width="5" height="28"/>"#), "{svg}");
        assert!(svg.contains(r#"<rect class="ok" x="132" y="14" width="5" height="14"/>"#), "{svg}");
        assert!(svg.contains(r#"<rect class="bad" x="132" y="0" width="5" height="14"/>"#), "{svg}");
        assert_eq!(svg.matches(r#"class="none""#).count(), 22);
    }
}
