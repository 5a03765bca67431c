//! The year report as one self-contained, printable HTML file: no script, no network, inline SVG
//! charts of the monthly series, and tables a revisor can read. It is also well-formed XML, so tests
//! (and other tools) can parse it strictly.

use serde_json::Value;
use std::fmt::Write as _;

/// Escapes text for HTML (and XML).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// The year's revoked sanctions: counted by the revocation's reason and verdict, and listed.
fn revocations(out: &mut String, r: &Value) {
    out.push_str("<h2>Revoked sanctions</h2>\n");
    let _ = writeln!(
        out,
        "<p>{} revoked: {} lawful, {} unlawful.</p>",
        text(&r["count"]),
        text(&r["lawful"]),
        text(&r["unlawful"])
    );
    table(
        out,
        "revocations-by-reason",
        "Revocations by the reason given",
        &["reason", "lawful", "unlawful"],
        r["by_revocation_reason"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(reason, n)| vec![reason.clone(), text(&n["lawful"]), text(&n["unlawful"])]),
    );
    let fields = [
        "sanction_id",
        "stream",
        "verdict",
        "reasons",
        "revoked_at",
        "revocation_reason",
        "revocation_seq",
    ];
    table(
        out,
        "revocations",
        "Revoked sanctions",
        &[
            "sanction",
            "case",
            "verdict",
            "reasons",
            "revoked",
            "reason given",
            "seq",
        ],
        r["sanctions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| fields.iter().map(|k| text(&s[*k])).collect()),
    );
}

/// A table; rows may come one at a time (a year's findings are written without a list of them).
fn table(
    out: &mut String,
    id: &str,
    caption: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) {
    let _ = write!(
        out,
        "<table id=\"{id}\"><caption>{}</caption><thead><tr>",
        esc(caption)
    );
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    let mut empty = true;
    for row in rows {
        empty = false;
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", esc(&cell));
        }
        out.push_str("</tr>");
    }
    if empty {
        let _ = write!(out, "<tr><td colspan=\"{}\">none</td></tr>", headers.len());
    }
    out.push_str("</tbody></table>\n");
}

/// A bar chart of monthly series: stacked bars, one colour per series, with a legend.
pub fn bar_chart(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[(&str, &str, Vec<u64>)],
) -> String {
    let (w, h, left, bottom, top) = (720.0_f64, 240.0_f64, 44.0_f64, 28.0_f64, 36.0_f64);
    let max = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.2.get(i).copied().unwrap_or(0))
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / labels.len().max(1) as f64;
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"16\" class=\"chart-title\">{}</text>",
        esc(title)
    );
    // Axis and scale.
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>",
        h - bottom,
        w - 8.0,
        h - bottom
    );
    // Ticks at whole numbers, placed where those numbers are.
    let mut ticks = vec![0, max / 2, max];
    ticks.dedup();
    for tick in ticks {
        let y = h - bottom - tick as f64 / max as f64 * plot_h;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{tick}</text>",
            left - 4.0,
            y + 4.0
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x = left + i as f64 * slot + slot * 0.15;
        let mut y = h - bottom;
        for (name, colour, values) in series {
            let v = values.get(i).copied().unwrap_or(0);
            let bar = v as f64 / max as f64 * plot_h;
            y -= bar;
            let _ = write!(
                svg,
                "<rect class=\"bar\" data-series=\"{}\" data-month=\"{}\" data-value=\"{v}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"{colour}\"><title>{} {}: {v}</title></rect>",
                esc(name),
                esc(label),
                slot * 0.7,
                esc(label),
                esc(name)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            x + slot * 0.35,
            h - bottom + 14.0,
            esc(&label[5..])
        );
    }
    let mut lx = left;
    for (name, colour, _) in series {
        let _ = write!(svg, "<rect x=\"{lx:.1}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"31\" class=\"tick\">{}</text>", lx + 14.0, esc(name));
        lx += 18.0 + 7.0 * name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#111;max-width:1100px}\
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #999;page-break-after:avoid}\
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em;width:100%}caption{text-align:left;font-weight:bold;padding:.3em 0}\
th,td{border:1px solid #bbb;padding:.25em .45em;text-align:left;vertical-align:top}th{background:#eee}\
tr{page-break-inside:avoid}.meta td:first-child{font-weight:bold;width:14em}.chart{display:block;margin:.5em 0;max-width:100%;height:auto}\
.chart-title{font-size:13px;font-weight:bold}.tick{font-size:10px}code{font-size:.9em;word-break:break-all}\
@media print{body{margin:0}h2{page-break-before:auto}}";

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// Renders a report (the JSON of `report::build`) as HTML.
pub fn render(report: &crate::report::Report) -> String {
    let year = report["year"].as_i64().unwrap_or_default();
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"da\"><head><meta charset=\"utf-8\"/><title>Garanti year report {year}</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = write!(out, "<h1>Garanti year report {year}</h1>\n<p>Sanctions, Min Plan quality, deadlines and action plans judged by the rules of RULES.md on the events of the hash-chained ledger.</p>\n");
    let head = &report["source"]["chain_head"];
    let meta = vec![
        vec!["Chain head (seq)".into(), text(&head["seq"])],
        vec!["Chain head (hash)".into(), text(&head["hash"])],
        vec!["Records".into(), text(&report["source"]["records"])],
        vec![
            "Source".into(),
            format!(
                "{} {}",
                text(&report["source"]["kind"]),
                text(&report["source"]["location"])
            ),
        ],
        vec!["Generated".into(), text(&report["generated_at"])],
        vec!["Evaluated at".into(), text(&report["evaluated_at"])],
        vec!["As of".into(), text(&report["as_of"])],
        vec![
            "Program".into(),
            format!("garanti {}", text(&report["program"]["version"])),
        ],
        vec!["Time zone".into(), text(&report["time_zone"])],
    ];
    out.push_str("<h2>Ledger state</h2>\n");
    table(
        &mut out,
        "meta",
        "The ledger state this report was made from",
        &["item", "value"],
        meta,
    );
    match report["source"]["checkpoint"].as_str() {
        Some(note) => {
            let _ = write!(
                out,
                "<p>The signed checkpoint of these records (C2SP tlog-checkpoint; check it with the log's verifier key, e.g. <code>garanti verify --since</code>):</p>\n<pre class=\"checkpoint\">{}</pre>\n",
                esc(note)
            );
        }
        None => out.push_str(
            "<p>No signed checkpoint covers exactly these records (<code>garanti checkpoint</code> signs one).</p>\n",
        ),
    }

    out.push_str("<h2>Rules and error rates</h2>\n");
    let rules: Vec<Vec<String>> = report["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                text(&r["code"]),
                text(&r["title"]),
                text(&r["cases_examined"]),
                text(&r["findings"]),
                r["error_rate_percent"]
                    .as_f64()
                    .map_or("–".into(), |p| format!("{p:.2} %")),
                text(&r["legal_basis"]),
            ]
        })
        .collect();
    table(
        &mut out,
        "rules",
        "Per rule: cases examined, findings and error rate (fejlprocent)",
        &[
            "rule",
            "what it checks",
            "cases",
            "findings",
            "error rate",
            "legal basis",
        ],
        rules,
    );

    let monthly: Vec<&Value> = report["monthly"].as_array().into_iter().flatten().collect();
    let labels: Vec<String> = monthly.iter().map(|m| text(&m["month"])).collect();
    let series = |key: &str| monthly.iter().map(|m| num(m, key)).collect::<Vec<u64>>();
    out.push_str("<h2>Monthly series</h2>\n");
    out.push_str(&bar_chart(
        "chart-sanctions",
        "Sanctions by verdict",
        &labels,
        &[
            ("lawful", "#2e7d32", series("sanctions_lawful")),
            ("unlawful", "#c62828", series("sanctions_unlawful")),
        ],
    ));
    out.push_str(&bar_chart(
        "chart-offers",
        "Offer starts with and without a timely published Min Plan",
        &labels,
        &[
            ("timely", "#1565c0", series("offer_starts_timely")),
            ("late or missing", "#ef6c00", series("offer_starts_late")),
        ],
    ));
    out.push_str(&bar_chart(
        "chart-deadlines",
        "Open deadlines at the end of the month",
        &labels,
        &[("open", "#6a1b9a", series("open_deadlines"))],
    ));
    let without: Vec<u64> = monthly
        .iter()
        .map(|m| num(m, "participants_active").saturating_sub(num(m, "participants_with_plan")))
        .collect();
    out.push_str(&bar_chart(
        "chart-participants",
        "Swedish participants aged 16-65 with and without an action plan",
        &labels,
        &[
            ("with plan", "#00838f", series("participants_with_plan")),
            ("without plan", "#ad1457", without),
        ],
    ));
    out.push_str(&bar_chart(
        "chart-plans",
        "Plans updated (Min Plan versions and action plans)",
        &labels,
        &[
            ("Min Plan", "#455a64", series("plans_updated")),
            ("handlingsplan", "#8d6e63", series("action_plans_updated")),
        ],
    ));
    let rows: Vec<Vec<String>> = monthly
        .iter()
        .map(|m| {
            [
                "month",
                "sanctions_lawful",
                "sanctions_unlawful",
                "offer_starts_timely",
                "offer_starts_late",
                "open_deadlines",
                "participants_active",
                "participants_with_plan",
                "participants_with_joint_plan",
                "plans_updated",
                "action_plans_updated",
            ]
            .iter()
            .map(|k| text(&m[*k]))
            .collect()
        })
        .collect();
    table(
        &mut out,
        "monthly",
        "Monthly series (ledelsesinformation)",
        &[
            "month",
            "lawful",
            "unlawful",
            "starts timely",
            "starts late",
            "open deadlines",
            "participants",
            "with plan",
            "joint plan",
            "Min Plan updates",
            "action plan updates",
        ],
        rows,
    );
    let fields = [
        "month",
        "reassessments_in_time",
        "reassessments_late",
        "forwardings_in_time",
        "forwardings_late",
    ];
    table(
        &mut out,
        "flexjob-timeliness",
        "Flexjob deadlines per month (RULES.md §4): due and passed, met in time or late",
        &[
            "month",
            "reassessed in time",
            "late",
            "forwarded in time",
            "late",
        ],
        report["flexjob_timeliness"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| fields.iter().map(|k| text(&m[*k])).collect()),
    );
    revocations(&mut out, &report["revocations"]);

    out.push_str("<h2>Sanctions</h2>\n");
    let rows = report.sanctions_json().map(|s| {
        vec![
            text(&s["sanction_id"]),
            text(&s["stream"]),
            text(&s["decided_at"]),
            text(&s["verdict"]),
            text(&s["reasons"]),
            text(&s["warnings"]),
            text(&s["revoked"]),
            text(&s["evidence"]),
        ]
    });
    table(
        &mut out,
        "sanctions",
        &format!("Every sanction decided in {year}"),
        &[
            "sanction",
            "case",
            "decided",
            "verdict",
            "reasons",
            "warnings",
            "revoked",
            "evidence (seq)",
        ],
        rows,
    );

    out.push_str("<h2>Findings</h2>\n");
    let rows = report.findings_json().map(|f| {
        vec![
            text(&f["date"]),
            text(&f["rule"]),
            text(&f["stream"]),
            text(&f["message"]),
            text(&f["evidence"]),
        ]
    });
    table(
        &mut out,
        "findings",
        &format!("Every finding dated in {year}"),
        &["date", "rule", "case", "finding", "evidence (seq)"],
        rows,
    );

    if let Some(sample) = report["sample"].as_object() {
        let _ = write!(
            out,
            "<h2>Sample (stikprøve)</h2>\n<p>{} of {} cases, seed <code>{}</code>{}. {}</p>\n",
            text(&sample["size"]),
            text(&sample["population"]),
            esc(&text(&sample["seed"])),
            sample["rule"]
                .as_str()
                .map(|r| format!(", cases with findings of {}", esc(r)))
                .unwrap_or_default(),
            esc(&text(&sample["method"]))
        );
        for (i, case) in sample["cases"].as_array().into_iter().flatten().enumerate() {
            let rows: Vec<Vec<String>> = case["timeline"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    vec![
                        text(&e["effective_at"]),
                        text(&e["recorded_at"]),
                        text(&e["seq"]),
                        text(&e["type"]),
                        e["data"].to_string(),
                        text(&e["hash"]),
                    ]
                })
                .collect();
            table(
                &mut out,
                &format!("sample-{}", i + 1),
                &format!(
                    "{}. {} (key {})",
                    i + 1,
                    text(&case["stream"]),
                    text(&case["key"])
                ),
                &["effective", "recorded", "seq", "event", "data", "hash"],
                rows,
            );
        }
    }
    out.push_str("</body></html>\n");
    out
}
