//! Cases and the rules on them: timelines, sanction verdicts (and the check before deciding),
//! findings, open deadlines, the rules in force.

use super::{parse_time, query, Path, Query};
use crate::auth::{Access, Principal, Role};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use projections::event::SanctionKind;
use projections::rules::catalogue;
use projections::rules::dk_sanction::Decision;
use projections::{Evaluation, Fact, Projection, Scope};
use replay::output::{explanation_json, finding_json, sanction_json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/streams/{stream}", get(stream))
        .route("/v1/sanctions", get(sanctions))
        .route("/v1/sanctions/check", post(check).get(sanction_named_check))
        .route("/v1/sanctions/{id}", get(sanction))
        .route("/v1/findings", get(findings))
        .route("/v1/deadlines", get(deadlines))
        .route("/v1/rules", get(rules))
}

/// The `as_of` parameter, read once per request.
fn as_of(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|t| parse_time(t, "as_of")).transpose()
}

fn evaluation(state: &AppState, as_of: Option<i64>) -> Evaluation<'_> {
    Evaluation {
        params: state.params(),
        as_of,
        now: state.now(),
    }
}

/// A list about all cases (cut to a caseworker's own) or one case, which must be the token's.
fn read_scope(principal: &Principal, stream: Option<&str>) -> Result<(), ApiError> {
    principal.require(Access::ReadCases)?;
    if let Some(s) = stream {
        check_stream(s)?;
        principal.require_stream(s)?;
    }
    Ok(())
}

fn check_stream(stream: &str) -> Result<(), ApiError> {
    ledger::interchange::check_stream_id(stream)
        .map_err(|m| ApiError::validation(format!("stream {m}")))
}

/// A page's `limit` is 1 to the server's page size: 0 would never move a client on, and a larger
/// one is refused rather than cut silently.
pub fn check_limit(limit: Option<usize>, max: usize) -> Result<(), ApiError> {
    match limit {
        Some(n) if n == 0 || n > max => {
            Err(ApiError::validation(format!("limit {n}: give 1 to {max}")))
        }
        _ => Ok(()),
    }
}

/// A year a query may name: 1900 to 2200 (the calendar's range).
pub fn check_year(year: Option<i32>) -> Result<(), ApiError> {
    match year {
        Some(y) if !(1900..=2200).contains(&y) => Err(ApiError::validation(format!(
            "year {y} is outside 1900..2200"
        ))),
        _ => Ok(()),
    }
}

/// A page of a list: which items of it to return.
struct Page {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `{total, offset, limit, next_offset, items}`: only the page's items are turned into JSON (a
/// year's list has a hundred thousand verdicts).
fn page<T>(max: usize, p: &Page, items: &[T], to_json: impl Fn(&T) -> Value) -> Value {
    let limit = p.limit.unwrap_or(max).min(max);
    let offset = p.offset.unwrap_or(0);
    let total = items.len();
    let next = offset.checked_add(limit).filter(|n| *n < total);
    let items: Vec<Value> = items.iter().skip(offset).take(limit).map(to_json).collect();
    json!({"total": total, "offset": offset, "limit": limit, "next_offset": next, "items": items})
}

/// A page of a list about the cases a request may read (one case, or all — a caseworker's cut to
/// its municipality), judged as of `as_of`: `items` makes the whole list, `to_json` renders an item.
async fn list<T: 'static>(
    state: &AppState,
    principal: &Principal,
    (stream, as_of_text, as_of_size, page_of): (Option<String>, Option<&str>, Option<u64>, Page),
    items: impl FnOnce(&Evaluation<'_>, &Projection, Option<&str>) -> Vec<T> + Send + 'static,
    to_json: fn(&projections::time::Calendar, &T) -> Value,
) -> Result<Json<Value>, ApiError> {
    read_scope(principal, stream.as_deref())?;
    check_limit(page_of.limit, state.config.limits.max_page)?;
    let as_of = as_of(as_of_text)?;
    let one = stream.clone();
    let value = on_projection(
        state,
        principal,
        (one.as_deref(), as_of_size),
        move |state, proj| {
            let eval = evaluation(state, as_of);
            let cal = &state.params().calendar;
            let all = items(&eval, proj, stream.as_deref());
            Ok(page(state.config.limits.max_page, &page_of, &all, |t| {
                to_json(cal, t)
            }))
        },
    )
    .await?;
    Ok(Json(value))
}

/// The projection a list works on: the live one for one stream (short), else a snapshot (so a
/// long evaluation does not hold up appends), cut down to a caseworker's municipality; with
/// `as_of_size`, the projection of the records a signed checkpoint of that size covers.
async fn on_projection<T: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    (stream, as_of_size): (Option<&str>, Option<u64>),
    work: impl FnOnce(&AppState, &Projection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if let Some(size) = as_of_size {
        let prefix = match principal.role {
            Role::Caseworker => principal.prefix.clone(),
            _ => None,
        };
        return query(state, principal, move |state| {
            let mut projection = (*state.projection_at_size(size)?).clone();
            if let Some(prefix) = prefix {
                projection.retain(|id| id.starts_with(prefix.as_str()));
            }
            work(state, &projection)
        })
        .await;
    }
    let projection = match stream {
        // One case: what judging it reads, taken under the lock.
        Some(s) => state.read().projection.excerpt(s),
        None => {
            let (mut projection, _) = state.snapshot();
            if let (Role::Caseworker, Some(prefix)) = (principal.role, principal.prefix.clone()) {
                projection.retain(|id| id.starts_with(prefix.as_str()));
            }
            projection
        }
    };
    query(state, principal, move |state| work(state, &projection)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AsOf {
    /// Judge with only what was recorded at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Judge with only the first N records: those of the signed checkpoint of size N.
    pub as_of_size: Option<u64>,
}

/// `GET /v1/streams/{stream}`
#[utoipa::path(get, path = "/v1/streams/{stream}", tag = "cases",
    params(("stream" = String, Path, description = "The case, e.g. `dk-101:c-000123`"), AsOf),
    responses((status = 200, description = "The case: its events with seq and hash, its sanction verdicts and findings", body = crate::schemas::Case),
        (status = 404, description = "No events on the stream", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(stream): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Response, ApiError> {
    principal.require(Access::ReadCases)?;
    check_stream(&stream)?;
    principal.require_stream(&stream)?;
    if let Some(size) = q.as_of_size {
        let as_of = as_of(q.as_of.as_deref())?;
        return stream_at_size(state, &principal, stream, as_of, size).await;
    }
    let as_of = as_of(q.as_of.as_deref())?;
    let now = evaluation(&state, as_of).now;
    // Sending megabytes of a case costs the appends as much as judging it: the answer's bytes,
    // kept or judged, are paid for from the token's share too.
    state.shares.admit(&principal.id).await;
    // What judging the case reads is taken under the view's lock (an excerpt: a few Arc clones);
    // the judging happens off the lock, on a bounded number of blocking threads, so that a large
    // case never holds up the writer's fold, nor other requests.
    let (case, id, count, judgement, head) = {
        let view = state.read();
        let Some((id, facts)) = view.projection.stream_entry(&stream) else {
            return Err(ApiError::NotFound(format!("no events on stream {stream}")));
        };
        // Judged now (no as_of): the answer holds until the case changes or the clock passes an
        // instant its judgement turns on, and is kept that long.
        let judgement = match as_of {
            None => view.projection.judgement_version(&stream),
            Some(_) => None,
        };
        if let Some(parts) = judgement.and_then(|j| state.cases.answer(id, j, now)) {
            return Ok(spliced(&state, &principal, parts));
        }
        // The events as of the view's head: records committed after it are not folded yet.
        let head = view.head.map(|h| h.seq);
        let excerpt = view.projection.excerpt(&stream);
        (excerpt, id.clone(), facts.facts.len(), judgement, head)
    };
    let parts = query(&state, &principal, move |state| {
        let eval = evaluation(state, as_of);
        let cal = &state.params().calendar;
        let timeline = state
            .cases
            .timeline(&id, count, || -> Result<_, ApiError> {
                let mut records = state.ledger.stream(&stream)?;
                records.retain(|r| head.is_some_and(|h| r.seq <= h));
                serde_json::to_vec(&replay::report::timeline(cal, &records))
                    .map(Bytes::from)
                    .map_err(ApiError::internal)
            })?;
        let (before, after) = around_timeline(&eval, &case, &stream)?;
        if let Some(j) = judgement {
            let until = eval.judged_until(&case, &stream);
            state
                .cases
                .keep_answer(&id, j, until, (before.clone(), after.clone()));
        }
        Ok([before, timeline, after])
    })
    .await?;
    Ok(spliced(&state, &principal, parts))
}

/// A case judged on the records of the signed checkpoint of `size`: its events among them.
async fn stream_at_size(
    state: AppState,
    principal: &Principal,
    stream: String,
    as_of: Option<i64>,
    size: u64,
) -> Result<Response, ApiError> {
    query(&state, principal, move |state| {
        let projection = state.projection_at_size(size)?;
        if projection.stream_entry(&stream).is_none() {
            return Err(ApiError::NotFound(format!(
                "no events on stream {stream} in the first {size} records"
            )));
        }
        let mut records = state.ledger.stream(&stream)?;
        records.retain(|r| r.seq < size);
        let eval = evaluation(state, as_of);
        let events = replay::report::timeline(&state.params().calendar, &records);
        let case = replay::output::case_with(&eval, &projection, &stream, events);
        Ok(json_response(
            serde_json::to_vec(&case).map_err(ApiError::internal)?,
        ))
    })
    .await
}

/// A case's answer (`replay::output::case_with`) as it comes before and after its events: the
/// events, the bulk of it, are rendered once per version of the case and kept, the verdicts and
/// findings around them judged anew as time goes on.
fn around_timeline(
    eval: &Evaluation<'_>,
    projection: &Projection,
    stream: &str,
) -> Result<(Bytes, Bytes), ApiError> {
    // Rendered with `null` for the events, then cut there: the answer is the serialisation of
    // the same object, byte for byte (tested).
    let whole = serde_json::to_vec(&replay::output::case_with(eval, projection, stream, ()))
        .map_err(ApiError::internal)?;
    // Fields in alphabetical order: the events come first.
    let cut = br#"{"events":"#.len();
    if whole.get(..cut + 4) != Some(br#"{"events":null"#) {
        return Err(ApiError::internal(
            "a case's answer is not laid out as expected",
        ));
    }
    let whole = Bytes::from(whole);
    Ok((whole.slice(..cut), whole.slice(cut + 4..)))
}

/// A case's answer sent in parts, as they are kept, with its length known; paid for from the
/// token's share by its size.
fn spliced(state: &AppState, principal: &Principal, parts: [Bytes; 3]) -> Response {
    let bytes = parts.iter().map(Bytes::len).sum();
    state.shares.charge_bytes(&principal.id, bytes);
    json_response(axum::body::Body::new(Parts(
        parts.into_iter().filter(|p| !p.is_empty()).collect(),
    )))
}

/// A body of a few chunks, sent one after the other (hyper writes them in one vectored write).
struct Parts(std::collections::VecDeque<Bytes>);

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SanctionsQuery {
    /// Sanctions decided in this calendar year.
    #[param(minimum = 1900, maximum = 2200)]
    pub year: Option<i32>,
    /// Sanctions on this case only.
    #[param(pattern = r"^[A-Za-z0-9._:-]{1,128}$")]
    pub stream: Option<String>,
    /// `lawful` or `unlawful`.
    pub verdict: Option<String>,
    /// Judge with only what was recorded at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Judge with only the first N records: those of the signed checkpoint of size N.
    pub as_of_size: Option<u64>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

/// `GET /v1/sanctions`
#[utoipa::path(get, path = "/v1/sanctions", tag = "sanctions", params(SanctionsQuery),
    responses((status = 200, description = "A page of sanction verdicts, in decision order: `{total, offset, limit, next_offset, items}`", body = crate::schemas::SanctionPage)),
    security(("bearer" = [])))]
pub async fn sanctions(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<SanctionsQuery>,
) -> Result<Json<Value>, ApiError> {
    let lawful = match q.verdict.as_deref() {
        None => None,
        Some("lawful") => Some(true),
        Some("unlawful") => Some(false),
        Some(other) => {
            return Err(ApiError::validation(format!(
                "verdict {other:?}: use lawful or unlawful"
            )))
        }
    };
    check_year(q.year)?;
    let year = q.year;
    let page_of = Page {
        offset: q.offset,
        limit: q.limit,
    };
    list(
        &state,
        &principal,
        (q.stream, q.as_of.as_deref(), q.as_of_size, page_of),
        move |eval, proj, stream| {
            let mut all = eval.sanctions(proj, Scope { year, stream });
            all.retain(|s| lawful.is_none_or(|l| s.lawful == l));
            all
        },
        sanction_json,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SanctionQuery {
    /// Judge with only what was recorded at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Judge with only the first N records: those of the signed checkpoint of size N.
    pub as_of_size: Option<u64>,
}

/// `GET /v1/sanctions/{id}`
#[utoipa::path(get, path = "/v1/sanctions/{id}", tag = "sanctions",
    params(("id" = String, Path, description = "The sanction id"), SanctionQuery),
    responses((status = 200, description = "The verdict with its explanation: every condition, the events it rests on, the law", body = crate::schemas::Explanation),
        (status = 404, description = "No such sanction (or not one this token may see)", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sanction(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<SanctionQuery>,
) -> Result<Response, ApiError> {
    principal.require(Access::ReadCases)?;
    let as_of = as_of(q.as_of.as_deref())?;
    if let Some(size) = q.as_of_size {
        return sanction_at_size(state, principal, id, as_of, size).await;
    }
    let missing =
        || ApiError::NotFound(format!("no sanction {id:?}; GET /v1/sanctions lists them"));
    // The case is taken under the view's lock as an excerpt and judged off it (see `stream`).
    let (case, stream, version) = {
        let view = state.read();
        let stream = view.sanction_stream(&id).ok_or_else(missing)?;
        // Another municipality's sanction is not said to exist.
        if !principal.may_touch(stream) {
            return Err(missing());
        }
        let Some((stream, facts)) = view.projection.stream_entry(stream) else {
            return Err(missing());
        };
        // A verdict rests on its stream alone: without as_of, the answer holds until the
        // stream grows.
        let version = as_of.is_none().then_some(facts.facts.len());
        if let Some(body) = version.and_then(|v| state.cases.sanction(stream, v, &id)) {
            return Ok(json_response(body));
        }
        (view.projection.excerpt(stream), stream.clone(), version)
    };
    query(&state, &principal, move |state| {
        let eval = evaluation(state, as_of);
        let verdict = eval
            .sanction_in(&case, Some(&stream), &id)
            .ok_or_else(|| ApiError::NotFound(format!("no sanction {id:?} as of that time")))?;
        let cal = &state.params().calendar;
        let described = replay::output::Described::of(cal, &case, &verdict);
        let body = Bytes::from(
            serde_json::to_vec(&described.explain(cal, &verdict)).map_err(ApiError::internal)?,
        );
        if let Some(v) = version {
            state.cases.keep_sanction(&stream, v, &id, body.clone());
        }
        Ok(json_response(body))
    })
    .await
}

/// A JSON answer already serialised.
/// `GET /v1/sanctions/check`: the sanction whose id is `check` (the path is also the check's).
async fn sanction_named_check(
    state: State<AppState>,
    principal: Principal,
    query: Query<SanctionQuery>,
) -> Result<Response, ApiError> {
    sanction(state, principal, Path("check".to_owned()), query).await
}

/// A sanction's explanation judged on the records of the signed checkpoint of `size`.
async fn sanction_at_size(
    state: AppState,
    principal: Principal,
    id: String,
    as_of: Option<i64>,
    size: u64,
) -> Result<Response, ApiError> {
    let who = principal.clone();
    query(&state, &who, move |state| {
        let projection = state.projection_at_size(size)?;
        let eval = evaluation(state, as_of);
        let missing =
            || ApiError::NotFound(format!("no sanction {id:?} in the first {size} records"));
        let verdict = eval.sanction(&projection, &id).ok_or_else(missing)?;
        // Another municipality's sanction is not said to exist.
        if !principal.may_touch(&verdict.stream) {
            return Err(missing());
        }
        let cal = &state.params().calendar;
        let described = replay::output::Described::of(cal, &projection, &verdict);
        let body =
            serde_json::to_vec(&described.explain(cal, &verdict)).map_err(ApiError::internal)?;
        Ok(json_response(body))
    })
    .await
}

fn json_response(body: impl Into<axum::body::Body>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

/// The absence an intended sanction would rest on, if it is not in the ledger yet.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntendedAbsence {
    /// When the citizen did not show up (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// The excuse given, if any.
    #[serde(default)]
    pub excuse: Option<String>,
}

/// An intended sanction, to judge before deciding.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The case.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,128}$")]
    pub stream: String,
    /// The offer (tilbud) the absence was from.
    pub offer_id: String,
    /// `reduction`, `stop` or `tightened_availability`.
    pub kind: String,
    /// When the sanction would be decided (RFC 3339).
    #[schema(format = DateTime)]
    pub decided_at: String,
    /// An id for the intended sanction (default `intended`).
    #[serde(default)]
    pub sanction_id: Option<String>,
    /// An absence not yet in the ledger, judged as if it were: the intended sanction rests on it
    /// (as a decision naming it with `absence_at`). Without it, on the latest unexcused absence.
    #[serde(default)]
    pub absence: Option<IntendedAbsence>,
    /// Judge with only what was recorded at or before this time.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub as_of: Option<String>,
}

/// The seq a hypothetical event gets inside the check; shown as `null`.
const INTENDED_SEQ: u64 = u64::MAX;

/// Replaces the seq of a hypothetical event by null.
fn hide_intended(v: &mut Value) {
    match v {
        Value::Number(n) if n.as_u64() == Some(INTENDED_SEQ) => *v = Value::Null,
        Value::Array(items) => items.iter_mut().for_each(hide_intended),
        Value::Object(map) => map.values_mut().for_each(hide_intended),
        _ => {}
    }
}

/// `POST /v1/sanctions/check`
#[utoipa::path(post, path = "/v1/sanctions/check", tag = "sanctions", request_body = CheckRequest,
    responses((status = 200, description = "Would the sanction be lawful, and if not, every reason with its legal basis and the events it rests on (a `seq` of null is the absence given in the request). Nothing is appended.", body = crate::schemas::Explanation),
        (status = 422, description = "A malformed request", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Access::Check)?;
    let body = body?;
    let req: CheckRequest = serde_json::from_slice(&body).map_err(|e| ApiError::Validation {
        detail: format!("the check request: {e}"),
        at: Some(crate::error::Location {
            pointer: String::new(),
            line: Some(e.line()),
            index: None,
        }),
    })?;
    check_stream(&req.stream)?;
    principal.require_stream(&req.stream)?;
    let kind = SanctionKind::parse(&req.kind).ok_or_else(|| {
        ApiError::validation(format!(
            "kind {:?}: use one of {}",
            req.kind,
            SanctionKind::ALL.join(", ")
        ))
    })?;
    // The limits an append of the same events would meet.
    for (field, text) in [
        ("offer_id", Some(req.offer_id.as_str())),
        ("sanction_id", req.sanction_id.as_deref()),
    ] {
        if text.is_some_and(|t| t.is_empty() || t.chars().count() > 128) {
            return Err(ApiError::validation(format!(
                "{field} must be 1 to 128 characters"
            )));
        }
    }
    let max = state.config.limits.max_string_chars;
    if let Some(chars) = req
        .absence
        .as_ref()
        .and_then(|a| a.excuse.as_ref())
        .map(|e| e.chars().count())
        .filter(|n| *n > max)
    {
        return Err(ApiError::validation(format!(
            "absence.excuse: a string of {chars} characters; at most {max} are taken"
        )));
    }
    let decided_at = parse_time(&req.decided_at, "decided_at")?;
    let absence_at = req
        .absence
        .as_ref()
        .map(|a| parse_time(&a.at, "absence.at"))
        .transpose()?;
    let as_of = as_of(req.as_of.as_deref())?;
    // What judging the case reads, taken under the lock; judged off it, on a query thread.
    let mut case = state.read().projection.excerpt(&req.stream);
    let mut out = query(&state, &principal, move |state| {
        let eval = evaluation(state, as_of);
        let now = state.now();
        let decision = Decision {
            sanction_id: req.sanction_id.as_deref().unwrap_or("intended"),
            offer_id: &req.offer_id,
            kind,
            decided_at,
            // Were it decided now, it would be recorded now.
            recorded: now.max(decided_at),
            seq: None,
            // The absence given in the request is the one it would rest on.
            absence_at,
        };
        if let (Some(at), Some(absence)) = (absence_at, &req.absence) {
            // Judged as if the intended absence were on the case.
            case.apply(
                &Arc::from(req.stream.as_str()),
                Fact {
                    seq: INTENDED_SEQ,
                    effective_at: at,
                    recorded: now.max(at),
                    data: projections::EventData::AbsenceRecorded {
                        offer_id: Arc::from(req.offer_id.as_str()),
                        excuse: absence.excuse.as_deref().map(Arc::from),
                    },
                },
            );
        }
        let verdict = eval.check(&case, &req.stream, &decision);
        Ok(explanation_json(&state.params().calendar, &case, &verdict))
    })
    .await?;
    hide_intended(&mut out);
    out["intended"] = Value::Bool(true);
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FindingsQuery {
    /// Findings dated in this calendar year.
    #[param(minimum = 1900, maximum = 2200)]
    pub year: Option<i32>,
    /// One rule's findings, e.g. `dk.minplan.offer_missing`.
    pub rule: Option<String>,
    /// One case's findings.
    #[param(pattern = r"^[A-Za-z0-9._:-]{1,128}$")]
    pub stream: Option<String>,
    /// Judge with only what was recorded at or before this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Judge with only the first N records: those of the signed checkpoint of size N.
    pub as_of_size: Option<u64>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

/// `GET /v1/findings`
#[utoipa::path(get, path = "/v1/findings", tag = "findings", params(FindingsQuery),
    responses((status = 200, description = "A page of findings: `{total, offset, limit, next_offset, items}`", body = crate::schemas::FindingPage)),
    security(("bearer" = [])))]
pub async fn findings(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<FindingsQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(code) = &q.rule {
        catalogue::finding_rule(code).map_err(|m| {
            ApiError::validation(format!("rule {m} (sanction verdicts: /v1/sanctions)"))
        })?;
    }
    check_year(q.year)?;
    let (year, rule) = (q.year, q.rule);
    let page_of = Page {
        offset: q.offset,
        limit: q.limit,
    };
    list(
        &state,
        &principal,
        (q.stream, q.as_of.as_deref(), q.as_of_size, page_of),
        move |eval, proj, stream| {
            let mut all = eval.findings(proj, Scope { year, stream });
            all.retain(|f| rule.as_deref().is_none_or(|r| r == f.rule));
            all
        },
        finding_json,
    )
    .await
}

/// The farthest a deadline query looks ahead: a hundred years.
const MAX_WITHIN_DAYS: u32 = 36_500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeadlinesQuery {
    /// Only deadlines falling due within this many days.
    pub within: Option<u32>,
    /// The time (RFC 3339) or date (end of that day) to look from; default now.
    pub at: Option<String>,
}

/// `GET /v1/deadlines`
#[utoipa::path(get, path = "/v1/deadlines", tag = "findings", params(DeadlinesQuery),
    responses((status = 200, description = "Open deadlines, soonest first, and the monthly timeliness of the year", body = crate::schemas::Deadlines)),
    security(("bearer" = [])))]
pub async fn deadlines(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<DeadlinesQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Access::Follow)?;
    if let Some(days) = q.within.filter(|d| *d > MAX_WITHIN_DAYS) {
        return Err(ApiError::validation(format!(
            "within {days}: give at most {MAX_WITHIN_DAYS} days"
        )));
    }
    let cal = state.params().calendar;
    let at = match q.at.as_deref() {
        Some(text) => match projections::event::parse_date(text) {
            Some(d) => {
                check_year(Some(chrono::Datelike::year(&d)))?;
                cal.end_of(d) - 1
            }
            None => parse_time(text, "at")?,
        },
        None => state.now(),
    };
    on_projection(&state, &principal, (None, None), move |state, proj| {
        let eval = Evaluation {
            params: state.params(),
            as_of: None,
            now: at,
        };
        Ok(Json(
            replay::output::deadlines(&eval, proj, q.within).json(&cal),
        ))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RulesQuery {
    /// The date (YYYY-MM-DD) whose parameters to show; default today.
    pub at: Option<String>,
}

/// `GET /v1/rules`
#[utoipa::path(get, path = "/v1/rules", tag = "rules", params(RulesQuery),
    responses((status = 200, description = "The rules with their codes, legal bases and parameters in force", body = crate::schemas::Rules)),
    security(("bearer" = [])))]
pub async fn rules(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<RulesQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Access::Public)?;
    let date = match q.at.as_deref() {
        Some(text) => projections::event::parse_date(text)
            .ok_or_else(|| ApiError::validation(format!("at {text:?} is not a date YYYY-MM-DD")))?,
        None => state.params().calendar.date(state.now()),
    };
    Ok(Json(replay::output::rules_json(state.params(), date)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_renders_only_its_items_and_says_where_the_next_begins() {
        let items: Vec<u32> = (0..10).collect();
        let rendered = std::cell::Cell::new(0);
        let render = |n: &u32| {
            rendered.set(rendered.get() + 1);
            json!(n)
        };
        let p = |offset, limit| Page { offset, limit };
        let first = page(4, &p(None, None), &items, render);
        assert_eq!(
            first,
            json!({"total": 10, "offset": 0, "limit": 4, "next_offset": 4, "items": [0, 1, 2, 3]})
        );
        assert_eq!(rendered.get(), 4);
        // A limit above the server's is cut to it; the last page has no next.
        let last = page(4, &p(Some(8), Some(100)), &items, render);
        assert_eq!(last["limit"], 4);
        assert_eq!(last["items"], json!([8, 9]));
        assert_eq!(last["next_offset"], Value::Null);
        let past = page(4, &p(Some(20), Some(2)), &items, render);
        assert_eq!(past["items"], json!([]));
        assert_eq!(rendered.get(), 6);
    }
}
