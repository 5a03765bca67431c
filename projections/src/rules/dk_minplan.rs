//! `dk.minplan`: the quality of Min Plan (RULES.md §2).

use super::plan::Plans;
use super::{Case, Finding};
use crate::event::{EventData, OfferOutcome};
use crate::fact::{Fact, StreamView};
use crate::params::{Params, NEVER_STARTED_DAYS};
use crate::text::{blank, normalise};
use chrono::Datelike;
use std::collections::{HashMap, HashSet};

pub const OFFER_NOT_IN_PLAN: &str = "dk.minplan.offer_not_in_plan_before_start";
pub const PLAN_NOT_PUBLISHED: &str = "dk.minplan.plan_not_published_before_start";
pub const MATCH_WITHOUT_JUSTIFICATION: &str = "dk.minplan.match_without_justification";
pub const GOAL_DEFICIENT: &str = "dk.minplan.goal_deficient";
pub const STALE_OFFER: &str = "dk.minplan.stale_offer";
pub const OFFER_NEVER_STARTED: &str = "dk.minplan.offer_never_started";

pub fn cases(view: &StreamView<'_>, plans: &Plans<'_>, params: &Params, out: &mut Vec<Case>) {
    let cal = &params.calendar;
    let event_case = |rule: &'static str, f: &Fact, finding: Option<(String, Vec<u64>)>| Case {
        rule,
        stream: view.shared.clone(),
        date: cal.date(f.effective_at),
        finding: finding.map(|(message, evidence)| {
            Finding::new(rule, &view.shared, f.effective_at, cal, message, evidence)
        }),
    };

    // First start of each offer.
    let mut seen_offers: HashSet<&str> = HashSet::new();
    for f in view.iter() {
        let EventData::OfferStarted { offer_id: o } = &f.data else {
            continue;
        };
        if !seen_offers.insert(o) {
            continue;
        }
        let start = f.effective_at;
        let written: Vec<u64> = plans
            .written_before(o, start)
            .iter()
            .map(|v| v.fact.seq)
            .collect();
        let published = plans.published_before(o, start);
        out.push(event_case(
            OFFER_NOT_IN_PLAN,
            f,
            written.is_empty().then(|| {
                (
                    format!("Tilbud {o} began on {} but no version of Min Plan listing it was written before (manglende opdatering af Min Plan forud for tilbud).", cal.date(start)),
                    vec![f.seq],
                )
            }),
        ));
        out.push(event_case(
            PLAN_NOT_PUBLISHED,
            f,
            (!written.is_empty() && published.is_none()).then(|| {
                let mut evidence = written.clone();
                evidence.push(f.seq);
                (
                    format!("Tilbud {o} began on {} before Min Plan listing it was published on Jobnet or sent to the citizen (manglende rettidighed i publicering).", cal.date(start)),
                    evidence,
                )
            }),
        ));
    }

    for f in view.iter() {
        if let EventData::MatchAssessed {
            category,
            justification,
        } = &f.data
        {
            out.push(event_case(
                MATCH_WITHOUT_JUSTIFICATION,
                f,
                blank(justification).then(|| {
                    (format!("The match category (matchkategori) {category} was assessed without a justification."), vec![f.seq])
                }),
            ));
        }
    }

    // Each offer's grants, starts and ends, in stream order, gathered once: every publication
    // asks about each offer it lists.
    let mut offer_facts: HashMap<&str, Vec<&Fact>> = HashMap::new();
    for f in view.iter() {
        let (EventData::OfferGranted { offer_id, .. }
        | EventData::OfferStarted { offer_id }
        | EventData::OfferEnded { offer_id, .. }) = &f.data
        else {
            continue;
        };
        offer_facts.entry(offer_id.as_ref()).or_default().push(f);
    }
    let generic: Vec<String> = params.generic_goals.iter().map(|g| normalise(g)).collect();
    for p in plans.publications() {
        let Some(version) = p.version else { continue };
        let f = p.fact;
        let goal = normalise(version.goal);
        out.push(event_case(
            GOAL_DEFICIENT,
            f,
            (goal.is_empty() || generic.contains(&goal)).then(|| {
                (
                    if goal.is_empty() {
                        format!("Min Plan version {} was published without an employment goal (beskæftigelsesmål).", version.number)
                    } else {
                        format!("Min Plan version {} was published with the generic employment goal {:?}, which says nothing about the job the citizen aims at.", version.number, version.goal.trim())
                    },
                    vec![f.seq, version.fact.seq],
                )
            }),
        ));
        let pub_date = cal.date(f.effective_at);
        let days = params.at(NEVER_STARTED_DAYS, pub_date);
        for o in version.offers {
            let of_offer = offer_facts
                .get(o.as_ref())
                .map_or(&[][..], |facts| &facts[..]);
            // The latest grant by the publication.
            let grant = of_offer
                .iter()
                .copied()
                .rev()
                .filter(|g| g.effective_at <= f.effective_at)
                .find_map(|g| match &g.data {
                    EventData::OfferGranted {
                        planned_start,
                        planned_end,
                        ..
                    } => Some((g, *planned_start, *planned_end)),
                    _ => None,
                });
            let first_end = of_offer.iter().copied().find(|g| {
                matches!(g.data, EventData::OfferEnded { .. }) && g.effective_at <= f.effective_at
            });
            let end = match (first_end, grant) {
                (Some(e), _) => Some((cal.date(e.effective_at), e.seq)),
                (None, Some((g, _, Some(planned_end)))) if planned_end < pub_date => {
                    Some((planned_end, g.seq))
                }
                _ => None,
            };
            out.push(event_case(
                STALE_OFFER,
                f,
                end.filter(|(d, _)| d.year() < pub_date.year()).map(|(d, seq)| {
                    (
                        format!("Min Plan published on {pub_date} still lists tilbud {o}, which ended on {d}."),
                        vec![f.seq, version.fact.seq, seq],
                    )
                }),
            ));
            let started_before = of_offer.iter().any(|g| {
                matches!(g.data, EventData::OfferStarted { .. }) && g.effective_at < f.effective_at
            });
            let cancelled = of_offer.iter().copied().find(|g| {
                matches!(
                    g.data,
                    EventData::OfferEnded {
                        outcome: OfferOutcome::Cancelled,
                        ..
                    }
                ) && g.effective_at <= f.effective_at
            });
            let overdue =
                grant.filter(|(_, planned_start, _)| (pub_date - *planned_start).num_days() > days);
            let finding = if started_before {
                None
            } else if let Some(c) = cancelled {
                Some((format!("Min Plan published on {pub_date} lists tilbud {o}, which was cancelled and never began."), vec![f.seq, version.fact.seq, c.seq]))
            } else {
                overdue.map(|(g, planned_start, _)| {
                    (
                        format!("Min Plan published on {pub_date} lists tilbud {o}, planned to begin on {planned_start}, which never began."),
                        vec![f.seq, version.fact.seq, g.seq],
                    )
                })
            };
            out.push(event_case(OFFER_NEVER_STARTED, f, finding));
        }
    }
}
