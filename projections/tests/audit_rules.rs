//! The audit rules of RULES.md §2-§5 on both sides of their boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod history;

use history::*;
use projections::event::{EventData, OfferOutcome, Track};
use projections::params::Params;

fn f(rule: &str, stream: &str, date: &str) -> (String, String, String) {
    (rule.into(), stream.into(), date.into())
}

// ---- Min Plan quality ----

#[test]
fn first_offer_starts_are_judged_whether_sanctioned_or_not() {
    let mut h = History::new();
    let s = "dk-101:c-1";
    h.at(s, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(s, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(s, "2017-03-10T08:00:00+01:00", publish(1));
    h.at(s, "2017-04-10T08:00:00+02:00", start("o-2"));
    // A second start of o-1 is no new case.
    h.at(s, "2017-05-10T08:00:00+02:00", start("o-1"));
    assert_eq!(
        h.findings(2017),
        vec![
            f(
                "dk.minplan.plan_not_published_before_start",
                s,
                "2017-03-10"
            ),
            f("dk.minplan.offer_not_in_plan_before_start", s, "2017-04-10")
        ]
    );
}

#[test]
fn goals_are_deficient_when_empty_or_generic_after_normalising() {
    let mut h = History::new();
    let goals = [
        ("Afklaring af arbejdsevne", true),
        ("  AFKLARING   af arbejdsevnen. ", true),
        ("\"Raskmelding\"", true),
        ("opfølgning!", true),
        ("", true),
        (" - ", true),
        ("Afklaring af arbejdsevnen indenfor serviceområdet", false),
        ("Tandlæge", false),
        ("Tilbagevenden til arbejdet som fysioterapeut", false),
        ("ufaglært indenfor rengøringsbranchen", false),
    ];
    for (i, (goal, _)) in goals.iter().enumerate() {
        let s = format!("dk-101:c-{i}");
        h.at(&s, "2017-05-01T09:00:00+02:00", plan(1, goal, &[]));
        h.at(&s, "2017-05-01T09:10:00+02:00", publish(1));
    }
    let found = h.findings(2017);
    for (i, (goal, deficient)) in goals.iter().enumerate() {
        let s = format!("dk-101:c-{i}");
        assert_eq!(
            found.contains(&f("dk.minplan.goal_deficient", &s, "2017-05-01")),
            *deficient,
            "{goal:?}"
        );
    }
    // A municipality's own list of generic goals.
    let params = Params::from_toml("generic_goals = [\"Tandlæge\"]").unwrap();
    let found = h.findings_with(&params, 2017);
    assert!(found.contains(&f("dk.minplan.goal_deficient", "dk-101:c-7", "2017-05-01")));
    assert!(!found.contains(&f("dk.minplan.goal_deficient", "dk-101:c-0", "2017-05-01")));
}

#[test]
fn a_match_assessment_needs_a_justification() {
    let mut h = History::new();
    for (i, j) in ["", " \n ", "Kan arbejde nu."].iter().enumerate() {
        h.at(
            &format!("dk-101:c-{i}"),
            "2017-06-01T09:00:00+02:00",
            EventData::MatchAssessed {
                category: projections::event::MatchCategory::Jobparat,
                justification: (*j).into(),
            },
        );
    }
    assert_eq!(
        h.findings(2017),
        vec![
            f(
                "dk.minplan.match_without_justification",
                "dk-101:c-0",
                "2017-06-01"
            ),
            f(
                "dk.minplan.match_without_justification",
                "dk-101:c-1",
                "2017-06-01"
            )
        ]
    );
}

#[test]
fn stale_offers_ended_in_an_earlier_year() {
    let s = "dk-101:c-1";
    let case = |ended_at: Option<&str>, planned_end: &str, published_at: &str| {
        let mut h = History::new();
        h.at(
            s,
            "2016-01-01T09:00:00+01:00",
            grant("o-1", "2016-01-10", Some(planned_end)),
        );
        h.at(s, "2016-01-10T09:00:00+01:00", start("o-1"));
        if let Some(e) = ended_at {
            h.at(s, e, end("o-1", OfferOutcome::Completed));
        }
        h.at(s, "2016-01-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
        h.at(s, published_at, publish(1));
        h.rules_found(2017)
            .contains(&"dk.minplan.stale_offer".to_string())
    };
    // Ended on the last evening of 2016 (local time), published in 2017.
    assert!(case(
        Some("2016-12-31T23:30:00+01:00"),
        "2017-06-30",
        "2017-01-02T09:00:00+01:00"
    ));
    // Ended 2016-12-31T23:30Z, which is 1 January 2017 in Copenhagen: not an earlier year.
    assert!(!case(
        Some("2016-12-31T23:30:00Z"),
        "2017-06-30",
        "2017-01-02T09:00:00+01:00"
    ));
    // No offer_ended: the planned end counts when it lies before the publication's date.
    assert!(case(None, "2016-12-31", "2017-01-02T09:00:00+01:00"));
    assert!(!case(None, "2017-01-02", "2017-01-02T09:00:00+01:00"));
    // An offer_ended after the publication is not known at it: the planned end decides.
    assert!(case(
        Some("2017-02-01T10:00:00+01:00"),
        "2016-05-01",
        "2017-01-02T09:00:00+01:00"
    ));
    assert!(!case(
        Some("2017-02-01T10:00:00+01:00"),
        "2017-05-01",
        "2017-01-02T09:00:00+01:00"
    ));
}

#[test]
fn listed_offers_that_never_began() {
    let s = "dk-101:c-1";
    let case = |planned_start: &str, cancelled: bool, started: bool| {
        let mut h = History::new();
        h.at(
            s,
            "2017-01-02T09:00:00+01:00",
            grant("o-1", planned_start, None),
        );
        if started {
            h.at(s, "2017-02-01T09:00:00+01:00", start("o-1"));
        }
        if cancelled {
            h.at(
                s,
                "2017-02-15T09:00:00+01:00",
                end("o-1", OfferOutcome::Cancelled),
            );
        }
        h.at(s, "2017-01-02T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
        h.at(s, "2017-03-15T09:00:00+01:00", publish(1));
        h.rules_found(2017)
            .contains(&"dk.minplan.offer_never_started".to_string())
    };
    // The publication is on 15 March: a planned start 31 days earlier is overdue, 30 is not.
    assert!(case("2017-02-12", false, false));
    assert!(!case("2017-02-13", false, false));
    assert!(case("2017-03-14", true, false));
    assert!(!case("2017-02-01", false, true));
    assert!(!case("2017-02-01", true, true));
}

// ---- Rehabilitation deadlines and follow-ups ----

fn rehab(meeting_at: &str, completed_at: &str) -> Vec<(String, String, String)> {
    let mut h = History::new();
    h.at("dk-103:c-1", meeting_at, meeting(Track::Jobafklaring));
    h.at("dk-103:c-1", completed_at, indsatsplan(Track::Jobafklaring));
    let year = completed_at[..4].parse::<i32>().unwrap();
    let mut found = h.findings(year);
    found.extend(h.findings(year - 1));
    found
}

#[test]
fn indsatsplan_deadlines_are_calendar_months_in_local_time() {
    // 15 January + 2 months = 15 March.
    assert!(rehab("2020-01-15T10:00:00+01:00", "2020-03-15T23:59:59+01:00").is_empty());
    assert_eq!(
        rehab("2020-01-15T10:00:00+01:00", "2020-03-16T00:00:00+01:00"),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2020-03-15")]
    );
    // 31 December + 2 months = 28 February, or 29 in a leap year.
    assert!(rehab("2016-12-31T10:00:00+01:00", "2017-02-28T23:59:59+01:00").is_empty());
    assert_eq!(
        rehab("2016-12-31T10:00:00+01:00", "2017-03-01T00:00:00+01:00"),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2017-02-28")]
    );
    assert!(rehab("2019-12-31T10:00:00+01:00", "2020-02-29T23:59:59+01:00").is_empty());
    assert_eq!(
        rehab("2019-12-31T10:00:00+01:00", "2020-03-01T00:00:00+01:00"),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2020-02-29")]
    );
    // A deadline on the day summer time begins (26 March 2017 has 23 hours).
    assert!(rehab("2017-01-26T10:00:00+01:00", "2017-03-26T23:59:59+02:00").is_empty());
    assert_eq!(
        rehab("2017-01-26T10:00:00+01:00", "2017-03-27T00:00:00+02:00"),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2017-03-26")]
    );
    // A completion before the meeting does not count.
    assert_eq!(
        rehab("2020-01-15T10:00:00+01:00", "2020-01-15T09:59:59+01:00"),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2020-03-15")]
    );
}

#[test]
fn a_deadline_finding_exists_only_once_the_deadline_has_passed() {
    let mut h = History::new();
    h.at(
        "dk-103:c-1",
        "2017-11-15T10:00:00+01:00",
        meeting(Track::Jobafklaring),
    );
    let params = Params::default();
    let mut e = eval(&params);
    let scope = projections::Scope {
        year: Some(2018),
        stream: None,
    };
    e.now = t("2018-01-15T23:59:59+01:00");
    assert!(e.findings(&h.projection(), scope).is_empty());
    e.now = t("2018-01-16T00:00:00+01:00");
    assert_eq!(e.findings(&h.projection(), scope).len(), 1);
    // Completing after the deadline does not mend it.
    h.at(
        "dk-103:c-1",
        "2018-01-20T10:00:00+01:00",
        indsatsplan(Track::Jobafklaring),
    );
    assert_eq!(
        h.findings(2018),
        vec![f("dk.rehab.indsatsplan_late", "dk-103:c-1", "2018-01-15")]
    );
}

#[test]
fn each_meeting_is_judged_on_its_own_and_tracks_do_not_mix() {
    let mut h = History::new();
    let s = "dk-103:c-1";
    h.at(s, "2017-01-10T10:00:00+01:00", meeting(Track::Jobafklaring));
    h.at(s, "2017-02-10T10:00:00+01:00", meeting(Track::Jobafklaring));
    h.at(
        s,
        "2017-03-01T10:00:00+01:00",
        indsatsplan(Track::Jobafklaring),
    );
    h.at(
        s,
        "2017-01-10T10:00:00+01:00",
        meeting(Track::Ressourceforloeb),
    );
    h.at(
        s,
        "2017-03-02T10:00:00+01:00",
        indsatsplan(Track::Jobafklaring),
    );
    assert_eq!(
        h.findings(2017),
        vec![f("dk.rehab.indsatsplan_late", s, "2017-03-10")]
    );
}

#[test]
fn a_ressourceforloeb_needs_an_offer_within_its_first_year() {
    let case = |offer_at: &str| {
        let mut h = History::new();
        h.at(
            "dk-103:c-1",
            "2019-02-28T10:00:00+01:00",
            meeting(Track::Ressourceforloeb),
        );
        h.at(
            "dk-103:c-1",
            "2019-04-01T10:00:00+02:00",
            indsatsplan(Track::Ressourceforloeb),
        );
        h.at("dk-103:c-1", offer_at, start("o-9"));
        // The offer start itself is a Min Plan case; only the rehabilitation rules matter here.
        h.findings(2020)
            .into_iter()
            .filter(|x| x.0.starts_with("dk.rehab"))
            .collect::<Vec<_>>()
    };
    assert!(
        case("2020-02-28T23:59:59+01:00").is_empty(),
        "{:?}",
        case("2020-02-28T23:59:59+01:00")
    );
    assert_eq!(
        case("2020-02-29T00:00:00+01:00"),
        vec![f(
            "dk.rehab.no_offer_first_year",
            "dk-103:c-1",
            "2020-02-28"
        )]
    );
}

#[test]
fn follow_ups_without_the_citizen_and_in_standard_wording() {
    let mut h = History::new();
    let followup = |p: &str, a: &str| EventData::FollowupHeld {
        citizen_perspective: p.into(),
        assessment: a.into(),
    };
    // Four streams of dk-103 share a wording (with case and punctuation aside): each has three
    // others, one short of K = 4. A fifth stream of another municipality does not count.
    for i in 0..4 {
        h.at(
            &format!("dk-103:c-{i}"),
            "2020-05-01T10:00:00+02:00",
            followup(
                "Vil gerne arbejde",
                if i % 2 == 0 {
                    "Borgeren er fortsat uarbejdsdygtig."
                } else {
                    "borgeren er  FORTSAT uarbejdsdygtig"
                },
            ),
        );
    }
    h.at(
        "dk-104:c-9",
        "2020-05-01T10:00:00+02:00",
        followup("x", "Borgeren er fortsat uarbejdsdygtig"),
    );
    // The same stream twice is still one stream.
    h.at(
        "dk-103:c-0",
        "2020-06-01T10:00:00+02:00",
        followup("x", "Borgeren er fortsat uarbejdsdygtig"),
    );
    assert!(h.findings(2020).is_empty(), "{:?}", h.findings(2020));
    // A fifth stream of dk-103 makes all of them standard wording; the other municipality's stays.
    h.at(
        "dk-103:c-4",
        "2020-07-01T10:00:00+02:00",
        followup(" ", "Borgeren er fortsat uarbejdsdygtig"),
    );
    let found = h.findings(2020);
    assert_eq!(
        found
            .iter()
            .filter(|x| x.0 == "dk.followup.standard_wording")
            .count(),
        6,
        "{found:?}"
    );
    assert!(!found.iter().any(|x| x.1 == "dk-104:c-9"));
    assert!(found.contains(&f(
        "dk.followup.no_citizen_perspective",
        "dk-103:c-4",
        "2020-07-01"
    )));
    // Follow-ups of another year are evaluated apart.
    assert!(h.findings(2021).is_empty());
}

// ---- Flexjob ----

fn months(h: &mut History, s: &str, from: &str, n: i64) {
    let start = projections::event::YearMonth::parse(from).unwrap().index();
    for i in 0..n {
        let m = projections::event::YearMonth::from_index(start + i);
        h.at(s, &format!("{m}-25T12:00:00+01:00"), paid(&m.to_string()));
    }
}

#[test]
fn forwarding_moves_from_month_11_to_month_10_on_1_march_2008() {
    // Paid from April 2007: the 10th paid month is January 2008 (rule: 11) and the 11th is
    // February 2008 — due by 29 February.
    let mut h = History::new();
    months(&mut h, "dk-104:c-1", "2007-04", 11);
    h.at("dk-104:c-1", "2008-03-01T10:00:00+01:00", forwarded());
    assert_eq!(
        h.findings(2008),
        vec![f("dk.flexjob.forward_late", "dk-104:c-1", "2008-02-29")]
    );
    let mut h = History::new();
    months(&mut h, "dk-104:c-1", "2007-04", 11);
    h.at("dk-104:c-1", "2008-02-29T23:59:59+01:00", forwarded());
    assert!(h.findings(2008).is_empty());
    // Paid from June 2007: 9 months by February (F = 11), 10 by March (F = 10): due in March.
    let mut h = History::new();
    months(&mut h, "dk-104:c-2", "2007-06", 10);
    assert_eq!(
        h.findings(2008),
        vec![f("dk.flexjob.forward_late", "dk-104:c-2", "2008-03-31")]
    );
}

#[test]
fn reassessment_falls_due_at_12_paid_months_within_18() {
    // Paid with gaps: 12 paid months within 18 only in the 18th month.
    let mut h = History::new();
    let s = "dk-104:c-3";
    for m in [
        "2009-01", "2009-02", "2009-03", "2009-05", "2009-07", "2009-09", "2009-11", "2010-01",
        "2010-03", "2010-04", "2010-05", "2010-06",
    ] {
        h.at(s, &format!("{m}-25T12:00:00+01:00"), paid(m));
    }
    h.at(s, "2010-02-01T10:00:00+01:00", forwarded());
    let found = h.findings(2010);
    assert_eq!(
        found,
        vec![f("dk.flexjob.reassessment_late", s, "2010-06-30")]
    );
    // Reassessed in time: no finding, and the next cycle counts only later months.
    h.at(s, "2010-06-15T10:00:00+02:00", reassessed());
    months(&mut h, s, "2010-07", 9);
    assert!(h.findings(2010).is_empty());
    assert!(h.findings(2011).is_empty());
    months(&mut h, s, "2011-04", 2);
    assert_eq!(
        h.findings(2011),
        vec![f("dk.flexjob.forward_late", s, "2011-04-30")]
    );
}

#[test]
fn flexjob_rules_end_with_2012() {
    let mut h = History::new();
    months(&mut h, "dk-104:c-4", "2012-01", 24);
    let found: Vec<_> = [2012, 2013].iter().flat_map(|y| h.findings(*y)).collect();
    assert_eq!(
        found,
        vec![
            f("dk.flexjob.forward_late", "dk-104:c-4", "2012-10-31"),
            f("dk.flexjob.reassessment_late", "dk-104:c-4", "2012-12-31")
        ]
    );
}

#[test]
fn a_reassessment_before_the_due_month_ends_the_cycle() {
    let mut h = History::new();
    let s = "dk-104:c-5";
    months(&mut h, s, "2009-01", 8);
    h.at(s, "2009-08-28T10:00:00+02:00", reassessed());
    months(&mut h, s, "2009-09", 9);
    // The second cycle counts from September: its 10th month is June 2010.
    assert_eq!(h.findings(2010), vec![]);
    months(&mut h, s, "2010-06", 1);
    assert_eq!(
        h.findings(2010),
        vec![f("dk.flexjob.forward_late", s, "2010-06-30")]
    );
}

// ---- Swedish action plans ----

#[test]
fn participants_aged_16_to_65_are_counted_by_their_birth_year() {
    let mut h = History::new();
    for (i, born) in [2002, 2001, 1952, 1951].iter().enumerate() {
        h.at(
            &format!("se-1:p-{i}"),
            "2017-02-01T09:00:00+01:00",
            enrolled(*born),
        );
    }
    // 2017 - 2002 = 15 and 2017 - 1951 = 66 are outside; 16 and 65 inside.
    assert_eq!(
        h.findings(2017),
        vec![
            f("se.actionplan.missing", "se-1:p-1", "2017-12-31"),
            f("se.actionplan.missing", "se-1:p-2", "2017-12-31")
        ]
    );
}

#[test]
fn a_plan_before_the_year_end_counts_and_leaving_ends_activity() {
    let mut h = History::new();
    h.at("se-1:p-1", "2017-02-01T09:00:00+01:00", enrolled(1990));
    h.at("se-1:p-1", "2017-12-31T23:59:59+01:00", action_plan(true));
    h.at("se-1:p-2", "2017-02-01T09:00:00+01:00", enrolled(1990));
    h.at("se-1:p-2", "2018-01-01T00:00:00+01:00", action_plan(false));
    h.at("se-1:p-3", "2017-02-01T09:00:00+01:00", enrolled(1990));
    h.at(
        "se-1:p-3",
        "2017-06-01T09:00:00+02:00",
        EventData::ParticipantLeft,
    );
    h.at("se-1:p-4", "2016-02-01T09:00:00+01:00", enrolled(1990));
    h.at(
        "se-1:p-4",
        "2016-06-01T09:00:00+02:00",
        EventData::ParticipantLeft,
    );
    h.at("se-1:p-4", "2017-03-01T09:00:00+01:00", enrolled(1990));
    assert_eq!(
        h.findings(2017),
        vec![
            f("se.actionplan.missing", "se-1:p-2", "2017-12-31"),
            f("se.actionplan.missing", "se-1:p-4", "2017-12-31")
        ]
    );
    // The year's finding exists only once the year has ended.
    let params = Params::default();
    let mut e = eval(&params);
    e.now = t("2017-12-31T23:59:59+01:00");
    assert!(e
        .findings(
            &h.projection(),
            projections::Scope {
                year: Some(2017),
                stream: None
            }
        )
        .is_empty());
}

/// A flexjob cycle reassessed before its reassessment fell due has no deadline, but is a case
/// examined, on time, in the year of the reassessment; without the early reassessment the same
/// payments give a deadline and a finding.
#[test]
fn a_cycle_reassessed_before_it_fell_due_is_examined_on_time() {
    let build = |reassessed: bool| {
        let mut h = History::new();
        let s = "dk-104:c-9";
        for m in 1..=12 {
            h.at(
                s,
                &format!("2007-{m:02}-25T12:00:00+01:00"),
                paid(&format!("2007-{m:02}")),
            );
        }
        h.at(s, "2007-05-10T10:00:00+02:00", forwarded());
        if reassessed {
            h.at(s, "2007-06-15T10:00:00+02:00", history::reassessed());
        }
        let counts = eval(&Params::default())
            .tally(
                &h.projection(),
                projections::Scope {
                    year: Some(2007),
                    stream: None,
                },
            )
            .counts;
        counts
            .get("dk.flexjob.reassessment_late")
            .copied()
            .unwrap_or_default()
    };
    assert_eq!(build(true), (1, 0), "examined, no finding");
    assert_eq!(
        build(false),
        (1, 1),
        "the deadline of December 2007 passed unmet"
    );
}

/// A participant has a joint plan when its latest action plan before the moment is shared: one
/// shared and then replaced by one that is not is no joint plan any more.
#[test]
fn a_joint_plan_is_the_latest_action_plan_being_shared() {
    let state = |first: bool, then: bool| {
        let mut h = History::new();
        let s = "se-1480:p-1";
        h.at(s, "2017-01-10T10:00:00+01:00", enrolled(1980));
        h.at(s, "2017-02-10T10:00:00+01:00", action_plan(first));
        h.at(s, "2017-03-10T10:00:00+01:00", action_plan(then));
        let p = h.projection();
        let (id, facts) = p.stream_entry(s).unwrap();
        let view = projections::StreamView::new(id, facts, None);
        projections::rules::se_actionplan::state_at(
            &view,
            &Params::default(),
            t("2017-04-01T00:00:00+02:00"),
            2017,
        )
        .unwrap()
        .has_shared_plan
    };
    assert!(!state(true, false));
    assert!(state(false, true));
    assert!(state(true, true));
}
