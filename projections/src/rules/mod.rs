//! The rule packs `dk` and `se`, and the evaluation that runs them over a projection.
//! Everything here is a pure function of facts, parameters and the time of evaluation.

pub mod catalogue;
pub mod dk_flexjob;
pub mod dk_minplan;
pub mod dk_rehab;
pub mod dk_sanction;
pub mod monthly;
pub mod plan;
pub mod se_actionplan;

use crate::event::EventData;
use crate::fact::{municipality_of, Fact, Projection, StreamView};
use crate::params::Params;
use crate::time::{self, Calendar, Instant};
pub use catalogue::{Reason, RuleInfo, RULES};
use chrono::{Datelike, NaiveDate};
pub use dk_sanction::{Check, Decision, Revocation, SanctionVerdict};
pub use monthly::MonthStats;
use plan::Plans;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A finding: one thing an auditor would remark on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub stream: Arc<str>,
    /// For a rule about one event, its `effective_at`; for a deadline, the end of the deadline day.
    pub at: Instant,
    /// The local date the finding is dated.
    pub date: NaiveDate,
    pub evidence: Vec<u64>,
    pub legal_basis: &'static str,
    pub message: String,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        stream: &Arc<str>,
        at: Instant,
        cal: &Calendar,
        message: String,
        mut evidence: Vec<u64>,
    ) -> Box<Finding> {
        evidence.sort_unstable();
        evidence.dedup();
        Box::new(Finding {
            rule,
            stream: stream.clone(),
            at,
            date: cal.date(at),
            evidence,
            legal_basis: catalogue::rule(rule).map_or("", |r| r.legal_basis),
            message,
        })
    }
}

/// One case a rule examined, and its finding if it has one. Error rates are findings / cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub rule: &'static str,
    pub stream: Arc<str>,
    /// The date that places the case in a year (the event's, or the deadline's).
    pub date: NaiveDate,
    /// Boxed: most cases have none, and a year has millions of cases.
    pub finding: Option<Box<Finding>>,
}

/// A deadline of a rule on one stream, passed or not: what opened it, when it falls due, and the
/// event that met it in time, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline<'a> {
    pub rule: &'static str,
    pub stream: Arc<str>,
    /// The deadline day D: met by an event before E(D).
    pub due: NaiveDate,
    /// The event that set the deadline running (the meeting; the paid month that made it due).
    pub opened_by: &'a Fact,
    pub met_by: Option<&'a Fact>,
    /// The finding's sentence, should it be missed.
    pub message: String,
    pub evidence: Vec<u64>,
}

/// Every deadline of the rules on one stream (rehabilitation and flexjob), passed or not.
fn deadlines_of<'a>(view: &StreamView<'a>, params: &Params) -> Vec<Deadline<'a>> {
    let mut out = Vec::new();
    dk_rehab::deadlines(view, params, &mut out);
    dk_flexjob::deadlines(view, params, &mut out);
    out
}

impl Deadline<'_> {
    /// Open at `at`: known then, not met by then, and not yet passed.
    pub fn is_open_at(&self, cal: &Calendar, at: Instant) -> bool {
        self.opened_by.effective_at <= at
            && self.met_by.is_none_or(|f| f.effective_at > at)
            && cal.end_of(self.due) > at
    }

    /// The case of a deadline that has passed at `eval_at`.
    fn case(&self, cal: &Calendar, eval_at: Instant) -> Option<Case> {
        (cal.end_of(self.due) <= eval_at).then(|| Case {
            rule: self.rule,
            stream: self.stream.to_owned(),
            date: self.due,
            finding: self.met_by.is_none().then(|| {
                Finding::new(
                    self.rule,
                    &self.stream,
                    time::last_instant_of(cal, self.due),
                    cal,
                    self.message.clone(),
                    self.evidence.clone(),
                )
            }),
        })
    }
}

/// A deadline still open at a time: not met and not yet passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDeadline {
    pub rule: &'static str,
    pub stream: String,
    pub due: NaiveDate,
    pub opened_at: Instant,
    pub evidence: Vec<u64>,
}

/// Cases examined and findings of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSummary {
    pub rule: &'static RuleInfo,
    pub examined: u64,
    pub findings: u64,
}

impl RuleSummary {
    /// Fejlprocent: findings per case examined, in percent (None without cases).
    pub fn error_rate(&self) -> Option<f64> {
        (self.examined > 0).then(|| 100.0 * self.findings as f64 / self.examined as f64)
    }
}

/// How to evaluate: with which parameters, what was known (as-of) and when (now).
#[derive(Debug, Clone, Copy)]
pub struct Evaluation<'p> {
    pub params: &'p Params,
    /// Judge with only the events recorded at or before this time.
    pub as_of: Option<Instant>,
    /// The time of evaluation: deadlines after it have not passed.
    pub now: Instant,
}

/// Which part of the log to evaluate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub year: Option<i32>,
    pub stream: Option<&'a str>,
}

impl<'p> Evaluation<'p> {
    fn limit(&self) -> Instant {
        self.as_of.map_or(self.now, |t| t.min(self.now))
    }

    /// Whether the time of evaluation has reached `f` (RULES.md, one time of evaluation: an event
    /// after it is not judged or counted).
    fn reached(&self, f: &Fact) -> bool {
        f.effective_at <= self.limit()
    }

    /// The time deadlines are judged at: E(31 December) of the year, or earlier if now (or the
    /// as-of time) is earlier.
    pub fn eval_at(&self, year: Option<i32>) -> Instant {
        match year {
            Some(y) => self.params.calendar.end_of_year(y).min(self.limit()),
            None => self.limit(),
        }
    }

    fn views<'a>(&self, proj: &'a Projection, stream: Option<&str>) -> Vec<StreamView<'a>> {
        match stream {
            // One stream is looked up, not searched for: the API asks about one case at a time.
            Some(s) => proj
                .stream_entry(s)
                .map(|(id, facts)| StreamView::new(id, facts, self.as_of))
                .into_iter()
                .collect(),
            None => proj
                .streams()
                .map(|(id, facts)| StreamView::new(id, facts, self.as_of))
                .collect(),
        }
    }

    /// Verdicts on the sanctions decided in the scope's year (all, without a year), by the time of
    /// evaluation: one decided after `now` (or the as-of time, if earlier) is not judged yet
    /// (RULES.md §0, one time of evaluation).
    pub fn sanctions(&self, proj: &Projection, scope: Scope<'_>) -> Vec<SanctionVerdict> {
        let cal = &self.params.calendar;
        let mut out = Vec::new();
        for view in self.views(proj, scope.stream) {
            let case = dk_sanction::CaseFacts::of(&view);
            for f in view.iter() {
                let Some(decision) = Decision::of(f) else {
                    continue;
                };
                if scope.year.is_some_and(|y| cal.year(f.effective_at) != y) || !self.reached(f) {
                    continue;
                }
                // A list of verdicts carries reasons and evidence; the conditions in words are for
                // `sanction` (explain): for a year of sanctions they would cost much memory.
                let mut verdict = dk_sanction::judge(&case, &decision, self.params, false);
                verdict.checks = Vec::new();
                out.push(verdict);
            }
        }
        out.sort_by_key(|s| (s.decided_at, s.seq));
        out
    }

    /// The verdict on one sanction by id (None if it is unknown, or decided after the time of
    /// evaluation).
    pub fn sanction(&self, proj: &Projection, sanction_id: &str) -> Option<SanctionVerdict> {
        self.sanction_in(proj, None, sanction_id)
    }

    /// The verdict on one sanction by id, looked for on one stream only when the stream is known
    /// (the API keeps an index of sanction ids).
    pub fn sanction_in(
        &self,
        proj: &Projection,
        stream: Option<&str>,
        sanction_id: &str,
    ) -> Option<SanctionVerdict> {
        for view in self.views(proj, stream) {
            if let Some(f) = view.iter().find(|f| matches!(&f.data, EventData::SanctionDecided { sanction_id: id, .. } if id.as_ref() == sanction_id) && self.reached(f)) {
                let case = dk_sanction::CaseFacts::of(&view);
                return Decision::of(f).map(|d| dk_sanction::judge(&case, &d, self.params, true));
            }
        }
        None
    }

    /// Would an intended sanction be lawful? Judged on the stream as it stands; nothing is recorded.
    pub fn check(
        &self,
        proj: &Projection,
        stream: &str,
        intended: &Decision<'_>,
    ) -> SanctionVerdict {
        let empty = crate::fact::StreamFacts::default();
        let facts = proj.stream(stream).unwrap_or(&empty);
        let id: Arc<str> = Arc::from(stream);
        let view = StreamView::new(&id, facts, self.as_of);
        dk_sanction::judge(
            &dk_sanction::CaseFacts::of(&view),
            intended,
            self.params,
            true,
        )
    }

    /// Every case of the rules other than `dk.sanction`, in the scope, judged at `eval_at(year)`.
    /// Hands every case in the scope to `visit`, a stream at a time, without keeping them: a year of
    /// a large municipality has millions of cases.
    pub fn visit_cases(&self, proj: &Projection, scope: Scope<'_>, visit: &mut dyn FnMut(Case)) {
        let eval_at = self.eval_at(scope.year);
        let cal = &self.params.calendar;
        let keep = |c: &Case| {
            scope.year.is_none_or(|y| c.date.year() == y)
                && c.finding.as_ref().is_none_or(|f| f.at <= eval_at)
                && cal.start_of(c.date) <= eval_at
        };
        let mut out = Vec::new();
        let mut participant_years: BTreeSet<i32> = BTreeSet::new();
        for view in &self.views(proj, scope.stream) {
            let plans = Plans::of(view);
            dk_minplan::cases(view, &plans, self.params, &mut out);
            out.extend(
                deadlines_of(view, self.params)
                    .iter()
                    .filter_map(|d| d.case(cal, eval_at)),
            );
            dk_rehab::followup_cases(view, self.params, &mut out);
            match scope.year {
                Some(y) => se_actionplan::cases(view, self.params, y, eval_at, &mut out),
                None => {
                    if let Some(first) = view
                        .iter()
                        .find(|f| matches!(f.data, EventData::ParticipantEnrolled { .. }))
                    {
                        for y in cal.year(first.effective_at)..=cal.year(eval_at) {
                            se_actionplan::cases(view, self.params, y, eval_at, &mut out);
                        }
                    }
                }
            }
            for c in out.drain(..) {
                if keep(&c) {
                    visit(c);
                }
            }
            for f in view.iter() {
                if matches!(f.data, EventData::FollowupHeld { .. }) {
                    participant_years.insert(cal.year(f.effective_at));
                }
            }
        }
        // Standard wording compares follow-ups across the municipality's streams, a year at a time.
        // For one stream, only the years it has follow-ups in, and only its municipality's streams,
        // matter: a query about one case does not walk every case.
        let years: Vec<i32> = match (scope.year, scope.stream) {
            (Some(y), Some(_)) => participant_years
                .into_iter()
                .filter(|py| *py == y)
                .collect(),
            (Some(y), None) => vec![y],
            (None, _) => participant_years.into_iter().collect(),
        };
        if years.is_empty() {
            return;
        }
        // One case: counted from the projection's index of wordings if it keeps one, else from
        // its municipality's streams.
        let scoped = match scope.stream {
            Some(s) if proj.has_wording_index() => self.views(proj, Some(s)),
            _ => Vec::new(),
        };
        let all_views = match (scope.stream, scoped.is_empty()) {
            (Some(s), true) => proj
                .streams()
                .filter(|(id, _)| municipality_of(id) == municipality_of(s))
                .map(|(id, facts)| StreamView::new(id, facts, self.as_of))
                .collect(),
            (None, _) => self.views(proj, None),
            (Some(_), false) => Vec::new(),
        };
        for y in years {
            let (from, to) = (cal.start_of_year(y), cal.end_of_year(y));
            match scoped.first() {
                Some(view) => dk_rehab::standard_wording_of(
                    view,
                    proj,
                    self.as_of,
                    self.params,
                    from,
                    to,
                    &mut out,
                ),
                None => {
                    let mut wording = Vec::new();
                    dk_rehab::standard_wording(&all_views, self.params, from, to, &mut wording);
                    out.extend(
                        wording
                            .into_iter()
                            .filter(|c| scope.stream.is_none_or(|s| *s == *c.stream)),
                    );
                }
            }
        }
        for c in out.drain(..) {
            if keep(&c) {
                visit(c);
            }
        }
    }

    /// The first instant after the time of evaluation at which the judgement of `stream` (its
    /// sanction verdicts, cases and findings) can differ from the judgement at that time, as long
    /// as no event is added (`Projection::judgement_version` unchanged): the judgement is the same
    /// for every `now` in `[now, judged_until)`. `Instant::MAX` when it no longer depends on
    /// `now` (an as-of time before it).
    ///
    /// Why this is enough: every comparison of the rules with the time of evaluation is against the
    /// start of a day (a case's date has begun, a deadline day or a year has ended) or the instant
    /// of one of the stream's own events (where findings about events are placed, and the
    /// decisions of sanctions, judged once the time of evaluation has reached them). A new rule
    /// that compares with another kind of instant must add it here; `replay/tests/one_case.rs` checks the bound on every case of a demo.
    pub fn judged_until(&self, proj: &Projection, stream: &str) -> Instant {
        if self.as_of.is_some_and(|t| t <= self.now) {
            return Instant::MAX;
        }
        let at = self.now;
        let cal = &self.params.calendar;
        let today = cal.date(at);
        let day = [cal.start_of(today), cal.end_of(today)]
            .into_iter()
            .filter(|t| *t > at)
            .min()
            .unwrap_or(Instant::MAX);
        let event = proj.stream(stream).and_then(|facts| {
            // Stream order is effective_at order: the first one after `at`.
            let i = facts.facts.partition_point(|f| f.effective_at <= at);
            facts.facts.get(i).map(|f| f.effective_at)
        });
        event.map_or(day, |e| e.min(day))
    }

    /// Every case in the scope, sorted by stream, date and rule.
    pub fn cases(&self, proj: &Projection, scope: Scope<'_>) -> Vec<Case> {
        let mut out = Vec::new();
        self.visit_cases(proj, scope, &mut |c| out.push(c));
        out.sort_by(|a, b| (&a.stream, a.date, a.rule).cmp(&(&b.stream, b.date, b.rule)));
        out
    }

    /// Deadlines open at `at` (known then, not met then, not yet passed), soonest first.
    pub fn open_deadlines(
        &self,
        proj: &Projection,
        at: Instant,
        stream: Option<&str>,
    ) -> Vec<OpenDeadline> {
        let cal = &self.params.calendar;
        let mut out = Vec::new();
        for view in self.views(proj, stream) {
            for d in deadlines_of(&view, self.params) {
                if d.is_open_at(cal, at) {
                    out.push(OpenDeadline {
                        rule: d.rule,
                        stream: d.stream.to_string(),
                        due: d.due,
                        opened_at: d.opened_by.effective_at,
                        evidence: d.evidence,
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.due, &a.stream, a.rule).cmp(&(b.due, &b.stream, b.rule)));
        out
    }

    /// Every deadline of the rules that falls due in `year` (for timeliness counts), with whether it
    /// was met in time; judged at `eval_at(year)`.
    pub fn deadlines_due<'a>(&self, proj: &'a Projection, year: i32) -> Vec<(Deadline<'a>, bool)> {
        let eval_at = self.eval_at(Some(year));
        let mut out = Vec::new();
        for view in self.views(proj, None) {
            for d in deadlines_of(&view, self.params) {
                if d.due.year() == year && d.opened_by.effective_at <= eval_at {
                    let in_time = d.met_by.is_some_and(|f| f.effective_at <= eval_at);
                    out.push((d, in_time));
                }
            }
        }
        out
    }

    /// Findings in the scope, sorted by stream, date and rule.
    pub fn findings(&self, proj: &Projection, scope: Scope<'_>) -> Vec<Finding> {
        self.cases(proj, scope)
            .into_iter()
            .filter_map(|c| c.finding.map(|f| *f))
            .collect()
    }

    /// The cases of a scope gathered: counts per rule, the findings (sorted by stream, date and
    /// rule) and the first offer starts per month.
    pub fn tally(&self, proj: &Projection, scope: Scope<'_>) -> Tally {
        let mut tally = Tally::default();
        self.visit_cases(proj, scope, &mut |c| {
            let entry = tally.counts.entry(c.rule).or_default();
            entry.0 += 1;
            entry.1 += u64::from(c.finding.is_some());
            if scope.year.is_some_and(|y| c.date.year() == y) {
                let m = c.date.month0() as usize;
                if c.rule == dk_minplan::OFFER_NOT_IN_PLAN {
                    tally.offer_starts[m].0 += 1;
                }
                if (c.rule == dk_minplan::OFFER_NOT_IN_PLAN
                    || c.rule == dk_minplan::PLAN_NOT_PUBLISHED)
                    && c.finding.is_some()
                {
                    tally.offer_starts[m].1 += 1;
                }
            }
            if let Some(f) = c.finding {
                tally.findings.push(*f);
            }
        });
        tally
            .findings
            .sort_by(|a, b| (&a.stream, a.date, a.rule).cmp(&(&b.stream, b.date, b.rule)));
        tally
    }

    /// Cases examined and findings per rule (`dk.sanction` first: unlawful / all).
    pub fn summary(&self, sanctions: &[SanctionVerdict], tally: &Tally) -> Vec<RuleSummary> {
        RULES
            .iter()
            .map(|rule| {
                let (examined, findings) = if rule.code == catalogue::SANCTION {
                    (
                        sanctions.len() as u64,
                        sanctions.iter().filter(|s| !s.lawful).count() as u64,
                    )
                } else {
                    tally.counts.get(rule.code).copied().unwrap_or_default()
                };
                RuleSummary {
                    rule,
                    examined,
                    findings,
                }
            })
            .collect()
    }
}

/// The cases of a scope, gathered without keeping them (see [`Evaluation::tally`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// Per rule code: cases examined, findings.
    pub counts: std::collections::BTreeMap<&'static str, (u64, u64)>,
    pub findings: Vec<Finding>,
    /// Per month of the scope's year: first offer starts, and those without a timely Min Plan.
    pub offer_starts: [(u64, u64); 12],
}
