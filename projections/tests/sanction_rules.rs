//! `dk.sanction` on both sides of every boundary of RULES.md §1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod history;

use history::*;
use projections::event::SanctionKind;
use projections::{Params, Scope};

const S: &str = "dk-101:c-1";

#[test]
fn the_lawful_case_is_lawful_with_its_evidence() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    let v = h.verdict("s-1");
    assert!(v.lawful, "{:?}", v.reasons);
    assert!(v.warnings().is_empty());
    // guidance, plan, publication, start, absence, hearing (the grant is no evidence).
    assert_eq!(v.evidence, vec![0, 2, 3, 4, 5, 6]);
}

fn published_case(publish_at: &str) -> History {
    let mut h = History::new();
    h.at(S, "2017-02-01T10:00:00+01:00", guidance());
    h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, publish_at, publish(1));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    h
}

#[test]
fn publication_one_second_before_the_start_is_in_time_and_at_the_start_is_not() {
    assert!(
        published_case("2017-03-10T07:59:59+01:00")
            .verdict("s-1")
            .lawful
    );
    assert_eq!(
        published_case("2017-03-10T08:00:00+01:00").reasons("s-1"),
        vec!["plan_not_published_before_start"]
    );
    // The same instant in another notation.
    assert_eq!(
        published_case("2017-03-10T07:00:00Z").reasons("s-1"),
        vec!["plan_not_published_before_start"]
    );
}

#[test]
fn a_publication_takes_effect_no_earlier_than_its_version() {
    // Published (by the clock of another system) before the version was written: it takes effect
    // when the version was written, here after the start.
    let mut h = History::new();
    h.at(S, "2017-02-01T10:00:00+01:00", guidance());
    h.at(S, "2017-03-10T09:00:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-03-01T09:00:00+01:00", publish(1));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    assert_eq!(h.reasons("s-1"), vec!["offer_not_in_plan_before_start"]);
}

#[test]
fn an_absence_exactly_at_the_start_counts() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-10T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    assert!(h.verdict("s-1").lawful, "{:?}", h.reasons("s-1"));
    // One second before the start it is no absence from the offer.
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-10T07:59:59+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    assert_eq!(h.reasons("s-1"), vec!["no_absence_before_decision"]);
}

#[test]
fn the_decision_deadline_is_the_end_of_the_third_whole_calendar_month() {
    for (absence_at, in_time, too_late) in [
        (
            "2017-01-31T08:00:00+01:00",
            "2017-04-30T23:59:59+02:00",
            "2017-05-01T00:00:00+02:00",
        ),
        (
            "2017-03-15T08:00:00+01:00",
            "2017-06-30T23:59:59+02:00",
            "2017-07-01T00:00:00+02:00",
        ),
        // Across the end of summer time: the deadline is local midnight, 1 November at +01:00.
        (
            "2017-07-20T08:00:00+02:00",
            "2017-10-31T23:59:59+01:00",
            "2017-11-01T00:00:00+01:00",
        ),
        // Across the turn of a year.
        (
            "2016-11-30T08:00:00+01:00",
            "2017-02-28T23:59:59+01:00",
            "2017-03-01T00:00:00+01:00",
        ),
    ] {
        let mut h = History::new();
        h.at(S, "2016-01-01T10:00:00+01:00", guidance());
        h.at(S, "2016-01-02T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
        h.at(S, "2016-01-02T09:10:00+01:00", publish(1));
        h.at(S, "2016-01-10T08:00:00+01:00", start("o-1"));
        h.at(S, absence_at, absence("o-1", None));
        h.at(S, absence_at, hearing("o-1"));
        h.at(S, in_time, sanction("s-ok", "o-1", SanctionKind::Reduction));
        h.at(
            S,
            too_late,
            sanction("s-late", "o-1", SanctionKind::Reduction),
        );
        assert!(
            h.verdict("s-ok").lawful,
            "{absence_at}: {:?}",
            h.reasons("s-ok")
        );
        assert_eq!(
            h.reasons("s-late"),
            vec!["decision_too_late"],
            "{absence_at}"
        );
    }
}

#[test]
fn every_reason_is_given_not_only_the_first() {
    let mut h = History::new();
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(
        S,
        "2017-08-02T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::TightenedAvailability),
    );
    assert_eq!(
        h.reasons("s-1"),
        vec![
            "decision_too_late",
            "no_guidance_before_absence",
            "no_hearing_before_decision",
            "no_prior_sanction",
            "offer_not_in_plan_before_start",
            "offer_not_in_published_plan_at_absence"
        ]
    );
}

#[test]
fn offer_not_started_is_the_only_reason_when_it_applies() {
    let mut h = History::new();
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::TightenedAvailability),
    );
    assert_eq!(h.reasons("s-1"), vec!["offer_not_started"]);
    // A start after the decision is no start.
    h.at(S, "2017-04-01T08:00:00+02:00", start("o-1"));
    assert_eq!(h.reasons("s-1"), vec!["offer_not_started"]);
    // A start of another offer is no start of this one.
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-0",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    h.at(
        S,
        "2017-03-28T10:00:00+02:00",
        sanction("s-1", "o-2", SanctionKind::Reduction),
    );
    assert_eq!(h.reasons("s-1"), vec!["offer_not_started"]);
}

#[test]
fn excused_absences_and_the_latest_unexcused_one() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    // Only an excused absence (whitespace is no excuse).
    let mut e = History::new();
    e.at(S, "2017-02-01T10:00:00+01:00", guidance());
    e.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    e.at(S, "2017-03-01T09:10:00+01:00", publish(1));
    e.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    e.at(
        S,
        "2017-03-15T08:00:00+01:00",
        absence("o-1", Some("Indlagt")),
    );
    e.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    e.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    assert_eq!(e.reasons("s-1"), vec!["absence_excused"]);
    e.at(S, "2017-03-16T08:00:00+01:00", absence("o-1", Some("  ")));
    // The unexcused absence of 16 March is A; the hearing of 17 March follows it.
    assert!(e.verdict("s-1").lawful, "{:?}", e.reasons("s-1"));
    // A later unexcused absence without a hearing after it becomes A.
    e.at(S, "2017-03-20T08:00:00+01:00", absence("o-1", None));
    assert_eq!(e.reasons("s-1"), vec!["no_hearing_before_decision"]);
}

#[test]
fn guidance_must_come_strictly_before_the_absence_and_hearing_before_the_decision() {
    let mut h = History::new();
    h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-03-01T09:10:00+01:00", publish(1));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-15T08:00:00+01:00", guidance());
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-27T10:00:00+02:00", hearing("o-1"));
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    assert_eq!(
        h.reasons("s-1"),
        vec!["no_guidance_before_absence", "no_hearing_before_decision"]
    );
}

#[test]
fn a_plan_that_dropped_the_offer_before_the_absence() {
    let mut h = History::new();
    h.at(S, "2017-02-01T10:00:00+01:00", guidance());
    h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-03-01T09:10:00+01:00", publish(1));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-12T09:05:00+01:00", plan(2, "Lager", &["o-2"]));
    h.at(S, "2017-03-12T09:10:00+01:00", publish(2));
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    assert_eq!(
        h.reasons("s-1"),
        vec!["offer_not_in_published_plan_at_absence"]
    );
    // Version 2 written but not yet published at the absence: version 1 still stands.
    let mut w = History::new();
    w.at(S, "2017-02-01T10:00:00+01:00", guidance());
    w.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    w.at(S, "2017-03-01T09:10:00+01:00", publish(1));
    w.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    w.at(S, "2017-03-12T09:05:00+01:00", plan(2, "Lager", &["o-2"]));
    w.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    w.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    w.at(S, "2017-03-20T09:10:00+01:00", publish(2));
    w.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    assert!(w.verdict("s-1").lawful, "{:?}", w.reasons("s-1"));
    // Version 1 re-published after version 2: the latest publication at the absence lists o-1.
    h.facts.insert(6, h.facts[2].clone());
    h.facts[6].effective_at = t("2017-03-14T09:00:00+01:00");
    for (i, f) in h.facts.iter_mut().enumerate() {
        f.seq = i as u64;
    }
    assert!(h.verdict("s-1").lawful, "{:?}", h.reasons("s-1"));
}

#[test]
fn several_offers_and_plan_versions_on_one_stream() {
    let mut h = History::new();
    h.at(S, "2017-01-05T10:00:00+01:00", guidance());
    h.at(S, "2017-01-10T09:00:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-01-10T09:10:00+01:00", publish(1));
    h.at(S, "2017-01-20T08:00:00+01:00", start("o-1"));
    // o-2 added in version 2, published only after o-2 began.
    h.at(
        S,
        "2017-02-01T09:00:00+01:00",
        plan(2, "Lager", &["o-1", "o-2"]),
    );
    h.at(S, "2017-02-10T08:00:00+01:00", start("o-2"));
    h.at(S, "2017-02-11T09:00:00+01:00", publish(2));
    h.at(S, "2017-02-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-02-15T08:00:00+01:00", absence("o-2", None));
    h.at(S, "2017-02-16T08:00:00+01:00", hearing("o-1"));
    h.at(S, "2017-02-16T08:00:00+01:00", hearing("o-2"));
    h.at(
        S,
        "2017-02-20T08:00:00+01:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    h.at(
        S,
        "2017-02-20T08:00:00+01:00",
        sanction("s-2", "o-2", SanctionKind::Reduction),
    );
    assert!(h.verdict("s-1").lawful, "{:?}", h.reasons("s-1"));
    assert_eq!(h.reasons("s-2"), vec!["plan_not_published_before_start"]);
    let found = h.rules_found(2017);
    assert!(
        found.contains(&"dk.minplan.plan_not_published_before_start".to_string()),
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|r| r.starts_with("dk.minplan.plan_not_published"))
            .count(),
        1
    );
}

#[test]
fn a_revoked_sanction_keeps_its_verdict_and_stops_counting_as_prior() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    h.at(S, "2017-04-03T08:00:00+02:00", absence("o-1", None));
    h.at(S, "2017-04-04T08:00:00+02:00", hearing("o-1"));
    h.at(
        S,
        "2017-04-10T10:00:00+02:00",
        sanction("s-2", "o-1", SanctionKind::TightenedAvailability),
    );
    assert!(h.verdict("s-2").lawful, "{:?}", h.reasons("s-2"));
    // Revoked after the tightened sanction: s-1 still stood when s-2 was decided.
    let mut later = h.clone();
    later.at(S, "2017-05-01T10:00:00+02:00", revoke("s-1"));
    assert!(later.verdict("s-1").revoked() && later.verdict("s-1").lawful);
    assert!(later.verdict("s-2").lawful);
    // Revoked before it: no earlier sanction stands.
    let mut before = h.clone();
    before.at(S, "2017-04-05T10:00:00+02:00", revoke("s-1"));
    assert_eq!(before.reasons("s-2"), vec!["no_prior_sanction"]);
    assert!(!before.verdict("s-2").revoked());
}

#[test]
fn events_recorded_out_of_order_give_the_same_verdict_and_a_warning() {
    // The publication arrives last in the log, but took effect before the start.
    let mut h = History::new();
    h.at(S, "2017-02-01T10:00:00+01:00", guidance());
    h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
    h.at(
        S,
        "2017-03-27T10:00:00+02:00",
        sanction("s-1", "o-1", SanctionKind::Reduction),
    );
    h.recorded(
        S,
        "2017-03-01T09:10:00+01:00",
        "2017-03-27T10:00:01+02:00",
        publish(1),
    );
    let v = h.verdict("s-1");
    assert!(v.lawful);
    // Recorded after the decision, and logged after it (a higher seq).
    assert_eq!(
        v.warnings(),
        vec![
            "evidence_recorded_after_decision",
            "evidence_logged_after_decision"
        ]
    );
    // Recorded one second before the decision was recorded: still logged after it.
    h.facts[6].recorded = t("2017-03-27T10:00:00+02:00") - 1_000_000_000;
    assert_eq!(
        h.verdict("s-1").warnings(),
        vec!["evidence_logged_after_decision"]
    );
}

#[test]
fn as_of_forgets_what_was_recorded_later() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    h.facts[3].recorded = t("2017-04-02T10:00:00+02:00");
    let params = Params::default();
    let mut e = eval(&params);
    e.as_of = Some(t("2017-03-28T00:00:00+02:00"));
    let v = e.sanctions(&h.projection(), Scope::default());
    let mut reasons: Vec<&str> = v[0].reasons.iter().map(|r| r.code()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "offer_not_in_published_plan_at_absence",
            "plan_not_published_before_start"
        ]
    );
    // Before the decision was recorded, there is no sanction at all.
    e.as_of = Some(t("2017-03-20T00:00:00+01:00"));
    assert!(e.sanctions(&h.projection(), Scope::default()).is_empty());
}

#[test]
fn an_intended_sanction_is_judged_like_a_recorded_one() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    h.facts.pop();
    let params = Params::default();
    let e = eval(&params);
    let ok = e.check(
        &h.projection(),
        S,
        &intended(
            "new",
            "o-1",
            SanctionKind::Reduction,
            "2017-03-27T10:00:00+02:00",
        ),
    );
    assert!(ok.lawful);
    let late = e.check(
        &h.projection(),
        S,
        &intended(
            "new",
            "o-1",
            SanctionKind::Reduction,
            "2017-07-01T00:00:00+02:00",
        ),
    );
    assert_eq!(
        late.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        vec!["decision_too_late"]
    );
    let tightened = e.check(
        &h.projection(),
        S,
        &intended(
            "new",
            "o-1",
            SanctionKind::TightenedAvailability,
            "2017-03-27T10:00:00+02:00",
        ),
    );
    assert_eq!(
        tightened
            .reasons
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>(),
        vec!["no_prior_sanction"]
    );
    let unknown = e.check(
        &h.projection(),
        "dk-101:c-404",
        &intended(
            "new",
            "o-1",
            SanctionKind::Reduction,
            "2017-03-27T10:00:00+02:00",
        ),
    );
    assert_eq!(
        unknown.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        vec!["offer_not_started"]
    );
}

#[test]
fn sanctions_belong_to_the_local_year_of_their_decision() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2016-12-15T08:00:00+01:00",
        "2016-12-31T23:30:00Z",
    );
    // 2016-12-31T23:30Z is 2017-01-01T00:30 in Copenhagen.
    assert_eq!(h.sanctions(2017).len(), 1);
    assert!(h.sanctions(2016).is_empty());
}

#[test]
fn evidence_lists_what_exists_even_when_the_offer_began_after_the_decision() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    let plan_seq = h.at(
        S,
        "2017-03-28T09:00:00+02:00",
        plan(2, "Lager", &["o-1", "o-2"]),
    );
    let pub_seq = h.at(S, "2017-03-28T09:10:00+02:00", publish(2));
    let decided = h.at(
        S,
        "2017-04-01T10:00:00+02:00",
        sanction("s-2", "o-2", SanctionKind::TightenedAvailability),
    );
    let started = h.at(S, "2017-04-03T08:00:00+02:00", start("o-2"));
    let v = h.verdict("s-2");
    assert_eq!(
        v.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        vec!["offer_not_started"]
    );
    // The publication before the (late) start, its version, the start, and the earlier sanction s-1.
    assert_eq!(v.evidence, vec![7, plan_seq, pub_seq, started]);
    assert!(decided < started);
}

/// Guidance, a version of Min Plan listing o-1 published, and o-1 started on 10 March 2017.
fn started() -> History {
    let mut h = History::new();
    h.at(S, "2017-02-01T10:00:00+01:00", guidance());
    h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
    h.at(S, "2017-03-01T09:10:00+01:00", publish(1));
    h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
    h
}

/// The case of worked example 13 up to the decision: absences on 15 March (heard on 16 March)
/// and 20 March (never heard).
fn two_absences() -> History {
    let mut h = started();
    h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
    h.at(S, "2017-03-16T12:00:00+01:00", hearing("o-1"));
    h.at(S, "2017-03-20T08:00:00+01:00", absence("o-1", None));
    h
}

#[test]
fn a_named_absence_is_the_one_the_sanction_rests_on_to_the_second() {
    let decided = "2017-03-27T10:00:00+02:00";
    let mut h = two_absences();
    h.at(
        S,
        decided,
        sanction("s-latest", "o-1", SanctionKind::Reduction),
    );
    let named = |at: &str| {
        let mut h = two_absences();
        h.at(
            S,
            decided,
            sanction_naming("s-named", "o-1", SanctionKind::Reduction, at),
        );
        h.reasons("s-named")
    };
    // Unnamed: the latest unexcused absence (20 March), never heard.
    assert_eq!(h.reasons("s-latest"), vec!["no_hearing_before_decision"]);
    // Named 15 March: heard before the decision.
    assert!(named("2017-03-15T08:00:00+01:00").is_empty());
    // The same instant in another notation is the same absence.
    assert!(named("2017-03-15T07:00:00Z").is_empty());
    // One second off either way: no absence at that instant.
    for off in ["2017-03-15T08:00:01+01:00", "2017-03-15T07:59:59+01:00"] {
        assert_eq!(named(off), vec!["no_absence_before_decision"], "{off}");
    }
}

/// An absence counts from the start until the offer's first end before the decision: one at the
/// very instant of the end counts, one a second later does not; an end after the decision ends
/// nothing.
#[test]
fn an_absence_counts_until_the_offer_ended() {
    let case = |ended_at: &str, absent_at: &str| {
        let mut h = started();
        h.at(
            S,
            ended_at,
            end("o-1", projections::event::OfferOutcome::Cancelled),
        );
        h.at(S, absent_at, absence("o-1", None));
        h.at(S, "2017-03-20T12:00:00+01:00", hearing("o-1"));
        h.at(
            S,
            "2017-03-27T10:00:00+02:00",
            sanction("s-1", "o-1", SanctionKind::Reduction),
        );
        h.reasons("s-1")
    };
    let at_end = "2017-03-14T12:00:00+01:00";
    assert!(
        case(at_end, at_end).is_empty(),
        "absent at the instant it ended"
    );
    assert_eq!(
        case(at_end, "2017-03-14T12:00:01+01:00"),
        vec!["no_absence_before_decision"]
    );
    // Ended after the decision: the absence before it counts.
    assert!(case("2017-03-28T12:00:00+02:00", "2017-03-15T08:00:00+01:00").is_empty());
}

/// Evidence that reached the ledger after the decision (a higher seq), whatever recorded time it
/// claims, is warned of on a lawful verdict; with the same recorded times and a lower seq, not.
#[test]
fn evidence_logged_after_the_decision_is_warned_of() {
    let build = |publication_last: bool| {
        let mut h = History::new();
        h.at(S, "2017-02-01T10:00:00+01:00", guidance());
        h.at(S, "2017-03-01T09:05:00+01:00", plan(1, "Lager", &["o-1"]));
        if !publication_last {
            h.at(S, "2017-03-01T09:10:00+01:00", publish(1));
        }
        h.at(S, "2017-03-10T08:00:00+01:00", start("o-1"));
        h.at(S, "2017-03-15T08:00:00+01:00", absence("o-1", None));
        h.at(S, "2017-03-17T12:00:00+01:00", hearing("o-1"));
        h.at(
            S,
            "2017-03-27T10:00:00+02:00",
            sanction("s-1", "o-1", SanctionKind::Reduction),
        );
        if publication_last {
            h.at(S, "2017-03-01T09:10:00+01:00", publish(1));
        }
        h.verdict("s-1")
    };
    let backfilled = build(true);
    assert!(backfilled.lawful);
    assert_eq!(
        backfilled.warnings(),
        vec!["evidence_logged_after_decision"]
    );
    // The publication, the one event after the decision (seq 6 against 5), is named.
    let decision = backfilled.seq.unwrap();
    assert_eq!(backfilled.logged_after, vec![decision + 1]);
    assert!(backfilled.evidence.contains(&(decision + 1)));
    assert!(backfilled.recorded_after.is_empty());
    let in_order = build(false);
    assert!(in_order.lawful);
    assert!(in_order.warnings().is_empty(), "{:?}", in_order.warnings());
    assert!(in_order.logged_after.is_empty());
}

/// One time of evaluation: a sanction decided after `now` is not judged or counted yet; at the
/// instant of its decision it is.
#[test]
fn a_sanction_decided_after_now_is_not_judged_yet() {
    let mut h = History::new();
    lawful_case(
        &mut h,
        S,
        "s-1",
        "2017-03-15T08:00:00+01:00",
        "2017-03-27T10:00:00+02:00",
    );
    let params = Params::default();
    let at = |now: &str| {
        projections::Evaluation {
            params: &params,
            as_of: None,
            now: t(now),
        }
        .sanctions(
            &h.projection(),
            Scope {
                year: Some(2017),
                stream: None,
            },
        )
        .len()
    };
    assert_eq!(at("2017-03-27T09:59:59+02:00"), 0);
    assert_eq!(at("2017-03-27T10:00:00+02:00"), 1);
    // Nor is it explained by id before then.
    let one = |now: &str| {
        projections::Evaluation {
            params: &params,
            as_of: None,
            now: t(now),
        }
        .sanction(&h.projection(), "s-1")
        .is_some()
    };
    assert!(!one("2017-03-27T09:59:59+02:00"));
    assert!(one("2017-03-27T10:00:00+02:00"));
}
