//! For operators: health, metrics, the OpenAPI document and its docs page. No token needed: they
//! say nothing about any case.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use utoipa::OpenApi as _;

pub fn router() -> Router<AppState> {
    let docs: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", crate::openapi::ApiDoc::openapi())
        .into();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(docs)
}

/// `GET /healthz`
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Serving: `{status: \"ok\", head_seq}`", body = Object),
        (status = 503, description = "Shutting down", body = Object)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let head = state.read().head.map(|h| h.seq);
    if state.is_closing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "shutting down", "head_seq": head})),
        )
            .into_response();
    }
    Json(json!({"status": "ok", "head_seq": head})).into_response()
}

/// `GET /metrics`
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format: appends, batch sizes, commit latency, request latency by route, head seq", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        {
            let mut text = state.metrics.render();
            state.cases.write_metrics(&mut text);
            text
        },
    )
        .into_response()
}
