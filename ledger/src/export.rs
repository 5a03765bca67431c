//! Verifying an export file without a store: the chain rule, and that every JSON field of a line
//! says what the record's stored bytes say.

use crate::interchange::{export_line, export_trailer};
use crate::merkle::{self, Frontier, TreeHash};
use crate::record::{decode, Hash, Timestamp};
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
    /// The Merkle tree of the export's records (the ledger's tree when it starts at seq 0).
    pub tree: Frontier,
    /// The root of the tree of its first `mark` records, if asked and it has them.
    pub marked: Option<TreeHash>,
}

/// The fields of an export line that the chain check needs; strings borrowed from the line.
#[derive(serde::Deserialize)]
struct LineFields<'a> {
    seq: Option<u64>,
    #[serde(borrow)]
    prev_hash: Option<&'a str>,
    #[serde(borrow)]
    hash: Option<&'a str>,
    #[serde(borrow)]
    record: Option<&'a str>,
    export_end: Option<ExportEnd>,
}

#[derive(serde::Deserialize)]
struct ExportEnd {
    records: Option<u64>,
}

fn hash_field(text: Option<&str>, name: &str) -> Result<Hash, String> {
    let text = text.ok_or_else(|| format!("`{name}` is missing or not a string"))?;
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

/// What a record's bytes may hold beyond what decodes (docs/FORMAT.md §2): offsets that RFC 3339
/// writes exactly (whole minutes, less than a day), and `data` as an object written compactly,
/// keys sorted, none repeated. `garanti` writes nothing else; anything else was made elsewhere.
fn canonical_record(view: &crate::record::RecordView<'_>) -> Result<(), String> {
    for (field, t) in [
        ("effective_at", Some(view.effective_at)),
        ("recorded_at", view.recorded_at),
    ] {
        if let Some(t) =
            t.filter(|t| t.offset_seconds % 60 != 0 || t.offset_seconds.abs() >= 86_400)
        {
            return Err(format!(
                "the record's {field} has an offset of {} seconds, which RFC 3339 cannot write (whole minutes under a day)",
                t.offset_seconds
            ));
        }
    }
    let data = crate::interchange::from_str_strict(view.data)
        .map_err(|e| format!("the record's data is not JSON without repeated keys: {e}"))?;
    if !data.is_object() {
        return Err("the record's data is not a JSON object".into());
    }
    if !keys_sorted(&data) || serde_json::to_string(&data).ok().as_deref() != Some(view.data) {
        return Err("the record's data is not written compactly with its keys sorted".into());
    }
    Ok(())
}

/// Every object's keys in ascending order, at any depth.
fn keys_sorted(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b) && map.values().all(keys_sorted)
        }
        Value::Array(items) => items.iter().all(keys_sorted),
        _ => true,
    }
}

/// Each stream's last version seen in an export: versions go 1, 2, 3, ... in log order.
#[derive(Default)]
struct StreamVersions(std::collections::HashMap<String, u64>);

impl StreamVersions {
    /// Takes the record's stream version; `from_genesis`: the export holds every record before it.
    fn next(
        &mut self,
        view: &crate::record::RecordView<'_>,
        from_genesis: bool,
    ) -> Result<(), String> {
        let version = view.stream_version;
        let expected = match self.0.get(view.stream) {
            Some(last) => Some(last + 1),
            // A stream first seen in an export from seq 0 starts here; in a later one, it may have
            // begun before the export.
            None if from_genesis => Some(1),
            None => None,
        };
        if version == 0 || expected.is_some_and(|e| e != version) {
            return Err(format!(
                "stream {} is at version {version} here; the version before it in this export makes it {}",
                view.stream,
                expected.map_or("at least 1".into(), |e| e.to_string())
            ));
        }
        match self.0.get_mut(view.stream) {
            Some(last) => *last = version,
            None => {
                self.0.insert(view.stream.to_owned(), version);
            }
        }
        Ok(())
    }
}

/// Checks an export: JSON Lines of `garanti export`, ending with its `export_end` line.
/// The first record's prev_hash is the anchor: genesis for an export from seq 0, else trusted as
/// given (tie it to the head of an earlier export).
pub fn verify_export(reader: impl BufRead) -> Result<ExportCheck, ChainFault> {
    read_export(reader, &mut |_| {})
}

/// [`verify_export`], also giving the root of the tree of the first `mark` records (the export
/// must start at seq 0 for it).
pub fn verify_export_marked(reader: impl BufRead, mark: u64) -> Result<ExportCheck, ChainFault> {
    read_export_marked(reader, Some(mark), &mut |_| {})
}

/// Reads an export, checking it as [`verify_export`] does, and hands each checked record to `visit`
/// in order. A fault stops the reading: the records visited before it are the intact prefix.
pub fn read_export(
    reader: impl BufRead,
    visit: &mut dyn FnMut(&crate::record::StoredRecord),
) -> Result<ExportCheck, ChainFault> {
    read_export_marked(reader, None, visit)
}

/// [`read_export`], also giving the root of the tree of the first `mark` records.
pub fn read_export_marked(
    reader: impl BufRead,
    mark: Option<u64>,
    visit: &mut dyn FnMut(&crate::record::StoredRecord),
) -> Result<ExportCheck, ChainFault> {
    let mut tree = Frontier::new();
    let mut marked = (mark == Some(0)).then(merkle::empty_root);
    let mut checker: Option<ChainChecker> = None;
    let mut first = None;
    let mut ended = false;
    let mut versions = StreamVersions::default();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line_no = index + 1;
        let expected_seq = checker.as_ref().map_or(0, |c| c.next_seq());
        let fault = |message: String| ChainFault {
            seq: expected_seq,
            kind: FaultKind::Export(format!("line {line_no}: {message}")),
        };
        let line = line.map_err(|e| fault(format!("cannot be read: {e}")))?;
        if ended {
            return Err(fault(
                "something follows the export_end line, which ends an export".into(),
            ));
        }
        let line = String::from_utf8(line).map_err(|_| fault("is not UTF-8".into()))?;
        if line.ends_with('\r') {
            return Err(fault(
                "ends with CR LF; the lines of an export end with LF alone (docs/FORMAT.md)".into(),
            ));
        }
        if line.trim().is_empty() {
            return Err(fault("is blank; an export has no blank lines".into()));
        }
        // Only the chain fields are read here; the rest of the line is checked by comparing the
        // whole line with what `garanti export` writes for the record.
        let fields: LineFields<'_> = serde_json::from_str(&line).map_err(|e| {
            fault(format!(
                "not a JSON object of an export ({e}); the file may be cut off"
            ))
        })?;
        if let Some(end) = fields.export_end {
            let seen = checker.as_ref().map_or(0, ChainChecker::count);
            if end.records != Some(seen) {
                return Err(fault(match end.records {
                    Some(n) => format!("export_end says {n} records, the file holds {seen}"),
                    None => "export_end does not say how many records it ends".into(),
                }));
            }
            let head = checker.as_ref().and_then(ChainChecker::head);
            let start = first.as_ref().map(|(seq, prev)| (*seq, prev));
            if line != export_trailer(seen, start, head.as_ref().map(|h| (h.seq, &h.hash))) {
                return Err(fault(
                    "export_end does not name the first record's seq and prev_hash and the last record's seq and hash".into(),
                ));
            }
            ended = true;
            continue;
        }
        let seq = fields
            .seq
            .ok_or_else(|| fault("`seq` is missing or not a whole number".into()))?;
        let prev = hash_field(fields.prev_hash, "prev_hash").map_err(&fault)?;
        let hash = hash_field(fields.hash, "hash").map_err(&fault)?;
        let bytes = fields
            .record
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
        c.check(seq, &prev, &hash, &bytes)?;
        let record = crate::record::StoredRecord {
            seq,
            prev_hash: prev,
            hash,
            bytes,
        };
        // The line is a function of the record: any other spelling of the same values (upper-case
        // hex, another offset notation, reordered keys) is a changed export too.
        let view = record.view().map_err(|e| ChainFault {
            seq,
            kind: FaultKind::Export(format!("line {line_no}: {e}")),
        })?;
        if export_line(&record, &view) != line {
            let obj = match serde_json::from_str::<Value>(&line) {
                Ok(Value::Object(obj)) => obj,
                _ => serde_json::Map::new(),
            };
            let why = fields_match(&obj, &record.bytes).err().unwrap_or_else(|| {
                "the line is not as `garanti export` writes this record (it was edited)".into()
            });
            return Err(ChainFault {
                seq,
                kind: FaultKind::Export(format!("line {line_no}: {why}")),
            });
        }
        canonical_record(&view)
            .and_then(|()| versions.next(&view, first.as_ref().is_some_and(|(s, _)| *s == 0)))
            .map_err(|why| ChainFault {
                seq,
                kind: FaultKind::Export(format!("line {line_no}: {why}")),
            })?;
        tree.push(merkle::leaf_hash(&record.bytes), &mut |_, _| {});
        if mark == Some(tree.size()) && record.seq + 1 == tree.size() {
            marked = Some(tree.root());
        }
        visit(&record);
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
        tree,
        marked,
    })
}
