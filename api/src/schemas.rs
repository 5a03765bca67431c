//! The shapes of the API's JSON answers, for the OpenAPI document. The answers themselves are
//! written by `replay::output` and the handlers; `api/tests/router.rs` checks every answer of the
//! route tests against the schema declared for it, so these cannot drift from them.
#![allow(dead_code)] // Read by utoipa's derive only.

use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A record's place: its seq and its stream's version.
#[derive(ToSchema)]
pub struct Position {
    pub seq: u64,
    pub stream: String,
    pub stream_version: u64,
}

/// The chain head: the last record's seq and hash (null in an empty ledger).
#[derive(ToSchema)]
pub struct ChainHead {
    pub seq: u64,
    /// 64 lower-case hex digits.
    pub hash: String,
}

/// `POST /v1/events`: each event's place, and the head after the append.
#[derive(ToSchema)]
pub struct AppendAnswer {
    pub events: Vec<Position>,
    pub head: Option<ChainHead>,
}

/// `GET /v1/ledger/head`.
#[derive(ToSchema)]
pub struct Head {
    pub seq: Option<u64>,
    pub hash: Option<String>,
    pub records: u64,
}

/// A sanction's verdict.
#[derive(ToSchema)]
pub struct SanctionVerdict {
    pub sanction_id: String,
    pub stream: String,
    pub offer_id: String,
    /// `reduction`, `stop` or `tightened_availability`.
    pub kind: String,
    #[schema(format = DateTime)]
    pub decided_at: String,
    /// The decision's seq (null for an intended sanction).
    pub seq: Option<u64>,
    /// `lawful` or `unlawful`.
    pub verdict: String,
    /// Reason codes (RULES.md §1): why it is unlawful.
    pub reasons: Vec<String>,
    /// The legal basis of each reason.
    pub legal_basis: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    /// With that warning only: the seqs of the evidence that reached the ledger after the
    /// decision.
    pub evidence_logged_after_decision: Option<Vec<u64>>,
    /// With that warning only: the seqs of the evidence recorded after the decision was.
    pub evidence_recorded_after_decision: Option<Vec<u64>>,
    pub revoked: bool,
    /// The seqs of the events the verdict rests on.
    pub evidence: Vec<Option<u64>>,
}

/// One condition checked, in words, with the events it rests on.
#[derive(ToSchema)]
pub struct Check {
    pub condition: String,
    pub met: bool,
    pub detail: String,
    pub legal_basis: String,
    pub events: Vec<EventRef>,
}

/// An event a verdict rests on (`seq` null: the absence given in a check request).
#[derive(ToSchema)]
pub struct EventRef {
    pub seq: Option<u64>,
    #[schema(rename = "type")]
    pub event_type: String,
    #[schema(format = DateTime)]
    pub effective_at: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

/// A verdict with its explanation (`garanti explain`): the verdict's fields, each condition
/// checked, and the events it rests on.
#[derive(ToSchema)]
pub struct Explanation {
    #[serde(flatten)]
    pub verdict: SanctionVerdict,
    pub checks: Vec<Check>,
    pub evidence_events: Vec<EventRef>,
    /// Present (true) on the answer of a check: the sanction is intended, not recorded.
    pub intended: Option<bool>,
}

/// A finding: one thing an auditor would remark on.
#[derive(ToSchema)]
pub struct Finding {
    pub rule: String,
    pub stream: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(format = Date)]
    pub date: String,
    pub evidence: Vec<u64>,
    pub legal_basis: String,
    pub message: String,
}

/// A page of a list.
#[derive(ToSchema)]
pub struct SanctionPage {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    /// The offset of the next page; null on the last.
    pub next_offset: Option<u64>,
    pub items: Vec<SanctionVerdict>,
}

/// A page of findings.
#[derive(ToSchema)]
pub struct FindingPage {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub next_offset: Option<u64>,
    pub items: Vec<Finding>,
}

/// One event of a case, as the ledger holds it.
#[derive(ToSchema)]
pub struct CaseEvent {
    pub seq: u64,
    pub hash: String,
    #[schema(rename = "type")]
    pub event_type: String,
    pub actor: String,
    #[schema(format = DateTime)]
    pub effective_at: String,
    /// The source's recorded time, or else the time of the append.
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// The ledger's clock when it was appended.
    #[schema(format = DateTime)]
    pub appended_at: String,
    pub appended_by: String,
    pub data: BTreeMap<String, serde_json::Value>,
}

/// `GET /v1/streams/{stream}`: a case's events in effective order, its verdicts and findings.
#[derive(ToSchema)]
pub struct Case {
    pub stream: String,
    pub events: Vec<CaseEvent>,
    pub sanctions: Vec<SanctionVerdict>,
    pub findings: Vec<Finding>,
}

/// One record of an export page (docs/FORMAT.md §3).
#[derive(ToSchema)]
pub struct ExportRecord {
    pub seq: u64,
    pub stream: String,
    pub stream_version: u64,
    #[schema(rename = "type")]
    pub event_type: String,
    #[schema(format = DateTime)]
    pub effective_at: String,
    #[schema(format = DateTime)]
    pub recorded_at: Option<String>,
    pub actor: String,
    pub data: BTreeMap<String, serde_json::Value>,
    #[schema(format = DateTime)]
    pub appended_at: String,
    pub appended_by: String,
    pub prev_hash: String,
    pub hash: String,
    /// The stored bytes, lower-case hex.
    pub record: String,
}

/// `GET /v1/ledger/events`.
#[derive(ToSchema)]
pub struct ExportPage {
    pub from: u64,
    pub next_from: Option<u64>,
    pub head: Head,
    pub records: Vec<ExportRecord>,
}

/// `GET /v1/ledger/verify`: intact with the head and the tree's root, or the first fault.
#[derive(ToSchema)]
pub struct VerifyAnswer {
    pub intact: bool,
    pub head: Option<Head>,
    pub records: Option<u64>,
    /// The Merkle tree's root recomputed from the records (base64).
    pub tree_root: Option<String>,
    pub fault: Option<BTreeMap<String, serde_json::Value>>,
}

/// A deadline still open.
#[derive(ToSchema)]
pub struct OpenDeadline {
    pub stream: String,
    /// What is due, in words (`indsatsplan`, `flexjob reassessment`, ...).
    pub deadline: String,
    pub rule: String,
    #[schema(format = Date)]
    pub due: String,
    pub days_left: i64,
    #[schema(format = DateTime)]
    pub opened_at: String,
    pub evidence: Vec<u64>,
}

/// The flexjob deadlines of one month that fell due, met in time or late.
#[derive(ToSchema)]
pub struct MonthlyTimeliness {
    /// `YYYY-MM`.
    pub month: String,
    pub forwardings_in_time: u64,
    pub forwardings_late: u64,
    pub reassessments_in_time: u64,
    pub reassessments_late: u64,
}

/// `GET /v1/deadlines`.
#[derive(ToSchema)]
pub struct Deadlines {
    #[schema(format = DateTime)]
    pub at: String,
    pub open: Vec<OpenDeadline>,
    pub monthly_timeliness: Vec<MonthlyTimeliness>,
}

/// A rule of the catalogue.
#[derive(ToSchema)]
pub struct Rule {
    pub code: String,
    /// `dk`, `se` or `kpi`.
    pub pack: String,
    pub title: String,
    pub legal_basis: String,
    /// Its parameters and their values in force.
    pub parameters: BTreeMap<String, String>,
}

/// A reason a sanction is unlawful.
#[derive(ToSchema)]
pub struct SanctionReason {
    pub code: String,
    pub meaning: String,
    pub legal_basis: String,
}

/// A dated value of a parameter.
#[derive(ToSchema)]
pub struct ParameterValue {
    pub value: i64,
    #[schema(format = Date)]
    pub from: Option<String>,
    #[schema(format = Date)]
    pub until: Option<String>,
}

/// A rule parameter: its value in force and every dated value.
#[derive(ToSchema)]
pub struct Parameter {
    pub name: String,
    pub meaning: String,
    pub value: i64,
    pub values: Vec<ParameterValue>,
}

/// `GET /v1/rules`.
#[derive(ToSchema)]
pub struct Rules {
    #[schema(format = Date)]
    pub at: String,
    pub time_zone: String,
    pub rules: Vec<Rule>,
    pub sanction_reasons: Vec<SanctionReason>,
    pub parameters: Vec<Parameter>,
}

/// One record with its inclusion proof.
#[derive(ToSchema)]
pub struct EntryProof {
    /// Its index in the tree (its seq).
    pub index: u64,
    /// The record's stored bytes, hex.
    pub record: String,
    /// The inclusion proof's hashes, standard padded base64, the leaf's sibling first.
    pub inclusion: Vec<String>,
}

/// `GET /v1/ledger/proof`: one record under a signed checkpoint (`garanti prove SEQ`).
#[derive(ToSchema)]
pub struct InclusionBundle {
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    #[serde(flatten)]
    pub entry: EntryProof,
}

/// `GET /v1/sanctions/{id}/proof`: the decision and every evidence event of the verdict.
#[derive(ToSchema)]
pub struct RecordsBundle {
    pub sanction_id: String,
    pub verdict: SanctionVerdict,
    pub checkpoint: String,
    pub proofs: Vec<EntryProof>,
}

/// The program that made a report.
#[derive(ToSchema)]
pub struct ReportProgram {
    /// `garanti`.
    pub name: String,
    pub version: String,
}

/// What a report was made from.
#[derive(ToSchema)]
pub struct ReportSource {
    /// `ledger` or `export`.
    pub kind: String,
    pub location: String,
    pub records: u64,
    pub chain_head: Option<ChainHead>,
    /// The signed checkpoint (C2SP signed note) of exactly these records, if there is one.
    pub checkpoint: Option<String>,
}

/// A rule parameter as a report states it: its value at the year's end and every dated value.
#[derive(ToSchema)]
pub struct ReportParameter {
    pub name: String,
    pub meaning: String,
    pub value_at_year_end: i64,
    pub values: Vec<ParameterValue>,
}

/// One rule's year: cases examined, findings and their share.
#[derive(ToSchema)]
pub struct RuleSummary {
    pub code: String,
    pub title: String,
    pub legal_basis: String,
    pub cases_examined: u64,
    pub findings: u64,
    /// Findings per case examined, in percent with two decimals (null: no case examined).
    pub error_rate_percent: Option<f64>,
}

/// One month of the year (RULES.md §5 and §6).
#[derive(ToSchema)]
pub struct ReportMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub sanctions_lawful: u64,
    pub sanctions_unlawful: u64,
    pub offer_starts_timely: u64,
    pub offer_starts_late: u64,
    pub open_deadlines: u64,
    pub participants_active: u64,
    pub participants_with_plan: u64,
    pub participants_without_plan: u64,
    pub participants_with_joint_plan: u64,
    pub action_plans_updated: u64,
    pub plans_updated: u64,
}

/// The year's totals.
#[derive(ToSchema)]
pub struct YearTotals {
    pub sanctions: u64,
    pub sanctions_unlawful: u64,
    pub findings: u64,
    pub offer_starts_timely: u64,
    pub offer_starts_late: u64,
    pub plans_updated: u64,
    pub action_plans_updated: u64,
    pub participants_active_at_year_end: u64,
    pub participants_with_plan_at_year_end: u64,
    pub participants_with_joint_plan_at_year_end: u64,
}

/// Lawful and unlawful sanctions.
#[derive(ToSchema)]
pub struct VerdictCount {
    pub lawful: u64,
    pub unlawful: u64,
}

/// A revoked sanction of the year.
#[derive(ToSchema)]
pub struct RevokedSanction {
    pub sanction_id: String,
    pub stream: String,
    /// `lawful` or `unlawful`.
    pub verdict: String,
    pub reasons: Vec<String>,
    #[schema(format = DateTime)]
    pub revoked_at: String,
    pub revocation_reason: String,
    /// The seq of the `sanction_revoked`.
    pub revocation_seq: u64,
}

/// The year's revoked sanctions, counted and listed.
#[derive(ToSchema)]
pub struct Revocations {
    pub count: u64,
    pub lawful: u64,
    pub unlawful: u64,
    /// By the reason the revocation gives.
    pub by_revocation_reason: BTreeMap<String, VerdictCount>,
    /// By the reason codes of the unlawful ones.
    pub by_unlawful_reason: BTreeMap<String, u64>,
    pub sanctions: Vec<RevokedSanction>,
}

/// A case drawn for the sample, with what the revisor checks by hand.
#[derive(ToSchema)]
pub struct SampledCase {
    pub stream: String,
    /// The case's sort key in the draw (hex).
    pub key: String,
    pub timeline: Vec<CaseEvent>,
    pub findings: Vec<Finding>,
    pub sanctions: Vec<SanctionVerdict>,
    /// The inclusion proofs of its sanctions' decisions and evidence (with `prove`).
    pub proofs: Option<Vec<EntryProof>>,
}

/// The reproducible sample of a report.
#[derive(ToSchema)]
pub struct ReportSample {
    pub seed: String,
    pub size: u64,
    /// The rule whose cases were drawn from (null: every case with a finding or sanction).
    pub rule: Option<String>,
    /// Cases drawn from.
    pub population: u64,
    pub method: String,
    pub cases: Vec<SampledCase>,
}

/// `GET /v1/reports/{year}`: the JSON report of `garanti report`, tied to the chain head it
/// was made from.
#[derive(ToSchema)]
pub struct YearReport {
    /// `Garanti year report`.
    pub report: String,
    pub year: i32,
    #[schema(format = DateTime)]
    pub generated_at: String,
    pub program: ReportProgram,
    pub source: ReportSource,
    #[schema(format = DateTime)]
    pub as_of: Option<String>,
    /// The time the year was judged at: the year's end, or `as_of`, or now if sooner.
    #[schema(format = DateTime)]
    pub evaluated_at: String,
    pub time_zone: String,
    pub parameters: Vec<ReportParameter>,
    /// Plan goals too vague to follow up (`dk.minplan.generic_goal`).
    pub generic_goals: Vec<String>,
    pub rules: Vec<RuleSummary>,
    pub monthly: Vec<ReportMonth>,
    pub revocations: Revocations,
    /// The flexjob deadlines that fell due in each month, met in time or late (RULES.md §4).
    pub flexjob_timeliness: Vec<MonthlyTimeliness>,
    pub year_totals: YearTotals,
    pub sample: Option<ReportSample>,
    pub sanctions: Vec<SanctionVerdict>,
    pub findings: Vec<Finding>,
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`, `degraded` or `shutting down`.
    pub status: String,
    pub head_seq: Option<u64>,
    /// `ok`, `full` (the disk) or `failing`.
    pub storage: Option<String>,
    pub detail: Option<String>,
}
