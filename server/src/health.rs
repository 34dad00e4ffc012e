//! Health: `/health` and `/health/ready` (readiness) answer 200 `{"status":"pass"}` while
//! serving and 503 once graceful shutdown has started (so a load balancer stops sending
//! traffic while the requests in flight finish); `/health/live` (liveness) answers 200 as long
//! as the process serves at all, draining included (so an orchestrator does not kill it
//! mid-drain).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::state::SharedState;

pub(crate) async fn health(State(state): State<SharedState>) -> Response {
    if state.shutdown.is_cancelled() || state.draining.is_cancelled() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "fail", "reason": "shutting down"})),
        )
            .into_response()
    } else {
        Json(json!({"status": "pass"})).into_response()
    }
}

pub(crate) async fn live() -> Response {
    Json(json!({"status": "pass"})).into_response()
}
