//! The redb 4 backend (default): one file, copy-on-write B-trees, durable when a commit returns.

use super::{
    head_bytes, head_from_bytes, merge_tree_chunk, tree_chunk, tree_chunk_hash, tree_chunk_hashes,
    tree_chunk_updates, tree_size_after, Backend, CommitBatch, OpenMode, RawRecord, Storage,
    StoreError,
};
use crate::merkle::TreeHash;
use crate::record::{Head, StoredRecord};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// Stream index: stream id ‖ 0x00 ‖ version (u64 big-endian) → seq. Byte keys compare with memcmp,
/// which measured faster than tuple keys; stream ids never contain NUL.
const STREAMS: TableDefinition<&[u8], u64> = TableDefinition::new("streams");

fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(stream.len() + 9);
    k.extend_from_slice(stream.as_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn split_stream_key(key: &[u8]) -> Result<(&str, u64), StoreError> {
    let bad = || StoreError::Corrupt("a stream index key is malformed".into());
    let (id, version) = key
        .split_at_checked(key.len().checked_sub(9).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    let version: [u8; 8] = version
        .get(1..)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(bad)?;
    Ok((
        std::str::from_utf8(id).map_err(|_| bad())?,
        u64::from_be_bytes(version),
    ))
}
const KEYS: TableDefinition<&str, u64> = TableDefinition::new("keys");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The Merkle tree's stored hashes, in chunks of 16 (`storage::tree_chunk`).
const TREE: TableDefinition<u64, &[u8]> = TableDefinition::new("tree");
/// Signed checkpoints, by tree size.
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");

/// Opens a table for reading; a store from before the table existed reads as empty (None).
fn read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(backend_err(e)),
    }
}

/// The database settings of every redb file Garanti opens (the benchmark's baseline included).
fn builder() -> redb::Builder {
    // redb's page cache counts in the process's memory. Replays read sequentially and appends
    // touch the B-tree paths of one batch: measured, a 32 MiB cache imports faster than the 1 GiB
    // default and a 4.3 M event report needs 0.9 GiB less memory.
    let mut b = Database::builder();
    b.set_cache_size(32 << 20);
    b
}

/// The database, opened for writing or (a revisor's copy) read-only.
enum Db {
    Write(Database),
    Read(redb::ReadOnlyDatabase),
}

pub struct RedbStore {
    db: Db,
}

fn backend_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::Locked("redb file already open".into()),
        redb::Error::Corrupted(m) => StoreError::Corrupt(m),
        redb::Error::Io(io) => StoreError::io(&io),
        other => StoreError::Backend(other.to_string()),
    }
}

impl RedbStore {
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        let db = match mode {
            OpenMode::Create => {
                // A new file only: redb's `create` would also make a new database in an empty file.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(|e| StoreError::io(&e))?;
                let db = builder().create(path).map_err(backend_err)?;
                // Create the tables once so readers never meet a missing table.
                let txn = db.begin_write().map_err(backend_err)?;
                {
                    txn.open_table(RECORDS).map_err(backend_err)?;
                    txn.open_table(STREAMS).map_err(backend_err)?;
                    txn.open_table(KEYS).map_err(backend_err)?;
                    txn.open_table(META).map_err(backend_err)?;
                    txn.open_table(TREE).map_err(backend_err)?;
                    txn.open_table(CHECKPOINTS).map_err(backend_err)?;
                }
                txn.commit().map_err(backend_err)?;
                Db::Write(db)
            }
            OpenMode::Existing => Db::Write(builder().open(path).map_err(backend_err)?),
            OpenMode::ReadOnly => Db::Read(builder().open_read_only(path).map_err(backend_err)?),
        };
        Ok(RedbStore { db })
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        match &self.db {
            Db::Write(db) => db.begin_read().map_err(backend_err),
            Db::Read(db) => db.begin_read().map_err(backend_err),
        }
    }

    fn begin_write(&self) -> Result<redb::WriteTransaction, StoreError> {
        match &self.db {
            Db::Write(db) => db.begin_write().map_err(backend_err),
            Db::Read(_) => Err(StoreError::ReadOnly(
                "redb opened without write access".into(),
            )),
        }
    }
}

impl Storage for RedbStore {
    fn backend(&self) -> Backend {
        Backend::Redb
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(META).map_err(backend_err)?;
        match meta.get("head").map_err(backend_err)? {
            Some(v) => Ok(Some(head_from_bytes(v.value())?)),
            None => Ok(None),
        }
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(RECORDS).map_err(backend_err)?;
        match table.get(seq).map_err(backend_err)? {
            Some(v) => Ok(Some(
                RawRecord {
                    key: seq,
                    value: v.value(),
                }
                .to_stored()?,
            )),
            None => Ok(None),
        }
    }

    fn get_many(&self, seqs: &[u64]) -> Result<Vec<Option<StoredRecord>>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(RECORDS).map_err(backend_err)?;
        seqs.iter()
            .map(|seq| match table.get(*seq).map_err(backend_err)? {
                Some(v) => Ok(Some(
                    RawRecord {
                        key: *seq,
                        value: v.value(),
                    }
                    .to_stored()?,
                )),
                None => Ok(None),
            })
            .collect()
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
        let txn = self.begin_read()?;
        let table = txn.open_table(RECORDS).map_err(backend_err)?;
        for entry in table.range(from..to).map_err(backend_err)? {
            let (k, v) = entry.map_err(backend_err)?;
            if !visit(RawRecord {
                key: k.value(),
                value: v.value(),
            }) {
                break;
            }
        }
        Ok(())
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(STREAMS).map_err(backend_err)?;
        let last = table
            .range(stream_key(stream, 0).as_slice()..=stream_key(stream, u64::MAX).as_slice())
            .map_err(backend_err)?
            .next_back();
        match last {
            Some(entry) => Ok(split_stream_key(entry.map_err(backend_err)?.0.value())?.1),
            None => Ok(0),
        }
    }

    fn stream_versions(&self, streams: &[&str]) -> Result<Vec<u64>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(STREAMS).map_err(backend_err)?;
        let mut out = Vec::with_capacity(streams.len());
        for stream in streams {
            let last = table
                .range(stream_key(stream, 0).as_slice()..=stream_key(stream, u64::MAX).as_slice())
                .map_err(backend_err)?
                .next_back();
            out.push(match last {
                Some(entry) => split_stream_key(entry.map_err(backend_err)?.0.value())?.1,
                None => 0,
            });
        }
        Ok(out)
    }

    fn keys(&self, keys: &[&str]) -> Result<Vec<Option<u64>>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(KEYS).map_err(backend_err)?;
        keys.iter()
            .map(|k| Ok(table.get(*k).map_err(backend_err)?.map(|v| v.value())))
            .collect()
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(STREAMS).map_err(backend_err)?;
        let mut seqs = Vec::new();
        for entry in table
            .range(stream_key(stream, 0).as_slice()..=stream_key(stream, u64::MAX).as_slice())
            .map_err(backend_err)?
        {
            seqs.push(entry.map_err(backend_err)?.1.value());
        }
        Ok(seqs)
    }

    fn streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(STREAMS).map_err(backend_err)?;
        let mut out: Vec<(String, u64)> = Vec::new();
        for entry in table.iter().map_err(backend_err)? {
            let (k, _) = entry.map_err(backend_err)?;
            let (stream, version) = split_stream_key(k.value())?;
            match out.last_mut() {
                Some((s, v)) if s == stream => *v = version,
                _ => out.push((stream.to_owned(), version)),
            }
        }
        Ok(out)
    }

    fn key(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.begin_read()?;
        let table = txn.open_table(KEYS).map_err(backend_err)?;
        Ok(table.get(key).map_err(backend_err)?.map(|v| v.value()))
    }

    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        if batch.records.is_empty() && batch.tree.is_empty() {
            return Ok(());
        }
        // Durability::Immediate is redb's default: commit() returns after fsync.
        let txn = self.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS).map_err(backend_err)?;
            let mut streams = txn.open_table(STREAMS).map_err(backend_err)?;
            for p in &batch.records {
                records
                    .insert(p.seq, p.value.as_slice())
                    .map_err(backend_err)?;
                streams
                    .insert(stream_key(&p.stream, p.stream_version).as_slice(), p.seq)
                    .map_err(backend_err)?;
            }
            let mut keys = txn.open_table(KEYS).map_err(backend_err)?;
            for (key, seq) in &batch.keys {
                keys.insert(key.as_str(), *seq).map_err(backend_err)?;
            }
            let mut tree = txn.open_table(TREE).map_err(backend_err)?;
            for (chunk, mut updates) in tree_chunk_updates(&batch.tree) {
                let existing = tree
                    .get(chunk)
                    .map_err(backend_err)?
                    .map(|v| v.value().to_vec())
                    .unwrap_or_default();
                let value = merge_tree_chunk(chunk, &existing, &mut updates)?;
                tree.insert(chunk, value.as_slice()).map_err(backend_err)?;
            }
            if let Some(head) = batch.head() {
                let mut meta = txn.open_table(META).map_err(backend_err)?;
                meta.insert("head", head_bytes(&head).as_slice())
                    .map_err(backend_err)?;
            }
        }
        txn.commit().map_err(backend_err)
    }

    fn tree_hashes(&self, keys: &[u64]) -> Result<Vec<Option<TreeHash>>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = read_table(&txn, TREE)? else {
            return Ok(vec![None; keys.len()]);
        };
        keys.iter()
            .map(|k| {
                let (chunk, at) = tree_chunk(*k);
                Ok(table
                    .get(chunk)
                    .map_err(backend_err)?
                    .and_then(|v| tree_chunk_hash(v.value(), at)))
            })
            .collect()
    }

    fn tree_range(&self, from: u64, to: u64) -> Result<Vec<(u64, TreeHash)>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = read_table(&txn, TREE)?.filter(|_| from < to) else {
            return Ok(Vec::new());
        };
        let (first, _) = tree_chunk(from);
        let (last, _) = tree_chunk(to - 1);
        let mut out = Vec::new();
        for entry in table.range(first..=last).map_err(backend_err)? {
            let (k, v) = entry.map_err(backend_err)?;
            out.extend(
                tree_chunk_hashes(k.value(), v.value())?.filter(|(k, _)| (from..to).contains(k)),
            );
        }
        Ok(out)
    }

    fn tree_size(&self) -> Result<u64, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = read_table(&txn, TREE)? else {
            return Ok(0);
        };
        let last = table.last().map_err(backend_err)?;
        match last {
            Some((k, v)) => {
                let last_key = tree_chunk_hashes(k.value(), v.value())?
                    .last()
                    .map(|(k, _)| k);
                Ok(last_key.map_or(0, tree_size_after))
            }
            None => Ok(0),
        }
    }

    fn put_checkpoint(&self, size: u64, value: &[u8]) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(CHECKPOINTS).map_err(backend_err)?;
            table.insert(size, value).map_err(backend_err)?;
        }
        txn.commit().map_err(backend_err)
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = read_table(&txn, CHECKPOINTS)? else {
            return Ok(None);
        };
        Ok(table
            .get(size)
            .map_err(backend_err)?
            .map(|v| v.value().to_vec()))
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = read_table(&txn, CHECKPOINTS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(backend_err)? {
            let (k, v) = entry.map_err(backend_err)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.begin_write()?.commit().map_err(backend_err)
    }

    fn overwrite_raw(&self, seq: u64, value: Option<&[u8]>) -> Result<(), StoreError> {
        let txn = self.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS).map_err(backend_err)?;
            match value {
                Some(v) => {
                    records.insert(seq, v).map_err(backend_err)?;
                }
                None => {
                    records.remove(seq).map_err(backend_err)?;
                }
            }
        }
        txn.commit().map_err(backend_err)
    }
}

/// Baseline for benchmarks: inserts `values` under keys 0.. in durable batches into a fresh table,
/// with nothing else (no hashing, no index, no head).
pub fn raw_insert(path: &Path, values: &[Vec<u8>], batch: usize) -> Result<(), StoreError> {
    const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");
    let db = builder().create(path).map_err(backend_err)?;
    for (i, chunk) in values.chunks(batch.max(1)).enumerate() {
        let txn = db.begin_write().map_err(backend_err)?;
        {
            let mut table = txn.open_table(RAW).map_err(backend_err)?;
            for (j, v) in chunk.iter().enumerate() {
                table
                    .insert((i * batch + j) as u64, v.as_slice())
                    .map_err(backend_err)?;
            }
        }
        txn.commit().map_err(backend_err)?;
    }
    Ok(())
}
