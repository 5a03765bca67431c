//! The router: one `router()` per resource, the authentication extractor, and the middleware that
//! gives every request an id, a time limit and its metrics.

pub mod audit;
pub mod cases;
pub mod events;
pub mod feed;
pub mod log;
pub mod ops;

use crate::auth::Principal;
use crate::error::{ApiError, REQUEST_ID};
use crate::state::AppState;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    with_middleware(
        Router::new()
            .merge(events::router())
            .merge(cases::router())
            .merge(audit::router())
            .merge(feed::router())
            .merge(log::router())
            .merge(ops::router()),
        state,
    )
}

/// The middleware every route gets, the fallback and the body limit.
fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let limits = state.config.limits.clone();
    routes
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn(uri_limit))
        .with_state(state)
}

/// Bytes of a request's URI (path and query). Longer ones are answered 414 as a problem; hyper
/// answers those over 65,534 bytes itself, with an empty 414, before any of this runs.
const MAX_URI_BYTES: usize = 8 << 10;

async fn uri_limit(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > MAX_URI_BYTES {
        return unrouted(
            &req,
            ApiError::UriTooLong(format!(
                "the URI has {len} bytes; at most {MAX_URI_BYTES} are taken (stream ids have at most 128 characters)"
            )),
        );
    }
    next.run(req).await
}

async fn method_not_allowed(req: Request) -> Response {
    unrouted(
        &req,
        ApiError::MethodNotAllowed(
            "this route does not take this method; GET /openapi.json lists what each route takes"
                .into(),
        ),
    )
}

async fn not_found(req: Request) -> Response {
    unrouted(
        &req,
        ApiError::NotFound("no such route; GET /openapi.json lists them".into()),
    )
}

/// A problem for a request no route took: with a request id, as every other answer (the
/// middleware that gives one runs on routed requests only).
fn unrouted(req: &Request, problem: ApiError) -> Response {
    let id = request_id_of(req);
    let mut response = REQUEST_ID.sync_scope(id.clone(), || problem.into_response());
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// A request id: the caller's `X-Request-Id` if it is short and plain, else a new one.
fn request_id_of(req: &Request) -> String {
    if let Some(v) = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
    {
        if !v.is_empty()
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return v.to_owned();
        }
    }
    // Random: it says nothing of the process or of how many requests came before.
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => format!("req-{}", ledger::interchange::to_hex(&bytes)),
        Err(_) => {
            let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
            let t = ledger::Timestamp::now().unix_nanos;
            let h = blake3::hash(&[n.to_le_bytes(), t.to_le_bytes()].concat());
            format!("req-{}", &h.to_hex()[..16])
        }
    }
}

/// Gives the request an id (in the response's `X-Request-Id` and in every problem it answers),
/// a time limit, and records its time and status by route.
async fn observe(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let route = matched.as_ref().map_or("unmatched", |m| m.as_str());
    let method = req.method().clone();
    let id = request_id_of(&req);
    let limits = &state.config.limits;
    let limit = if route.starts_with("/v1/reports") || route == "/v1/ledger/verify" {
        limits.long_request
    } else {
        limits.request
    };
    let closing = state.is_closing() && route != "/healthz";
    let mut response = REQUEST_ID
        .scope(id.clone(), async move {
            if closing {
                // Shutting down: every new request (on a connection still open, or one accepted
                // while the listener drains) is told to go elsewhere, and the connection closed.
                let mut r = ApiError::Unavailable(
                    "the server is shutting down; retry against the restarted server".into(),
                )
                .into_response();
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return r;
            }
            use futures_util::FutureExt as _;
            // A panic in a handler is answered as an internal error (logged with the request id),
            // never by a dropped connection or a panic message.
            let answer = std::panic::AssertUnwindSafe(tokio::time::timeout(limit, next.run(req)))
                .catch_unwind()
                .await;
            match answer {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => ApiError::Timeout(format!(
                    "no answer within {} s; narrow the query (year, stream) or retry",
                    limit.as_secs()
                ))
                .into_response(),
                Err(_) => ApiError::internal("a handler panicked").into_response(),
            }
        })
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    state.metrics.request(
        route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthenticated(
                "no Authorization header; send `Authorization: Bearer <token>`".into(),
            ));
        };
        // The scheme is case-insensitive (RFC 9110 §11.1): `Bearer`, `bearer`, `BEARER`.
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
            })?;
        state.tokens.authenticate(token).ok_or_else(|| {
            ApiError::Unauthenticated("the token is not known to this server".into())
        })
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::validation(format!("query string: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::validation(format!("path: {}", e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("the request body is larger than the server's limit".into())
        } else {
            ApiError::validation(format!("cannot read the request body: {}", e.body_text()))
        }
    }
}

/// Query parameters, with a problem (not axum's plain text) when they do not parse.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(v))
    }
}

/// A path parameter, with a problem when it does not parse.
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(v))
    }
}

/// Parses an RFC 3339 query value.
pub fn parse_time(text: &str, what: &str) -> Result<i64, ApiError> {
    ledger::Timestamp::parse_rfc3339(text)
        .map(|t| t.unix_nanos)
        .map_err(|e| ApiError::validation(format!("{what}: {e}")))
}

/// Runs a query's work (judging, a list, a report, a proof) on the query threads
/// (`crate::pool`): off the async threads, bounded, at a lower priority than appends, and within
/// the token's share of them while appends are flowing (`crate::share`).
pub async fn query<T: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let token = principal.id.clone();
    state.shares.admit(&token).await;
    let s = state.clone();
    let (result, used) = state.queries.run_timed(move || work(&s)).await;
    state.shares.charge(&token, used);
    result
}

/// Runs blocking work that is not a query (reading a body, a tile, the store's health) off the
/// async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let id = crate::error::request_id().unwrap_or_default();
    tokio::task::spawn_blocking(move || REQUEST_ID.sync_scope(id, work))
        .await
        .map_err(|e| ApiError::internal(format!("a query task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::{Config, Limits};
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    async fn boom() -> &'static str {
        panic!("secret internal detail /var/lib/garanti")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_as_an_internal_problem() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = std::sync::Arc::new(ledger::Ledger::open(dir.path(), None).unwrap());
        let config = Config {
            params: projections::Params::default(),
            clock: crate::state::Clock::System,
            limits: Limits::default(),
            log_key: None,
        };
        let state = AppState::open(ledger, crate::Tokens::default(), config, &mut |_| {}).unwrap();
        let app = with_middleware(Router::new().route("/boom", get(boom)), state);
        let request = Request::builder().uri("/boom").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("secret") && !text.contains("/var/lib"),
            "{text}"
        );
        assert!(
            text.contains(&id),
            "the problem names the request id: {text}"
        );
        assert!(text.contains("problems/internal"), "{text}");
    }
}
