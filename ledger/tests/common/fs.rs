//! File helpers for storage tests: copying, replacing and sizing stores (a redb file or a sled
//! folder). Shared by the ledger's tests and the binary's (`#[path]` from `tests/common`).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Copies a file, or a folder with everything in it (a sled store).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Removes a file, or a folder with everything in it.
pub fn remove_tree(path: &Path) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
}

/// Puts a copy of `with` where `path` was.
pub fn replace_tree(path: &Path, with: &Path) {
    remove_tree(path);
    copy_tree(with, path);
}

/// Bytes of a file, or of every file of a folder.
pub fn tree_size(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| tree_size(&e.unwrap().path()))
            .sum()
    } else {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }
}
