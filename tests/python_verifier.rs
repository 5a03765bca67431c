//! docs/FORMAT.md is precise enough for an independent verifier: tools/verify_export.py (Python,
//! blake3 from PyPI) accepts an export of the test data and names the seq of a changed record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn python_verify(export: &Path) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py");
    let run: Run = Command::new("python3")
        .arg(script)
        .arg(export)
        .output()
        .expect("python3 runs")
        .into();
    assert!(
        !run.stderr.contains("No module named 'blake3'"),
        "the Python verifier needs blake3: run `python3 -m pip install blake3` (the README's test command does)"
    );
    run
}

#[test]
fn the_python_verifier_accepts_an_export_of_the_test_data_and_finds_changes() {
    let data = tempfile::tempdir().unwrap();
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/history.jsonl");
    assert_eq!(
        garanti(
            data.path(),
            &["import", "--batch", "1000", history.to_str().unwrap()]
        )
        .code,
        0
    );
    let export = data.path().join("export.jsonl");
    assert_eq!(
        garanti(data.path(), &["export", "--out", export.to_str().unwrap()]).code,
        0
    );
    let (seq, hash) = head(data.path()).unwrap();

    let ok = python_verify(&export);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(
        ok.stdout.trim(),
        format!("ok: {} records; head seq {seq} hash {hash}", seq + 1)
    );

    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // A changed byte inside the stored bytes of record 1500.
    let original = lines[1500].clone();
    let at = original.rfind("\"record\":\"").unwrap() + 20;
    let mut bytes = original.clone().into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    lines[1500] = String::from_utf8(bytes).unwrap();
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let bad = python_verify(&export);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.starts_with("FAILED at seq 1500:"),
        "{}",
        bad.stdout
    );

    // A removed record.
    lines[1500] = original;
    lines.remove(700);
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let bad = python_verify(&export);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.starts_with("FAILED at seq 700:"),
        "{}",
        bad.stdout
    );

    // Line ends other than LF alone, a blank line, or a line after export_end: FORMAT.md §3.
    assert_eq!(
        garanti(data.path(), &["export", "--out", export.to_str().unwrap()]).code,
        0
    );
    let intact: Vec<String> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for (changed, says) in [
        (intact.join("\r\n") + "\r\n", "CR LF"),
        (intact.join("\n") + "\n\n", "follows export_end"),
        (
            format!("{}\n\n{}\n", intact[..3].join("\n"), intact[3..].join("\n")),
            "blank",
        ),
    ] {
        std::fs::write(&export, changed).unwrap();
        let bad = python_verify(&export);
        assert_eq!(bad.code, 1, "{says}: {}", bad.stdout);
        assert!(bad.stdout.contains(says), "{}", bad.stdout);
    }
}
