//! Proof bundles: one record's inclusion under a signed checkpoint, several records' (a
//! sanction's decision and evidence), or two checkpoints' consistency. Each carries what a
//! verifier needs offline: the signed checkpoint(s), the record bytes and the proof hashes. See
//! docs/FORMAT.md, "Proof bundles".

use crate::ledger::{Ledger, LedgerError};
use crate::merkle::{self, TreeHash};
use crate::note::{Checkpoint, NoteVerifier};
use crate::transparency::KeptCheckpoint;
use serde::{Deserialize, Serialize};

/// One record with its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    pub index: u64,
    /// The record's stored bytes, hex.
    pub record: String,
    /// The inclusion proof's hashes, standard padded base64, the leaf's sibling first.
    pub inclusion: Vec<String>,
}

/// `garanti prove SEQ`: one record under a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionBundle {
    pub checkpoint: String,
    #[serde(flatten)]
    pub entry: EntryProof,
}

/// `garanti prove --sanction ID`: the decision and every evidence event of its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordsBundle {
    pub sanction_id: String,
    /// The verdict as `garanti sanctions --format json` gives it.
    pub verdict: serde_json::Value,
    pub checkpoint: String,
    pub proofs: Vec<EntryProof>,
}

/// `garanti prove --from-size M`: the tree of M records is a prefix of the tree of N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyBundle {
    pub old_size: u64,
    pub new_size: u64,
    pub old_checkpoint: String,
    pub checkpoint: String,
    pub consistency: Vec<String>,
}

/// Any bundle, told apart by its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Bundle {
    Inclusion(InclusionBundle),
    Records(RecordsBundle),
    Consistency(ConsistencyBundle),
}

/// Why a bundle does not check out (or cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a proof bundle: {0}")]
    Malformed(String),
    #[error("{0}")]
    Failed(String),
}

fn failed(what: impl Into<String>) -> BundleError {
    BundleError::Failed(what.into())
}

impl Bundle {
    pub fn parse(text: &str) -> Result<Bundle, BundleError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        let bad = |e: serde_json::Error| BundleError::Malformed(e.to_string());
        if value.get("sanction_id").is_some() {
            serde_json::from_value(value)
                .map(Bundle::Records)
                .map_err(bad)
        } else if value.get("consistency").is_some() {
            serde_json::from_value(value)
                .map(Bundle::Consistency)
                .map_err(bad)
        } else {
            serde_json::from_value(value)
                .map(Bundle::Inclusion)
                .map_err(bad)
        }
    }

    /// Checks the bundle offline against the log's verifier key: the signature of every
    /// checkpoint, every proof, and that every record decodes. Returns what was proved, in words.
    pub fn verify(&self, key: &NoteVerifier) -> Result<Vec<String>, BundleError> {
        match self {
            Bundle::Inclusion(b) => {
                let cp = open(&b.checkpoint, key, "checkpoint")?;
                Ok(vec![check_entry(&b.entry, &cp)?, signed(&cp)])
            }
            Bundle::Records(b) => {
                let cp = open(&b.checkpoint, key, "checkpoint")?;
                if b.proofs.is_empty() {
                    return Err(failed("the bundle proves no record"));
                }
                let mut out = b
                    .proofs
                    .iter()
                    .map(|p| check_entry(p, &cp))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(format!(
                    "sanction {}: its decision and evidence",
                    b.sanction_id
                ));
                out.push(signed(&cp));
                Ok(out)
            }
            Bundle::Consistency(b) => check_consistency(b, key),
        }
    }
}

fn open(note: &str, key: &NoteVerifier, which: &str) -> Result<Checkpoint, BundleError> {
    Checkpoint::open(note, key)
        .map(|(cp, _)| cp)
        .map_err(|e| failed(format!("the {which}: {e}")))
}

fn signed(cp: &Checkpoint) -> String {
    format!(
        "checkpoint {} size {} root {}: signed by the log's key",
        cp.origin,
        cp.size,
        merkle::to_base64(&cp.root)
    )
}

fn hashes(texts: &[String], what: &str) -> Result<Vec<TreeHash>, BundleError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            merkle::from_base64(t).ok_or_else(|| {
                failed(format!(
                    "{what} hash {i} is not 32 bytes of standard base64: {t:?}"
                ))
            })
        })
        .collect()
}

fn check_entry(p: &EntryProof, cp: &Checkpoint) -> Result<String, BundleError> {
    let bytes =
        hex::decode(&p.record).map_err(|e| failed(format!("record {}: not hex: {e}", p.index)))?;
    let view = crate::record::decode(&bytes)
        .map_err(|e| failed(format!("record {}: does not decode: {e}", p.index)))?;
    if view.seq != p.index {
        return Err(failed(format!(
            "record {}: its bytes say it is seq {}",
            p.index, view.seq
        )));
    }
    let proof = hashes(&p.inclusion, "inclusion")?;
    merkle::verify_inclusion(
        p.index,
        cp.size,
        &merkle::leaf_hash(&bytes),
        &proof,
        &cp.root,
    )
    .map_err(|e| failed(format!("record {}: not in the signed tree: {e}", p.index)))?;
    Ok(format!(
        "record {}: {} {} of {}, included in the tree of {} records",
        p.index, view.event_type, view.stream_version, view.stream, cp.size
    ))
}

fn check_consistency(
    b: &ConsistencyBundle,
    key: &NoteVerifier,
) -> Result<Vec<String>, BundleError> {
    let old = open(&b.old_checkpoint, key, "old checkpoint")?;
    let new = open(&b.checkpoint, key, "checkpoint")?;
    if old.size != b.old_size || new.size != b.new_size {
        return Err(failed(format!(
            "the bundle names sizes {} and {}, its checkpoints sign {} and {}",
            b.old_size, b.new_size, old.size, new.size
        )));
    }
    let proof = hashes(&b.consistency, "consistency")?;
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
        failed(format!(
            "the tree of {} records is not a prefix of the tree of {}: {e}",
            old.size, new.size
        ))
    })?;
    Ok(vec![
        format!(
            "the tree of {} records is a prefix of the tree of {} (the log only grew)",
            old.size, new.size
        ),
        signed(&old),
        signed(&new),
    ])
}

fn base64_all(hashes: &[TreeHash]) -> Vec<String> {
    hashes.iter().map(merkle::to_base64).collect()
}

impl Ledger {
    /// A record with its inclusion proof in the tree of `size` records.
    pub fn entry_proof(&self, seq: u64, size: u64) -> Result<EntryProof, LedgerError> {
        if seq >= size {
            return Err(LedgerError::Tree(format!(
                "record {seq} is not under the checkpoint of size {size}"
            )));
        }
        let record = self
            .get(seq)?
            .ok_or_else(|| LedgerError::Tree(format!("there is no record {seq}")))?;
        Ok(EntryProof {
            index: seq,
            record: hex::encode(&record.bytes),
            inclusion: base64_all(&self.inclusion_proof(seq, size)?),
        })
    }

    /// `garanti prove SEQ`.
    pub fn inclusion_bundle(
        &self,
        seq: u64,
        checkpoint: &KeptCheckpoint,
    ) -> Result<InclusionBundle, LedgerError> {
        Ok(InclusionBundle {
            checkpoint: checkpoint.note.clone(),
            entry: self.entry_proof(seq, checkpoint.size)?,
        })
    }

    /// `garanti prove --from-size OLD`: both checkpoints must be kept ones.
    pub fn consistency_bundle(
        &self,
        old: &KeptCheckpoint,
        new: &KeptCheckpoint,
    ) -> Result<ConsistencyBundle, LedgerError> {
        Ok(ConsistencyBundle {
            old_size: old.size,
            new_size: new.size,
            old_checkpoint: old.note.clone(),
            checkpoint: new.note.clone(),
            consistency: base64_all(&self.consistency_proof(old.size, new.size)?),
        })
    }
}
