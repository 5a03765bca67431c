//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::routes::{audit, cases, events, feed, log, ops};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// An RFC 9457 problem document, as every error is answered.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://garanti.dk/problems/<kind>`: validation, version-conflict, refused, not-found, method-not-allowed,
    /// unauthenticated, forbidden, too-large, unsupported-media-type, idempotency-key-reused,
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
    modifiers(&Bearer),
)]
pub struct ApiDoc;
