//! `cargo bench -p replay --bench case`: judging one large case (what `GET /v1/streams/{id}`
//! does) as it grows, against a baseline of the same run: one pass over the case's facts.
//! Judging should grow with the case like the baseline does, not with its square.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use projections::event::{Channel, EventData, SanctionKind, Text};
use projections::{Evaluation, Fact, Params, Projection};
use std::hint::black_box;
use std::sync::Arc;

const STREAM: &str = "dk-101:c-big";
const OFFERS: usize = 100;
const HOUR: i64 = 3_600_000_000_000;

/// One case with `n` versions of Min Plan (each listing 5 of 100 offers), a publication of every
/// third, the 100 offers started with two absences and a hearing each, and `n` sanctions, every
/// other one a tightened availability and every tenth revoked.
fn big_case(n: usize) -> Projection {
    let mut events: Vec<EventData> = vec![EventData::SanctionGuidanceGiven];
    for v in 0..n {
        let offers = (0..5).map(|k| Text::from(format!("o-{}", (v + k * 7) % OFFERS)));
        events.push(EventData::PlanUpdated {
            plan_version: v as u32 + 1,
            employment_goal: "Lagermedarbejder".into(),
            offers: offers.collect(),
            education: None,
        });
        if v % 3 == 0 {
            events.push(EventData::PlanPublished {
                plan_version: v as u32 + 1,
                channel: Channel::Jobnet,
            });
        }
        if v % (n / OFFERS).max(1) == 0 && v / (n / OFFERS).max(1) < OFFERS {
            let offer_id: Text = format!("o-{}", v / (n / OFFERS).max(1)).into();
            events.push(EventData::OfferStarted {
                offer_id: offer_id.clone(),
            });
            for _ in 0..2 {
                events.push(EventData::AbsenceRecorded {
                    offer_id: offer_id.clone(),
                    excuse: None,
                });
            }
            events.push(EventData::HearingSent { offer_id });
        }
    }
    for s in 0..n {
        events.push(EventData::SanctionDecided {
            sanction_id: format!("s-{s}").into(),
            offer_id: format!("o-{}", s % OFFERS).into(),
            kind: match s % 2 {
                0 => SanctionKind::Reduction,
                _ => SanctionKind::TightenedAvailability,
            },
            legal_basis: "LAS § 36".into(),
            absence_at: None,
        });
        if s % 10 == 0 {
            events.push(EventData::SanctionRevoked {
                sanction_id: format!("s-{s}").into(),
                reason: "appeal".into(),
            });
        }
    }
    let stream: Arc<str> = Arc::from(STREAM);
    let mut projection = Projection::new();
    let t0 = 1_483_228_800_000_000_000; // 2017-01-01
    for (seq, data) in events.into_iter().enumerate() {
        let at = t0 + seq as i64 * HOUR;
        projection.apply(
            &stream,
            Fact {
                seq: seq as u64,
                effective_at: at,
                recorded: at,
                data,
            },
        );
    }
    projection
}

fn bench(c: &mut Criterion) {
    let params = Params::default();
    let eval = Evaluation {
        params: &params,
        as_of: None,
        now: 1_893_456_000_000_000_000, // 2030
    };
    let mut group = c.benchmark_group("one-case");
    group.sample_size(10);
    for n in [300, 1000, 3000] {
        let projection = big_case(n);
        let events = projection.len();
        group.bench_with_input(BenchmarkId::new("judge", events), &projection, |b, p| {
            b.iter(|| black_box(replay::output::case_with(&eval, p, STREAM, ())))
        });
        group.bench_with_input(
            BenchmarkId::new("baseline: one pass over its facts", events),
            &projection,
            |b, p| {
                b.iter(|| {
                    let facts = p.stream(STREAM).map_or(&[][..], |s| &s.facts[..]);
                    black_box(facts.iter().filter(|f| f.effective_at > 0).count())
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
