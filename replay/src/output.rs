//! The JSON forms of verdicts, findings and explanations: one definition for the command line,
//! the reports and the API.

use projections::rules::Check;
use projections::time::Calendar;
use projections::{Finding, Projection, SanctionVerdict};
use serde_json::{json, Value};

pub fn verdict_word(s: &SanctionVerdict) -> &'static str {
    if s.lawful {
        "lawful"
    } else {
        "unlawful"
    }
}

/// One sanction verdict as written: fields in alphabetical order, as every JSON object here.
/// Serialised straight to text by the API and the reports (no `Value` in between).
#[derive(Debug, serde::Serialize)]
pub struct SanctionJson<'a> {
    pub decided_at: String,
    pub evidence: &'a [u64],
    /// The evidence behind the warning of that name (only with it).
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    pub evidence_logged_after_decision: &'a [u64],
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    pub evidence_recorded_after_decision: &'a [u64],
    pub kind: &'static str,
    pub legal_basis: std::collections::BTreeMap<&'static str, &'static str>,
    pub offer_id: &'a str,
    pub reasons: Vec<&'static str>,
    pub revoked: bool,
    pub sanction_id: &'a str,
    pub seq: Option<u64>,
    pub stream: &'a str,
    pub verdict: &'static str,
    pub warnings: Vec<&'static str>,
}

impl<'a> SanctionJson<'a> {
    pub fn of(cal: &Calendar, s: &'a SanctionVerdict) -> SanctionJson<'a> {
        SanctionJson {
            decided_at: cal.rfc3339(s.decided_at),
            evidence: &s.evidence,
            evidence_logged_after_decision: &s.logged_after,
            evidence_recorded_after_decision: &s.recorded_after,
            kind: s.kind.as_str(),
            legal_basis: s
                .reasons
                .iter()
                .map(|r| (r.code(), r.legal_basis()))
                .collect(),
            offer_id: &s.offer_id,
            reasons: s.reasons.iter().map(|r| r.code()).collect(),
            revoked: s.revoked(),
            sanction_id: &s.sanction_id,
            seq: s.seq,
            stream: &s.stream,
            verdict: verdict_word(s),
            warnings: s.warnings(),
        }
    }
}

/// The seqs a sanction's verdict rests on: its decision and every evidence event, in order, once
/// each (what a proof bundle of the sanction proves).
pub fn proved_seqs(s: &SanctionVerdict) -> Vec<u64> {
    let mut seqs: Vec<u64> = s
        .seq
        .into_iter()
        .chain(s.evidence.iter().copied())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    seqs
}

/// The JSON object of one sanction verdict.
pub fn sanction_json(cal: &Calendar, s: &SanctionVerdict) -> Value {
    serde_json::to_value(SanctionJson::of(cal, s)).unwrap_or(Value::Null)
}

/// The JSON object of one finding.
pub fn finding_json(cal: &Calendar, f: &Finding) -> Value {
    serde_json::to_value(FindingJson::of(cal, f)).unwrap_or(Value::Null)
}

/// One finding as written, fields in alphabetical order (no `Value` in between, as
/// `SanctionJson`).
#[derive(Debug, serde::Serialize)]
pub struct FindingJson<'a> {
    pub at: String,
    pub date: String,
    pub evidence: &'a [u64],
    pub legal_basis: &'static str,
    pub message: &'a str,
    pub rule: &'static str,
    pub stream: &'a str,
}

impl<'a> FindingJson<'a> {
    pub fn of(cal: &Calendar, f: &'a Finding) -> FindingJson<'a> {
        FindingJson {
            at: cal.rfc3339(f.at),
            date: f.date.to_string(),
            evidence: &f.evidence,
            legal_basis: f.legal_basis,
            message: &f.message,
            rule: f.rule,
            stream: &f.stream,
        }
    }
}

/// An event an explanation rests on.
#[derive(Debug, serde::Serialize)]
pub struct EventRef {
    pub effective_at: String,
    pub recorded_at: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub event_type: &'static str,
}

/// One condition of an explanation.
#[derive(Debug, serde::Serialize)]
pub struct CheckJson<'a> {
    pub condition: &'static str,
    pub detail: &'a str,
    pub events: Vec<&'a EventRef>,
    pub legal_basis: &'static str,
    pub met: bool,
}

/// A verdict with every condition checked and the events it rests on (`garanti explain`, the API).
#[derive(Debug, serde::Serialize)]
pub struct ExplanationJson<'a> {
    pub checks: Vec<CheckJson<'a>>,
    pub evidence_events: Vec<&'a EventRef>,
    #[serde(flatten)]
    pub verdict: SanctionJson<'a>,
}

/// The events an explanation names, each described once (an event is often evidence of several
/// conditions).
pub struct Described(std::collections::HashMap<u64, EventRef>);

impl Described {
    pub fn of(cal: &Calendar, projection: &Projection, s: &SanctionVerdict) -> Described {
        let wanted: std::collections::HashSet<u64> = s
            .checks
            .iter()
            .flat_map(|c| c.evidence.iter())
            .chain(s.evidence.iter())
            .copied()
            .collect();
        let mut out = std::collections::HashMap::with_capacity(wanted.len());
        if let Some(facts) = projection.stream(&s.stream) {
            for f in facts.facts.iter().filter(|f| wanted.contains(&f.seq)) {
                out.insert(
                    f.seq,
                    EventRef {
                        effective_at: cal.rfc3339(f.effective_at),
                        recorded_at: cal.rfc3339(f.recorded),
                        seq: f.seq,
                        event_type: f.data.type_name(),
                    },
                );
            }
        }
        Described(out)
    }

    fn list(&self, seqs: &[u64]) -> Vec<&EventRef> {
        seqs.iter().filter_map(|s| self.0.get(s)).collect()
    }

    /// The explanation of `s`, whose events this describes.
    pub fn explain<'a>(&'a self, cal: &Calendar, s: &'a SanctionVerdict) -> ExplanationJson<'a> {
        ExplanationJson {
            checks: s
                .checks
                .iter()
                .map(|c: &Check| CheckJson {
                    condition: c.reason.code(),
                    detail: &c.detail,
                    events: self.list(&c.evidence),
                    legal_basis: c.reason.legal_basis(),
                    met: c.met,
                })
                .collect(),
            evidence_events: self.list(&s.evidence),
            verdict: SanctionJson::of(cal, s),
        }
    }
}

/// The explanation of a verdict as JSON.
pub fn explanation_json(cal: &Calendar, projection: &Projection, s: &SanctionVerdict) -> Value {
    let described = Described::of(cal, projection, s);
    serde_json::to_value(described.explain(cal, s)).unwrap_or(Value::Null)
}

/// A case: its events (with seq and hash) and the verdicts and findings on it. `E` is the events:
/// a timeline, or one already rendered (the API keeps renderings by stream version).
#[derive(serde::Serialize)]
pub struct CaseJson<'a, E> {
    pub events: E,
    pub findings: Written<'a, Finding>,
    pub sanctions: Written<'a, SanctionVerdict>,
    pub stream: &'a str,
}

/// Verdicts or findings, serialised in their written forms (`SanctionJson`, `FindingJson`)
/// straight to text: a large case's answer, or a year report, is megabytes, and building it as a
/// `Value` first took twice the time of judging it. Owned (a case judged for its answer) or
/// borrowed (a report's lists).
pub struct Written<'a, T: Clone> {
    cal: &'a Calendar,
    items: std::borrow::Cow<'a, [T]>,
}

impl<'a, T: Clone> Written<'a, T> {
    pub fn new(cal: &'a Calendar, items: impl Into<std::borrow::Cow<'a, [T]>>) -> Self {
        Written {
            cal,
            items: items.into(),
        }
    }
}

impl serde::Serialize for Written<'_, SanctionVerdict> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_seq(self.items.iter().map(|s| SanctionJson::of(self.cal, s)))
    }
}

impl serde::Serialize for Written<'_, Finding> {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_seq(self.items.iter().map(|f| FindingJson::of(self.cal, f)))
    }
}

/// A case as one JSON object. `records` are the stream's stored records, in log order.
pub fn case_json<'a>(
    eval: &projections::Evaluation<'a>,
    projection: &Projection,
    stream: &'a str,
    records: &'a [ledger::StoredRecord],
) -> CaseJson<'a, Vec<crate::report::TimelineEvent<'a>>> {
    let events = crate::report::timeline(&eval.params.calendar, records);
    case_with(eval, projection, stream, events)
}

/// A case with its events given, and its verdicts and findings judged now.
pub fn case_with<'a, E>(
    eval: &projections::Evaluation<'a>,
    projection: &Projection,
    stream: &'a str,
    events: E,
) -> CaseJson<'a, E> {
    let cal = &eval.params.calendar;
    let scope = projections::Scope {
        year: None,
        stream: Some(stream),
    };
    CaseJson {
        stream,
        events,
        sanctions: Written::new(cal, eval.sanctions(projection, scope)),
        findings: Written::new(cal, eval.findings(projection, scope)),
    }
}

/// What a deadline is, in words.
pub fn deadline_kind(rule: &str) -> &str {
    match rule {
        "dk.rehab.indsatsplan_late" => "indsatsplan",
        "dk.rehab.no_offer_first_year" => "first offer (ressourceforløb)",
        "dk.flexjob.forward_late" => "flexjob forwarding",
        "dk.flexjob.reassessment_late" => "flexjob reassessment",
        other => other,
    }
}

/// The deadlines open at a time, and the timeliness of those due in each month of its year.
pub struct Deadlines {
    pub at: projections::time::Instant,
    pub today: chrono::NaiveDate,
    pub year: i32,
    /// Open at `at`, soonest first.
    pub open: Vec<projections::rules::OpenDeadline>,
    /// One object per month of `year`: reassessments and forwardings in time and late.
    pub monthly: Vec<Value>,
}

/// Works out the deadlines open at `eval.now` (falling due within `within` days, if given).
pub fn deadlines(
    eval: &projections::Evaluation<'_>,
    projection: &Projection,
    within: Option<u32>,
) -> Deadlines {
    use chrono::Datelike;
    let cal = &eval.params.calendar;
    let at = eval.now;
    // The day that is ending or under way at `at` (at E(D), the day D just ended: its deadlines
    // have passed, and its month and year are the ones shown).
    let today = cal.date(at.saturating_sub(1));
    let mut open = eval.open_deadlines(projection, at, None);
    if let Some(days) = within {
        let last = today + chrono::Duration::days(i64::from(days));
        open.retain(|d| d.due <= last);
    }
    let year = today.year();
    Deadlines {
        at,
        today,
        year,
        open,
        monthly: flexjob_timeliness(eval, projection, year, at),
    }
}

/// The flexjob deadlines (RULES.md §4) that fell due in each month of `year` and had passed by
/// `at`: reassessments and forwardings met in time and late, one object per month.
pub fn flexjob_timeliness(
    eval: &projections::Evaluation<'_>,
    projection: &Projection,
    year: i32,
    at: projections::time::Instant,
) -> Vec<Value> {
    use chrono::Datelike;
    let cal = &eval.params.calendar;
    let due = eval.deadlines_due(projection, year);
    (1..=12u32)
        .map(|m| {
            let count = |rule: &'static str, met: bool| {
                due.iter()
                    .filter(|(d, ok)| {
                        d.rule == rule
                            && d.due.month() == m
                            && cal.end_of(d.due) <= at
                            && *ok == met
                    })
                    .count()
            };
            json!({
                "month": format!("{year}-{m:02}"),
                "reassessments_in_time": count("dk.flexjob.reassessment_late", true),
                "reassessments_late": count("dk.flexjob.reassessment_late", false),
                "forwardings_in_time": count("dk.flexjob.forward_late", true),
                "forwardings_late": count("dk.flexjob.forward_late", false),
            })
        })
        .collect()
}

impl Deadlines {
    pub fn json(&self, cal: &Calendar) -> Value {
        json!({
            "at": cal.rfc3339(self.at),
            "open": self.open.iter().map(|d| json!({
                "stream": d.stream,
                "deadline": deadline_kind(d.rule),
                "rule": d.rule,
                "due": d.due.to_string(),
                "days_left": (d.due - self.today).num_days(),
                "opened_at": cal.rfc3339(d.opened_at),
                "evidence": d.evidence,
            })).collect::<Vec<_>>(),
            "monthly_timeliness": self.monthly,
        })
    }
}

/// The rules, the reasons a sanction is unlawful and the parameters in force on `date`.
pub fn rules_json(p: &projections::Params, date: chrono::NaiveDate) -> Value {
    use projections::rules::catalogue::{self, Reason};
    let param_value = |name: &str| -> String {
        if name == "generic_goals" {
            format!("{:?}", p.generic_goals)
        } else {
            p.at(name, date).to_string()
        }
    };
    json!({
        "at": date.to_string(),
        "time_zone": p.calendar.tz.name(),
        "rules": catalogue::RULES.iter().map(|r| json!({
            "code": r.code, "pack": r.pack, "title": r.title, "legal_basis": r.legal_basis,
            "parameters": r.parameters.iter().map(|n| (n.to_string(), json!(param_value(n)))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "sanction_reasons": Reason::ALL.iter().map(|r| json!({"code": r.code(), "meaning": r.meaning(), "legal_basis": r.legal_basis()})).collect::<Vec<_>>(),
        "parameters": p.table.values().map(|param| json!({
            "name": param.name, "meaning": param.meaning, "value": param.at(date),
            "values": param.values.iter().map(|v| json!({"value": v.value, "from": v.from.map(|d| d.to_string()), "until": v.until.map(|d| d.to_string())})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Findings as CSV: one row each, its evidence as seqs separated by spaces.
pub fn findings_csv(dialect: CsvDialect, cal: &Calendar, findings: &[Finding]) -> String {
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                f.rule.to_owned(),
                f.stream.to_string(),
                cal.rfc3339(f.at),
                f.date.to_string(),
                f.evidence
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                f.legal_basis.to_owned(),
                f.message.clone(),
            ]
        })
        .collect();
    csv(
        dialect,
        &[
            "rule",
            "stream",
            "at",
            "date",
            "evidence",
            "legal_basis",
            "message",
        ],
        &rows,
    )
}

/// How CSV is written for its reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CsvDialect {
    /// RFC 4180: `,` between fields, CR LF line ends, no byte-order mark.
    #[default]
    Rfc4180,
    /// For Danish Excel, which reads a CSV in the machine's list separator and decimal sign: `;`
    /// between fields, a UTF-8 byte-order mark (so æ, ø and å are read as such), a decimal comma
    /// in plain decimal numbers (`28,31`), CR LF line ends.
    DanishExcel,
}

/// A table as CSV in `dialect`: fields quoted where they hold the separator, a quote or a line end.
pub fn csv(dialect: CsvDialect, headers: &[&str], rows: &[Vec<String>]) -> String {
    let sep = match dialect {
        CsvDialect::Rfc4180 => ',',
        CsvDialect::DanishExcel => ';',
    };
    let field = |f: &str| {
        let f = match dialect {
            CsvDialect::DanishExcel if is_decimal(f) => f.replace('.', ","),
            _ => f.to_owned(),
        };
        if f.contains([sep, '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f
        }
    };
    let mut out = String::new();
    if dialect == CsvDialect::DanishExcel {
        out.push('\u{feff}');
    }
    let line = |cells: &mut dyn Iterator<Item = String>, out: &mut String| {
        out.push_str(&cells.collect::<Vec<_>>().join(&sep.to_string()));
        out.push_str("\r\n");
    };
    line(&mut headers.iter().map(|h| field(h)), &mut out);
    for row in rows {
        line(&mut row.iter().map(|c| field(c)), &mut out);
    }
    out
}

/// `-12.5`, `0.25`: digits, one point, digits (not a seq list, a version like `1.2.3`, or a time).
fn is_decimal(f: &str) -> bool {
    let digits = f.strip_prefix('-').unwrap_or(f);
    digits.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_in_each_dialect() {
        let rows = [vec!["x,y".into(), "say \"hi\"".into(), "28.31".into()]];
        assert_eq!(
            csv(CsvDialect::Rfc4180, &["a", "b", "c"], &rows),
            "a,b,c\r\n\"x,y\",\"say \"\"hi\"\"\",28.31\r\n"
        );
        let rows = [vec![
            "x;y".into(),
            "æøå".into(),
            "28.31".into(),
            "1.2.3".into(),
        ]];
        assert_eq!(
            csv(CsvDialect::DanishExcel, &["a", "b", "c", "d"], &rows),
            "\u{feff}a;b;c;d\r\n\"x;y\";æøå;28,31;1.2.3\r\n"
        );
    }
}
