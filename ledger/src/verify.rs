//! Walking a chain: the checks shared by `verify` of a store and of an export file.

use crate::record::{decode, seal, DecodeError, Hash, Head, GENESIS_PREV_HASH};

/// What is wrong at one place in a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultKind {
    #[error("record missing: expected seq {expected}, the next stored record is seq {found}")]
    Gap { expected: u64, found: u64 },
    #[error("record seq {seq} appears again")]
    Duplicate { seq: u64 },
    #[error("record seq {seq} comes after seq {after}: the records are out of order")]
    OutOfOrder { seq: u64, after: u64 },
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
    #[error("the chain ends {} but the ledger's head is seq {head_seq} (records missing at the end)", match last { Some(seq) => format!("at seq {seq}"), None => "before its first record".to_owned() })]
    Truncated { last: Option<u64>, head_seq: u64 },
    #[error("the last record's hash is not the ledger's head hash {head_hash}")]
    HeadMismatch { head_hash: String },
    #[error(
        "the Merkle tree's stored leaf hash is {stored}, but the record's bytes hash to {computed}"
    )]
    TreeLeaf { stored: String, computed: String },
    #[error("the stored Merkle tree ({stored}) is not the tree of the records ({computed})")]
    TreeMismatch { stored: String, computed: String },
    #[error("the first {size} records are not the ones the checkpoint signs (signed root {signed}, recomputed {computed}): the history was rewritten or forked")]
    NotSigned {
        size: u64,
        signed: String,
        computed: String,
    },
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
        // The first seq checked: a lower one never appeared here.
        let first = expected - self.count;
        if seq < first {
            return Err(fault(FaultKind::OutOfOrder {
                seq,
                after: expected.saturating_sub(1),
            }));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordView, Timestamp};
    use proptest::prelude::*;

    /// A sealed chain of records with the given payloads: (prev_hash, hash, bytes) per seq.
    fn chain(payloads: &[String]) -> Vec<(Hash, Hash, Vec<u8>)> {
        let mut prev = GENESIS_PREV_HASH;
        payloads
            .iter()
            .enumerate()
            .map(|(seq, data)| {
                let bytes = RecordView {
                    seq: seq as u64,
                    stream: "s",
                    stream_version: seq as u64 + 1,
                    appended_at: 0,
                    appended_by: "t",
                    event_type: "x",
                    effective_at: Timestamp::utc(seq as i64),
                    recorded_at: None,
                    actor: "a",
                    data,
                }
                .encode();
                let hash = seal(&prev, &bytes);
                let out = (prev, hash, bytes);
                prev = hash;
                out
            })
            .collect()
    }

    fn check_all(records: &[(Hash, Hash, Vec<u8>)]) -> Result<Option<Head>, ChainFault> {
        let mut c = ChainChecker::from_genesis();
        for (seq, (prev, hash, bytes)) in records.iter().enumerate() {
            c.check(seq as u64, prev, hash, bytes)?;
        }
        Ok(c.head())
    }

    proptest! {
        #[test]
        fn a_sealed_chain_verifies_to_its_last_hash(payloads in prop::collection::vec(".{0,40}", 1..30)) {
            let records = chain(&payloads);
            let head = check_all(&records).unwrap().unwrap();
            prop_assert_eq!(head.seq, records.len() as u64 - 1);
            prop_assert_eq!(head.hash, records.last().unwrap().1);
        }

        #[test]
        fn any_changed_byte_is_found_at_its_seq(
            payloads in prop::collection::vec(".{0,40}", 1..20),
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let mut records = chain(&payloads);
            let seq = pick.index(records.len());
            let len = records[seq].2.len();
            records[seq].2[at.index(len)] ^= mask;
            let fault = check_all(&records).unwrap_err();
            prop_assert_eq!(fault.seq, seq as u64);
            let is_mismatch = matches!(fault.kind, FaultKind::HashMismatch { .. });
            prop_assert!(is_mismatch);
        }

        #[test]
        fn a_resealed_record_breaks_the_next_link(payloads in prop::collection::vec(".{0,40}", 2..20), pick in any::<prop::sample::Index>()) {
            // Changing a record and recomputing its hash moves the problem to the next record.
            let mut records = chain(&payloads);
            let seq = pick.index(records.len() - 1);
            let mut changed = records[seq].2.clone();
            let last = changed.len() - 1;
            changed[last] ^= 1;
            records[seq].1 = seal(&records[seq].0, &changed);
            records[seq].2 = changed;
            let fault = check_all(&records).unwrap_err();
            prop_assert!(fault.seq == seq as u64 || fault.seq == seq as u64 + 1, "{}", fault);
        }
    }

    #[test]
    fn gaps_and_duplicates_are_named() {
        let records = chain(&["a".into(), "b".into(), "c".into()]);
        let mut c = ChainChecker::from_genesis();
        c.check(0, &records[0].0, &records[0].1, &records[0].2)
            .unwrap();
        let gap = c
            .check(2, &records[2].0, &records[2].1, &records[2].2)
            .unwrap_err();
        assert_eq!(
            gap,
            ChainFault {
                seq: 1,
                kind: FaultKind::Gap {
                    expected: 1,
                    found: 2
                }
            }
        );
        let dup = c
            .check(0, &records[0].0, &records[0].1, &records[0].2)
            .unwrap_err();
        assert_eq!(
            dup,
            ChainFault {
                seq: 1,
                kind: FaultKind::Duplicate { seq: 0 }
            }
        );
    }
}
