//! The revisors' commands: `report`, `sample`, `timeline`, `deadlines`.

use super::{parse_time, Context};
use crate::output::table;
use crate::{Format, EXIT_OK};
use anyhow::{bail, Context as _, Result};
use ledger::StoredRecord;
use projections::{Evaluation, Scope};
use replay::load::Loaded;
use replay::report::{ReportInput, SampleRequest, Source};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

/// Output formats of a report.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Xlsx,
    Json,
    Csv,
}

/// The events to work on: the data directory's ledger, or an export file (no store needed).
fn load(ctx: &Context, export: Option<&Path>) -> Result<(Loaded, Source, Option<ledger::Ledger>)> {
    match export {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let bar = ctx.progress(file.metadata().ok().map(|m| m.len()), "replaying export");
            let loaded = replay::load::project_export(
                std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(file)),
                &mut |_| {},
            )?;
            bar.finish_and_clear();
            let source = Source {
                kind: "export",
                location: path.display().to_string(),
                head: loaded.head,
                records: loaded.records,
                checkpoint: None,
            };
            Ok((loaded, source, None))
        }
        None => {
            let ledger = ctx.open()?;
            let loaded = crate::load::loaded(ctx, &ledger)?;
            // The signed checkpoint of exactly these records: the one given, or a kept one.
            let checkpoint = match &ctx.at {
                Some(at) => Some(at.note.clone()),
                None => ledger
                    .checkpoint(loaded.records)?
                    .filter(|_| loaded.records > 0)
                    .map(|k| k.note),
            };
            let source = Source {
                kind: "ledger",
                location: ctx.data.display().to_string(),
                head: loaded.head,
                records: loaded.records,
                checkpoint,
            };
            Ok((loaded, source, Some(ledger)))
        }
    }
}

/// A report of a year the ledger holds no events of would look clean: it is refused, saying what
/// the ledger holds.
fn check_has_events(ctx: &Context, loaded: &Loaded, year: i32) -> Result<()> {
    use chrono::Datelike as _;
    let cal = &ctx.params.calendar;
    let mut years: Option<(i32, i32)> = None;
    for (_, facts) in loaded.projection.streams() {
        for f in &facts.facts {
            let y = cal.date(f.effective_at).year();
            if y == year {
                return Ok(());
            }
            years = Some(years.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))));
        }
    }
    match years {
        None => bail!("the ledger holds no events: there is nothing to report (import events first)"),
        Some((lo, hi)) => bail!(
            "the ledger holds no events dated in {year} (its events are dated {lo}–{hi}): a report of {year} would have nothing to judge"
        ),
    }
}

/// Reads the records of some streams, from the ledger's stream index or from a second pass over
/// the export file.
fn records_of(
    ctx: &Context,
    export: Option<&Path>,
    open: Option<&ledger::Ledger>,
    streams: &[String],
) -> Result<HashMap<String, Vec<StoredRecord>>> {
    let mut out: HashMap<String, Vec<StoredRecord>> =
        streams.iter().map(|s| (s.clone(), Vec::new())).collect();
    match export {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            ledger::export::read_export(std::io::BufReader::new(file), &mut |r| {
                if let Ok(view) = r.view() {
                    if let Some(list) = out.get_mut(view.stream) {
                        list.push(r.clone());
                    }
                }
            })
            .map_err(|f| anyhow::anyhow!("the export is broken at seq {}: {}", f.seq, f.kind))?;
        }
        None => {
            let opened;
            let ledger = match open {
                Some(l) => l,
                None => {
                    opened = ctx.open()?;
                    &opened
                }
            };
            for s in streams {
                out.insert(s.clone(), ledger.stream(s)?);
            }
        }
    }
    Ok(out)
}

/// What a report of `year` is made from, generated now by this program.
pub fn report_input<'a>(
    ctx: &Context,
    loaded: &'a Loaded,
    eval: Evaluation<'a>,
    year: i32,
    source: Source,
    sample: Option<SampleRequest>,
) -> ReportInput<'a> {
    ReportInput {
        prove: None,
        projection: &loaded.projection,
        eval,
        year,
        source,
        generated_at: ctx.now,
        program_version: env!("CARGO_PKG_VERSION"),
        sample,
    }
}

fn evaluation<'a>(ctx: &'a Context, as_of: Option<&str>) -> Result<Evaluation<'a>> {
    Ok(Evaluation {
        params: &ctx.params,
        as_of: as_of.map(|t| parse_time(t, "--as-of")).transpose()?,
        now: ctx.now,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn report(
    ctx: &Context,
    year: i32,
    as_of: Option<&str>,
    format: Option<ReportFormat>,
    out: Option<&Path>,
    export: Option<&Path>,
    sample: Option<SampleRequest>,
) -> Result<u8> {
    // `--out -` is standard output, as everywhere else.
    let out = out.filter(|p| *p != Path::new("-"));
    let format = match (
        format,
        out.and_then(|p| p.extension()).and_then(|e| e.to_str()),
    ) {
        (Some(f), _) => f,
        (None, Some("html" | "htm")) => ReportFormat::Html,
        (None, Some("xlsx")) => ReportFormat::Xlsx,
        (None, Some("csv")) => ReportFormat::Csv,
        (None, Some("pdf")) => {
            bail!("a PDF report is not made yet: write --out FILE.html and print it from a browser")
        }
        _ => ReportFormat::Json,
    };
    if format == ReportFormat::Xlsx && out.is_none() {
        bail!("an XLSX report needs --out FILE.xlsx");
    }
    let eval = evaluation(ctx, as_of)?;
    let (loaded, source, ledger) = load(ctx, export)?;
    check_has_events(ctx, &loaded, year)?;
    // With a signed checkpoint of these records, the sample's evidence comes with its proofs.
    let size = loaded.records;
    let prove = |seq: u64| ledger.as_ref()?.entry_proof(seq, size).ok();
    let provable = source.checkpoint.is_some() && ledger.is_some();
    let mut input = report_input(ctx, &loaded, eval, year, source, sample);
    input.prove = provable.then_some(&prove as &dyn Fn(u64) -> Option<_>);
    let mut failure = None;
    let report = replay::report::build(&input, &mut |streams| match records_of(
        ctx,
        export,
        ledger.as_ref(),
        streams,
    ) {
        Ok(r) => r,
        Err(e) => {
            failure = Some(e);
            HashMap::new()
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    // JSON is written straight from the report's value: no second copy of a large report.
    let mut sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = std::io::BufWriter::with_capacity(1 << 20, &mut sink);
    let written = match format {
        ReportFormat::Json => serde_json::to_writer_pretty(&mut sink, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| sink.write_all(b"\n")),
        ReportFormat::Csv => {
            sink.write_all(replay::report::findings_csv(&report, ctx.csv).as_bytes())
        }
        ReportFormat::Html => sink.write_all(replay::html::render(&report).as_bytes()),
        ReportFormat::Xlsx => sink.write_all(&replay::xlsx::render(&report)?),
    };
    match written.and_then(|()| sink.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && out.is_none() => {
            return Ok(EXIT_OK)
        }
        other => other.context("cannot write the report")?,
    }
    if let Some(path) = out {
        let head = &report["source"]["chain_head"];
        eprintln!(
            "wrote the {year} report to {} ({} sanctions, {} findings; chain head seq {} hash {})",
            path.display(),
            report["year_totals"]["sanctions"],
            report["year_totals"]["findings"],
            head["seq"],
            head["hash"].as_str().unwrap_or("-")
        );
    }
    Ok(EXIT_OK)
}

pub fn sample(
    ctx: &Context,
    (year, list_population): (i32, bool),
    request: SampleRequest,
    as_of: Option<&str>,
    export: Option<&Path>,
    format: Format,
) -> Result<u8> {
    let eval = evaluation(ctx, as_of)?;
    let (loaded, source, _) = load(ctx, export)?;
    let scope = Scope {
        year: Some(year),
        stream: None,
    };
    let findings = eval.findings(&loaded.projection, scope);
    if let Some(rule) = &request.rule {
        if projections::rules::catalogue::rule(rule).is_none() {
            bail!("--rule {rule:?} is not a rule code; `garanti rules` lists them");
        }
    }
    let input = report_input(ctx, &loaded, eval, year, source, Some(request.clone()));
    let sanctions = if request.rule.as_deref() == Some(projections::rules::catalogue::SANCTION) {
        eval.sanctions(&loaded.projection, scope)
    } else {
        Vec::new()
    };
    let population = replay::report::population(&input, &sanctions, &findings);
    let drawn = request.draw(&population);
    // The whole population with each case's key and, if drawn, its place in the sample.
    let listed: Vec<(String, String, String)> = match list_population {
        true => population
            .iter()
            .map(|s| {
                let rank = drawn.iter().position(|d| d.stream == *s);
                let key = replay::sample::key(&request.seed, s);
                (
                    s.clone(),
                    key,
                    rank.map_or(String::new(), |r| (r + 1).to_string()),
                )
            })
            .collect(),
        false => Vec::new(),
    };
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "year": year, "seed": request.seed, "size": request.size, "rule": request.rule,
                "examined": request.examined, "per_municipality": request.per_municipality,
                "population": population.len(), "method": replay::sample::METHOD,
                "chain_head": input.source.head.map(|h| json!({"seq": h.seq, "hash": h.hash_hex()})),
                "cases": drawn.iter().map(|d| json!({"stream": d.stream, "key": d.key})).collect::<Vec<_>>(),
                "population_cases": list_population.then(|| listed.iter().map(|(s, k, _)| json!({"stream": s, "key": k})).collect::<Vec<_>>()),
            }))?
        ),
        Format::Csv if list_population => {
            let rows: Vec<Vec<String>> =
                listed.into_iter().map(|(s, k, r)| vec![s, k, r]).collect();
            out!("{}", ctx.csv(&["stream", "key", "rank"], &rows));
        }
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = drawn
                .iter()
                .enumerate()
                .map(|(i, d)| vec![(i + 1).to_string(), d.stream.clone(), d.key.clone()])
                .collect();
            if format == Format::Csv {
                out!("{}", ctx.csv(&["rank", "stream", "key"], &rows));
            } else {
                outln!(
                    "Sample of {} of {} streams ({}), seed {:?}:",
                    drawn.len(),
                    population.len(),
                    request
                        .rule
                        .as_deref()
                        .unwrap_or("streams with events in the year"),
                    request.seed
                );
                out!("{}", table(&["rank", "stream", "key"], &rows));
                outln!("Method: {}", replay::sample::METHOD);
                if list_population {
                    outln!(
                        "\nThe population ({} streams), with each one's key and rank if drawn:",
                        listed.len()
                    );
                    let rows: Vec<Vec<String>> =
                        listed.into_iter().map(|(s, k, r)| vec![s, k, r]).collect();
                    out!("{}", table(&["stream", "key", "rank"], &rows));
                }
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn timeline(ctx: &Context, stream: &str, export: Option<&Path>, format: Format) -> Result<u8> {
    ledger::interchange::check_stream_id(stream).map_err(|m| anyhow::anyhow!("stream {m}"))?;
    let eval = evaluation(ctx, None)?;
    let (loaded, _, _) = load(ctx, export)?;
    if loaded.projection.stream(stream).is_none() {
        bail!("no events on stream {stream}");
    }
    let cal = &ctx.params.calendar;
    let records = records_of(ctx, export, None, &[stream.to_owned()])?
        .remove(stream)
        .unwrap_or_default();
    let case = serde_json::to_value(replay::output::case_json(
        &eval,
        &loaded.projection,
        stream,
        &records,
    ))?;
    if format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(&case)?);
        return Ok(EXIT_OK);
    }
    let events = case["events"].as_array().cloned().unwrap_or_default();
    let scope = Scope {
        year: None,
        stream: Some(stream),
    };
    let sanctions = eval.sanctions(&loaded.projection, scope);
    let findings = eval.findings(&loaded.projection, scope);
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            vec![
                s("effective_at"),
                s("recorded_at"),
                e["seq"].to_string(),
                s("type"),
                e["data"].to_string(),
                s("hash")[..16].to_owned(),
            ]
        })
        .collect();
    if format == Format::Csv {
        out!(
            "{}",
            ctx.csv(
                &["effective_at", "recorded_at", "seq", "type", "data", "hash"],
                &rows
            )
        );
        return Ok(EXIT_OK);
    }
    outln!("Case {stream}: {} events\n", events.len());
    out!(
        "{}",
        table(
            &[
                "effective_at",
                "recorded_at",
                "seq",
                "type",
                "data",
                "hash (first 16)"
            ],
            &rows
        )
    );
    outln!("\nSanctions:");
    for s in &sanctions {
        outln!(
            "  {} {} {}: {}",
            s.sanction_id,
            cal.date(s.decided_at),
            replay::output::verdict_word(s),
            s.reasons
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    outln!("\nFindings:");
    for f in &findings {
        outln!("  {} {}: {}", f.date, f.rule, f.message);
    }
    Ok(EXIT_OK)
}

pub fn deadlines(
    ctx: &Context,
    within: Option<u32>,
    at: Option<&str>,
    format: Format,
) -> Result<u8> {
    let cal = &ctx.params.calendar;
    let at_instant = match at {
        Some(text) => match projections::event::parse_date(text) {
            // The end of the day: its own deadlines have passed then (RULES.md §0, E(D)).
            Some(d) => cal.end_of(d),
            None => parse_time(text, "--at")?,
        },
        None => ctx.now,
    };
    let eval = Evaluation {
        params: &ctx.params,
        as_of: None,
        now: at_instant,
    };
    let (loaded, _, _) = load(ctx, None)?;
    let list = replay::output::deadlines(&eval, &loaded.projection, within);
    let (today, year, open, monthly) = (list.today, list.year, &list.open, &list.monthly);
    let kind = replay::output::deadline_kind;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&list.json(cal))?),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = open
                .iter()
                .map(|d| {
                    vec![
                        d.due.to_string(),
                        (d.due - today).num_days().to_string(),
                        d.stream.clone(),
                        kind(d.rule).to_owned(),
                        cal.date(d.opened_at).to_string(),
                    ]
                })
                .collect();
            let headers = ["due", "days_left", "stream", "deadline", "since"];
            if format == Format::Csv {
                out!("{}", ctx.csv(&headers, &rows));
                return Ok(EXIT_OK);
            }
            outln!(
                "Open deadlines at {}{}:\n",
                today,
                within
                    .map(|d| format!(", falling due within {d} days"))
                    .unwrap_or_default()
            );
            out!("{}", table(&headers, &rows));
            outln!("\nFlexjob timeliness in {year} (deadlines passed by {today}):\n");
            let rows: Vec<Vec<String>> = monthly
                .iter()
                .map(|m| {
                    [
                        "month",
                        "reassessments_in_time",
                        "reassessments_late",
                        "forwardings_in_time",
                        "forwardings_late",
                    ]
                    .iter()
                    .map(|k| m[k].to_string().trim_matches('"').to_owned())
                    .collect()
                })
                .collect();
            out!(
                "{}",
                table(
                    &[
                        "month",
                        "reassessed in time",
                        "late",
                        "forwarded in time",
                        "late"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(EXIT_OK)
}

/// `--sample N --seed TEXT` of `report`, checked.
pub fn sample_request(
    size: Option<usize>,
    seed: Option<String>,
    rule: Option<String>,
) -> Result<Option<SampleRequest>> {
    match (size, seed) {
        (None, None) => Ok(None),
        (Some(size), Some(seed)) => Ok(Some(SampleRequest {
            size,
            seed,
            rule,
            examined: false,
            per_municipality: false,
        })),
        _ => bail!("a sample needs both --sample N and --seed TEXT"),
    }
}

/// The ledger's side of a reconciliation, from `--type`, `--from` and `--to`.
pub fn case_scope(
    event_type: Option<String>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<replay::reconcile::CaseScope> {
    if let Some(t) = &event_type {
        let known = projections::event::EVENT_TYPES
            .iter()
            .map(|(name, _, _)| *name);
        if !known.clone().any(|name| name == t) {
            bail!(
                "--type {t:?} is not an event type; one of: {}",
                known.collect::<Vec<_>>().join(", ")
            );
        }
    }
    let date = |flag: &str, text: Option<&str>| -> Result<Option<chrono::NaiveDate>> {
        text.map(|t| {
            projections::event::parse_date(t)
                .with_context(|| format!("{flag} {t:?} is not a date YYYY-MM-DD"))
        })
        .transpose()
    };
    let scope = replay::reconcile::CaseScope {
        event_type,
        from: date("--from", from)?,
        to: date("--to", to)?,
    };
    if let (Some(f), Some(t)) = (scope.from, scope.to) {
        if f > t {
            bail!("--from {f} is after --to {t}");
        }
    }
    Ok(scope)
}

pub fn reconcile(
    ctx: &Context,
    cases: &Path,
    (id_column, category_column, prefix): (Option<&str>, Option<&str>, &str),
    scope: replay::reconcile::CaseScope,
    format: Format,
) -> Result<u8> {
    let file =
        std::fs::File::open(cases).with_context(|| format!("cannot open {}", cases.display()))?;
    let list = replay::reconcile::read_cases(
        std::io::BufReader::new(file),
        id_column,
        category_column,
        prefix,
    )
    .with_context(|| format!("{} is not a usable case list", cases.display()))?;
    let streams: Vec<String> = match scope.is_everything() {
        true => ctx.open()?.streams()?.into_iter().map(|(s, _)| s).collect(),
        false => scope.cases(&load(ctx, None)?.0.projection, &ctx.params.calendar),
    };
    let r = replay::reconcile::reconcile(&list, streams, prefix);
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "cases_file": cases.display().to_string(),
                "ledger_cases": {"prefix": prefix, "type": scope.event_type, "from": scope.from.map(|d| d.to_string()), "to": scope.to.map(|d| d.to_string())},
                "id_column": list.id_column,
                "category_column": list.category_column,
                "in_both": r.in_both.len(),
                "missing_in_ledger": r.missing_in_ledger,
                "missing_in_other_system": r.missing_in_other,
                "duplicates_in_file": list.duplicates,
                "not_case_ids": list.invalid.iter().map(|(line, id, why)| json!({"line": line, "id": id, "why": why})).collect::<Vec<_>>(),
                "per_category": r.per_category.iter().map(|(c, (both, missing))| json!({"category": c, "in_both": both, "missing_in_ledger": missing})).collect::<Vec<_>>(),
            }))?
        ),
        Format::Csv => {
            let mut rows: Vec<Vec<String>> = Vec::new();
            rows.extend(r.in_both.iter().map(|s| {
                vec![
                    s.clone(),
                    "in both".into(),
                    list.cases.get(s).cloned().unwrap_or_default(),
                ]
            }));
            rows.extend(r.missing_in_ledger.iter().map(|s| {
                vec![
                    s.clone(),
                    "missing in the ledger".into(),
                    list.cases.get(s).cloned().unwrap_or_default(),
                ]
            }));
            rows.extend(r.missing_in_other.iter().map(|s| {
                vec![
                    s.clone(),
                    "missing in the other system".into(),
                    String::new(),
                ]
            }));
            rows.extend(list.invalid.iter().map(|(line, id, _)| {
                vec![
                    id.clone(),
                    format!("not a case id (line {line})"),
                    String::new(),
                ]
            }));
            out!("{}", ctx.csv(&["case", "status", "category"], &rows));
        }
        Format::Table => {
            outln!(
                "Reconciliation (samkøring) of {} (column {}) with the ledger in {}:\n",
                cases.display(),
                list.id_column,
                ctx.data.display()
            );
            let summary = vec![
                vec!["in both".to_string(), r.in_both.len().to_string()],
                vec![
                    "missing in the ledger (only in the other system)".into(),
                    r.missing_in_ledger.len().to_string(),
                ],
                vec![
                    "missing in the other system (only in the ledger)".into(),
                    r.missing_in_other.len().to_string(),
                ],
            ];
            out!("{}", table(&["", "cases"], &summary));
            if list.category_column.is_some() {
                let rows: Vec<Vec<String>> = r
                    .per_category
                    .iter()
                    .map(|(c, (both, missing))| {
                        vec![
                            if c.is_empty() {
                                "(none)".into()
                            } else {
                                c.clone()
                            },
                            both.to_string(),
                            missing.to_string(),
                        ]
                    })
                    .collect();
                outln!();
                out!(
                    "{}",
                    table(&["category", "in both", "missing in the ledger"], &rows)
                );
            }
            for (title, set) in [
                ("Missing in the ledger", &r.missing_in_ledger),
                ("Missing in the other system", &r.missing_in_other),
            ] {
                if !set.is_empty() {
                    outln!("\n{title}:");
                    for s in set.iter().take(50) {
                        outln!("  {s}");
                    }
                    if set.len() > 50 {
                        outln!(
                            "  ... and {} more (--format csv lists them all)",
                            set.len() - 50
                        );
                    }
                }
            }
            if !list.duplicates.is_empty() {
                outln!(
                    "\nIds listed more than once in the file: {}",
                    list.duplicates.len()
                );
            }
            if !list.invalid.is_empty() {
                outln!(
                    "\nNot case ids (can be in no ledger; not compared): {}",
                    list.invalid.len()
                );
                for (line, id, why) in list.invalid.iter().take(20) {
                    outln!("  line {line}: {id:?}: {why}");
                }
            }
        }
    }
    Ok(EXIT_OK)
}
