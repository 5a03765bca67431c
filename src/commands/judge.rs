//! `garanti sanctions`, `findings`, `explain` and `rules`: the rules' output contract.

use super::{parse_time, Context};
use crate::output::table;
use crate::{Format, EXIT_FOUND, EXIT_OK};
use anyhow::{bail, Result};
use projections::rules::catalogue::{self, Reason};
use projections::{Evaluation, Scope};
use replay::output::{verdict_word, Described, Written};

fn evaluation<'a>(ctx: &'a Context, as_of: Option<&str>) -> Result<Evaluation<'a>> {
    Ok(Evaluation {
        params: &ctx.params,
        as_of: as_of.map(|t| parse_time(t, "--as-of")).transpose()?,
        now: ctx.now,
    })
}

fn seqs(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
}

#[allow(clippy::too_many_arguments)]
pub fn sanctions(
    ctx: &Context,
    year: Option<i32>,
    stream: Option<&str>,
    lawful: Option<bool>,
    as_of: Option<&str>,
    format: Format,
    fail: bool,
) -> Result<u8> {
    let eval = evaluation(ctx, as_of)?;
    let projection = crate::load::projection(ctx)?;
    let mut verdicts = eval.sanctions(&projection, Scope { year, stream });
    verdicts.retain(|s| lawful.is_none_or(|l| s.lawful == l));
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&Written::new(&ctx.params.calendar, verdicts.as_slice()))?
        ),
        Format::Table | Format::Csv => {
            let headers = [
                "sanction_id",
                "stream",
                "decided_at",
                "verdict",
                "reasons",
                "warnings",
                "revoked",
                "evidence",
            ];
            let rows: Vec<Vec<String>> = verdicts
                .iter()
                .map(|s| {
                    vec![
                        s.sanction_id.clone(),
                        s.stream.clone(),
                        ctx.params.calendar.rfc3339(s.decided_at),
                        verdict_word(s).to_owned(),
                        s.reasons
                            .iter()
                            .map(|r| r.code())
                            .collect::<Vec<_>>()
                            .join(" "),
                        s.warnings().join(" "),
                        s.revoked().to_string(),
                        seqs(&s.evidence),
                    ]
                })
                .collect();
            if format == Format::Csv {
                out!("{}", ctx.csv(&headers, &rows));
            } else {
                out!("{}", table(&headers, &rows));
                let unlawful = verdicts.iter().filter(|s| !s.lawful).count();
                outln!("{} sanctions, {unlawful} unlawful", verdicts.len());
            }
        }
    }
    Ok(if fail && verdicts.iter().any(|s| !s.lawful) {
        EXIT_FOUND
    } else {
        EXIT_OK
    })
}

pub fn findings(
    ctx: &Context,
    year: Option<i32>,
    rule: Option<&str>,
    stream: Option<&str>,
    as_of: Option<&str>,
    format: Format,
    fail: bool,
) -> Result<u8> {
    if let Some(code) = rule {
        if let Err(m) = catalogue::finding_rule(code) {
            bail!("--rule {m} (sanction verdicts: `garanti sanctions`)");
        }
    }
    let eval = evaluation(ctx, as_of)?;
    let projection = crate::load::projection(ctx)?;
    let mut found = eval.findings(&projection, Scope { year, stream });
    found.retain(|f| rule.is_none_or(|r| r == f.rule));
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&Written::new(&ctx.params.calendar, found.as_slice()))?
        ),
        Format::Table | Format::Csv => {
            let headers = ["date", "rule", "stream", "evidence", "message"];
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|f| {
                    vec![
                        f.date.to_string(),
                        f.rule.to_owned(),
                        f.stream.to_string(),
                        seqs(&f.evidence),
                        f.message.clone(),
                    ]
                })
                .collect();
            if format == Format::Csv {
                out!(
                    "{}",
                    replay::output::findings_csv(ctx.csv, &ctx.params.calendar, &found)
                );
            } else {
                out!("{}", table(&headers, &rows));
                outln!("{} findings", found.len());
            }
        }
    }
    Ok(if fail && !found.is_empty() {
        EXIT_FOUND
    } else {
        EXIT_OK
    })
}

pub fn explain(
    ctx: &Context,
    sanction_id: &str,
    as_of: Option<&str>,
    format: Format,
) -> Result<u8> {
    let eval = evaluation(ctx, as_of)?;
    let projection = crate::load::projection(ctx)?;
    let Some(s) = eval.sanction(&projection, sanction_id) else {
        bail!(
            "no sanction {sanction_id:?} in the ledger{}; `garanti sanctions` lists them",
            if as_of.is_some() {
                " as of that time"
            } else {
                ""
            }
        );
    };
    let cal = &ctx.params.calendar;
    let described = Described::of(cal, &projection, &s);
    let explained = described.explain(cal, &s);
    if format != Format::Table {
        // Through a `Value`, so that the keys come out sorted.
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::to_value(&explained)?)?
        );
        return Ok(EXIT_OK);
    }
    outln!(
        "Sanction {} on {}: {} for absence from offer {}, decided {}{}",
        s.sanction_id,
        s.stream,
        s.kind,
        s.offer_id,
        cal.rfc3339(s.decided_at),
        s.seq.map(|q| format!(" (seq {q})")).unwrap_or_default()
    );
    outln!(
        "Verdict: {}{}",
        verdict_word(&s).to_uppercase(),
        if s.revoked() { " (revoked since)" } else { "" }
    );
    if !s.reasons.is_empty() {
        outln!("\nReasons:");
        for r in &s.reasons {
            outln!(
                "  {} - {}.\n      Legal basis: {}",
                r.code(),
                r.meaning(),
                r.legal_basis()
            );
        }
    }
    outln!("\nConditions checked:");
    for c in &explained.checks {
        outln!(
            "  [{}] {}: {}",
            if c.met { "ok" } else { "FAILED" },
            c.condition,
            c.detail
        );
        for e in &c.events {
            outln!(
                "        seq {} {} (effective {}, recorded {})",
                e.seq,
                e.event_type,
                e.effective_at,
                e.recorded_at
            );
        }
    }
    let skipped: Vec<Reason> = Reason::ALL
        .iter()
        .copied()
        .filter(|r| !s.checks.iter().any(|c| c.reason == *r))
        .collect();
    if !skipped.is_empty() {
        outln!(
            "  (not applicable here: {})",
            skipped
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    outln!("\nEvidence (the events the verdict rests on):");
    for e in &explained.evidence_events {
        outln!(
            "  seq {:<6} {:<26} effective {}  recorded {}",
            e.seq,
            e.event_type,
            e.effective_at,
            e.recorded_at
        );
    }
    let seqs = |seqs: &[u64]| {
        seqs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !s.recorded_after.is_empty() {
        outln!("\nWarning: evidence_recorded_after_decision: seq {} claims to have been recorded after the decision was; the facts may be true, but a revisor should look at it.", seqs(&s.recorded_after));
    }
    if let (false, Some(decision)) = (s.logged_after.is_empty(), s.seq) {
        outln!("\nWarning: evidence_logged_after_decision: seq {} reached the ledger after the decision (seq {decision}), whatever it claims of its recording; the facts may be true, but a revisor should look at it.", seqs(&s.logged_after));
    }
    Ok(EXIT_OK)
}

pub fn rules(ctx: &Context, at: Option<&str>, format: Format) -> Result<u8> {
    let date = match at {
        Some(text) => match projections::event::parse_date(text) {
            Some(d) => d,
            None => bail!("--at {text:?} is not a date YYYY-MM-DD"),
        },
        None => ctx.params.calendar.date(ctx.now),
    };
    let p = &ctx.params;
    let param_value = |name: &str| -> String {
        if name == "generic_goals" {
            format!("{:?}", p.generic_goals)
        } else {
            p.at(name, date).to_string()
        }
    };
    match format {
        Format::Json => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&replay::output::rules_json(p, date))?
            );
        }
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = catalogue::RULES
                .iter()
                .map(|r| {
                    vec![
                        r.code.to_owned(),
                        r.parameters
                            .iter()
                            .map(|n| format!("{n}={}", param_value(n)))
                            .collect::<Vec<_>>()
                            .join(" "),
                        r.legal_basis.to_owned(),
                    ]
                })
                .collect();
            let headers = ["rule", "parameters in force", "legal basis"];
            if format == Format::Csv {
                out!("{}", ctx.csv(&headers, &rows));
                return Ok(EXIT_OK);
            }
            outln!(
                "Rules in force on {date} (time zone {}):\n",
                p.calendar.tz.name()
            );
            out!("{}", table(&headers, &rows));
            outln!("\nReasons a sanction is unlawful (dk.sanction):\n");
            let reasons: Vec<Vec<String>> = Reason::ALL
                .iter()
                .map(|r| vec![r.code().to_owned(), r.legal_basis().to_owned()])
                .collect();
            out!("{}", table(&["reason", "legal basis"], &reasons));
        }
    }
    Ok(EXIT_OK)
}
