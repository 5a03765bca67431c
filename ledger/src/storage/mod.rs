//! Storage behind one small trait. Only the modules below touch a database; everything above them
//! (chain sealing, verification, concurrency checks) is the same for every backend.

use crate::merkle::TreeHash;
use crate::record::{Hash, Head, StoredRecord};
use std::fmt;
use std::path::Path;

pub mod redb_store;
pub mod sled_store;

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// redb 4: the default; durable when a commit returns.
    Redb,
    /// sled 0.34: selectable; flushed before an append is acknowledged.
    Sled,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Redb => "redb",
            Backend::Sled => "sled",
        }
    }

    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "redb" => Some(Backend::Redb),
            "sled" => Some(Backend::Sled),
            _ => None,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A storage failure. Messages say what to do where there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory is in use by another garanti process ({0}); stop it or use another --data")]
    Locked(String),
    #[error("storage: {0}")]
    Backend(String),
    #[error("storage is damaged: {0}; run `garanti verify` to find the first bad record")]
    Corrupt(String),
    /// The disk is full (ENOSPC): nothing of the failed commit was acknowledged.
    #[error("the disk is full: {0}; free space on the disk of the data directory, then retry")]
    Full(String),
    /// The store was opened read-only (a revisor's copy): it cannot be appended to.
    #[error(
        "the store was opened read-only ({0}); appending needs write access to the data directory"
    )]
    ReadOnly(String),
    /// This user may not write the store (its mode or owner, or a read-only mount).
    #[error("{0}")]
    Denied(String),
}

impl StoreError {
    /// An I/O error of a backend, classified: a full disk is `Full`, no write access `Denied`,
    /// the rest `Backend`.
    pub fn io(e: &std::io::Error) -> StoreError {
        use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem, StorageFull};
        match e.kind() {
            StorageFull => StoreError::Full(e.to_string()),
            PermissionDenied | ReadOnlyFilesystem => {
                StoreError::Denied(crate::datadir::io_words(e))
            }
            _ => StoreError::Backend(crate::datadir::io_words(e)),
        }
    }
}

/// How a backend opens its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Make a new, empty store at the path (which must not exist).
    Create,
    /// Open the existing store at the path for reading and appending.
    Existing,
    /// Open the existing store at the path without writing anything to it.
    ReadOnly,
}

/// One record as stored, borrowed from the backend during a scan: the key it is stored under and
/// the stored value (`prev_hash ‖ hash ‖ record bytes`), not yet checked.
pub struct RawRecord<'a> {
    pub key: u64,
    pub value: &'a [u8],
}

/// Width of the chain fields that precede the record bytes in a stored value.
pub const CHAIN_FIELDS_LEN: usize = 64;

impl RawRecord<'_> {
    /// Splits the stored value into prev_hash, hash and record bytes; `None` if it is too short.
    pub fn split(&self) -> Option<(&Hash, &Hash, &[u8])> {
        let (chain, bytes) = self.value.split_at_checked(CHAIN_FIELDS_LEN)?;
        let (prev, hash) = chain.split_at(32);
        Some((prev.try_into().ok()?, hash.try_into().ok()?, bytes))
    }

    pub fn to_stored(&self) -> Result<StoredRecord, StoreError> {
        let (prev, hash, bytes) = self.split().ok_or_else(|| {
            StoreError::Corrupt(format!("stored value of seq {} is too short", self.key))
        })?;
        Ok(StoredRecord {
            seq: self.key,
            prev_hash: *prev,
            hash: *hash,
            bytes: bytes.to_vec(),
        })
    }
}

/// The stored value of a record.
pub fn stored_value(record: &StoredRecord) -> Vec<u8> {
    let mut value = Vec::with_capacity(CHAIN_FIELDS_LEN + record.bytes.len());
    value.extend_from_slice(&record.prev_hash);
    value.extend_from_slice(&record.hash);
    value.extend_from_slice(&record.bytes);
    value
}

/// A record to write: its stored value (`prev_hash ‖ hash ‖ record bytes`, see [`stored_value`]),
/// with the index entry for its stream.
pub struct PendingRecord {
    pub seq: u64,
    pub hash: Hash,
    pub value: Vec<u8>,
    pub stream: String,
    pub stream_version: u64,
}

/// Everything one durable commit writes: records, their stream index entries, claimed keys, the
/// Merkle tree's new hashes and the new head. Written all or nothing.
#[derive(Default)]
pub struct CommitBatch {
    pub records: Vec<PendingRecord>,
    /// Unique keys claimed by the batch, with the seq of the record that claimed them.
    pub keys: Vec<(String, u64)>,
    /// The tree hashes the batch completes, under their `merkle::stored_key`.
    pub tree: Vec<(u64, TreeHash)>,
}

impl CommitBatch {
    pub fn head(&self) -> Option<Head> {
        self.records.last().map(|p| Head {
            seq: p.seq,
            hash: p.hash,
        })
    }
}

/// The storage a ledger needs. Implementations must make `commit` atomic and durable before it
/// returns; they never interpret record bytes.
pub trait Storage: Send + Sync {
    fn backend(&self) -> Backend;
    /// The head written by the last commit.
    fn head(&self) -> Result<Option<Head>, StoreError>;
    fn get(&self, seq: u64) -> Result<Option<StoredRecord>, StoreError>;
    /// Several records by seq, read together (one transaction where that matters).
    fn get_many(&self, seqs: &[u64]) -> Result<Vec<Option<StoredRecord>>, StoreError> {
        seqs.iter().map(|s| self.get(*s)).collect()
    }
    /// Visits stored records with `from <= key < to` in key order until `visit` returns false.
    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(RawRecord<'_>) -> bool,
    ) -> Result<(), StoreError>;
    /// The number of records of the stream (its current version; 0 if it has none).
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;
    /// The current versions of several streams, read in one transaction.
    fn stream_versions(&self, streams: &[&str]) -> Result<Vec<u64>, StoreError> {
        streams.iter().map(|s| self.stream_version(s)).collect()
    }
    /// Several unique keys, read in one transaction.
    fn keys(&self, keys: &[&str]) -> Result<Vec<Option<u64>>, StoreError> {
        keys.iter().map(|k| self.key(k)).collect()
    }
    /// The seqs of the stream's records in version order.
    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError>;
    /// Every stream id with its current version, in id order.
    fn streams(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// The seq of the record that claimed a unique key.
    fn key(&self, key: &str) -> Result<Option<u64>, StoreError>;
    /// Writes a batch atomically and durably. A batch may hold tree hashes only (the tree of a
    /// store from before the tree is built so): the head is then left as it is.
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError>;
    /// Stored tree hashes by `merkle::stored_key`, read in one transaction.
    fn tree_hashes(&self, keys: &[u64]) -> Result<Vec<Option<TreeHash>>, StoreError>;
    /// The stored tree hashes with `from <= key < to`, in key order.
    fn tree_range(&self, from: u64, to: u64) -> Result<Vec<(u64, TreeHash)>, StoreError>;
    /// The number of leaf hashes stored: the size of the tree the store holds.
    fn tree_size(&self) -> Result<u64, StoreError>;
    /// Keeps a signed checkpoint of the tree of `size` records (its stored form: see
    /// `ledger::checkpoints`), durably. A second one of the same size replaces the first.
    fn put_checkpoint(&self, size: u64, value: &[u8]) -> Result<(), StoreError>;
    /// The kept checkpoint of a size.
    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every kept checkpoint, by size.
    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// Checks that the store takes a durable write now (an empty commit): after a failed commit,
    /// this says when writes succeed again.
    fn probe(&self) -> Result<(), StoreError>;
    /// Writes or deletes a stored value behind the chain's back. Forensics and tamper tests only:
    /// the ledger never calls it, and `verify` finds what it did.
    fn overwrite_raw(&self, seq: u64, value: Option<&[u8]>) -> Result<(), StoreError>;
}

/// Opens the store at `path` (a file for redb, a folder for sled) as `mode` says.
pub fn open(backend: Backend, path: &Path, mode: OpenMode) -> Result<Box<dyn Storage>, StoreError> {
    Ok(match backend {
        Backend::Redb => Box::new(redb_store::RedbStore::open(path, mode)?),
        Backend::Sled => Box::new(sled_store::SledStore::open(path, mode)?),
    })
}

/// A store that could not be reopened after a failed commit: every call says so, until the
/// ledger reopens it.
pub struct Closed {
    backend: Backend,
    /// Why it could not be reopened: a full disk stays `Full`, so a reader is told to come back.
    full: bool,
    reason: String,
}

impl Closed {
    pub fn new(backend: Backend, why: StoreError) -> Closed {
        Closed {
            backend,
            full: matches!(why, StoreError::Full(_)),
            reason: why.to_string(),
        }
    }

    fn err(&self) -> StoreError {
        let message = format!(
            "the store is closed after a failed write and could not be reopened yet ({})",
            self.reason
        );
        match self.full {
            true => StoreError::Full(message),
            false => StoreError::Backend(message),
        }
    }
}

impl Storage for Closed {
    fn backend(&self) -> Backend {
        self.backend
    }
    fn head(&self) -> Result<Option<Head>, StoreError> {
        Err(self.err())
    }
    fn get(&self, _: u64) -> Result<Option<StoredRecord>, StoreError> {
        Err(self.err())
    }
    fn scan(
        &self,
        _: u64,
        _: u64,
        _: &mut dyn FnMut(RawRecord<'_>) -> bool,
    ) -> Result<(), StoreError> {
        Err(self.err())
    }
    fn stream_version(&self, _: &str) -> Result<u64, StoreError> {
        Err(self.err())
    }
    fn stream_seqs(&self, _: &str) -> Result<Vec<u64>, StoreError> {
        Err(self.err())
    }
    fn streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Err(self.err())
    }
    fn key(&self, _: &str) -> Result<Option<u64>, StoreError> {
        Err(self.err())
    }
    fn commit(&self, _: &CommitBatch) -> Result<(), StoreError> {
        Err(self.err())
    }
    fn tree_hashes(&self, _: &[u64]) -> Result<Vec<Option<TreeHash>>, StoreError> {
        Err(self.err())
    }
    fn tree_range(&self, _: u64, _: u64) -> Result<Vec<(u64, TreeHash)>, StoreError> {
        Err(self.err())
    }
    fn tree_size(&self) -> Result<u64, StoreError> {
        Err(self.err())
    }
    fn put_checkpoint(&self, _: u64, _: &[u8]) -> Result<(), StoreError> {
        Err(self.err())
    }
    fn checkpoint(&self, _: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Err(self.err())
    }
    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Err(self.err())
    }
    fn probe(&self) -> Result<(), StoreError> {
        Err(self.err())
    }
    fn overwrite_raw(&self, _: u64, _: Option<&[u8]>) -> Result<(), StoreError> {
        Err(self.err())
    }
}

/// Tree hashes are stored in chunks: the hashes with `merkle::stored_key`s `16·c .. 16·c + 16`
/// (in the order they are completed) under the key `c`, concatenated. A commit then appends to
/// the last chunks of the key space, writing about one key per 16 hashes.
pub const TREE_CHUNK: u64 = 16;

/// The chunk key of a stored hash's key, and the hash's place in the chunk.
pub fn tree_chunk(key: u64) -> (u64, usize) {
    (key / TREE_CHUNK, (key % TREE_CHUNK) as usize)
}

/// A commit's tree hashes grouped by chunk, in key order.
pub fn tree_chunk_updates(
    tree: &[(u64, TreeHash)],
) -> std::collections::BTreeMap<u64, Vec<(usize, TreeHash)>> {
    let mut chunks: std::collections::BTreeMap<u64, Vec<(usize, TreeHash)>> = Default::default();
    for (key, hash) in tree {
        let (chunk, at) = tree_chunk(*key);
        chunks.entry(chunk).or_default().push((at, *hash));
    }
    chunks
}

/// A chunk with hashes put in place: appended after its last one, or replacing one (tamper
/// tests). A hash that would leave a gap is refused.
pub fn merge_tree_chunk(
    chunk: u64,
    existing: &[u8],
    updates: &mut [(usize, TreeHash)],
) -> Result<Vec<u8>, StoreError> {
    let mut value = existing.to_vec();
    updates.sort_by_key(|(at, _)| *at);
    for (at, hash) in updates.iter() {
        let start = at * 32;
        match start.cmp(&value.len()) {
            std::cmp::Ordering::Less => value[start..start + 32].copy_from_slice(hash),
            std::cmp::Ordering::Equal => value.extend_from_slice(hash),
            std::cmp::Ordering::Greater => {
                return Err(StoreError::Corrupt(format!(
                    "the Merkle tree's stored hashes have a gap before number {}",
                    chunk * TREE_CHUNK + *at as u64
                )));
            }
        }
    }
    Ok(value)
}

/// The hashes of a stored chunk with their keys.
pub fn tree_chunk_hashes(
    chunk: u64,
    value: &[u8],
) -> Result<impl Iterator<Item = (u64, TreeHash)> + '_, StoreError> {
    if !value.len().is_multiple_of(32) || value.len() as u64 > TREE_CHUNK * 32 {
        return Err(StoreError::Corrupt(format!(
            "chunk {chunk} of the Merkle tree's hashes is {} bytes long",
            value.len()
        )));
    }
    Ok(value
        .chunks_exact(32)
        .enumerate()
        .filter_map(move |(i, h)| {
            let hash: TreeHash = h.try_into().ok()?;
            Some((chunk * TREE_CHUNK + i as u64, hash))
        }))
}

/// The size of the tree whose last stored hash has this key: the hashes a leaf completes are
/// stored together, the last of them the highest parent, whose subtree ends at that leaf.
pub fn tree_size_after(last_key: u64) -> u64 {
    let (level, index) = crate::merkle::from_stored_key(last_key);
    (index + 1) << level
}

/// The hash at `at` of a stored chunk, if it has one.
pub fn tree_chunk_hash(value: &[u8], at: usize) -> Option<TreeHash> {
    value.get(at * 32..at * 32 + 32)?.try_into().ok()
}

fn head_bytes(head: &Head) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&head.seq.to_be_bytes());
    out[8..].copy_from_slice(&head.hash);
    out
}

fn head_from_bytes(bytes: &[u8]) -> Result<Head, StoreError> {
    let seq: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("the stored head is too short".into()))?;
    let hash: Hash = bytes
        .get(8..40)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("the stored head is too short".into()))?;
    Ok(Head {
        seq: u64::from_be_bytes(seq),
        hash,
    })
}

/// Benchmark baseline: the backend's durable batch insert of `values`, nothing else.
pub fn raw_insert(
    backend: Backend,
    dir: &Path,
    values: &[Vec<u8>],
    batch: usize,
) -> Result<(), StoreError> {
    match backend {
        Backend::Redb => redb_store::raw_insert(&dir.join("raw.redb"), values, batch),
        Backend::Sled => sled_store::raw_insert(&dir.join("raw.sled"), values, batch),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::merkle::stored_key;

    #[test]
    fn tree_chunks_append_replace_and_refuse_gaps() {
        let (chunk, at) = tree_chunk(35);
        assert_eq!((chunk, at), (2, 3));
        let hashes: Vec<(u64, TreeHash)> = (32..35).map(|k| (k, [k as u8; 32])).collect();
        let mut updates = tree_chunk_updates(&hashes).remove(&chunk).unwrap();
        let value = merge_tree_chunk(chunk, &[], &mut updates).unwrap();
        assert_eq!(value.len(), 96);
        let listed: Vec<u64> = tree_chunk_hashes(chunk, &value)
            .unwrap()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(listed, [32, 33, 34]);
        // The size of a tree from its last stored hash: leaf 5 completes (0,5), (1,2): size 6.
        assert_eq!(tree_size_after(stored_key(1, 2)), 6);
        assert_eq!(tree_size_after(stored_key(2, 1)), 8);
        assert_eq!(tree_size_after(stored_key(0, 8)), 9);
        // Replacing one in place (as a tamper test does) keeps the length.
        let replaced = merge_tree_chunk(chunk, &value, &mut [(1, [0; 32])]).unwrap();
        assert_eq!(
            (replaced.len(), tree_chunk_hash(&replaced, 1)),
            (96, Some([0; 32]))
        );
        // A hash after a gap is refused.
        assert!(merge_tree_chunk(chunk, &value, &mut [(5, [0; 32])]).is_err());
        assert!(tree_chunk_hashes(chunk, &value[..40]).is_err());
    }
}
