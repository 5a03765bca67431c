//! Rule parameters with dated values (valid from / to), loaded from TOML; the defaults are those
//! of RULES.md. A fact is judged with the value in force at its time.

use crate::time::Calendar;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// One value and the dates it is in force (both ends included; open where None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedValue {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub value: i64,
}

/// A parameter: its values over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: &'static str,
    pub meaning: &'static str,
    pub values: Vec<DatedValue>,
}

impl Parameter {
    /// The value in force on `date`; if none is, the nearest one (so that a gap in a municipality's
    /// file does not silently switch a rule off).
    pub fn at(&self, date: NaiveDate) -> i64 {
        self.values
            .iter()
            .find(|v| v.from.is_none_or(|f| f <= date) && v.until.is_none_or(|u| date <= u))
            .or_else(|| {
                self.values
                    .iter()
                    .rev()
                    .find(|v| v.from.is_none_or(|f| f <= date))
            })
            .or_else(|| self.values.first())
            .map_or(0, |v| v.value)
    }
}

/// Every parameter of the rule packs.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub calendar: Calendar,
    /// Generic employment goals that make a plan's goal deficient (normalised when compared).
    pub generic_goals: Vec<String>,
    pub table: BTreeMap<&'static str, Parameter>,
}

pub const NEVER_STARTED_DAYS: &str = "dk.minplan.never_started_days";
pub const DECISION_MONTHS: &str = "dk.sanction.decision_whole_months";
pub const INDSATSPLAN_MONTHS: &str = "dk.rehab.indsatsplan_months";
pub const FIRST_OFFER_MONTHS: &str = "dk.rehab.first_offer_months";
pub const STANDARD_WORDING_STREAMS: &str = "dk.followup.standard_wording_other_streams";
pub const FLEXJOB_REASSESS_PAID: &str = "dk.flexjob.reassessment_paid_months";
pub const FLEXJOB_WINDOW: &str = "dk.flexjob.window_months";
pub const FLEXJOB_FORWARD_PAID: &str = "dk.flexjob.forward_paid_months";
pub const FLEXJOB_IN_FORCE: &str = "dk.flexjob.rules_in_force";
pub const SE_MIN_AGE: &str = "se.actionplan.min_age";
pub const SE_MAX_AGE: &str = "se.actionplan.max_age";

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn always(value: i64) -> Vec<DatedValue> {
    vec![DatedValue {
        from: None,
        until: None,
        value,
    }]
}

impl Default for Params {
    fn default() -> Self {
        let list: Vec<(&'static str, &'static str, Vec<DatedValue>)> = vec![
            (DECISION_MONTHS, "whole calendar months after the absence's month within which a deduction must be decided (LAS § 35 stk. 3)", always(3)),
            (NEVER_STARTED_DAYS, "days past its planned start after which a listed offer that never began is a finding", always(30)),
            (INDSATSPLAN_MONTHS, "calendar months from the rehabilitation team's meeting to the completed indsatsplan", always(2)),
            (FIRST_OFFER_MONTHS, "calendar months from a ressourceforløb meeting to the first offer start", always(12)),
            (STANDARD_WORDING_STREAMS, "other streams of the municipality with the same follow-up assessment that make it standard wording", always(4)),
            (FLEXJOB_REASSESS_PAID, "paid months of ledighedsydelse within the window that make the flexjob reassessment due", always(12)),
            (FLEXJOB_WINDOW, "months in the window for paid ledighedsydelse", always(18)),
            (FLEXJOB_FORWARD_PAID, "paid months within the window that make forwarding to the jobcentre due", vec![
                DatedValue { from: None, until: date(2008, 2, 29), value: 11 },
                DatedValue { from: date(2008, 3, 1), until: None, value: 10 },
            ]),
            (FLEXJOB_IN_FORCE, "1 while the 12-of-18 reassessment rules apply (before the 2013 flexjob reform), else 0", vec![
                DatedValue { from: None, until: date(2012, 12, 31), value: 1 },
                DatedValue { from: date(2013, 1, 1), until: None, value: 0 },
            ]),
            (SE_MIN_AGE, "youngest age counted among active participants", always(16)),
            (SE_MAX_AGE, "oldest age counted among active participants", always(65)),
        ];
        Params {
            calendar: Calendar::default(),
            generic_goals: [
                "afklaring af arbejdsevne",
                "afklaring af arbejdsevnen",
                "raskmelding",
                "opfølgning",
            ]
            .map(String::from)
            .to_vec(),
            table: list
                .into_iter()
                .map(|(name, meaning, values)| {
                    (
                        name,
                        Parameter {
                            name,
                            meaning,
                            values,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A parameter file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file: {0}")]
pub struct ParamsError(pub String);

impl Params {
    /// The value of a parameter on a local date.
    pub fn at(&self, name: &str, date: NaiveDate) -> i64 {
        self.table.get(name).map_or(0, |p| p.at(date))
    }

    /// Reads a TOML parameter file over the defaults:
    ///
    /// ```toml
    /// time_zone = "Europe/Copenhagen"
    /// generic_goals = ["afklaring af arbejdsevne", "raskmelding"]
    /// [parameters]
    /// "dk.minplan.never_started_days" = 30
    /// "dk.flexjob.forward_paid_months" = [
    ///   { value = 11, until = "2008-02-29" },
    ///   { value = 10, from = "2008-03-01" },
    /// ]
    /// ```
    pub fn from_toml(text: &str) -> Result<Params, ParamsError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ParamsError(e.to_string()))?;
        let mut params = Params::default();
        for (key, value) in &doc {
            match key.as_str() {
                "time_zone" => {
                    let name = value.as_str().ok_or_else(|| {
                        ParamsError(
                            "time_zone must be a string such as \"Europe/Copenhagen\"".into(),
                        )
                    })?;
                    params.calendar.tz = name.parse().map_err(|_| {
                        ParamsError(format!("time_zone {name:?} is not an IANA time zone name"))
                    })?;
                }
                "generic_goals" => {
                    let items = value.as_array().ok_or_else(|| {
                        ParamsError("generic_goals must be an array of strings".into())
                    })?;
                    params.generic_goals = items
                        .iter()
                        .map(|v| {
                            v.as_str().map(String::from).ok_or_else(|| {
                                ParamsError("generic_goals must be an array of strings".into())
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "parameters" => {
                    let table = value
                        .as_table()
                        .ok_or_else(|| ParamsError("[parameters] must be a table".into()))?;
                    for (name, v) in table {
                        let known: Vec<&str> = params.table.keys().copied().collect();
                        let param = params.table.get_mut(name.as_str()).ok_or_else(|| {
                            ParamsError(format!(
                                "unknown parameter {name:?}; known: {}",
                                known.join(", ")
                            ))
                        })?;
                        param.values = dated_values(name, v)?;
                    }
                }
                other => {
                    return Err(ParamsError(format!(
                        "unknown key {other:?}; expected time_zone, generic_goals or [parameters]"
                    )))
                }
            }
        }
        Ok(params)
    }
}

/// The largest value a parameter may have: a hundred years in days (no rule counts further; a
/// larger number of months would wrap where the rules count in 32 bits).
pub const MAX_PARAMETER: i64 = 36_500;

fn scalar(name: &str, v: &toml::Value) -> Result<i64, ParamsError> {
    match v {
        toml::Value::Integer(i) if *i > MAX_PARAMETER => Err(ParamsError(format!(
            "{name}: {i} is out of range; a value may be at most {MAX_PARAMETER}"
        ))),
        toml::Value::Integer(i) if *i >= 0 => Ok(*i),
        toml::Value::Boolean(b) => Ok(i64::from(*b)),
        _ => Err(ParamsError(format!(
            "{name}: a value must be a whole number >= 0 (or true/false)"
        ))),
    }
}

fn dated_values(name: &str, v: &toml::Value) -> Result<Vec<DatedValue>, ParamsError> {
    let Some(items) = v.as_array() else {
        return Ok(always(scalar(name, v)?));
    };
    let mut out = Vec::new();
    for item in items {
        let t = item.as_table().ok_or_else(|| ParamsError(format!("{name}: each dated value is a table {{ value = .., from = \"YYYY-MM-DD\", until = \"YYYY-MM-DD\" }}")))?;
        let day = |k: &str| -> Result<Option<NaiveDate>, ParamsError> {
            match t.get(k) {
                None => Ok(None),
                Some(d) => d
                    .as_str()
                    .and_then(crate::event::parse_date)
                    .map(Some)
                    .ok_or_else(|| {
                        ParamsError(format!("{name}: `{k}` must be a date \"YYYY-MM-DD\""))
                    }),
            }
        };
        if let Some(k) = t
            .keys()
            .find(|k| !["value", "from", "until"].contains(&k.as_str()))
        {
            return Err(ParamsError(format!(
                "{name}: unknown key {k:?} (value, from, until)"
            )));
        }
        let value = scalar(
            name,
            t.get("value")
                .ok_or_else(|| ParamsError(format!("{name}: a dated value needs `value`")))?,
        )?;
        let (from, until) = (day("from")?, day("until")?);
        if let (Some(f), Some(u)) = (from, until) {
            if f > u {
                return Err(ParamsError(format!("{name}: from {f} is after until {u}")));
            }
        }
        out.push(DatedValue { from, until, value });
    }
    if out.is_empty() {
        return Err(ParamsError(format!("{name}: no values")));
    }
    out.sort_by_key(|v| v.from);
    for pair in out.windows(2) {
        if pair[0]
            .until
            .is_none_or(|u| pair[1].from.is_none_or(|f| f <= u))
        {
            return Err(ParamsError(format!("{name}: dated values overlap")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flexjob_forwarding_moves_from_month_11_to_10_on_1_march_2008() {
        let p = Params::default();
        assert_eq!(p.at(FLEXJOB_FORWARD_PAID, date(2008, 2, 29).unwrap()), 11);
        assert_eq!(p.at(FLEXJOB_FORWARD_PAID, date(2008, 3, 1).unwrap()), 10);
        assert_eq!(p.at(FLEXJOB_IN_FORCE, date(2012, 12, 31).unwrap()), 1);
        assert_eq!(p.at(FLEXJOB_IN_FORCE, date(2013, 1, 1).unwrap()), 0);
    }

    #[test]
    fn a_file_overrides_named_parameters_only() {
        let p = Params::from_toml(
            "time_zone = \"Europe/Stockholm\"\n[parameters]\n\"dk.minplan.never_started_days\" = 14\n\"dk.rehab.indsatsplan_months\" = [{ value = 3, until = \"2019-12-31\" }, { value = 2, from = \"2020-01-01\" }]\n",
        )
        .unwrap();
        assert_eq!(p.calendar.tz, chrono_tz::Europe::Stockholm);
        assert_eq!(p.at(NEVER_STARTED_DAYS, date(2017, 1, 1).unwrap()), 14);
        assert_eq!(p.at(INDSATSPLAN_MONTHS, date(2019, 12, 31).unwrap()), 3);
        assert_eq!(p.at(INDSATSPLAN_MONTHS, date(2020, 1, 1).unwrap()), 2);
        assert_eq!(p.at(FIRST_OFFER_MONTHS, date(2020, 1, 1).unwrap()), 12);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        for (text, needle) in [
            ("[parameters]\n\"nope\" = 1", "unknown parameter"),
            ("time_zone = \"Mars/Olympus\"", "IANA"),
            ("[parameters]\n\"dk.rehab.indsatsplan_months\" = -1", "whole number"),
            ("[parameters]\n\"dk.rehab.indsatsplan_months\" = 4294967298", "out of range"),
            ("[parameters]\n\"dk.rehab.indsatsplan_months\" = [{ value = 1, from = \"2020-01-01\" }, { value = 2, from = \"2020-06-01\" }]", "overlap"),
            ("colour = 1", "unknown key"),
        ] {
            let e = Params::from_toml(text).unwrap_err();
            assert!(e.0.contains(needle), "{text}: {e}");
        }
    }
}
