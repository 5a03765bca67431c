//! One error type for every route, answered as RFC 9457 `application/problem+json` with a stable
//! `type` per kind of error. Internal errors are logged with the request id and answered without
//! their detail.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The base of every problem `type`; the documentation lists them (README.md, "HTTP API").
pub const PROBLEM_BASE: &str = "https://garanti.dk/problems/";

tokio::task_local! {
    /// The id of the request being answered, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The request id of the current request, if inside one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// Where in a request body a field is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// RFC 6901 JSON pointer into the body, e.g. `/3/data/offer_id`.
    pub pointer: String,
    /// The line of the body (JSON Lines), when known.
    pub line: Option<usize>,
    /// The index of the event in the batch, when it is about one event.
    pub index: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Validation {
        detail: String,
        at: Option<Location>,
    },
    #[error("version conflict on stream {stream}")]
    VersionConflict {
        stream: String,
        expected: u64,
        current: u64,
    },
    /// A unique key is taken or a needed one missing (a used sanction id, a plan version that is
    /// not the next one): the batch contradicts the ledger.
    #[error("{detail}")]
    Refused { detail: String, at: Location },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UriTooLong(String),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    IdempotencyMismatch(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Timeout(String),
    /// The disk of the data directory is full: nothing was written; retry later.
    #[error("{0}")]
    StorageFull(String),
    /// Detail for the log only: never sent.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(detail: impl Into<String>) -> ApiError {
        ApiError::Validation {
            detail: detail.into(),
            at: None,
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(detail.to_string())
    }

    /// The stable `type` slug, the status and the title of each kind.
    pub fn kind(&self) -> (&'static str, StatusCode, &'static str) {
        use ApiError::*;
        match self {
            Validation { .. } => (
                "validation",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The request is not valid",
            ),
            VersionConflict { .. } => (
                "version-conflict",
                StatusCode::CONFLICT,
                "The stream is not at the expected version",
            ),
            Refused { .. } => (
                "refused",
                StatusCode::CONFLICT,
                "The batch contradicts the ledger",
            ),
            NotFound(_) => ("not-found", StatusCode::NOT_FOUND, "Not found"),
            Unauthenticated(_) => (
                "unauthenticated",
                StatusCode::UNAUTHORIZED,
                "A valid bearer token is needed",
            ),
            Forbidden(_) => (
                "forbidden",
                StatusCode::FORBIDDEN,
                "This token may not do this",
            ),
            MethodNotAllowed(_) => (
                "method-not-allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "This route does not take this method",
            ),
            UriTooLong(_) => (
                "uri-too-long",
                StatusCode::URI_TOO_LONG,
                "The request's URI is too long",
            ),
            TooLarge(_) => (
                "too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request is too large",
            ),
            UnsupportedMedia(_) => (
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
            ),
            IdempotencyMismatch(_) => (
                "idempotency-key-reused",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The idempotency key was used for a different request",
            ),
            Unavailable(_) => (
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "The service cannot take this now",
            ),
            StorageFull(_) => (
                "storage-full",
                StatusCode::INSUFFICIENT_STORAGE,
                "The ledger's disk is full; nothing was written",
            ),
            Timeout(_) => (
                "timeout",
                StatusCode::SERVICE_UNAVAILABLE,
                "The request took too long",
            ),
            Internal(_) => (
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
            ),
        }
    }

    /// The problem document (RFC 9457) of this error.
    pub fn problem(&self, request_id: Option<&str>) -> Value {
        let (slug, status, title) = self.kind();
        let mut body = Map::new();
        body.insert("type".into(), format!("{PROBLEM_BASE}{slug}").into());
        body.insert("title".into(), title.into());
        body.insert("status".into(), status.as_u16().into());
        let detail = match self {
            ApiError::Internal(_) => {
                "the server met an internal error; it was logged with the request id".to_owned()
            }
            other => other.to_string(),
        };
        body.insert("detail".into(), detail.into());
        let location = match self {
            ApiError::Validation { at: Some(at), .. } | ApiError::Refused { at, .. } => Some(at),
            _ => None,
        };
        if let Some(at) = location {
            body.insert("pointer".into(), at.pointer.clone().into());
            if let Some(line) = at.line {
                body.insert("line".into(), line.into());
            }
            if let Some(index) = at.index {
                body.insert("index".into(), index.into());
            }
        }
        if let ApiError::VersionConflict {
            stream,
            expected,
            current,
        } = self
        {
            body.insert("stream".into(), stream.clone().into());
            body.insert("expected_version".into(), (*expected).into());
            body.insert("current_version".into(), (*current).into());
        }
        if let Some(id) = request_id {
            body.insert("request_id".into(), id.into());
        }
        Value::Object(body)
    }
}

/// A JSON response with a content type other than `application/json`.
pub fn json_with_type(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = request_id();
        let (_, status, _) = self.kind();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(
                request_id = id.as_deref().unwrap_or("-"),
                "internal error: {detail}"
            );
        }
        let mut response = json_with_type(
            status,
            "application/problem+json",
            &self.problem(id.as_deref()),
        );
        if matches!(self, ApiError::Unauthenticated(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"garanti\""),
            );
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, ApiError::StorageFull(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        response
    }
}

impl From<ledger::LedgerError> for ApiError {
    fn from(e: ledger::LedgerError) -> Self {
        match e {
            // Closed after a failed write on a full disk: reads come back with room.
            ledger::LedgerError::Store(ledger::storage::StoreError::Full(_)) => {
                ApiError::Unavailable(
                    "the ledger's disk is full and its store is closed until there is room; retry later".into(),
                )
            }
            other => ApiError::internal(other),
        }
    }
}
