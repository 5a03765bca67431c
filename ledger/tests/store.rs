//! The store against an in-memory model, for both backends; persistence across reopening; data
//! directories; group commit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ledger::{AppendError, Backend, Ledger, Verdict};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    Append {
        streams: Vec<u8>,
        expect: Option<(u8, u64)>,
        claim: Option<u8>,
        need: Option<u8>,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            prop::collection::vec(0u8..4, 1..6),
            prop::option::of((0u8..4, 0u64..4)),
            prop::option::of(0u8..6),
            prop::option::of(0u8..6),
        )
            .prop_map(|(streams, expect, claim, need)| Op::Append { streams, expect, claim, need }),
        1 => Just(Op::Reopen),
    ]
}

/// The model: what the ledger must hold.
#[derive(Default)]
struct Model {
    streams: Vec<String>,
    keys: BTreeSet<String>,
}

impl Model {
    fn version(&self, s: &str) -> u64 {
        self.streams.iter().filter(|x| *x == s).count() as u64
    }
}

fn stream_name(i: u8) -> String {
    format!("dk-10{i}:c-{i}")
}

fn run_model(backend: Backend, ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), Some(backend)).unwrap();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Reopen => {
                drop(ledger);
                ledger = Ledger::open(dir.path(), None).unwrap();
            }
            Op::Append {
                streams,
                expect,
                claim,
                need,
            } => {
                let names: Vec<String> = streams.iter().map(|s| stream_name(*s)).collect();
                let mut a = append(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, s)| event(s, i as u64))
                        .collect(),
                );
                if let Some((s, v)) = expect {
                    a.expected_versions.push((stream_name(s), v));
                }
                if let Some(k) = claim {
                    a.constraints.push(unique(&format!("k{k}"), 0));
                }
                if let Some(k) = need {
                    a.constraints
                        .push(exists(&format!("k{k}"), names.len() - 1));
                }
                // What the model says.
                let conflict = expect.filter(|(s, v)| model.version(&stream_name(*s)) != *v);
                let claim_taken = claim.filter(|k| model.keys.contains(&format!("k{k}")));
                let need_missing = need.filter(|k| {
                    let key = format!("k{k}");
                    !model.keys.contains(&key) && claim.map(|c| format!("k{c}")) != Some(key)
                });
                let result = ledger.append(a);
                match (conflict, claim_taken, need_missing) {
                    (Some((s, v)), _, _) => assert_eq!(
                        result,
                        Err(AppendError::VersionConflict {
                            stream: stream_name(s),
                            expected: v,
                            current: model.version(&stream_name(s))
                        })
                    ),
                    (None, Some(_), _) | (None, None, Some(_)) => {
                        assert!(
                            matches!(result, Err(AppendError::Constraint { .. })),
                            "{result:?}"
                        )
                    }
                    (None, None, None) => {
                        let receipt = result.unwrap();
                        let first = model.streams.len() as u64;
                        for (i, name) in names.iter().enumerate() {
                            model.streams.push(name.clone());
                            assert_eq!(
                                receipt.positions[i],
                                (first + i as u64, model.version(name))
                            );
                        }
                        if let Some(k) = claim {
                            model.keys.insert(format!("k{k}"));
                        }
                    }
                }
            }
        }
        // The ledger holds exactly the model, read every way.
        assert_eq!(ledger.next_seq(), model.streams.len() as u64);
        let mut by_stream: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for (seq, s) in model.streams.iter().enumerate() {
            by_stream.entry(s).or_default().push(seq as u64);
        }
        for i in 0..4u8 {
            let name = stream_name(i);
            let want = by_stream.get(name.as_str()).cloned().unwrap_or_default();
            assert_eq!(ledger.stream_version(&name).unwrap(), want.len() as u64);
            let got: Vec<u64> = ledger
                .stream(&name)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(got, want);
        }
        let listed: Vec<(String, u64)> = ledger.streams().unwrap();
        assert_eq!(
            listed,
            by_stream
                .iter()
                .map(|(s, v)| (s.to_string(), v.len() as u64))
                .collect::<Vec<_>>()
        );
        for k in 0..6 {
            let key = format!("k{k}");
            assert_eq!(
                ledger.key(&key).unwrap().is_some(),
                model.keys.contains(&key),
                "{key}"
            );
        }
    }
    match ledger.verify(&mut |_| {}).unwrap() {
        Verdict::Intact { records, .. } => assert_eq!(records, model.streams.len() as u64),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn redb_store_matches_the_model(ops in prop::collection::vec(op(), 1..25)) {
        run_model(Backend::Redb, ops);
    }

    #[test]
    fn sled_store_matches_the_model(ops in prop::collection::vec(op(), 1..25)) {
        run_model(Backend::Sled, ops);
    }
}

#[test]
fn a_refused_batch_writes_nothing() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = filled(dir.path(), backend, 5);
        let head = ledger.head();
        let mut a = append(vec![event("dk-1:a", 1), event("dk-1:z", 2)]);
        a.constraints.push(exists("never-claimed", 1));
        let err = ledger.append(a).unwrap_err();
        assert_eq!(
            err,
            AppendError::Constraint {
                event: 1,
                field: "data.x".into(),
                message: "never-claimed is missing".into(),
                claimed_by: None,
            }
        );
        assert_eq!(ledger.head(), head);
        assert_eq!(ledger.stream_version("dk-1:z").unwrap(), 0);
        drop(ledger);
        let reopened = Ledger::open(dir.path(), None).unwrap();
        assert_eq!(reopened.head(), head);
    }
}

#[test]
fn a_key_claimed_twice_in_one_batch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), None).unwrap();
    let mut a = append(vec![event("s", 0), event("s", 1)]);
    a.constraints.push(unique("sanction|x", 0));
    a.constraints.push(unique("sanction|x", 1));
    assert!(matches!(
        ledger.append(a),
        Err(AppendError::Constraint { event: 1, .. })
    ));
    // Claimed by an earlier event of the same batch counts as existing.
    let mut b = append(vec![event("s", 0), event("s", 1)]);
    b.constraints.push(unique("plan|s|1", 0));
    b.constraints.push(exists("plan|s|1", 1));
    assert!(ledger.append(b).is_ok());
}

#[test]
fn version_conflicts_name_the_stream_and_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = filled(dir.path(), Backend::Redb, 6);
    let mut a = append(vec![event("dk-1:a", 9)]);
    a.expected_versions.push(("dk-1:a".into(), 1));
    let err = ledger.append(a).unwrap_err();
    assert_eq!(
        err,
        AppendError::VersionConflict {
            stream: "dk-1:a".into(),
            expected: 1,
            current: 2
        }
    );
    assert!(err.to_string().contains("dk-1:a") && err.to_string().contains("version 2"));
}

#[test]
fn the_data_directory_records_its_backend() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), Backend::Sled, 3));
    let marker = std::fs::read_to_string(dir.path().join(ledger::ledger::MARKER_FILE)).unwrap();
    assert!(marker.contains("backend = \"sled\""), "{marker}");
    let err = Ledger::open(dir.path(), Some(Backend::Redb))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("made with the sled backend") && err.contains("--store sled"),
        "{err}"
    );
    // Without a choice, the directory's own backend is used.
    assert_eq!(Ledger::open(dir.path(), None).unwrap().next_seq(), 3);

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "hello").unwrap();
    let err = Ledger::open(other.path(), None).err().unwrap().to_string();
    assert!(err.contains("not a garanti data directory"), "{err}");
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let first = Ledger::open(dir.path(), Some(backend)).unwrap();
        let err = Ledger::open(dir.path(), None).err().unwrap().to_string();
        assert!(err.contains("in use"), "{backend}: {err}");
        drop(first);
    }
}

#[test]
fn group_commit_serves_concurrent_appenders_durably() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = std::sync::Arc::new(Ledger::open(dir.path(), Some(backend)).unwrap());
        let commits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = commits.clone();
        let (committer, writer) = ledger::group::GroupCommitter::start(
            ledger.clone(),
            64,
            256,
            Box::new(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }),
        );
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let c = committer.clone();
                std::thread::spawn(move || {
                    let mut seqs = Vec::new();
                    for i in 0..25 {
                        let mut a = append(vec![event(&format!("dk-1:t{t}"), i)]);
                        a.expected_versions.push((format!("dk-1:t{t}"), i));
                        seqs.push(c.append(a).unwrap().positions[0]);
                    }
                    seqs
                })
            })
            .collect();
        let mut all: Vec<u64> = Vec::new();
        for t in threads {
            let positions = t.join().unwrap();
            // Each thread's stream versions come back in order.
            assert_eq!(
                positions.iter().map(|p| p.1).collect::<Vec<_>>(),
                (1..=25).collect::<Vec<_>>()
            );
            all.extend(positions.iter().map(|p| p.0));
        }
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
        drop(committer);
        writer.join().unwrap();
        assert!(commits.load(std::sync::atomic::Ordering::Relaxed) <= 200);
        assert!(matches!(
            ledger.verify(&mut |_| {}).unwrap(),
            Verdict::Intact { records: 200, .. }
        ));
    }
}

#[test]
fn one_refused_append_in_a_group_leaves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), None).unwrap();
    let mut bad = append(vec![event("s", 1)]);
    bad.constraints.push(exists("nothing", 0));
    let results = ledger.append_group(vec![
        append(vec![event("s", 0)]),
        bad,
        append(vec![event("s", 2)]),
    ]);
    assert_eq!(results[0].as_ref().unwrap().positions, vec![(0, 1)]);
    assert!(results[1].is_err());
    assert_eq!(results[2].as_ref().unwrap().positions, vec![(1, 2)]);
    assert_eq!(ledger.next_seq(), 2);
}

#[test]
fn pipelined_appends_stop_at_the_first_refusal_and_keep_what_was_acknowledged() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), Some(backend)).unwrap();
        let mut batches: Vec<_> = (0..5u64)
            .map(|b| append((0..3).map(|i| event("dk-1:a", b * 3 + i)).collect()))
            .collect();
        batches[3].constraints.push(exists("missing", 2));
        let mut queue = batches.into_iter();
        let mut outcomes = Vec::new();
        ledger.append_each(&mut || queue.next(), &mut |r| {
            let ok = r.is_ok();
            outcomes.push(r);
            ok
        });
        assert_eq!(outcomes.len(), 4, "the fifth batch is never attempted");
        assert!(outcomes[..3].iter().all(|r| r.is_ok()));
        assert_eq!(
            outcomes[2].as_ref().unwrap().positions.last(),
            Some(&(8, 9))
        );
        assert!(matches!(
            &outcomes[3],
            Err(AppendError::Constraint { event: 2, .. })
        ));
        assert_eq!(ledger.next_seq(), 9);
        drop(ledger);
        let reopened = Ledger::open(dir.path(), None).unwrap();
        assert_eq!(reopened.next_seq(), 9);
        assert!(matches!(
            reopened.verify(&mut |_| {}).unwrap(),
            Verdict::Intact { records: 9, .. }
        ));
    }
}
