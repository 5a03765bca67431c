//! Records out of the ledger, as facts for the rules.

use ledger::{Ledger, LedgerError, RecordView, StoredRecord};
use projections::{EventData, Fact, Projection};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("record seq {seq} cannot be read as an event: {message}; run `garanti verify`")]
    Record { seq: u64, message: String },
}

/// The fact a stored record holds.
pub fn fact_of(record: &StoredRecord) -> Result<Fact, LoadError> {
    let bad = |message: String| LoadError::Record {
        seq: record.seq,
        message,
    };
    let view: RecordView<'_> = record.view().map_err(|e| bad(e.to_string()))?;
    let data: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(view.data).map_err(|e| bad(e.to_string()))?;
    let typed = EventData::parse(view.event_type, &data).map_err(|e| bad(e.to_string()))?;
    Ok(Fact {
        seq: view.seq,
        stream: Arc::from(view.stream),
        effective_at: view.effective_at.unix_nanos,
        recorded: view.recorded_or_appended().unix_nanos,
        data: typed,
    })
}

/// Folds every record of the ledger into a projection. `progress` gets the count every 65,536.
pub fn project(ledger: &Ledger, progress: &mut dyn FnMut(u64)) -> Result<Projection, LoadError> {
    let mut projection = Projection::new();
    let mut failure = None;
    let mut streams: std::collections::HashMap<String, Arc<str>> = std::collections::HashMap::new();
    ledger.scan(0, u64::MAX, &mut |record| match fact_of(record) {
        Ok(mut fact) => {
            // One shared id per stream keeps memory flat on large logs.
            let id = streams
                .entry(fact.stream.to_string())
                .or_insert_with(|| fact.stream.clone());
            fact.stream = id.clone();
            projection.apply(fact);
            if projection.len() % 65_536 == 0 {
                progress(projection.len());
            }
            true
        }
        Err(e) => {
            failure = Some(e);
            false
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(projection),
    }
}
