//! `dk.rehab` and `dk.followup`: deadlines after the rehabilitation team's meeting, and the quality
//! of follow-up conversations (RULES.md §3).

use super::{Case, Deadline, Finding};
use crate::event::{EventData, Track};
use crate::fact::{Fact, Projection, StreamView};
use crate::params::{Params, FIRST_OFFER_MONTHS, INDSATSPLAN_MONTHS, STANDARD_WORDING_STREAMS};
use crate::text::{blank, normalise};
use crate::time::{add_months, Instant};
use std::collections::{BTreeMap, BTreeSet};

pub const INDSATSPLAN_LATE: &str = "dk.rehab.indsatsplan_late";
pub const NO_OFFER_FIRST_YEAR: &str = "dk.rehab.no_offer_first_year";
pub const NO_CITIZEN_PERSPECTIVE: &str = "dk.followup.no_citizen_perspective";
pub const STANDARD_WORDING: &str = "dk.followup.standard_wording";

/// Every deadline after a rehabilitation team's meeting on one stream, passed or not.
pub fn deadlines<'a>(view: &StreamView<'a>, params: &Params, out: &mut Vec<Deadline<'a>>) {
    let cal = &params.calendar;
    for m in view.iter() {
        let EventData::RehabMeetingHeld { track } = &m.data else {
            continue;
        };
        let d = cal.date(m.effective_at);
        let mut deadline =
            |rule: &'static str, months: i64, met: &dyn Fn(&Fact) -> bool, what: String| {
                let due = add_months(d, months.max(0) as u32);
                let end = cal.end_of(due);
                let met_by = view
                    .iter()
                    .find(|f| m.effective_at <= f.effective_at && f.effective_at < end && met(f));
                out.push(Deadline {
                    rule,
                    stream: view.shared.clone(),
                    due,
                    opened_by: m,
                    met_by,
                    message: format!("{what} by the deadline {due}."),
                    evidence: vec![m.seq],
                });
            };
        let track = *track;
        deadline(
            INDSATSPLAN_LATE,
            params.at(INDSATSPLAN_MONTHS, d),
            &|f| matches!(&f.data, EventData::IndsatsplanCompleted { track: t } if *t == track),
            format!(
                "The rehabilitation team met on {d} ({track}); the indsatsplan was not completed"
            ),
        );
        if track == Track::Ressourceforloeb {
            deadline(
                NO_OFFER_FIRST_YEAR,
                params.at(FIRST_OFFER_MONTHS, d),
                &|f| matches!(f.data, EventData::OfferStarted { .. }),
                format!("The ressourceforløb began with the team's meeting on {d}; no offer (tilbud) began"),
            );
        }
    }
}

/// `dk.followup.no_citizen_perspective` of one stream.
pub fn followup_cases(view: &StreamView<'_>, params: &Params, out: &mut Vec<Case>) {
    let cal = &params.calendar;
    for f in view.iter() {
        let EventData::FollowupHeld {
            citizen_perspective,
            ..
        } = &f.data
        else {
            continue;
        };
        out.push(Case {
            rule: NO_CITIZEN_PERSPECTIVE,
            stream: view.shared.clone(),
            date: cal.date(f.effective_at),
            finding: blank(citizen_perspective).then(|| {
                Finding::new(NO_CITIZEN_PERSPECTIVE, &view.shared,
                    f.effective_at,
                    cal,
                    "The follow-up conversation (opfølgningssamtale) records nothing of the citizen's own perspective.".into(),
                    vec![f.seq],
                )
            }),
        });
    }
}

/// The follow-ups of a stream with `effective_at` in `[from, to)`, each with its normalised
/// assessment (None if it says nothing): what standard wording compares.
fn wordings<'a>(
    view: &StreamView<'a>,
    from: Instant,
    to: Instant,
) -> impl Iterator<Item = (&'a Fact, Option<String>)> {
    view.iter().filter_map(move |f| match &f.data {
        EventData::FollowupHeld { assessment, .. }
            if from <= f.effective_at && f.effective_at < to =>
        {
            let norm = normalise(assessment);
            Some((f, (!norm.is_empty()).then_some(norm)))
        }
        _ => None,
    })
}

/// `dk.followup.standard_wording` over the follow-ups evaluated together (those with
/// `effective_at` in `[from, to)`), across the streams of each municipality.
pub fn standard_wording<'a>(
    views: &[StreamView<'a>],
    params: &Params,
    from: Instant,
    to: Instant,
    out: &mut Vec<Case>,
) {
    // (municipality, normalised assessment) -> streams; and every follow-up with its group.
    let mut groups: BTreeMap<(&str, String), BTreeSet<&str>> = BTreeMap::new();
    let mut followups: Vec<(&StreamView<'a>, &Fact, Option<String>)> = Vec::new();
    for view in views {
        for (f, key) in wordings(view, from, to) {
            if let Some(k) = &key {
                groups
                    .entry((view.municipality(), k.clone()))
                    .or_default()
                    .insert(view.id);
            }
            followups.push((view, f, key));
        }
    }
    for (view, f, key) in followups {
        let others = key
            .as_ref()
            .and_then(|k| groups.get(&(view.municipality(), k.clone())))
            .map_or(0, |streams| {
                streams.len() - usize::from(streams.contains(view.id))
            });
        out.push(wording_case(view, f, key.as_deref(), others, params));
    }
}

/// `dk.followup.standard_wording` of one stream's follow-ups in `[from, to)`, counted from the
/// projection's index of wordings (which must be kept: `Projection::index_wordings`) instead of a
/// walk over the municipality's streams: the same cases as `standard_wording` gives for this
/// stream.
pub fn standard_wording_of(
    view: &StreamView<'_>,
    proj: &Projection,
    as_of: Option<Instant>,
    params: &Params,
    from: Instant,
    to: Instant,
    out: &mut Vec<Case>,
) {
    for (f, key) in wordings(view, from, to) {
        let others = key.as_ref().map_or(0, |k| {
            // The uses come sorted by stream: count the changes of stream instead of collecting.
            let mut last: Option<&str> = None;
            let mut streams = 0;
            for u in proj
                .wording_uses(view.municipality(), k)
                .into_iter()
                .flatten()
                .filter(|u| {
                    from <= u.effective_at
                        && u.effective_at < to
                        && as_of.is_none_or(|t| u.recorded <= t)
                        && &*u.stream != view.id
                })
            {
                if last != Some(&*u.stream) {
                    streams += 1;
                    last = Some(&*u.stream);
                }
            }
            streams
        });
        out.push(wording_case(view, f, key.as_deref(), others, params));
    }
}

fn wording_case(
    view: &StreamView<'_>,
    f: &Fact,
    key: Option<&str>,
    others: usize,
    params: &Params,
) -> Case {
    let cal = &params.calendar;
    let k = params
        .at(STANDARD_WORDING_STREAMS, cal.date(f.effective_at))
        .max(0) as usize;
    Case {
        rule: STANDARD_WORDING,
        stream: view.shared.clone(),
        date: cal.date(f.effective_at),
        finding: (key.is_some() && others >= k).then(|| {
            Finding::new(STANDARD_WORDING, &view.shared,
                f.effective_at,
                cal,
                format!("The follow-up's assessment is the same standard wording as on {others} other cases of {} ({:?}), not an assessment of this citizen.", view.municipality(), key.unwrap_or_default()),
                vec![f.seq],
            )
        }),
    }
}
