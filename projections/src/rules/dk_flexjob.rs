//! `dk.flexjob`: forwarding and reassessment of flexjob when ledighedsydelse has been paid for 12
//! months within 18 (RULES.md §4; the rules before the 2013 reform).

use super::Deadline;
use crate::event::{EventData, YearMonth};
use crate::fact::{Fact, StreamView};
use crate::params::{
    Params, FLEXJOB_FORWARD_PAID, FLEXJOB_IN_FORCE, FLEXJOB_REASSESS_PAID, FLEXJOB_WINDOW,
};
use crate::time::Instant;
use std::collections::BTreeSet;

pub const REASSESSMENT_LATE: &str = "dk.flexjob.reassessment_late";
pub const FORWARD_LATE: &str = "dk.flexjob.forward_late";

/// Every forwarding and reassessment deadline of one stream, passed or not.
pub fn deadlines<'a>(view: &StreamView<'a>, params: &Params, out: &mut Vec<Deadline<'a>>) {
    let cal = &params.calendar;
    let paid: BTreeSet<YearMonth> = view
        .iter()
        .filter_map(|f| match f.data {
            EventData::LedighedsydelsePaid { month } => Some(month),
            _ => None,
        })
        .collect();
    if paid.is_empty() {
        return;
    }
    let reassessments: Vec<&Fact> = view
        .iter()
        .filter(|f| matches!(f.data, EventData::FlexjobReassessed { .. }))
        .collect();
    // Cycle k runs from R(k-1) (exclusive) to Rk (inclusive); k = 0 here is the first cycle.
    for k in 0..=reassessments.len() {
        let prev = k.checked_sub(1).map(|i| reassessments[i]);
        let this = reassessments.get(k).copied();
        let after_month = prev.map(|r| YearMonth::of(cal.date(r.effective_at)));
        let cycle_paid: Vec<i64> = paid
            .iter()
            .filter(|m| after_month.is_none_or(|a| **m > a))
            .map(|m| m.index())
            .collect();
        let (Some(&first), Some(&last)) = (cycle_paid.first(), cycle_paid.last()) else {
            continue;
        };
        let in_cycle = |f: &Fact| {
            prev.is_none_or(|r| f.effective_at > r.effective_at)
                && this.is_none_or(|r| f.effective_at <= r.effective_at)
        };
        let window = |m: i64| {
            let months = params
                .at(
                    FLEXJOB_WINDOW,
                    YearMonth::from_index(m).last_day().unwrap_or_default(),
                )
                .max(1);
            cycle_paid
                .iter()
                .filter(|p| **p <= m && **p > m - months)
                .count() as i64
        };
        let due = |threshold: &dyn Fn(i64) -> i64| {
            (first..=last + 18).find(|m| window(*m) >= threshold(*m).max(1))
        };
        let rk_month = this.map(|r| YearMonth::of(cal.date(r.effective_at)).index());
        let mut deadline = |rule: &'static str,
                            due_month: Option<i64>,
                            met: &dyn Fn(&Fact, Instant) -> bool,
                            what: &str| {
            let Some(m) = due_month else { return };
            let Some(d) = YearMonth::from_index(m).last_day() else {
                return;
            };
            if params.at(FLEXJOB_IN_FORCE, d) == 0 {
                return;
            }
            if let (Some(r), Some(rm)) = (this, rk_month) {
                if m > rm {
                    // Reassessed before the due month: the cycle ended first, on time. No
                    // deadline, but a case examined, dated by the reassessment (RULES.md,
                    // "Findings, years and error rates").
                    out.push(Deadline {
                        rule,
                        stream: view.shared.clone(),
                        due: cal.date(r.effective_at),
                        opened_by: r,
                        met_by: Some(r),
                        message: String::new(),
                        evidence: vec![r.seq],
                    });
                    return;
                }
            }
            let end = cal.end_of(d);
            let met_by = view.iter().find(|f| in_cycle(f) && met(f, end));
            let counted: Vec<&Fact> = view
                .iter()
                .filter(|f| {
                    in_cycle(f)
                        && matches!(f.data, EventData::LedighedsydelsePaid { month } if month.index() <= m && cycle_paid.contains(&month.index()))
                })
                .collect();
            let Some(opened_by) = counted.last().copied() else {
                return;
            };
            let mut evidence: Vec<u64> = counted.iter().map(|f| f.seq).collect();
            evidence.extend(prev.map(|r| r.seq));
            out.push(Deadline {
                rule,
                stream: view.shared.clone(),
                due: d,
                opened_by,
                met_by,
                message: format!(
                    "Ledighedsydelse had been paid for {} of the last 18 months in {}; {what} was due by {d} and did not happen in time.",
                    window(m),
                    YearMonth::from_index(m)
                ),
                evidence,
            });
        };
        deadline(
            FORWARD_LATE,
            due(&|m| {
                params.at(
                    FLEXJOB_FORWARD_PAID,
                    YearMonth::from_index(m).last_day().unwrap_or_default(),
                )
            }),
            &|f, end| {
                matches!(f.data, EventData::FlexjobReassessmentForwarded) && f.effective_at < end
            },
            "forwarding to the jobcentre for reassessment",
        );
        deadline(
            REASSESSMENT_LATE,
            due(&|m| {
                params.at(
                    FLEXJOB_REASSESS_PAID,
                    YearMonth::from_index(m).last_day().unwrap_or_default(),
                )
            }),
            &|f, end| this.is_some_and(|r| std::ptr::eq(r, f)) && f.effective_at < end,
            "the reassessment of the flexjob (revurdering)",
        );
    }
}
