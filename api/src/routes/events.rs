//! `POST /v1/events`: appends a batch, all or nothing, durable before it is answered.

use crate::auth::{Access, Principal};
use crate::error::{ApiError, Location};
use crate::state::{AppState, Limits, PendingFact};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ledger::group::SubmitError;
use ledger::{AppendError, Constraint, Timestamp};
use replay::ingest::{append_of, check_event, Checked};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/events", post(append))
}

/// The header that sets expected stream versions for any body form: `STREAM=N, STREAM=N`.
pub const EXPECTED_VERSIONS_HEADER: &str = "garanti-expected-versions";

/// One event of the body, with where it is.
struct BodyEvent {
    value: Value,
    /// JSON pointer of the event in the body.
    pointer: String,
    line: Option<usize>,
}

enum BodyForm {
    Json,
    Lines,
}

fn body_form(headers: &HeaderMap) -> Result<BodyForm, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMedia(
            "no Content-Type; send application/json (an array of events, or {\"events\": [...], \"expected_versions\": {...}}) or application/x-ndjson (JSON Lines)".into(),
        ));
    };
    let media = ct
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(BodyForm::Json),
        "application/x-ndjson"
        | "application/jsonl"
        | "application/json-lines"
        | "application/x-jsonlines" => Ok(BodyForm::Lines),
        other => Err(ApiError::UnsupportedMedia(format!(
            "Content-Type {other:?} is not taken; send application/json or application/x-ndjson"
        ))),
    }
}

fn parse_error(e: &serde_json::Error, line_offset: usize) -> ApiError {
    let detail = match line_offset {
        0 => format!("the body is not valid JSON: {e}"),
        // serde_json counts within the one line it was given: say which line of the body.
        _ => format!(
            "line {} is not valid JSON: {} (column {})",
            e.line() + line_offset,
            e.to_string()
                .rsplit_once(" at line ")
                .map_or(e.to_string(), |(m, _)| m.to_owned()),
            e.column()
        ),
    };
    ApiError::Validation {
        detail,
        at: Some(Location {
            pointer: String::new(),
            line: Some(e.line() + line_offset),
            index: None,
        }),
    }
}

/// (stream, the version it must have before the batch).
type ExpectedVersions = Vec<(String, u64)>;

/// The marker of a body with more events than a batch may have, in the parser's error.
const TOO_MANY: &str = "garanti: too many events";

fn too_many(max: usize) -> ApiError {
    ApiError::TooLarge(format!(
        "more than {max} events in one batch; at most {max} are taken"
    ))
}

/// The top level of a JSON body, parsed so that no more than `max` events are ever built: an
/// array of events, or an object with `events` and `expected_versions`.
struct TopLevel {
    max: usize,
}

/// What the top level held.
enum Parsed {
    Array(Vec<Value>),
    Object(serde_json::Map<String, Value>, Vec<Value>),
}

/// An array of at most `max` values; the parser stops at the one after.
struct Limited {
    max: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Limited {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Limited {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of events")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(ledger::interchange::Strict)? {
            if out.len() == self.max {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            out.push(v);
        }
        Ok(out)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for TopLevel {
    type Value = Parsed;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopLevel {
    type Value = Parsed;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of events, or an object with `events`")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Parsed, A::Error> {
        Limited { max: self.max }.visit_seq(seq).map(Parsed::Array)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut rest = serde_json::Map::new();
        let mut events = None;
        while let Some(key) = map.next_key::<String>()? {
            if rest.contains_key(&key) || (key == "events" && events.is_some()) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` is written twice in one object"
                )));
            }
            if key == "events" {
                events = Some(map.next_value_seed(Limited { max: self.max })?);
            } else {
                rest.insert(key, map.next_value_seed(ledger::interchange::Strict)?);
            }
        }
        Ok(Parsed::Object(rest, events.unwrap_or_default()))
    }
}

/// Splits the body into events (and expected versions, from the object form). No more than
/// `max` events are built: a longer batch is refused as soon as the parser meets the one after.
fn parse_body(
    form: BodyForm,
    body: &[u8],
    max: usize,
) -> Result<(Vec<BodyEvent>, ExpectedVersions), ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        ApiError::Validation {
            detail: format!("the body is not UTF-8 at line {line}: {e}"),
            at: Some(Location {
                pointer: String::new(),
                line: Some(line),
                index: None,
            }),
        }
    })?;
    match form {
        BodyForm::Lines => {
            let mut events = Vec::new();
            for (i, line) in text.split('\n').enumerate() {
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() {
                    continue;
                }
                if events.len() == max {
                    return Err(too_many(max));
                }
                let value: Value =
                    ledger::interchange::from_str_strict(line).map_err(|e| parse_error(&e, i))?;
                events.push(BodyEvent {
                    value,
                    pointer: String::new(),
                    line: Some(i + 1),
                });
            }
            Ok((events, Vec::new()))
        }
        BodyForm::Json => {
            use serde::de::DeserializeSeed as _;
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = TopLevel { max }
                .deserialize(&mut de)
                .and_then(|p| de.end().map(|()| p))
                .map_err(|e| match e.to_string().contains(TOO_MANY) {
                    true => too_many(max),
                    false => parse_error(&e, 0),
                })?;
            let (items, base, expected) = match parsed {
                Parsed::Array(items) => (items, String::new(), Vec::new()),
                Parsed::Object(mut obj, items) => {
                    obj.insert("events".into(), Value::Array(items));
                    if let Some(k) = obj
                        .keys()
                        .find(|k| !matches!(k.as_str(), "events" | "expected_versions"))
                    {
                        return Err(ApiError::Validation {
                            detail: format!("unknown field `{k}`; the object form has `events` and `expected_versions`"),
                            at: Some(Location { pointer: format!("/{k}"), line: None, index: None }),
                        });
                    }
                    let expected = match obj.remove("expected_versions") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Object(map)) => map
                            .into_iter()
                            .map(|(stream, v)| match v.as_u64() {
                                Some(n) => Ok((stream, n)),
                                None => Err(ApiError::Validation {
                                    detail: format!("expected version of {stream} must be a non-negative integer (0: the stream must be new)"),
                                    at: Some(Location { pointer: format!("/expected_versions/{}", stream.replace('~', "~0").replace('/', "~1")), line: None, index: None }),
                                }),
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => {
                            return Err(ApiError::Validation {
                                detail: "`expected_versions` must be an object of stream id to version".into(),
                                at: Some(Location { pointer: "/expected_versions".into(), line: None, index: None }),
                            })
                        }
                    };
                    match obj.remove("events") {
                        Some(Value::Array(items)) => (items, "/events".to_owned(), expected),
                        _ => {
                            return Err(ApiError::Validation {
                                detail: "`events` must be an array of events".into(),
                                at: Some(Location {
                                    pointer: "/events".into(),
                                    line: None,
                                    index: None,
                                }),
                            })
                        }
                    }
                }
            };
            let events = items
                .into_iter()
                .enumerate()
                .map(|(i, value)| BodyEvent {
                    value,
                    pointer: format!("{base}/{i}"),
                    line: None,
                })
                .collect();
            Ok((events, expected))
        }
    }
}

/// Whether the record `seq` is in the caller's scope: a refusal names the record that claimed a
/// key only then (a caseworker learns nothing about another municipality's records).
fn visible(state: &AppState, principal: &Principal, seq: u64) -> bool {
    state
        .ledger
        .get(seq)
        .ok()
        .flatten()
        .and_then(|r| r.view().ok().map(|v| principal.may_touch(v.stream)))
        .unwrap_or(false)
}

/// `STREAM=N, STREAM=N` from the expected-versions header.
/// Every header of that name counts (as one comma-separated list, RFC 9110 §5.3): a second one is
/// never ignored.
fn parse_expected_header(headers: &HeaderMap) -> Result<Vec<(String, u64)>, ApiError> {
    let mut all = Vec::new();
    for v in headers.get_all(EXPECTED_VERSIONS_HEADER) {
        let text = v.to_str().map_err(|_| {
            ApiError::validation(format!("{EXPECTED_VERSIONS_HEADER} is not ASCII"))
        })?;
        all.extend(parse_expected_list(text)?);
    }
    Ok(all)
}

fn parse_expected_list(text: &str) -> Result<Vec<(String, u64)>, ApiError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let (stream, n) = part.trim().rsplit_once('=').ok_or_else(|| {
                ApiError::validation(format!(
                    "{EXPECTED_VERSIONS_HEADER}: {part:?} is not STREAM=VERSION"
                ))
            })?;
            let n = n.trim().parse::<u64>().map_err(|_| {
                ApiError::validation(format!(
                    "{EXPECTED_VERSIONS_HEADER}: version of {stream} must be a non-negative integer"
                ))
            })?;
            Ok((stream.trim().to_owned(), n))
        })
        .collect()
}

/// The first string in `value` longer than `max` characters, as a pointer below `base`, with its
/// length in characters.
fn long_string(value: &Value, max: usize, base: &str) -> Option<(String, usize)> {
    let mut path = Vec::new();
    let chars = long_string_path(value, max, &mut path)?;
    let mut pointer = base.to_owned();
    // Built from the innermost key out: only for a string found, not for every field looked at.
    for segment in path.iter().rev() {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    Some((pointer, chars))
}

/// `long_string`'s search: the keys and indexes leading to the string, innermost first.
fn long_string_path(value: &Value, max: usize, path: &mut Vec<String>) -> Option<usize> {
    match value {
        Value::String(s) if s.len() > max && s.chars().count() > max => Some(s.chars().count()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let chars = long_string_path(v, max, path)?;
            path.push(i.to_string());
            Some(chars)
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let chars = long_string_path(v, max, path)?;
            path.push(k.clone());
            Some(chars)
        }),
        _ => None,
    }
}

/// The location of a field (`data.offer_id`) of the event at `at`.
fn below(at: &Location, field: &str) -> Location {
    let mut at = at.clone();
    if !field.is_empty() {
        at.pointer = format!("{}/{}", at.pointer, field.replace('.', "/"));
    }
    at
}

/// The idempotency key, checked: 1 to 128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 128 && k.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(ApiError::validation(
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        )),
    }
}

/// What a request asks to append, as one hash: the same events and expected versions in any
/// body form give the same fingerprint.
fn fingerprint(checked: &[Checked], expected: &[(String, u64)]) -> String {
    let mut h = blake3::Hasher::new();
    let mut field = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    for c in checked {
        let e = &c.event;
        field(e.stream.as_bytes());
        field(e.event_type.as_bytes());
        field(&e.effective_at.unix_nanos.to_le_bytes());
        field(&e.effective_at.offset_seconds.to_le_bytes());
        match e.recorded_at {
            Some(r) => {
                field(&r.unix_nanos.to_le_bytes());
                field(&r.offset_seconds.to_le_bytes());
            }
            None => field(b""),
        }
        field(e.actor.as_bytes());
        field(e.data.as_bytes());
    }
    for (s, v) in expected {
        field(s.as_bytes());
        field(&v.to_le_bytes());
    }
    h.finalize().to_hex()[..32].to_owned()
}

/// The ledger keys an idempotency key claims: one for the key, one for the key with the request.
fn idempotency_keys(principal: &Principal, key: &str, fingerprint: &str) -> (String, String) {
    (
        format!("idempotency|{}|{key}", principal.id),
        format!("idempotency-request|{}|{key}|{fingerprint}", principal.id),
    )
}

/// The answer to an append: where each event went and the head after it.
fn answer(positions: &[(u64, String, u64)], head: Option<ledger::Head>) -> Value {
    json!({
        "events": positions.iter().map(|(seq, stream, version)| json!({"seq": seq, "stream": stream, "stream_version": version})).collect::<Vec<_>>(),
        "head": head.map(|h| json!({"seq": h.seq, "hash": h.hash_hex()})),
    })
}

/// The first answer to a retried request, rebuilt from the ledger.
fn replayed(
    state: &AppState,
    keys: &(String, String),
    events: usize,
) -> Result<Option<Response>, ApiError> {
    let Some(first) = state.ledger.key(&keys.0)? else {
        return Ok(None);
    };
    if state.ledger.key(&keys.1)?.is_none() {
        return Err(ApiError::IdempotencyMismatch(
            "this Idempotency-Key was used before with different events; use a new key for a new request".into(),
        ));
    }
    let mut positions = Vec::with_capacity(events);
    let mut head = None;
    state
        .ledger
        .scan(first, first + events as u64, &mut |record| {
            if let Ok(view) = record.view() {
                positions.push((record.seq, view.stream.to_owned(), view.stream_version));
            }
            head = Some(ledger::Head {
                seq: record.seq,
                hash: record.hash,
            });
            true
        })?;
    state
        .metrics
        .idempotent_replays
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut response = (StatusCode::OK, Json(answer(&positions, head))).into_response();
    response.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    Ok(Some(response))
}

/// How far ahead of the server's clock a `recorded_at` may be: the clocks of two systems differ.
const CLOCK_SKEW: i64 = 60_000_000_000;

/// A live append's `recorded_at` is a claim about just now: not in the future (beyond the skew of
/// two clocks), not older than `Limits::max_recorded_lag`.
fn check_recorded_at(c: &Checked, limits: &Limits, appended_at: Timestamp) -> Result<(), String> {
    let Some(recorded) = c.event.recorded_at else {
        return Ok(());
    };
    let now = appended_at.unix_nanos;
    if recorded.unix_nanos > now.saturating_add(CLOCK_SKEW) {
        return Err(format!(
            "{} is ahead of the server's clock ({}); leave recorded_at out and the ledger records the time of the append",
            recorded.to_rfc3339(),
            appended_at.to_rfc3339()
        ));
    }
    match limits.max_recorded_lag {
        Some(lag) if now.saturating_sub(recorded.unix_nanos) > lag.as_nanos().min(i64::MAX as u128) as i64 => Err(format!(
            "{} is more than {} day(s) before the server's clock; history with the source system's own times goes in with `garanti import` (or start the server with a larger --max-recorded-lag)",
            recorded.to_rfc3339(),
            lag.as_secs() / 86_400
        )),
        _ => Ok(()),
    }
}

/// Bodies up to this size (some fifty events) are parsed on the async thread that read them: tens
/// of microseconds, less than handing them to another thread costs.
const INLINE_BODY_BYTES: usize = 16 << 10;

/// `POST /v1/events`
#[utoipa::path(
    post, path = "/v1/events", tag = "events",
    request_body(content = inline(Vec<Object>), description = "A JSON array of events (EVENTS.md), an object `{\"events\": [...], \"expected_versions\": {\"STREAM\": N}}`, or JSON Lines (`application/x-ndjson`).", content_type = "application/json"),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "A retried request with the same key appends nothing twice and gets the first answer."),
        ("Garanti-Expected-Versions" = Option<String>, Header, description = "`STREAM=N, ...`: each stream must be at version N before the batch (0: new)."),
    ),
    responses(
        (status = 201, description = "Appended and durable: each event's seq and stream version, and the new head", body = crate::schemas::AppendAnswer),
        (status = 200, description = "A retry: the first answer (header `Idempotent-Replayed: true`)", body = crate::schemas::AppendAnswer),
        (status = 409, description = "Version conflict or a key the ledger refuses", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body or batch too large", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Unsupported media type", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed event (pointer and line of the field)", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The writer is busy or the server is stopping (`Retry-After`)", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ledger's disk is full: nothing was written (`storage-full`, `Retry-After`)", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn append(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    principal.require(Access::Append)?;
    if state.is_closing() {
        return Err(ApiError::Unavailable(
            "the server is shutting down; retry against the restarted server".into(),
        ));
    }
    let form = body_form(&headers)?;
    let body = body?;
    let limits = &state.config.limits;
    let key = idempotency_key(&headers)?;
    // Never building more events than a batch may have; a large body is parsed on a query thread
    // (`crate::pool`), so that a tenant sending megabytes takes the CPU small appends leave.
    let max = limits.max_batch_events;
    let (events, mut expected) = if body.len() <= INLINE_BODY_BYTES {
        parse_body(form, &body, max)?
    } else {
        state
            .queries
            .run(move || parse_body(form, &body, max))
            .await?
    };
    expected.extend(parse_expected_header(&headers)?);
    if events.is_empty() {
        return Err(ApiError::validation("the batch has no events"));
    }
    if events.len() > limits.max_batch_events {
        return Err(ApiError::TooLarge(format!(
            "{} events in one batch; at most {} are taken",
            events.len(),
            limits.max_batch_events
        )));
    }
    let appended_at = Timestamp::now();
    let mut checked = Vec::with_capacity(events.len());
    for (index, e) in events.into_iter().enumerate() {
        let at = Location {
            pointer: e.pointer.clone(),
            line: e.line,
            index: Some(index),
        };
        if let Some((pointer, chars)) = long_string(&e.value, limits.max_string_chars, &e.pointer) {
            return Err(ApiError::Validation {
                detail: format!(
                    "event {index}: a string of {chars} characters; at most {} are taken",
                    limits.max_string_chars
                ),
                at: Some(Location {
                    pointer,
                    line: e.line,
                    index: Some(index),
                }),
            });
        }
        let c = check_event(e.value).map_err(|fe| ApiError::Validation {
            detail: format!("event {index}: field `{}`: {}", fe.field, fe.message),
            at: Some(below(&at, &fe.field)),
        })?;
        check_recorded_at(&c, limits, appended_at).map_err(|detail| ApiError::Validation {
            detail: format!("event {index}: field `recorded_at`: {detail}"),
            at: Some(below(&at, "recorded_at")),
        })?;
        if !principal.may_touch(&c.event.stream) {
            return Err(ApiError::Forbidden(format!(
                "event {index}: token {} may only append to streams starting with {:?}, not {}",
                principal.id,
                principal.prefix.as_deref().unwrap_or_default(),
                c.event.stream
            )));
        }
        checked.push((c, at));
    }
    for (stream, _) in &expected {
        principal.require_stream(stream)?;
        ledger::interchange::check_stream_id(stream)
            .map_err(|m| ApiError::validation(format!("expected version of stream: {m}")))?;
    }
    let (checked, locations): (Vec<Checked>, Vec<Location>) = checked.into_iter().unzip();
    let locate = |event: usize, field: &str| match locations.get(event) {
        Some(at) => below(at, field),
        None => Location {
            pointer: String::new(),
            line: None,
            index: None,
        },
    };
    let count = checked.len();
    let idem = match &key {
        Some(k) => {
            let keys = idempotency_keys(&principal, k, &fingerprint(&checked, &expected));
            if let Some(response) = replayed(&state, &keys, count)? {
                return Ok(response);
            }
            Some(keys)
        }
        None => None,
    };
    let pending: Vec<PendingFact> = checked
        .iter()
        .map(|c| PendingFact {
            stream: Arc::from(c.event.stream.as_str()),
            effective_at: c.event.effective_at.unix_nanos,
            recorded: c
                .event
                .recorded_at
                .map_or(appended_at.unix_nanos, |t| t.unix_nanos),
            data: c.data.clone(),
        })
        .collect();
    let streams: Vec<String> = checked.iter().map(|c| c.event.stream.clone()).collect();
    let mut append = append_of(checked, &principal.id, appended_at);
    append.expected_versions = expected;
    if let Some((k, r)) = &idem {
        for key in [k, r] {
            append.constraints.push(Constraint::Unique {
                key: key.clone(),
                event: 0,
                field: "Idempotency-Key".into(),
                message: "this Idempotency-Key was used before".into(),
            });
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let shared = state.0.clone();
    state
        .writer
        .try_submit(
            append,
            Box::new(move |result| {
                if let Ok(receipt) = &result {
                    shared.committed(pending, receipt);
                }
                let _ = tx.send(result);
            }),
        )
        .map_err(|e| match e {
            SubmitError::Busy => {
                ApiError::Unavailable("the writer is busy; retry in a moment".into())
            }
            SubmitError::Stopped => ApiError::Unavailable("the server is shutting down".into()),
        })?;
    let result = rx
        .await
        .map_err(|_| ApiError::internal("the writer dropped an append without an answer"))?;
    match result {
        Ok(receipt) => {
            state.count_append(count, true);
            let positions: Vec<(u64, String, u64)> = receipt
                .positions
                .iter()
                .zip(streams)
                .map(|((seq, version), stream)| (*seq, stream, *version))
                .collect();
            Ok((StatusCode::CREATED, Json(answer(&positions, receipt.head))).into_response())
        }
        Err(e) => {
            state.count_append(count, false);
            match e {
                AppendError::VersionConflict {
                    stream,
                    expected,
                    current,
                } => Err(ApiError::VersionConflict {
                    stream,
                    expected,
                    current,
                }),
                AppendError::Constraint { field, .. } if field == "Idempotency-Key" => {
                    // A concurrent retry won the race: answer as it was answered.
                    match idem.as_ref().map(|keys| replayed(&state, keys, count)) {
                        Some(Ok(Some(response))) => Ok(response),
                        Some(Err(e)) => Err(e),
                        _ => Err(ApiError::internal(
                            "an idempotency key was claimed but cannot be found",
                        )),
                    }
                }
                AppendError::Constraint {
                    event,
                    field,
                    message,
                    claimed_by,
                } => Err(ApiError::Refused {
                    detail: format!(
                        "event {event}: field `{field}`: {}",
                        ledger::with_claim(&message, claimed_by.filter(|seq| visible(&state, &principal, *seq)))
                    ),
                    at: locate(event, &field),
                }),
                AppendError::TooLarge { event, message } => Err(ApiError::TooLarge(format!(
                    "event {event}: {message}"
                ))),
                AppendError::StorageFull(_) => Err(ApiError::StorageFull(
                    "the ledger's disk is full: nothing of this batch was written; retry later (Retry-After)".into(),
                )),
                AppendError::Storage(m) => Err(ApiError::internal(format!("append failed: {m}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_string_is_found_with_its_json_pointer() {
        let v: Value = serde_json::json!({"short": "ok", "a/b": [1, {"c~d": "xxxxx"}]});
        assert_eq!(
            long_string(&v, 4, "/3/data"),
            Some(("/3/data/a~1b/1/c~0d".to_owned(), 5))
        );
        assert_eq!(long_string(&v, 5, "/3/data"), None);
        // Characters, not bytes.
        assert_eq!(long_string(&serde_json::json!("æøå"), 3, ""), None);
    }
}
