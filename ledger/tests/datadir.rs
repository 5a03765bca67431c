//! The data directory never loses a ledger with an "ok": no open deletes a store, only a creation
//! makes one, a store that is missing, empty, foreign or smaller than what was acknowledged is
//! refused with what was found, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{append, copy_tree, event, filled, remove_tree, replace_tree, tree_size, BACKENDS};
use ledger::datadir::{CREATING_FILE, HEAD_FILE, MARKER_FILE};
use ledger::{Access, Backend, Ledger, LedgerError};
use std::path::Path;

fn store(dir: &Path, backend: Backend) -> std::path::PathBuf {
    dir.join(ledger::datadir::store_name(backend))
}

fn open_err(dir: &Path, backend: Option<Backend>, access: Access) -> String {
    match Ledger::open_as(dir, backend, access) {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_missing_marker_is_refused_and_the_store_kept() {
    for backend in BACKENDS {
        for access in [Access::Create, Access::Write, Access::Read] {
            let dir = tempfile::tempdir().unwrap();
            drop(filled(dir.path(), backend, 30));
            let before = tree_size(&store(dir.path(), backend));
            std::fs::remove_file(dir.path().join(MARKER_FILE)).unwrap();
            let err = open_err(dir.path(), None, access);
            assert!(
                err.contains("not a garanti data directory")
                    && err.contains(ledger::datadir::store_name(backend)),
                "{backend} {access:?}: {err}"
            );
            assert_eq!(tree_size(&store(dir.path(), backend)), before, "{backend}");
            // With the marker back, everything is there.
            ledger::datadir::write_marker(dir.path(), backend).unwrap();
            assert_eq!(Ledger::open(dir.path(), None).unwrap().next_seq(), 30);
        }
    }
}

#[test]
fn only_a_creation_makes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    for access in [Access::Write, Access::Read] {
        let err = open_err(&missing, None, access);
        assert!(err.contains("no such directory"), "{err}");
        assert!(!missing.exists());
        let err = open_err(dir.path(), None, access);
        assert!(err.contains("not a garanti data directory"), "{err}");
        assert!(ledger::datadir::entries(dir.path()).unwrap().is_empty());
    }
    let made = Ledger::open_as(&missing, None, Access::Create).unwrap();
    assert_eq!(made.next_seq(), 0);
    drop(made);
    assert_eq!(
        ledger::datadir::entries(&missing).unwrap(),
        [HEAD_FILE, MARKER_FILE, "ledger.redb"]
    );
    assert!(Ledger::open_as(&missing, None, Access::Read).is_ok());
}

#[test]
fn a_missing_empty_or_foreign_store_is_refused() {
    for backend in BACKENDS {
        // Deleted.
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path(), backend, 9));
        let path = store(dir.path(), backend);
        remove_tree(&path);
        for access in [Access::Create, Access::Write, Access::Read] {
            let err = open_err(dir.path(), None, access);
            assert!(err.contains("is missing"), "{backend}: {err}");
            assert!(!path.exists(), "{backend}: a store was made");
        }
        // The other backend's store beside this one's.
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path(), backend, 9));
        let other = if backend == Backend::Redb {
            Backend::Sled
        } else {
            Backend::Redb
        };
        let elsewhere = tempfile::tempdir().unwrap();
        drop(filled(elsewhere.path(), other, 3));
        std::fs::rename(store(elsewhere.path(), other), store(dir.path(), other)).unwrap();
        let err = open_err(dir.path(), None, Access::Create);
        assert!(err.contains("another backend's store"), "{backend}: {err}");
        // A marker naming the other backend, its store absent.
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path(), backend, 9));
        let before = tree_size(&store(dir.path(), backend));
        ledger::datadir::write_marker(dir.path(), other).unwrap();
        let err = open_err(dir.path(), None, Access::Create);
        assert!(err.contains("another backend's store"), "{backend}: {err}");
        let err = open_err(dir.path(), Some(backend), Access::Create);
        assert!(
            err.contains(&format!("--store {other}")),
            "{backend}: {err}"
        );
        assert_eq!(tree_size(&store(dir.path(), backend)), before);
        assert!(!store(dir.path(), other).exists());
    }
    // A redb file cut to nothing.
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Redb, 9));
    std::fs::write(store(dir.path(), Backend::Redb), b"").unwrap();
    let err = open_err(dir.path(), None, Access::Create);
    assert!(err.contains("is empty (0 bytes)"), "{err}");
    assert_eq!(tree_size(&store(dir.path(), Backend::Redb)), 0);
}

#[test]
fn an_older_copy_of_the_store_is_refused() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = filled(dir.path(), backend, 12);
        drop(ledger);
        let backup = tempfile::tempdir().unwrap();
        copy_tree(dir.path(), backup.path());
        let ledger = Ledger::open(dir.path(), None).unwrap();
        ledger.append(append(vec![event("dk-1:a", 99)])).unwrap();
        drop(ledger);
        // Only the store is restored from the backup: rolled back.
        let path = store(dir.path(), backend);
        replace_tree(&path, &store(backup.path(), backend));
        for access in [Access::Create, Access::Write, Access::Read] {
            match Ledger::open_as(dir.path(), None, access) {
                Err(e @ LedgerError::RolledBack { .. }) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("holds 12 records but 13 were acknowledged"),
                        "{text}"
                    );
                }
                Err(e) => panic!("{backend}: {e}"),
                Ok(_) => panic!("{backend}: a rolled-back store opened"),
            }
        }
        // The whole directory from the backup is consistent.
        assert_eq!(Ledger::open(backup.path(), None).unwrap().next_seq(), 12);
    }
}

#[test]
fn another_store_of_the_same_size_is_refused() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path(), backend, 5));
        // Another ledger with as many records but other events.
        let other = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(other.path(), Some(backend)).unwrap();
        for i in 0..5 {
            ledger.append(append(vec![event("dk-2:x", i)])).unwrap();
        }
        drop(ledger);
        let path = store(dir.path(), backend);
        replace_tree(&path, &store(other.path(), backend));
        let err = open_err(dir.path(), None, Access::Read);
        assert!(
            err.contains("acknowledged record seq 4 has hash")
                && err.contains("rolled back or replaced"),
            "{backend}: {err}"
        );
    }
}

#[test]
fn a_lost_or_damaged_head_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Redb, 5));
    let head = dir.path().join(HEAD_FILE);
    let saved = std::fs::read(&head).unwrap();
    std::fs::remove_file(&head).unwrap();
    let err = open_err(dir.path(), None, Access::Read);
    assert!(err.contains("garanti-head is missing"), "{err}");
    std::fs::write(&head, vec![0u8; 128]).unwrap();
    let err = open_err(dir.path(), None, Access::Read);
    assert!(err.contains("is damaged"), "{err}");
    std::fs::write(&head, saved).unwrap();
    assert_eq!(Ledger::open(dir.path(), None).unwrap().next_seq(), 5);
}

#[test]
fn a_directory_from_before_head_files_gets_one() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Redb, 5));
    std::fs::remove_file(dir.path().join(HEAD_FILE)).unwrap();
    std::fs::write(
        dir.path().join(MARKER_FILE),
        "# Made by garanti; do not edit.\nbackend = \"redb\"\nrecord_format = 1\n",
    )
    .unwrap();
    // Read-only access changes nothing.
    assert_eq!(
        Ledger::open_as(dir.path(), None, Access::Read)
            .unwrap()
            .next_seq(),
        5
    );
    assert_eq!(Ledger::open(dir.path(), None).unwrap().next_seq(), 5);
    assert!(dir.path().join(HEAD_FILE).exists());
    let marker = std::fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap();
    assert!(marker.contains("head_file"), "{marker}");
}

#[test]
fn a_store_ahead_of_its_head_file_moves_it_on() {
    // A crash after the store's commit and before the head file's write.
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Redb, 4));
    let head = dir.path().join(HEAD_FILE);
    let saved = std::fs::read(&head).unwrap();
    let ledger = Ledger::open(dir.path(), None).unwrap();
    ledger.append(append(vec![event("dk-1:a", 9)])).unwrap();
    drop(ledger);
    std::fs::write(&head, saved).unwrap();
    let ledger = Ledger::open(dir.path(), None).unwrap();
    assert_eq!(ledger.next_seq(), 5);
    drop(ledger);
    let (_, ack) = ledger::datadir::HeadFile::open(dir.path(), false).unwrap();
    assert_eq!(ack.records, 5);
}

#[test]
fn an_interrupted_creation_is_started_again_only_on_evidence() {
    for backend in BACKENDS {
        // What a kill while the store was being made leaves: the creation file, a store under its
        // temporary name cut short, a half-written marker.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREATING_FILE), b"").unwrap();
        std::fs::write(
            dir.path().join(ledger::datadir::creating_name(backend)),
            b"\0\0\0 cut short",
        )
        .unwrap();
        std::fs::write(dir.path().join("garanti-store.toml.tmp"), b"# Made by gar").unwrap();
        let ledger = Ledger::open(dir.path(), Some(backend)).unwrap();
        assert_eq!((ledger.next_seq(), ledger.backend()), (0, backend));
        drop(ledger);
        assert_eq!(
            ledger::datadir::entries(dir.path()).unwrap(),
            [HEAD_FILE, MARKER_FILE, ledger::datadir::store_name(backend)]
        );

        // Killed after the store was put in place, before the marker: a store holding no record.
        let dir = tempfile::tempdir().unwrap();
        drop(Ledger::open(dir.path(), Some(backend)).unwrap());
        std::fs::remove_file(dir.path().join(MARKER_FILE)).unwrap();
        std::fs::write(dir.path().join(CREATING_FILE), b"").unwrap();
        assert_eq!(
            Ledger::open(dir.path(), Some(backend)).unwrap().next_seq(),
            0
        );

        // The creation file beside a store holding records is no evidence: refused, kept.
        let dir = tempfile::tempdir().unwrap();
        drop(filled(dir.path(), backend, 7));
        std::fs::remove_file(dir.path().join(MARKER_FILE)).unwrap();
        std::fs::write(dir.path().join(CREATING_FILE), b"").unwrap();
        let err = open_err(dir.path(), Some(backend), Access::Create);
        assert!(err.contains("remove them yourself"), "{backend}: {err}");
        std::fs::remove_file(dir.path().join(CREATING_FILE)).unwrap();
        ledger::datadir::write_marker(dir.path(), backend).unwrap();
        assert_eq!(Ledger::open(dir.path(), None).unwrap().next_seq(), 7);

        // A store without the creation file is never taken for an unfinished creation.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(store(dir.path(), Backend::Redb), b"\0\0\0 cut short").unwrap();
        let err = open_err(dir.path(), Some(backend), Access::Create);
        assert!(err.contains("not a garanti data directory"), "{err}");
        assert_eq!(tree_size(&store(dir.path(), Backend::Redb)), 13);
    }
}

#[test]
fn a_read_only_store_is_read_but_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Redb, 6));
    // Root may write any file: a read-only bind mount is what refuses writes to everybody. Where
    // this process may not mount, the read-only open is still exercised through its mode.
    let mount = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(dir.path())
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot make a read-only mount here; checked through the read-only open only");
        let store = ledger::storage::open(
            Backend::Redb,
            &store(dir.path(), Backend::Redb),
            ledger::storage::OpenMode::ReadOnly,
        )
        .unwrap();
        assert_eq!(store.head().unwrap().map(|h| h.seq), Some(5));
        assert!(store.probe().is_err());
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let ledger = Ledger::open_as(mount.path(), None, Access::Read).unwrap();
        assert!(ledger.is_read_only());
        assert!(matches!(
            ledger.verify(&mut |_| {}).unwrap(),
            ledger::Verdict::Intact { records: 6, .. }
        ));
        let err = ledger
            .append(append(vec![event("dk-1:a", 1)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("read-only"), "{err}");
        drop(ledger);
        let err = open_err(mount.path(), None, Access::Write);
        assert!(
            err.contains("cannot be opened for writing") && err.contains("ledger.redb"),
            "{err}"
        );
    });
    let _ = std::process::Command::new("umount")
        .arg(mount.path())
        .status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
