//! Tampering, in the store and in an export: any single changed byte, a truncated, deleted,
//! duplicated or swapped record is detected, and the seq is named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ledger::export::verify_export;
use ledger::interchange::{export_line, export_trailer};
use ledger::storage::stored_value;
use ledger::{ChainFault, FaultKind, Ledger, Verdict};

const N: u64 = 12;

fn broken(ledger: &Ledger) -> ChainFault {
    match ledger.verify(&mut |_| {}).unwrap() {
        Verdict::Broken(f) => f,
        Verdict::Intact { .. } => panic!("tampering went unnoticed"),
    }
}

fn value(ledger: &Ledger, seq: u64) -> Vec<u8> {
    stored_value(&ledger.get(seq).unwrap().unwrap())
}

#[test]
fn every_changed_byte_of_a_stored_record_is_found() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = filled(dir.path(), backend, N);
        for seq in [0, 5, N - 1] {
            let original = value(&ledger, seq);
            for i in 0..original.len() {
                let mut changed = original.clone();
                changed[i] ^= 0x20;
                ledger.storage().overwrite_raw(seq, Some(&changed)).unwrap();
                let f = broken(&ledger);
                assert_eq!(f.seq, seq, "{backend} byte {i} of seq {seq}: {f}");
                // The first 32 bytes are prev_hash: a broken link; the rest change what is hashed.
                if i < 32 {
                    assert!(matches!(f.kind, FaultKind::BrokenLink { .. }), "{f}");
                } else {
                    assert!(matches!(f.kind, FaultKind::HashMismatch { .. }), "{f}");
                }
            }
            ledger
                .storage()
                .overwrite_raw(seq, Some(&original))
                .unwrap();
        }
        assert!(matches!(
            ledger.verify(&mut |_| {}).unwrap(),
            Verdict::Intact { records: N, .. }
        ));
    }
}

#[test]
fn truncated_deleted_duplicated_and_swapped_records_are_found() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let ledger = filled(dir.path(), backend, N);
        let store = ledger.storage();
        let (v4, v5, v6) = (value(&ledger, 4), value(&ledger, 5), value(&ledger, 6));
        let restore = || {
            store.overwrite_raw(4, Some(&v4)).unwrap();
            store.overwrite_raw(5, Some(&v5)).unwrap();
            store.overwrite_raw(6, Some(&v6)).unwrap();
        };

        store.overwrite_raw(5, Some(&v5[..v5.len() - 3])).unwrap();
        let f = broken(&ledger);
        assert_eq!(f.seq, 5, "truncated: {f}");
        store.overwrite_raw(5, Some(&v5[..40])).unwrap();
        assert_eq!(
            broken(&ledger),
            ChainFault {
                seq: 5,
                kind: FaultKind::TooShort
            }
        );
        restore();

        store.overwrite_raw(5, None).unwrap();
        assert_eq!(
            broken(&ledger),
            ChainFault {
                seq: 5,
                kind: FaultKind::Gap {
                    expected: 5,
                    found: 6
                }
            }
        );
        restore();

        // Record 5 stored again in place of record 6.
        store.overwrite_raw(6, Some(&v5)).unwrap();
        let f = broken(&ledger);
        assert_eq!(f.seq, 6, "duplicated: {f}");
        assert!(matches!(f.kind, FaultKind::BrokenLink { .. }), "{f}");
        restore();

        store.overwrite_raw(4, Some(&v5)).unwrap();
        store.overwrite_raw(5, Some(&v4)).unwrap();
        let f = broken(&ledger);
        assert_eq!(f.seq, 4, "swapped: {f}");
        restore();

        // The last record deleted: the stored head names it.
        let last = value(&ledger, N - 1);
        store.overwrite_raw(N - 1, None).unwrap();
        let f = broken(&ledger);
        assert_eq!(f.seq, N - 1, "tail deleted: {f}");
        assert!(matches!(f.kind, FaultKind::Truncated { .. }), "{f}");
        store.overwrite_raw(N - 1, Some(&last)).unwrap();

        // A copy of the last record appended after it.
        store.overwrite_raw(N, Some(&last)).unwrap();
        let f = broken(&ledger);
        assert_eq!(f.seq, N, "duplicated at the end: {f}");
        store.overwrite_raw(N, None).unwrap();

        assert!(matches!(
            ledger.verify(&mut |_| {}).unwrap(),
            Verdict::Intact { records: N, .. }
        ));
    }
}

/// The export of a ledger as lines (the last one is the export_end line).
fn export(ledger: &Ledger) -> Vec<String> {
    let mut lines = Vec::new();
    let mut last = None;
    ledger
        .scan(0, u64::MAX, &mut |r| {
            lines.push(export_line(r, &r.view().unwrap()));
            last = Some((r.seq, r.hash));
            true
        })
        .unwrap();
    lines.push(export_trailer(
        lines.len() as u64,
        Some((0, &ledger::record::GENESIS_PREV_HASH)).filter(|_| last.is_some()),
        last.as_ref().map(|(s, h)| (*s, h)),
    ));
    lines
}

fn check(lines: &[String]) -> Result<ledger::export::ExportCheck, ChainFault> {
    verify_export(std::io::Cursor::new(lines.join("\n") + "\n"))
}

#[test]
fn an_intact_export_verifies_and_a_partial_one_is_anchored() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = filled(dir.path(), ledger::Backend::Redb, N);
    let lines = export(&ledger);
    let ok = check(&lines).unwrap();
    assert_eq!(ok.records, N);
    assert_eq!(ok.checker_head, ledger.head());
    // Records 5.. with their own export_end verify, anchored at record 4's hash.
    let mut tail: Vec<String> = lines[5..lines.len() - 1].to_vec();
    let head = ledger.head().unwrap();
    let anchor = ledger.get(4).unwrap().unwrap().hash;
    tail.push(export_trailer(
        N - 5,
        Some((5, &anchor)),
        Some((head.seq, &head.hash)),
    ));
    let partial = check(&tail).unwrap();
    assert_eq!(
        partial.first,
        Some((5, ledger.get(4).unwrap().unwrap().hash))
    );
}

#[test]
fn every_changed_byte_of_an_export_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = filled(dir.path(), ledger::Backend::Redb, 4);
    let lines = export(&ledger);
    let text = lines.join("\n") + "\n";
    let bytes = text.as_bytes();
    let mut line_of = Vec::with_capacity(bytes.len());
    let mut line = 0u64;
    for b in bytes {
        line_of.push(line);
        if *b == b'\n' {
            line += 1;
        }
    }
    for i in 0..bytes.len() {
        for replacement in [bytes[i] ^ 0x01, bytes[i] ^ 0x20, b' '] {
            if replacement == bytes[i] {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let result = verify_export(std::io::Cursor::new(changed));
            let f = result.err().unwrap_or_else(|| {
                panic!(
                    "byte {i} ({:?} -> {:?}) went unnoticed",
                    bytes[i] as char, replacement as char
                )
            });
            // The seq named is the changed line's record (the export_end line counts as seq 4).
            let expected = line_of[i].min(4);
            let names_it = f.seq == expected
                || matches!(f.kind, FaultKind::SeqMismatch { says, .. } if says == expected)
                || matches!(f.kind, FaultKind::Gap { expected: e, .. } if e == expected);
            assert!(names_it, "byte {i} of line {}: {f}", line_of[i]);
        }
    }
}

#[test]
fn deleted_duplicated_swapped_and_cut_off_export_lines_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = filled(dir.path(), ledger::Backend::Redb, N);
    let lines = export(&ledger);

    let mut deleted = lines.clone();
    deleted.remove(5);
    assert_eq!(check(&deleted).unwrap_err().seq, 5);

    let mut duplicated = lines.clone();
    duplicated.insert(6, lines[5].clone());
    let f = check(&duplicated).unwrap_err();
    assert_eq!(
        f,
        ChainFault {
            seq: 6,
            kind: FaultKind::Duplicate { seq: 5 }
        }
    );

    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    assert_eq!(check(&swapped).unwrap_err().seq, 3);

    // The last records and the export_end line cut off.
    let cut: Vec<String> = lines[..8].to_vec();
    let f = check(&cut).unwrap_err();
    assert_eq!(f.seq, 8, "{f}");
    assert!(f.to_string().contains("cut off"), "{f}");

    // Cut in the middle of a line.
    let text = lines.join("\n");
    let at = text.find(&lines[7]).unwrap() + 40;
    let f = verify_export(std::io::Cursor::new(text[..at].to_owned())).unwrap_err();
    assert_eq!(f.seq, 7, "{f}");

    // The export_end line dropped alone.
    let f = check(&lines[..lines.len() - 1]).unwrap_err();
    assert_eq!(f.seq, N);

    // The first records cut off, the rest (anchored on its own first prev_hash) and the
    // export_end line kept, its count mended: export_end names the first seq and prev_hash, so
    // the cut is found.
    let mut front_cut: Vec<String> = lines[3..].to_vec();
    let end = front_cut.pop().unwrap();
    front_cut.push(end.replace(
        &format!("\"records\":{N}"),
        &format!("\"records\":{}", N - 3),
    ));
    let f = check(&front_cut).unwrap_err();
    assert!(f.to_string().contains("first record"), "{f}");
}

/// An export chain of records made here (not by a ledger), each sealed on the one before: for
/// contents a ledger never writes. `records`: (stream, stream_version, offset_seconds, data).
fn crafted(records: &[(&str, u64, i32, &str)]) -> Vec<String> {
    use ledger::record::{seal, RecordView, StoredRecord, Timestamp, GENESIS_PREV_HASH};
    let mut prev = GENESIS_PREV_HASH;
    let mut lines = Vec::new();
    for (seq, (stream, stream_version, offset_seconds, data)) in records.iter().enumerate() {
        let view = RecordView {
            seq: seq as u64,
            stream,
            stream_version: *stream_version,
            appended_at: 1_700_000_000_000_000_000,
            appended_by: "test",
            event_type: "sanction_guidance_given",
            effective_at: Timestamp {
                unix_nanos: 1_489_129_200_000_000_000,
                offset_seconds: *offset_seconds,
            },
            recorded_at: None,
            actor: "cw-1",
            data,
        };
        let bytes = view.encode();
        let hash = seal(&prev, &bytes);
        let record = StoredRecord {
            seq: seq as u64,
            prev_hash: prev,
            hash,
            bytes,
        };
        lines.push(export_line(&record, &record.view().unwrap()));
        prev = hash;
    }
    let last = records.len() as u64 - 1;
    lines.push(export_trailer(
        records.len() as u64,
        Some((0, &GENESIS_PREV_HASH)),
        Some((last, &prev)),
    ));
    lines
}

/// docs/FORMAT.md says what an export is, line by line: LF line ends, no blank line, nothing after
/// `export_end`; each stream's versions 1, 2, 3, ...; offsets RFC 3339 can write; `data` an object
/// written compactly with sorted keys, none twice. Anything else is refused, saying where and
/// what, in words (no Rust debug text), and "appears again" only of a seq that did appear.
#[test]
fn an_export_is_what_the_exporter_writes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = filled(dir.path(), ledger::Backend::Redb, N);
    let lines = export(&ledger);
    let joined = lines.join("\n") + "\n";
    let fault = |text: String| {
        verify_export(std::io::Cursor::new(text))
            .unwrap_err()
            .to_string()
    };
    assert!(fault(lines.join("\r\n") + "\r\n").contains("line 1: ends with CR LF"));
    let blank = format!("{}\n\n{}\n", lines[..3].join("\n"), lines[3..].join("\n"));
    assert!(fault(blank).contains("line 4: is blank"));
    for after in ["\n", "{}\n", "garbage"] {
        let f = fault(format!("{joined}{after}"));
        assert!(f.contains("follows the export_end line"), "{after:?}: {f}");
    }
    let no_count = lines[lines.len() - 1].replace(&format!("\"records\":{N}"), "\"count\":1");
    let mut missing = lines.clone();
    *missing.last_mut().unwrap() = no_count;
    let f = check(&missing).unwrap_err().to_string();
    assert!(!f.contains("Some(") && !f.contains("None"), "{f}");
    // A partial export from seq 5 with seq 2's line after its first: out of order, not "again".
    let mut partial: Vec<String> = lines[5..8].to_vec();
    partial.insert(1, lines[2].clone());
    let f = check(&partial).unwrap_err();
    assert_eq!(f.kind, FaultKind::OutOfOrder { seq: 2, after: 5 }, "{f}");

    let ok = crafted(&[
        ("dk-101:c-1", 1, 3600, "{}"),
        (
            "dk-101:c-1",
            2,
            -7200,
            r#"{"a":[1,{"b":2,"c":"x"}],"d":null}"#,
        ),
        ("dk-101:c-2", 1, 0, "{}"),
    ]);
    assert_eq!(check(&ok).unwrap().records, 3);
    for (records, says) in [
        (
            vec![("dk-101:c-1", 1, 0, "{}"), ("dk-101:c-1", 3, 0, "{}")],
            "stream dk-101:c-1 is at version 3 here; the version before it in this export makes it 2",
        ),
        (
            vec![("dk-101:c-1", 1, 0, "{}"), ("dk-101:c-1", 1, 0, "{}")],
            "is at version 1 here",
        ),
        (vec![("dk-101:c-1", 0, 0, "{}")], "is at version 0 here"),
        (vec![("dk-101:c-1", 2, 0, "{}")], "is at version 2 here"),
        (vec![("dk-101:c-1", 1, 30, "{}")], "offset of 30 seconds"),
        (vec![("dk-101:c-1", 1, 86_400, "{}")], "offset of 86400 seconds"),
        (vec![("dk-101:c-1", 1, 0, r#"{"b":1,"a":2}"#)], "keys sorted"),
        (vec![("dk-101:c-1", 1, 0, r#"{"a": 1}"#)], "compactly"),
        (vec![("dk-101:c-1", 1, 0, r#"{"a":1e0}"#)], "compactly"),
        (vec![("dk-101:c-1", 1, 0, r#"{"a":1,"a":1}"#)], "repeated keys"),
        (vec![("dk-101:c-1", 1, 0, "[1]")], "not a JSON object"),
    ] {
        let f = check(&crafted(&records))
            .map_or_else(|f| f.to_string(), |_| format!("{records:?} went unnoticed"));
        assert!(f.contains(says), "{records:?}: {f}");
    }
}
