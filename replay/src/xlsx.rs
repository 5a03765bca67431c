//! The year report as an XLSX workbook: one sheet per table, with filters and frozen headers.

use chrono::{Datelike, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};
use serde_json::Value;

/// A cell: numbers stay numbers, so a revisor can sum and filter them.
fn cell(v: &Value) -> Cell {
    match v {
        Value::Number(n) => n.as_f64().map_or(Cell::Text(n.to_string()), Cell::Number),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Null => Cell::Text(String::new()),
        Value::Bool(b) => Cell::Text(b.to_string()),
        Value::Array(items) => Cell::Text(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Value::Object(_) => Cell::Text(v.to_string()),
    }
}

enum Cell {
    Text(String),
    Number(f64),
    /// A local date (`YYYY-MM-DD`), a month (`YYYY-MM`, its first day) or a time (RFC 3339, at
    /// the wall-clock time of its own offset): a date Excel sorts, filters and computes with.
    When(ExcelDateTime, When),
    /// A percentage given as a number of percent (28.31 is 28.31 %).
    Percent(f64),
}

#[derive(Clone, Copy)]
enum When {
    Date,
    Month,
    Time,
}

impl When {
    fn format(self) -> Format {
        Format::new().set_num_format(match self {
            When::Date => "yyyy-mm-dd",
            When::Month => "yyyy-mm",
            When::Time => "yyyy-mm-dd hh:mm:ss",
        })
    }
}

/// The cell of a field, by what the field holds: dates and times as dates, rates as percentages,
/// anything else as `cell` makes it (a value that does not read as its kind stays text).
fn typed(field: &str, v: &Value) -> Cell {
    let text = v.as_str().unwrap_or_default();
    let when = match field {
        "date" => date(text).map(|d| (d, When::Date)),
        "month" => date(&format!("{text}-01")).map(|d| (d, When::Month)),
        "decided_at" | "at" | "effective_at" | "recorded_at" => time(text).map(|t| (t, When::Time)),
        "error_rate_percent" => return v.as_f64().map_or_else(|| cell(v), Cell::Percent),
        _ => None,
    };
    when.map_or_else(|| cell(v), |(t, kind)| Cell::When(t, kind))
}

fn date(text: &str) -> Option<ExcelDateTime> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).ok()?,
        d.month() as u8,
        d.day() as u8,
    )
    .ok()
}

fn time(text: &str) -> Option<ExcelDateTime> {
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .ok()?
        .naive_local();
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond()) / 1e9;
    date(&t.date().to_string())?
        .and_hms(t.hour() as u16, t.minute() as u8, seconds)
        .ok()
}

fn sheet(
    wb: &mut Workbook,
    name: &str,
    headers: &[(&str, &str, f64)],
    rows: impl IntoIterator<Item = Vec<Cell>>,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_background_color("#E8E8E8");
    let percent = Format::new().set_num_format("0.00%");
    let formats = [When::Date, When::Month, When::Time].map(When::format);
    // Rows go to disk as they are written: a year's findings never sit in memory as cells.
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(name)?;
    for (c, (title, _, width)) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *title, &bold)?;
        ws.set_column_width(c as u16, *width)?;
    }
    let mut count = 0u32;
    for (r, row) in rows.into_iter().enumerate() {
        count += 1;
        for (c, value) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match value {
                Cell::Text(t) => ws.write_string(r, c, t)?,
                Cell::Number(n) => ws.write_number(r, c, *n)?,
                Cell::Percent(p) => ws.write_number_with_format(r, c, p / 100.0, &percent)?,
                Cell::When(t, kind) => {
                    ws.write_datetime_with_format(r, c, t, &formats[*kind as usize])?
                }
            };
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, count, headers.len().saturating_sub(1) as u16)?;
    Ok(())
}

fn rows_of<'a>(
    items: impl Iterator<Item = Value> + 'a,
    headers: &'a [(&'a str, &'a str, f64)],
) -> impl Iterator<Item = Vec<Cell>> + 'a {
    items.map(move |item| {
        headers
            .iter()
            .map(|(_, field, _)| typed(field, &item[*field]))
            .collect()
    })
}

fn list(report: &crate::report::Report, key: &str) -> impl Iterator<Item = Value> {
    report[key]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
}

/// Renders a report (the JSON of `report::build`) as an XLSX workbook.
pub fn render(report: &crate::report::Report) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let head = &report["source"]["chain_head"];
    let meta: Vec<Vec<Cell>> = [
        ("Year", &report["year"]),
        ("Chain head seq", &head["seq"]),
        ("Chain head hash", &head["hash"]),
        ("Records", &report["source"]["records"]),
        ("Source", &report["source"]["location"]),
        ("Generated", &report["generated_at"]),
        ("Evaluated at", &report["evaluated_at"]),
        ("As of", &report["as_of"]),
        ("Program version", &report["program"]["version"]),
        ("Time zone", &report["time_zone"]),
    ]
    .iter()
    .map(|(k, v)| vec![Cell::Text((*k).to_owned()), cell(v)])
    .collect();
    sheet(
        &mut wb,
        "Report",
        &[("item", "", 22.0), ("value", "", 70.0)],
        meta,
    )?;

    let rules = [
        ("rule", "code", 42.0),
        ("what it checks", "title", 60.0),
        ("cases examined", "cases_examined", 14.0),
        ("findings", "findings", 10.0),
        ("error rate", "error_rate_percent", 12.0),
        ("legal basis", "legal_basis", 60.0),
    ];
    sheet(
        &mut wb,
        "Rules",
        &rules,
        rows_of(list(report, "rules"), &rules),
    )?;
    let sanctions = [
        ("sanction", "sanction_id", 14.0),
        ("case", "stream", 20.0),
        ("offer", "offer_id", 10.0),
        ("kind", "kind", 14.0),
        ("decided", "decided_at", 20.0),
        ("verdict", "verdict", 10.0),
        ("reasons", "reasons", 50.0),
        ("warnings", "warnings", 30.0),
        ("revoked", "revoked", 9.0),
        ("evidence (seq)", "evidence", 30.0),
    ];
    sheet(
        &mut wb,
        "Sanctions",
        &sanctions,
        rows_of(report.sanctions_json(), &sanctions),
    )?;
    let findings = [
        ("date", "date", 12.0),
        ("rule", "rule", 42.0),
        ("case", "stream", 20.0),
        ("finding", "message", 90.0),
        ("evidence (seq)", "evidence", 20.0),
        ("at", "at", 20.0),
        ("legal basis", "legal_basis", 50.0),
    ];
    sheet(
        &mut wb,
        "Findings",
        &findings,
        rows_of(report.findings_json(), &findings),
    )?;
    let monthly = [
        ("month", "month", 10.0),
        ("sanctions lawful", "sanctions_lawful", 10.0),
        ("sanctions unlawful", "sanctions_unlawful", 10.0),
        ("offer starts timely", "offer_starts_timely", 10.0),
        ("offer starts late", "offer_starts_late", 10.0),
        ("open deadlines", "open_deadlines", 10.0),
        ("participants 16-65", "participants_active", 10.0),
        ("with plan", "participants_with_plan", 10.0),
        ("without plan", "participants_without_plan", 10.0),
        ("joint plan", "participants_with_joint_plan", 10.0),
        ("Min Plan updates", "plans_updated", 10.0),
        ("action plan updates", "action_plans_updated", 10.0),
    ];
    sheet(
        &mut wb,
        "Monthly",
        &monthly,
        rows_of(list(report, "monthly"), &monthly),
    )?;
    if let Some(sample) = report["sample"].as_object() {
        let mut rows = Vec::new();
        for (i, case) in sample["cases"].as_array().into_iter().flatten().enumerate() {
            for e in case["timeline"].as_array().into_iter().flatten() {
                rows.push(vec![
                    Cell::Number((i + 1) as f64),
                    cell(&case["stream"]),
                    typed("effective_at", &e["effective_at"]),
                    typed("recorded_at", &e["recorded_at"]),
                    cell(&e["seq"]),
                    cell(&e["type"]),
                    Cell::Text(e["data"].to_string()),
                    cell(&e["hash"]),
                ]);
            }
        }
        let headers = [
            ("rank", "", 6.0),
            ("case", "", 20.0),
            ("effective", "", 20.0),
            ("recorded", "", 20.0),
            ("seq", "", 8.0),
            ("event", "", 24.0),
            ("data", "", 60.0),
            ("hash", "", 66.0),
        ];
        sheet(&mut wb, "Sample", &headers, rows)?;
    }
    wb.save_to_buffer()
}
