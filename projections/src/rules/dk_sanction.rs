//! `dk.sanction`: is a sanction for absence from an offer lawful? (RULES.md §1)

use super::catalogue::Reason;
use super::plan::Plans;
use crate::event::{EventData, SanctionKind};
use crate::fact::{Fact, StreamView};
use crate::params::{Params, DECISION_MONTHS};
use crate::text::blank;
use crate::time::Instant;
use std::collections::HashMap;

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
    /// The evidence behind each warning (`warnings()`), on lawful verdicts only: for
    /// `evidence_recorded_after_decision`, the seqs of the evidence recorded after the decision
    /// was; for `evidence_logged_after_decision`, those that reached the ledger after it (a
    /// higher seq).
    pub recorded_after: Vec<u64>,
    pub logged_after: Vec<u64>,
    /// Its first `sanction_revoked` the evaluation knows of: the verdict stands, and a revoked
    /// unlawful sanction is a finding that was mended (RULES.md §1).
    pub revocation: Option<Revocation>,
    pub evidence: Vec<u64>,
    pub checks: Vec<Check>,
}

impl SanctionVerdict {
    pub fn revoked(&self) -> bool {
        self.revocation.is_some()
    }

    /// The warnings on a lawful verdict: evidence recorded, or logged, after the decision.
    pub fn warnings(&self) -> Vec<&'static str> {
        [
            (EVIDENCE_RECORDED_AFTER_DECISION, &self.recorded_after),
            (EVIDENCE_LOGGED_AFTER_DECISION, &self.logged_after),
        ]
        .into_iter()
        .filter(|(_, seqs)| !seqs.is_empty())
        .map(|(w, _)| w)
        .collect()
    }
}

/// A sanction withdrawn (`sanction_revoked`), on the authority's own motion or on appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub seq: u64,
    pub effective_at: Instant,
    /// As the caseworker system gave it (e.g. `appeal`).
    pub reason: String,
}

impl Revocation {
    fn of(f: &Fact) -> Option<Revocation> {
        match &f.data {
            EventData::SanctionRevoked { reason, .. } => Some(Revocation {
                seq: f.seq,
                effective_at: f.effective_at,
                reason: reason.to_string(),
            }),
            _ => None,
        }
    }
}

pub const EVIDENCE_RECORDED_AFTER_DECISION: &str = "evidence_recorded_after_decision";
/// An evidence event reached the ledger (has a higher seq) after the decision did.
pub const EVIDENCE_LOGGED_AFTER_DECISION: &str = "evidence_logged_after_decision";

/// The sanction to judge: a recorded `sanction_decided`, or an intended one.
pub struct Decision<'a> {
    pub sanction_id: &'a str,
    pub offer_id: &'a str,
    pub kind: SanctionKind,
    pub decided_at: Instant,
    pub recorded: Instant,
    pub seq: Option<u64>,
    /// The absence the decision names as the one it rests on (`absence_at`), if it names one.
    pub absence_at: Option<Instant>,
}

impl<'a> Decision<'a> {
    pub fn of(fact: &'a Fact) -> Option<Decision<'a>> {
        match &fact.data {
            EventData::SanctionDecided {
                sanction_id,
                offer_id,
                kind,
                absence_at,
                ..
            } => Some(Decision {
                sanction_id,
                offer_id,
                kind: *kind,
                decided_at: fact.effective_at,
                recorded: fact.recorded,
                seq: Some(fact.seq),
                absence_at: *absence_at,
            }),
            _ => None,
        }
    }
}

/// What the conditions of §1 look up on one stream, gathered in one pass over it: each condition
/// is then a look-up or a binary search, so judging every sanction of a case grows with the case,
/// not with its square.
pub struct CaseFacts<'v, 'a> {
    pub view: &'v StreamView<'a>,
    pub plans: Plans<'a>,
    /// The first `offer_started` of each offer.
    first_start: HashMap<&'a str, &'a Fact>,
    /// Per offer, in stream order.
    absences: HashMap<&'a str, Vec<&'a Fact>>,
    /// Per offer, in stream order.
    hearings: HashMap<&'a str, Vec<&'a Fact>>,
    /// Per offer, its `offer_ended`s in stream order.
    ends: HashMap<&'a str, Vec<&'a Fact>>,
    /// In stream order.
    guidance: Vec<&'a Fact>,
    /// Every `sanction_decided`, in stream order.
    decisions: Vec<&'a Fact>,
    /// The first revocation of each sanction (stream order).
    first_revocation: HashMap<&'a str, &'a Fact>,
}

impl<'v, 'a> CaseFacts<'v, 'a> {
    pub fn of(view: &'v StreamView<'a>) -> Self {
        let mut c = CaseFacts {
            view,
            plans: Plans::of(view),
            first_start: HashMap::new(),
            absences: HashMap::new(),
            hearings: HashMap::new(),
            ends: HashMap::new(),
            guidance: Vec::new(),
            decisions: Vec::new(),
            first_revocation: HashMap::new(),
        };
        for f in view.iter() {
            match &f.data {
                EventData::OfferStarted { offer_id } => {
                    c.first_start.entry(offer_id.as_ref()).or_insert(f);
                }
                EventData::AbsenceRecorded { offer_id, .. } => {
                    c.absences.entry(offer_id.as_ref()).or_default().push(f);
                }
                EventData::HearingSent { offer_id } => {
                    c.hearings.entry(offer_id.as_ref()).or_default().push(f);
                }
                EventData::OfferEnded { offer_id, .. } => {
                    c.ends.entry(offer_id.as_ref()).or_default().push(f);
                }
                EventData::SanctionGuidanceGiven => c.guidance.push(f),
                EventData::SanctionDecided { .. } => c.decisions.push(f),
                EventData::SanctionRevoked { sanction_id, .. } => {
                    c.first_revocation.entry(sanction_id.as_ref()).or_insert(f);
                }
                _ => {}
            }
        }
        c
    }

    /// The facts of `of_offer` (in stream order) with `from <= effective_at <= to`.
    fn between<'s>(of_offer: &'s [&'a Fact], from: Instant, to: Instant) -> &'s [&'a Fact] {
        let lo = of_offer.partition_point(|f| f.effective_at < from);
        let hi = of_offer.partition_point(|f| f.effective_at <= to);
        of_offer.get(lo..hi).unwrap_or(&[])
    }

    fn absences_between(&self, offer: &str, from: Instant, to: Instant) -> &[&'a Fact] {
        Self::between(self.absences.get(offer).map_or(&[], |v| &v[..]), from, to)
    }

    /// `until` of RULES.md §1: the first end of `offer` at or after `start` and before the
    /// decision, or the decision itself — nobody is absent from an offer that has ended.
    fn until(&self, offer: &str, start: Instant, decided_at: Instant) -> Instant {
        let ends = self.ends.get(offer).map_or(&[][..], |v| &v[..]);
        ends.get(ends.partition_point(|f| f.effective_at < start))
            .map(|f| f.effective_at)
            .filter(|end| *end < decided_at)
            .unwrap_or(decided_at)
    }

    /// The absences a decision can rest on: from `start` until the offer ended or the decision,
    /// and only those at the instant it names, if it names one.
    fn absences_for(&self, s: &Decision<'_>, start: Instant) -> Vec<&'a Fact> {
        let until = self.until(s.offer_id, start, s.decided_at);
        self.absences_between(s.offer_id, start, until)
            .iter()
            .copied()
            .filter(|f| s.absence_at.is_none_or(|at| f.effective_at == at))
            .collect()
    }

    /// The latest hearing on `offer` at or after `from` and before `before`.
    fn hearing_between(&self, offer: &str, from: Instant, before: Instant) -> Option<&'a Fact> {
        let of_offer = self.hearings.get(offer)?;
        let n = of_offer.partition_point(|f| f.effective_at < before);
        n.checked_sub(1)
            .map(|k| of_offer[k])
            .filter(|f| from <= f.effective_at)
    }

    /// The latest written guidance before `before`.
    fn guidance_before(&self, before: Instant) -> Option<&'a Fact> {
        let n = self.guidance.partition_point(|f| f.effective_at < before);
        n.checked_sub(1).map(|k| self.guidance[k])
    }

    fn revoked_before(&self, sanction_id: &str, before: Instant) -> bool {
        self.first_revocation
            .get(sanction_id)
            .is_some_and(|r| r.effective_at < before)
    }
}

/// Judges one sanction on its stream.
pub fn judge(
    case: &CaseFacts<'_, '_>,
    s: &Decision<'_>,
    params: &Params,
    explain: bool,
) -> SanctionVerdict {
    // The conditions in words are made only when an explanation is asked for.
    let say = |text: &dyn Fn() -> String| if explain { text() } else { String::new() };
    let (view, plans) = (case.view, &case.plans);
    let cal = &params.calendar;
    let o = s.offer_id;
    let mut checks: Vec<Check> = Vec::new();
    let mut evidence: Vec<&Fact> = Vec::new();
    let first_start = case.first_start.get(o).copied();
    let revoked = case
        .first_revocation
        .get(s.sanction_id)
        .and_then(|f| Revocation::of(f));
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
            if let Some(p) = plans.published_before(o, f.effective_at) {
                evidence.push(p.fact);
                evidence.extend(p.version.map(|v| v.fact));
            }
            evidence.push(f);
        }
        if s.kind == SanctionKind::TightenedAvailability {
            evidence.extend(prior_sanction(case, s));
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
    let written_before = plans.written_before(o, start).len();
    let published_before = plans.published_before(o, start);
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
        evidence: {
            let mut seqs: Vec<u64> = plans
                .written_before(o, start)
                .iter()
                .map(|v| v.fact.seq)
                .collect();
            seqs.sort_unstable();
            seqs
        },
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
    let absences: Vec<(&Fact, bool)> = case
        .absences_for(s, start)
        .into_iter()
        .map(|f| (f, excused(f)))
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
        let at_absence = plans.in_effect_at(a.effective_at);
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
        let guidance = case.guidance_before(a.effective_at);
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
        let hearing = case.hearing_between(o, a.effective_at, s.decided_at);
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
        let prior = prior_sanction(case, s);
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

/// An absence with an excuse that says something.
fn excused(absence: &Fact) -> bool {
    matches!(&absence.data, EventData::AbsenceRecorded { excuse: Some(e), .. } if !blank(e))
}

/// The latest sanction on the stream decided before `s` that had not been revoked before it.
fn prior_sanction<'a>(case: &CaseFacts<'_, 'a>, s: &Decision<'_>) -> Option<&'a Fact> {
    let before = case
        .decisions
        .partition_point(|f| f.effective_at < s.decided_at);
    case.decisions[..before]
        .iter()
        .rev()
        .copied()
        .find(|f| match &f.data {
            EventData::SanctionDecided { sanction_id, .. } => {
                sanction_id.as_ref() != s.sanction_id
                    && !case.revoked_before(sanction_id, s.decided_at)
            }
            _ => false,
        })
}

fn finish(
    s: &Decision<'_>,
    view: &StreamView<'_>,
    evidence: Vec<&Fact>,
    checks: Vec<Check>,
    revocation: Option<Revocation>,
) -> SanctionVerdict {
    let mut reasons: Vec<Reason> = checks.iter().filter(|c| !c.met).map(|c| c.reason).collect();
    reasons.sort();
    reasons.dedup();
    let lawful = reasons.is_empty();
    // The seqs of the evidence that `is`, in order, once each.
    let seqs_of = |is: &dyn Fn(&Fact) -> bool| -> Vec<u64> {
        let mut seqs: Vec<u64> = evidence.iter().filter(|f| is(f)).map(|f| f.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    };
    // Warnings are for lawful verdicts only.
    let recorded_after = seqs_of(&|f| lawful && f.recorded > s.recorded);
    let logged_after = seqs_of(&|f| lawful && s.seq.is_some_and(|d| f.seq > d));
    SanctionVerdict {
        sanction_id: s.sanction_id.to_owned(),
        stream: view.id.to_owned(),
        offer_id: s.offer_id.to_owned(),
        kind: s.kind,
        seq: s.seq,
        decided_at: s.decided_at,
        lawful,
        reasons,
        recorded_after,
        logged_after,
        revocation,
        evidence: seqs_of(&|_| true),
        checks,
    }
}
