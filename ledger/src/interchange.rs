//! The interchange format of EVENTS.md: parsing an event envelope from JSON, and the export line.
//! Only the envelope is checked here; what `type` and `data` mean is the domain's business.

use crate::record::{Hash, NewEvent, RecordView, StoredRecord, Timestamp};
use serde_json::{Map, Value};

/// What is wrong with one field of one event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct FieldError {
    /// JSON path of the field inside the event, e.g. `stream` or `data.plan_version`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

const ENVELOPE_FIELDS: [&str; 6] = [
    "stream",
    "type",
    "effective_at",
    "recorded_at",
    "actor",
    "data",
];

/// A stream id: `[A-Za-z0-9._:-]{1,128}`.
pub fn check_stream_id(stream: &str) -> Result<(), String> {
    if stream.is_empty() || stream.len() > 128 {
        return Err(format!(
            "must be 1 to 128 characters, is {}",
            stream.chars().count()
        ));
    }
    if let Some(c) = stream
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(format!(
            "{stream:?} has {c:?}; only A-Z a-z 0-9 . _ : - are allowed (a case id, never a CPR number)"
        ));
    }
    Ok(())
}

fn string_field<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, FieldError> {
    match obj.get(field) {
        None => Err(FieldError::new(field, "is missing")),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FieldError::new(
            field,
            format!("must be a string, is {}", json_kind(other)),
        )),
    }
}

/// The JSON type of a value, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses one event object of the interchange format and checks its envelope.
/// Returns the event and its `data` object (for the domain to check).
pub fn parse_event(value: Value) -> Result<(NewEvent, Map<String, Value>), FieldError> {
    let Value::Object(mut obj) = value else {
        return Err(FieldError::new(
            "",
            format!("an event must be a JSON object, is {}", json_kind(&value)),
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !ENVELOPE_FIELDS.contains(&k.as_str())) {
        return Err(FieldError::new(
            unknown.clone(),
            format!(
                "is not a field of an event (allowed: {}); `seq`, `hash` and the other ledger fields are set by the ledger",
                ENVELOPE_FIELDS.join(", ")
            ),
        ));
    }
    let data = match obj.remove("data") {
        None => return Err(FieldError::new("data", "is missing")),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(FieldError::new(
                "data",
                format!("must be an object, is {}", json_kind(&other)),
            ))
        }
    };
    let recorded_at = match obj.get("recorded_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(FieldError::new(
                "recorded_at",
                format!("must be a string, is {}", json_kind(other)),
            ))
        }
    };
    let fields = EnvelopeFields {
        stream: string_field(&obj, "stream")?,
        event_type: string_field(&obj, "type")?,
        effective_at: string_field(&obj, "effective_at")?,
        recorded_at,
        actor: string_field(&obj, "actor")?,
    };
    Ok((fields.check(&data)?, data))
}

/// The envelope's fields as text, before their checks.
struct EnvelopeFields<'a> {
    stream: &'a str,
    event_type: &'a str,
    effective_at: &'a str,
    recorded_at: Option<&'a str>,
    actor: &'a str,
}

impl EnvelopeFields<'_> {
    fn check(&self, data: &Map<String, Value>) -> Result<NewEvent, FieldError> {
        check_stream_id(self.stream).map_err(|m| FieldError::new("stream", m))?;
        if self.event_type.is_empty() {
            return Err(FieldError::new("type", "is empty"));
        }
        let effective_at = Timestamp::parse_rfc3339(self.effective_at)
            .map_err(|m| FieldError::new("effective_at", m))?;
        let recorded_at = match self.recorded_at {
            None => None,
            Some(s) => {
                Some(Timestamp::parse_rfc3339(s).map_err(|m| FieldError::new("recorded_at", m))?)
            }
        };
        let actor_len = self.actor.chars().count();
        if !(1..=128).contains(&actor_len) {
            return Err(FieldError::new(
                "actor",
                format!("must be 1 to 128 characters, is {actor_len}"),
            ));
        }
        Ok(NewEvent {
            stream: self.stream.to_owned(),
            event_type: self.event_type.to_owned(),
            effective_at,
            recorded_at,
            actor: self.actor.to_owned(),
            // serde_json's Map is sorted, so this text is canonical for equal objects.
            data: serde_json::to_string(data).unwrap_or_default(),
        })
    }
}

/// An event line as serde reads it on the fast path; strings borrowed where they have no escapes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    stream: std::borrow::Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    effective_at: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    recorded_at: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    #[serde(deserialize_with = "strict_object")]
    data: Map<String, Value>,
}

/// JSON read as a `Value`, except that an object with a key written twice is refused (serde_json
/// would keep the last silently: a repeated `expected_versions` would drop a guard, a repeated key
/// in `data` change what was meant). Use it wherever JSON comes in.
pub struct Strict;

impl<'de> serde::de::DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that JSON cannot hold"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(Strict, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` is written twice in one object"
                )));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses JSON text, refusing a key written twice in any object.
pub fn from_str_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::de::DeserializeSeed::deserialize(Strict, &mut de)?;
    de.end()?;
    Ok(value)
}

fn strict_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    match serde::de::DeserializeSeed::deserialize(Strict, d)? {
        Value::Object(map) => Ok(map),
        _ => Err(serde::de::Error::custom("`data` must be an object")),
    }
}

/// Parses one line of JSON Lines: a typed fast path for well-formed events, and for anything else
/// the general path, whose errors name the field.
pub fn parse_line(line: &str) -> Result<(NewEvent, Map<String, Value>), FieldError> {
    if line.starts_with('\u{feff}') {
        return Err(FieldError::new(
            "",
            "the line starts with a byte-order mark (U+FEFF, bytes EF BB BF): save the file as UTF-8 without a BOM",
        ));
    }
    if !line.trim_start().starts_with('{') {
        return Err(FieldError::new(
            "",
            "is not a JSON object: garanti imports JSON Lines, one event object per line (EVENTS.md), not CSV or a JSON array",
        ));
    }
    if let Ok(e) = serde_json::from_str::<Envelope<'_>>(line) {
        let fields = EnvelopeFields {
            stream: &e.stream,
            event_type: &e.event_type,
            effective_at: &e.effective_at,
            recorded_at: e.recorded_at.as_deref(),
            actor: &e.actor,
        };
        let event = fields.check(&e.data)?;
        return Ok((event, e.data));
    }
    let value: Value =
        from_str_strict(line).map_err(|e| FieldError::new("", format!("not valid JSON: {e}")))?;
    parse_event(value)
}

/// Lower-case hex, fast (exports write three hex fields per record).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn push_json_str(out: &mut String, text: &str) {
    // Serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// One line of `garanti export`: every field of the record, the chain fields and the stored bytes,
/// in a fixed order (docs/FORMAT.md). It is a function of the stored record alone.
pub fn export_line(record: &StoredRecord, view: &RecordView<'_>) -> String {
    let mut out = String::with_capacity(3 * record.bytes.len() + 400);
    out.push_str("{\"seq\":");
    out.push_str(&view.seq.to_string());
    out.push_str(",\"stream\":");
    push_json_str(&mut out, view.stream);
    out.push_str(",\"stream_version\":");
    out.push_str(&view.stream_version.to_string());
    out.push_str(",\"type\":");
    push_json_str(&mut out, view.event_type);
    out.push_str(",\"effective_at\":\"");
    out.push_str(&view.effective_at.to_rfc3339());
    out.push('"');
    if let Some(r) = view.recorded_at {
        out.push_str(",\"recorded_at\":\"");
        out.push_str(&r.to_rfc3339());
        out.push('"');
    }
    out.push_str(",\"actor\":");
    push_json_str(&mut out, view.actor);
    out.push_str(",\"data\":");
    // The stored data is compact JSON; anything else is exported as a string so the line stays JSON.
    if serde_json::from_str::<serde::de::IgnoredAny>(view.data).is_ok() {
        out.push_str(view.data);
    } else {
        push_json_str(&mut out, view.data);
    }
    out.push_str(",\"appended_at\":\"");
    out.push_str(&view.appended_at().to_rfc3339());
    out.push_str("\",\"appended_by\":");
    push_json_str(&mut out, view.appended_by);
    out.push_str(",\"prev_hash\":\"");
    out.push_str(&to_hex(&record.prev_hash));
    out.push_str("\",\"hash\":\"");
    out.push_str(&to_hex(&record.hash));
    out.push_str("\",\"record\":\"");
    out.push_str(&to_hex(&record.bytes));
    out.push_str("\"}");
    out
}

/// The closing line of an export, so that a cut-off file is told from a whole one.
/// `first`: the first record's seq and the prev_hash it starts from (so a cut at the front is
/// visible); `last`: the last record's seq and hash.
pub fn export_trailer(
    count: u64,
    first: Option<(u64, &Hash)>,
    last: Option<(u64, &Hash)>,
) -> String {
    match (first, last) {
        (Some((first_seq, first_prev)), Some((seq, hash))) => format!(
            "{{\"export_end\":{{\"records\":{count},\"first_seq\":{first_seq},\"first_prev_hash\":\"{}\",\"last_seq\":{seq},\"last_hash\":\"{}\"}}}}",
            to_hex(first_prev),
            to_hex(hash)
        ),
        _ => format!("{{\"export_end\":{{\"records\":{count}}}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"stream": "dk-101:c-1", "type": "offer_started", "effective_at": "2017-03-10T08:00:00+01:00",
               "actor": "cw-17", "data": {"offer_id": "o-1"}})
    }

    #[test]
    fn parses_a_valid_envelope() {
        let (e, data) = parse_event(event()).unwrap();
        assert_eq!(e.stream, "dk-101:c-1");
        assert_eq!(e.recorded_at, None);
        assert_eq!(e.data, r#"{"offer_id":"o-1"}"#);
        assert_eq!(data.get("offer_id"), Some(&json!("o-1")));
    }

    fn refused(change: impl FnOnce(&mut Map<String, Value>)) -> FieldError {
        let mut v = event();
        change(v.as_object_mut().unwrap());
        parse_event(v).unwrap_err()
    }

    #[test]
    fn each_envelope_fault_names_its_field() {
        assert_eq!(
            refused(|o| {
                o.remove("stream");
            })
            .field,
            "stream"
        );
        assert_eq!(
            refused(|o| {
                o.insert("stream".into(), json!("dk 1"));
            })
            .field,
            "stream"
        );
        assert_eq!(
            refused(|o| {
                o.insert("stream".into(), json!("x".repeat(129)));
            })
            .field,
            "stream"
        );
        assert_eq!(
            refused(|o| {
                o.insert("type".into(), json!(3));
            })
            .field,
            "type"
        );
        assert_eq!(
            refused(|o| {
                o.insert("effective_at".into(), json!("2017-03-10"));
            })
            .field,
            "effective_at"
        );
        assert_eq!(
            refused(|o| {
                o.insert("recorded_at".into(), json!("yesterday"));
            })
            .field,
            "recorded_at"
        );
        assert_eq!(
            refused(|o| {
                o.insert("actor".into(), json!(""));
            })
            .field,
            "actor"
        );
        assert_eq!(
            refused(|o| {
                o.insert("data".into(), json!([]));
            })
            .field,
            "data"
        );
        assert_eq!(
            refused(|o| {
                o.insert("seq".into(), json!(1));
            })
            .field,
            "seq"
        );
        assert_eq!(parse_event(json!([1])).unwrap_err().field, "");
    }

    #[test]
    fn stream_ids_follow_the_pattern() {
        assert!(check_stream_id("dk-101:c-000123").is_ok());
        assert!(check_stream_id("A.b_c:d-9").is_ok());
        assert!(check_stream_id(&"a".repeat(128)).is_ok());
        assert!(check_stream_id("").is_err());
        assert!(check_stream_id("dk/101").is_err());
        assert!(check_stream_id("dk-101:æ").is_err());
    }
}
