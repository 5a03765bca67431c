//! `se.actionplan`: active participants aged 16-65 without an action plan (RULES.md §5).

use super::{Case, Finding};
use crate::event::EventData;
use crate::fact::StreamView;
use crate::params::{Params, SE_MAX_AGE, SE_MIN_AGE};
use crate::time::{last_instant_of, Instant};
use chrono::NaiveDate;

pub const MISSING: &str = "se.actionplan.missing";

/// A participant's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParticipantState {
    /// Active and aged within the counted range in the year.
    pub counted: bool,
    pub has_plan: bool,
    /// A joint plan (gemensam planering): the latest action plan before the moment is shared.
    pub has_shared_plan: bool,
}

/// The participant at time `t`, with ages judged for `year`. None if the stream is no participant.
pub fn state_at(
    view: &StreamView<'_>,
    params: &Params,
    t: Instant,
    year: i32,
) -> Option<ParticipantState> {
    let mut enrolled: Option<Option<i32>> = None;
    let mut has_plan = false;
    let mut has_shared_plan = false;
    for f in view.iter().filter(|f| f.effective_at < t) {
        match &f.data {
            EventData::ParticipantEnrolled { birth_year, .. } => enrolled = Some(Some(*birth_year)),
            EventData::ParticipantLeft => enrolled = Some(None),
            EventData::ActionPlanUpdated { shared } => {
                has_plan = true;
                // The latest plan decides: a plan no longer shared is no joint plan.
                has_shared_plan = *shared;
            }
            _ => {}
        }
    }
    let birth_year = enrolled?;
    let day = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
    let counted = birth_year.is_some_and(|b| {
        let age = i64::from(year - b);
        params.at(SE_MIN_AGE, day) <= age && age <= params.at(SE_MAX_AGE, day)
    });
    Some(ParticipantState {
        counted,
        has_plan,
        has_shared_plan,
    })
}

/// The year-end case of one stream for `year`, if the year has ended at `eval_at`.
pub fn cases(
    view: &StreamView<'_>,
    params: &Params,
    year: i32,
    eval_at: Instant,
    out: &mut Vec<Case>,
) {
    let cal = &params.calendar;
    let t = cal.end_of_year(year);
    if t > eval_at {
        return;
    }
    let Some(state) = state_at(view, params, t, year) else {
        return;
    };
    if !state.counted {
        return;
    }
    let day = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
    let evidence: Vec<u64> = view
        .iter()
        .filter(|f| {
            f.effective_at < t
                && matches!(
                    f.data,
                    EventData::ParticipantEnrolled { .. } | EventData::ParticipantLeft
                )
        })
        .map(|f| f.seq)
        .collect();
    out.push(Case {
        rule: MISSING,
        stream: view.shared.clone(),
        date: day,
        finding: (!state.has_plan).then(|| {
            Finding::new(MISSING, &view.shared,
                last_instant_of(cal, day),
                cal,
                format!("The participant (deltagare) was active at the end of {year} without any action plan (handlingsplan)."),
                evidence.last().copied().into_iter().collect(),
            )
        }),
    });
}
