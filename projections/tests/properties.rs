//! Properties of the rules over random histories: verdicts do not depend on the order in which
//! different streams were imported; an unrelated stream changes no other stream's verdicts
//! (standard wording aside); a replay from scratch equals an incremental build from any split.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod history;

use history::*;
use projections::event::{EventData, MatchCategory, OfferOutcome, SanctionKind, Track};
use projections::{Fact, Params, Projection, Scope};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One random event: (kind, day, minute, a, b).
type Step = (u8, u16, u16, u8, u8);

/// A valid event list of one stream from random steps (plan versions in sequence, publications of
/// existing versions, revocations of the stream's own sanctions).
fn stream_events(stream_no: usize, steps: &[Step]) -> Vec<(i64, EventData)> {
    let base = t("2016-06-01T00:00:00+02:00");
    let mut versions = 0u32;
    let mut sanctions: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (i, (kind, day, minute, a, b)) in steps.iter().enumerate() {
        let when =
            base + i64::from(*day) * 86_400_000_000_000 + i64::from(*minute) * 60_000_000_000;
        let offer = format!("o-{}", a % 3);
        let data = match kind % 20 {
            0 => guidance(),
            1 => {
                versions += 1;
                let offers: Vec<String> = (0..3)
                    .filter(|o| b & (1 << o) != 0)
                    .map(|o| format!("o-{o}"))
                    .collect();
                let goals = ["Lager", "raskmelding", "", "Tandlæge"];
                EventData::PlanUpdated {
                    plan_version: versions,
                    employment_goal: goals[usize::from(*a) % 4].into(),
                    offers: offers
                        .iter()
                        .map(|o| projections::event::Text::from(o.as_str()))
                        .collect(),
                    education: None,
                }
            }
            2 if versions > 0 => publish(1 + u32::from(*a) % versions),
            3 => grant(
                &offer,
                ["2016-07-01", "2017-01-15", "2017-06-01"][usize::from(*b) % 3],
                [None, Some("2016-12-01"), Some("2017-09-30")][usize::from(*b / 3) % 3],
            ),
            4 | 5 => start(&offer),
            6 => end(
                &offer,
                [
                    OfferOutcome::Completed,
                    OfferOutcome::Cancelled,
                    OfferOutcome::Interrupted,
                ][usize::from(*b) % 3],
            ),
            7 | 8 => absence(&offer, [None, Some("syg"), Some(" ")][usize::from(*b) % 3]),
            9 => hearing(&offer),
            10 | 11 => {
                let id = format!("s-{stream_no}-{i}");
                sanctions.push(id.clone());
                sanction(
                    &id,
                    &offer,
                    [
                        SanctionKind::Reduction,
                        SanctionKind::Stop,
                        SanctionKind::TightenedAvailability,
                    ][usize::from(*b) % 3],
                )
            }
            12 if !sanctions.is_empty() => {
                revoke(&sanctions[usize::from(*a) % sanctions.len()].clone())
            }
            13 => EventData::MatchAssessed {
                category: MatchCategory::Aktivitetsparat,
                justification: if b % 2 == 0 {
                    "".into()
                } else {
                    "begrundet".into()
                },
            },
            14 => meeting([Track::Jobafklaring, Track::Ressourceforloeb][usize::from(*b) % 2]),
            15 => indsatsplan([Track::Jobafklaring, Track::Ressourceforloeb][usize::from(*b) % 2]),
            16 => EventData::FollowupHeld {
                citizen_perspective: if b % 3 == 0 {
                    "".into()
                } else {
                    "ønsker job".into()
                },
                assessment: ["Borgeren er fortsat uarbejdsdygtig", "Ny vurdering", ""]
                    [usize::from(*a) % 3]
                    .into(),
            },
            17 => paid(&format!("{}-{:02}", 2016 + i64::from(*a % 3), 1 + b % 12)),
            18 => {
                if b % 2 == 0 {
                    forwarded()
                } else {
                    reassessed()
                }
            }
            _ => match b % 3 {
                0 => enrolled(1950 + i32::from(*a % 60)),
                1 => EventData::ParticipantLeft,
                _ => action_plan(a % 2 == 0),
            },
        };
        out.push((when, data));
    }
    out
}

fn stream_id(no: usize) -> String {
    format!("dk-10{}:c-{no}", no % 2)
}

/// Builds facts from per-stream event lists, interleaved in the given order of stream numbers.
fn facts(streams: &[Vec<(i64, EventData)>], order: &[usize]) -> Vec<Ev> {
    let mut next = vec![0usize; streams.len()];
    let mut out = Vec::new();
    for &s in order {
        let (when, data) = streams[s][next[s]].clone();
        next[s] += 1;
        out.push(Ev {
            stream: Arc::from(stream_id(s).as_str()),
            fact: Fact {
                seq: out.len() as u64,
                effective_at: when,
                recorded: when,
                data,
            },
        });
    }
    out
}

/// Every verdict and finding, with seqs replaced by (stream, position in the stream).
fn outcome(facts: &[Ev], skip_wording: bool) -> BTreeMap<String, Vec<String>> {
    let mut p = Projection::new();
    for f in facts {
        p.apply(&f.stream, f.fact.clone());
    }
    let mut position: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in facts {
        let c = counts.entry(f.stream.to_string()).or_default();
        position.insert(f.seq, (f.stream.to_string(), *c));
        *c += 1;
    }
    let name = |seqs: &[u64]| {
        format!(
            "{:?}",
            seqs.iter().map(|s| &position[s]).collect::<Vec<_>>()
        )
    };
    let params = Params::default();
    let e = eval(&params);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for year in 2016..=2018 {
        for v in e.sanctions(
            &p,
            Scope {
                year: Some(year),
                stream: None,
            },
        ) {
            out.entry(v.stream.clone()).or_default().push(format!(
                "{} {} {:?} {:?} {} {}",
                v.sanction_id,
                v.lawful,
                v.reasons,
                v.warnings(),
                v.revoked(),
                name(&v.evidence)
            ));
        }
        for f in e.findings(
            &p,
            Scope {
                year: Some(year),
                stream: None,
            },
        ) {
            if skip_wording && f.rule == "dk.followup.standard_wording" {
                continue;
            }
            out.entry(f.stream.to_string()).or_default().push(format!(
                "{} {} {}",
                f.rule,
                f.date,
                name(&f.evidence)
            ));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn steps() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(
        prop::collection::vec(
            (any::<u8>(), 0u16..700, 0u16..1440, any::<u8>(), any::<u8>()),
            1..25,
        ),
        2..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn verdicts_do_not_depend_on_the_import_order_of_streams(streams in steps(), shuffle in any::<u64>()) {
        let events: Vec<Vec<(i64, EventData)>> = streams.iter().enumerate().map(|(i, s)| stream_events(i, s)).collect();
        let by_stream: Vec<usize> = events.iter().enumerate().flat_map(|(i, e)| std::iter::repeat_n(i, e.len())).collect();
        // Another interleaving: a deterministic shuffle that keeps each stream's own order.
        let mut interleaved = by_stream.clone();
        let mut x = shuffle | 1;
        for i in (1..interleaved.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            interleaved.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(outcome(&facts(&events, &by_stream), false), outcome(&facts(&events, &interleaved), false));
    }

    #[test]
    fn an_unrelated_stream_changes_no_other_verdict(streams in steps(), extra in prop::collection::vec((any::<u8>(), 0u16..700, 0u16..1440, any::<u8>(), any::<u8>()), 1..25)) {
        let events: Vec<Vec<(i64, EventData)>> = streams.iter().enumerate().map(|(i, s)| stream_events(i, s)).collect();
        let order: Vec<usize> = events.iter().enumerate().flat_map(|(i, e)| std::iter::repeat_n(i, e.len())).collect();
        let without = outcome(&facts(&events, &order), true);
        let mut more = events.clone();
        more.push(stream_events(events.len(), &extra));
        let mut order_more = vec![more.len() - 1; more[more.len() - 1].len()];
        order_more.extend(order.iter().copied());
        let mut with = outcome(&facts(&more, &order_more), true);
        with.remove(&stream_id(more.len() - 1));
        prop_assert_eq!(without, with);
    }

    #[test]
    fn a_replay_from_scratch_equals_an_incremental_build(streams in steps(), split in any::<prop::sample::Index>(), shuffle in any::<u64>()) {
        let events: Vec<Vec<(i64, EventData)>> = streams.iter().enumerate().map(|(i, s)| stream_events(i, s)).collect();
        let order: Vec<usize> = events.iter().enumerate().flat_map(|(i, e)| std::iter::repeat_n(i, e.len())).collect();
        let all = facts(&events, &order);
        let mut scratch = Projection::new();
        for f in &all {
            scratch.apply(&f.stream, f.fact.clone());
        }
        // Built in two sessions, the second continuing the first.
        let k = split.index(all.len() + 1);
        let mut first = Projection::new();
        for f in &all[..k] {
            first.apply(&f.stream, f.fact.clone());
        }
        let mut incremental = first.clone();
        for f in &all[k..] {
            incremental.apply(&f.stream, f.fact.clone());
        }
        prop_assert_eq!(&scratch, &incremental);
        // Facts folded in any order give the same state.
        let mut shuffled = all.clone();
        let mut x = shuffle | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut any_order = Projection::new();
        for f in shuffled {
            any_order.apply(&f.stream, f.fact);
        }
        prop_assert_eq!(&scratch, &any_order);
    }

    /// The feed judges a case before and after a stretch of the log on `Projection::before`.
    #[test]
    fn a_projection_before_a_seq_is_the_fold_of_the_facts_before_it(streams in steps(), split in any::<prop::sample::Index>(), shuffle in any::<u64>()) {
        let events: Vec<Vec<(i64, EventData)>> = streams.iter().enumerate().map(|(i, s)| stream_events(i, s)).collect();
        let by_stream: Vec<usize> = events.iter().enumerate().flat_map(|(i, e)| std::iter::repeat_n(i, e.len())).collect();
        let mut order = by_stream.clone();
        let mut x = shuffle | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let all = facts(&events, &order);
        let k = split.index(all.len() + 1);
        let mut whole = Projection::new();
        whole.index_wordings();
        let mut first = whole.clone();
        for (i, f) in all.iter().enumerate() {
            whole.apply(&f.stream, f.fact.clone());
            if i < k {
                first.apply(&f.stream, f.fact.clone());
            }
        }
        prop_assert_eq!(&whole.before(k as u64), &first);
        prop_assert_eq!(&whole.before(u64::MAX), &whole);
    }
}
