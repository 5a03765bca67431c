//! Helpers shared by the ledger's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use ledger::{Append, Backend, Constraint, Ledger, NewEvent, Timestamp};

pub const BACKENDS: [Backend; 2] = [Backend::Redb, Backend::Sled];

pub fn event(stream: &str, i: u64) -> NewEvent {
    NewEvent {
        stream: stream.to_owned(),
        event_type: "offer_started".into(),
        effective_at: Timestamp {
            unix_nanos: 1_489_129_200_000_000_000 + i as i64 * 1_000_000_000,
            offset_seconds: 3600,
        },
        recorded_at: if i.is_multiple_of(3) {
            Some(Timestamp::utc(1_489_129_200_000_000_000))
        } else {
            None
        },
        actor: format!("cw-{}", i % 7),
        data: format!(r#"{{"offer_id":"o-{i}"}}"#),
    }
}

pub fn append(events: Vec<NewEvent>) -> Append {
    Append {
        events,
        constraints: Vec::new(),
        expected_versions: Vec::new(),
        appended_by: "test".into(),
        appended_at: Timestamp::utc(1_700_000_000_000_000_000),
    }
}

pub fn unique(key: &str, event: usize) -> Constraint {
    Constraint::Unique {
        key: key.into(),
        event,
        field: "data.x".into(),
        message: format!("{key} is taken"),
    }
}

pub fn exists(key: &str, event: usize) -> Constraint {
    Constraint::Exists {
        key: key.into(),
        event,
        field: "data.x".into(),
        message: format!("{key} is missing"),
    }
}

/// A ledger with `n` records over three streams, in batches of 4.
pub fn filled(dir: &std::path::Path, backend: Backend, n: u64) -> Ledger {
    let ledger = Ledger::open(dir, Some(backend)).unwrap();
    let events: Vec<NewEvent> = (0..n)
        .map(|i| event(["dk-1:a", "dk-1:b", "se-9:c"][i as usize % 3], i))
        .collect();
    for chunk in events.chunks(4) {
        ledger.append(append(chunk.to_vec())).unwrap();
    }
    ledger
}

mod fs;
#[allow(unused_imports)]
pub use fs::*;
