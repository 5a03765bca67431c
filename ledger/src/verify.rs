//! Walking a chain: the checks shared by `verify` of a store and of an export file.

use crate::record::{decode, seal, DecodeError, Hash, Head, GENESIS_PREV_HASH};

/// What is wrong at one place in a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultKind {
    #[error("record missing: expected seq {expected}, the next stored record is seq {found}")]
    Gap { expected: u64, found: u64 },
    #[error("record seq {seq} appears again")]
    Duplicate { seq: u64 },
    #[error(
        "broken link: prev_hash {stored} is not the hash of the record before it ({expected})"
    )]
    BrokenLink { stored: String, expected: String },
    #[error("hash mismatch: stored {stored}, recomputed over the stored bytes {computed}")]
    HashMismatch { stored: String, computed: String },
    #[error("undecodable record: {0}")]
    Undecodable(DecodeError),
    #[error("the record stored as seq {stored_as} says it is seq {says}")]
    SeqMismatch { stored_as: u64, says: u64 },
    #[error("the stored value is too short to hold a record")]
    TooShort,
    #[error("the chain ends at seq {last:?} but the ledger's head is seq {head_seq} (records missing at the end)")]
    Truncated { last: Option<u64>, head_seq: u64 },
    #[error("the last record's hash is not the ledger's head hash {head_hash}")]
    HeadMismatch { head_hash: String },
    #[error("{0}")]
    Export(String),
}

/// The first bad place in a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: {kind}")]
pub struct ChainFault {
    /// The seq at which the chain stops being trustworthy.
    pub seq: u64,
    pub kind: FaultKind,
}

/// Checks records one after another against the chain rule.
pub struct ChainChecker {
    next_seq: u64,
    prev: Hash,
    count: u64,
}

impl Default for ChainChecker {
    fn default() -> Self {
        Self::from_genesis()
    }
}

impl ChainChecker {
    pub fn from_genesis() -> Self {
        ChainChecker {
            next_seq: 0,
            prev: GENESIS_PREV_HASH,
            count: 0,
        }
    }

    /// Starts in the middle of a chain, trusting `prev` as the hash of seq `start - 1`.
    pub fn starting_at(start: u64, prev: Hash) -> Self {
        ChainChecker {
            next_seq: start,
            prev,
            count: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The head after the records checked so far.
    pub fn head(&self) -> Option<Head> {
        (self.count > 0).then(|| Head {
            seq: self.next_seq - 1,
            hash: self.prev,
        })
    }

    /// Checks the record found at position `seq` (its storage key or its export line's `seq`).
    pub fn check(
        &mut self,
        seq: u64,
        prev_hash: &Hash,
        hash: &Hash,
        bytes: &[u8],
    ) -> Result<(), ChainFault> {
        let expected = self.next_seq;
        let fault = |kind| ChainFault {
            seq: expected,
            kind,
        };
        if seq < expected {
            return Err(fault(FaultKind::Duplicate { seq }));
        }
        if seq > expected {
            return Err(fault(FaultKind::Gap {
                expected,
                found: seq,
            }));
        }
        if prev_hash != &self.prev {
            return Err(fault(FaultKind::BrokenLink {
                stored: hex::encode(prev_hash),
                expected: hex::encode(self.prev),
            }));
        }
        let computed = seal(prev_hash, bytes);
        if &computed != hash {
            return Err(fault(FaultKind::HashMismatch {
                stored: hex::encode(hash),
                computed: hex::encode(computed),
            }));
        }
        let view = decode(bytes).map_err(|e| fault(FaultKind::Undecodable(e)))?;
        if view.seq != seq {
            return Err(fault(FaultKind::SeqMismatch {
                stored_as: seq,
                says: view.seq,
            }));
        }
        self.prev = *hash;
        self.next_seq += 1;
        self.count += 1;
        Ok(())
    }
}
