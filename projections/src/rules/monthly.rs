//! The monthly series of a year report (RULES.md §5 and §6): management information for each
//! calendar month of the year.

use super::{se_actionplan, Evaluation, SanctionVerdict, Tally};
use crate::event::{EventData, YearMonth};
use crate::fact::{Projection, StreamView};
use chrono::Datelike;

/// One month of a year report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthStats {
    pub month: YearMonth,
    pub sanctions_lawful: u64,
    pub sanctions_unlawful: u64,
    /// First offer starts with Min Plan listing the offer written and published before the start.
    pub offer_starts_timely: u64,
    pub offer_starts_late: u64,
    /// Deadlines open at the end of the month (or at the evaluation time, if earlier).
    pub open_deadlines: u64,
    /// Swedish participants active and aged 16-65 at the end of the month.
    pub participants_active: u64,
    pub participants_with_plan: u64,
    pub participants_with_joint_plan: u64,
    /// `action_plan_updated` events in the month.
    pub action_plans_updated: u64,
    /// `plan_updated` events (Min Plan versions) in the month.
    pub plans_updated: u64,
}

impl Evaluation<'_> {
    /// The twelve months of `year`, from the verdicts and cases of that year.
    pub fn monthly(
        &self,
        proj: &Projection,
        year: i32,
        sanctions: &[SanctionVerdict],
        tally: &Tally,
    ) -> Vec<MonthStats> {
        let cal = &self.params.calendar;
        let eval_at = self.eval_at(Some(year));
        let mut months: Vec<MonthStats> = (1..=12)
            .map(|m| MonthStats {
                month: YearMonth { year, month: m },
                sanctions_lawful: 0,
                sanctions_unlawful: 0,
                offer_starts_timely: 0,
                offer_starts_late: 0,
                open_deadlines: 0,
                participants_active: 0,
                participants_with_plan: 0,
                participants_with_joint_plan: 0,
                action_plans_updated: 0,
                plans_updated: 0,
            })
            .collect();
        let index = |date: chrono::NaiveDate| (date.year() == year).then(|| date.month0() as usize);
        for s in sanctions {
            if let Some(i) = index(cal.date(s.decided_at)) {
                if s.lawful {
                    months[i].sanctions_lawful += 1;
                } else {
                    months[i].sanctions_unlawful += 1;
                }
            }
        }
        for (m, (starts, late)) in months.iter_mut().zip(tally.offer_starts) {
            m.offer_starts_late = late;
            m.offer_starts_timely = starts.saturating_sub(late);
        }
        let views: Vec<StreamView<'_>> = proj
            .streams()
            .map(|(id, facts)| StreamView::new(id, facts, self.as_of))
            .collect();
        for view in &views {
            for f in view.iter().filter(|f| f.effective_at <= eval_at) {
                let Some(i) = index(cal.date(f.effective_at)) else {
                    continue;
                };
                match f.data {
                    EventData::PlanUpdated { .. } => months[i].plans_updated += 1,
                    EventData::ActionPlanUpdated { .. } => months[i].action_plans_updated += 1,
                    _ => {}
                }
            }
        }
        // The deadlines are worked out once; each month end only asks which were open then.
        let deadlines: Vec<super::Deadline<'_>> = views
            .iter()
            .flat_map(|v| super::deadlines_of(v, self.params))
            .collect();
        for m in &mut months {
            let Some(last_day) = m.month.last_day() else {
                continue;
            };
            let start = m.month.first_day().map_or(i64::MAX, |d| cal.start_of(d));
            if start > eval_at {
                continue; // a month that has not begun
            }
            let t = cal.end_of(last_day).min(eval_at);
            m.open_deadlines = deadlines.iter().filter(|d| d.is_open_at(cal, t)).count() as u64;
            for view in &views {
                if let Some(state) = se_actionplan::state_at(view, self.params, t, year) {
                    if state.counted {
                        m.participants_active += 1;
                        m.participants_with_plan += u64::from(state.has_plan);
                        m.participants_with_joint_plan += u64::from(state.has_shared_plan);
                    }
                }
            }
        }
        months
    }
}
