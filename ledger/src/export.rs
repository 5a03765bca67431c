//! Verifying an export file without a store: the chain rule, and that every JSON field of a line
//! says what the record's stored bytes say.

use crate::record::{decode, Hash, Timestamp, GENESIS_PREV_HASH};
use crate::verify::{ChainChecker, ChainFault, FaultKind};
use serde_json::Value;
use std::io::BufRead;

/// The outcome of checking an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCheck {
    /// Seq of the first record, and the prev_hash it was anchored to.
    pub first: Option<(u64, Hash)>,
    pub checker_head: Option<crate::record::Head>,
    pub records: u64,
}

fn hash_field(obj: &serde_json::Map<String, Value>, name: &str) -> Result<Hash, String> {
    let text = obj
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` is missing or not a string"))?;
    let bytes = hex::decode(text).map_err(|e| format!("`{name}` is not hex: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| format!("`{name}` is not 32 bytes"))
}

/// Compares the JSON fields of an export line with the decoded record.
fn fields_match(obj: &serde_json::Map<String, Value>, bytes: &[u8]) -> Result<(), String> {
    let view = decode(bytes).map_err(|e| e.to_string())?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str);
    let instant = |name: &str| text(name).and_then(|t| Timestamp::parse_rfc3339(t).ok());
    let mismatch = |name: &str| Err(format!("field `{name}` does not match the record bytes"));
    if text("stream") != Some(view.stream) {
        return mismatch("stream");
    }
    if obj.get("stream_version").and_then(Value::as_u64) != Some(view.stream_version) {
        return mismatch("stream_version");
    }
    if text("type") != Some(view.event_type) {
        return mismatch("type");
    }
    if instant("effective_at") != Some(view.effective_at) {
        return mismatch("effective_at");
    }
    if instant("recorded_at") != view.recorded_at
        || (obj.contains_key("recorded_at") && view.recorded_at.is_none())
    {
        return mismatch("recorded_at");
    }
    if text("actor") != Some(view.actor) {
        return mismatch("actor");
    }
    let data: Option<Value> = serde_json::from_str(view.data).ok();
    if obj.get("data") != data.as_ref() {
        return mismatch("data");
    }
    if instant("appended_at").map(|t| t.unix_nanos) != Some(view.appended_at) {
        return mismatch("appended_at");
    }
    if text("appended_by") != Some(view.appended_by) {
        return mismatch("appended_by");
    }
    Ok(())
}

/// Checks an export: JSON Lines of `garanti export`, ending with its `export_end` line.
/// The first record's prev_hash is the anchor: genesis for an export from seq 0, else trusted as
/// given (tie it to the head of an earlier export).
pub fn verify_export(reader: impl BufRead) -> Result<ExportCheck, ChainFault> {
    let mut checker: Option<ChainChecker> = None;
    let mut first = None;
    let mut ended = false;
    for (index, line) in reader.lines().enumerate() {
        let line_no = index + 1;
        let expected_seq = checker.as_ref().map_or(0, |c| c.next_seq());
        let fault = |message: String| ChainFault {
            seq: expected_seq,
            kind: FaultKind::Export(format!("line {line_no}: {message}")),
        };
        let line = line.map_err(|e| fault(format!("cannot be read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        if ended {
            return Err(fault("a record follows the export_end line".into()));
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| fault(format!("not JSON ({e}); the file may be cut off")))?;
        let Value::Object(obj) = value else {
            return Err(fault("not a JSON object".into()));
        };
        if let Some(end) = obj.get("export_end") {
            let count = end.get("records").and_then(Value::as_u64);
            let seen = checker.as_ref().map_or(0, ChainChecker::count);
            if count != Some(seen) {
                return Err(fault(format!(
                    "export_end says {count:?} records, the file holds {seen}"
                )));
            }
            let last_hash = end.get("last_hash").and_then(Value::as_str);
            let head = checker.as_ref().and_then(ChainChecker::head);
            if last_hash != head.map(|h| h.hash_hex()).as_deref() {
                return Err(fault(
                    "export_end's last_hash is not the last record's hash".into(),
                ));
            }
            ended = true;
            continue;
        }
        let seq = obj
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| fault("`seq` is missing or not a whole number".into()))?;
        let prev = hash_field(&obj, "prev_hash").map_err(&fault)?;
        let hash = hash_field(&obj, "hash").map_err(&fault)?;
        let bytes = obj
            .get("record")
            .and_then(Value::as_str)
            .ok_or_else(|| fault("`record` is missing".into()))
            .and_then(|t| hex::decode(t).map_err(|e| fault(format!("`record` is not hex: {e}"))))?;
        let c = checker.get_or_insert_with(|| {
            first = Some((seq, prev));
            if seq == 0 {
                ChainChecker::from_genesis()
            } else {
                ChainChecker::starting_at(seq, prev)
            }
        });
        if c.count() == 0 && seq == 0 && prev != GENESIS_PREV_HASH {
            return Err(ChainFault {
                seq: 0,
                kind: FaultKind::BrokenLink {
                    stored: hex::encode(prev),
                    expected: hex::encode(GENESIS_PREV_HASH),
                },
            });
        }
        c.check(seq, &prev, &hash, &bytes)?;
        fields_match(&obj, &bytes).map_err(|m| ChainFault {
            seq,
            kind: FaultKind::Export(format!("line {line_no}: {m}")),
        })?;
    }
    let records = checker.as_ref().map_or(0, ChainChecker::count);
    if !ended {
        return Err(ChainFault {
            seq: checker.as_ref().map_or(0, |c| c.next_seq()),
            kind: FaultKind::Export(format!(
                "the file ends after {records} records without its export_end line: it was cut off"
            )),
        });
    }
    Ok(ExportCheck {
        first,
        checker_head: checker.as_ref().and_then(ChainChecker::head),
        records,
    })
}
