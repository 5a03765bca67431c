//! The sled 0.34 backend (selectable with `--store sled`). One tree with prefixed keys, so that a
//! commit is one atomic `apply_batch`, followed by `flush()` and an `fdatasync` of sled's log
//! before the append is acknowledged: sled's own flush calls only `sync_file_range`, which
//! writes the pages but not the metadata a power loss needs, and never syncs its blob files.
//!
//! sled 0.34 panics on some damaged logs; every call into it is guarded, and a panic becomes a
//! "storage is damaged" error.

use super::{
    head_bytes, head_from_bytes, merge_tree_chunk, tree_chunk, tree_chunk_hash, tree_chunk_hashes,
    tree_chunk_updates, tree_size_after, Backend, CommitBatch, OpenMode, RawRecord, Storage,
    StoreError,
};
use crate::merkle::TreeHash;
use crate::record::{Head, StoredRecord};
use std::collections::HashSet;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const RECORD: u8 = b'r';
const STREAM: u8 = b's';
const KEY: u8 = b'k';
const HEAD_KEY: &[u8] = b"mhead";
/// The Merkle tree's stored hashes in chunks of 16 (`storage::tree_chunk`): `t` ‖ chunk key
/// (big-endian).
const TREE: u8 = b't';
/// Signed checkpoints: `c` ‖ size (big-endian).
const CHECKPOINT: u8 = b'c';

fn prefixed(prefix: u8, n: u64) -> [u8; 9] {
    let mut k = [prefix; 9];
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// sled's log file, synced after every flush.
    log: File,
    /// Blob files (sled's large values) already synced.
    synced_blobs: Mutex<HashSet<std::ffi::OsString>>,
}

/// Runs a call into sled, turning a panic inside it into a "storage is damaged" error.
fn guarded<T>(f: impl FnOnce() -> sled::Result<T>) -> Result<T, StoreError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(backend_err),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(StoreError::Corrupt(format!(
                "sled failed inside its own code ({what}); restore the data directory from a backup"
            )))
        }
    }
}

/// The next item of a sled iterator, guarded.
fn next_of(iter: &mut sled::Iter) -> Result<Option<(sled::IVec, sled::IVec)>, StoreError> {
    guarded(|| iter.next().transpose())
}

/// The last item of a sled iterator, guarded.
fn last_of(iter: &mut sled::Iter) -> Result<Option<(sled::IVec, sled::IVec)>, StoreError> {
    guarded(|| iter.next_back().transpose())
}

fn backend_err(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            StoreError::Locked(io.to_string())
        }
        sled::Error::Io(io) if io.to_string().contains("lock") => {
            StoreError::Locked(io.to_string())
        }
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        sled::Error::Io(io) => StoreError::io(&io),
        other => StoreError::Backend(other.to_string()),
    }
}

fn record_key(seq: u64) -> [u8; 9] {
    let mut k = [RECORD; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Stream ids never contain NUL (EVENTS.md), so NUL ends the id inside the key.
fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(stream.len() + 10);
    k.push(STREAM);
    k.extend_from_slice(stream.as_bytes());
    k.push(0);
    k
}

fn u64_at_end(bytes: &[u8]) -> Result<u64, StoreError> {
    bytes
        .len()
        .checked_sub(8)
        .and_then(|start| bytes[start..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("an index entry is too short".into()))
}

impl SledStore {
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        match mode {
            OpenMode::Create if path.exists() => {
                return Err(StoreError::Backend(format!(
                    "{} exists already; a new store is never made over one",
                    path.display()
                )))
            }
            OpenMode::Existing | OpenMode::ReadOnly if !path.join("db").is_file() => {
                return Err(StoreError::Backend(format!(
                    "{} holds no sled store (its file `db` is missing)",
                    path.display()
                )))
            }
            OpenMode::ReadOnly => {
                return Err(StoreError::Backend(format!(
                    "the sled backend writes to its store even to read it, so a copy without write access cannot be opened; give this user write access to {} or read an export of it",
                    path.display()
                )))
            }
            _ => {}
        }
        let db = Self::open_db(path)?;
        if mode == OpenMode::Create {
            guarded(|| db.flush())?;
        }
        let log = File::open(path.join("db")).map_err(|e| StoreError::io(&e))?;
        let store = SledStore {
            db,
            path: path.into(),
            log,
            synced_blobs: Mutex::new(HashSet::new()),
        };
        store.sync()?;
        if mode == OpenMode::Create {
            crate::datadir::sync_dir(path).map_err(|e| StoreError::io(&e))?;
        }
        Ok(store)
    }

    fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
        // sled's background thread keeps the file lock a moment after the last handle of this
        // process is dropped: a reopen right after a close waits for it, briefly. Another process
        // that holds the lock still gets `Locked`.
        let mut waited = std::time::Duration::ZERO;
        loop {
            match guarded(|| sled::Config::new().path(path).open()) {
                Err(StoreError::Locked(_)) if waited < std::time::Duration::from_millis(500) => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    waited += std::time::Duration::from_millis(10);
                }
                other => return other,
            }
        }
    }

    /// Makes what sled flushed durable: its log (`fdatasync`), and any blob file not synced yet.
    fn sync(&self) -> Result<(), StoreError> {
        self.log.sync_data().map_err(|e| StoreError::io(&e))?;
        let blobs = self.path.join("blobs");
        let Ok(entries) = std::fs::read_dir(&blobs) else {
            return Ok(());
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut new = false;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&e))?;
            if synced.contains(&entry.file_name()) {
                continue;
            }
            File::open(entry.path())
                .and_then(|f| f.sync_data())
                .map_err(|e| StoreError::io(&e))?;
            synced.insert(entry.file_name());
            new = true;
        }
        if new {
            crate::datadir::sync_dir(&blobs).map_err(|e| StoreError::io(&e))?;
        }
        Ok(())
    }
}

impl Storage for SledStore {
    fn backend(&self) -> Backend {
        Backend::Sled
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        match guarded(|| self.db.get(HEAD_KEY))? {
            Some(v) => Ok(Some(head_from_bytes(&v)?)),
            None => Ok(None),
        }
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
        match guarded(|| self.db.get(record_key(seq)))? {
            Some(v) => Ok(Some(
                RawRecord {
                    key: seq,
                    value: &v,
                }
                .to_stored()?,
            )),
            None => Ok(None),
        }
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(RawRecord<'_>) -> bool,
    ) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let mut iter = guarded(|| Ok(self.db.range(record_key(from)..record_key(to))))?;
        while let Some((k, v)) = next_of(&mut iter)? {
            if !visit(RawRecord {
                key: u64_at_end(&k)?,
                value: &v,
            }) {
                break;
            }
        }
        Ok(())
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let mut iter = guarded(|| Ok(self.db.scan_prefix(stream_prefix(stream))))?;
        match last_of(&mut iter)? {
            Some((k, _)) => u64_at_end(&k),
            None => Ok(0),
        }
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let mut iter = guarded(|| Ok(self.db.scan_prefix(stream_prefix(stream))))?;
        let mut seqs = Vec::new();
        while let Some((_, v)) = next_of(&mut iter)? {
            seqs.push(u64_at_end(&v)?);
        }
        Ok(seqs)
    }

    fn streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut iter = guarded(|| Ok(self.db.scan_prefix([STREAM])))?;
        while let Some((k, _)) = next_of(&mut iter)? {
            let version = u64_at_end(&k)?;
            let id = k
                .get(1..k.len().saturating_sub(9))
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| StoreError::Corrupt("a stream index key is malformed".into()))?;
            match out.last_mut() {
                Some((s, v)) if s == id => *v = version,
                _ => out.push((id.to_owned(), version)),
            }
        }
        Ok(out)
    }

    fn key(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let mut k = vec![KEY];
        k.extend_from_slice(key.as_bytes());
        match guarded(|| self.db.get(k))? {
            Some(v) => Ok(Some(u64_at_end(&v)?)),
            None => Ok(None),
        }
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        if batch.records.is_empty() && batch.tree.is_empty() {
            return Ok(());
        }
        let mut b = sled::Batch::default();
        for p in &batch.records {
            b.insert(record_key(p.seq).as_slice(), p.value.as_slice());
            let mut sk = stream_prefix(&p.stream);
            sk.extend_from_slice(&p.stream_version.to_be_bytes());
            b.insert(sk, p.seq.to_be_bytes().as_slice());
        }
        for (key, seq) in &batch.keys {
            let mut k = vec![KEY];
            k.extend_from_slice(key.as_bytes());
            b.insert(k, seq.to_be_bytes().as_slice());
        }
        // The single writer reads the partial chunks it extends before the batch is applied.
        for (chunk, mut updates) in tree_chunk_updates(&batch.tree) {
            let existing = guarded(|| self.db.get(prefixed(TREE, chunk)))?;
            let value = merge_tree_chunk(chunk, existing.as_deref().unwrap_or(&[]), &mut updates)?;
            b.insert(prefixed(TREE, chunk).as_slice(), value);
        }
        if let Some(head) = batch.head() {
            b.insert(HEAD_KEY, head_bytes(&head).as_slice());
        }
        guarded(|| self.db.apply_batch(b))?;
        guarded(|| self.db.flush())?;
        self.sync()
    }

    fn tree_hashes(&self, keys: &[u64]) -> Result<Vec<Option<TreeHash>>, StoreError> {
        keys.iter()
            .map(|k| {
                let (chunk, at) = tree_chunk(*k);
                Ok(guarded(|| self.db.get(prefixed(TREE, chunk)))?
                    .and_then(|v| tree_chunk_hash(&v, at)))
            })
            .collect()
    }

    fn tree_range(&self, from: u64, to: u64) -> Result<Vec<(u64, TreeHash)>, StoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let (first, _) = tree_chunk(from);
        let (last, _) = tree_chunk(to - 1);
        let mut iter = guarded(|| Ok(self.db.range(prefixed(TREE, first)..=prefixed(TREE, last))))?;
        let mut out = Vec::new();
        while let Some((k, v)) = next_of(&mut iter)? {
            let chunk = u64_at_end(&k)?;
            out.extend(tree_chunk_hashes(chunk, &v)?.filter(|(k, _)| (from..to).contains(k)));
        }
        Ok(out)
    }

    fn tree_size(&self) -> Result<u64, StoreError> {
        let mut iter = guarded(|| Ok(self.db.scan_prefix([TREE])))?;
        match last_of(&mut iter)? {
            Some((k, v)) => Ok(tree_chunk_hashes(u64_at_end(&k)?, &v)?
                .last()
                .map_or(0, |(key, _)| tree_size_after(key))),
            None => Ok(0),
        }
    }

    fn put_checkpoint(&self, size: u64, value: &[u8]) -> Result<(), StoreError> {
        guarded(|| {
            self.db
                .insert(prefixed(CHECKPOINT, size), value)
                .map(|_| ())
        })?;
        guarded(|| self.db.flush())?;
        self.sync()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(guarded(|| self.db.get(prefixed(CHECKPOINT, size)))?.map(|v| v.to_vec()))
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut iter = guarded(|| Ok(self.db.scan_prefix([CHECKPOINT])))?;
        let mut out = Vec::new();
        while let Some((k, v)) = next_of(&mut iter)? {
            out.push((u64_at_end(&k)?, v.to_vec()));
        }
        Ok(out)
    }

    fn probe(&self) -> Result<(), StoreError> {
        guarded(|| self.db.flush())?;
        self.sync()
    }

    fn overwrite_raw(&self, seq: u64, value: Option<&[u8]>) -> Result<(), StoreError> {
        guarded(|| match value {
            Some(v) => self.db.insert(record_key(seq), v).map(|_| ()),
            None => self.db.remove(record_key(seq)).map(|_| ()),
        })?;
        guarded(|| self.db.flush())?;
        self.sync()
    }
}

/// Baseline for benchmarks: inserts `values` under keys 0.. in flushed batches into a fresh tree,
/// with nothing else (no hashing, no index, no head).
pub fn raw_insert(path: &Path, values: &[Vec<u8>], batch: usize) -> Result<(), StoreError> {
    let db = sled::Config::new().path(path).open().map_err(backend_err)?;
    for (i, chunk) in values.chunks(batch.max(1)).enumerate() {
        let mut b = sled::Batch::default();
        for (j, v) in chunk.iter().enumerate() {
            b.insert(record_key((i * batch + j) as u64).as_slice(), v.as_slice());
        }
        db.apply_batch(b).map_err(backend_err)?;
        db.flush().map_err(backend_err)?;
    }
    Ok(())
}
