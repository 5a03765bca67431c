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

/// Builds one case's events; keeps plan versions in sequence and sanction ids unique.
struct Case<'a> {
    stream: String,
    actor: String,
    out: &'a mut Vec<String>,
    plan_versions: u32,
    sanctions: Vec<String>,
}

impl<'a> Case<'a> {
    fn new(stream: String, actor: String, out: &'a mut Vec<String>) -> Self {
        Case {
            stream,
            actor,
            out,
            plan_versions: 0,
            sanctions: Vec::new(),
        }
    }

    fn push(&mut self, t: i64, ty: &str, data: &str) {
        let mut s = String::with_capacity(160 + data.len());
        let _ = write!(
            s,
            r#"{{"stream":"{}","type":"{ty}","effective_at":"{}","actor":"{}","data":{data}}}"#,
            self.stream,
            ts(t),
            self.actor
        );
        self.out.push(s);
    }

    fn plan(&mut self, t: i64, goal: &str, offers: &[String]) {
        self.plan_versions += 1;
        let list = offers
            .iter()
            .map(|o| format!("\"{o}\""))
            .collect::<Vec<_>>()
            .join(",");
        let v = self.plan_versions;
        self.push(
            t,
            "plan_updated",
            &format!(r#"{{"plan_version":{v},"employment_goal":"{goal}","offers":[{list}]}}"#),
        );
    }

    fn publish(&mut self, t: i64, channel: &str) {
        let v = self.plan_versions;
        self.push(
            t,
            "plan_published",
            &format!(r#"{{"plan_version":{v},"channel":"{channel}"}}"#),
        );
    }
}

const GOALS: [&str; 8] = [
    "Lager- og logistikmedarbejder",
    "Ufaglært indenfor rengøringsbranchen",
    "Butiksassistent i dagligvarehandlen",
    "Social- og sundhedshjælper",
    "Chauffør med kørekort kategori C",
    "Tilbagevenden til arbejdet som fysioterapeut",
    "Køkkenmedhjælper i kantine",
    "Pædagogmedhjælper",
];
const GENERIC: [&str; 4] = [
    "Afklaring af arbejdsevne",
    "afklaring af arbejdsevnen.",
    "Raskmelding",
    "Opfølgning",
];
const KINDS: [&str; 4] = [
    "virksomhedspraktik",
    "loentilskud",
    "vejledning_opkvalificering",
    "nytteindsats",
];
const ASSESSMENTS: [&str; 6] = [
    "Borgeren er fortsat uarbejdsdygtig.",
    "Borgeren er motiveret og møder stabilt i praktikken.",
    "Borgeren har svært ved at overholde aftaler; plan justeres.",
    "Borgeren er i gang med opkvalificering og trives.",
    "Borgeren ønsker at søge job inden for lager.",
    "Borgeren har haft sygdom; genoptager forløbet.",
];

/// A follow-up's assessment: now and then the standard wording, mostly an assessment of its own.
fn assessment(rng: &mut Rng, month: i64) -> String {
    if rng.chance(8) {
        ASSESSMENTS[0].to_owned()
    } else {
        format!(
            "{} Fremmøde {} af 21 dage i måned {}; næste samtale om {} dage (sag {}).",
            ASSESSMENTS[1 + rng.below(5) as usize],
            10 + rng.below(11),
            month + 1,
            14 + rng.below(30),
            rng.below(1_000_000)
        )
    }
}

/// A Danish citizen on cash benefit (kontanthjælp) through a year: Min Plan versions, offers,
/// absences, hearings, sanctions (some unlawful in each of the ways of RULES.md §1), match
/// assessments and monthly follow-ups. About 150 events.
fn dk_citizen(rng: &mut Rng, municipality: u32, case: u64, year_start: i64, out: &mut Vec<String>) {
    let mut c = Case::new(
        format!("dk-{municipality}:c-{case:06}"),
        format!("cw-{}", rng.below(40) + 1),
        out,
    );
    let day = |d: i64| year_start + d * DAY + 9 * 3600;
    if !rng.chance(8) {
        c.push(day(rng.below(10) as i64), "sanction_guidance_given", "{}");
    }
    let goal = if rng.chance(12) {
        GENERIC[rng.below(4) as usize]
    } else {
        GOALS[rng.below(8) as usize]
    };
    let mut offers: Vec<String> = Vec::new();
    // Now and then an offer of last year stays listed in this year's plans (a stale offer).
    if rng.chance(15) {
        let old = year_start - 200 * DAY;
        c.push(old, "offer_granted", &format!(r#"{{"offer_id":"o-0","kind":"virksomhedspraktik","planned_start":"{}","planned_end":"{}"}}"#, date(old + 10 * DAY), date(old + 90 * DAY)));
        c.push(old + 10 * DAY, "offer_started", r#"{"offer_id":"o-0"}"#);
        c.push(
            old + 90 * DAY,
            "offer_ended",
            r#"{"offer_id":"o-0","outcome":"completed"}"#,
        );
        offers.push("o-0".into());
    }
    c.plan(day(12), goal, &offers);
    c.publish(day(12) + 600, "jobnet");
    for q in 0..12i64 {
        let t0 = day(15 + q * 29);
        let assessed = if rng.chance(10) {
            ""
        } else {
            "Borgeren kan ikke påtage sig arbejde inden for tre måneder pga. helbred."
        };
        if q % 3 == 0 {
            c.push(
                t0,
                "match_assessed",
                &format!(
                    r#"{{"category":"{}","justification":"{assessed}"}}"#,
                    if rng.chance(50) {
                        "jobparat"
                    } else {
                        "aktivitetsparat"
                    }
                ),
            );
        }
        // A new offer each month, listed in a new plan version published before the start (mostly).
        let offer = format!("o-{}", q + 1);
        let start = t0 + 20 * DAY;
        let planned_start = date(start);
        let planned_end = date(start + 70 * DAY);
        c.push(t0 + 3600, "offer_granted", &format!(r#"{{"offer_id":"{offer}","kind":"{}","planned_start":"{planned_start}","planned_end":"{planned_end}"}}"#, KINDS[rng.below(4) as usize]));
        // Stale offers: an ended offer stays in the plan now and then.
        if offers.len() > 1 || (!offers.is_empty() && offers[0] != "o-0" && !rng.chance(15)) {
            offers.remove(0);
        }
        offers.push(offer.clone());
        let never = rng.chance(5);
        if never {
            offers.push(format!("{offer}x"));
            c.push(t0 + 3700, "offer_granted", &format!(r#"{{"offer_id":"{offer}x","kind":"nytteindsats","planned_start":"{planned_start}"}}"#));
        }
        let in_plan_before = !rng.chance(6);
        let published_before = !rng.chance(8);
        if in_plan_before {
            c.plan(t0 + 7200, goal, &offers);
            let t = if published_before {
                t0 + 7800
            } else {
                start + 1800
            };
            c.publish(
                t,
                if rng.chance(80) {
                    "jobnet"
                } else {
                    "digital_post"
                },
            );
        }
        c.push(
            start,
            "offer_started",
            &format!(r#"{{"offer_id":"{offer}"}}"#),
        );
        if !in_plan_before {
            c.plan(start + 2 * DAY, goal, &offers);
            c.publish(start + 2 * DAY + 600, "jobnet");
        }
        if never && rng.chance(50) {
            c.push(
                start + 5 * DAY,
                "offer_ended",
                &format!(r#"{{"offer_id":"{offer}x","outcome":"cancelled"}}"#),
            );
        }
        // Absences: a few a quarter; some excused; a sanction for about half of the quarters.
        let absences = rng.below(7) as i64;
        let mut last_unexcused = None;
        for a in 0..absences {
            let t = start + (1 + a) * DAY + 3600 * a;
            let excused = rng.chance(25);
            c.push(
                t,
                "absence_recorded",
                &format!(
                    r#"{{"offer_id":"{offer}","excuse":{}}}"#,
                    if excused {
                        "\"Lægeerklæring\""
                    } else {
                        "null"
                    }
                ),
            );
            if !excused {
                last_unexcused = Some(t);
            }
            if !excused && !rng.chance(10) {
                c.push(
                    t + DAY,
                    "hearing_sent",
                    &format!(r#"{{"offer_id":"{offer}"}}"#),
                );
            }
        }
        if let Some(a) = last_unexcused.filter(|_| rng.chance(55)) {
            let late = rng.chance(4);
            let decided = if late {
                a + 125 * DAY
            } else {
                a + (3 + rng.below(15) as i64) * DAY
            };
            let kind = if !c.sanctions.is_empty() && rng.chance(25) {
                "tightened_availability"
            } else if rng.chance(85) {
                "reduction"
            } else {
                "stop"
            };
            let id = format!("s-{municipality}-{case}-{q}");
            c.push(decided, "sanction_decided", &format!(r#"{{"sanction_id":"{id}","offer_id":"{offer}","kind":"{kind}","legal_basis":"LAS § 36"}}"#));
            c.sanctions.push(id.clone());
            if rng.chance(6) {
                c.push(
                    decided + 20 * DAY,
                    "sanction_revoked",
                    &format!(
                        r#"{{"sanction_id":"{id}","reason":"Ankestyrelsen ophævede afgørelsen"}}"#
                    ),
                );
            }
        }
        c.push(
            start + 26 * DAY,
            "offer_ended",
            &format!(
                r#"{{"offer_id":"{offer}","outcome":"{}"}}"#,
                if rng.chance(85) {
                    "completed"
                } else {
                    "interrupted"
                }
            ),
        );
    }
    for m in 0..12i64 {
        let perspective = if rng.chance(10) {
            ""
        } else {
            "Borgeren fortæller, at praktikken giver mening."
        };
        let assessment = assessment(rng, m);
        c.push(
            day(20 + m * 30),
            "followup_held",
            &format!(r#"{{"citizen_perspective":"{perspective}","assessment":"{assessment}"}}"#),
        );
    }
}

/// A citizen in jobafklaring or ressourceforløb: the rehabilitation team's meeting, the
/// indsatsplan (late now and then), offers and follow-ups.
fn dk_rehab_citizen(
    rng: &mut Rng,
    municipality: u32,
    case: u64,
    year_start: i64,
    out: &mut Vec<String>,
) {
    let mut c = Case::new(
        format!("dk-{municipality}:r-{case:06}"),
        format!("cw-{}", rng.below(40) + 1),
        out,
    );
    let track = if rng.chance(50) {
        "jobafklaring"
    } else {
        "ressourceforloeb"
    };
    // Meetings from the year before, so that deadlines fall in the year.
    let meeting = year_start - 200 * DAY + rng.below(360) as i64 * DAY + 10 * 3600;
    c.push(
        meeting,
        "rehab_meeting_held",
        &format!(r#"{{"track":"{track}"}}"#),
    );
    let plan_after = if rng.chance(20) {
        70 + rng.below(40)
    } else {
        20 + rng.below(35)
    } as i64;
    c.push(
        meeting + plan_after * DAY,
        "indsatsplan_completed",
        &format!(r#"{{"track":"{track}"}}"#),
    );
    c.plan(
        meeting + DAY,
        GOALS[rng.below(8) as usize],
        &["o-1".to_string()],
    );
    c.publish(meeting + DAY + 600, "jobnet");
    if !(track == "ressourceforloeb" && rng.chance(15)) {
        let start = meeting + (30 + rng.below(300) as i64) * DAY;
        c.push(
            start - 10 * DAY,
            "offer_granted",
            &format!(
                r#"{{"offer_id":"o-1","kind":"vejledning_opkvalificering","planned_start":"{}"}}"#,
                date(start)
            ),
        );
        c.push(start, "offer_started", r#"{"offer_id":"o-1"}"#);
    }
    for m in 0..10i64 {
        let perspective = if rng.chance(12) {
            " "
        } else {
            "Borgeren ønsker at vende tilbage til arbejdsmarkedet."
        };
        let assessment = assessment(rng, m);
        c.push(
            meeting + (m + 1) * 36 * DAY,
            "followup_held",
            &format!(r#"{{"citizen_perspective":"{perspective}","assessment":"{assessment}"}}"#),
        );
    }
}

/// A flexjob-visited citizen paid ledighedsydelse month by month over 18 to 30 months, with
/// forwarding and reassessment in time or late.
fn dk_flexjob_citizen(
    rng: &mut Rng,
    municipality: u32,
    case: u64,
    year_start: i64,
    out: &mut Vec<String>,
) {
    let mut c = Case::new(
        format!("dk-{municipality}:f-{case:06}"),
        "system:payroll".into(),
        out,
    );
    let first_month = crate::synth::month_of(year_start) - 12 - rng.below(10) as i64;
    let months = 14 + rng.below(16) as i64;
    for m in 0..months {
        let ym = first_month + m;
        let (y, mo) = (ym.div_euclid(12), ym.rem_euclid(12) + 1);
        let t = month_start(y, mo) + 24 * DAY + 12 * 3600;
        c.push(
            t,
            "ledighedsydelse_paid",
            &format!(r#"{{"month":"{y:04}-{mo:02}"}}"#),
        );
    }
    c.actor = format!("cw-{}", rng.below(40) + 1);
    let forward_month = first_month + 9 + rng.below(4) as i64;
    let (y, mo) = (
        forward_month.div_euclid(12),
        forward_month.rem_euclid(12) + 1,
    );
    c.push(
        month_start(y, mo) + (rng.below(40) as i64) * DAY + 10 * 3600,
        "flexjob_reassessment_forwarded",
        "{}",
    );
    if months >= 12 {
        let re = first_month + 10 + rng.below(4) as i64;
        let (y, mo) = (re.div_euclid(12), re.rem_euclid(12) + 1);
        c.push(
            month_start(y, mo) + (rng.below(45) as i64) * DAY + 10 * 3600,
            "flexjob_reassessed",
            r#"{"outcome":"fortsat fleksjob"}"#,
        );
    }
}

/// A participant of a Swedish labour-market unit: enrolled, with or without an action plan.
fn se_participant(rng: &mut Rng, unit: u32, case: u64, year_start: i64, out: &mut Vec<String>) {
    let mut c = Case::new(
        format!("se-{unit}:p-{case:06}"),
        format!("handl-{}", rng.below(12) + 1),
        out,
    );
    let year = crate::synth::month_of(year_start).div_euclid(12);
    let enrolled = year_start - rng.below(200) as i64 * DAY + 9 * 3600;
    let birth_year = year - 14 - rng.below(56) as i64;
    c.push(
        enrolled,
        "participant_enrolled",
        &format!(r#"{{"birth_year":{birth_year},"programme":"Arbetsmarknadsinsats"}}"#),
    );
    if rng.chance(55) {
        let shared = rng.chance(30);
        for m in 0..(1 + rng.below(10) as i64) {
            c.push(
                enrolled + (20 + m * 33) * DAY,
                "action_plan_updated",
                &format!(r#"{{"shared":{shared}}}"#),
            );
        }
    }
    if rng.chance(15) {
        c.push(
            year_start + (60 + rng.below(250) as i64) * DAY,
            "participant_left",
            "{}",
        );
    }
}

/// Months since year 0 of a Unix time (UTC).
fn month_of(t: i64) -> i64 {
    let text = ts(t);
    let y: i64 = text[..4].parse().unwrap_or(1970);
    let m: i64 = text[5..7].parse().unwrap_or(1);
    y * 12 + m - 1
}

/// The Unix time of the first day of a month, 00:00 UTC.
fn month_start(year: i64, month: i64) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * DAY
}

/// A synthetic municipality: `citizens` cases of year `year`, in three Danish municipalities and a
/// Swedish unit, one case after another. Deterministic for a seed.
pub struct Municipality {
    rng: Rng,
    citizens: u64,
    next: u64,
    year_start: i64,
    pending: std::collections::VecDeque<String>,
}

impl Municipality {
    pub fn new(seed: u64, citizens: u64, year: i32) -> Self {
        Municipality {
            rng: Rng::new(seed),
            citizens,
            next: 0,
            year_start: month_start(i64::from(year), 1),
            pending: Default::default(),
        }
    }
}

impl Iterator for Municipality {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        while self.pending.is_empty() {
            if self.next >= self.citizens {
                return None;
            }
            self.next += 1;
            let case = self.next;
            let municipality = 101 + (self.rng.below(3) as u32);
            let mut out = Vec::new();
            match self.rng.below(100) {
                0..=54 => dk_citizen(&mut self.rng, municipality, case, self.year_start, &mut out),
                55..=69 => {
                    dk_rehab_citizen(&mut self.rng, municipality, case, self.year_start, &mut out)
                }
                70..=84 => {
                    dk_flexjob_citizen(&mut self.rng, municipality, case, self.year_start, &mut out)
                }
                _ => se_participant(&mut self.rng, 1480, case, self.year_start, &mut out),
            }
            self.pending.extend(out);
        }
        self.pending.pop_front()
    }
}

/// The lines of a [`Municipality`] as a reader of JSON Lines.
pub struct LinesReader<I: Iterator<Item = String>> {
    lines: I,
    buf: Vec<u8>,
    pos: usize,
}

impl<I: Iterator<Item = String>> LinesReader<I> {
    pub fn new(lines: I) -> Self {
        LinesReader {
            lines,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl<I: Iterator<Item = String>> std::io::Read for LinesReader<I> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.lines.next() {
                Some(line) => {
                    self.buf = line.into_bytes();
                    self.buf.push(b'\n');
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod municipality_tests {
    use super::*;

    #[test]
    fn month_arithmetic_is_civil() {
        assert_eq!(ts(month_start(2017, 1)), "2017-01-01T00:00:00Z");
        assert_eq!(ts(month_start(2016, 3)), "2016-03-01T00:00:00Z");
        assert_eq!(month_of(month_start(2017, 12)), 2017 * 12 + 11);
    }

    #[test]
    fn a_municipality_is_valid_input_and_deterministic() {
        let lines: Vec<String> = Municipality::new(7, 1000, 2017).collect();
        assert_eq!(lines, Municipality::new(7, 1000, 2017).collect::<Vec<_>>());
        let mut types = std::collections::BTreeSet::new();
        for line in &lines {
            let c = crate::ingest::check_line(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            types.insert(c.event.event_type);
        }
        // Every event type of EVENTS.md appears in a municipality of this size.
        assert_eq!(
            types.len(),
            projections::event::EVENT_TYPES.len(),
            "{types:?}"
        );
    }
}
