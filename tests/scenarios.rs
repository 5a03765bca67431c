//! The worked examples (tests/fixtures/scenarios, from ../shared/scenarios): every one gives exactly
//! its expected outcome through the program's output contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeMap;

fn sorted(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn every_worked_example_gives_its_expected_outcome() {
    let dir = fixture("scenarios");
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names.iter().filter(|n| n.ends_with(".expected.json")) {
        let stem = name.trim_end_matches(".expected.json");
        let (base, year) = stem.rsplit_once('.').unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        let data = tempfile::tempdir().unwrap();
        let import = garanti(
            data.path(),
            &[
                "import",
                dir.join(format!("{base}.jsonl")).to_str().unwrap(),
            ],
        );
        assert_eq!(import.code, 0, "{base}: {}", import.stderr);

        let sanctions = json(&garanti(
            data.path(),
            &["sanctions", "--year", year, "--format", "json"],
        ));
        let got: BTreeMap<String, &serde_json::Value> = sanctions
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["sanction_id"].as_str().unwrap().to_owned(), s))
            .collect();
        let expected = want["sanctions"].as_array().unwrap();
        assert_eq!(
            got.len(),
            expected.len(),
            "{base} ({year}): sanctions {:?}",
            got.keys()
        );
        for w in expected {
            let id = w["sanction_id"].as_str().unwrap();
            let s = got
                .get(id)
                .unwrap_or_else(|| panic!("{base}: sanction {id} missing"));
            assert_eq!(s["verdict"], w["verdict"], "{base}: {id}");
            assert_eq!(s["revoked"], w["revoked"], "{base}: {id}");
            assert_eq!(s["stream"], w["stream"], "{base}: {id}");
            assert_eq!(sorted(&s["reasons"]), sorted(&w["reasons"]), "{base}: {id}");
            assert_eq!(
                sorted(&s["warnings"]),
                sorted(&w["warnings"]),
                "{base}: {id}"
            );
            // Every reason carries its legal basis.
            for r in s["reasons"].as_array().unwrap() {
                assert!(
                    s["legal_basis"][r.as_str().unwrap()]
                        .as_str()
                        .is_some_and(|b| !b.is_empty()),
                    "{base}: {id} {r}"
                );
            }
        }

        let findings = json(&garanti(
            data.path(),
            &["findings", "--year", year, "--format", "json"],
        ));
        let mut got: Vec<(String, String, String)> = findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert!(!f["message"].as_str().unwrap().is_empty());
                assert!(!f["legal_basis"].as_str().unwrap().is_empty());
                assert!(!f["evidence"].as_array().unwrap().is_empty(), "{f}");
                (
                    f["rule"].as_str().unwrap().into(),
                    f["stream"].as_str().unwrap().into(),
                    f["date"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut expected: Vec<(String, String, String)> = want["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().into(),
                    f["stream"].as_str().unwrap().into(),
                    f["date"].as_str().unwrap().into(),
                )
            })
            .collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{base} ({year})");
        checked += 1;
    }
    assert_eq!(checked, 17);
}

#[test]
fn as_of_judges_with_what_was_known_then() {
    // Example 05: the publication was entered on 2 April, after the decision of 27 March.
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/05-evidence-recorded-after-decision.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let now = json(&garanti(
        data.path(),
        &["sanctions", "--year", "2017", "--format", "json"],
    ));
    assert_eq!(now[0]["verdict"], "lawful");
    assert_eq!(now[0]["warnings"][0], "evidence_recorded_after_decision");
    let then = json(&garanti(
        data.path(),
        &[
            "sanctions",
            "--year",
            "2017",
            "--as-of",
            "2017-03-28T00:00:00+02:00",
            "--format",
            "json",
        ],
    ));
    assert_eq!(then[0]["verdict"], "unlawful");
    assert_eq!(
        sorted(&then[0]["reasons"]),
        vec![
            "offer_not_in_published_plan_at_absence",
            "plan_not_published_before_start"
        ]
    );
}

#[test]
fn explain_gives_each_condition_its_events_and_the_law() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/06-several-reasons.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let text = garanti(data.path(), &["explain", "s-1"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for needle in [
        "UNLAWFUL",
        "decision_too_late",
        "LAS § 35 stk. 3",
        "forvaltningsloven § 19",
        "[ok] offer_not_started",
        "[FAILED] no_guidance_before_absence",
        "absence_recorded",
    ] {
        assert!(
            text.stdout.contains(needle),
            "{needle} not in\n{}",
            text.stdout
        );
    }
    let v = json(&garanti(
        data.path(),
        &["explain", "s-1", "--format", "json"],
    ));
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["condition"] == "decision_too_late"
        && c["met"] == false
        && !c["events"].as_array().unwrap().is_empty()));
    let missing = garanti(data.path(), &["explain", "s-404"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no sanction \"s-404\""),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_rules_file_changes_parameters_and_rules_shows_the_values_in_force() {
    let data = tempfile::tempdir().unwrap();
    let file = fixture("scenarios/12-boundaries.jsonl");
    assert_eq!(
        garanti(data.path(), &["import", file.to_str().unwrap()]).code,
        0
    );
    let default = json(&garanti(
        data.path(),
        &["findings", "--year", "2017", "--format", "json"],
    ));
    assert_eq!(default.as_array().unwrap().len(), 1);
    let rules = data.path().join("rules.toml");
    std::fs::write(&rules, "[parameters]\n\"dk.rehab.indsatsplan_months\" = [{ value = 2, until = \"2016-12-31\" }, { value = 3, from = \"2017-01-01\" }]\n").unwrap();
    let longer = json(&garanti(
        data.path(),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "findings",
            "--year",
            "2017",
            "--format",
            "json",
        ],
    ));
    assert_eq!(longer.as_array().unwrap().len(), 0, "{longer}");

    let at = |date: &str| {
        let v = json(&garanti(
            data.path(),
            &["rules", "--at", date, "--format", "json"],
        ));
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "dk.flexjob.forward_paid_months")
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(at("2008-02-29"), 11);
    assert_eq!(at("2008-03-01"), 10);
    let text = garanti(data.path(), &["rules"]);
    assert!(
        text.stdout.contains("se.actionplan.missing") && text.stdout.contains("LAS § 40 a"),
        "{}",
        text.stdout
    );

    std::fs::write(&rules, "[parameters]\n\"dk.rehab.indsatsplan_weeks\" = 8\n").unwrap();
    let bad = garanti(
        data.path(),
        &["--rules", rules.to_str().unwrap(), "findings"],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("unknown parameter \"dk.rehab.indsatsplan_weeks\""),
        "{}",
        bad.stderr
    );
}
