//! Turning interchange-format events into ledger appends: the envelope checked by the ledger, the
//! `data` by the domain, and the domain's key rules handed to the ledger as constraints.

use ledger::interchange::{parse_event, FieldError};
use ledger::{Append, Constraint, NewEvent, Timestamp};
use projections::{EventData, KeyRule};
use serde_json::Value;

/// An event that passed every check that does not depend on the ledger's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub event: NewEvent,
    pub keys: Vec<KeyRule>,
}

/// Checks one event object: envelope, type and data.
pub fn check_event(value: Value) -> Result<Checked, FieldError> {
    let (event, data) = parse_event(value)?;
    let typed = EventData::parse(&event.event_type, &data)
        .map_err(|e| FieldError::new(e.field, e.message))?;
    let keys = typed.key_rules(&event.stream);
    Ok(Checked { event, keys })
}

/// Checks one line of JSON Lines.
pub fn check_line(line: &str) -> Result<Checked, FieldError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| FieldError::new("", format!("not valid JSON: {e}")))?;
    check_event(value)
}

/// One atomic append of checked events.
pub fn append_of(events: Vec<Checked>, appended_by: &str, appended_at: Timestamp) -> Append {
    let mut constraints = Vec::new();
    let mut new_events = Vec::with_capacity(events.len());
    for (i, c) in events.into_iter().enumerate() {
        for k in c.keys {
            constraints.push(if k.must_exist {
                Constraint::Exists {
                    key: k.key,
                    event: i,
                    field: k.field.into(),
                    message: k.message,
                }
            } else {
                Constraint::Unique {
                    key: k.key,
                    event: i,
                    field: k.field.into(),
                    message: k.message,
                }
            });
        }
        new_events.push(c.event);
    }
    Append {
        events: new_events,
        constraints,
        expected_versions: Vec::new(),
        appended_by: appended_by.to_owned(),
        appended_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_carry_the_data_path() {
        let e = check_line(r#"{"stream":"s","type":"offer_started","effective_at":"2017-01-01T00:00:00Z","actor":"a","data":{}}"#).unwrap_err();
        assert_eq!(e.field, "data.offer_id");
        let e = check_line("{not json").unwrap_err();
        assert!(e.message.starts_with("not valid JSON"), "{e}");
        let e = check_line(r#"{"stream":"s","type":"teleported","effective_at":"2017-01-01T00:00:00Z","actor":"a","data":{}}"#).unwrap_err();
        assert_eq!(e.field, "type");
    }

    #[test]
    fn key_rules_become_constraints_on_their_event() {
        let a = check_line(r#"{"stream":"s","type":"plan_published","effective_at":"2017-01-01T00:00:00Z","actor":"a","data":{"plan_version":2,"channel":"jobnet"}}"#).unwrap();
        let b = check_line(r#"{"stream":"s","type":"sanction_guidance_given","effective_at":"2017-01-01T00:00:00Z","actor":"a","data":{}}"#).unwrap();
        let append = append_of(vec![b, a], "cli", Timestamp::utc(0));
        assert_eq!(append.constraints.len(), 1);
        assert!(
            matches!(&append.constraints[0], Constraint::Exists { event: 1, key, .. } if key == "plan|s|2")
        );
    }
}
