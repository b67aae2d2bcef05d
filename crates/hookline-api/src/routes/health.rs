//! `/healthz` (the process is up) and `/readyz` (it can serve: the database answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_proto::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Prometheus metrics: events, deliveries, attempts by result and failure kind, attempt durations, gauges,
/// rows pruned by retention and the age of the oldest pending delivery.
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let mut body = state.inner.engine.render_metrics();
    state.inner.extra_metrics.render(&mut body);
    // The gauge reads the database; while it cannot answer, the rest of the metrics still do (age 0 then, and
    // /readyz tells the database is unavailable).
    let oldest = match state.inner.store.oldest_pending_delivery().await {
        Ok(oldest) => oldest,
        Err(error) => {
            tracing::warn!(error = ?error, "oldest pending delivery unknown");
            None
        }
    };
    let now = hookline_core::Timestamp::now().unix_millis();
    let age = oldest.map_or(0, |created| now.saturating_sub(created.unix_millis()).max(0) as u64);
    body.push_str(&state.inner.engine.metrics().retention.render(std::time::Duration::from_millis(age)));
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Readiness: answers 200 when the database answers and takes a write (a probe written and undone), 503
/// otherwise: while the disk is full or the database locked or read-only, publishing would answer 503 too.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store = &state.inner.store;
    let check = async {
        store.ping().await?;
        store.probe_write().await
    };
    match check.await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into() })),
        Err(error) => {
            tracing::warn!(error = ?error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "database unavailable".into() }))
        }
    }
}
