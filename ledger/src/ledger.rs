//! The ledger: a data directory, one writer, appends that are all-or-nothing and durable before they
//! are acknowledged, and reads by seq, by stream and of the head.

use crate::datadir::{self, Acknowledged, HeadFile};
use crate::merkle::{self, Frontier, TreeHash};
use crate::record::{
    seal, Hash, Head, NewEvent, RecordView, StoredRecord, Timestamp, GENESIS_PREV_HASH,
    MAX_RECORD_BYTES,
};
use crate::storage::{
    self, Backend, CommitBatch, OpenMode, PendingRecord, RawRecord, Storage, StoreError,
};
use crate::verify::{ChainChecker, ChainFault, FaultKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

pub use crate::datadir::{Access, MARKER_FILE};

/// A condition one event of a batch puts on the ledger's unique keys. The domain says which keys
/// an event claims or needs (e.g. a sanction id); the ledger checks them atomically with the append,
/// so that concurrent appends cannot both pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// The key must not be claimed yet (in the ledger or earlier in the batch); the event claims it.
    Unique {
        key: String,
        event: usize,
        field: String,
        message: String,
    },
    /// The key must already be claimed, in the ledger or by an earlier event of the batch.
    Exists {
        key: String,
        event: usize,
        field: String,
        message: String,
    },
}

/// One append: a batch of events, written all or nothing.
#[derive(Debug, Clone)]
pub struct Append {
    pub events: Vec<NewEvent>,
    pub constraints: Vec<Constraint>,
    /// Optimistic concurrency: (stream, the version it must have before this batch).
    pub expected_versions: Vec<(String, u64)>,
    /// Who handed the batch to the ledger (an API token's id, or `cli`).
    pub appended_by: String,
    /// The ledger's clock at the append, read by the caller.
    pub appended_at: Timestamp,
}

/// Where each event of an acknowledged append went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// (seq, stream version) of each event, in batch order.
    pub positions: Vec<(u64, u64)>,
    pub head: Option<Head>,
}

/// Why an append was refused. Nothing of the batch was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("version conflict on stream {stream}: expected version {expected}, it is at version {current}; re-read the stream and retry")]
    VersionConflict {
        stream: String,
        expected: u64,
        current: u64,
    },
    #[error("event {event}, field `{field}`: {}", with_claim(message, *claimed_by))]
    Constraint {
        event: usize,
        field: String,
        message: String,
        /// The seq of the record that claimed the key, when the refusal is a key taken before.
        claimed_by: Option<u64>,
    },
    /// An event too large to be stored as one record ([`MAX_RECORD_BYTES`]): nothing of the batch
    /// was written. Not a conflict with the ledger: the event itself is refused.
    #[error("event {event}: {message}")]
    TooLarge { event: usize, message: String },
    /// The disk is full: nothing of the batch was written; retry once there is room.
    #[error("the disk is full ({0}); nothing was written: retry once there is room")]
    StorageFull(String),
    #[error("{0}")]
    Storage(String),
}

impl From<&StoreError> for AppendError {
    fn from(e: &StoreError) -> AppendError {
        match e {
            StoreError::Full(m) => AppendError::StorageFull(m.clone()),
            other => AppendError::Storage(other.to_string()),
        }
    }
}

/// A refusal's message with the seq of the record that claimed the key, if there is one.
pub fn with_claim(message: &str, claimed_by: Option<u64>) -> String {
    match claimed_by {
        Some(seq) => format!("{message} (seq {seq})"),
        None => message.to_owned(),
    }
}

/// Errors of opening and reading a ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("data directory {dir}: {message}")]
    DataDir { dir: PathBuf, message: String },
    #[error("record seq {seq} is damaged: {message}; run `garanti verify`")]
    Damaged { seq: u64, message: String },
    /// A proof, tile or checkpoint asked of the tree that it cannot give.
    #[error("{0}")]
    Tree(String),
    /// The store is smaller than, or different from, what the ledger acknowledged.
    #[error("data directory {dir}: {message}: the store was rolled back or replaced. Nothing was changed. Restore the whole data directory (the store, {MARKER} and {HEAD} together) from one backup, or find the store that was acknowledged", MARKER = datadir::MARKER_FILE, HEAD = datadir::HEAD_FILE)]
    RolledBack { dir: PathBuf, message: String },
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record checked out; the head (None for an empty ledger), the count, the Merkle
    /// tree's root recomputed from the records, and the root at the size asked for, if any.
    Intact {
        head: Option<Head>,
        records: u64,
        root: TreeHash,
        marked: Option<TreeHash>,
    },
    /// The first bad place.
    Broken(ChainFault),
}

/// Whether the store takes writes, as the last commit (or probe) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// The disk was full at the last write.
    Full(String),
    /// The last write failed otherwise, or the store could not be reopened after it.
    Failing(String),
}

pub struct Ledger {
    dir: PathBuf,
    backend: Backend,
    read_only: bool,
    /// The store. Replaced (under the writer lock, then this lock) when it is reopened after a
    /// failed commit, so that nothing the failed commit left in the backend's memory is read.
    storage: RwLock<Box<dyn Storage>>,
    /// The writer lock, holding the head: appends are serialised here.
    writer: Mutex<Writer>,
    /// Set from a failed commit until a commit or probe succeeds.
    health: Mutex<Health>,
}

/// What the single writer owns.
struct Writer {
    head: Option<Head>,
    /// The right edge of the Merkle tree over the records up to the head.
    tree: Frontier,
    /// Where every acknowledged head is recorded outside the store (None when read-only).
    head_file: Option<HeadFile>,
    /// The last commit failed: the store is reopened before anything else is written.
    reopen: bool,
}

/// The store, borrowed for reading (see [`Ledger::storage`]).
pub struct StorageGuard<'a>(RwLockReadGuard<'a, Box<dyn Storage>>);

impl std::ops::Deref for StorageGuard<'_> {
    type Target = dyn Storage;
    fn deref(&self) -> &(dyn Storage + 'static) {
        self.0.as_ref()
    }
}

fn data_dir_err(dir: &Path, message: impl Into<String>) -> LedgerError {
    LedgerError::DataDir {
        dir: dir.into(),
        message: message.into(),
    }
}

/// The other backend.
fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Redb => Backend::Sled,
        Backend::Sled => Backend::Redb,
    }
}

fn remove_path(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// What the directory holds, in words, for messages.
fn found(dir: &Path) -> String {
    match datadir::entries(dir) {
        Ok(names) if names.is_empty() => "it is empty".into(),
        Ok(names) => format!(
            "it holds {}",
            names
                .iter()
                .map(|n| datadir::describe(&dir.join(n)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => format!("it cannot be listed: {}", datadir::io_words(&e)),
    }
}

impl Ledger {
    /// Opens the ledger in `dir`, making it if there is none (`Access::Create`).
    pub fn open(dir: &Path, backend: Option<Backend>) -> Result<Ledger, LedgerError> {
        Ledger::open_as(dir, backend, Access::Create)
    }

    /// Opens the ledger in `dir` as `access` says. `backend`: the one asked for, or None for the
    /// one the directory was made with (redb for a new directory). Never deletes a store: what
    /// is not whole, not ours or smaller than what was acknowledged is refused with what was found.
    pub fn open_as(
        dir: &Path,
        backend: Option<Backend>,
        access: Access,
    ) -> Result<Ledger, LedgerError> {
        let marker = match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => datadir::read_marker(dir).map_err(|m| data_dir_err(dir, m))?,
            Ok(_) => return Err(data_dir_err(dir, "it is a file, not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && access == Access::Create => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(data_dir_err(
                    dir,
                    "there is no such directory; give the data directory with --data (or GARANTI_DATA), or make a ledger with `garanti import` or `garanti demo`",
                ))
            }
            Err(e) => return Err(data_dir_err(dir, datadir::io_words(&e))),
        };
        match marker {
            Some(marker) => Ledger::open_existing(dir, backend, &marker, access),
            None if access == Access::Create => {
                Ledger::create(dir, backend.unwrap_or(Backend::Redb))
            }
            None => Err(data_dir_err(
                dir,
                format!(
                    "it has no {}, so it is not a garanti data directory ({}); nothing was changed. Check --data, or make a ledger with `garanti import` or `garanti demo`. If you restored a store from a backup, restore {} and {} from the same backup",
                    datadir::MARKER_FILE,
                    found(dir),
                    datadir::MARKER_FILE,
                    datadir::HEAD_FILE
                ),
            )),
        }
    }

    /// Makes a new data directory. The creation-in-progress file is written first; the store is
    /// made under a temporary name and renamed into place; the marker is written last. A directory
    /// that holds anything but what an unfinished creation leaves is refused.
    fn create(dir: &Path, backend: Backend) -> Result<Ledger, LedgerError> {
        let io = |what: &str, e: std::io::Error| {
            data_dir_err(dir, format!("cannot {what}: {}", datadir::io_words(&e)))
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create it", e))?;
        let names = datadir::entries(dir).map_err(|e| io("list it", e))?;
        let unfinished = names.iter().any(|n| n == datadir::CREATING_FILE);
        let strangers = names
            .iter()
            .filter(|n| !(unfinished && Ledger::left_by_creation(dir, n)))
            .count();
        if strangers > 0 {
            return Err(data_dir_err(
                dir,
                format!(
                    "it is not empty and has no {}, so it is not a garanti data directory ({}); nothing was changed. Give an empty or new directory with --data{}",
                    datadir::MARKER_FILE,
                    found(dir),
                    if unfinished {
                        ", or, if these files are what an interrupted creation left, remove them yourself"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if unfinished {
            // Positive evidence of an unfinished creation: clear what it left and start again.
            for b in [Backend::Redb, Backend::Sled] {
                let path = dir.join(datadir::store_name(b));
                if path.exists() {
                    remove_path(&path).map_err(|e| io("clear an unfinished creation", e))?;
                }
            }
            datadir::remove_creation_leftovers(dir)
                .map_err(|e| io("clear an unfinished creation", e))?;
        }
        datadir::begin_creation(dir).map_err(|e| io("start making it", e))?;
        let creating = dir.join(datadir::creating_name(backend));
        drop(storage::open(backend, &creating, OpenMode::Create)?);
        std::fs::rename(&creating, dir.join(datadir::store_name(backend)))
            .and_then(|()| datadir::sync_dir(dir))
            .map_err(|e| io("put the new store in place", e))?;
        let head_file = HeadFile::create(dir, Acknowledged::of(None))
            .map_err(|e| io(&format!("write {}", datadir::HEAD_FILE), e))?;
        datadir::finish_creation(dir, backend)
            .map_err(|e| io(&format!("write {}", datadir::MARKER_FILE), e))?;
        let storage = storage::open(
            backend,
            &dir.join(datadir::store_name(backend)),
            OpenMode::Existing,
        )?;
        Ledger::assemble(dir, backend, false, storage, None, Some(head_file))
    }

    /// Whether `name`, in a directory with the creation-in-progress file, is what an unfinished
    /// creation leaves: our temporary files, or a store under its final name holding no record.
    fn left_by_creation(dir: &Path, name: &str) -> bool {
        if datadir::is_creation_leftover(name) || name == datadir::HEAD_FILE {
            return true;
        }
        [Backend::Redb, Backend::Sled].into_iter().any(|b| {
            name == datadir::store_name(b)
                && storage::open(b, &dir.join(name), OpenMode::Existing)
                    .and_then(|s| s.head())
                    .is_ok_and(|h| h.is_none())
        })
    }

    fn open_existing(
        dir: &Path,
        asked: Option<Backend>,
        marker: &datadir::Marker,
        access: Access,
    ) -> Result<Ledger, LedgerError> {
        let backend = Backend::parse(&marker.backend).ok_or_else(|| {
            data_dir_err(
                dir,
                format!("it was made by an unknown backend {:?}", marker.backend),
            )
        })?;
        if marker.record_format != crate::record::RECORD_FORMAT.to_string() {
            return Err(data_dir_err(
                dir,
                format!(
                    "it holds record format {}; this garanti reads format {}",
                    marker.record_format,
                    crate::record::RECORD_FORMAT
                ),
            ));
        }
        if let Some(asked) = asked.filter(|a| *a != backend) {
            return Err(data_dir_err(dir, format!(
                "it was made with the {backend} backend, not {asked}; run with --store {backend} (or leave --store out)"
            )));
        }
        let path = dir.join(datadir::store_name(backend));
        Ledger::check_store_file(dir, backend, &path)?;
        let (storage, read_only) = Ledger::open_store(dir, backend, &path, access)?;
        let head = storage.head()?;
        let head_file =
            Ledger::check_acknowledged(dir, backend, marker, storage.as_ref(), head, read_only)?;
        Ledger::assemble(dir, backend, read_only, storage, head, head_file)
    }

    /// The store named by the marker must be there, not empty, and alone.
    fn check_store_file(dir: &Path, backend: Backend, path: &Path) -> Result<(), LedgerError> {
        let name = datadir::store_name(backend);
        let foreign = dir.join(datadir::store_name(other(backend)));
        if foreign.exists() {
            return Err(data_dir_err(dir, format!(
                "{} says the store is {name}, but the directory also holds {}, another backend's store; nothing was changed. Move whichever does not belong here elsewhere",
                datadir::MARKER_FILE,
                datadir::describe(&foreign)
            )));
        }
        match std::fs::metadata(path) {
            Ok(m) if backend == Backend::Redb && m.len() == 0 => Err(data_dir_err(dir, format!(
                "its store {name} is empty (0 bytes), though {} says there is a ledger; nothing was changed. Restore {name} from a backup",
                datadir::MARKER_FILE
            ))),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(data_dir_err(dir, format!(
                "its store {name} is missing, though {} says there is a ledger ({}); nothing was changed. Restore {name} from a backup",
                datadir::MARKER_FILE,
                found(dir)
            ))),
            Err(e) => Err(data_dir_err(dir, format!("{name}: {}", datadir::io_words(&e)))),
        }
    }

    /// Opens the store for writing; for `Access::Read`, read-only when this user may not write it.
    fn open_store(
        dir: &Path,
        backend: Backend,
        path: &Path,
        access: Access,
    ) -> Result<(Box<dyn Storage>, bool), LedgerError> {
        match storage::open(backend, path, OpenMode::Existing) {
            Ok(s) => Ok((s, false)),
            Err(e @ StoreError::Denied(_)) if access == Access::Read => {
                match storage::open(backend, path, OpenMode::ReadOnly) {
                    Ok(s) => Ok((s, true)),
                    Err(ro) => Err(data_dir_err(dir, format!(
                        "{} cannot be opened for writing ({e}) nor read-only ({ro}); this command needs read access to {} and {}",
                        datadir::store_name(backend),
                        path.display(),
                        dir.join(datadir::HEAD_FILE).display()
                    ))),
                }
            }
            Err(e @ StoreError::Denied(_)) => Err(data_dir_err(dir, format!(
                "{} cannot be opened for writing: {e}; appending needs write access to {} and to the directory",
                datadir::store_name(backend),
                path.display()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The store must hold every record the ledger acknowledged, the last one unchanged. A head
    /// file is made for a directory from before head files; a store ahead of it (a crash between
    /// the store's commit and the head file's write) moves it on.
    fn check_acknowledged(
        dir: &Path,
        backend: Backend,
        marker: &datadir::Marker,
        storage: &dyn Storage,
        head: Option<Head>,
        read_only: bool,
    ) -> Result<Option<HeadFile>, LedgerError> {
        let io = |e: std::io::Error| {
            data_dir_err(
                dir,
                format!(
                    "cannot write {}: {}",
                    datadir::HEAD_FILE,
                    datadir::io_words(&e)
                ),
            )
        };
        if !marker.head_file {
            if read_only {
                return Ok(None);
            }
            let file = HeadFile::create(dir, Acknowledged::of(head)).map_err(io)?;
            datadir::write_marker(dir, backend).map_err(io)?;
            return Ok(Some(file));
        }
        let (mut file, acknowledged) =
            HeadFile::open(dir, !read_only).map_err(|e| data_dir_err(dir, e.to_string()))?;
        let held = head.map_or(0, |h| h.seq + 1);
        if held < acknowledged.records {
            return Err(LedgerError::RolledBack {
                dir: dir.into(),
                message: format!(
                    "the store holds {held} records but {} were acknowledged",
                    acknowledged.records
                ),
            });
        }
        if let Some(ack) = acknowledged.head() {
            let stored = storage.get(ack.seq)?;
            if stored.as_ref().map(|r| r.hash) != Some(ack.hash) {
                return Err(LedgerError::RolledBack {
                    dir: dir.into(),
                    message: format!(
                        "the acknowledged record seq {} has hash {}, but the store's record there {}",
                        ack.seq,
                        ack.hash_hex(),
                        stored.map_or("is missing".into(), |r| format!(
                            "has hash {}",
                            hex::encode(r.hash)
                        ))
                    ),
                });
            }
        }
        if let Some(f) = file.as_mut().filter(|_| held > acknowledged.records) {
            f.record(Acknowledged::of(head)).map_err(io)?;
        }
        Ok(file)
    }

    fn assemble(
        dir: &Path,
        backend: Backend,
        read_only: bool,
        storage: Box<dyn Storage>,
        head: Option<Head>,
        head_file: Option<HeadFile>,
    ) -> Result<Ledger, LedgerError> {
        let tree = tree_at_open(storage.as_ref(), head, read_only)?;
        Ok(Ledger {
            dir: dir.into(),
            backend,
            read_only,
            storage: RwLock::new(storage),
            writer: Mutex::new(Writer {
                head,
                tree,
                head_file,
                reopen: false,
            }),
            health: Mutex::new(Health::Ok),
        })
    }

    /// Whether the store was opened read-only (appends are refused).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store itself, for forensics and tamper tests.
    pub fn storage(&self) -> StorageGuard<'_> {
        StorageGuard(self.storage.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn head(&self) -> Option<Head> {
        self.writer().head
    }

    /// The Merkle tree's right edge at the head (its size and root).
    pub fn tree(&self) -> Frontier {
        self.writer().tree.clone()
    }

    /// Whether the store takes writes, as the last commit found. After a failed commit, asks the
    /// store again (reopening it if needed and committing nothing): a disk that has room again
    /// is seen here, before the next append.
    pub fn health(&self) -> Health {
        let now = self.health_now();
        if now == Health::Ok || self.read_only {
            return now;
        }
        let mut writer = self.writer();
        if let Health::Full(_) = now {
            // An empty commit needs no new room: ask the disk itself for some first.
            if let Err(e) = datadir::probe_room(&self.dir) {
                self.set_health(Health::Full(datadir::io_words(&e)));
                return self.health_now();
            }
        }
        if self.reopen_if_needed(&mut writer).is_ok() {
            let probed = self.storage().probe();
            match probed {
                Ok(()) => self.set_health(Health::Ok),
                Err(e) => {
                    self.failed(&mut writer, e);
                }
            }
        }
        self.health_now()
    }

    /// The store's state as the last write found it, without asking it again.
    pub fn health_now(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_health(&self, health: Health) {
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }

    /// A commit failed: remember it; the store is reopened before the next write (and, by
    /// `append_group`, at once), so that nothing the failed commit left in the backend's memory is
    /// read or built on.
    fn failed(&self, writer: &mut Writer, e: StoreError) -> AppendError {
        let e = self.classify(e);
        self.set_health(match &e {
            StoreError::Full(m) => Health::Full(m.clone()),
            other => Health::Failing(other.to_string()),
        });
        writer.reopen = true;
        AppendError::from(&e)
    }

    /// A backend may report a full disk as something else (sled: "corrupted data" after its write
    /// failed with ENOSPC, or an open that cannot write): the disk itself is asked.
    fn classify(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Full(m) => StoreError::Full(m),
            other => match datadir::probe_room(&self.dir) {
                Err(full) if full.kind() == std::io::ErrorKind::StorageFull => {
                    StoreError::Full(format!("{other}; {full}"))
                }
                _ => other,
            },
        }
    }

    /// Reopens the store after a failed commit: the old handle is closed at once (nothing the
    /// failed commit left in its memory may be read), the new one opened once the disk has room.
    /// The reopened store must hold every record the ledger acknowledged: if it holds more (a
    /// commit that failed after it was durable), the ledger goes on from there, since those
    /// records are chained and whole.
    fn reopen_if_needed(&self, writer: &mut Writer) -> Result<(), AppendError> {
        if !writer.reopen {
            return Ok(());
        }
        let mut storage = self.storage.write().unwrap_or_else(|p| p.into_inner());
        // The old handle goes first: a store is opened by one handle at a time.
        *storage = Box::new(storage::Closed::new(
            self.backend,
            StoreError::Backend("reopening".into()),
        ));
        let reopened = self.reopen(writer.head).and_then(|(store, head)| {
            let tree = tree_at_open(store.as_ref(), head, false).map_err(|e| match e {
                LedgerError::Store(s) => s,
                other => StoreError::Corrupt(other.to_string()),
            })?;
            Ok((store, head, tree))
        });
        let (store, head, tree) = match reopened {
            Ok(reopened) => reopened,
            Err(e) => {
                let answer = AppendError::from(&e);
                *storage = Box::new(storage::Closed::new(self.backend, e));
                return Err(answer);
            }
        };
        *storage = store;
        drop(storage);
        writer.head = head;
        writer.tree = tree;
        if let Some(f) = writer.head_file.as_mut() {
            f.record(Acknowledged::of(head))
                .map_err(|e| AppendError::from(&StoreError::io(&e)))?;
        }
        writer.reopen = false;
        Ok(())
    }

    /// Opens the store again, only on a disk with room: a backend may write as it opens (sled
    /// writes a snapshot), and such a write cut short by a full disk left a sled store that
    /// could not be read back at all.
    fn reopen(
        &self,
        acknowledged: Option<Head>,
    ) -> Result<(Box<dyn Storage>, Option<Head>), StoreError> {
        datadir::probe_room(&self.dir).map_err(|e| StoreError::io(&e))?;
        let path = self.dir.join(datadir::store_name(self.backend));
        let store =
            storage::open(self.backend, &path, OpenMode::Existing).map_err(|e| self.classify(e))?;
        let head = store.head()?;
        let held = head.map_or(0, |h| h.seq + 1);
        let acknowledged = acknowledged.map_or(0, |h| h.seq + 1);
        if held < acknowledged {
            return Err(StoreError::Corrupt(format!(
                "after reopening, the store holds {held} records but {acknowledged} were acknowledged; stop the server"
            )));
        }
        Ok((store, head))
    }

    /// The seq the next appended record gets.
    pub fn next_seq(&self) -> u64 {
        self.head().map_or(0, |h| h.seq + 1)
    }

    pub fn get(&self, seq: u64) -> Result<Option<StoredRecord>, LedgerError> {
        Ok(self.storage().get(seq)?)
    }

    /// Visits the stored records with `from <= seq < to`, in order, until `visit` returns false.
    /// Records are not checked against the chain: use [`Ledger::verify`] for that.
    pub fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(&StoredRecord) -> bool,
    ) -> Result<(), LedgerError> {
        let mut damaged = None;
        self.storage()
            .scan(from, to, &mut |raw: RawRecord<'_>| match raw.to_stored() {
                Ok(rec) => visit(&rec),
                Err(e) => {
                    damaged = Some(LedgerError::Damaged {
                        seq: raw.key,
                        message: e.to_string(),
                    });
                    false
                }
            })?;
        damaged.map_or(Ok(()), Err)
    }

    /// The stream's records in version order, through the stream index.
    pub fn stream(&self, stream: &str) -> Result<Vec<StoredRecord>, LedgerError> {
        let storage = self.storage();
        let seqs = storage.stream_seqs(stream)?;
        let records = storage.get_many(&seqs)?;
        seqs.into_iter()
            .zip(records)
            .map(|(seq, rec)| {
                rec.ok_or_else(|| LedgerError::Damaged {
                    seq,
                    message: format!("the stream index of {stream} names it but it is not stored"),
                })
            })
            .collect()
    }

    pub fn stream_version(&self, stream: &str) -> Result<u64, LedgerError> {
        Ok(self.storage().stream_version(stream)?)
    }

    /// Every stream with its current version.
    pub fn streams(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        Ok(self.storage().streams()?)
    }

    /// The seq of the record that claimed a unique key, if any.
    pub fn key(&self, key: &str) -> Result<Option<u64>, LedgerError> {
        Ok(self.storage().key(key)?)
    }

    /// Appends one batch, all or nothing, durable before it returns.
    pub fn append(&self, append: Append) -> Result<Receipt, AppendError> {
        self.append_group(vec![append])
            .pop()
            .unwrap_or_else(|| Err(AppendError::Storage("no result".into())))
    }

    /// Adds the batch's records to the Merkle tree, writes the batch with the tree's new hashes
    /// durably, and records its head outside the store, in that order: a crash between the two
    /// leaves a store ahead of the head file, which the next open accepts. The tree is grown here,
    /// by the committing thread, while the next batch is being checked and sealed.
    fn commit(&self, writer: &mut Writer, batch: &mut CommitBatch) -> Result<(), AppendError> {
        let mut tree = writer.tree.clone();
        batch.tree.clear();
        for p in &batch.records {
            let bytes = &p.value[storage::CHAIN_FIELDS_LEN..];
            tree.push(merkle::leaf_hash(bytes), &mut |k, h| {
                batch.tree.push((k, h))
            });
        }
        let committed = self.storage().commit(batch);
        if let Err(e) = committed {
            return Err(self.failed(writer, e));
        }
        writer.head = batch.head().or(writer.head);
        writer.tree = tree;
        if let Some(f) = writer.head_file.as_mut() {
            if let Err(e) = f.record(Acknowledged::of(writer.head)) {
                return Err(self.failed(writer, StoreError::io(&e)));
            }
        }
        self.set_health(Health::Ok);
        Ok(())
    }

    /// Refuses an append to a read-only store, or while the store cannot be reopened.
    fn writable(&self, writer: &mut Writer) -> Result<(), AppendError> {
        if self.read_only {
            return Err(AppendError::Storage(
                StoreError::ReadOnly("this user may not write the data directory".into())
                    .to_string(),
            ));
        }
        self.reopen_if_needed(writer)
    }

    /// Group commit: checks each batch in turn (later batches see the earlier accepted ones), then
    /// writes every accepted batch in one durable commit. A refused batch writes nothing and does
    /// not affect the others.
    pub fn append_group(&self, appends: Vec<Append>) -> Vec<Result<Receipt, AppendError>> {
        let mut writer = self.writer();
        if let Err(e) = self.writable(&mut writer) {
            return appends.iter().map(|_| Err(e.clone())).collect();
        }
        let storage = self.storage();
        let mut group = Group::new(&*storage, writer.head);
        // Many small appends (an API's) share one read of storage instead of two each.
        let prefetched = if appends.len() > 1 {
            group.prefetch(&appends)
        } else {
            Ok(())
        };
        let mut results: Vec<Result<Receipt, AppendError>> = match prefetched {
            Ok(()) => appends
                .into_iter()
                .map(|append| group.try_add(append))
                .collect(),
            Err(e) => appends.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut batch = group.batch;
        drop(storage);
        if batch.records.is_empty() {
            return results;
        }
        if let Err(e) = self.commit(&mut writer, &mut batch) {
            // No read of the store is under way here: reopen it now (a failure stays for later).
            let _ = self.reopen_if_needed(&mut writer);
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(e.clone());
            }
        }
        results
    }

    /// Appends batches one after another, each all or nothing and durable before `done` is called
    /// for it, while the next batch is already being checked and sealed: commit I/O overlaps with
    /// preparation. At most one batch is in flight. Stops at the first refused or failed batch (its
    /// error goes to `done`; nothing of it, and nothing after it, is written), when `next` returns
    /// None, or when `done` returns false.
    pub fn append_each(
        &self,
        next: &mut dyn FnMut() -> Option<Append>,
        done: &mut dyn FnMut(Result<Receipt, AppendError>) -> bool,
    ) {
        let mut writer = self.writer();
        if let Err(e) = self.writable(&mut writer) {
            done(Err(e));
            return;
        }
        let start_head = writer.head;
        let writer = &mut *writer;
        std::thread::scope(|scope| {
            let (to_commit, commits) = std::sync::mpsc::sync_channel::<CommitBatch>(1);
            let (to_report, reports) = std::sync::mpsc::sync_channel::<Result<(), AppendError>>(1);
            scope.spawn(move || {
                for mut batch in commits {
                    if to_report.send(self.commit(writer, &mut batch)).is_err() {
                        return;
                    }
                }
            });
            let storage = self.storage();
            // The batch being committed: its receipt, and the versions and keys it settles.
            let mut in_flight: Option<InFlight> = None;
            let mut prepared_head = start_head;
            // Waits for the batch in flight; true if it is durable and the caller wants more.
            let settle = |in_flight: &mut Option<InFlight>,
                          done: &mut dyn FnMut(Result<Receipt, AppendError>) -> bool|
             -> bool {
                let Some((receipt, _, _)) = in_flight.take() else {
                    return true;
                };
                match reports.recv() {
                    Ok(Ok(())) => done(Ok(receipt)),
                    Ok(Err(e)) => {
                        done(Err(e));
                        false
                    }
                    Err(_) => {
                        done(Err(AppendError::Storage(
                            "the committing thread stopped".into(),
                        )));
                        false
                    }
                }
            };
            while let Some(append) = next() {
                let (versions, keys) = match &mut in_flight {
                    Some((_, v, k)) => (std::mem::take(v), std::mem::take(k)),
                    None => (HashMap::new(), HashMap::new()),
                };
                let mut group = Group::new(&*storage, prepared_head);
                group.versions = versions;
                group.keys = keys;
                let prepared = group.try_add(append);
                // The batch before must be durable before this one goes to storage.
                if !settle(&mut in_flight, done) {
                    return;
                }
                match prepared {
                    Ok(receipt) if group.batch.records.is_empty() => {
                        if !done(Ok(receipt)) {
                            return;
                        }
                    }
                    Ok(receipt) => {
                        prepared_head = group.head;
                        // What this batch settles, for checking the next one while it commits.
                        let versions: HashMap<String, u64> = group
                            .batch
                            .records
                            .iter()
                            .map(|p| (p.stream.clone(), p.stream_version))
                            .collect();
                        let keys: HashMap<String, u64> = group.batch.keys.iter().cloned().collect();
                        if to_commit.send(group.batch).is_err() {
                            done(Err(AppendError::Storage(
                                "the committing thread stopped".into(),
                            )));
                            return;
                        }
                        in_flight = Some((receipt, versions, keys));
                    }
                    Err(e) => {
                        done(Err(e));
                        return;
                    }
                }
            }
            settle(&mut in_flight, done);
        });
    }

    /// Walks the whole chain from genesis and compares its end with the stored head, and the
    /// Merkle tree recomputed from the records with the stored one.
    /// `progress` is called with the number of records checked so far, from time to time.
    pub fn verify(&self, progress: &mut dyn FnMut(u64)) -> Result<Verdict, LedgerError> {
        self.verify_marked(None, progress)
    }

    /// [`Ledger::verify`], also giving the root of the tree of the first `mark` records,
    /// recomputed from the records (for checking a checkpoint of that size).
    ///
    /// The chain is checked in as many segments as there are cores, one thread each: every record
    /// carries its `prev_hash`, so each segment checks its own records and links, and the links
    /// between segments are checked at the end. Segments start at multiples of a power of two, so
    /// each one's tree is a run of whole subtrees that joins the one before. The first fault in
    /// seq order is reported.
    pub fn verify_marked(
        &self,
        mark: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Verdict, LedgerError> {
        let storage = self.storage();
        let storage: &dyn Storage = &*storage;
        let stored_head = storage.head()?;
        let end = stored_head.map_or(0, |h| h.seq + 1);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        // A power of two at most the fair share: up to twice as many segments as cores, none
        // more than twice another's size but the last.
        let fair = (end / threads).max(65_536);
        let per = if fair.is_power_of_two() {
            fair
        } else {
            fair.next_power_of_two() / 2
        };
        let mut bounds: Vec<(u64, u64)> = (0..)
            .map(|i| (i * per, (i + 1) * per))
            .take_while(|(from, _)| *from < end.max(1))
            .collect();
        if let Some(last) = bounds.last_mut() {
            last.1 = u64::MAX;
        }
        let checked = std::sync::atomic::AtomicU64::new(0);
        let segments: Vec<Result<Segment, StoreError>> = std::thread::scope(|scope| {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let handles: Vec<_> = bounds
                .iter()
                .map(|&(from, to)| {
                    let checked = &checked;
                    let done = done_tx.clone();
                    scope.spawn(move || {
                        let result = verify_segment(storage, from, to, mark, checked);
                        let _ = done.send(());
                        result
                    })
                })
                .collect();
            // Report progress from this thread until every segment is done.
            let mut running = handles.len();
            while running > 0 {
                match done_rx.recv_timeout(std::time::Duration::from_millis(100)) {
                    Ok(()) => running -= 1,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
                progress(checked.load(std::sync::atomic::Ordering::Relaxed));
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(StoreError::Backend("a verify thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut checker_head: Option<Head> = None;
        let mut count = 0u64;
        let mut tree = Frontier::new();
        let mut marked = (mark == Some(0)).then(merkle::empty_root);
        for segment in segments {
            let segment = segment?;
            // The segment's first record must link to the previous segment's last.
            if let Some((first_seq, first_prev)) = segment.first {
                let expected = checker_head.map_or(GENESIS_PREV_HASH, |h| h.hash);
                if first_prev != expected {
                    return Ok(Verdict::Broken(ChainFault {
                        seq: first_seq,
                        kind: FaultKind::BrokenLink {
                            stored: hex::encode(first_prev),
                            expected: hex::encode(expected),
                        },
                    }));
                }
            }
            if let Some(f) = segment.fault {
                return Ok(Verdict::Broken(f));
            }
            if let Some(part) = &segment.marked {
                let mut upto = tree.clone();
                upto.extend(part);
                marked = Some(upto.root());
            }
            if !tree.extend(&segment.tree) {
                return Err(StoreError::Backend("verify segments are not aligned".into()).into());
            }
            count += segment.count;
            if segment.head.is_some() {
                checker_head = segment.head;
            }
        }
        progress(count);
        if let Some(fault) = check_end(stored_head, checker_head) {
            return Ok(Verdict::Broken(fault));
        }
        if let Some(fault) = check_stored_tree(storage, &tree)? {
            return Ok(Verdict::Broken(fault));
        }
        Ok(Verdict::Intact {
            head: checker_head,
            records: count,
            root: tree.root(),
            marked,
        })
    }
}

/// The chain's end must be the stored head.
fn check_end(stored_head: Option<Head>, found: Option<Head>) -> Option<ChainFault> {
    match (stored_head, found) {
        (Some(h), f) if f.map(|f| f.seq) != Some(h.seq) => {
            let last = f.map(|f| f.seq);
            Some(ChainFault {
                seq: last.map_or(0, |s| s + 1),
                kind: FaultKind::Truncated {
                    last,
                    head_seq: h.seq,
                },
            })
        }
        (Some(h), Some(f)) if h.hash != f.hash => Some(ChainFault {
            seq: f.seq,
            kind: FaultKind::HeadMismatch {
                head_hash: h.hash_hex(),
            },
        }),
        _ => None,
    }
}

/// The stored tree's root must be the one recomputed from the records (its leaves were compared
/// one by one while the records were walked).
fn check_stored_tree(
    storage: &dyn Storage,
    computed: &Frontier,
) -> Result<Option<ChainFault>, StoreError> {
    let size = storage.tree_size()?;
    let stored = match Frontier::read(size, &StoreHashes(storage)) {
        Ok(f) => Some(f),
        Err(StoreError::Corrupt(_)) => None,
        Err(e) => return Err(e),
    };
    if size == computed.size() && stored.as_ref().map(Frontier::root) == Some(computed.root()) {
        return Ok(None);
    }
    Ok(Some(ChainFault {
        seq: size.min(computed.size()),
        kind: FaultKind::TreeMismatch {
            stored: format!(
                "{size} leaves, root {}",
                stored.map_or("unreadable".into(), |f| hex::encode(f.root()))
            ),
            computed: format!(
                "{} leaves, root {}",
                computed.size(),
                hex::encode(computed.root())
            ),
        },
    }))
}

/// What one verify thread found in its segment of the chain.
struct Segment {
    /// Seq and stored prev_hash of the segment's first record.
    first: Option<(u64, Hash)>,
    head: Option<Head>,
    count: u64,
    fault: Option<ChainFault>,
    /// The tree of the segment's records (whole subtrees starting at its first seq).
    tree: Frontier,
    /// Its tree up to the mark, if the mark falls in the segment.
    marked: Option<Frontier>,
}

/// Leaf hashes compared with the stored ones this many at a time.
const LEAF_CHECK_CHUNK: usize = 4096;

fn verify_segment(
    storage: &dyn Storage,
    from: u64,
    to: u64,
    mark: Option<u64>,
    checked: &std::sync::atomic::AtomicU64,
) -> Result<Segment, StoreError> {
    let mut checker: Option<ChainChecker> = None;
    let mut first = None;
    let mut fault = None;
    let mut tree = Frontier::new();
    let mut marked = None;
    let mut leaves: Vec<TreeHash> = Vec::with_capacity(LEAF_CHECK_CHUNK);
    let mut store_err = None;
    storage.scan(from, to, &mut |raw: RawRecord<'_>| {
        let Some((prev, hash, bytes)) = raw.split() else {
            fault = Some(ChainFault {
                seq: raw.key,
                kind: FaultKind::TooShort,
            });
            return false;
        };
        let c = checker.get_or_insert_with(|| {
            first = Some((raw.key, *prev));
            // A segment trusts its first prev_hash; the caller checks it against the segment before.
            ChainChecker::starting_at(from, if from == 0 { GENESIS_PREV_HASH } else { *prev })
        });
        if let Err(f) = c.check(raw.key, prev, hash, bytes) {
            fault = Some(f);
            return false;
        }
        let leaf = merkle::leaf_hash(bytes);
        tree.push(leaf, &mut |_, _| {});
        leaves.push(leaf);
        if mark == Some(from + tree.size()) {
            marked = Some(tree.clone());
        }
        if leaves.len() == LEAF_CHECK_CHUNK {
            let start = from + tree.size() - leaves.len() as u64;
            match compare_leaves(storage, start, &leaves) {
                Ok(None) => leaves.clear(),
                Ok(Some(f)) => {
                    fault = Some(f);
                    return false;
                }
                Err(e) => {
                    store_err = Some(e);
                    return false;
                }
            }
        }
        if c.count().is_multiple_of(4096) {
            checked.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
        }
        true
    })?;
    if let Some(e) = store_err {
        return Err(e);
    }
    if fault.is_none() && !leaves.is_empty() {
        fault = compare_leaves(storage, from + tree.size() - leaves.len() as u64, &leaves)?;
    }
    Ok(Segment {
        first,
        head: checker.as_ref().and_then(ChainChecker::head),
        count: checker.as_ref().map_or(0, ChainChecker::count),
        fault,
        tree,
        marked,
    })
}

/// Compares leaf hashes recomputed from records `start..` with the stored ones.
fn compare_leaves(
    storage: &dyn Storage,
    start: u64,
    leaves: &[TreeHash],
) -> Result<Option<ChainFault>, StoreError> {
    // The leaves' keys are a range, in key order, in which their parents are interleaved.
    let stored = storage.tree_range(
        merkle::stored_key(0, start),
        merkle::stored_key(0, start + leaves.len() as u64),
    )?;
    for (i, leaf) in leaves.iter().enumerate() {
        let seq = start + i as u64;
        let key = merkle::stored_key(0, seq);
        let found = stored
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .map(|at| (&stored[at].0, &stored[at].1));
        if found.map(|(_, h)| h) != Some(leaf) {
            return Ok(Some(ChainFault {
                seq,
                kind: FaultKind::TreeLeaf {
                    stored: found.map_or("missing".into(), |(_, h)| hex::encode(h)),
                    computed: hex::encode(leaf),
                },
            }));
        }
    }
    Ok(None)
}

/// A batch being committed: its receipt, and the stream versions and keys it settles.
type InFlight = (Receipt, HashMap<String, u64>, HashMap<String, u64>);

/// The state of one group commit being assembled.
struct Group<'a> {
    storage: &'a dyn Storage,
    /// Stream versions as they stand after the batches accepted so far.
    versions: HashMap<String, u64>,
    /// Keys claimed by the batches accepted so far.
    keys: HashMap<String, u64>,
    /// What storage said of streams and keys before the group, read once for all its batches.
    stored_versions: HashMap<String, u64>,
    stored_keys: HashMap<String, Option<u64>>,
    head: Option<Head>,
    batch: CommitBatch,
}

impl<'a> Group<'a> {
    fn new(storage: &'a dyn Storage, head: Option<Head>) -> Group<'a> {
        Group {
            storage,
            versions: HashMap::new(),
            keys: HashMap::new(),
            stored_versions: HashMap::new(),
            stored_keys: HashMap::new(),
            head,
            batch: CommitBatch::default(),
        }
    }

    fn storage_err(e: StoreError) -> AppendError {
        AppendError::Storage(e.to_string())
    }

    /// Reads the stored versions of every stream and the stored seq of every key that the
    /// appends of a group name, in one transaction each.
    fn prefetch(&mut self, appends: &[Append]) -> Result<(), AppendError> {
        let mut streams: Vec<&str> = appends
            .iter()
            .flat_map(|a| {
                a.events
                    .iter()
                    .map(|e| e.stream.as_str())
                    .chain(a.expected_versions.iter().map(|(s, _)| s.as_str()))
            })
            .collect();
        streams.sort_unstable();
        streams.dedup();
        let versions = self
            .storage
            .stream_versions(&streams)
            .map_err(Self::storage_err)?;
        self.stored_versions = streams
            .into_iter()
            .map(str::to_owned)
            .zip(versions)
            .collect();
        let mut keys: Vec<&str> = appends
            .iter()
            .flat_map(|a| a.constraints.iter())
            .map(|c| match c {
                Constraint::Unique { key, .. } | Constraint::Exists { key, .. } => key.as_str(),
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if !keys.is_empty() {
            let seqs = self.storage.keys(&keys).map_err(Self::storage_err)?;
            self.stored_keys = keys.into_iter().map(str::to_owned).zip(seqs).collect();
        }
        Ok(())
    }

    fn try_add(&mut self, append: Append) -> Result<Receipt, AppendError> {
        // Read what this batch needs from storage in two transactions: the versions of its streams
        // and the keys of its constraints that earlier batches of the group did not settle.
        let mut streams: Vec<&str> = append
            .events
            .iter()
            .map(|e| e.stream.as_str())
            .chain(append.expected_versions.iter().map(|(s, _)| s.as_str()))
            .filter(|s| !self.versions.contains_key(*s) && !self.stored_versions.contains_key(*s))
            .collect();
        streams.sort_unstable();
        streams.dedup();
        let stored = if streams.is_empty() {
            Vec::new()
        } else {
            self.storage
                .stream_versions(&streams)
                .map_err(Self::storage_err)?
        };
        let fresh: HashMap<&str, u64> = streams.into_iter().zip(stored).collect();
        // The version of each stream of this batch: as the group left it, else as stored.
        let mut versions: HashMap<&str, u64> = HashMap::new();
        for s in append
            .events
            .iter()
            .map(|e| e.stream.as_str())
            .chain(append.expected_versions.iter().map(|(s, _)| s.as_str()))
        {
            let v = self
                .versions
                .get(s)
                .or_else(|| self.stored_versions.get(s))
                .or_else(|| fresh.get(s))
                .copied()
                .unwrap_or(0);
            versions.insert(s, v);
        }
        let mut key_names: Vec<&str> = append
            .constraints
            .iter()
            .map(|c| match c {
                Constraint::Unique { key, .. } | Constraint::Exists { key, .. } => key.as_str(),
            })
            .filter(|k| !self.keys.contains_key(*k) && !self.stored_keys.contains_key(*k))
            .collect();
        key_names.sort_unstable();
        key_names.dedup();
        let stored = if key_names.is_empty() {
            Vec::new()
        } else {
            self.storage.keys(&key_names).map_err(Self::storage_err)?
        };
        let fresh: HashMap<&str, Option<u64>> = key_names.into_iter().zip(stored).collect();
        let mut keys: HashMap<&str, Option<u64>> = HashMap::new();
        for c in &append.constraints {
            let (Constraint::Unique { key, .. } | Constraint::Exists { key, .. }) = c;
            let seq = match self.keys.get(key.as_str()) {
                Some(seq) => Some(*seq),
                None => self
                    .stored_keys
                    .get(key.as_str())
                    .or_else(|| fresh.get(key.as_str()))
                    .copied()
                    .flatten(),
            };
            keys.insert(key.as_str(), seq);
        }

        for (stream, expected) in &append.expected_versions {
            let current = versions.get(stream.as_str()).copied().unwrap_or(0);
            if current != *expected {
                return Err(AppendError::VersionConflict {
                    stream: stream.clone(),
                    expected: *expected,
                    current,
                });
            }
        }
        let first_seq = self.head.map_or(0, |h| h.seq + 1);
        // Keys claimed by this batch, with the seq of the claiming record.
        let mut claimed: Vec<(&str, u64)> = Vec::new();
        let mut constraints: Vec<&Constraint> = append.constraints.iter().collect();
        constraints.sort_by_key(|c| match c {
            Constraint::Unique { event, .. } | Constraint::Exists { event, .. } => *event,
        });
        for c in constraints {
            match c {
                Constraint::Unique {
                    key,
                    event,
                    field,
                    message,
                } => {
                    if let Some(Some(seq)) = keys.get(key.as_str()) {
                        return Err(AppendError::Constraint {
                            event: *event,
                            field: field.clone(),
                            message: message.clone(),
                            claimed_by: Some(*seq),
                        });
                    }
                    let seq = first_seq + *event as u64;
                    keys.insert(key, Some(seq));
                    claimed.push((key, seq));
                }
                Constraint::Exists {
                    key,
                    event,
                    field,
                    message,
                } => {
                    if !matches!(keys.get(key.as_str()), Some(Some(_))) {
                        return Err(AppendError::Constraint {
                            event: *event,
                            field: field.clone(),
                            message: message.clone(),
                            claimed_by: None,
                        });
                    }
                }
            }
        }
        let mut batch_versions: HashMap<&str, u64> = HashMap::new();
        let mut event_versions: Vec<u64> = Vec::with_capacity(append.events.len());
        for event in &append.events {
            let v = batch_versions
                .get(event.stream.as_str())
                .or_else(|| versions.get(event.stream.as_str()))
                .copied()
                .unwrap_or(0)
                + 1;
            batch_versions.insert(&event.stream, v);
            event_versions.push(v);
        }
        let values = encode_records(&append, first_seq, &event_versions)?;
        // Accepted: seal the records onto the chain (the tree is grown as they are committed).
        let mut positions = Vec::with_capacity(append.events.len());
        let mut prev = self.head.map_or(GENESIS_PREV_HASH, |h| h.hash);
        for (i, ((event, version), mut value)) in append
            .events
            .iter()
            .zip(event_versions)
            .zip(values)
            .enumerate()
        {
            let seq = first_seq + i as u64;
            let bytes = &value[storage::CHAIN_FIELDS_LEN..];
            let hash = seal(&prev, bytes);
            value[..32].copy_from_slice(&prev);
            value[32..storage::CHAIN_FIELDS_LEN].copy_from_slice(&hash);
            self.batch.records.push(PendingRecord {
                seq,
                hash,
                value,
                stream: event.stream.clone(),
                stream_version: version,
            });
            positions.push((seq, version));
            prev = hash;
            self.head = Some(Head { seq, hash });
        }
        for (stream, version) in batch_versions {
            self.versions.insert(stream.to_owned(), version);
        }
        for (key, seq) in claimed {
            self.keys.insert(key.to_owned(), seq);
            self.batch.keys.push((key.to_owned(), seq));
        }
        Ok(Receipt {
            positions,
            head: self.head,
        })
    }
}

/// The stored values of a batch's records, chain fields still zero; a record over
/// [`MAX_RECORD_BYTES`] refuses the batch.
fn encode_records(
    append: &Append,
    first_seq: u64,
    versions: &[u64],
) -> Result<Vec<Vec<u8>>, AppendError> {
    let mut values = Vec::with_capacity(append.events.len());
    for (i, (event, version)) in append.events.iter().zip(versions).enumerate() {
        // The stored value is built in place: chain fields first, then the record bytes.
        let view = RecordView {
            seq: first_seq + i as u64,
            stream: &event.stream,
            stream_version: *version,
            appended_at: append.appended_at.unix_nanos,
            appended_by: &append.appended_by,
            event_type: &event.event_type,
            effective_at: event.effective_at,
            recorded_at: event.recorded_at,
            actor: &event.actor,
            data: &event.data,
        };
        let value = postcard::to_extend(&view, vec![0u8; storage::CHAIN_FIELDS_LEN])
            .map_err(|e| AppendError::Storage(format!("event {i} cannot be encoded: {e}")))?;
        let size = value.len() - storage::CHAIN_FIELDS_LEN;
        if size > MAX_RECORD_BYTES {
            return Err(AppendError::TooLarge {
                event: i,
                message: format!(
                    "the event would be stored in {size} bytes; a record may have at most {MAX_RECORD_BYTES} (the transparency log's entry bundles give each a 16-bit length): split its data over several events"
                ),
            });
        }
        values.push(value);
    }
    Ok(values)
}

/// The store's tree hashes, as the pure tree code reads them.
pub(crate) struct StoreHashes<'a>(pub &'a dyn Storage);

impl merkle::HashSource for StoreHashes<'_> {
    type Error = StoreError;
    fn hash(&self, level: u8, index: u64) -> Result<TreeHash, StoreError> {
        self.0
            .tree_hashes(&[merkle::stored_key(level, index)])?
            .pop()
            .flatten()
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the Merkle tree's hash at level {level}, index {index} is missing"
                ))
            })
    }
}

/// Records hashed into the tree per commit while the tree of an older store is built.
const TREE_BUILD_CHUNK: u64 = 65_536;

/// The tree's right edge for a store whose head is `head`. A store from before the tree has
/// fewer leaf hashes than records: the missing ones are computed from the records and, unless
/// the store is read-only, stored (in commits of their own; the records are not touched).
fn tree_at_open(
    storage: &dyn Storage,
    head: Option<Head>,
    read_only: bool,
) -> Result<Frontier, LedgerError> {
    let records = head.map_or(0, |h| h.seq + 1);
    let size = storage.tree_size()?;
    if size > records {
        return Err(StoreError::Corrupt(format!(
            "the Merkle tree holds {size} leaves but the store only {records} records"
        ))
        .into());
    }
    let mut tree = Frontier::read(size, &StoreHashes(storage))?;
    while tree.size() < records {
        let from = tree.size();
        let to = (from + TREE_BUILD_CHUNK).min(records);
        let mut batch = CommitBatch::default();
        let mut damaged = None;
        storage.scan(from, to, &mut |raw: RawRecord<'_>| match raw.split() {
            Some((_, _, bytes)) if raw.key == tree.size() => {
                tree.push(merkle::leaf_hash(bytes), &mut |k, h| {
                    batch.tree.push((k, h))
                });
                true
            }
            _ => {
                damaged = Some(raw.key);
                false
            }
        })?;
        if let Some(seq) = damaged.or((tree.size() < to).then_some(tree.size())) {
            return Err(LedgerError::Damaged {
                seq,
                message: "the Merkle tree cannot be built over it".into(),
            });
        }
        if !read_only {
            storage.commit(&batch)?;
        }
    }
    Ok(tree)
}
