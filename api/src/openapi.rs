//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::routes::{audit, cases, events, feed, log, ops};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// An RFC 9457 problem document, as every error is answered.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://garanti.dk/problems/<kind>`: validation, version-conflict, refused, not-found, method-not-allowed,
    /// unauthenticated, forbidden, too-large, uri-too-long, unsupported-media-type, idempotency-key-reused,
    /// unavailable, timeout, internal.
    #[schema(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request's id, also in the `X-Request-Id` header.
    pub request_id: Option<String>,
    /// Validation and refusals: the JSON pointer of the field in the body.
    pub pointer: Option<String>,
    /// JSON Lines bodies: the line of the event.
    pub line: Option<usize>,
    /// The index of the event in the batch.
    pub index: Option<usize>,
    /// Version conflicts: the stream and its current version.
    pub stream: Option<String>,
    pub expected_version: Option<u64>,
    pub current_version: Option<u64>,
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Declares on every operation the problems the middleware and extractors can answer, beside
/// the ones its handler declares: 401 and 403 where a token is needed, 414 for a URI over 8 KiB,
/// 422 for a malformed parameter, 500, and 503 (shutting down, a timeout); and on the routes that
/// take or give JSON Lines, their `application/x-ndjson` bodies.
struct Problems;

impl Problems {
    fn response(description: &str) -> utoipa::openapi::Response {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    }

    /// The problems `operation` can answer besides its own.
    fn statuses(path: &str, method: &str, secured: bool) -> Vec<(&'static str, &'static str)> {
        let mut out = vec![
            ("414", "The URI is longer than 8 KiB"),
            ("422", "A parameter or the body is not valid"),
            ("500", "An internal error (logged under the request id)"),
            (
                "503",
                "The server is shutting down, or the request took too long",
            ),
        ];
        if secured {
            out.push(("401", "No valid bearer token"));
            out.push(("403", "The token's role or prefix does not allow this"));
        }
        if method == "post" {
            out.push(("413", "The body is larger than --max-body"));
            out.push(("415", "The body's media type is not one the route takes"));
        }
        if path == "/v1/events" {
            out.push((
                "409",
                "The batch contradicts the ledger, or a stream is not at the expected version",
            ));
            out.push(("507", "The ledger's disk is full; nothing was written"));
        }
        out
    }
}

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Type};
        let lines = || {
            ContentBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some("JSON Lines: one JSON object per line")),
                ))
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [("get", &mut item.get), ("post", &mut item.post)] {
                let Some(op) = op.as_mut() else { continue };
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                for (status, description) in Self::statuses(path, method, secured) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| Self::response(description).into());
                }
                if path == "/v1/events" {
                    if let Some(body) = op.request_body.as_mut() {
                        body.content.insert("application/x-ndjson".into(), lines());
                    }
                }
                if path == "/v1/ledger/events" {
                    if let Some(utoipa::openapi::RefOr::T(ok)) =
                        op.responses.responses.get_mut("200")
                    {
                        ok.content.insert("application/x-ndjson".into(), lines());
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Garanti", description = "The compliance ledger's HTTP API: append events (EVENTS.md), read cases, sanction verdicts and findings, check an intended sanction, and audit the hash-chained log, which is also a transparency log (C2SP tlog-tiles under /log/, proofs under /v1/). Errors are RFC 9457 problem documents."),
    paths(
        events::append,
        cases::stream, cases::sanctions, cases::sanction, cases::check, cases::findings,
        cases::deadlines, cases::rules,
        audit::report, audit::head, audit::events, audit::verify,
        feed::feed,
        log::checkpoint, log::tile, log::record_proof, log::sanction_proof,
        ops::healthz, ops::metrics,
    ),
    components(schemas(Problem, cases::CheckRequest, cases::IntendedAbsence)),
    modifiers(&Bearer, &Problems),
)]
pub struct ApiDoc;
