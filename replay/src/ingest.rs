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
    /// The typed `data`, as the rules will see it.
    pub data: EventData,
    pub keys: Vec<KeyRule>,
}

/// Checks one event object: envelope, type and data.
pub fn check_event(value: Value) -> Result<Checked, FieldError> {
    let (event, data) = parse_event(value)?;
    check_data(event, &data)
}

/// Checks the `data` of an event whose envelope passed, and finds the keys it claims or needs.
fn check_data(
    event: NewEvent,
    data: &serde_json::Map<String, Value>,
) -> Result<Checked, FieldError> {
    let typed = EventData::parse(&event.event_type, data)
        .map_err(|e| FieldError::new(e.field, e.message))?;
    let keys = typed.key_rules(&event.stream);
    Ok(Checked {
        event,
        data: typed,
        keys,
    })
}

/// Checks one line of JSON Lines.
pub fn check_line(line: &str) -> Result<Checked, FieldError> {
    let (event, data) = ledger::interchange::parse_line(line)?;
    check_data(event, &data)
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

/// Errors shown for a batch before giving up; the rest are counted.
pub const MAX_ERRORS_SHOWN: usize = 20;

/// Why an import stopped. Every batch before the failing one is durable; nothing of it is.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{count} malformed event(s); nothing of this batch was written:\n  {}{}", shown.join("\n  "), if *count > shown.len() { format!("\n  ... and {} more", count - shown.len()) } else { String::new() })]
    Malformed { count: usize, shown: Vec<String> },
    #[error("line {line}: {}{message}; nothing of this batch was written", if field.is_empty() { String::new() } else { format!("field `{field}`: ") })]
    Refused {
        line: usize,
        field: String,
        message: String,
    },
    #[error("cannot read line {line} of the input: {source}; the input must be UTF-8 JSON Lines")]
    Read { line: usize, source: std::io::Error },
    #[error(transparent)]
    Append(#[from] ledger::AppendError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub imported: u64,
    /// Events of batches that an earlier run had imported already.
    pub skipped: u64,
    pub first_seq: Option<u64>,
    pub batches: u64,
    pub lines: usize,
}

/// One committed batch, as reported while importing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchDone {
    pub batch: u64,
    pub events: u64,
    pub last_line: usize,
    pub head: ledger::Head,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Events per atomic batch (usize::MAX: the whole input is one batch).
    pub batch: usize,
    /// Skip batches that an earlier run imported (named by the BLAKE3 of the input up to their end).
    pub resume: bool,
    pub appended_by: String,
}

/// One batch read and checked, on its way to the ledger.
struct ReadBatch {
    lines: Vec<usize>,
    events: Vec<Checked>,
    /// BLAKE3 of the input up to the end of this batch: names the batch for resuming.
    marker: String,
    /// Lines read so far.
    last_line: usize,
    eof: bool,
}

/// Reads and checks the next batch.
fn read_batch(
    reader: &mut impl std::io::BufRead,
    batch_size: usize,
    prefix: &mut blake3::Hasher,
    line_no: &mut usize,
) -> Result<ReadBatch, ImportError> {
    let mut line = String::new();
    let mut lines: Vec<usize> = Vec::new();
    let mut events: Vec<Checked> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let mut errors = 0usize;
    let mut eof = false;
    while lines.len() + errors < batch_size {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| ImportError::Read {
                line: *line_no + 1,
                source,
            })?;
        if n == 0 {
            eof = true;
            break;
        }
        *line_no += 1;
        prefix.update(line.as_bytes());
        if line.trim().is_empty() {
            continue;
        }
        match check_line(line.trim_end_matches(['\n', '\r'])) {
            Ok(c) => {
                lines.push(*line_no);
                events.push(c);
            }
            Err(e) => {
                errors += 1;
                if shown.len() < MAX_ERRORS_SHOWN {
                    shown.push(format!("line {line_no}: {e}"));
                }
            }
        }
    }
    if errors > 0 {
        return Err(ImportError::Malformed {
            count: errors,
            shown,
        });
    }
    Ok(ReadBatch {
        lines,
        events,
        marker: format!("import|{}", prefix.clone().finalize().to_hex()),
        last_line: *line_no,
        eof,
    })
}

/// Imports JSON Lines: checks each batch whole, then appends it atomically and durably. Reading and
/// checking the next batch overlaps with appending the current one (two threads).
pub fn import(
    ledger: &ledger::Ledger,
    mut reader: impl std::io::BufRead + Send,
    options: &ImportOptions,
    on_batch: &mut dyn FnMut(&BatchDone),
) -> Result<ImportStats, ImportError> {
    let batch_size = options.batch.max(1);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<ReadBatch, ImportError>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut prefix = blake3::Hasher::new();
            let mut line_no = 0usize;
            loop {
                let batch = read_batch(&mut reader, batch_size, &mut prefix, &mut line_no);
                let stop = !matches!(&batch, Ok(b) if !b.eof);
                // The appender stops receiving after a failure; then there is nothing left to do.
                if tx.send(batch).is_err() || stop {
                    return;
                }
            }
        });
        // Batches handed to the ledger and not yet reported back: (number, lines, last line).
        let stats = std::cell::RefCell::new(ImportStats::default());
        let pending =
            std::cell::RefCell::new(std::collections::VecDeque::<(u64, Vec<usize>, usize)>::new());
        let failure = std::cell::RefCell::new(None::<ImportError>);
        ledger.append_each(
            &mut || loop {
                let batch = match rx.recv() {
                    Ok(Ok(batch)) => batch,
                    Ok(Err(e)) => {
                        *failure.borrow_mut() = Some(e);
                        return None;
                    }
                    Err(_) => return None,
                };
                let mut st = stats.borrow_mut();
                st.lines = batch.last_line;
                if batch.events.is_empty() {
                    return None;
                }
                st.batches += 1;
                if options.resume {
                    match ledger.key(&batch.marker) {
                        Ok(Some(_)) => {
                            st.skipped += batch.events.len() as u64;
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            *failure.borrow_mut() = Some(e.into());
                            return None;
                        }
                    }
                }
                let mut append = append_of(batch.events, &options.appended_by, Timestamp::now());
                if options.resume {
                    append.constraints.push(Constraint::Unique {
                        key: batch.marker,
                        event: 0,
                        field: String::new(),
                        message: "this batch was imported concurrently by another run".into(),
                    });
                }
                pending
                    .borrow_mut()
                    .push_back((st.batches, batch.lines, batch.last_line));
                return Some(append);
            },
            &mut |result| {
                let Some((number, lines, last_line)) = pending.borrow_mut().pop_front() else {
                    return false;
                };
                match result {
                    Ok(receipt) => {
                        let mut st = stats.borrow_mut();
                        let count = receipt.positions.len() as u64;
                        st.imported += count;
                        if st.first_seq.is_none() {
                            st.first_seq = receipt.positions.first().map(|p| p.0);
                        }
                        if let Some(head) = receipt.head {
                            on_batch(&BatchDone {
                                batch: number,
                                events: count,
                                last_line,
                                head,
                            });
                        }
                        true
                    }
                    Err(e) => {
                        *failure.borrow_mut() = Some(match e {
                            ledger::AppendError::Constraint {
                                event,
                                field,
                                message,
                                claimed_by,
                            } => ImportError::Refused {
                                line: lines.get(event).copied().unwrap_or(0),
                                field,
                                message: ledger::with_claim(&message, claimed_by),
                            },
                            ledger::AppendError::TooLarge { event, message } => {
                                ImportError::Refused {
                                    line: lines.get(event).copied().unwrap_or(0),
                                    field: "data".into(),
                                    message,
                                }
                            }
                            other => ImportError::Append(other),
                        });
                        false
                    }
                }
            },
        );
        // Stop the reader if it is still going, then report.
        drop(rx);
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let stats = stats.into_inner();
        Ok(stats)
    })
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
