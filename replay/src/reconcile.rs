//! Reconciliation (samkøring): a list of case ids from another system against the ledger's streams.

use std::collections::{BTreeMap, BTreeSet};

/// Why a case list cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}, column {column}: {message}")]
    At {
        line: u64,
        column: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The case list of the other system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseList {
    /// Case id (with the prefix applied) → its category ("" without a category column).
    pub cases: BTreeMap<String, String>,
    /// Ids that occur more than once, with their count.
    pub duplicates: BTreeMap<String, usize>,
    /// Ids that cannot be stream ids (so can be in no ledger), by line: reported, not compared.
    pub invalid: Vec<(u64, String, String)>,
    /// The field separator found in the header line: `,`, or `;` (Danish Excel).
    pub separator: char,
    pub id_column: String,
    pub category_column: Option<String>,
}

const ID_COLUMNS: [&str; 7] = [
    "stream",
    "case_id",
    "case",
    "sag",
    "sagsnummer",
    "sags_id",
    "id",
];

/// Reads a CSV case list (RFC 4180, with a header line). The id column is `id_column`, else the
/// first column named like an id (stream, case_id, case, sag, sagsnummer, sags_id, id), else the
/// first column. `prefix` is put before every id (e.g. `dk-101:`). The separator is `;` when the
/// header line has more `;` than `,` (as Danish Excel writes CSV), else `,`; a byte-order mark and
/// CR LF line ends are taken as they come.
pub fn read_cases(
    mut input: impl std::io::Read,
    id_column: Option<&str>,
    category_column: Option<&str>,
    prefix: &str,
) -> Result<CaseList, CsvError> {
    let mut text = Vec::new();
    input
        .read_to_end(&mut text)
        .map_err(|e| CsvError::Other(format!("cannot be read: {e}")))?;
    let header = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| header.iter().filter(|b| **b == c).count();
    let separator = if count(b';') > count(b',') { ';' } else { ',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(separator as u8)
        // Lines end at LF (a CR before it is trimmed with the field): line numbers stay right.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(&text[..]);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| position_error(&e, &[]))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(CsvError::Other(
            "the file is empty: it needs a header line and one case per line".into(),
        ));
    }
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let id = match id_column {
        Some(name) => find(name).ok_or_else(|| {
            CsvError::Other(format!(
                "there is no column {name:?}; the columns are: {}",
                headers.join(", ")
            ))
        })?,
        None => ID_COLUMNS.iter().find_map(|n| find(n)).unwrap_or(0),
    };
    let category = match category_column {
        Some(name) => Some(find(name).ok_or_else(|| {
            CsvError::Other(format!(
                "there is no category column {name:?}; the columns are: {}",
                headers.join(", ")
            ))
        })?),
        None => None,
    };
    let mut list = CaseList {
        id_column: headers[id].clone(),
        category_column: category.map(|c| headers[c].clone()),
        separator,
        ..CaseList::default()
    };
    for record in reader.records() {
        let record = record.map_err(|e| position_error(&e, &headers))?;
        let line = record.position().map_or(0, |p| p.line());
        let raw = record.get(id).unwrap_or("").trim();
        if raw.is_empty() {
            return Err(CsvError::At {
                line,
                column: headers[id].clone(),
                message: "the case id is empty".into(),
            });
        }
        let case = format!("{prefix}{raw}");
        if let Err(why) = ledger::interchange::check_stream_id(&case) {
            list.invalid.push((line, case, why));
            continue;
        }
        let cat = category
            .and_then(|c| record.get(c))
            .unwrap_or("")
            .trim()
            .to_owned();
        if list.cases.insert(case.clone(), cat).is_some() {
            *list.duplicates.entry(case).or_insert(1) += 1;
        }
    }
    Ok(list)
}

fn position_error(e: &csv::Error, headers: &[String]) -> CsvError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => CsvError::At {
            line,
            column: headers.get(*len as usize).cloned().unwrap_or_else(|| format!("{}", len + 1)),
            message: format!("the line has {len} fields, the header has {expected_len}; quote fields that contain commas"),
        },
        csv::ErrorKind::Utf8 { err, .. } => CsvError::At {
            line,
            column: headers.get(err.field()).cloned().unwrap_or_else(|| format!("{}", err.field() + 1)),
            message: "not UTF-8 text; save the file as UTF-8".into(),
        },
        _ => CsvError::Other(format!("line {line}: {e}")),
    }
}

/// Which of the ledger's cases the other system's list should hold: those with an event of a type
/// (e.g. `ledighedsydelse_paid`: the flexjob cases paid), effective within a period (seed 003's
/// quarterly samkøring). Empty: every case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseScope {
    pub event_type: Option<String>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

impl CaseScope {
    pub fn is_everything(&self) -> bool {
        *self == CaseScope::default()
    }

    /// The cases of `projection` within the scope (local dates of `cal`), in order.
    pub fn cases(
        &self,
        projection: &projections::Projection,
        cal: &projections::time::Calendar,
    ) -> Vec<String> {
        // The type first: a date costs a time zone look-up.
        let within = |f: &projections::Fact| {
            self.event_type
                .as_deref()
                .is_none_or(|t| f.data.type_name() == t)
                && (self.from.is_none() && self.to.is_none() || {
                    let date = cal.date(f.effective_at);
                    self.from.is_none_or(|d| date >= d) && self.to.is_none_or(|d| date <= d)
                })
        };
        projection
            .streams()
            .filter(|(_, s)| s.facts.iter().any(&within))
            .map(|(id, _)| id.to_string())
            .collect()
    }
}

/// The outcome of comparing the two lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub in_both: BTreeSet<String>,
    /// In the other system, not in the ledger.
    pub missing_in_ledger: BTreeSet<String>,
    /// In the ledger, not in the other system.
    pub missing_in_other: BTreeSet<String>,
    /// Per category of the other system: (in both, missing in the ledger).
    pub per_category: BTreeMap<String, (usize, usize)>,
}

/// Compares the list with the ledger's streams that start with `prefix` (the list is of one
/// municipality: the others' cases are not missing from it).
pub fn reconcile(
    list: &CaseList,
    ledger_streams: impl IntoIterator<Item = String>,
    prefix: &str,
) -> Reconciliation {
    let ledger: BTreeSet<String> = ledger_streams
        .into_iter()
        .filter(|s| s.starts_with(prefix))
        .collect();
    let mut r = Reconciliation::default();
    for (case, category) in &list.cases {
        let entry = r.per_category.entry(category.clone()).or_default();
        if ledger.contains(case) {
            r.in_both.insert(case.clone());
            entry.0 += 1;
        } else {
            r.missing_in_ledger.insert(case.clone());
            entry.1 += 1;
        }
    }
    r.missing_in_other = ledger
        .into_iter()
        .filter(|s| !list.cases.contains_key(s))
        .collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, category: Option<&str>) -> Result<CaseList, CsvError> {
        read_cases(text.as_bytes(), None, category, "")
    }

    #[test]
    fn cases_are_compared_both_ways_with_categories() {
        let list = read("sagsnummer,ydelse\ndk-101:c-1,kontanthjælp\ndk-101:c-2,\"fleksjob, ledighedsydelse\"\ndk-101:c-9,kontanthjælp\n", Some("ydelse")).unwrap();
        assert_eq!(list.id_column, "sagsnummer");
        let r = reconcile(
            &list,
            [
                "dk-101:c-1".to_string(),
                "dk-101:c-2".into(),
                "dk-101:c-3".into(),
            ],
            "",
        );
        assert_eq!(r.in_both.len(), 2);
        assert_eq!(
            r.missing_in_ledger.iter().collect::<Vec<_>>(),
            vec!["dk-101:c-9"]
        );
        assert_eq!(
            r.missing_in_other.iter().collect::<Vec<_>>(),
            vec!["dk-101:c-3"]
        );
        assert_eq!(r.per_category["kontanthjælp"], (1, 1));
        assert_eq!(r.per_category["fleksjob, ledighedsydelse"], (1, 0));
    }

    #[test]
    fn a_prefix_and_an_explicit_id_column() {
        let list = read_cases(
            "navn,nr\nA,c-1\nB,c-2\nB,c-2\n".as_bytes(),
            Some("nr"),
            None,
            "dk-101:",
        )
        .unwrap();
        assert_eq!(
            list.cases.keys().collect::<Vec<_>>(),
            vec!["dk-101:c-1", "dk-101:c-2"]
        );
        assert_eq!(list.duplicates["dk-101:c-2"], 2);
        // The ledger's other municipalities are not missing from a list of dk-101.
        let r = reconcile(
            &list,
            ["dk-101:c-1".to_string(), "dk-102:c-1".into()],
            "dk-101:",
        );
        assert_eq!(
            r.missing_in_other.iter().collect::<Vec<_>>(),
            Vec::<&String>::new()
        );
        assert_eq!(
            r.missing_in_ledger.iter().collect::<Vec<_>>(),
            vec!["dk-101:c-2"]
        );
    }

    /// As Danish Excel saves it: a byte-order mark, `;` between fields, CR LF; read as such, not
    /// as one column. Ids that cannot be stream ids are reported with their line.
    #[test]
    fn a_danish_excel_list_is_read_and_impossible_ids_are_reported() {
        let text =
            "\u{feff}sagsnummer;ydelse\r\ndk-101:c-1;kontanthjælp, aktivering\r\ndk-101:c 2;x\r\n";
        let list = read(text, Some("ydelse")).unwrap();
        assert_eq!(list.separator, ';');
        assert_eq!(list.id_column, "sagsnummer");
        assert_eq!(
            list.cases.get("dk-101:c-1").map(String::as_str),
            Some("kontanthjælp, aktivering")
        );
        assert_eq!(list.invalid.len(), 1);
        assert_eq!(
            (list.invalid[0].0, list.invalid[0].1.as_str()),
            (3, "dk-101:c 2")
        );
        let r = reconcile(&list, ["dk-101:c-1".to_string()], "");
        assert!(
            r.missing_in_ledger.is_empty(),
            "an impossible id is not missing"
        );
    }

    #[test]
    fn malformed_lists_name_the_line_and_column() {
        let e = read("case,category\nc-1,a\nc-2,b,extra\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 3,") && e.contains("3 fields, the header has 2"),
            "{e}"
        );
        let e = read("case,category\nc-1,a\n,b\n", None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "line 3, column case: the case id is empty");
        let e = read_cases("case\nc-1\n".as_bytes(), Some("sag"), None, "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"sag\""), "{e}");
        let e = read("case,category\nc-1,a\n", Some("kategori"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no category column"), "{e}");
        let e = read_cases(&b"case\n\xff\xfe\n"[..], None, None, "")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2, column case: not UTF-8"), "{e}");
        assert!(read("", None).is_err());
    }
}
