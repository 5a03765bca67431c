//! The ledger as a transparency log, end to end: the log's key, signed checkpoints, proof bundles
//! checked offline (by `garanti verify-proof` and by Go's golang.org/x/mod/sumdb, code nobody here
//! wrote), and `verify` pinned to a checkpoint catching a rewritten history, a cut and a fork.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn history() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/history.jsonl")
}

/// A ledger of the shipped history with a log key; returns the verifier key.
fn ledger_with_key(data: &Path) -> String {
    let made = garanti(
        data,
        &["log-key", "new", "--origin", "test.example/garanti"],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let imported = garanti(data, &["import", history().to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    made.stdout.trim().to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_log_key_is_private_never_overwritten_and_printed_in_signed_note_form() {
    use base64::Engine as _;
    use sha2::Digest as _;
    use std::os::unix::fs::PermissionsExt as _;
    let data = tempfile::tempdir().unwrap();
    let made = garanti(
        data.path(),
        &["log-key", "new", "--origin", "kbh.example/garanti"],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let vkey = made.stdout.trim();
    let key_file = data.path().join("garanti-log.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // ORIGIN+<8 hex of SHA-256(ORIGIN ‖ "\n" ‖ 0x01 ‖ key)[..4]>+<base64(0x01 ‖ key)>
    let parts: Vec<&str> = vkey.splitn(3, '+').collect();
    assert_eq!(parts[0], "kbh.example/garanti");
    let key = base64::engine::general_purpose::STANDARD
        .decode(parts[2])
        .unwrap();
    assert_eq!((key.len(), key[0]), (33, 1));
    let mut h = sha2::Sha256::new();
    h.update(b"kbh.example/garanti\n");
    h.update(&key);
    assert_eq!(parts[1], hex::encode(&h.finalize()[..4]));
    // Never overwritten; shown again; a later import into the same directory works.
    let before = std::fs::read(&key_file).unwrap();
    let again = garanti(data.path(), &["log-key", "new", "--origin", "other"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), before);
    assert_eq!(
        garanti(data.path(), &["log-key", "show"]).stdout.trim(),
        vkey
    );
    let imported = garanti(data.path(), &["import", s(&history())]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);

    // A key made for a ledger that already holds records: the first checkpoint covers them.
    let older = tempfile::tempdir().unwrap();
    assert_eq!(garanti(older.path(), &["import", s(&history())]).code, 0);
    assert_eq!(
        garanti(
            older.path(),
            &["log-key", "new", "--origin", "old.example/g"]
        )
        .code,
        0
    );
    let cp = garanti(older.path(), &["checkpoint"]);
    assert_eq!(cp.stdout.lines().nth(1), Some("3112"), "{}", cp.stderr);
}

#[test]
fn checkpoints_are_kept_and_proofs_verify_offline_and_nothing_changed_does() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    let cp = garanti(data.path(), &["checkpoint"]);
    assert_eq!(cp.code, 0, "{}", cp.stderr);
    let lines: Vec<&str> = cp.stdout.lines().collect();
    assert_eq!(lines[0], "test.example/garanti");
    assert_eq!(lines[1], "3112");
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with("\u{2014} test.example/garanti "));
    let listed = json(&garanti(data.path(), &["checkpoints", "--format", "json"]));
    assert_eq!(listed[0]["size"], 3112);
    assert_eq!(listed[0]["checkpoint"], cp.stdout.as_str());

    let bundle = garanti(data.path(), &["prove", "41", "--size", "3112"]);
    assert_eq!(bundle.code, 0, "{}", bundle.stderr);
    let file = write(work.path(), "p41.json", &bundle.stdout);
    let ok = garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("record 41"), "{}", ok.stdout);

    // Any changed record byte, proof hash, index or signature fails with exit 1.
    let v: serde_json::Value = serde_json::from_str(&bundle.stdout).unwrap();
    let mut changed = Vec::new();
    let mut record = v.clone();
    let hex = record["record"].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        &hex[..10],
        if &hex[10..11] == "0" { "1" } else { "0" }
    );
    record["record"] = (flipped + &hex[11..]).into();
    changed.push(record);
    let mut proof = v.clone();
    proof["inclusion"][2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    changed.push(proof);
    let mut index = v.clone();
    index["index"] = 42.into();
    changed.push(index);
    let mut signature = v.clone();
    signature["checkpoint"] = v["checkpoint"]
        .as_str()
        .unwrap()
        .replace("\n3112\n", "\n3113\n")
        .into();
    changed.push(signature);
    for (i, bad) in changed.iter().enumerate() {
        let file = write(work.path(), &format!("bad{i}.json"), &bad.to_string());
        let run = garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]);
        assert_eq!(
            run.code, 1,
            "change {i} passed: {}{}",
            run.stdout, run.stderr
        );
        assert!(run.stdout.starts_with("FAILED"), "{}", run.stdout);
    }
    // Another log's key does not verify it.
    let other = tempfile::tempdir().unwrap();
    let other_key = garanti(
        other.path(),
        &["log-key", "new", "--origin", "test.example/garanti"],
    );
    let run = garanti(
        data.path(),
        &["verify-proof", s(&file), "--key", other_key.stdout.trim()],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);

    // A proof against a size never signed is refused with what to do.
    let unsigned = garanti(data.path(), &["prove", "41", "--size", "100"]);
    assert_eq!(unsigned.code, 2);
    assert!(
        unsigned.stderr.contains("garanti checkpoints"),
        "{}",
        unsigned.stderr
    );
}

#[test]
fn a_sanction_bundle_proves_its_decision_and_every_evidence_event() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    let bundle = json(&garanti(data.path(), &["prove", "--sanction", "s-101-17"]));
    assert_eq!(bundle["sanction_id"], "s-101-17");
    let verdict = &bundle["verdict"];
    let mut expected: Vec<u64> = verdict["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_u64().unwrap())
        .chain(verdict["seq"].as_u64())
        .collect();
    expected.sort_unstable();
    expected.dedup();
    let proved: Vec<u64> = bundle["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_u64().unwrap())
        .collect();
    assert_eq!(proved, expected);
    let file = write(work.path(), "s.json", &bundle.to_string());
    let ok = garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("sanction_decided"), "{}", ok.stdout);
    go_check(&vkey, &file);
}

fn verify_export_at(data: &Path, export: &Path, cp: &Path, vkey: &str) -> Run {
    let args = [
        "verify",
        "--export",
        s(export),
        "--checkpoint",
        s(cp),
        "--key",
        vkey,
    ];
    garanti(data, &args)
}

/// A second ledger holding the shipped history with one event changed (all hashes recomputed,
/// so its own chain verifies), or only its first `keep` events.
fn other_history(dir: &Path, change: bool, keep: usize) -> PathBuf {
    let text = std::fs::read_to_string(history()).unwrap();
    let mut lines: Vec<String> = text.lines().take(keep).map(str::to_owned).collect();
    if change {
        lines[100] = lines[100].replacen("\"actor\":\"", "\"actor\":\"x", 1);
    }
    let file = write(dir, "other.jsonl", &(lines.join("\n") + "\n"));
    let data = dir.join("data");
    let run = garanti(&data, &["import", s(&file)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(garanti(&data, &["verify"]).code, 0);
    data
}

#[test]
fn verify_since_a_checkpoint_finds_a_rewritten_history_a_cut_and_accepts_growth() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    let cp = write(
        work.path(),
        "cp",
        &garanti(data.path(), &["checkpoint"]).stdout,
    );
    let ok = garanti(data.path(), &["verify", "--since", s(&cp), "--key", &vkey]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("extends the checkpoint"),
        "{}",
        ok.stdout
    );

    let rewritten = tempfile::tempdir().unwrap();
    let rewritten = other_history(rewritten.path(), true, usize::MAX);
    let run = garanti(&rewritten, &["verify", "--since", s(&cp), "--key", &vkey]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("rewritten"), "{}", run.stdout);

    let cut = tempfile::tempdir().unwrap();
    let cut = other_history(cut.path(), false, 3000);
    let run = garanti(&cut, &["verify", "--since", s(&cp), "--key", &vkey]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("cut off or rolled back"),
        "{}",
        run.stdout
    );

    // An export of the rewritten history fails against the checkpoint; the true one passes.
    let export = work.path().join("rewritten.jsonl");
    garanti(&rewritten, &["export", "--out", s(&export)]);
    let run = verify_export_at(data.path(), &export, &cp, &vkey);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let export = work.path().join("true.jsonl");
    garanti(data.path(), &["export", "--out", s(&export)]);
    let run = verify_export_at(data.path(), &export, &cp, &vkey);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // A checkpoint signed by another key is refused before anything is walked.
    let other = tempfile::tempdir().unwrap();
    let other_key = garanti(
        other.path(),
        &["log-key", "new", "--origin", "test.example/garanti"],
    );
    let run = garanti(
        data.path(),
        &[
            "verify",
            "--since",
            s(&cp),
            "--key",
            other_key.stdout.trim(),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
}

#[test]
fn consistency_between_two_kept_checkpoints_is_proved() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    assert_eq!(garanti(data.path(), &["checkpoint"]).code, 0);
    let more = r#"{"stream":"dk-555:c-1","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{}}"#;
    assert_eq!(
        garanti_stdin(data.path(), &["import", "-"], &format!("{more}\n")).code,
        0
    );
    let bundle = garanti(data.path(), &["prove", "--from-size", "3112"]);
    assert_eq!(bundle.code, 0, "{}", bundle.stderr);
    let v: serde_json::Value = serde_json::from_str(&bundle.stdout).unwrap();
    assert_eq!(
        (v["old_size"].as_u64(), v["new_size"].as_u64()),
        (Some(3112), Some(3113))
    );
    let file = write(work.path(), "c.json", &bundle.stdout);
    let ok = garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    go_check(&vkey, &file);
    let mut bad = v.clone();
    bad["consistency"][0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    let file = write(work.path(), "bad.json", &bad.to_string());
    assert_eq!(
        garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]).code,
        1
    );
}

#[test]
fn a_record_over_65535_stored_bytes_is_refused_with_the_head_unchanged() {
    let data = tempfile::tempdir().unwrap();
    ledger_with_key(data.path());
    let before = head(data.path());
    let big = "x".repeat(70_000);
    let event = format!(
        r#"{{"stream":"dk-101:c-9","type":"plan_updated","effective_at":"2017-03-01T09:05:00+01:00","actor":"cw-17","data":{{"plan_version":1,"employment_goal":"{big}","offers":[]}}}}"#
    );
    let run = garanti_stdin(data.path(), &["import", "-"], &format!("{event}\n"));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("65535"), "{}", run.stderr);
    assert_eq!(head(data.path()), before);
}

#[test]
fn go_sumdb_verifies_a_checkpoint_and_inclusion_proofs_of_the_first_last_and_middle_records() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    assert_eq!(garanti(data.path(), &["checkpoint"]).code, 0);
    for seq in ["0", "1", "1555", "3110", "3111"] {
        let bundle = garanti(data.path(), &["prove", seq, "--size", "3112"]);
        assert_eq!(bundle.code, 0, "{}", bundle.stderr);
        go_check(
            &vkey,
            &write(work.path(), &format!("p{seq}.json"), &bundle.stdout),
        );
    }
}

/// Checks a bundle with Go's golang.org/x/mod/sumdb (tests/interop/tlogcheck.go). Go and
/// Debian's golang-golang-x-mod-dev are installed by .ci/run; without them the check is skipped
/// with a note, unless GARANTI_REQUIRE_GO is set (as .ci/run sets it), when it fails.
fn go_check(vkey: &str, bundle: &Path) {
    let Some(bin) = tlogcheck() else {
        assert!(
            std::env::var_os("GARANTI_REQUIRE_GO").is_none(),
            "GARANTI_REQUIRE_GO is set but Go or golang.org/x/mod is missing: apt-get install golang-go golang-golang-x-mod-dev"
        );
        eprintln!(
            "note: Go's sumdb check skipped (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        return;
    };
    let out = std::process::Command::new(bin)
        .arg(vkey)
        .arg(bundle)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Go's tlog refused {}: {stdout}",
        bundle.display()
    );
    assert!(stdout.starts_with("ok"), "{stdout}");
}

/// Builds tests/interop/tlogcheck.go once per test binary; None if Go or x/mod is missing.
fn tlogcheck() -> Option<&'static Path> {
    static BIN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let gopath = Path::new("/usr/share/gocode");
        if !gopath.join("src/golang.org/x/mod/sumdb/tlog").is_dir() {
            return None;
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = target.join("tlogcheck");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tlogcheck.go");
        let built = std::process::Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(&source)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOCACHE", target.join("go-cache"))
            .status()
            .ok()?;
        assert!(built.success(), "go build of tlogcheck.go failed");
        Some(out)
    })
    .as_deref()
}

#[test]
fn judging_at_a_checkpoint_sees_only_what_it_signs_and_the_report_embeds_it_with_proofs() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let vkey = ledger_with_key(data.path());
    let cp = write(
        work.path(),
        "cp",
        &garanti(data.path(), &["checkpoint"]).stdout,
    );
    let later = r#"{"stream":"dk-999:c-1","type":"sanction_decided","effective_at":"2017-03-27T10:00:00+02:00","actor":"cw-17","data":{"sanction_id":"s-later","offer_id":"o-1","kind":"reduction","legal_basis":"LAS § 36"}}"#;
    assert_eq!(
        garanti_stdin(data.path(), &["import", "-"], &format!("{later}\n")).code,
        0
    );
    let at = ["--at-checkpoint", s(&cp), "--key", &vkey];
    let count = |extra: &[&str]| {
        let mut args = vec!["sanctions", "--format", "json"];
        args.extend_from_slice(extra);
        json(&garanti(data.path(), &args)).as_array().unwrap().len()
    };
    assert_eq!(count(&[]), count(&at) + 1);
    let explained = garanti(data.path(), &[&["explain", "s-later"][..], &at].concat());
    assert_eq!(explained.code, 2, "{}", explained.stdout);

    // The report made at the checkpoint names it and proves the sample's evidence under it.
    let out = work.path().join("r.json");
    let args = [
        &[
            "report",
            "--year",
            "2017",
            "--sample",
            "3",
            "--seed",
            "r",
            "--out",
            s(&out),
        ][..],
        &at,
    ]
    .concat();
    let run = garanti(data.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let note = report["source"]["checkpoint"].as_str().unwrap();
    assert_eq!(note, std::fs::read_to_string(&cp).unwrap());
    let proofs: Vec<&serde_json::Value> = report["sample"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["proofs"].as_array().unwrap())
        .collect();
    assert!(!proofs.is_empty());
    for (i, p) in proofs.iter().enumerate() {
        let mut bundle = (*p).clone();
        bundle["checkpoint"] = note.into();
        let file = write(work.path(), &format!("sample{i}.json"), &bundle.to_string());
        let ok = garanti(data.path(), &["verify-proof", s(&file), "--key", &vkey]);
        assert_eq!(ok.code, 0, "{}", ok.stdout);
    }

    // A rewritten ledger is refused at the checkpoint: exit 1, nothing judged.
    let rewritten = tempfile::tempdir().unwrap();
    let rewritten = other_history(rewritten.path(), true, usize::MAX);
    let run = garanti(&rewritten, &[&["sanctions"][..], &at].concat());
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("not the ones the checkpoint signs"),
        "{}",
        run.stderr
    );
}
