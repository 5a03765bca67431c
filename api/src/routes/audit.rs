//! What revisors read: the year report, the chain head, pages of the export, the verification.

use super::{blocking, parse_time, query, Path, Query};
use crate::auth::{Access, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use projections::Evaluation;
use replay::report::{ReportInput, SampleRequest, Source};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reports/{year}", get(report))
        .route("/v1/ledger/head", get(head))
        .route("/v1/ledger/events", get(events))
        .route("/v1/ledger/verify", get(verify))
}

/// The chain head after the first `size` records.
fn head_at(state: &AppState, size: u64) -> Result<Option<ledger::Head>, ApiError> {
    let Some(last) = size.checked_sub(1) else {
        return Ok(None);
    };
    let record = state
        .ledger
        .get(last)?
        .ok_or_else(|| ApiError::NotFound(format!("the ledger has no record {last}")))?;
    Ok(Some(ledger::Head {
        seq: last,
        hash: record.hash,
    }))
}

fn head_json(head: Option<ledger::Head>) -> Value {
    match head {
        Some(h) => json!({"seq": h.seq, "hash": h.hash_hex(), "records": h.seq + 1}),
        None => json!({"seq": null, "hash": null, "records": 0}),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Judge with only what was recorded at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Draw a sample of this many cases for the report.
    pub sample: Option<usize>,
    /// The sample's seed (required with `sample`).
    pub seed: Option<String>,
    /// Sample among the cases with findings of this rule (`dk.sanction`: unlawful sanctions).
    pub rule: Option<String>,
    /// Report on only the first N records: those of the signed checkpoint of size N.
    pub as_of_size: Option<u64>,
}

/// `GET /v1/reports/{year}`
#[utoipa::path(get, path = "/v1/reports/{year}", tag = "audit",
    params(("year" = i32, Path, description = "The calendar year"), ReportQuery),
    responses((status = 200, description = "The JSON report of `garanti report`, tied to the chain head it was made from", body = crate::schemas::YearReport)),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    Path(year): Path<i32>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    principal.require(Access::Audit)?;
    if !(1900..=2200).contains(&year) {
        return Err(ApiError::validation(format!(
            "year {year} is outside 1900..2200"
        )));
    }
    let as_of = q
        .as_of
        .as_deref()
        .map(|t| parse_time(t, "as_of"))
        .transpose()?;
    let sample = match (q.sample, q.seed) {
        (None, None) => None,
        (Some(size), Some(seed)) if size > 0 && !seed.is_empty() => Some(SampleRequest {
            size,
            seed,
            rule: q.rule,
            examined: false,
            per_municipality: false,
        }),
        _ => {
            return Err(ApiError::validation(
                "a sample needs both sample (a count above 0) and seed",
            ))
        }
    };
    let at_size = q.as_of_size;
    let (live, live_head) = match at_size {
        Some(_) => (None, None),
        None => {
            let (p, h) = state.snapshot();
            (Some(p), h)
        }
    };
    let bytes = query(&state, &principal, move |state| {
        let eval = Evaluation {
            params: state.params(),
            as_of,
            now: state.now(),
        };
        let (projection, head) = match (live, at_size) {
            (Some(p), _) => (std::sync::Arc::new(p), live_head),
            (None, Some(n)) => (state.projection_at_size(n)?, head_at(state, n)?),
            (None, None) => return Err(ApiError::internal("no projection")),
        };
        let records = head.map_or(0, |h| h.seq + 1);
        // The report names a signed checkpoint of exactly its records, signed now if need be.
        if state.latest_checkpoint().is_none_or(|k| k.size < records) {
            state.sign_checkpoint()?;
        }
        let checkpoint = state
            .ledger
            .checkpoint(records)?
            .filter(|_| records > 0)
            .map(|k| k.note);
        let prove = |seq: u64| state.ledger.entry_proof(seq, records).ok();
        let input = ReportInput {
            projection: &projection,
            eval,
            year,
            source: Source {
                kind: "ledger",
                location: "garanti serve".into(),
                head,
                records,
                checkpoint: checkpoint.clone(),
            },
            generated_at: state.now(),
            program_version: env!("CARGO_PKG_VERSION"),
            prove: checkpoint
                .as_ref()
                .map(|_| &prove as &dyn Fn(u64) -> Option<_>),
            sample,
        };
        let mut failure = None;
        let report = replay::report::build(&input, &mut |streams| {
            let mut out = std::collections::HashMap::new();
            for s in streams {
                match state.ledger.stream(s) {
                    Ok(mut records) => {
                        records.retain(|r| head.is_some_and(|h| r.seq <= h.seq));
                        out.insert(s.clone(), records);
                    }
                    Err(e) => failure = Some(e),
                }
            }
            out
        });
        if let Some(e) = failure {
            return Err(ApiError::from(e));
        }
        serde_json::to_vec(&report).map_err(ApiError::internal)
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response())
}

/// `GET /v1/ledger/head`
#[utoipa::path(get, path = "/v1/ledger/head", tag = "ledger",
    responses((status = 200, description = "The chain head the projections are at: `{seq, hash, records}`", body = crate::schemas::Head)),
    security(("bearer" = [])))]
pub async fn head(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Access::Public)?;
    Ok(Json(head_json(state.read().head)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// The first seq (default 0).
    pub from: Option<u64>,
    /// Records per page (default and maximum: the server's page limit).
    pub limit: Option<usize>,
}

/// `GET /v1/ledger/events`
#[utoipa::path(get, path = "/v1/ledger/events", tag = "ledger", params(EventsQuery),
    responses((status = 200, description = "A page of the export (docs/FORMAT.md): every field, the chain fields and the stored bytes of each record. JSON `{records, next_from, head}`, or with `Accept: application/x-ndjson` the export lines themselves (header `Garanti-Next-From`).", body = crate::schemas::ExportPage)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    principal.require(Access::Audit)?;
    let max = state.config.limits.max_page;
    super::cases::check_limit(q.limit, max)?;
    let limit = q.limit.unwrap_or(max);
    let from = q.from.unwrap_or(0);
    let head = state.read().head;
    let end = head.map_or(0, |h| h.seq + 1);
    let to = from.saturating_add(limit as u64).min(end);
    let lines_wanted = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/x-ndjson"));
    let state2 = state.clone();
    let lines = blocking(move || {
        let mut lines = Vec::new();
        if from < to {
            state2.ledger.scan(from, to, &mut |record| {
                if let Ok(view) = record.view() {
                    lines.push(ledger::interchange::export_line(record, &view));
                }
                true
            })?;
        }
        Ok(lines)
    })
    .await?;
    let next = (to < end).then_some(to);
    if lines_wanted {
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        let mut response = (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )],
            body,
        )
            .into_response();
        if let Some(n) = next {
            if let Ok(v) = HeaderValue::from_str(&n.to_string()) {
                response.headers_mut().insert("garanti-next-from", v);
            }
        }
        return Ok(response);
    }
    let records: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok(
        Json(json!({"from": from, "records": records, "next_from": next, "head": head_json(head)}))
            .into_response(),
    )
}

/// `GET /v1/ledger/verify`
#[utoipa::path(get, path = "/v1/ledger/verify", tag = "ledger",
    responses((status = 200, description = "The whole chain walked from genesis: `{intact: true, head, records}` or `{intact: false, fault: {seq, problem}}`", body = crate::schemas::VerifyAnswer)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Access::Audit)?;
    let verdict = query(&state, &principal, |state| {
        Ok(state.ledger.verify(&mut |_| {})?)
    })
    .await?;
    Ok(Json(match verdict {
        ledger::Verdict::Intact {
            head,
            records,
            root,
            ..
        } => {
            json!({"intact": true, "head": head_json(head), "records": records, "tree_root": ledger::merkle::to_base64(&root)})
        }
        ledger::Verdict::Broken(fault) => {
            tracing::error!(
                "verification found a broken chain at seq {}: {}",
                fault.seq,
                fault.kind
            );
            json!({"intact": false, "fault": {"seq": fault.seq, "problem": fault.kind.to_string()}})
        }
    }))
}
