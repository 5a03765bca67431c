//! Every rule and sanction reason: its code, what it checks, and its legal basis.

/// A rule of RULES.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub code: &'static str,
    pub pack: &'static str,
    pub title: &'static str,
    pub legal_basis: &'static str,
    pub parameters: &'static [&'static str],
}

const MINPLAN_SOURCE: &str = "000_5b63c5f41d61772c.txt (\"Min Plan\" er en garantiforskrift); LAB § 40 stk. 1, § 41 stk. 2, § 42";

pub const SANCTION: &str = "dk.sanction";

pub const RULES: &[RuleInfo] = &[
    RuleInfo { code: SANCTION, pack: "dk", title: "A sanction for absence from an offer is lawful (every condition of RULES.md §1)", legal_basis: "LAB § 40 stk. 1, § 41 stk. 2, § 42; LAS § 13 stk. 7, § 35 stk. 1 and 3, § 36, § 40 a; forvaltningsloven § 19; 000_5b63c5f41d61772c.txt", parameters: &[crate::params::DECISION_MONTHS] },
    RuleInfo { code: "dk.minplan.offer_not_in_plan_before_start", pack: "dk", title: "No version of Min Plan listing the offer was written before it began (manglende opdatering af Min Plan forud for tilbud)", legal_basis: MINPLAN_SOURCE, parameters: &[] },
    RuleInfo { code: "dk.minplan.plan_not_published_before_start", pack: "dk", title: "Min Plan listing the offer was not published before it began (manglende rettidighed i publicering)", legal_basis: MINPLAN_SOURCE, parameters: &[] },
    RuleInfo { code: "dk.minplan.match_without_justification", pack: "dk", title: "A match category (matchkategori) was assessed without a justification", legal_basis: "000_5b63c5f41d61772c.txt; 002_1b8f0e7953f77131.txt", parameters: &[] },
    RuleInfo { code: "dk.minplan.goal_deficient", pack: "dk", title: "A published Min Plan has an empty or generic employment goal (beskæftigelsesmål)", legal_basis: "000_5b63c5f41d61772c.txt; LAB § 41 stk. 2", parameters: &["generic_goals"] },
    RuleInfo { code: "dk.minplan.stale_offer", pack: "dk", title: "A published Min Plan lists an offer that ended in an earlier year", legal_basis: "000_5b63c5f41d61772c.txt; LAB § 42 (kept up to date)", parameters: &[] },
    RuleInfo { code: "dk.minplan.offer_never_started", pack: "dk", title: "A published Min Plan lists an offer that never began", legal_basis: "000_5b63c5f41d61772c.txt; LAB § 42 (kept up to date)", parameters: &[crate::params::NEVER_STARTED_DAYS] },
    RuleInfo { code: "dk.rehab.indsatsplan_late", pack: "dk", title: "The indsatsplan was not completed within the deadline after the rehabilitation team's meeting", legal_basis: "002_1b8f0e7953f77131.txt (fokusrevision of jobafklaringsforløb and ressourceforløb)", parameters: &[crate::params::INDSATSPLAN_MONTHS] },
    RuleInfo { code: "dk.rehab.no_offer_first_year", pack: "dk", title: "No offer began within the first year of a ressourceforløb", legal_basis: "002_1b8f0e7953f77131.txt; cf. LAB § 113 stk. 2", parameters: &[crate::params::FIRST_OFFER_MONTHS] },
    RuleInfo { code: "dk.followup.no_citizen_perspective", pack: "dk", title: "A follow-up conversation (opfølgningssamtale) records no citizen perspective", legal_basis: "002_1b8f0e7953f77131.txt", parameters: &[] },
    RuleInfo { code: "dk.followup.standard_wording", pack: "dk", title: "A follow-up assessment uses the same standard wording as follow-ups on other cases of the municipality", legal_basis: "002_1b8f0e7953f77131.txt", parameters: &[crate::params::STANDARD_WORDING_STREAMS] },
    RuleInfo { code: "dk.flexjob.reassessment_late", pack: "dk", title: "The flexjob was not reassessed (revurdering) by the end of the month in which ledighedsydelse had been paid for 12 months within 18", legal_basis: "003_b821974632d71754.txt (rules before the 2013 flexjob reform)", parameters: &[crate::params::FLEXJOB_REASSESS_PAID, crate::params::FLEXJOB_WINDOW, crate::params::FLEXJOB_IN_FORCE] },
    RuleInfo { code: "dk.flexjob.forward_late", pack: "dk", title: "The case was not forwarded to the jobcentre for reassessment by the end of the forwarding month (11th paid month, 10th from 1 March 2008)", legal_basis: "003_b821974632d71754.txt", parameters: &[crate::params::FLEXJOB_FORWARD_PAID, crate::params::FLEXJOB_WINDOW, crate::params::FLEXJOB_IN_FORCE] },
    RuleInfo { code: "se.actionplan.missing", pack: "se", title: "An active participant aged 16-65 has no action plan (handlingsplan) at the end of the year", legal_basis: "001_1eb70678f339ee61.txt", parameters: &[crate::params::SE_MIN_AGE, crate::params::SE_MAX_AGE] },
];

/// A reason a sanction is unlawful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    OfferNotStarted,
    OfferNotInPlanBeforeStart,
    PlanNotPublishedBeforeStart,
    NoAbsenceBeforeDecision,
    AbsenceExcused,
    OfferNotInPublishedPlanAtAbsence,
    NoGuidanceBeforeAbsence,
    NoHearingBeforeDecision,
    DecisionTooLate,
    NoPriorSanction,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::OfferNotStarted,
        Reason::OfferNotInPlanBeforeStart,
        Reason::PlanNotPublishedBeforeStart,
        Reason::NoAbsenceBeforeDecision,
        Reason::AbsenceExcused,
        Reason::OfferNotInPublishedPlanAtAbsence,
        Reason::NoGuidanceBeforeAbsence,
        Reason::NoHearingBeforeDecision,
        Reason::DecisionTooLate,
        Reason::NoPriorSanction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::OfferNotStarted => "offer_not_started",
            Reason::OfferNotInPlanBeforeStart => "offer_not_in_plan_before_start",
            Reason::PlanNotPublishedBeforeStart => "plan_not_published_before_start",
            Reason::NoAbsenceBeforeDecision => "no_absence_before_decision",
            Reason::AbsenceExcused => "absence_excused",
            Reason::OfferNotInPublishedPlanAtAbsence => "offer_not_in_published_plan_at_absence",
            Reason::NoGuidanceBeforeAbsence => "no_guidance_before_absence",
            Reason::NoHearingBeforeDecision => "no_hearing_before_decision",
            Reason::DecisionTooLate => "decision_too_late",
            Reason::NoPriorSanction => "no_prior_sanction",
        }
    }

    pub fn legal_basis(self) -> &'static str {
        match self {
            Reason::OfferNotStarted => "LAS § 36 (absence from an offer presupposes that the offer began)",
            Reason::OfferNotInPlanBeforeStart => "LAB § 40 stk. 1 and § 41 stk. 2; Min Plan is a garantiforskrift (000_5b63c5f41d61772c.txt)",
            Reason::PlanNotPublishedBeforeStart => "LAB § 42; Min Plan is a garantiforskrift (000_5b63c5f41d61772c.txt)",
            Reason::NoAbsenceBeforeDecision => "LAS § 36",
            Reason::AbsenceExcused => "LAS § 13 stk. 7 (rimelig grund)",
            Reason::OfferNotInPublishedPlanAtAbsence => "LAB § 41 stk. 2 and § 42 (Min Plan kept up to date on Jobnet)",
            Reason::NoGuidanceBeforeAbsence => "LAS § 35 stk. 1 (written guidance before any sanction)",
            Reason::NoHearingBeforeDecision => "forvaltningsloven § 19 (partshøring)",
            Reason::DecisionTooLate => "LAS § 35 stk. 3 (deductions within 3 whole calendar months of the event)",
            Reason::NoPriorSanction => "LAS § 40 a (skærpet rådighedssanktion needs an earlier sanction)",
        }
    }

    /// What the reason means, for a caseworker.
    pub fn meaning(self) -> &'static str {
        match self {
            Reason::OfferNotStarted => "the offer had not begun when the sanction was decided",
            Reason::OfferNotInPlanBeforeStart => "no version of Min Plan listing the offer was written before the offer began",
            Reason::PlanNotPublishedBeforeStart => "Min Plan listing the offer was written but not published before the offer began",
            Reason::NoAbsenceBeforeDecision => "no absence (udeblivelse) from the offer was recorded between its start and the decision",
            Reason::AbsenceExcused => "every recorded absence from the offer carries an excuse",
            Reason::OfferNotInPublishedPlanAtAbsence => "the Min Plan published at the time of the absence did not list the offer",
            Reason::NoGuidanceBeforeAbsence => "no written guidance on rights and duties (vejledning om rettigheder og pligter) before the absence",
            Reason::NoHearingBeforeDecision => "the citizen was not heard (partshøring) between the absence and the decision",
            Reason::DecisionTooLate => "the decision came after the third whole calendar month after the absence's month",
            Reason::NoPriorSanction => "a tightened availability sanction (skærpet rådighedssanktion) needs an earlier sanction that stands",
        }
    }
}

pub fn rule(code: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.code == code)
}

/// Checks that `code` is a rule with findings (every rule but `dk.sanction`, whose results are
/// verdicts); the error lists the codes there are.
pub fn finding_rule(code: &str) -> Result<&'static RuleInfo, String> {
    match rule(code) {
        Some(r) if r.code != SANCTION => Ok(r),
        _ => {
            let codes: Vec<&str> = RULES
                .iter()
                .map(|r| r.code)
                .filter(|c| *c != SANCTION)
                .collect();
            Err(format!(
                "{code:?} is not a finding rule; use one of: {}",
                codes.join(", ")
            ))
        }
    }
}
