//! A witness's decision (C2SP tlog-witness, in spirit): a checkpoint is cosigned only if it is
//! consistent with the last one the witness cosigned for the same log. Pure: the caller keeps
//! the witness's state and fetches proofs.

use crate::merkle::{self, TreeHash};
use crate::note::Checkpoint;

/// Why a checkpoint may be cosigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cosign {
    /// The witness has no state for this log yet: trusted on first use.
    FirstSeen,
    /// The same tree as last time.
    Same,
    /// The tree grew, and the proof shows the old one is its prefix.
    Grown,
}

/// Why a checkpoint may not be cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The log shows a smaller tree than it showed before.
    #[error("rollback: the log's tree has {new} records, fewer than the {old} cosigned before")]
    Rollback { old: u64, new: u64 },
    /// Two different trees of the same size, or a grown tree that does not extend the old one.
    #[error("fork: {0}")]
    Fork(String),
    /// The tree grew but there is no consistency proof to check it with.
    #[error("the tree grew from {old} to {new} records: a consistency proof is needed (--proof FILE from `garanti prove --from-size {old}`, or --url)")]
    NeedProof { old: u64, new: u64 },
}

impl Refusal {
    /// Whether this is evidence against the log (a rollback or a fork), not a missing input.
    pub fn is_evidence(&self) -> bool {
        !matches!(self, Refusal::NeedProof { .. })
    }
}

/// Decides whether `new` may be cosigned after `last` (the witness's last cosigned checkpoint of
/// the same origin), given a consistency proof from `last`'s size to `new`'s when it grew.
pub fn decide(
    last: Option<&Checkpoint>,
    new: &Checkpoint,
    proof: Option<&[TreeHash]>,
) -> Result<Cosign, Refusal> {
    let Some(last) = last else {
        return Ok(Cosign::FirstSeen);
    };
    if new.size < last.size {
        return Err(Refusal::Rollback {
            old: last.size,
            new: new.size,
        });
    }
    if new.size == last.size {
        return match new.root == last.root {
            true => Ok(Cosign::Same),
            false => Err(Refusal::Fork(format!(
                "two different trees of {} records (roots {} and {})",
                new.size,
                merkle::to_base64(&last.root),
                merkle::to_base64(&new.root)
            ))),
        };
    }
    let proof = proof.ok_or(Refusal::NeedProof {
        old: last.size,
        new: new.size,
    })?;
    merkle::verify_consistency(last.size, new.size, &last.root, &new.root, proof).map_err(|e| {
        Refusal::Fork(format!(
            "the tree of {} records does not extend the one of {} cosigned before ({e})",
            new.size, last.size
        ))
    })?;
    Ok(Cosign::Grown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn tree(n: u64, salt: u8) -> (Checkpoint, merkle::MemoryTree) {
        let mut t = merkle::MemoryTree::default();
        for i in 0..n {
            let data = [i.to_be_bytes().as_slice(), &[if i == 5 { salt } else { 0 }]].concat();
            t.push(merkle::leaf_hash(&data));
        }
        let cp = Checkpoint {
            origin: "log".into(),
            size: n,
            root: t.frontier().root(),
        };
        (cp, t)
    }

    #[test]
    fn first_same_grown_rollback_and_forks() {
        let (old, _) = tree(10, 0);
        let (new, hashes) = tree(20, 0);
        let proof = merkle::consistency_proof(10, 20, &hashes).unwrap();
        assert_eq!(decide(None, &new, None), Ok(Cosign::FirstSeen));
        assert_eq!(decide(Some(&old), &old, None), Ok(Cosign::Same));
        assert_eq!(decide(Some(&old), &new, Some(&proof)), Ok(Cosign::Grown));
        assert!(matches!(
            decide(Some(&new), &old, None),
            Err(Refusal::Rollback { .. })
        ));
        assert!(matches!(
            decide(Some(&old), &new, None),
            Err(Refusal::NeedProof { .. })
        ));
        // The same size with another record 5: a fork.
        let (forked_old, _) = tree(10, 1);
        assert!(matches!(
            decide(Some(&forked_old), &old, None),
            Err(Refusal::Fork(_))
        ));
        // A grown tree whose history differs: its own proof does not lead to the old root.
        let (forked_new, forked_hashes) = tree(20, 1);
        let proof = merkle::consistency_proof(10, 20, &forked_hashes).unwrap();
        let refused = decide(Some(&old), &forked_new, Some(&proof)).unwrap_err();
        assert!(matches!(refused, Refusal::Fork(_)) && refused.is_evidence());
    }
}
