//! A query about one case gives exactly what the whole evaluation gives for that case: the
//! one-case paths (the stream lookup, the index of follow-up wordings) against a walk of all cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use projections::{Evaluation, Fact, Params, Projection, Scope};
use replay::synth::Municipality;
use std::sync::Arc;

fn demo_projection(citizens: u64) -> Projection {
    let mut projection = Projection::new();
    for (seq, line) in Municipality::new(7, citizens, 2017).enumerate() {
        let c = replay::ingest::check_line(&line).unwrap();
        let stream: Arc<str> = Arc::from(c.event.stream.as_str());
        let effective_at = c.event.effective_at.unix_nanos;
        projection.apply(
            &stream,
            Fact {
                seq: seq as u64,
                effective_at,
                recorded: c.event.recorded_at.map_or(effective_at, |t| t.unix_nanos),
                data: c.data,
            },
        );
    }
    projection
}

#[test]
fn findings_and_verdicts_of_one_case_are_those_of_the_whole_for_it() {
    one_case_equals_whole(demo_projection(400));
}

#[test]
fn with_an_index_of_wordings_one_case_is_still_judged_as_in_the_whole() {
    let mut projection = demo_projection(400);
    projection.index_wordings();
    assert!(projection.has_wording_index());
    one_case_equals_whole(projection);
}

/// A server judges one case on an excerpt taken under its lock: every case's answer from its
/// excerpt is the answer from the whole projection, and so is its judgement version.
#[test]
fn one_case_judged_on_its_excerpt_is_judged_as_in_the_whole() {
    let mut projection = demo_projection(400);
    projection.index_wordings();
    let params = Params::default();
    let eval = Evaluation {
        params: &params,
        as_of: None,
        now: 1_546_300_800_000_000_000,
    };
    let ids: Vec<Arc<str>> = projection.streams().map(|(id, _)| id.clone()).collect();
    let mut with_followups = 0;
    for id in &ids {
        let excerpt = projection.excerpt(id);
        assert_eq!(
            excerpt.judgement_version(id),
            projection.judgement_version(id)
        );
        with_followups += usize::from(projection.judgement_version(id).is_some_and(|(_, f)| f > 0));
        let whole =
            serde_json::to_value(replay::output::case_with(&eval, &projection, id, ())).unwrap();
        let alone =
            serde_json::to_value(replay::output::case_with(&eval, &excerpt, id, ())).unwrap();
        assert_eq!(alone, whole, "{id}");
        assert_eq!(
            eval.judged_until(&excerpt, id),
            eval.judged_until(&projection, id),
            "{id}"
        );
    }
    assert!(
        with_followups > 10,
        "the demo has cases whose judgement reads other cases"
    );
}

#[test]
fn an_index_kept_while_folding_is_the_index_built_afterwards() {
    let mut built_after = demo_projection(150);
    built_after.index_wordings();
    let mut kept = Projection::new();
    kept.index_wordings();
    for (id, facts) in built_after.streams() {
        for f in &facts.facts {
            kept.apply(id, f.clone());
        }
    }
    assert_eq!(kept, built_after);
}

fn one_case_equals_whole(projection: Projection) {
    let params = Params::default();
    let now = ledger::Timestamp::parse_rfc3339("2018-06-01T00:00:00Z")
        .unwrap()
        .unix_nanos;
    let as_of = ledger::Timestamp::parse_rfc3339("2017-09-01T00:00:00Z")
        .unwrap()
        .unix_nanos;
    let mut wording_findings = 0;
    for as_of in [None, Some(as_of)] {
        let eval = Evaluation {
            params: &params,
            as_of,
            now,
        };
        for year in [None, Some(2017)] {
            let all = eval.findings(&projection, Scope { year, stream: None });
            let all_sanctions = eval.sanctions(&projection, Scope { year, stream: None });
            wording_findings += all
                .iter()
                .filter(|f| f.rule == "dk.followup.standard_wording")
                .count();
            for (id, _) in projection.streams() {
                let mut one = eval.findings(
                    &projection,
                    Scope {
                        year,
                        stream: Some(id),
                    },
                );
                let mut expected: Vec<_> =
                    all.iter().filter(|f| f.stream == *id).cloned().collect();
                let key = |f: &projections::Finding| {
                    (f.at, f.rule, f.evidence.clone(), f.message.clone())
                };
                one.sort_by_key(key);
                expected.sort_by_key(key);
                assert_eq!(
                    one, expected,
                    "findings of {id} (year {year:?}, as of {as_of:?})"
                );
                let sanctions = eval.sanctions(
                    &projection,
                    Scope {
                        year,
                        stream: Some(id),
                    },
                );
                let expected: Vec<_> = all_sanctions
                    .iter()
                    .filter(|s| *s.stream == **id)
                    .cloned()
                    .collect();
                assert_eq!(sanctions, expected, "sanctions of {id}");
            }
        }
    }
    assert!(
        wording_findings > 0,
        "the demo has standard wordings to compare"
    );
}

#[test]
fn a_municipality_cut_out_of_a_projection_is_judged_as_if_alone() {
    let projection = demo_projection(200);
    let mut cut = projection.clone();
    cut.retain(|id| id.starts_with("dk-101:"));
    let mut alone = Projection::new();
    for (id, facts) in projection
        .streams()
        .filter(|(id, _)| id.starts_with("dk-101:"))
    {
        for f in &facts.facts {
            alone.apply(id, f.clone());
        }
    }
    assert_eq!(cut, alone);
    assert!(cut.stream_count() > 10 && cut.stream_count() < projection.stream_count());
}

/// Everything a case's answer says that depends on the time of evaluation.
fn judgement(
    projection: &Projection,
    params: &Params,
    stream: &str,
    now: i64,
) -> (Vec<projections::Finding>, Vec<projections::SanctionVerdict>) {
    let eval = Evaluation {
        params,
        as_of: None,
        now,
    };
    let scope = Scope {
        year: None,
        stream: Some(stream),
    };
    (
        eval.findings(projection, scope),
        eval.sanctions(projection, scope),
    )
}

#[test]
fn a_case_is_judged_the_same_until_judged_until() {
    let mut projection = demo_projection(60);
    projection.index_wordings();
    let params = Params::default();
    let cal = &params.calendar;
    let (mut windows, mut changes_at_the_bound) = (0, 0);
    for (i, (id, facts)) in projection.streams().enumerate() {
        // Times of evaluation around what the rules turn on: just before events, at the ends of
        // days, at year ends, and some hours into a day.
        let mut times: Vec<i64> = facts
            .facts
            .iter()
            .enumerate()
            .filter(|(k, _)| (k + i) % 5 == 0)
            .flat_map(|(_, f)| {
                let day = cal.date(f.effective_at);
                [
                    f.effective_at - 1,
                    projections::time::last_instant_of(cal, day) - 1,
                    cal.end_of(day) + 3_600_000_000_000 * (i as i64 % 24),
                ]
            })
            .collect();
        times.push(cal.end_of_year(2017) - 1);
        times.push(cal.end_of_year(2018) - 2);
        for t0 in times {
            let until = Evaluation {
                params: &params,
                as_of: None,
                now: t0,
            }
            .judged_until(&projection, id);
            assert!(until > t0, "{id} at {t0}: judged until {until}");
            assert!(
                until <= cal.end_of(cal.date(t0)),
                "{id} at {t0}: a bound past the day's end ({until})"
            );
            let at_t0 = judgement(&projection, &params, id, t0);
            for t in [t0 + 1, t0 + (until - t0) / 2, until - 1]
                .into_iter()
                .filter(|t| *t < until)
            {
                assert_eq!(
                    judgement(&projection, &params, id, t),
                    at_t0,
                    "{id}: judged at {t0}, said to hold until {until}, but not at {t}"
                );
            }
            windows += 1;
            if judgement(&projection, &params, id, until) != at_t0 {
                changes_at_the_bound += 1;
            }
        }
    }
    // The bound is not merely safe: at some of them the judgement does change, so a bound even
    // one nanosecond later would have been wrong there.
    assert!(windows > 1000, "{windows} windows");
    assert!(
        changes_at_the_bound >= 20,
        "{changes_at_the_bound} of {windows} windows end at a change"
    );
}

#[test]
fn an_as_of_before_now_is_judged_the_same_forever() {
    let projection = demo_projection(20);
    let params = Params::default();
    let t = |s: &str| ledger::Timestamp::parse_rfc3339(s).unwrap().unix_nanos;
    let (id, _) = projection.streams().next().unwrap();
    let eval = |as_of| Evaluation {
        params: &params,
        as_of,
        now: t("2017-12-31T22:59:59.999Z"),
    };
    assert_eq!(
        eval(Some(t("2017-06-01T00:00:00Z"))).judged_until(&projection, id),
        i64::MAX
    );
    // An as-of after now leaves now as the time of evaluation.
    assert!(eval(Some(t("2019-01-01T00:00:00Z"))).judged_until(&projection, id) < i64::MAX);
}

#[test]
fn a_judgement_version_moves_with_the_case_and_its_municipalitys_follow_ups() {
    use projections::fact::municipality_of;
    let projection = demo_projection(40);
    let held = |f: &Fact| matches!(f.data, projections::EventData::FollowupHeld { .. });
    let (id, facts) = projection
        .streams()
        .find(|(_, f)| f.facts.iter().any(held))
        .unwrap();
    let (len, followups) = projection.judgement_version(id).unwrap();
    assert_eq!(len, facts.facts.len());
    assert!(followups > 1, "the demo holds follow-ups");
    let same_municipality = |s: &str| municipality_of(s) == municipality_of(id);
    let neighbour = projection
        .streams()
        .map(|(s, _)| s.clone())
        .find(|s| s != id && same_municipality(s))
        .unwrap();
    let elsewhere = projection
        .streams()
        .map(|(s, _)| s.clone())
        .find(|s| !same_municipality(s))
        .unwrap();
    // A case of the same municipality without follow-ups: no wording of it to compare.
    let without = projection
        .streams()
        .find(|(s, f)| same_municipality(s) && !f.facts.iter().any(held))
        .map(|(s, f)| (s.clone(), f.facts.len()))
        .unwrap();
    let followup = facts.facts.iter().find(|f| held(f)).unwrap().clone();
    let mut grown = projection.clone();
    // A follow-up in another municipality does not move it; one on a neighbour does.
    grown.apply(
        &elsewhere,
        Fact {
            seq: 1 << 40,
            ..followup.clone()
        },
    );
    assert_eq!(grown.judgement_version(id), Some((len, followups)));
    grown.apply(
        &neighbour,
        Fact {
            seq: (1 << 40) + 1,
            ..followup
        },
    );
    assert_eq!(grown.judgement_version(id), Some((len, followups + 1)));
    assert_eq!(grown.judgement_version(&without.0), Some((without.1, 0)));
    assert_eq!(projection.judgement_version("dk-999:nobody"), None);
}
