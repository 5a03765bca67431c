//! The revisors' commands end to end: the year report in its four formats, offline from an export,
//! samples, timelines, deadlines, reconciliation and the demo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::Path;

fn imported(file: &str) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let run = garanti(data.path(), &["import", fixture(file).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    data
}

fn report_json(data: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["report", "--year", "2017", "--format", "json"];
    args.extend_from_slice(extra);
    json(&garanti(data, &args))
}

#[test]
fn the_json_report_is_complete_reproducible_and_tied_to_the_chain_head() {
    let data = imported("report-2017.jsonl");
    let first = garanti(
        data.path(),
        &["report", "--year", "2017", "--format", "json"],
    );
    let second = garanti(
        data.path(),
        &["report", "--year", "2017", "--format", "json"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.stdout, second.stdout,
        "the same ledger must give byte-identical JSON"
    );
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    let (seq, hash) = head(data.path()).unwrap();
    assert_eq!(report["source"]["chain_head"]["seq"], seq);
    assert_eq!(report["source"]["chain_head"]["hash"], hash.as_str());
    // The hash covers appended_at, the clock at import: it is checked above, not in the snapshot.
    insta::assert_json_snapshot!("report-2017", report, { ".source.location" => "[data directory]", ".source.chain_head.hash" => "[chain head hash]" });
}

#[test]
fn a_report_from_an_export_file_says_the_same_without_a_store() {
    let data = imported("report-2017.jsonl");
    let export = data.path().join("ledger.jsonl");
    assert_eq!(
        garanti(data.path(), &["export", "--out", export.to_str().unwrap()]).code,
        0
    );
    let from_ledger = report_json(data.path(), &["--sample", "3", "--seed", "s"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let from_export = report_json(
        &elsewhere.path().join("no-store"),
        &[
            "--export",
            export.to_str().unwrap(),
            "--sample",
            "3",
            "--seed",
            "s",
        ],
    );
    assert!(
        !elsewhere.path().join("no-store").exists(),
        "an offline report must not create a data directory"
    );
    for key in [
        "rules",
        "sanctions",
        "findings",
        "monthly",
        "year_totals",
        "sample",
    ] {
        assert_eq!(from_ledger[key], from_export[key], "{key}");
    }
    assert_eq!(
        from_ledger["source"]["chain_head"],
        from_export["source"]["chain_head"]
    );
    assert_eq!(from_export["source"]["kind"], "export");
    // Timelines of the sample carry seq and hash either way.
    let case = &from_export["sample"]["cases"][0];
    assert!(
        case["timeline"][0]["hash"].as_str().unwrap().len() == 64,
        "{case}"
    );
}

#[test]
fn a_broken_chain_stops_the_report_and_names_the_seq() {
    let data = imported("report-2017.jsonl");
    {
        let ledger = ledger::Ledger::open(data.path(), None).unwrap();
        let mut value = ledger::storage::stored_value(&ledger.get(30).unwrap().unwrap());
        let n = value.len();
        value[n - 2] ^= 1;
        ledger.storage().overwrite_raw(30, Some(&value)).unwrap();
    }
    let run = garanti(data.path(), &["report", "--year", "2017"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the chain is broken at seq 30"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn the_html_report_is_one_parseable_file_with_tables_and_charts() {
    let data = imported("report-2017.jsonl");
    let report = report_json(data.path(), &[]);
    let out = data.path().join("report.html");
    assert_eq!(
        garanti(
            data.path(),
            &["report", "--year", "2017", "--out", out.to_str().unwrap()]
        )
        .code,
        0
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no network resources"
    );
    assert!(!html.contains("<script"), "no script");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    let table = |id: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("table") && n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no table {id}"))
    };
    let body_rows = |id: &str| {
        table(id)
            .descendants()
            .filter(|n| n.has_tag_name("tr") && n.parent().is_some_and(|p| p.has_tag_name("tbody")))
            .count()
    };
    assert_eq!(
        body_rows("rules"),
        report["rules"].as_array().unwrap().len()
    );
    assert_eq!(
        body_rows("sanctions"),
        report["sanctions"].as_array().unwrap().len()
    );
    assert_eq!(
        body_rows("findings"),
        report["findings"].as_array().unwrap().len()
    );
    assert_eq!(body_rows("monthly"), 12);
    assert_eq!(body_rows("flexjob-timeliness"), 12);
    let meta: String = table("meta")
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap_or(""))
        .collect();
    assert!(meta.contains(report["source"]["chain_head"]["hash"].as_str().unwrap()));
    // The sanctions chart: one bar per month and verdict, with the values of the monthly series.
    let chart = doc
        .descendants()
        .find(|n| n.has_tag_name("svg") && n.attribute("id") == Some("chart-sanctions"))
        .unwrap();
    let bars: Vec<_> = chart
        .descendants()
        .filter(|n| n.attribute("class") == Some("bar"))
        .collect();
    assert_eq!(bars.len(), 24);
    let unlawful_march = bars
        .iter()
        .find(|b| {
            b.attribute("data-series") == Some("unlawful")
                && b.attribute("data-month") == Some("2017-03")
        })
        .unwrap();
    assert_eq!(
        unlawful_march.attribute("data-value").unwrap(),
        report["monthly"][2]["sanctions_unlawful"].to_string()
    );
    for id in [
        "chart-offers",
        "chart-deadlines",
        "chart-participants",
        "chart-plans",
    ] {
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name("svg") && n.attribute("id") == Some(id)),
            "{id}"
        );
    }
}

#[test]
fn the_xlsx_report_has_a_sheet_per_table_with_the_same_cells() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let data = imported("report-2017.jsonl");
    let report = report_json(data.path(), &[]);
    let out = data.path().join("report.xlsx");
    let run = garanti(
        data.path(),
        &[
            "report",
            "--year",
            "2017",
            "--out",
            out.to_str().unwrap(),
            "--sample",
            "2",
            "--seed",
            "x",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec![
            "Report",
            "Rules",
            "Sanctions",
            "Findings",
            "Monthly",
            "Sample"
        ]
    );
    let rules = wb.worksheet_range("Rules").unwrap();
    assert_eq!(rules.get((0, 0)), Some(&Data::String("rule".into())));
    assert_eq!(
        rules.height(),
        1 + report["rules"].as_array().unwrap().len()
    );
    assert_eq!(rules.get((1, 0)), Some(&Data::String("dk.sanction".into())));
    assert_eq!(
        rules.get((1, 2)),
        Some(&Data::Float(
            report["rules"][0]["cases_examined"].as_f64().unwrap()
        ))
    );
    let sanctions = wb.worksheet_range("Sanctions").unwrap();
    assert_eq!(
        sanctions.height(),
        1 + report["sanctions"].as_array().unwrap().len()
    );
    let findings = wb.worksheet_range("Findings").unwrap();
    assert_eq!(
        findings.height(),
        1 + report["findings"].as_array().unwrap().len()
    );
    let monthly = wb.worksheet_range("Monthly").unwrap();
    // Months, dates and times are dates to Excel; rates are fractions shown as percentages.
    let when = |cell: Option<&Data>| match cell {
        // Excel's serial date: days since 1899-12-30, the time of day as the fraction.
        Some(Data::DateTime(t)) => {
            chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + chrono::Duration::milliseconds((t.as_f64() * 86_400_000.0).round() as i64)
        }
        other => panic!("not a date: {other:?}"),
    };
    assert_eq!(when(monthly.get((3, 0))).to_string(), "2017-03-01 00:00:00");
    let decided = report["sanctions"][0]["decided_at"].as_str().unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(decided)
        .unwrap()
        .naive_local();
    assert_eq!(when(sanctions.get((1, 4))), local, "{decided}");
    let findings_date = report["findings"][0]["date"].as_str().unwrap();
    assert_eq!(when(findings.get((1, 0))).date().to_string(), findings_date);
    let rate = report["rules"][0]["error_rate_percent"].as_f64().unwrap();
    match rules.get((1, 4)) {
        Some(Data::Float(f)) => assert!((f * 100.0 - rate).abs() < 1e-9, "{f} vs {rate}"),
        other => panic!("the error rate is {other:?}"),
    }
    let meta = wb.worksheet_range("Report").unwrap();
    assert_eq!(
        meta.get((3, 1)),
        Some(&Data::String(
            report["source"]["chain_head"]["hash"]
                .as_str()
                .unwrap()
                .into()
        ))
    );
}

#[test]
fn the_csv_report_lists_the_findings() {
    let data = imported("report-2017.jsonl");
    let report = report_json(data.path(), &[]);
    let csv = garanti(
        data.path(),
        &["report", "--year", "2017", "--format", "csv"],
    );
    assert_eq!(csv.code, 0);
    assert_eq!(
        csv.stdout.lines().count(),
        1 + report["findings"].as_array().unwrap().len()
    );
}

#[test]
fn samples_are_reproducible_and_independent_of_import_order() {
    // The same events, streams imported in reverse order, in a second ledger.
    let text = std::fs::read_to_string(fixture("report-2017.jsonl")).unwrap();
    let mut by_stream: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        by_stream
            .entry(v["stream"].as_str().unwrap().to_owned())
            .or_default()
            .push(line);
    }
    let reversed: Vec<&str> = by_stream.values().rev().flatten().copied().collect();
    let a = imported("report-2017.jsonl");
    let b = tempfile::tempdir().unwrap();
    assert_eq!(
        garanti_stdin(b.path(), &["import", "-"], &(reversed.join("\n") + "\n")).code,
        0
    );
    let sample = |data: &Path| {
        json(&garanti(
            data,
            &[
                "sample",
                "--year",
                "2017",
                "--size",
                "4",
                "--seed",
                "revision 2017",
                "--format",
                "json",
            ],
        ))
    };
    let (sa, sb) = (sample(a.path()), sample(b.path()));
    assert_eq!(sa["cases"], sb["cases"]);
    assert_eq!(sa["population"], 21);
    assert_eq!(by_stream.len(), 21);
    // Anyone can redraw it: BLAKE3(seed ‖ stream id), smallest first.
    let mut keyed: Vec<(String, String)> = by_stream
        .keys()
        .map(|s| {
            (
                blake3::hash(format!("revision 2017{s}").as_bytes())
                    .to_hex()
                    .to_string(),
                s.clone(),
            )
        })
        .collect();
    keyed.sort();
    let redrawn: Vec<&str> = keyed.iter().take(4).map(|(_, s)| s.as_str()).collect();
    let drawn: Vec<&str> = sa["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["stream"].as_str().unwrap())
        .collect();
    assert_eq!(drawn, redrawn);
    // A rule's population: the cases with its findings.
    let goal = json(&garanti(
        a.path(),
        &[
            "sample",
            "--year",
            "2017",
            "--size",
            "10",
            "--seed",
            "x",
            "--rule",
            "dk.minplan.goal_deficient",
            "--format",
            "json",
        ],
    ));
    assert_eq!(goal["population"], 4);
    // dk.sanction: the cases with unlawful sanctions (s-2, s-11, s-12).
    let unlawful = json(&garanti(
        a.path(),
        &[
            "sample",
            "--year",
            "2017",
            "--size",
            "10",
            "--seed",
            "x",
            "--rule",
            "dk.sanction",
            "--format",
            "json",
        ],
    ));
    let mut streams: Vec<&str> = unlawful["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["stream"].as_str().unwrap())
        .collect();
    streams.sort();
    assert_eq!(
        streams,
        vec!["dk-101:c-0002", "dk-105:c-0401", "dk-105:c-0402"]
    );
}

#[test]
fn a_timeline_shows_a_case_in_effective_order_with_its_verdicts() {
    let data = imported("report-2017.jsonl");
    let v = json(&garanti(
        data.path(),
        &["timeline", "dk-101:c-0001", "--format", "json"],
    ));
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 8);
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["effective_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert!(events
        .iter()
        .all(|e| e["hash"].as_str().unwrap().len() == 64 && e["recorded_at"].is_string()));
    assert_eq!(v["sanctions"][0]["verdict"], "lawful");
    let text = garanti(data.path(), &["timeline", "dk-101:c-0001"]);
    assert!(
        text.stdout.contains("sanction_decided") && text.stdout.contains("s-1"),
        "{}",
        text.stdout
    );
    assert_eq!(garanti(data.path(), &["timeline", "dk-101:nobody"]).code, 2);
}

#[test]
fn deadlines_list_what_falls_due_soonest_first() {
    let data = imported("scenarios/09-rehabilitation-deadlines.jsonl");
    let v = json(&garanti(
        data.path(),
        &["deadlines", "--at", "2020-02-01", "--format", "json"],
    ));
    let open: Vec<(String, String)> = v["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["due"].as_str().unwrap().into(),
                d["stream"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        open.first().unwrap(),
        &("2020-03-01".to_string(), "dk-103:c-0204".to_string())
    );
    assert!(open.windows(2).all(|w| w[0].0 <= w[1].0));
    // c-0201 and c-0202 met on 15 January: their indsatsplan is open until 15 March.
    assert!(open.contains(&("2020-03-15".to_string(), "dk-103:c-0201".to_string())));
    let soon = json(&garanti(
        data.path(),
        &[
            "deadlines",
            "--at",
            "2020-02-01",
            "--within",
            "30",
            "--format",
            "json",
        ],
    ));
    assert_eq!(soon["open"].as_array().unwrap().len(), 1);
    // Once met, a deadline is no longer open.
    let later = json(&garanti(
        data.path(),
        &["deadlines", "--at", "2020-03-15", "--format", "json"],
    ));
    assert!(!later["open"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["stream"] == "dk-103:c-0202"));
}

#[test]
fn reconcile_compares_case_lists_and_refuses_malformed_ones() {
    let data = imported("report-2017.jsonl");
    let csv = data.path().join("cases.csv");
    std::fs::write(&csv, "sag;ignored\n").unwrap();
    std::fs::write(&csv, "sagsnummer,ydelse\nc-0001,kontanthjælp\nc-0002,kontanthjælp\nc-9999,\"fleksjob, ledighedsydelse\"\n").unwrap();
    let v = json(&garanti(
        data.path(),
        &[
            "reconcile",
            "--cases",
            csv.to_str().unwrap(),
            "--prefix",
            "dk-101:",
            "--category-column",
            "ydelse",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v["in_both"], 2);
    assert_eq!(v["missing_in_ledger"], serde_json::json!(["dk-101:c-9999"]));
    // The list is of dk-101: the ledger's 19 cases of other municipalities are not missing from
    // it (the fixture's dk-101 cases are c-0001 and c-0002).
    assert_eq!(v["missing_in_other_system"], serde_json::json!([]));
    let all = json(&garanti(
        data.path(),
        &[
            "reconcile",
            "--cases",
            csv.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        all["missing_in_other_system"].as_array().unwrap().len(),
        19 + 2,
        "without a prefix the list's ids are not the ledger's: {all}"
    );
    assert_eq!(
        v["per_category"][0],
        serde_json::json!({"category": "fleksjob, ledighedsydelse", "in_both": 0, "missing_in_ledger": 1})
    );
    std::fs::write(
        &csv,
        "sagsnummer,ydelse\nc-0001,kontanthjælp\nc-0002,kontanthjælp,extra\n",
    )
    .unwrap();
    let bad = garanti(
        data.path(),
        &["reconcile", "--cases", csv.to_str().unwrap()],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("line 3") && bad.stderr.contains("3 fields, the header has 2"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_demo_imports_a_municipality_once_and_says_what_to_run_next() {
    let data = tempfile::tempdir().unwrap();
    let first = garanti(data.path(), &["demo", "--citizens", "120", "--seed", "3"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("120 citizens of 2017")
            && first.stdout.contains("report --year 2017"),
        "{}",
        first.stdout
    );
    let again = garanti(data.path(), &["demo", "--citizens", "120", "--seed", "3"]);
    assert!(again.stdout.contains("already in"), "{}", again.stdout);
    assert_eq!(garanti(data.path(), &["verify"]).code, 0);
    let report = report_json(data.path(), &[]);
    let sanctions = report["year_totals"]["sanctions"].as_u64().unwrap();
    let unlawful = report["year_totals"]["sanctions_unlawful"]
        .as_u64()
        .unwrap();
    assert!(
        sanctions > 100 && unlawful > 0 && unlawful < sanctions,
        "{sanctions} {unlawful}"
    );
    // Revocations: counted by verdict and by the revocation's reason, and listed, as the year's
    // sanctions say.
    let revocations = &report["revocations"];
    let revoked: Vec<&serde_json::Value> = report["sanctions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["revoked"] == true)
        .collect();
    let count = revocations["count"].as_u64().unwrap();
    assert!(count > 0, "the demo revokes sanctions");
    assert_eq!(count, revoked.len() as u64);
    let unlawful = revoked
        .iter()
        .filter(|s| s["verdict"] == "unlawful")
        .count() as u64;
    assert_eq!(revocations["unlawful"], unlawful);
    assert_eq!(revocations["lawful"], count - unlawful);
    let by_reason: u64 = revocations["by_revocation_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["lawful"].as_u64().unwrap() + v["unlawful"].as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, count);
    let listed: Vec<&str> = revocations["sanctions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sanction_id"].as_str().unwrap())
        .collect();
    let ids: Vec<&str> = revoked
        .iter()
        .map(|s| s["sanction_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    // The HTML report lists them too.
    let out = data.path().join("report.html");
    let run = garanti(
        data.path(),
        &["report", "--year", "2017", "--out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    let table = html
        .split("<table id=\"revocations\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert_eq!(
        table.matches("<tr>").count() as u64,
        count + 1,
        "a head row and one a sanction"
    );
    for rule in report["rules"].as_array().unwrap() {
        let code = rule["code"].as_str().unwrap();
        if !code.starts_with("dk.flexjob") {
            assert!(
                rule["cases_examined"].as_u64().unwrap() > 0,
                "{code} examined nothing"
            );
        }
    }
}

/// Seed 003's quarterly samkøring: the ledger's side limited to the cases with an event of a type
/// (the flexjob cases paid) in a period; a bad type or period is refused.
#[test]
fn reconcile_limits_the_ledger_side_to_a_kind_of_case_and_a_period() {
    let data = imported("report-2017.jsonl");
    let flexjob = fixture("scenarios/10-flexjob-reassessment.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", flexjob.to_str().unwrap()]).code,
        0
    );
    let csv = data.path().join("paid.csv");
    std::fs::write(&csv, "sag\ndk-104:c-0301\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "reconcile",
            "--cases",
            csv.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        garanti(data.path(), &args)
    };
    let quarter = json(&run(&[
        "--type",
        "ledighedsydelse_paid",
        "--from",
        "2007-01-01",
        "--to",
        "2007-03-31",
    ]));
    // Of the two flexjob cases only c-0301 was paid in the first quarter (c-0302 from June).
    assert_eq!(quarter["in_both"], 1, "{quarter}");
    assert_eq!(quarter["missing_in_other_system"], serde_json::json!([]));
    let third = json(&run(&[
        "--type",
        "ledighedsydelse_paid",
        "--from",
        "2007-07-01",
        "--to",
        "2007-09-30",
    ]));
    assert_eq!(
        third["missing_in_other_system"],
        serde_json::json!(["dk-104:c-0302"])
    );
    assert_eq!(quarter["ledger_cases"]["type"], "ledighedsydelse_paid");
    // Not paid after 2008: the list's case is not among the ledger's cases of that period.
    let later = json(&run(&[
        "--type",
        "ledighedsydelse_paid",
        "--from",
        "2009-01-01",
    ]));
    assert_eq!(later["in_both"], 0);
    assert_eq!(
        later["missing_in_ledger"],
        serde_json::json!(["dk-104:c-0301"])
    );
    // Without a scope, every case of the ledger is on its side: the fixture's 21 and dk-104's two.
    let all = json(&run(&[]));
    assert_eq!(all["missing_in_other_system"].as_array().unwrap().len(), 22);
    let bad = run(&["--type", "fleksjob"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("ledighedsydelse_paid"),
        "{}",
        bad.stderr
    );
    let backwards = run(&["--from", "2017-02-01", "--to", "2017-01-01"]);
    assert_eq!(backwards.code, 2);
    assert!(
        backwards.stderr.contains("is after --to"),
        "{}",
        backwards.stderr
    );
}

/// Samples drawn per municipality (seed 002), from a rule's cases examined (seed 001), with the
/// whole population printed so anyone can draw it again.
#[test]
fn samples_per_municipality_from_cases_examined_and_with_their_population() {
    let data = imported("report-2017.jsonl");
    let sample = |extra: &[&str]| {
        let mut args = vec![
            "sample", "--year", "2017", "--seed", "revision", "--format", "json",
        ];
        args.extend_from_slice(extra);
        json(&garanti(data.path(), &args))
    };
    let streams = |v: &serde_json::Value| -> Vec<String> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["stream"].as_str().unwrap().to_owned())
            .collect()
    };
    // Two of each municipality, each as drawn from that municipality alone.
    let per = sample(&["--per-municipality", "2"]);
    let drawn = streams(&per);
    let municipality = |s: &str| s.split(':').next().unwrap().to_owned();
    let mut seen: Vec<String> = drawn.iter().map(|s| municipality(s)).collect();
    seen.dedup();
    assert_eq!(drawn.len(), 2 * seen.len(), "{drawn:?}");
    let all = sample(&["--size", "100", "--population"]);
    let of_101: Vec<String> = streams(&all)
        .into_iter()
        .filter(|s| s.starts_with("dk-101:"))
        .take(2)
        .collect();
    assert_eq!(drawn[..2], of_101[..]);
    // The population listed is the one drawn from, each with its key.
    let listed = all["population_cases"].as_array().unwrap();
    assert_eq!(listed.len() as u64, all["population"].as_u64().unwrap());
    assert!(listed
        .iter()
        .all(|c| c["key"].as_str().unwrap().len() == 64));
    // A rule's cases examined hold its cases with findings.
    let rule = "dk.minplan.offer_not_in_plan_before_start";
    let found = sample(&["--size", "100", "--rule", rule]);
    let examined = sample(&["--size", "100", "--rule", rule, "--examined"]);
    let (found, examined) = (streams(&found), streams(&examined));
    assert!(found.len() < examined.len(), "{found:?} {examined:?}");
    assert!(found.iter().all(|s| examined.contains(s)));
    assert_eq!(
        garanti(data.path(), &["sample", "--year", "2017", "--seed", "x"]).code,
        2,
        "neither --size nor --per-municipality"
    );
}
