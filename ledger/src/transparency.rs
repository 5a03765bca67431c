//! The ledger as a transparency log: roots, proofs and tiles of its Merkle tree (from the hashes
//! stored with the records, never re-reading them), and the checkpoints it signs and keeps.

use crate::ledger::{Ledger, LedgerError, StoreHashes};
use crate::merkle::{self, ProofError, TreeHash};
use crate::note::{Checkpoint, NoteSigner};
use crate::record::Timestamp;
use crate::storage::StoreError;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::Path;

/// A checkpoint the ledger signed, as it keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCheckpoint {
    pub size: u64,
    pub signed_at: Timestamp,
    /// The signed note (C2SP tlog-checkpoint).
    pub note: String,
}

/// The stored form of a kept checkpoint (postcard).
#[derive(Serialize, Deserialize)]
struct Stored {
    signed_at_nanos: i64,
    note: String,
}

impl KeptCheckpoint {
    fn from_stored(size: u64, bytes: &[u8]) -> Result<KeptCheckpoint, LedgerError> {
        let stored: Stored = postcard::from_bytes(bytes).map_err(|e| {
            StoreError::Corrupt(format!(
                "the kept checkpoint of size {size} cannot be read: {e}"
            ))
        })?;
        Ok(KeptCheckpoint {
            size,
            signed_at: Timestamp::utc(stored.signed_at_nanos),
            note: stored.note,
        })
    }
}

fn proof_err(e: ProofError<StoreError>) -> LedgerError {
    match e {
        ProofError::Source(s) => LedgerError::Store(s),
        other => LedgerError::Tree(other.to_string()),
    }
}

impl Ledger {
    /// The size of the tree: the number of records.
    pub fn tree_size(&self) -> u64 {
        self.tree().size()
    }

    fn check_size(&self, size: u64) -> Result<(), LedgerError> {
        let now = self.tree_size();
        if size > now {
            return Err(LedgerError::Tree(format!(
                "the ledger's tree has {now} records, fewer than the {size} asked for"
            )));
        }
        Ok(())
    }

    /// The root of the tree of the first `size` records.
    pub fn tree_root(&self, size: u64) -> Result<TreeHash, LedgerError> {
        self.check_size(size)?;
        let storage = self.storage();
        Ok(merkle::root(size, &StoreHashes(&*storage))?)
    }

    /// The inclusion proof of record `index` in the tree of `size` records.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<TreeHash>, LedgerError> {
        self.check_size(size)?;
        let storage = self.storage();
        merkle::inclusion_proof(index, size, &StoreHashes(&*storage)).map_err(proof_err)
    }

    /// The consistency proof between the trees of `old` and `new` records.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<TreeHash>, LedgerError> {
        self.check_size(new)?;
        let storage = self.storage();
        merkle::consistency_proof(old, new, &StoreHashes(&*storage)).map_err(proof_err)
    }

    /// The hashes of a tile (C2SP tlog-tiles, height 8): `None` if the tree does not have that
    /// many hashes there yet.
    pub fn tile(
        &self,
        tile_level: u8,
        index: u64,
        width: u64,
    ) -> Result<Option<Vec<TreeHash>>, LedgerError> {
        let level = u32::from(tile_level) * u32::from(merkle::TILE_HEIGHT);
        let available = u8::try_from(level)
            .map(|l| merkle::hashes_at_level(self.tree_size(), l))
            .unwrap_or(0);
        let end = index
            .checked_mul(merkle::TILE_WIDTH)
            .and_then(|s| s.checked_add(width));
        if width == 0 || width > merkle::TILE_WIDTH || end.is_none_or(|e| e > available) {
            return Ok(None);
        }
        let keys = merkle::tile_keys(tile_level, index, width);
        let stored: Vec<TreeHash> = self
            .storage()
            .tree_hashes(&keys)?
            .into_iter()
            .flatten()
            .collect();
        if stored.len() as u64 != width {
            return Err(StoreError::Corrupt(format!(
                "tile {tile_level}/{index}: {} of its {width} hashes are stored",
                stored.len()
            ))
            .into());
        }
        Ok(Some(stored))
    }

    /// Signs a checkpoint of the tree as it is now and keeps it. If one of that size was signed
    /// with this key before, that one is returned (and its time kept).
    pub fn sign_checkpoint(
        &self,
        signer: &NoteSigner,
        now: Timestamp,
    ) -> Result<KeptCheckpoint, LedgerError> {
        let tree = self.tree();
        if let Some(kept) = self.checkpoint(tree.size())? {
            if Checkpoint::open(&kept.note, &signer.verifier()).is_ok() {
                return Ok(kept);
            }
        }
        let text = Checkpoint {
            origin: signer.name().to_owned(),
            size: tree.size(),
            root: tree.root(),
        }
        .text();
        let note = signer
            .sign(&text)
            .map_err(|e| LedgerError::Tree(e.to_string()))?;
        let stored = Stored {
            signed_at_nanos: now.unix_nanos,
            note: note.clone(),
        };
        let bytes = postcard::to_allocvec(&stored)
            .map_err(|e| LedgerError::Tree(format!("cannot encode a checkpoint: {e}")))?;
        self.storage().put_checkpoint(tree.size(), &bytes)?;
        Ok(KeptCheckpoint {
            size: tree.size(),
            signed_at: now,
            note,
        })
    }

    /// The kept checkpoint of a size.
    pub fn checkpoint(&self, size: u64) -> Result<Option<KeptCheckpoint>, LedgerError> {
        match self.storage().checkpoint(size)? {
            Some(bytes) => Ok(Some(KeptCheckpoint::from_stored(size, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every kept checkpoint, by size.
    pub fn checkpoints(&self) -> Result<Vec<KeptCheckpoint>, LedgerError> {
        self.storage()
            .checkpoints()?
            .into_iter()
            .map(|(size, bytes)| KeptCheckpoint::from_stored(size, &bytes))
            .collect()
    }

    /// The latest kept checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<KeptCheckpoint>, LedgerError> {
        Ok(self.checkpoints()?.pop())
    }
}

/// The default file of the log's signing key, in the data directory.
pub const LOG_KEY_FILE: &str = "garanti-log.key";

/// Writes a new key file, readable by its owner only (mode 0600), durably; an existing file is
/// never overwritten.
pub fn write_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::datadir::sync_dir(dir)?;
    }
    Ok(())
}
