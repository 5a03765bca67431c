//! The JSON forms of verdicts, findings and explanations: one definition for the command line,
//! the reports and the API.

use projections::rules::Check;
use projections::time::Calendar;
use projections::{Finding, Projection, SanctionVerdict};
use serde_json::{json, Value};

pub fn verdict_word(s: &SanctionVerdict) -> &'static str {
    if s.lawful {
        "lawful"
    } else {
        "unlawful"
    }
}

/// The JSON object of one sanction verdict.
pub fn sanction_json(cal: &Calendar, s: &SanctionVerdict) -> Value {
    let basis: serde_json::Map<String, Value> = s
        .reasons
        .iter()
        .map(|r| (r.code().to_owned(), Value::from(r.legal_basis())))
        .collect();
    json!({
        "sanction_id": s.sanction_id,
        "stream": s.stream,
        "offer_id": s.offer_id,
        "kind": s.kind.as_str(),
        "seq": s.seq,
        "decided_at": cal.rfc3339(s.decided_at),
        "verdict": verdict_word(s),
        "reasons": s.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        "warnings": s.warnings,
        "revoked": s.revoked,
        "evidence": s.evidence,
        "legal_basis": basis,
    })
}

/// The JSON object of one finding.
pub fn finding_json(cal: &Calendar, f: &Finding) -> Value {
    json!({
        "rule": f.rule,
        "stream": &*f.stream,
        "at": cal.rfc3339(f.at),
        "date": f.date.to_string(),
        "evidence": f.evidence,
        "legal_basis": f.legal_basis,
        "message": f.message,
    })
}

pub fn describe_event(
    cal: &Calendar,
    projection: &Projection,
    stream: &str,
    seq: u64,
) -> Option<Value> {
    let f = projection
        .stream(stream)?
        .facts
        .iter()
        .find(|f| f.seq == seq)?;
    Some(json!({
        "seq": seq,
        "type": f.data.type_name(),
        "effective_at": cal.rfc3339(f.effective_at),
        "recorded_at": cal.rfc3339(f.recorded),
    }))
}

fn check_json(cal: &Calendar, projection: &Projection, stream: &str, c: &Check) -> Value {
    json!({
        "condition": c.reason.code(),
        "met": c.met,
        "detail": c.detail,
        "legal_basis": c.reason.legal_basis(),
        "events": c.evidence.iter().filter_map(|s| describe_event(cal, projection, stream, *s)).collect::<Vec<_>>(),
    })
}

/// The explanation of a verdict as JSON (also what the API returns).
pub fn explanation_json(cal: &Calendar, projection: &Projection, s: &SanctionVerdict) -> Value {
    let mut v = sanction_json(cal, s);
    v["checks"] = s
        .checks
        .iter()
        .map(|c| check_json(cal, projection, &s.stream, c))
        .collect();
    v["evidence_events"] = s
        .evidence
        .iter()
        .filter_map(|seq| describe_event(cal, projection, &s.stream, *seq))
        .collect();
    v
}
