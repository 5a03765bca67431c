//! A small language for writing histories in tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use projections::event::{Channel, EventData, OfferOutcome, SanctionKind, Track, YearMonth};
use projections::rules::Decision;
use projections::{Evaluation, Fact, Params, Projection, SanctionVerdict, Scope};
use std::sync::Arc;

pub fn t(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_nanos_opt()
        .unwrap()
}

/// A fact with the stream it belongs to (the fold keeps streams apart, facts do not carry them).
#[derive(Debug, Clone)]
pub struct Ev {
    pub stream: Arc<str>,
    pub fact: Fact,
}

impl std::ops::Deref for Ev {
    type Target = Fact;
    fn deref(&self) -> &Fact {
        &self.fact
    }
}

impl std::ops::DerefMut for Ev {
    fn deref_mut(&mut self) -> &mut Fact {
        &mut self.fact
    }
}

/// Events in log order; seq = position.
#[derive(Default, Clone)]
pub struct History {
    pub facts: Vec<Ev>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event recorded when it happened.
    pub fn at(&mut self, stream: &str, when: &str, data: EventData) -> u64 {
        self.recorded(stream, when, when, data)
    }

    /// Appends an event with its own recorded time.
    pub fn recorded(&mut self, stream: &str, when: &str, recorded: &str, data: EventData) -> u64 {
        let seq = self.facts.len() as u64;
        self.facts.push(Ev {
            stream: Arc::from(stream),
            fact: Fact {
                seq,
                effective_at: t(when),
                recorded: t(recorded),
                data,
            },
        });
        seq
    }

    pub fn projection(&self) -> Projection {
        let mut p = Projection::new();
        for f in &self.facts {
            p.apply(&f.stream, f.fact.clone());
        }
        p
    }

    pub fn sanctions(&self, year: i32) -> Vec<SanctionVerdict> {
        eval(&Params::default()).sanctions(
            &self.projection(),
            Scope {
                year: Some(year),
                stream: None,
            },
        )
    }

    pub fn verdict(&self, sanction_id: &str) -> SanctionVerdict {
        eval(&Params::default())
            .sanction(&self.projection(), sanction_id)
            .unwrap()
    }

    /// Reason codes of a sanction, sorted.
    pub fn reasons(&self, sanction_id: &str) -> Vec<&'static str> {
        let mut r: Vec<&str> = self
            .verdict(sanction_id)
            .reasons
            .iter()
            .map(|r| r.code())
            .collect();
        r.sort();
        r
    }

    /// (rule, stream, date) of the findings of a year, judged at a fixed late "now".
    pub fn findings(&self, year: i32) -> Vec<(String, String, String)> {
        self.findings_with(&Params::default(), year)
    }

    pub fn findings_with(&self, params: &Params, year: i32) -> Vec<(String, String, String)> {
        eval(params)
            .findings(
                &self.projection(),
                Scope {
                    year: Some(year),
                    stream: None,
                },
            )
            .into_iter()
            .map(|f| (f.rule.to_owned(), f.stream.to_string(), f.date.to_string()))
            .collect()
    }

    pub fn rules_found(&self, year: i32) -> Vec<String> {
        self.findings(year).into_iter().map(|f| f.0).collect()
    }
}

pub fn eval(params: &Params) -> Evaluation<'_> {
    Evaluation {
        params,
        as_of: None,
        now: t("2030-01-01T00:00:00Z"),
    }
}

pub fn intended<'a>(
    sanction_id: &'a str,
    offer_id: &'a str,
    kind: SanctionKind,
    when: &str,
) -> Decision<'a> {
    Decision {
        sanction_id,
        offer_id,
        kind,
        decided_at: t(when),
        recorded: t(when),
        seq: None,
        absence_at: None,
    }
}

// Event constructors.
pub fn plan(version: u32, goal: &str, offers: &[&str]) -> EventData {
    EventData::PlanUpdated {
        plan_version: version,
        employment_goal: goal.into(),
        offers: offers
            .iter()
            .map(|o| projections::event::Text::from(*o))
            .collect(),
        education: None,
    }
}
pub fn publish(version: u32) -> EventData {
    EventData::PlanPublished {
        plan_version: version,
        channel: Channel::Jobnet,
    }
}
pub fn grant(offer: &str, start: &str, end: Option<&str>) -> EventData {
    EventData::OfferGranted {
        offer_id: offer.into(),
        kind: "virksomhedspraktik".into(),
        planned_start: start.parse().unwrap(),
        planned_end: end.map(|e| e.parse().unwrap()),
    }
}
pub fn start(offer: &str) -> EventData {
    EventData::OfferStarted {
        offer_id: offer.into(),
    }
}
pub fn end(offer: &str, outcome: OfferOutcome) -> EventData {
    EventData::OfferEnded {
        offer_id: offer.into(),
        outcome,
    }
}
pub fn absence(offer: &str, excuse: Option<&str>) -> EventData {
    EventData::AbsenceRecorded {
        offer_id: offer.into(),
        excuse: excuse.map(Into::into),
    }
}
pub fn guidance() -> EventData {
    EventData::SanctionGuidanceGiven
}
pub fn hearing(offer: &str) -> EventData {
    EventData::HearingSent {
        offer_id: offer.into(),
    }
}
pub fn sanction(id: &str, offer: &str, kind: SanctionKind) -> EventData {
    EventData::SanctionDecided {
        sanction_id: id.into(),
        offer_id: offer.into(),
        kind,
        legal_basis: "LAS § 36".into(),
        absence_at: None,
    }
}
/// A sanction that names the absence it rests on.
pub fn sanction_naming(id: &str, offer: &str, kind: SanctionKind, absence_at: &str) -> EventData {
    EventData::SanctionDecided {
        sanction_id: id.into(),
        offer_id: offer.into(),
        kind,
        legal_basis: "LAS § 36".into(),
        absence_at: Some(t(absence_at)),
    }
}
pub fn revoke(id: &str) -> EventData {
    EventData::SanctionRevoked {
        sanction_id: id.into(),
        reason: "appeal".into(),
    }
}
pub fn meeting(track: Track) -> EventData {
    EventData::RehabMeetingHeld { track }
}
pub fn indsatsplan(track: Track) -> EventData {
    EventData::IndsatsplanCompleted { track }
}
pub fn paid(month: &str) -> EventData {
    EventData::LedighedsydelsePaid {
        month: YearMonth::parse(month).unwrap(),
    }
}
pub fn forwarded() -> EventData {
    EventData::FlexjobReassessmentForwarded
}
pub fn reassessed() -> EventData {
    EventData::FlexjobReassessed {
        outcome: "fortsat fleksjob".into(),
    }
}
pub fn enrolled(birth_year: i32) -> EventData {
    EventData::ParticipantEnrolled {
        birth_year,
        programme: "arbetsmarknadsinsats".into(),
    }
}
pub fn action_plan(shared: bool) -> EventData {
    EventData::ActionPlanUpdated { shared }
}

/// The lawful case of worked example 01 on `stream`, with the absence and decision times given.
pub fn lawful_case(h: &mut History, stream: &str, id: &str, absence_at: &str, decided_at: &str) {
    h.at(stream, "2017-02-01T10:00:00+01:00", guidance());
    h.at(
        stream,
        "2017-03-01T09:00:00+01:00",
        grant("o-1", "2017-03-10", Some("2017-06-09")),
    );
    h.at(
        stream,
        "2017-03-01T09:05:00+01:00",
        plan(1, "Lager- og logistikmedarbejder", &["o-1"]),
    );
    h.at(stream, "2017-03-01T09:10:00+01:00", publish(1));
    h.at(stream, "2017-03-10T08:00:00+01:00", start("o-1"));
    h.at(stream, absence_at, absence("o-1", None));
    h.at(stream, absence_at, hearing("o-1"));
    h.at(
        stream,
        decided_at,
        sanction(id, "o-1", SanctionKind::Reduction),
    );
}
