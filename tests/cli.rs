//! End-to-end tests of the ledger commands: import, export, verify, head; refusals of malformed
//! input with line and field, and nothing written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const GUIDANCE: &str = r#"{"stream":"dk-101:c-1","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{}}"#;
const PLAN_1: &str = r#"{"stream":"dk-101:c-1","type":"plan_updated","effective_at":"2017-03-01T09:05:00+01:00","actor":"cw-17","data":{"plan_version":1,"employment_goal":"Lager","offers":["o-1"]}}"#;
const PUBLISH_1: &str = r#"{"stream":"dk-101:c-1","type":"plan_published","effective_at":"2017-03-01T09:10:00+01:00","actor":"cw-17","data":{"plan_version":1,"channel":"jobnet"}}"#;
const SANCTION: &str = r#"{"stream":"dk-101:c-1","type":"sanction_decided","effective_at":"2017-03-27T10:00:00+02:00","actor":"cw-17","data":{"sanction_id":"s-1","offer_id":"o-1","kind":"reduction","legal_basis":"LAS § 36"}}"#;

fn lines(ls: &[&str]) -> String {
    ls.join("\n") + "\n"
}

#[test]
fn import_verify_export_and_verify_the_export() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/12-boundaries.jsonl");
    let run = garanti(data.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("imported 28 events (seq 0..=27)"),
        "{}",
        run.stdout
    );
    let (seq, hash) = head(data.path()).unwrap();
    assert_eq!(seq, 27);
    assert!(run.stdout.contains(&hash));

    let verify = garanti(data.path(), &["verify"]);
    assert_eq!(verify.code, 0);
    assert!(
        verify.stdout.starts_with(&format!(
            "ok: 28 records; head seq 27 hash {hash}; tree root "
        )),
        "{}",
        verify.stdout
    );

    let out = data.path().join("export.jsonl");
    assert_eq!(
        garanti(data.path(), &["export", "--out", out.to_str().unwrap()]).code,
        0
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for field in [
        "seq",
        "stream",
        "stream_version",
        "type",
        "effective_at",
        "recorded_at",
        "actor",
        "data",
        "appended_at",
        "appended_by",
        "prev_hash",
        "hash",
        "record",
    ] {
        assert!(
            first.get(field).is_some(),
            "export line lacks {field}: {first}"
        );
    }
    assert_eq!(first["appended_by"], "cli");
    assert_eq!(first["prev_hash"], "0".repeat(64));
    let ok = garanti(data.path(), &["verify", "--export", out.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains(&hash));

    // A changed export is found, the seq named, exit 1.
    let mut changed: Vec<String> = text.lines().map(String::from).collect();
    changed[2] = changed[2].replacen("\"actor\":\"cw-17\"", "\"actor\":\"cw-18\"", 1);
    let tampered = changed.join("\n") + "\n";
    let bad = data.path().join("bad.jsonl");
    std::fs::write(&bad, tampered).unwrap();
    let run = garanti(data.path(), &["verify", "--export", bad.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("FAILED at seq 2") && run.stdout.contains("actor"),
        "{}",
        run.stdout
    );

    // A slice of the log, and standard output.
    let part = garanti(data.path(), &["export", "--from", "5", "--to", "9"]);
    assert_eq!(part.code, 0);
    assert_eq!(part.stdout.lines().count(), 6);
    assert!(part
        .stdout
        .lines()
        .next()
        .unwrap()
        .starts_with("{\"seq\":5,"));
}

#[test]
fn verify_of_a_damaged_store_names_the_seq_and_exits_1() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/01-lawful-sanction.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    {
        let ledger = ledger::Ledger::open(data.path(), None).unwrap();
        let rec = ledger.get(3).unwrap().unwrap();
        let mut value = ledger::storage::stored_value(&rec);
        let last = value.len() - 1;
        value[last] ^= 1;
        ledger.storage().overwrite_raw(3, Some(&value)).unwrap();
    }
    let run = garanti(data.path(), &["verify"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("FAILED at seq 3: hash mismatch"),
        "{}",
        run.stdout
    );
}

/// Each kind of malformed input: (input lines, the line and field the error must name).
#[test]
fn malformed_input_is_refused_with_line_and_field_and_nothing_is_written() {
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec![GUIDANCE, "{not json"], "line 2", "not valid JSON"),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"sanction_guidance_given","actor":"cw-17","data":{}}"#,
            ],
            "line 2",
            "`effective_at`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{},"seq":4}"#,
            ],
            "line 2",
            "`seq`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{"note":"x"}}"#,
            ],
            "line 2",
            "`data.note`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"offer_started","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{"offer_id":7}}"#,
            ],
            "line 2",
            "`data.offer_id`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"offer_started","effective_at":"2017-02-31T10:00:00+01:00","actor":"cw-17","data":{"offer_id":"o"}}"#,
            ],
            "line 2",
            "`effective_at`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"offer_granted","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{"offer_id":"o","kind":"k","planned_start":"1/3/2017"}}"#,
            ],
            "line 2",
            "`data.planned_start`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"0101901234 (CPR)","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{}}"#,
            ],
            "line 2",
            "`stream`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"sanction_guidance_given","effective_at":"2017-02-01T10:00:00+01:00","actor":"","data":{}}"#,
            ],
            "line 2",
            "`actor`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"coffee_break","effective_at":"2017-02-01T10:00:00+01:00","actor":"cw-17","data":{}}"#,
            ],
            "line 2",
            "`type`",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"plan_updated","effective_at":"2017-03-01T09:05:00+01:00","actor":"cw-17","data":{"plan_version":2,"employment_goal":"x","offers":[]}}"#,
            ],
            "line 2",
            "not the stream's next version",
        ),
        (
            vec![GUIDANCE, PLAN_1, PLAN_1],
            "line 3",
            "version 1 exists already",
        ),
        (
            vec![
                GUIDANCE,
                r#"{"stream":"dk-101:c-1","type":"plan_updated","effective_at":"2017-03-01T09:05:00+01:00","actor":"cw-17","data":{"plan_version":1,"employment_goal":"x","offers":["o-1","o-1"]}}"#,
            ],
            "line 2",
            "listed twice",
        ),
        (
            vec![GUIDANCE, PUBLISH_1],
            "line 2",
            "plan version 1 does not exist",
        ),
        (vec![GUIDANCE, SANCTION, SANCTION], "line 3", "already used"),
        (
            vec![
                GUIDANCE,
                SANCTION,
                r#"{"stream":"dk-101:c-2","type":"sanction_revoked","effective_at":"2017-04-01T10:00:00+02:00","actor":"cw-17","data":{"sanction_id":"s-1","reason":"appeal"}}"#,
            ],
            "line 3",
            "does not exist on stream dk-101:c-2",
        ),
    ];
    for (input, line, needle) in cases {
        let data = tempfile::tempdir().unwrap();
        // Something in the ledger before, which must stay exactly as it was.
        assert_eq!(garanti_stdin(data.path(), &["import", "-"], &lines(&[r#"{"stream":"dk-101:c-9","type":"sanction_guidance_given","effective_at":"2017-01-01T10:00:00+01:00","actor":"cw-1","data":{}}"#])).code, 0);
        let before = head(data.path());
        let run = garanti_stdin(data.path(), &["import", "-"], &lines(&input));
        assert_eq!(run.code, 2, "{needle}: {}", run.stdout);
        assert!(
            run.stderr.contains(line) && run.stderr.contains(needle),
            "want {line} and {needle:?} in: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("nothing of this batch was written"),
            "{}",
            run.stderr
        );
        assert_eq!(head(data.path()), before, "{needle}: the store changed");
    }
}

#[test]
fn a_sanction_id_is_unique_across_imports_and_unlawful_facts_are_recorded() {
    let data = tempfile::tempdir().unwrap();
    // A sanction with no offer start, no plan and no absence is unlawful, and recorded all the same.
    let run = garanti_stdin(data.path(), &["import", "-"], &lines(&[GUIDANCE, SANCTION]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let verdicts = json(&garanti(data.path(), &["sanctions", "--format", "json"]));
    assert_eq!(
        verdicts[0]["reasons"],
        serde_json::json!(["offer_not_started"])
    );
    let again = garanti_stdin(
        data.path(),
        &["import", "-", "--no-resume"],
        &lines(&[SANCTION.replace("c-1", "c-2").as_str()]),
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("line 1: field `data.sanction_id`: sanction_id \"s-1\" is already used in the ledger (seq 1)"), "{}", again.stderr);
}

#[test]
fn batched_imports_resume_where_they_stopped() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/10-flexjob-reassessment.jsonl");
    let first = garanti(
        data.path(),
        &[
            "import",
            "--batch",
            "10",
            "--report-batches",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let reports: Vec<serde_json::Value> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 4);
    assert_eq!(reports[3]["head_seq"], 31);
    let again = garanti(
        data.path(),
        &["import", "--batch", "10", file.to_str().unwrap()],
    );
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("skipped 32 events"),
        "{}",
        again.stdout
    );
    assert_eq!(head(data.path()).unwrap().0, 31);

    // A file that fails in its third batch keeps the first two; the fixed file resumes after them.
    let good: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut broken = good.clone();
    broken[24] = "{oops".into();
    let other = tempfile::tempdir().unwrap();
    let run = garanti_stdin(
        other.path(),
        &["import", "--batch", "10", "-"],
        &(broken.join("\n") + "\n"),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("line 25")
            && run
                .stderr
                .contains("20 events of earlier batches were imported"),
        "{}",
        run.stderr
    );
    assert_eq!(head(other.path()).unwrap().0, 19);
    let run = garanti_stdin(
        other.path(),
        &["import", "--batch", "10", "-"],
        &(good.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("skipped 20 events"), "{}", run.stdout);
    assert_eq!(
        head(other.path()),
        head(data.path()).map(|(s, _)| (s, head(other.path()).unwrap().1))
    );
    assert_eq!(garanti(other.path(), &["verify"]).code, 0);
}

#[test]
fn the_data_directory_keeps_its_backend() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/01-lawful-sanction.jsonl");
    assert_eq!(
        garanti(
            data.path(),
            &["--store", "sled", "import", file.to_str().unwrap()]
        )
        .code,
        0
    );
    let wrong = garanti(data.path(), &["--store", "redb", "head"]);
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("made with the sled backend")
            && wrong.stderr.contains("--store sled"),
        "{}",
        wrong.stderr
    );
    assert_eq!(garanti(data.path(), &["verify"]).code, 0);
    let verdicts = json(&garanti(data.path(), &["sanctions", "--format", "json"]));
    assert_eq!(verdicts[0]["verdict"], "lawful");
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let run = garanti(std::path::Path::new("unused"), &["--help"]);
    assert_eq!(run.code, 0);
    for cmd in [
        "import",
        "export",
        "verify",
        "head",
        "sanctions",
        "findings",
        "explain",
        "rules",
        "bench",
        "Exit codes",
    ] {
        assert!(run.stdout.contains(cmd), "--help lacks {cmd}");
    }
    let run = garanti(std::path::Path::new("unused"), &["import", "--help"]);
    assert!(
        run.stdout.contains("--batch") && run.stdout.contains("skips the batches"),
        "{}",
        run.stdout
    );
}

#[test]
fn tables_and_csv_carry_the_same_verdicts() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/12-boundaries.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let table = garanti(data.path(), &["sanctions", "--year", "2017"]);
    assert!(
        table.stdout.contains("3 sanctions, 2 unlawful"),
        "{}",
        table.stdout
    );
    let csv = garanti(
        data.path(),
        &["findings", "--year", "2017", "--format", "csv"],
    );
    assert!(csv
        .stdout
        .starts_with("rule,stream,at,date,evidence,legal_basis,message\r\n"));
    assert!(
        csv.stdout.contains(
            "dk.rehab.indsatsplan_late,dk-105:c-0404,2017-03-31T23:59:59.999+02:00,2017-03-31"
        ),
        "{}",
        csv.stdout
    );
    // For Danish Excel: a byte-order mark, `;` between fields, the same rows.
    let excel = garanti(
        data.path(),
        &["findings", "--year", "2017", "--format", "csv", "--excel"],
    );
    assert!(excel
        .stdout
        .starts_with("\u{feff}rule;stream;at;date;evidence;legal_basis;message\r\n"));
    assert_eq!(excel.stdout.lines().count(), csv.stdout.lines().count());
    assert!(
        excel.stdout.contains(
            "dk.rehab.indsatsplan_late;dk-105:c-0404;2017-03-31T23:59:59.999+02:00;2017-03-31"
        ),
        "{}",
        excel.stdout
    );
    let report = garanti(
        data.path(),
        &["report", "--year", "2017", "--format", "csv", "--excel"],
    );
    assert!(
        report.stdout.starts_with("\u{feff}rule;stream;"),
        "{}",
        report.stdout
    );
    let failing = garanti(data.path(), &["sanctions", "--year", "2017", "--fail"]);
    assert_eq!(failing.code, 1);
    let unknown = garanti(data.path(), &["findings", "--rule", "dk.nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("dk.minplan.goal_deficient"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn an_import_with_a_key_written_twice_is_refused_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    for line in [
        GUIDANCE.replace("\"data\":{}", r#""data":{"a":1,"a":2}"#),
        GUIDANCE.replace(r#""actor":"cw-17""#, r#""actor":"cw-17","actor":"x""#),
    ] {
        let run = garanti_stdin(data.path(), &["import", "-"], &lines(&[GUIDANCE, &line]));
        assert_eq!(run.code, 2, "{line}: {}", run.stdout);
        assert!(run.stderr.contains("line 2"), "{}", run.stderr);
        assert!(run.stderr.contains("twice"), "{}", run.stderr);
    }
    assert_eq!(head(data.path()), None);
}

#[test]
fn small_cli_edges_say_what_was_meant() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/12-boundaries.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    // `--verdict` as in the API.
    let all = json(&garanti(data.path(), &["sanctions", "--format", "json"]));
    let lawful = json(&garanti(
        data.path(),
        &["sanctions", "--verdict", "lawful", "--format", "json"],
    ));
    let unlawful = json(&garanti(
        data.path(),
        &["sanctions", "--verdict", "unlawful", "--format", "json"],
    ));
    let n = |v: &serde_json::Value| v.as_array().unwrap().len();
    assert_eq!(n(&lawful) + n(&unlawful), n(&all));
    assert!(lawful
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["verdict"] == "lawful"));
    // `--rules CODE` (the parameters file) for `--rule CODE`.
    let run = garanti(
        data.path(),
        &["findings", "--rules", "dk.minplan.goal_deficient"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--rule dk.minplan.goal_deficient"),
        "{}",
        run.stderr
    );
    // A .pdf report is refused, not JSON in a .pdf file.
    let out = data.path().join("r.pdf");
    let run = garanti(
        data.path(),
        &["report", "--year", "2017", "--out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!out.exists());
}

#[test]
fn a_bom_or_a_csv_file_is_named_as_such() {
    let data = tempfile::tempdir().unwrap();
    let run = garanti_stdin(
        data.path(),
        &["import", "-"],
        &format!("\u{feff}{GUIDANCE}\n"),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("byte-order mark"), "{}", run.stderr);
    let run = garanti_stdin(
        data.path(),
        &["import", "-"],
        "stream;type;effective_at\ndk-101:c-1;x;2017\n",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("JSON Lines"), "{}", run.stderr);
}

/// A failed import into a data directory it made leaves none behind; one into a directory that
/// was there leaves it (and nothing of the batch in it).
#[test]
fn a_failed_import_leaves_no_new_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let bad = "{\"stream\":\"dk-101:c-1\"}\n";
    let run = garanti_stdin(&fresh, &["import", "-"], bad);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!fresh.exists(), "the import made it and nothing went in");
    let run = garanti_stdin(&fresh, &["import", "-"], &format!("{GUIDANCE}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = garanti_stdin(&fresh, &["import", "-"], bad);
    assert_eq!(run.code, 2);
    assert!(fresh.exists(), "a ledger that was there stays");
    assert_eq!(garanti(&fresh, &["verify"]).code, 0);
}

#[test]
fn a_report_of_a_year_without_events_is_refused_saying_what_there_is() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/12-boundaries.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let run = garanti(data.path(), &["report", "--year", "2030"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("no events dated in 2030"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert_eq!(garanti(data.path(), &["report", "--year", "2017"]).code, 0);
}

/// `deadlines --at DAY` looks from the end of that day: the deadlines due on it have passed, so
/// the monthly timeliness of its year includes December when DAY is 31 December (worked example
/// 10: the reassessment due 2007-12-31 was late), in `deadlines` and in the year report.
#[test]
fn deadlines_at_the_last_day_of_a_year_count_december() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/10-flexjob-reassessment.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let run = garanti(
        data.path(),
        &["deadlines", "--at", "2007-12-31", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = common::json(&run);
    let month = |m: &str| {
        v["monthly_timeliness"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["month"] == m)
            .unwrap()
            .clone()
    };
    assert_eq!(month("2007-12")["reassessments_late"], 1, "{v}");
    assert_eq!(month("2007-11")["forwardings_late"], 1, "{v}");
    let late: u64 = v["monthly_timeliness"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["reassessments_late"].as_u64().unwrap() + m["forwardings_late"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(
        late, 2,
        "as many late as the year's findings of the two rules"
    );
    // The year report carries the same series, and it adds up to the rules' findings.
    let run = garanti(
        data.path(),
        &["report", "--year", "2007", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = common::json(&run);
    assert_eq!(report["flexjob_timeliness"], v["monthly_timeliness"]);
    let found: u64 = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"].as_str().unwrap().starts_with("dk.flexjob"))
        .map(|r| r["findings"].as_u64().unwrap())
        .sum();
    assert_eq!(found, late);
}

/// Worked example 15: `explain` names the evidence that reached the ledger after the decision,
/// in words and in JSON (and the sanction lists carry the same seqs).
#[test]
fn explain_names_the_evidence_logged_after_the_decision() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/15-backfilled-publication.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let text = garanti(data.path(), &["explain", "s-15"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "Warning: evidence_logged_after_decision: seq 7 reached the ledger after the decision (seq 6)"
        ),
        "{}",
        text.stdout
    );
    let v = common::json(&garanti(
        data.path(),
        &["explain", "s-15", "--format", "json"],
    ));
    assert_eq!(v["evidence_logged_after_decision"], serde_json::json!([7]));
    assert!(v.get("evidence_recorded_after_decision").is_none(), "{v}");
    let list = common::json(&garanti(
        data.path(),
        &["sanctions", "--year", "2017", "--format", "json"],
    ));
    assert_eq!(
        list[0]["evidence_logged_after_decision"],
        serde_json::json!([7])
    );
}
