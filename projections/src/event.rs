//! The typed events of EVENTS.md (`data` of each `type`), how they are checked at input, and which
//! unique keys they claim or need in the ledger.

use crate::time::Instant;
use chrono::NaiveDate;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// Text in an event: shared, so that a replay can keep one copy of each distinct text (offer ids,
/// legal bases, goals) however many events carry it.
pub type Text = Arc<str>;

/// A field-level input error: the JSON path of the field (`data.offer_id`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct DataError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> DataError {
    DataError {
        field: format!("data.{field}"),
        message: message.into(),
    }
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

impl YearMonth {
    /// Months since year 0, for arithmetic.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    pub fn from_index(i: i64) -> YearMonth {
        YearMonth {
            year: i.div_euclid(12) as i32,
            month: (i.rem_euclid(12) + 1) as u32,
        }
    }

    pub fn of(date: NaiveDate) -> YearMonth {
        use chrono::Datelike;
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn last_day(self) -> Option<NaiveDate> {
        YearMonth::from_index(self.index() + 1)
            .first_day()
            .and_then(|d| d.pred_opt())
    }

    pub fn parse(text: &str) -> Option<YearMonth> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let ym = YearMonth {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        };
        (1..=12).contains(&ym.month).then_some(ym)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }
        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(text: &str) -> Option<Self> { match text { $($text => Some($name::$variant),)+ _ => None } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// Where a plan version was published (Jobnet, Digital Post or a letter).
    Channel { Jobnet = "jobnet", DigitalPost = "digital_post", Letter = "letter" }
);
string_enum!(OfferOutcome { Completed = "completed", Cancelled = "cancelled", Interrupted = "interrupted" });
string_enum!(
    /// Sanction kinds; `TightenedAvailability` is the skærpet rådighedssanktion of LAS § 40 a.
    SanctionKind { Reduction = "reduction", Stop = "stop", TightenedAvailability = "tightened_availability" }
);
string_enum!(
    /// Matchkategori.
    MatchCategory { Jobparat = "jobparat", Aktivitetsparat = "aktivitetsparat" }
);
string_enum!(
    /// Jobafklaringsforløb or ressourceforløb.
    Track { Jobafklaring = "jobafklaring", Ressourceforloeb = "ressourceforloeb" }
);

/// The domain event: `type` and its `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    /// A new version of Min Plan was written.
    PlanUpdated {
        plan_version: u32,
        employment_goal: Text,
        offers: Arc<[Text]>,
        education: Option<Text>,
    },
    /// A plan version was published on Jobnet or sent to the citizen.
    PlanPublished {
        plan_version: u32,
        channel: Channel,
    },
    /// A tilbud was granted.
    OfferGranted {
        offer_id: Text,
        kind: Text,
        planned_start: NaiveDate,
        planned_end: Option<NaiveDate>,
    },
    /// Iværksættelse af tilbud.
    OfferStarted {
        offer_id: Text,
    },
    OfferEnded {
        offer_id: Text,
        outcome: OfferOutcome,
    },
    /// Udeblivelse.
    AbsenceRecorded {
        offer_id: Text,
        excuse: Option<Text>,
    },
    /// Vejledning om rettigheder og pligter (LAS § 35).
    SanctionGuidanceGiven,
    /// Partshøring (forvaltningsloven § 19).
    HearingSent {
        offer_id: Text,
    },
    SanctionDecided {
        sanction_id: Text,
        offer_id: Text,
        kind: SanctionKind,
        legal_basis: Text,
        /// The absence the decision rests on, when it names one.
        absence_at: Option<Instant>,
    },
    SanctionRevoked {
        sanction_id: Text,
        reason: Text,
    },
    MatchAssessed {
        category: MatchCategory,
        justification: Text,
    },
    RehabMeetingHeld {
        track: Track,
    },
    IndsatsplanCompleted {
        track: Track,
    },
    /// Opfølgningssamtale.
    FollowupHeld {
        citizen_perspective: Text,
        assessment: Text,
    },
    LedighedsydelsePaid {
        month: YearMonth,
    },
    FlexjobReassessmentForwarded,
    /// Revurdering.
    FlexjobReassessed {
        outcome: Text,
    },
    /// Deltagare in an arbetsmarknadsinsats.
    ParticipantEnrolled {
        birth_year: i32,
        programme: Text,
    },
    ParticipantLeft,
    /// Handlingsplan (shared: samordnad individuell plan).
    ActionPlanUpdated {
        shared: bool,
    },
}

/// Every event type with its data fields: (type, required fields, optional fields).
pub const EVENT_TYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "plan_updated",
        &["plan_version", "employment_goal", "offers"],
        &["education"],
    ),
    ("plan_published", &["plan_version", "channel"], &[]),
    (
        "offer_granted",
        &["offer_id", "kind", "planned_start"],
        &["planned_end"],
    ),
    ("offer_started", &["offer_id"], &[]),
    ("offer_ended", &["offer_id", "outcome"], &[]),
    ("absence_recorded", &["offer_id", "excuse"], &[]),
    ("sanction_guidance_given", &[], &[]),
    ("hearing_sent", &["offer_id"], &[]),
    (
        "sanction_decided",
        &["sanction_id", "offer_id", "kind", "legal_basis"],
        &["absence_at"],
    ),
    ("sanction_revoked", &["sanction_id", "reason"], &[]),
    ("match_assessed", &["category", "justification"], &[]),
    ("rehab_meeting_held", &["track"], &[]),
    ("indsatsplan_completed", &["track"], &[]),
    ("followup_held", &["citizen_perspective", "assessment"], &[]),
    ("ledighedsydelse_paid", &["month"], &[]),
    ("flexjob_reassessment_forwarded", &[], &[]),
    ("flexjob_reassessed", &["outcome"], &[]),
    ("participant_enrolled", &["birth_year", "programme"], &[]),
    ("participant_left", &[], &[]),
    ("action_plan_updated", &["shared"], &[]),
];

struct Fields<'a> {
    data: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn get(&self, name: &str) -> Result<&Value, DataError> {
        self.data.get(name).ok_or_else(|| err(name, "is missing"))
    }

    fn string(&self, name: &str) -> Result<Text, DataError> {
        match self.get(name)? {
            Value::String(s) => Ok(Text::from(s.as_str())),
            other => Err(err(
                name,
                format!("must be a string, is {}", kind_of(other)),
            )),
        }
    }

    fn opt_string(&self, name: &str) -> Result<Option<Text>, DataError> {
        match self.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    fn date(&self, name: &str) -> Result<NaiveDate, DataError> {
        let text = self.string(name)?;
        parse_date(&text)
            .ok_or_else(|| err(name, format!("{text:?} is not a calendar date YYYY-MM-DD")))
    }

    fn opt_date(&self, name: &str) -> Result<Option<NaiveDate>, DataError> {
        match self.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.date(name).map(Some),
        }
    }

    /// An optional RFC 3339 timestamp with an offset, as an instant.
    fn opt_instant(&self, name: &str) -> Result<Option<Instant>, DataError> {
        match self.data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => {
                let text = self.string(name)?;
                chrono::DateTime::parse_from_rfc3339(&text)
                    .ok()
                    .and_then(|t| t.timestamp_nanos_opt())
                    .map(Some)
                    .ok_or_else(|| {
                        err(
                            name,
                            format!("{text:?} is not an RFC 3339 time with an offset (2017-03-15T08:00:00+01:00) in the years 1677-2262"),
                        )
                    })
            }
        }
    }

    fn uint(&self, name: &str, min: u64) -> Result<u32, DataError> {
        match self.get(name)?.as_u64() {
            Some(n) if n >= min && n <= u64::from(u32::MAX) => Ok(n as u32),
            _ => Err(err(
                name,
                format!("must be a whole number of at least {min}"),
            )),
        }
    }

    fn choice<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Result<T, DataError> {
        let text = self.string(name)?;
        parse(&text).ok_or_else(|| err(name, format!("{text:?} is not one of {}", all.join(", "))))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a strict `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    // Digits only where digits go: the parser below would also take a space for a leading zero.
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl EventData {
    /// Checks and types the `data` of an event of type `event_type`.
    pub fn parse(event_type: &str, data: &Map<String, Value>) -> Result<EventData, DataError> {
        let Some((_, required, optional)) = EVENT_TYPES.iter().find(|(t, _, _)| *t == event_type)
        else {
            return Err(DataError {
                field: "type".into(),
                message: format!(
                    "{event_type:?} is not an event type; known types: {}",
                    EVENT_TYPES
                        .iter()
                        .map(|t| t.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        if let Some(unknown) = data
            .keys()
            .find(|k| !required.contains(&k.as_str()) && !optional.contains(&k.as_str()))
        {
            let allowed: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
            return Err(err(
                unknown,
                format!(
                    "is not a field of {event_type} (its fields: {})",
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            ));
        }
        let f = Fields { data };
        Ok(match event_type {
            "plan_updated" => {
                let offers = match f.get("offers")? {
                    Value::Array(items) => {
                        let mut seen = BTreeSet::new();
                        let mut offers = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            let Value::String(id) = item else {
                                return Err(err(
                                    &format!("offers[{i}]"),
                                    "must be a string (an offer id)",
                                ));
                            };
                            if !seen.insert(id.as_str()) {
                                return Err(err(
                                    &format!("offers[{i}]"),
                                    format!("offer {id:?} is listed twice"),
                                ));
                            }
                            offers.push(Text::from(id.as_str()));
                        }
                        Arc::from(offers)
                    }
                    other => {
                        return Err(err(
                            "offers",
                            format!("must be an array of offer ids, is {}", kind_of(other)),
                        ))
                    }
                };
                EventData::PlanUpdated {
                    plan_version: f.uint("plan_version", 1)?,
                    employment_goal: f.string("employment_goal")?,
                    offers,
                    education: f.opt_string("education")?,
                }
            }
            "plan_published" => EventData::PlanPublished {
                plan_version: f.uint("plan_version", 1)?,
                channel: f.choice("channel", Channel::parse, Channel::ALL)?,
            },
            "offer_granted" => EventData::OfferGranted {
                offer_id: f.string("offer_id")?,
                kind: f.string("kind")?,
                planned_start: f.date("planned_start")?,
                planned_end: f.opt_date("planned_end")?,
            },
            "offer_started" => EventData::OfferStarted {
                offer_id: f.string("offer_id")?,
            },
            "offer_ended" => EventData::OfferEnded {
                offer_id: f.string("offer_id")?,
                outcome: f.choice("outcome", OfferOutcome::parse, OfferOutcome::ALL)?,
            },
            "absence_recorded" => {
                f.get("excuse")?;
                EventData::AbsenceRecorded {
                    offer_id: f.string("offer_id")?,
                    excuse: f.opt_string("excuse")?,
                }
            }
            "sanction_guidance_given" => EventData::SanctionGuidanceGiven,
            "hearing_sent" => EventData::HearingSent {
                offer_id: f.string("offer_id")?,
            },
            "sanction_decided" => EventData::SanctionDecided {
                sanction_id: f.string("sanction_id")?,
                offer_id: f.string("offer_id")?,
                kind: f.choice("kind", SanctionKind::parse, SanctionKind::ALL)?,
                legal_basis: f.string("legal_basis")?,
                absence_at: f.opt_instant("absence_at")?,
            },
            "sanction_revoked" => EventData::SanctionRevoked {
                sanction_id: f.string("sanction_id")?,
                reason: f.string("reason")?,
            },
            "match_assessed" => EventData::MatchAssessed {
                category: f.choice("category", MatchCategory::parse, MatchCategory::ALL)?,
                justification: f.string("justification")?,
            },
            "rehab_meeting_held" => EventData::RehabMeetingHeld {
                track: f.choice("track", Track::parse, Track::ALL)?,
            },
            "indsatsplan_completed" => EventData::IndsatsplanCompleted {
                track: f.choice("track", Track::parse, Track::ALL)?,
            },
            "followup_held" => EventData::FollowupHeld {
                citizen_perspective: f.string("citizen_perspective")?,
                assessment: f.string("assessment")?,
            },
            "ledighedsydelse_paid" => {
                let text = f.string("month")?;
                EventData::LedighedsydelsePaid {
                    month: YearMonth::parse(&text)
                        .ok_or_else(|| err("month", format!("{text:?} is not a month YYYY-MM")))?,
                }
            }
            "flexjob_reassessment_forwarded" => EventData::FlexjobReassessmentForwarded,
            "flexjob_reassessed" => EventData::FlexjobReassessed {
                outcome: f.string("outcome")?,
            },
            "participant_enrolled" => EventData::ParticipantEnrolled {
                birth_year: match f.get("birth_year")?.as_i64() {
                    Some(y) if (1800..=9999).contains(&y) => y as i32,
                    _ => {
                        return Err(err(
                            "birth_year",
                            "must be a whole number (a year, e.g. 1990)",
                        ))
                    }
                },
                programme: f.string("programme")?,
            },
            "participant_left" => EventData::ParticipantLeft,
            "action_plan_updated" => EventData::ActionPlanUpdated {
                shared: match f.get("shared")? {
                    Value::Bool(b) => *b,
                    other => {
                        return Err(err(
                            "shared",
                            format!("must be true or false, is {}", kind_of(other)),
                        ))
                    }
                },
            },
            _ => unreachable!("every type of EVENT_TYPES is parsed above"),
        })
    }

    /// Replaces the texts that repeat across events (offer ids, kinds, goals, legal bases, excuses,
    /// ...) by the copies `share` returns, so that a replay holds each distinct text once. Sanction
    /// ids and follow-up assessments are mostly unique and stay as they are.
    pub fn share_texts(&mut self, share: &mut dyn FnMut(&Text) -> Text) {
        match self {
            EventData::PlanUpdated {
                employment_goal,
                offers,
                education,
                ..
            } => {
                *employment_goal = share(employment_goal);
                *offers = offers.iter().map(&mut *share).collect();
                if let Some(e) = education {
                    *e = share(e);
                }
            }
            EventData::OfferGranted { offer_id, kind, .. } => {
                *offer_id = share(offer_id);
                *kind = share(kind);
            }
            EventData::OfferStarted { offer_id }
            | EventData::OfferEnded { offer_id, .. }
            | EventData::HearingSent { offer_id } => {
                *offer_id = share(offer_id);
            }
            EventData::AbsenceRecorded { offer_id, excuse } => {
                *offer_id = share(offer_id);
                if let Some(e) = excuse {
                    *e = share(e);
                }
            }
            EventData::SanctionDecided {
                offer_id,
                legal_basis,
                ..
            } => {
                *offer_id = share(offer_id);
                *legal_basis = share(legal_basis);
            }
            EventData::SanctionRevoked { reason, .. } => *reason = share(reason),
            EventData::MatchAssessed { justification, .. } => *justification = share(justification),
            EventData::FollowupHeld {
                citizen_perspective,
                ..
            } => *citizen_perspective = share(citizen_perspective),
            EventData::FlexjobReassessed { outcome } => *outcome = share(outcome),
            EventData::ParticipantEnrolled { programme, .. } => *programme = share(programme),
            _ => {}
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            EventData::PlanUpdated { .. } => "plan_updated",
            EventData::PlanPublished { .. } => "plan_published",
            EventData::OfferGranted { .. } => "offer_granted",
            EventData::OfferStarted { .. } => "offer_started",
            EventData::OfferEnded { .. } => "offer_ended",
            EventData::AbsenceRecorded { .. } => "absence_recorded",
            EventData::SanctionGuidanceGiven => "sanction_guidance_given",
            EventData::HearingSent { .. } => "hearing_sent",
            EventData::SanctionDecided { .. } => "sanction_decided",
            EventData::SanctionRevoked { .. } => "sanction_revoked",
            EventData::MatchAssessed { .. } => "match_assessed",
            EventData::RehabMeetingHeld { .. } => "rehab_meeting_held",
            EventData::IndsatsplanCompleted { .. } => "indsatsplan_completed",
            EventData::FollowupHeld { .. } => "followup_held",
            EventData::LedighedsydelsePaid { .. } => "ledighedsydelse_paid",
            EventData::FlexjobReassessmentForwarded => "flexjob_reassessment_forwarded",
            EventData::FlexjobReassessed { .. } => "flexjob_reassessed",
            EventData::ParticipantEnrolled { .. } => "participant_enrolled",
            EventData::ParticipantLeft => "participant_left",
            EventData::ActionPlanUpdated { .. } => "action_plan_updated",
        }
    }

    /// The ledger keys this event claims (must be new) or needs (must exist), as EVENTS.md's
    /// "What is refused" asks. Judged in log order by the ledger, atomically with the append.
    pub fn key_rules(&self, stream: &str) -> Vec<KeyRule> {
        match self {
            EventData::PlanUpdated { plan_version, .. } => {
                let v = *plan_version;
                let mut rules = vec![KeyRule {
                    key: plan_key(stream, v),
                    must_exist: false,
                    field: "data.plan_version",
                    message: format!(
                        "plan_version {v} is not the stream's next version: version {v} exists already"
                    ),
                }];
                if v > 1 {
                    rules.push(KeyRule {
                        key: plan_key(stream, v - 1),
                        must_exist: true,
                        field: "data.plan_version",
                        message: format!(
                            "plan_version {v} is not the stream's next version: version {} does not exist (versions start at 1 and go up by one)",
                            v - 1
                        ),
                    });
                }
                rules
            }
            EventData::PlanPublished { plan_version, .. } => vec![KeyRule {
                key: plan_key(stream, *plan_version),
                must_exist: true,
                field: "data.plan_version",
                message: format!(
                    "plan version {plan_version} does not exist on stream {stream}: publish a version after its plan_updated"
                ),
            }],
            EventData::SanctionDecided { sanction_id, .. } => vec![
                KeyRule {
                    key: format!("sanction|{sanction_id}"),
                    must_exist: false,
                    field: "data.sanction_id",
                    message: format!("sanction_id {sanction_id:?} is already used in the ledger"),
                },
                KeyRule {
                    key: sanction_on_key(stream, sanction_id),
                    must_exist: false,
                    field: "data.sanction_id",
                    message: format!("sanction_id {sanction_id:?} is already used on {stream}"),
                },
            ],
            EventData::SanctionRevoked { sanction_id, .. } => vec![KeyRule {
                key: sanction_on_key(stream, sanction_id),
                must_exist: true,
                field: "data.sanction_id",
                message: format!("sanction {sanction_id:?} does not exist on stream {stream}"),
            }],
            _ => Vec::new(),
        }
    }
}

fn plan_key(stream: &str, version: u32) -> String {
    format!("plan|{stream}|{version}")
}

fn sanction_on_key(stream: &str, sanction_id: &str) -> String {
    format!("sanction-on|{stream}|{sanction_id}")
}

/// A unique key an event claims (`must_exist` false) or needs (`must_exist` true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRule {
    pub key: String,
    pub must_exist: bool,
    pub field: &'static str,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(t: &str, data: Value) -> Result<EventData, DataError> {
        EventData::parse(t, data.as_object().unwrap())
    }

    #[test]
    fn a_date_is_digits_where_digits_go() {
        assert_eq!(
            parse_date("2017-03-02"),
            NaiveDate::from_ymd_opt(2017, 3, 2)
        );
        for bad in [
            "2017-03- 2",
            "2017- 3-02",
            " 017-03-02",
            "2017/03/02",
            "2017-3-2",
            "2017-02-30",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_type_parses_its_documented_fields() {
        assert!(parse(
            "plan_updated",
            json!({"plan_version": 1, "employment_goal": "", "offers": ["o-1"], "education": "x"})
        )
        .is_ok());
        assert!(parse(
            "absence_recorded",
            json!({"offer_id": "o-1", "excuse": null})
        )
        .is_ok());
        assert!(parse(
            "participant_enrolled",
            json!({"birth_year": 1990, "programme": "x"})
        )
        .is_ok());
        assert_eq!(
            parse("ledighedsydelse_paid", json!({"month": "2007-01"})),
            Ok(EventData::LedighedsydelsePaid {
                month: YearMonth {
                    year: 2007,
                    month: 1
                }
            })
        );
        for (t, required, _) in EVENT_TYPES {
            let data: Map<String, Value> = Map::new();
            let r = EventData::parse(t, &data);
            if required.is_empty() {
                assert!(r.is_ok(), "{t}");
            } else {
                assert_eq!(r.unwrap_err().message, "is missing", "{t}");
            }
        }
    }

    #[test]
    fn malformed_data_names_the_field() {
        let cases = [
            (
                "plan_updated",
                json!({"plan_version": 0, "employment_goal": "", "offers": []}),
                "data.plan_version",
            ),
            (
                "plan_updated",
                json!({"plan_version": 1, "employment_goal": "", "offers": ["a", "a"]}),
                "data.offers[1]",
            ),
            (
                "plan_updated",
                json!({"plan_version": 1, "employment_goal": "", "offers": "a"}),
                "data.offers",
            ),
            (
                "plan_published",
                json!({"plan_version": 1, "channel": "fax"}),
                "data.channel",
            ),
            (
                "offer_granted",
                json!({"offer_id": "o", "kind": "k", "planned_start": "2017-02-30"}),
                "data.planned_start",
            ),
            (
                "offer_granted",
                json!({"offer_id": "o", "kind": "k", "planned_start": "2017-2-3"}),
                "data.planned_start",
            ),
            ("offer_started", json!({"offer_id": 7}), "data.offer_id"),
            (
                "offer_started",
                json!({"offer_id": "o", "extra": 1}),
                "data.extra",
            ),
            ("absence_recorded", json!({"offer_id": "o"}), "data.excuse"),
            (
                "ledighedsydelse_paid",
                json!({"month": "2007-13"}),
                "data.month",
            ),
            (
                "action_plan_updated",
                json!({"shared": "yes"}),
                "data.shared",
            ),
            ("no_such_type", json!({}), "type"),
        ];
        for (t, data, field) in cases {
            assert_eq!(
                parse(t, data.clone()).unwrap_err().field,
                field,
                "{t} {data}"
            );
        }
    }

    #[test]
    fn key_rules_express_the_refusals_of_events_md() {
        let v2 = parse(
            "plan_updated",
            json!({"plan_version": 2, "employment_goal": "", "offers": []}),
        )
        .unwrap();
        let rules = v2.key_rules("s");
        assert_eq!(rules.len(), 2);
        assert!(!rules[0].must_exist && rules[0].key == "plan|s|2");
        assert!(rules[1].must_exist && rules[1].key == "plan|s|1");
        let revoke = parse(
            "sanction_revoked",
            json!({"sanction_id": "x", "reason": "r"}),
        )
        .unwrap();
        assert_eq!(revoke.key_rules("s")[0].key, "sanction-on|s|x");
    }

    #[test]
    fn year_months_count_and_end() {
        let ym = YearMonth::parse("2008-02").unwrap();
        assert_eq!(ym.last_day(), NaiveDate::from_ymd_opt(2008, 2, 29));
        assert_eq!(
            YearMonth::from_index(ym.index() + 11).to_string(),
            "2009-01"
        );
        assert!(YearMonth::parse("2008-2").is_none());
    }
}
