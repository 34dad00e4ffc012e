//! `/health`: 200 `{"status":"pass"}` while serving, 503 once graceful shutdown has started (so
//! a load balancer stops sending traffic).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::state::SharedState;

pub(crate) async fn health(State(state): State<SharedState>) -> Response {
    if state.shutdown.is_cancelled() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "fail", "reason": "shutting down"})),
        )
            .into_response()
    } else {
        Json(json!({"status": "pass"})).into_response()
    }
}
