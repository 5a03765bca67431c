//! Records out of the ledger, as facts for the rules.

use ledger::{Ledger, LedgerError, RecordView, StoredRecord};
use projections::{EventData, Fact, Projection};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the chain is broken at seq {}: {}; nothing was reported (run `garanti verify`)", .0.seq, .0.kind)]
    Chain(ledger::ChainFault),
    #[error("record seq {seq} cannot be read as an event: {message}; run `garanti verify`")]
    Record { seq: u64, message: String },
}

/// The stream and the fact a stored record holds.
pub fn fact_of(record: &StoredRecord) -> Result<(Arc<str>, Fact), LoadError> {
    let bad = |message: String| LoadError::Record {
        seq: record.seq,
        message,
    };
    let view: RecordView<'_> = record.view().map_err(|e| bad(e.to_string()))?;
    let data: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(view.data).map_err(|e| bad(e.to_string()))?;
    let typed = EventData::parse(view.event_type, &data).map_err(|e| bad(e.to_string()))?;
    Ok((
        Arc::from(view.stream),
        Fact {
            seq: view.seq,
            effective_at: view.effective_at.unix_nanos,
            recorded: view.recorded_or_appended().unix_nanos,
            data: typed,
        },
    ))
}

/// One shared copy of each distinct stream id and repeated text while folding a log (and, in a
/// server, while folding every append after it).
#[derive(Default)]
pub struct Interner {
    texts: std::collections::HashSet<Arc<str>>,
}

impl Interner {
    pub fn share(&mut self, text: &Arc<str>) -> Arc<str> {
        if let Some(existing) = self.texts.get(&**text) {
            return existing.clone();
        }
        self.texts.insert(text.clone());
        text.clone()
    }

    /// Folds a fact into a projection with its stream id and texts shared; gives back the shared
    /// stream id.
    pub fn apply(
        &mut self,
        projection: &mut Projection,
        stream: &Arc<str>,
        mut fact: Fact,
    ) -> Arc<str> {
        let stream = self.share(stream);
        fact.data.share_texts(&mut |t| self.share(t));
        projection.apply(&stream, fact);
        stream
    }
}

/// Folds every record of the ledger into a projection. `progress` gets the count every 65,536.
pub fn project(ledger: &Ledger, progress: &mut dyn FnMut(u64)) -> Result<Projection, LoadError> {
    let mut projection = Projection::new();
    let mut failure = None;
    let mut interner = Interner::default();
    ledger.scan(0, u64::MAX, &mut |record| match fact_of(record) {
        Ok(fact) => {
            interner.apply(&mut projection, &fact.0, fact.1);
            if projection.len().is_multiple_of(65_536) {
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
        None => {
            projection.shrink_to_fit();
            Ok(projection)
        }
    }
}

/// A projection together with the chain state it was built from.
pub struct Loaded {
    pub projection: Projection,
    /// The texts the projection shares, for folding more facts into it.
    pub interner: Interner,
    /// The head of the chain the projection was built from (None for an empty ledger).
    pub head: Option<ledger::Head>,
    pub records: u64,
}

/// Folds the ledger into a projection while walking its chain: a broken chain stops the replay and
/// names the seq, so no result is ever made from a damaged ledger.
pub fn project_verified(
    ledger: &Ledger,
    progress: &mut dyn FnMut(u64),
) -> Result<Loaded, LoadError> {
    fold_verified(ledger, u64::MAX, None, progress)
}

/// [`project_verified`] of the first `size` records only (what a checkpoint of that size
/// signs), with the root of their Merkle tree recomputed from them as they are folded.
pub fn project_verified_upto(
    ledger: &Ledger,
    size: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(Loaded, ledger::merkle::TreeHash), LoadError> {
    let mut tree = ledger::merkle::Frontier::new();
    let loaded = fold_verified(ledger, size, Some(&mut tree), progress)?;
    if loaded.records < size {
        return Err(LoadError::Chain(ledger::ChainFault {
            seq: loaded.records,
            kind: ledger::FaultKind::Truncated {
                last: loaded.head.map(|h| h.seq),
                head_seq: size - 1,
            },
        }));
    }
    Ok((loaded, tree.root()))
}

/// [`project_verified_upto`] of a checkpoint's size, refused (as a broken chain) unless the
/// records hold exactly the tree the checkpoint signs. The caller checked its signature.
pub fn project_verified_at(
    ledger: &Ledger,
    checkpoint: &ledger::note::Checkpoint,
    progress: &mut dyn FnMut(u64),
) -> Result<Loaded, LoadError> {
    let (loaded, root) = project_verified_upto(ledger, checkpoint.size, progress)?;
    if root != checkpoint.root {
        return Err(LoadError::Chain(ledger::ChainFault {
            seq: 0,
            kind: ledger::FaultKind::NotSigned {
                size: checkpoint.size,
                signed: ledger::merkle::to_base64(&checkpoint.root),
                computed: ledger::merkle::to_base64(&root),
            },
        }));
    }
    Ok(loaded)
}

fn fold_verified(
    ledger: &Ledger,
    end: u64,
    mut tree: Option<&mut ledger::merkle::Frontier>,
    progress: &mut dyn FnMut(u64),
) -> Result<Loaded, LoadError> {
    let mut checker = ledger::verify::ChainChecker::from_genesis();
    let mut projection = Projection::new();
    let mut failure = None;
    let mut interner = Interner::default();
    ledger.scan(0, end, &mut |record| {
        if let Err(fault) =
            checker.check(record.seq, &record.prev_hash, &record.hash, &record.bytes)
        {
            failure = Some(LoadError::Chain(fault));
            return false;
        }
        if let Some(t) = tree.as_deref_mut() {
            t.push(ledger::merkle::leaf_hash(&record.bytes), &mut |_, _| {});
        }
        match fact_of(record) {
            Ok(fact) => {
                interner.apply(&mut projection, &fact.0, fact.1);
                if checker.count().is_multiple_of(65_536) {
                    progress(checker.count());
                }
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let head = checker.head();
    if let Some(stored) = ledger.head().filter(|h| h.seq < end) {
        if head != Some(stored) {
            let last = head.map(|h| h.seq);
            return Err(LoadError::Chain(ledger::ChainFault {
                seq: last.map_or(0, |s| s + 1),
                kind: ledger::FaultKind::Truncated {
                    last,
                    head_seq: stored.seq,
                },
            }));
        }
    }
    Ok(Loaded {
        projection,
        interner,
        head,
        records: checker.count(),
    })
}

/// Folds an export file into a projection, checking it as `garanti verify --export` does.
pub fn project_export(
    reader: impl std::io::BufRead,
    progress: &mut dyn FnMut(u64),
) -> Result<Loaded, LoadError> {
    let mut projection = Projection::new();
    let mut failure = None;
    let mut interner = Interner::default();
    let check = ledger::export::read_export(reader, &mut |record| {
        if failure.is_some() {
            return;
        }
        match fact_of(record) {
            Ok(fact) => {
                interner.apply(&mut projection, &fact.0, fact.1);
                if projection.len().is_multiple_of(65_536) {
                    progress(projection.len());
                }
            }
            Err(e) => failure = Some(e),
        }
    })
    .map_err(LoadError::Chain)?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Loaded {
        projection,
        interner,
        head: check.checker_head,
        records: check.records,
    })
}
