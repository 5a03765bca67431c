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
