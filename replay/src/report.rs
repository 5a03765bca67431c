//! The year report of RULES.md §6: built once as JSON (the complete, machine-readable form) and
//! rendered from that as HTML, XLSX and CSV, so that every format says the same.

use crate::output::{finding_json, sanction_json, Written};
use crate::sample::{self, Drawn};
use ledger::{Head, RecordView, StoredRecord};
use projections::rules::{catalogue, MonthStats};
use projections::time::Calendar;
use projections::{Evaluation, Projection, Scope};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Where the report's events came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// `ledger` or `export`, and the data directory or file.
    pub kind: &'static str,
    pub location: String,
    pub head: Option<Head>,
    pub records: u64,
    /// The signed checkpoint (a C2SP signed note) of exactly these records, if there is one.
    pub checkpoint: Option<String>,
}

/// What to sample, if anything.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    /// Cases to draw: in all, or of each municipality (`per_municipality`).
    pub size: usize,
    pub seed: String,
    /// Sample from the streams with findings of this rule instead of all streams with events.
    pub rule: Option<String>,
    /// With `rule`: from every case the rule examined in the year, with a finding or not (e.g.
    /// the active participants of seed 001), instead of the cases with findings.
    pub examined: bool,
    pub per_municipality: bool,
}

impl SampleRequest {
    /// Draws the sample from `population` (sorted stream ids).
    pub fn draw(&self, population: &[String]) -> Vec<Drawn> {
        let streams = population.iter().map(String::as_str);
        match self.per_municipality {
            true => sample::draw_per_municipality(&self.seed, self.size, streams),
            false => sample::draw(&self.seed, self.size, streams),
        }
    }
}

/// Everything a report is made from.
pub struct ReportInput<'a> {
    pub projection: &'a Projection,
    pub eval: Evaluation<'a>,
    pub year: i32,
    pub source: Source,
    pub generated_at: i64,
    pub program_version: &'a str,
    pub sample: Option<SampleRequest>,
    /// With a checkpoint: a record's inclusion proof in its tree, for the sample's evidence.
    pub prove: Option<&'a dyn Fn(u64) -> Option<ledger::proof::EntryProof>>,
}

/// The streams with events in the year (by `effective_at`), or with findings of a rule in it
/// (`dk.sanction`: unlawful sanctions), or (`examined`) every case the rule examined in it
/// (`dk.sanction`: every sanction). `sanctions` and `findings` are those of the year.
pub fn population(
    input: &ReportInput<'_>,
    sanctions: &[projections::SanctionVerdict],
    findings: &[projections::Finding],
) -> Vec<String> {
    let cal = &input.eval.params.calendar;
    let examined = input.sample.as_ref().is_some_and(|s| s.examined);
    match input.sample.as_ref().and_then(|s| s.rule.as_deref()) {
        Some(rule) if rule == catalogue::SANCTION => {
            let set: BTreeSet<&str> = sanctions
                .iter()
                .filter(|s| examined || !s.lawful)
                .map(|s| s.stream.as_str())
                .collect();
            set.into_iter().map(String::from).collect()
        }
        Some(rule) if examined => input
            .eval
            .cases(
                input.projection,
                Scope {
                    year: Some(input.year),
                    stream: None,
                },
            )
            .into_iter()
            .filter(|c| c.rule == rule)
            .map(|c| c.stream.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        Some(rule) => findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.stream.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => input
            .projection
            .streams()
            .filter(|(_, s)| {
                s.facts.iter().any(|f| {
                    input.eval.as_of.is_none_or(|t| f.recorded <= t)
                        && cal.year(f.effective_at) == input.year
                })
            })
            .map(|(id, _)| id.to_string())
            .collect(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn month_json(m: &MonthStats) -> Value {
    json!({
        "month": m.month.to_string(),
        "sanctions_lawful": m.sanctions_lawful,
        "sanctions_unlawful": m.sanctions_unlawful,
        "offer_starts_timely": m.offer_starts_timely,
        "offer_starts_late": m.offer_starts_late,
        "open_deadlines": m.open_deadlines,
        "participants_active": m.participants_active,
        "participants_with_plan": m.participants_with_plan,
        "participants_without_plan": m.participants_active - m.participants_with_plan.min(m.participants_active),
        "participants_with_joint_plan": m.participants_with_joint_plan,
        "action_plans_updated": m.action_plans_updated,
        "plans_updated": m.plans_updated,
    })
}

/// One case's events in effective-time order, with recorded times, seq and hash.
pub fn timeline_json(cal: &Calendar, records: &[StoredRecord]) -> Vec<Value> {
    timeline(cal, records)
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect()
}

/// One event of a case's timeline. Its `data` is the stored JSON text itself, not a parsed copy:
/// the API writes many timelines. Fields in alphabetical order, as every JSON object here.
#[derive(Debug, serde::Serialize)]
pub struct TimelineEvent<'a> {
    pub actor: &'a str,
    /// When the ledger took it in (its clock, not the source's claim): a `recorded_at` long before
    /// it is a backdated record.
    pub appended_at: String,
    /// Who appended it (the token's actor, or the importer).
    pub appended_by: &'a str,
    pub data: Option<&'a serde_json::value::RawValue>,
    pub effective_at: String,
    pub hash: String,
    pub recorded_at: String,
    pub seq: u64,
    #[serde(rename = "type")]
    pub event_type: &'a str,
}

/// A case's events in stream order (`effective_at`, then seq).
pub fn timeline<'a>(cal: &Calendar, records: &'a [StoredRecord]) -> Vec<TimelineEvent<'a>> {
    let mut views: Vec<(&StoredRecord, RecordView<'_>)> = records
        .iter()
        .filter_map(|r| r.view().ok().map(|v| (r, v)))
        .collect();
    views.sort_by_key(|(r, v)| (v.effective_at.unix_nanos, r.seq));
    views
        .into_iter()
        .map(|(r, v)| TimelineEvent {
            actor: v.actor,
            appended_at: cal.rfc3339(v.appended_at),
            appended_by: v.appended_by,
            data: serde_json::from_str(v.data).ok(),
            effective_at: cal.rfc3339(v.effective_at.unix_nanos),
            hash: ledger::interchange::to_hex(&r.hash),
            recorded_at: cal.rfc3339(v.recorded_or_appended().unix_nanos),
            seq: r.seq,
            event_type: v.event_type,
        })
        .collect()
}

/// Reads the records of the given streams (for the sample's timelines).
pub type RecordsOf<'a> =
    dyn FnMut(&[String]) -> std::collections::HashMap<String, Vec<StoredRecord>> + 'a;

/// Builds the report.
pub fn build(input: &ReportInput<'_>, records_of: &mut RecordsOf<'_>) -> Report {
    let eval = &input.eval;
    let params = eval.params;
    let cal = &params.calendar;
    let scope = Scope {
        year: Some(input.year),
        stream: None,
    };
    let sanctions = eval.sanctions(input.projection, scope);
    // Cases are counted as they are found, not kept: only the findings are.
    let tally = eval.tally(input.projection, scope);
    let summary = eval.summary(&sanctions, &tally);
    let monthly = eval.monthly(input.projection, input.year, &sanctions, &tally);
    let findings = tally.findings;
    let year_end = chrono::NaiveDate::from_ymd_opt(input.year, 12, 31).unwrap_or_default();

    let rules: Vec<Value> = summary
        .iter()
        .map(|s| {
            json!({
                "code": s.rule.code,
                "title": s.rule.title,
                "legal_basis": s.rule.legal_basis,
                "cases_examined": s.examined,
                "findings": s.findings,
                "error_rate_percent": s.error_rate().map(round2),
            })
        })
        .collect();
    let parameters: Vec<Value> = params
        .table
        .values()
        .map(|p| {
            json!({
                "name": p.name,
                "meaning": p.meaning,
                "value_at_year_end": p.at(year_end),
                "values": p.values.iter().map(|v| json!({"value": v.value, "from": v.from.map(|d| d.to_string()), "until": v.until.map(|d| d.to_string())})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sample = input.sample.as_ref().map(|req| {
        let pop = population(input, &sanctions, &findings);
        let drawn: Vec<Drawn> = req.draw(&pop);
        let wanted: Vec<String> = drawn.iter().map(|d| d.stream.clone()).collect();
        let records = records_of(&wanted);
        json!({
            "seed": req.seed,
            "size": req.size,
            "rule": req.rule,
            "population": pop.len(),
            "method": sample::METHOD,
            "cases": drawn.iter().map(|d| json!({
                "stream": d.stream,
                "key": d.key,
                "timeline": timeline_json(cal, records.get(&d.stream).map_or(&[][..], Vec::as_slice)),
                "findings": findings.iter().filter(|f| *f.stream == *d.stream).map(|f| finding_json(cal, f)).collect::<Vec<_>>(),
                "sanctions": sanctions.iter().filter(|s| s.stream == d.stream).map(|s| sanction_json(cal, s)).collect::<Vec<_>>(),
                "proofs": input.prove.map(|prove| sample_proofs(prove, sanctions.iter().filter(|s| s.stream == d.stream))),
            })).collect::<Vec<_>>(),
        })
    });
    let december = monthly.last();
    let mut source = Map::new();
    source.insert("kind".into(), json!(input.source.kind));
    source.insert("location".into(), json!(input.source.location));
    source.insert("records".into(), json!(input.source.records));
    source.insert(
        "chain_head".into(),
        match input.source.head {
            Some(h) => json!({"seq": h.seq, "hash": h.hash_hex()}),
            None => Value::Null,
        },
    );
    source.insert("checkpoint".into(), json!(input.source.checkpoint));
    let meta = json!({
        "report": "Garanti year report",
        "year": input.year,
        "generated_at": cal.rfc3339(input.generated_at),
        "program": {"name": "garanti", "version": input.program_version},
        "source": source,
        "as_of": eval.as_of.map(|t| cal.rfc3339(t)),
        "evaluated_at": cal.rfc3339(eval.eval_at(Some(input.year))),
        "time_zone": cal.tz.name(),
        "parameters": parameters,
        "generic_goals": params.generic_goals,
        "rules": rules,
        "monthly": monthly.iter().map(month_json).collect::<Vec<_>>(),
        "revocations": revocations(cal, &sanctions),
        "flexjob_timeliness": crate::output::flexjob_timeliness(eval, input.projection, input.year, eval.eval_at(Some(input.year))),
        "year_totals": {
            "sanctions": sanctions.len(),
            "sanctions_unlawful": sanctions.iter().filter(|s| !s.lawful).count(),
            "findings": findings.len(),
            "offer_starts_timely": monthly.iter().map(|m| m.offer_starts_timely).sum::<u64>(),
            "offer_starts_late": monthly.iter().map(|m| m.offer_starts_late).sum::<u64>(),
            "plans_updated": monthly.iter().map(|m| m.plans_updated).sum::<u64>(),
            "action_plans_updated": monthly.iter().map(|m| m.action_plans_updated).sum::<u64>(),
            "participants_active_at_year_end": december.map_or(0, |m| m.participants_active),
            "participants_with_plan_at_year_end": december.map_or(0, |m| m.participants_with_plan),
            "participants_with_joint_plan_at_year_end": december.map_or(0, |m| m.participants_with_joint_plan),
        },
        "sample": sample,
    });
    Report {
        meta,
        sanctions,
        findings,
        calendar: *cal,
    }
}

/// The year's revoked sanctions, counted by verdict, by the revocation's reason and by the reasons
/// they were unlawful, and listed: a lawful sanction quashed on appeal is as telling as an
/// unlawful one mended.
#[derive(Debug, Default, serde::Serialize)]
pub struct Revocations<'a> {
    pub count: usize,
    pub lawful: usize,
    pub unlawful: usize,
    /// By the reason the revocation gives (e.g. `appeal`): lawful and unlawful sanctions.
    pub by_revocation_reason: BTreeMap<&'a str, VerdictCount>,
    /// By the reason codes (RULES.md §1) of the unlawful ones.
    pub by_unlawful_reason: BTreeMap<&'static str, usize>,
    pub sanctions: Vec<RevokedSanction<'a>>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct VerdictCount {
    pub lawful: usize,
    pub unlawful: usize,
}

/// One revoked sanction.
#[derive(Debug, serde::Serialize)]
pub struct RevokedSanction<'a> {
    pub sanction_id: &'a str,
    pub stream: &'a str,
    pub verdict: &'static str,
    pub reasons: Vec<&'static str>,
    pub revoked_at: String,
    pub revocation_reason: &'a str,
    /// The `sanction_revoked` record.
    pub revocation_seq: u64,
}

fn revocations<'a>(
    cal: &Calendar,
    sanctions: &'a [projections::SanctionVerdict],
) -> Revocations<'a> {
    let mut out = Revocations::default();
    for s in sanctions {
        let Some(r) = &s.revocation else { continue };
        out.count += 1;
        let tally = out.by_revocation_reason.entry(&r.reason).or_default();
        if s.lawful {
            out.lawful += 1;
            tally.lawful += 1;
        } else {
            out.unlawful += 1;
            tally.unlawful += 1;
        }
        for reason in &s.reasons {
            *out.by_unlawful_reason.entry(reason.code()).or_default() += 1;
        }
        out.sanctions.push(RevokedSanction {
            sanction_id: &s.sanction_id,
            stream: &s.stream,
            verdict: crate::output::verdict_word(s),
            reasons: s.reasons.iter().map(|r| r.code()).collect(),
            revoked_at: cal.rfc3339(r.effective_at),
            revocation_reason: &r.reason,
            revocation_seq: r.seq,
        });
    }
    out
}

/// The inclusion proofs of the decisions and evidence of some sanctions, one per record.
fn sample_proofs<'s>(
    prove: &dyn Fn(u64) -> Option<ledger::proof::EntryProof>,
    sanctions: impl Iterator<Item = &'s projections::SanctionVerdict>,
) -> Vec<Value> {
    let mut seqs: Vec<u64> = sanctions.flat_map(crate::output::proved_seqs).collect();
    seqs.sort_unstable();
    seqs.dedup();
    seqs.into_iter()
        .filter_map(prove)
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect()
}

/// A year report: its small parts as JSON, and its two long lists (every sanction, every finding)
/// kept as they are and turned into JSON one item at a time when written, so that a report of
/// millions of events never holds a second copy of them.
pub struct Report {
    meta: Value,
    sanctions: Vec<projections::SanctionVerdict>,
    findings: Vec<projections::Finding>,
    calendar: Calendar,
}

impl std::ops::Index<&str> for Report {
    type Output = Value;

    /// The report's small parts by key (`year`, `source`, `rules`, `monthly`, ...).
    fn index(&self, key: &str) -> &Value {
        &self.meta[key]
    }
}

impl Report {
    pub fn sanctions_json(&self) -> impl Iterator<Item = Value> + '_ {
        self.sanctions
            .iter()
            .map(|s| sanction_json(&self.calendar, s))
    }

    pub fn findings_json(&self) -> impl Iterator<Item = Value> + '_ {
        self.findings
            .iter()
            .map(|f| finding_json(&self.calendar, f))
    }

    pub fn sanction_count(&self) -> usize {
        self.sanctions.len()
    }

    pub fn finding_count(&self) -> usize {
        self.findings.len()
    }
}

impl serde::Serialize for Report {
    /// The same JSON as one object with every key in sorted order.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let cal = &self.calendar;
        let Value::Object(meta) = &self.meta else {
            return self.meta.serialize(serializer);
        };
        let mut keys: Vec<&str> = meta
            .keys()
            .map(String::as_str)
            .chain(["findings", "sanctions"])
            .collect();
        keys.sort_unstable();
        let mut map = serializer.serialize_map(Some(keys.len()))?;
        for key in keys {
            match key {
                "findings" => map.serialize_entry(key, &Written::new(cal, &self.findings[..]))?,
                "sanctions" => map.serialize_entry(key, &Written::new(cal, &self.sanctions[..]))?,
                other => map.serialize_entry(other, &meta[other])?,
            }
        }
        map.end()
    }
}

/// The findings of a report as CSV.
pub fn findings_csv(report: &Report, dialect: crate::output::CsvDialect) -> String {
    crate::output::findings_csv(dialect, &report.calendar, &report.findings)
}
