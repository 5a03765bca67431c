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
    responses((status = 200, description = "Serving: `{status: \"ok\", head_seq, storage: \"ok\"}`", body = crate::schemas::Health),
        (status = 503, description = "Shutting down, or the store takes no writes: `storage` is `full` (the disk) or `failing`, with `detail`", body = crate::schemas::Health)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let head = state.read().head.map(|h| h.seq);
    if state.is_closing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "shutting down", "head_seq": head})),
        )
            .into_response();
    }
    // After a failed write this asks the store again (a blocking probe), off the async threads;
    // while writes succeed it reads a flag.
    let health = match state.ledger.health_now() {
        ledger::Health::Ok => ledger::Health::Ok,
        _ => {
            let ledger = state.ledger.clone();
            tokio::task::spawn_blocking(move || ledger.health())
                .await
                .unwrap_or_else(|_| ledger::Health::Failing("the health check panicked".into()))
        }
    };
    let (storage, detail) = match &health {
        ledger::Health::Ok => {
            return Json(json!({"status": "ok", "head_seq": head, "storage": "ok"})).into_response()
        }
        ledger::Health::Full(_) => (
            "full",
            "the disk of the data directory is full: appends are refused until there is room",
        ),
        ledger::Health::Failing(_) => (
            "failing",
            "the store failed a write: appends are refused until it takes writes again",
        ),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "degraded", "head_seq": head, "storage": storage, "detail": detail})),
    )
        .into_response()
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
            state.shares.write_metrics(&mut text);
            write_storage_metrics(&state.ledger.health_now(), &mut text);
            text
        },
    )
        .into_response()
}

/// The store's state as Prometheus lines: 1 for the state it is in.
fn write_storage_metrics(health: &ledger::Health, out: &mut String) {
    use std::fmt::Write as _;
    let now = match health {
        ledger::Health::Ok => "ok",
        ledger::Health::Full(_) => "full",
        ledger::Health::Failing(_) => "failing",
    };
    let _ = writeln!(
        out,
        "# HELP garanti_storage_state The store's state at the last write: ok, full (the disk) or failing.\n# TYPE garanti_storage_state gauge"
    );
    for state in ["ok", "full", "failing"] {
        let _ = writeln!(
            out,
            "garanti_storage_state{{state=\"{state}\"}} {}",
            u8::from(state == now)
        );
    }
}
