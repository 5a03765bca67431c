//! `dk.sanction`: is a sanction for absence from an offer lawful? (RULES.md §1)

use super::catalogue::Reason;
use super::plan::Plans;
use crate::event::{EventData, SanctionKind};
use crate::fact::{Fact, StreamView};
use crate::params::{Params, DECISION_MONTHS};
use crate::text::blank;
use crate::time::Instant;

/// One condition checked, for `garanti explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The reason code the check guards against.
    pub reason: Reason,
    /// True when the condition is met (the reason does not apply).
    pub met: bool,
    /// What was found, in words.
    pub detail: String,
    /// The events it rests on.
    pub evidence: Vec<u64>,
}

/// The verdict on one sanction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanctionVerdict {
    pub sanction_id: String,
    pub stream: String,
    pub offer_id: String,
    pub kind: SanctionKind,
    /// The decision's seq (None for an intended sanction).
    pub seq: Option<u64>,
    pub decided_at: Instant,
    pub lawful: bool,
    pub reasons: Vec<Reason>,
    pub warnings: Vec<&'static str>,
    pub revoked: bool,
    pub evidence: Vec<u64>,
    pub checks: Vec<Check>,
}

pub const EVIDENCE_RECORDED_AFTER_DECISION: &str = "evidence_recorded_after_decision";

/// The sanction to judge: a recorded `sanction_decided`, or an intended one.
pub struct Decision<'a> {
    pub sanction_id: &'a str,
    pub offer_id: &'a str,
    pub kind: SanctionKind,
    pub decided_at: Instant,
    pub recorded: Instant,
    pub seq: Option<u64>,
}

impl<'a> Decision<'a> {
    pub fn of(fact: &'a Fact) -> Option<Decision<'a>> {
        match &fact.data {
            EventData::SanctionDecided {
                sanction_id,
                offer_id,
                kind,
                ..
            } => Some(Decision {
                sanction_id,
                offer_id,
                kind: *kind,
                decided_at: fact.effective_at,
                recorded: fact.recorded,
                seq: Some(fact.seq),
            }),
            _ => None,
        }
    }
}

fn latest<'a>(facts: impl Iterator<Item = &'a Fact>) -> Option<&'a Fact> {
    facts.last()
}

/// Judges one sanction on its stream.
pub fn judge(
    view: &StreamView<'_>,
    plans: &Plans<'_>,
    s: &Decision<'_>,
    params: &Params,
    explain: bool,
) -> SanctionVerdict {
    // The conditions in words are made only when an explanation is asked for.
    let say = |text: &dyn Fn() -> String| if explain { text() } else { String::new() };
    let cal = &params.calendar;
    let o = s.offer_id;
    let mut checks: Vec<Check> = Vec::new();
    let mut evidence: Vec<&Fact> = Vec::new();
    let first_start = view.iter().find(
        |f| matches!(&f.data, EventData::OfferStarted { offer_id } if offer_id.as_ref() == o),
    );
    let revoked = view.iter().any(|f| matches!(&f.data, EventData::SanctionRevoked { sanction_id, .. } if sanction_id.as_ref() == s.sanction_id));
    let started = first_start.filter(|f| f.effective_at <= s.decided_at);
    let Some(start_fact) = started else {
        checks.push(Check {
            reason: Reason::OfferNotStarted,
            met: false,
            detail: say(&|| match first_start {
                Some(f) => format!(
                    "offer {o} first began at {}, after the decision",
                    cal.rfc3339(f.effective_at)
                ),
                None => format!("offer {o} has no offer_started on the case"),
            }),
            evidence: first_start.map(|f| vec![f.seq]).unwrap_or_default(),
        });
        // Evidence lists what exists of RULES.md's list, whatever the reason: with a start after
        // the decision, the publication before that start, its version and the start itself.
        let mut evidence: Vec<&Fact> = Vec::new();
        if let Some(f) = first_start {
            if let Some(p) = plans
                .publications()
                .filter(|p| p.take_effect < f.effective_at && p.version.is_some_and(|v| v.lists(o)))
                .last()
            {
                evidence.push(p.fact);
                evidence.extend(p.version.map(|v| v.fact));
            }
            evidence.push(f);
        }
        if s.kind == SanctionKind::TightenedAvailability {
            evidence.extend(prior_sanction(view, s));
        }
        return finish(s, view, evidence, checks, revoked);
    };
    let start = start_fact.effective_at;
    checks.push(Check {
        reason: Reason::OfferNotStarted,
        met: true,
        detail: say(&|| format!("offer {o} began at {}", cal.rfc3339(start))),
        evidence: vec![start_fact.seq],
    });
    evidence.push(start_fact);

    // Min Plan before the start.
    let written_before = plans
        .versions_listing(o)
        .filter(|v| v.fact.effective_at < start)
        .count();
    let published_before = plans
        .publications()
        .filter(|p| p.take_effect < start && p.version.is_some_and(|v| v.lists(o)))
        .last();
    checks.push(Check {
        reason: Reason::OfferNotInPlanBeforeStart,
        met: written_before > 0,
        detail: say(&|| {
            if written_before > 0 {
                format!(
                "{written_before} version(s) of Min Plan listing {o} were written before the start"
            )
            } else {
                format!("no version of Min Plan listing {o} was written before the start")
            }
        }),
        evidence: plans
            .versions_listing(o)
            .filter(|v| v.fact.effective_at < start)
            .map(|v| v.fact.seq)
            .collect(),
    });
    if let Some(p) = published_before {
        evidence.push(p.fact);
        if let Some(v) = p.version {
            evidence.push(v.fact);
        }
    }
    if written_before > 0 {
        checks.push(Check {
            reason: Reason::PlanNotPublishedBeforeStart,
            met: published_before.is_some(),
            detail: say(&|| match published_before {
                Some(p) => format!(
                    "version {} listing {o} was published ({}) with effect at {}, before the start",
                    p.plan_version,
                    p.channel,
                    cal.rfc3339(p.take_effect)
                ),
                None => {
                    format!("no publication of a version listing {o} took effect before the start")
                }
            }),
            evidence: published_before
                .map(|p| vec![p.fact.seq])
                .unwrap_or_default(),
        });
    }

    // The absence the sanction rests on.
    let absences: Vec<(&Fact, bool)> = view
        .iter()
        .filter_map(|f| match &f.data {
            EventData::AbsenceRecorded { offer_id, excuse }
                if offer_id.as_ref() == o
                    && start <= f.effective_at
                    && f.effective_at <= s.decided_at =>
            {
                Some((f, excuse.as_deref().is_some_and(|e| !blank(e))))
            }
            _ => None,
        })
        .collect();
    let a = absences
        .iter()
        .rev()
        .find(|(_, excused)| !excused)
        .map(|(f, _)| *f);
    if absences.is_empty() {
        checks.push(Check {
            reason: Reason::NoAbsenceBeforeDecision,
            met: false,
            detail: say(&|| format!("no absence from {o} between its start and the decision")),
            evidence: vec![],
        });
    } else if a.is_none() {
        checks.push(Check {
            reason: Reason::AbsenceExcused,
            met: false,
            detail: say(&|| format!("all {} absence(s) from {o} carry an excuse", absences.len())),
            evidence: absences.iter().map(|(f, _)| f.seq).collect(),
        });
    }
    if let Some(a) = a {
        evidence.push(a);
        checks.push(Check {
            reason: Reason::NoAbsenceBeforeDecision,
            met: true,
            detail: say(&|| {
                format!(
                    "the sanction rests on the unexcused absence at {}",
                    cal.rfc3339(a.effective_at)
                )
            }),
            evidence: vec![a.seq],
        });
        let at_absence = plans
            .publications()
            .filter(|p| p.take_effect <= a.effective_at)
            .last();
        let listed = at_absence
            .and_then(|p| p.version)
            .is_some_and(|v| v.lists(o));
        checks.push(Check {
            reason: Reason::OfferNotInPublishedPlanAtAbsence,
            met: listed,
            detail: say(&|| match at_absence {
                Some(p) if listed => format!(
                    "the Min Plan published at the absence (version {}) lists {o}",
                    p.plan_version
                ),
                Some(p) => format!(
                    "the Min Plan published at the absence (version {}) does not list {o}",
                    p.plan_version
                ),
                None => "no Min Plan had been published at the absence".to_string(),
            }),
            evidence: at_absence.map(|p| vec![p.fact.seq]).unwrap_or_default(),
        });
        let guidance = latest(view.iter().filter(|f| {
            matches!(f.data, EventData::SanctionGuidanceGiven) && f.effective_at < a.effective_at
        }));
        checks.push(Check {
            reason: Reason::NoGuidanceBeforeAbsence,
            met: guidance.is_some(),
            detail: say(&|| match guidance {
                Some(g) => format!(
                    "written guidance was given at {}",
                    cal.rfc3339(g.effective_at)
                ),
                None => "no written guidance on rights and duties before the absence".to_string(),
            }),
            evidence: guidance.map(|g| vec![g.seq]).unwrap_or_default(),
        });
        evidence.extend(guidance);
        let hearing = latest(view.iter().filter(|f| {
            matches!(&f.data, EventData::HearingSent { offer_id } if offer_id.as_ref() == o)
                && a.effective_at <= f.effective_at
                && f.effective_at < s.decided_at
        }));
        checks.push(Check {
            reason: Reason::NoHearingBeforeDecision,
            met: hearing.is_some(),
            detail: say(&|| match hearing {
                Some(h) => format!("the citizen was heard at {}", cal.rfc3339(h.effective_at)),
                None => format!("no hearing on {o} between the absence and the decision"),
            }),
            evidence: hearing.map(|h| vec![h.seq]).unwrap_or_default(),
        });
        evidence.extend(hearing);
        let months = params.at(DECISION_MONTHS, cal.date(s.decided_at)).max(0) as u32;
        let absence_month = crate::event::YearMonth::of(cal.date(a.effective_at));
        let deadline_start =
            crate::event::YearMonth::from_index(absence_month.index() + i64::from(months) + 1)
                .first_day()
                .map_or(i64::MAX, |d| cal.start_of(d));
        checks.push(Check {
            reason: Reason::DecisionTooLate,
            met: s.decided_at < deadline_start,
            detail: say(&|| {
                format!(
                    "the absence's month is {absence_month}; a decision had to come before {}",
                    cal.rfc3339(deadline_start)
                )
            }),
            evidence: vec![a.seq],
        });
    }
    if s.kind == SanctionKind::TightenedAvailability {
        let prior = prior_sanction(view, s);
        checks.push(Check {
            reason: Reason::NoPriorSanction,
            met: prior.is_some(),
            detail: say(&|| match prior {
                Some(p) => format!(
                    "an earlier sanction stands (decided {})",
                    cal.rfc3339(p.effective_at)
                ),
                None => "no earlier sanction on the case that had not been revoked".to_string(),
            }),
            evidence: prior.map(|p| vec![p.seq]).unwrap_or_default(),
        });
        evidence.extend(prior);
    }
    finish(s, view, evidence, checks, revoked)
}

/// The latest sanction on the stream decided before `s` that had not been revoked before it.
fn prior_sanction<'a>(view: &StreamView<'a>, s: &Decision<'_>) -> Option<&'a Fact> {
    latest(view.iter().filter(|f| match &f.data {
        EventData::SanctionDecided { sanction_id, .. } => {
            f.effective_at < s.decided_at
                && sanction_id.as_ref() != s.sanction_id
                && !view.iter().any(|r| {
                    matches!(&r.data, EventData::SanctionRevoked { sanction_id: rid, .. }
                        if rid == sanction_id && r.effective_at < s.decided_at)
                })
        }
        _ => false,
    }))
}

fn finish(
    s: &Decision<'_>,
    view: &StreamView<'_>,
    evidence: Vec<&Fact>,
    checks: Vec<Check>,
    revoked: bool,
) -> SanctionVerdict {
    let mut reasons: Vec<Reason> = checks.iter().filter(|c| !c.met).map(|c| c.reason).collect();
    reasons.sort();
    reasons.dedup();
    let lawful = reasons.is_empty();
    let mut warnings = Vec::new();
    if lawful && evidence.iter().any(|f| f.recorded > s.recorded) {
        warnings.push(EVIDENCE_RECORDED_AFTER_DECISION);
    }
    let mut seqs: Vec<u64> = evidence.iter().map(|f| f.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    SanctionVerdict {
        sanction_id: s.sanction_id.to_owned(),
        stream: view.id.to_owned(),
        offer_id: s.offer_id.to_owned(),
        kind: s.kind,
        seq: s.seq,
        decided_at: s.decided_at,
        lawful,
        reasons,
        warnings,
        revoked,
        evidence: seqs,
        checks,
    }
}
