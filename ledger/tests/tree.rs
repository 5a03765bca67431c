//! The Merkle tree kept with the records: after many commits (and across verify's segments) the
//! stored tree is the tree of the records, proofs from the store verify, and a changed stored tree
//! hash is found by `verify`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ledger::merkle::{self, stored_key};
use ledger::storage::CommitBatch;
use ledger::{Backend, Ledger, Verdict};

/// Enough records for verify to walk them in several segments (each a power of two, 65,536 or more).
const N: u64 = 140_000;

fn big(dir: &std::path::Path) -> Ledger {
    let ledger = Ledger::open(dir, Some(Backend::Redb)).unwrap();
    let mut seq = 0;
    while seq < N {
        let events = (seq..(seq + 5_000).min(N))
            .map(|i| event(&format!("dk-1:c-{}", i % 97), i))
            .collect();
        let receipt = ledger.append(append(events)).unwrap();
        seq = receipt.head.unwrap().seq + 1;
    }
    ledger
}

#[test]
fn the_stored_tree_is_the_tree_of_the_records_and_its_proofs_verify() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = big(dir.path());
    let mark = 100_001;
    let Verdict::Intact {
        records,
        root,
        marked,
        ..
    } = ledger.verify_marked(Some(mark), &mut |_| {}).unwrap()
    else {
        panic!("does not verify");
    };
    assert_eq!(records, N);
    assert_eq!(root, ledger.tree().root());
    assert_eq!(marked, Some(ledger.tree_root(mark).unwrap()));
    for index in [0, 65_535, 65_536, 100_000, N - 1] {
        let bytes = ledger.get(index).unwrap().unwrap().bytes;
        let proof = ledger.inclusion_proof(index, N).unwrap();
        merkle::verify_inclusion(index, N, &merkle::leaf_hash(&bytes), &proof, &root).unwrap();
    }
    let proof = ledger.consistency_proof(mark, N).unwrap();
    merkle::verify_consistency(mark, N, &marked.unwrap(), &root, &proof).unwrap();

    // A stored leaf hash changed behind the ledger's back is found at its record.
    let mut batch = CommitBatch::default();
    batch.tree.push((stored_key(0, 77_777), [9u8; 32]));
    ledger.storage().commit(&batch).unwrap();
    let Verdict::Broken(fault) = ledger.verify(&mut |_| {}).unwrap() else {
        panic!("a changed leaf hash went unnoticed");
    };
    assert_eq!(fault.seq, 77_777, "{fault}");
    // An interior hash on the tree's right edge: the stored root is no longer the records'.
    let dir = tempfile::tempdir().unwrap();
    let ledger = big(dir.path());
    let mut batch = CommitBatch::default();
    batch.tree.push((stored_key(17, 0), [9u8; 32]));
    ledger.storage().commit(&batch).unwrap();
    assert!(matches!(
        ledger.verify(&mut |_| {}).unwrap(),
        Verdict::Broken(_)
    ));
}
