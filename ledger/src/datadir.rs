//! The data directory: which files in it are Garanti's, how a new one is made so that an
//! interrupted creation is recognised by positive evidence only, and the ledger's own memory of the
//! head it acknowledged last, kept outside the store.
//!
//! Nothing here ever deletes a store. The only files removed are ones this module names for an
//! unfinished creation (`*.creating`, the marker's temporary file), and only while the
//! creation-in-progress file says that a creation was under way.

use crate::record::{Hash, Head};
use crate::storage::Backend;
use std::fs::File;
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The file that says which backend and record format made a data directory (written last).
pub const MARKER_FILE: &str = "garanti-store.toml";
/// Written first when a data directory is made, removed once it is whole.
pub const CREATING_FILE: &str = "garanti-creating";
/// The head the ledger acknowledged last, written after every commit.
pub const HEAD_FILE: &str = "garanti-head";
const MARKER_TMP: &str = "garanti-store.toml.tmp";
/// The marker line saying that the directory keeps a head file (directories made before it
/// existed get one on their next writable open).
const HEAD_FILE_LINE: &str = "head_file";

/// How a command opens a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Make the directory and its store if there is none yet; else open it for appending
    /// (`import`, `demo`, `serve --init`).
    Create,
    /// An existing store, for appending (`serve`).
    Write,
    /// An existing store, opened read-only when it cannot be written (a revisor's copy).
    Read,
}

/// The name of a backend's store inside a data directory.
pub fn store_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Redb => "ledger.redb",
        Backend::Sled => "ledger.sled",
    }
}

/// Where a store is made before it is renamed into place: a store under its final name is
/// always a whole one.
pub fn creating_name(backend: Backend) -> String {
    format!("{}.creating", store_name(backend))
}

/// What the marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub backend: String,
    pub record_format: String,
    /// The directory keeps [`HEAD_FILE`] (every directory made or opened for writing by this
    /// version does).
    pub head_file: bool,
}

/// Writes the marker atomically (a whole file or none) and durably.
pub fn write_marker(dir: &Path, backend: Backend) -> std::io::Result<()> {
    let marker = format!(
        "# Made by garanti; do not edit.\nbackend = \"{backend}\"\nrecord_format = {}\n{HEAD_FILE_LINE} = \"{HEAD_FILE}\"\n",
        crate::record::RECORD_FORMAT
    );
    let tmp = dir.join(MARKER_TMP);
    let mut f = File::create(&tmp)?;
    f.write_all(marker.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(MARKER_FILE))?;
    sync_dir(dir)
}

/// Makes a rename, creation or removal in `dir` survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads the marker; `Ok(None)` if there is none.
pub fn read_marker(dir: &Path) -> Result<Option<Marker>, String> {
    let path = dir.join(MARKER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {}", path.display(), io_words(&e))),
    };
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    match (field("backend"), field("record_format")) {
        (Some(backend), Some(record_format)) => Ok(Some(Marker {
            backend,
            record_format,
            head_file: field(HEAD_FILE_LINE).is_some(),
        })),
        _ => Err(format!(
            "{} does not name a backend and record format; restore it from the backup the store came from",
            path.display()
        )),
    }
}

/// An I/O error in words, with what to do for the common ones.
pub fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => format!("{e} (this user may not do that: check the owner and mode of the file and its directory)"),
        ErrorKind::ReadOnlyFilesystem => format!("{e} (the file system is mounted read-only)"),
        ErrorKind::StorageFull => format!("{e} (free space on the disk of the data directory)"),
        _ => e.to_string(),
    }
}

/// A file's size in words, for messages about what was found.
pub fn describe(path: &Path) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => format!("{name}/ (a folder)"),
        Ok(m) => format!("{name} ({} bytes)", m.len()),
        Err(_) => name,
    }
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Files an unfinished creation can leave besides a store holding no record: all named by us for
/// that purpose, never a store under its final name.
pub fn is_creation_leftover(name: &str) -> bool {
    name == MARKER_TMP || name == CREATING_FILE || name.ends_with(".creating")
}

/// Removes what an unfinished creation left (see [`is_creation_leftover`]), the creation file last.
pub fn remove_creation_leftovers(dir: &Path) -> std::io::Result<()> {
    for name in entries(dir)? {
        if is_creation_leftover(&name) && name != CREATING_FILE {
            let path = dir.join(&name);
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
    }
    sync_dir(dir)
}

/// Starts a creation: the creation-in-progress file, durably, before anything else is written.
pub fn begin_creation(dir: &Path) -> std::io::Result<()> {
    let mut f = File::create(dir.join(CREATING_FILE))?;
    f.write_all(b"A garanti data directory is being made here. If no garanti process is running, the creation was interrupted: run the command again.\n")?;
    f.sync_all()?;
    sync_dir(dir)
}

/// Ends a creation: the marker is written, then the creation-in-progress file goes.
pub fn finish_creation(dir: &Path, backend: Backend) -> std::io::Result<()> {
    write_marker(dir, backend)?;
    std::fs::remove_file(dir.join(CREATING_FILE))?;
    sync_dir(dir)
}

/// Room the disk must have for a write to be tried again after it was full.
pub const PROBE_BYTES: usize = 1 << 20;

/// Whether the disk of `dir` has room again: writes and syncs [`PROBE_BYTES`] to a probe file,
/// then removes it.
pub fn probe_room(dir: &Path) -> std::io::Result<()> {
    let path = dir.join("garanti-probe");
    let written = File::create(&path).and_then(|mut f| {
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_data()
    });
    let removed = std::fs::remove_file(&path);
    written.and(removed)
}

/// Bytes of one slot of the head file: magic, generation, record count, head hash, checksum.
const SLOT: usize = 64;
const MAGIC: &[u8; 8] = b"GRNTHEAD";

/// The ledger's memory of its size: the head it acknowledged last, outside the store, so that a
/// store that was rolled back or replaced is refused on open. Two slots written in turn, each with
/// a checksum, so that a write torn by a crash leaves the slot before it.
pub struct HeadFile {
    file: File,
    generation: u64,
}

/// What the head file says: how many records were acknowledged and the hash of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledged {
    pub records: u64,
    pub hash: Hash,
}

impl Acknowledged {
    pub fn of(head: Option<Head>) -> Acknowledged {
        match head {
            Some(h) => Acknowledged {
                records: h.seq + 1,
                hash: h.hash,
            },
            None => Acknowledged {
                records: 0,
                hash: [0; 32],
            },
        }
    }

    pub fn head(&self) -> Option<Head> {
        self.records.checked_sub(1).map(|seq| Head {
            seq,
            hash: self.hash,
        })
    }
}

fn slot_bytes(generation: u64, ack: Acknowledged) -> [u8; SLOT] {
    let mut slot = [0u8; SLOT];
    slot[..8].copy_from_slice(MAGIC);
    slot[8..16].copy_from_slice(&generation.to_le_bytes());
    slot[16..24].copy_from_slice(&ack.records.to_le_bytes());
    slot[24..56].copy_from_slice(&ack.hash);
    let check = blake3::hash(&slot[..56]);
    slot[56..].copy_from_slice(&check.as_bytes()[..8]);
    slot
}

fn read_slot(slot: &[u8]) -> Option<(u64, Acknowledged)> {
    if slot.len() != SLOT || &slot[..8] != MAGIC {
        return None;
    }
    if blake3::hash(&slot[..56]).as_bytes()[..8] != slot[56..] {
        return None;
    }
    let generation = u64::from_le_bytes(slot[8..16].try_into().ok()?);
    let records = u64::from_le_bytes(slot[16..24].try_into().ok()?);
    let hash: Hash = slot[24..56].try_into().ok()?;
    Some((generation, Acknowledged { records, hash }))
}

/// Why the head file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeadFileError {
    #[error("{} is missing, though {MARKER_FILE} says the directory keeps it: restore it with the store from the same backup", .0.display())]
    Missing(PathBuf),
    #[error("{} is damaged (no slot with a valid checksum): restore it with the store from the same backup", .0.display())]
    Damaged(PathBuf),
    #[error("{}: {}", .0.display(), io_words(.1))]
    Io(PathBuf, std::io::Error),
}

impl HeadFile {
    /// Makes a new head file saying `ack`, durably (it replaces one that is there).
    pub fn create(dir: &Path, ack: Acknowledged) -> std::io::Result<HeadFile> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join(HEAD_FILE))?;
        let mut both = [0u8; 2 * SLOT];
        both[..SLOT].copy_from_slice(&slot_bytes(1, ack));
        file.write_all(&both)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(HeadFile {
            file,
            generation: 1,
        })
    }

    /// Reads what the head file in `dir` says; with `writable`, keeps it open for recording.
    pub fn open(
        dir: &Path,
        writable: bool,
    ) -> Result<(Option<HeadFile>, Acknowledged), HeadFileError> {
        let path = dir.join(HEAD_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => HeadFileError::Missing(path.clone()),
                _ => HeadFileError::Io(path.clone(), e),
            })?;
        let mut bytes = Vec::with_capacity(2 * SLOT);
        file.read_to_end(&mut bytes)
            .map_err(|e| HeadFileError::Io(path.clone(), e))?;
        let newest = bytes
            .chunks(SLOT)
            .take(2)
            .filter_map(read_slot)
            .max_by_key(|(generation, _)| *generation)
            .ok_or_else(|| HeadFileError::Damaged(path.clone()))?;
        let head_file = writable.then_some(HeadFile {
            file,
            generation: newest.0,
        });
        Ok((head_file, newest.1))
    }

    /// Records `ack` durably, in the slot not holding the newest record.
    pub fn record(&mut self, ack: Acknowledged) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let generation = self.generation + 1;
        let offset = (generation % 2) * SLOT as u64;
        self.file
            .write_all_at(&slot_bytes(generation, ack), offset)?;
        self.file.sync_data()?;
        self.generation = generation;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(records: u64, byte: u8) -> Acknowledged {
        Acknowledged {
            records,
            hash: [byte; 32],
        }
    }

    #[test]
    fn the_newest_slot_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = HeadFile::create(dir.path(), ack(0, 0)).unwrap();
        assert_eq!(HeadFile::open(dir.path(), false).unwrap().1, ack(0, 0));
        for n in 1..=5u64 {
            f.record(ack(n, n as u8)).unwrap();
            assert_eq!(
                HeadFile::open(dir.path(), false).unwrap().1,
                ack(n, n as u8)
            );
        }
        assert_eq!(
            std::fs::metadata(dir.path().join(HEAD_FILE)).unwrap().len(),
            128
        );
    }

    #[test]
    fn a_torn_slot_leaves_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = HeadFile::create(dir.path(), ack(0, 0)).unwrap();
        f.record(ack(7, 7)).unwrap();
        f.record(ack(9, 9)).unwrap();
        // The newest record (generation 3) is in slot 1: damage one byte of it.
        let path = dir.path().join(HEAD_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[SLOT + 20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(HeadFile::open(dir.path(), false).unwrap().1, ack(7, 7));
        // Both damaged: refused, not taken for an empty ledger.
        bytes[20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            HeadFile::open(dir.path(), false),
            Err(HeadFileError::Damaged(_))
        ));
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(
            HeadFile::open(dir.path(), false),
            Err(HeadFileError::Damaged(_))
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            HeadFile::open(dir.path(), false),
            Err(HeadFileError::Missing(_))
        ));
    }

    #[test]
    fn the_head_of_an_acknowledgement() {
        assert_eq!(ack(0, 0).head(), None);
        assert_eq!(Acknowledged::of(None), ack(0, 0));
        let head = Head {
            seq: 4,
            hash: [3; 32],
        };
        assert_eq!(Acknowledged::of(Some(head)).head(), Some(head));
    }
}
