//! The sled 0.34 backend (selectable with `--store sled`). One tree with prefixed keys, so that a
//! commit is one atomic `apply_batch`, followed by `flush()` before the append is acknowledged.

use super::{head_bytes, head_from_bytes, Backend, CommitBatch, RawRecord, Storage, StoreError};
use crate::record::{Head, StoredRecord};
use std::path::Path;

const RECORD: u8 = b'r';
const STREAM: u8 = b's';
const KEY: u8 = b'k';
const HEAD_KEY: &[u8] = b"mhead";

pub struct SledStore {
    db: sled::Db,
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
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // sled's background thread keeps the file lock a moment after the last handle of this
        // process is dropped: a reopen right after a close waits for it, briefly. Another process
        // that holds the lock still gets `Locked`.
        let mut waited = std::time::Duration::ZERO;
        loop {
            match sled::Config::new().path(path).open().map_err(backend_err) {
                Err(StoreError::Locked(_)) if waited < std::time::Duration::from_millis(500) => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    waited += std::time::Duration::from_millis(10);
                }
                other => return other.map(|db| SledStore { db }),
            }
        }
    }
}

impl Storage for SledStore {
    fn backend(&self) -> Backend {
        Backend::Sled
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        match self.db.get(HEAD_KEY).map_err(backend_err)? {
            Some(v) => Ok(Some(head_from_bytes(&v)?)),
            None => Ok(None),
        }
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
        match self.db.get(record_key(seq)).map_err(backend_err)? {
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
        for entry in self.db.range(record_key(from)..record_key(to)) {
            let (k, v) = entry.map_err(backend_err)?;
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
        match self.db.scan_prefix(stream_prefix(stream)).next_back() {
            Some(entry) => u64_at_end(&entry.map_err(backend_err)?.0),
            None => Ok(0),
        }
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        self.db
            .scan_prefix(stream_prefix(stream))
            .map(|entry| u64_at_end(&entry.map_err(backend_err)?.1))
            .collect()
    }

    fn streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out: Vec<(String, u64)> = Vec::new();
        for entry in self.db.scan_prefix([STREAM]) {
            let (k, _) = entry.map_err(backend_err)?;
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
        match self.db.get(k).map_err(backend_err)? {
            Some(v) => Ok(Some(u64_at_end(&v)?)),
            None => Ok(None),
        }
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let Some(head) = batch.head() else {
            return Ok(());
        };
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
        b.insert(HEAD_KEY, head_bytes(&head).as_slice());
        self.db.apply_batch(b).map_err(backend_err)?;
        self.db.flush().map_err(backend_err)?;
        Ok(())
    }

    fn overwrite_raw(&self, seq: u64, value: Option<&[u8]>) -> Result<(), StoreError> {
        match value {
            Some(v) => self.db.insert(record_key(seq), v).map(|_| ()),
            None => self.db.remove(record_key(seq)).map(|_| ()),
        }
        .map_err(backend_err)?;
        self.db.flush().map_err(backend_err)?;
        Ok(())
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
