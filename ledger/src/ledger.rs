//! The ledger: a data directory, one writer, appends that are all-or-nothing and durable before they
//! are acknowledged, and reads by seq, by stream and of the head.

use crate::record::{
    seal, Hash, Head, NewEvent, RecordView, StoredRecord, Timestamp, GENESIS_PREV_HASH,
};
use crate::storage::{self, Backend, CommitBatch, PendingRecord, RawRecord, Storage, StoreError};
use crate::verify::{ChainChecker, ChainFault, FaultKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file in a data directory that says which backend and record format made it.
pub const MARKER_FILE: &str = "garanti-store.toml";

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
    #[error("event {event}, field `{field}`: {message}")]
    Constraint {
        event: usize,
        field: String,
        message: String,
    },
    #[error("{0}")]
    Storage(String),
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
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record checked out; the head (None for an empty ledger) and the count.
    Intact { head: Option<Head>, records: u64 },
    /// The first bad place.
    Broken(ChainFault),
}

pub struct Ledger {
    dir: PathBuf,
    storage: Box<dyn Storage>,
    /// The writer lock, holding the head: appends are serialised here.
    writer: Mutex<Option<Head>>,
}

/// What a creation of a data directory that was interrupted before its marker can leave.
const UNFINISHED_CREATION: [&str; 3] = ["ledger.redb", "ledger.sled", "garanti-store.toml.tmp"];

/// Writes the marker atomically (a whole file or none) and durably.
fn write_marker(dir: &Path, backend: Backend) -> std::io::Result<()> {
    use std::io::Write as _;
    let marker = format!(
        "# Made by garanti; do not edit.\nbackend = \"{backend}\"\nrecord_format = {}\n",
        crate::record::RECORD_FORMAT
    );
    let tmp = dir.join("garanti-store.toml.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(marker.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(MARKER_FILE))?;
    // The rename itself must survive a crash.
    std::fs::File::open(dir)?.sync_all()
}

fn read_marker(dir: &Path) -> Result<Option<(String, String)>, LedgerError> {
    let path = dir.join(MARKER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LedgerError::DataDir {
                dir: dir.into(),
                message: format!("cannot read {MARKER_FILE}: {e}"),
            })
        }
    };
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    match (field("backend"), field("record_format")) {
        (Some(b), Some(f)) => Ok(Some((b, f))),
        _ => Err(LedgerError::DataDir {
            dir: dir.into(),
            message: format!("{MARKER_FILE} does not name a backend and record format"),
        }),
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`. `backend`: the one asked for, or None for the one the
    /// directory was made with (redb for a new directory).
    pub fn open(dir: &Path, backend: Option<Backend>) -> Result<Ledger, LedgerError> {
        let data_dir_err = |message: String| LedgerError::DataDir {
            dir: dir.into(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| data_dir_err(format!("cannot create it: {e}")))?;
        let backend = match read_marker(dir)? {
            Some((made_by, format)) => {
                let made_by_backend = Backend::parse(&made_by).ok_or_else(|| {
                    data_dir_err(format!("it was made by an unknown backend {made_by:?}"))
                })?;
                if format != crate::record::RECORD_FORMAT.to_string() {
                    return Err(data_dir_err(format!(
                        "it holds record format {format}; this garanti reads format {}",
                        crate::record::RECORD_FORMAT
                    )));
                }
                if let Some(asked) = backend {
                    if asked != made_by_backend {
                        return Err(data_dir_err(format!(
                            "it was made with the {made_by_backend} backend, not {asked}; run with --store {made_by_backend} (or leave --store out)"
                        )));
                    }
                }
                made_by_backend
            }
            None => {
                let backend = backend.unwrap_or(Backend::Redb);
                // The marker is written last, once the store exists: a directory without it holds
                // at most what an interrupted creation left, and no append was ever acknowledged
                // from that (appends need a finished open). Anything else in it is not ours.
                let mut unfinished = Vec::new();
                for entry in std::fs::read_dir(dir).map_err(|e| data_dir_err(e.to_string()))? {
                    let entry = entry.map_err(|e| data_dir_err(e.to_string()))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !UNFINISHED_CREATION.contains(&name.as_str()) {
                        return Err(data_dir_err(format!(
                            "it is not empty and has no {MARKER_FILE}: it is not a garanti data directory"
                        )));
                    }
                    unfinished.push(entry.path());
                }
                for path in unfinished {
                    let removed = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                    removed.map_err(|e| {
                        data_dir_err(format!(
                            "cannot remove {} left by an interrupted creation: {e}",
                            path.display()
                        ))
                    })?;
                }
                let storage = storage::open(backend, dir)?;
                write_marker(dir, backend)
                    .map_err(|e| data_dir_err(format!("cannot write {MARKER_FILE}: {e}")))?;
                let head = storage.head()?;
                return Ok(Ledger {
                    dir: dir.into(),
                    storage,
                    writer: Mutex::new(head),
                });
            }
        };
        let storage = storage::open(backend, dir)?;
        let head = storage.head()?;
        Ok(Ledger {
            dir: dir.into(),
            storage,
            writer: Mutex::new(head),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend(&self) -> Backend {
        self.storage.backend()
    }

    /// The storage itself, for forensics and tamper tests.
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    pub fn head(&self) -> Option<Head> {
        *self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The seq the next appended record gets.
    pub fn next_seq(&self) -> u64 {
        self.head().map_or(0, |h| h.seq + 1)
    }

    pub fn get(&self, seq: u64) -> Result<Option<StoredRecord>, LedgerError> {
        Ok(self.storage.get(seq)?)
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
        self.storage
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
        let seqs = self.storage.stream_seqs(stream)?;
        let records = self.storage.get_many(&seqs)?;
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
        Ok(self.storage.stream_version(stream)?)
    }

    /// Every stream with its current version.
    pub fn streams(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        Ok(self.storage.streams()?)
    }

    /// The seq of the record that claimed a unique key, if any.
    pub fn key(&self, key: &str) -> Result<Option<u64>, LedgerError> {
        Ok(self.storage.key(key)?)
    }

    /// Appends one batch, all or nothing, durable before it returns.
    pub fn append(&self, append: Append) -> Result<Receipt, AppendError> {
        self.append_group(vec![append])
            .pop()
            .unwrap_or_else(|| Err(AppendError::Storage("no result".into())))
    }

    /// Group commit: checks each batch in turn (later batches see the earlier accepted ones), then
    /// writes every accepted batch in one durable commit. A refused batch writes nothing and does
    /// not affect the others.
    pub fn append_group(&self, appends: Vec<Append>) -> Vec<Result<Receipt, AppendError>> {
        let mut head = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut group = Group {
            storage: self.storage.as_ref(),
            versions: HashMap::new(),
            keys: HashMap::new(),
            stored_versions: HashMap::new(),
            stored_keys: HashMap::new(),
            head: *head,
            batch: CommitBatch {
                records: Vec::new(),
                keys: Vec::new(),
            },
        };
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
        if group.batch.records.is_empty() {
            return results;
        }
        match self.storage.commit(&group.batch) {
            Ok(()) => *head = group.head,
            Err(e) => {
                let message = e.to_string();
                for r in results.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(AppendError::Storage(message.clone()));
                }
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
        let mut head = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let storage = self.storage.as_ref();
        std::thread::scope(|scope| {
            let (to_commit, commits) = std::sync::mpsc::sync_channel::<CommitBatch>(1);
            let (to_report, reports) = std::sync::mpsc::sync_channel::<Result<(), StoreError>>(1);
            scope.spawn(move || {
                for batch in commits {
                    if to_report.send(storage.commit(&batch)).is_err() {
                        return;
                    }
                }
            });
            // The batch being committed: its receipt, and the versions and keys it settles.
            let mut in_flight: Option<InFlight> = None;
            let mut prepared_head = *head;
            // Waits for the batch in flight; true if it is durable and the caller wants more.
            let settle = |in_flight: &mut Option<InFlight>,
                          head: &mut Option<Head>,
                          done: &mut dyn FnMut(Result<Receipt, AppendError>) -> bool|
             -> bool {
                let Some((receipt, _, _)) = in_flight.take() else {
                    return true;
                };
                match reports.recv() {
                    Ok(Ok(())) => {
                        *head = receipt.head;
                        done(Ok(receipt))
                    }
                    Ok(Err(e)) => {
                        done(Err(AppendError::Storage(e.to_string())));
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
                let mut group = Group {
                    storage,
                    versions,
                    keys,
                    stored_versions: HashMap::new(),
                    stored_keys: HashMap::new(),
                    head: prepared_head,
                    batch: CommitBatch {
                        records: Vec::new(),
                        keys: Vec::new(),
                    },
                };
                let prepared = group.try_add(append);
                // The batch before must be durable before this one goes to storage.
                if !settle(&mut in_flight, &mut head, done) {
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
            settle(&mut in_flight, &mut head, done);
        });
    }

    /// Walks the whole chain from genesis and compares its end with the stored head.
    /// `progress` is called with the number of records checked so far, from time to time.
    ///
    /// The chain is checked in as many segments as there are cores, one thread each: every record
    /// carries its `prev_hash`, so each segment checks its own records and links, and the links
    /// between segments are checked at the end. The first fault in seq order is reported.
    pub fn verify(&self, progress: &mut dyn FnMut(u64)) -> Result<Verdict, LedgerError> {
        let stored_head = self.storage.head()?;
        let end = stored_head.map_or(0, |h| h.seq + 1);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let per = (end / threads).max(65_536);
        let mut bounds: Vec<(u64, u64)> = (0..threads)
            .map(|i| {
                (
                    i * per,
                    if i + 1 == threads {
                        u64::MAX
                    } else {
                        (i + 1) * per
                    },
                )
            })
            .filter(|(from, _)| *from < end.max(1))
            .collect();
        if let Some(last) = bounds.last_mut() {
            last.1 = u64::MAX;
        }
        let checked = std::sync::atomic::AtomicU64::new(0);
        let storage = self.storage.as_ref();
        let segments: Vec<Result<Segment, StoreError>> = std::thread::scope(|scope| {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let handles: Vec<_> = bounds
                .iter()
                .map(|&(from, to)| {
                    let checked = &checked;
                    let done = done_tx.clone();
                    scope.spawn(move || {
                        let result = verify_segment(storage, from, to, checked);
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
            count += segment.count;
            if segment.head.is_some() {
                checker_head = segment.head;
            }
        }
        progress(count);
        let found = checker_head;
        match (stored_head, found) {
            (None, None) => {}
            (Some(h), f) if f.map(|f| f.seq) != Some(h.seq) => {
                let last = f.map(|f| f.seq);
                return Ok(Verdict::Broken(ChainFault {
                    seq: last.map_or(0, |s| s + 1),
                    kind: FaultKind::Truncated {
                        last,
                        head_seq: h.seq,
                    },
                }));
            }
            (Some(h), Some(f)) if h.hash != f.hash => {
                return Ok(Verdict::Broken(ChainFault {
                    seq: f.seq,
                    kind: FaultKind::HeadMismatch {
                        head_hash: h.hash_hex(),
                    },
                }));
            }
            _ => {}
        }
        Ok(Verdict::Intact {
            head: found,
            records: count,
        })
    }
}

/// What one verify thread found in its segment of the chain.
struct Segment {
    /// Seq and stored prev_hash of the segment's first record.
    first: Option<(u64, Hash)>,
    head: Option<Head>,
    count: u64,
    fault: Option<ChainFault>,
}

fn verify_segment(
    storage: &dyn Storage,
    from: u64,
    to: u64,
    checked: &std::sync::atomic::AtomicU64,
) -> Result<Segment, StoreError> {
    let mut checker: Option<ChainChecker> = None;
    let mut first = None;
    let mut fault = None;
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
        if c.count() % 4096 == 0 {
            checked.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
        }
        true
    })?;
    Ok(Segment {
        first,
        head: checker.as_ref().and_then(ChainChecker::head),
        count: checker.as_ref().map_or(0, ChainChecker::count),
        fault,
    })
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

impl Group<'_> {
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
                            message: format!("{message} (seq {seq})"),
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
        // Accepted: seal the records onto the chain.
        let mut positions = Vec::with_capacity(append.events.len());
        let mut prev = self.head.map_or(GENESIS_PREV_HASH, |h| h.hash);
        for (i, (event, version)) in append.events.iter().zip(event_versions).enumerate() {
            let seq = first_seq + i as u64;
            // The stored value is built in place: chain fields first, then the record bytes.
            let mut value = vec![0u8; storage::CHAIN_FIELDS_LEN];
            let view = RecordView {
                seq,
                stream: &event.stream,
                stream_version: version,
                appended_at: append.appended_at.unix_nanos,
                appended_by: &append.appended_by,
                event_type: &event.event_type,
                effective_at: event.effective_at,
                recorded_at: event.recorded_at,
                actor: &event.actor,
                data: &event.data,
            };
            value = postcard::to_extend(&view, value).unwrap_or_default();
            let hash = seal(&prev, &value[storage::CHAIN_FIELDS_LEN..]);
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
