//! Deterministic synthetic histories, for benchmarks, crash tests and demos. Pure: the same seed
//! gives the same events.

use std::fmt::Write as _;

/// SplitMix64: small, fast and good enough for synthetic data (never for sampling).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const DAY: i64 = 86_400;

fn ts(unix_seconds: i64) -> String {
    chrono_like(unix_seconds)
}

/// RFC 3339 in UTC for a Unix time (no chrono dependency needed here).
fn chrono_like(t: i64) -> String {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn date(t: i64) -> String {
    ts(t)[..10].to_owned()
}

/// One Danish case with a sanction history: about ten events, some of them unlawful in the ways
/// RULES.md §1 describes. `start` is a Unix time in seconds.
pub fn dk_case(rng: &mut Rng, municipality: u32, case: u64, start: i64, out: &mut Vec<String>) {
    let stream = format!("dk-{municipality}:c-{case:07}");
    let mut line = |t: i64, ty: &str, data: &str| {
        let mut s = String::with_capacity(256);
        let _ = write!(
            s,
            r#"{{"stream":"{stream}","type":"{ty}","effective_at":"{}","actor":"cw-{}","data":{data}}}"#,
            ts(t),
            rng_actor(case)
        );
        out.push(s);
    };
    let offer_start = start + 9 * DAY;
    if !rng.chance(10) {
        line(start - 20 * DAY, "sanction_guidance_given", "{}");
    }
    line(
        start,
        "offer_granted",
        &format!(
            r#"{{"offer_id":"o-1","kind":"virksomhedspraktik","planned_start":"{}","planned_end":"{}"}}"#,
            date(offer_start),
            date(offer_start + 90 * DAY)
        ),
    );
    let goal = if rng.chance(15) {
        "Afklaring af arbejdsevne"
    } else {
        "Lager- og logistikmedarbejder"
    };
    line(
        start + 300,
        "plan_updated",
        &format!(r#"{{"plan_version":1,"employment_goal":"{goal}","offers":["o-1"]}}"#),
    );
    let published = if rng.chance(12) {
        offer_start + 1800
    } else {
        start + 600
    };
    line(
        published,
        "plan_published",
        r#"{"plan_version":1,"channel":"jobnet"}"#,
    );
    line(offer_start, "offer_started", r#"{"offer_id":"o-1"}"#);
    line(
        offer_start + 5 * DAY,
        "absence_recorded",
        r#"{"offer_id":"o-1","excuse":null}"#,
    );
    if !rng.chance(8) {
        line(
            offer_start + 7 * DAY,
            "hearing_sent",
            r#"{"offer_id":"o-1"}"#,
        );
    }
    let decided = if rng.chance(5) {
        offer_start + 130 * DAY
    } else {
        offer_start + 17 * DAY
    };
    line(
        decided,
        "sanction_decided",
        &format!(
            r#"{{"sanction_id":"s-{municipality}-{case}","offer_id":"o-1","kind":"reduction","legal_basis":"LAS § 36"}}"#
        ),
    );
    line(
        decided + DAY,
        "match_assessed",
        if rng.chance(20) {
            r#"{"category":"aktivitetsparat","justification":""}"#
        } else {
            r#"{"category":"jobparat","justification":"Borgeren har erhvervserfaring og kan tage arbejde nu."}"#
        },
    );
    line(
        decided + 2 * DAY,
        "followup_held",
        r#"{"citizen_perspective":"Borgeren ønsker at arbejde på lager.","assessment":"Borgeren er i gang med praktik."}"#,
    );
}

fn rng_actor(case: u64) -> u64 {
    case % 40 + 1
}

/// At least `events` JSON lines of Danish cases in one municipality, starting in 2017.
pub fn dk_history(seed: u64, events: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(events + 16);
    let mut case = 0u64;
    let year_2017 = 1_483_228_800; // 2017-01-01T00:00:00Z
    while out.len() < events {
        case += 1;
        let start = year_2017 + (rng.below(300) as i64) * DAY + 9 * 3600;
        dk_case(&mut rng, 101, case, start, &mut out);
    }
    out.truncate(events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(ts(1_483_228_800), "2017-01-01T00:00:00Z");
        assert_eq!(ts(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn histories_are_deterministic_and_valid() {
        let a = dk_history(7, 500);
        assert_eq!(a, dk_history(7, 500));
        assert_eq!(a.len(), 500);
        for line in &a {
            crate::ingest::check_line(line).unwrap();
        }
    }
}
