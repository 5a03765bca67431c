//! Local dates, months and deadlines in the municipality's time zone (RULES.md §0).
//! Instants are i64 Unix nanoseconds, as in the ledger's records.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// An instant: nanoseconds since 1970-01-01T00:00:00Z.
pub type Instant = i64;

/// The local calendar of one time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    pub tz: Tz,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            tz: chrono_tz::Europe::Copenhagen,
        }
    }
}

impl Calendar {
    pub fn local(&self, t: Instant) -> DateTime<Tz> {
        Utc.timestamp_nanos(t).with_timezone(&self.tz)
    }

    pub fn date(&self, t: Instant) -> NaiveDate {
        self.local(t).date_naive()
    }

    pub fn year(&self, t: Instant) -> i32 {
        self.date(t).year()
    }

    /// The instant of local midnight starting `date` (the earliest, should midnight repeat).
    pub fn start_of(&self, date: NaiveDate) -> Instant {
        let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let local = match self.tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
            // A zone that skips midnight: the first instant after the gap.
            chrono::LocalResult::None => {
                let later = naive + chrono::Duration::hours(1);
                self.tz
                    .from_local_datetime(&later)
                    .earliest()
                    .unwrap_or_else(|| self.tz.from_utc_datetime(&naive))
            }
        };
        local
            .with_timezone(&Utc)
            .timestamp_nanos_opt()
            .unwrap_or(i64::MAX)
    }

    /// E(D): the local midnight that starts the day after `date`. Something happens "by D" when it
    /// happens before E(D).
    pub fn end_of(&self, date: NaiveDate) -> Instant {
        match date.succ_opt() {
            Some(next) => self.start_of(next),
            None => i64::MAX,
        }
    }

    /// E(31 December of `year`).
    pub fn end_of_year(&self, year: i32) -> Instant {
        self.start_of(NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(NaiveDate::MAX))
    }

    pub fn start_of_year(&self, year: i32) -> Instant {
        self.start_of(NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN))
    }

    /// RFC 3339 in local time.
    pub fn rfc3339(&self, t: Instant) -> String {
        self.local(t)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    }
}

/// "M calendar months after" a date: the same day number M months later, or the last day of that
/// month if it is shorter (31 December + 2 months = 28 or 29 February).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The last instant of a local date: what a deadline finding's `at` shows, so that its local date
/// is the deadline day itself (E(D) is already the next day).
pub fn last_instant_of(cal: &Calendar, date: NaiveDate) -> Instant {
    cal.end_of(date) - 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn calendar_months_clamp_to_the_month_end() {
        assert_eq!(add_months(d(2017, 1, 15), 2), d(2017, 3, 15));
        assert_eq!(add_months(d(2016, 12, 31), 2), d(2017, 2, 28));
        assert_eq!(add_months(d(2019, 12, 31), 2), d(2020, 2, 29));
        assert_eq!(add_months(d(2020, 2, 29), 12), d(2021, 2, 28));
        assert_eq!(add_months(d(2017, 1, 31), 2), d(2017, 3, 31));
    }

    #[test]
    fn days_end_at_local_midnight_across_daylight_saving() {
        let cal = Calendar::default();
        // 26 March 2017: clocks go forward; the day after ends at 00:00+02:00.
        assert_eq!(
            cal.rfc3339(cal.end_of(d(2017, 3, 25))),
            "2017-03-26T00:00:00+01:00"
        );
        assert_eq!(
            cal.rfc3339(cal.end_of(d(2017, 3, 26))),
            "2017-03-27T00:00:00+02:00"
        );
        assert_eq!(
            cal.end_of(d(2017, 3, 26)) - cal.start_of(d(2017, 3, 26)),
            23 * 3_600_000_000_000
        );
        // 29 October 2017: clocks go back, a 25-hour day.
        assert_eq!(
            cal.end_of(d(2017, 10, 29)) - cal.start_of(d(2017, 10, 29)),
            25 * 3_600_000_000_000
        );
        assert_eq!(cal.date(cal.end_of(d(2017, 6, 30)) - 1), d(2017, 6, 30));
        assert_eq!(cal.date(cal.end_of(d(2017, 6, 30))), d(2017, 7, 1));
        assert_eq!(
            cal.date(last_instant_of(&cal, d(2017, 3, 31))),
            d(2017, 3, 31)
        );
    }
}
