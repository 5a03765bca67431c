//! Min Plan versions and publications of one stream, with the take-effect rule of RULES.md §0.

use crate::event::{Channel, EventData};
use crate::fact::{Fact, StreamView};
use crate::time::Instant;
use std::collections::HashMap;

/// A version of Min Plan (`plan_updated`).
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    pub fact: &'a Fact,
    pub number: u32,
    pub goal: &'a str,
    pub offers: &'a [crate::event::Text],
}

impl Version<'_> {
    pub fn lists(&self, offer: &str) -> bool {
        self.offers.iter().any(|o| o.as_ref() == offer)
    }
}

/// A publication and the version it published.
#[derive(Debug, Clone, Copy)]
pub struct Publication<'a> {
    pub fact: &'a Fact,
    pub plan_version: u32,
    pub channel: Channel,
    /// None when the version is not known to this evaluation (as-of before it was recorded).
    pub version: Option<Version<'a>>,
    /// Its own `effective_at`, or the version's if that is later.
    pub take_effect: Instant,
}

/// The plan versions and publications of a stream, gathered once per stream so that each question
/// of the rules about them is a look-up, not a walk: a case with thousands of versions and
/// sanctions is judged in time that grows with its size, not with its square.
#[derive(Debug, Clone, Default)]
pub struct Plans<'a> {
    /// In take-effect order (ties by seq).
    publications: Vec<Publication<'a>>,
    /// Per offer: the versions listing it, in effective order (ties by seq).
    listing: HashMap<&'a str, Vec<Version<'a>>>,
    /// Per offer: the positions in `publications` of those whose version lists it.
    published_listing: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Plans<'a> {
    pub fn of(view: &StreamView<'a>) -> Plans<'a> {
        let mut versions: Vec<Version<'a>> = view
            .iter()
            .filter_map(|f| match &f.data {
                EventData::PlanUpdated {
                    plan_version,
                    employment_goal,
                    offers,
                    ..
                } => Some(Version {
                    fact: f,
                    number: *plan_version,
                    goal: employment_goal,
                    offers,
                }),
                _ => None,
            })
            .collect();
        versions.sort_by_key(|v| v.fact.seq);
        // (number, seq) order: the version a publication names is found by binary search.
        let mut by_number = versions.clone();
        by_number.sort_by_key(|v| (v.number, v.fact.seq));
        let mut publications: Vec<Publication<'a>> = view
            .iter()
            .filter_map(|f| match &f.data {
                EventData::PlanPublished {
                    plan_version,
                    channel,
                } => {
                    let version = written_before_in_log(&by_number, *plan_version, f.seq);
                    Some(Publication {
                        fact: f,
                        plan_version: *plan_version,
                        channel: *channel,
                        version,
                        take_effect: version
                            .map_or(f.effective_at, |v| v.fact.effective_at.max(f.effective_at)),
                    })
                }
                _ => None,
            })
            .collect();
        publications.sort_by_key(|p| (p.take_effect, p.fact.seq));
        let mut listing: HashMap<&'a str, Vec<Version<'a>>> = HashMap::new();
        for v in &versions {
            for o in v.offers {
                let of_offer = listing.entry(o.as_ref()).or_default();
                // A version listing an offer twice is one version listing it.
                if of_offer
                    .last()
                    .is_none_or(|last| last.fact.seq != v.fact.seq)
                {
                    of_offer.push(*v);
                }
            }
        }
        for of_offer in listing.values_mut() {
            of_offer.sort_by_key(|v| v.fact.order_key());
        }
        let mut published_listing: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, p) in publications.iter().enumerate() {
            for o in p.version.map_or(&[][..], |v| v.offers) {
                let of_offer = published_listing.entry(o.as_ref()).or_default();
                if of_offer.last() != Some(&i) {
                    of_offer.push(i);
                }
            }
        }
        Plans {
            publications,
            listing,
            published_listing,
        }
    }

    /// The versions listing `offer` written (in effect) before `start`, in effective order: the
    /// first predicate of the guarantee rule (RULES.md §1, `offer_not_in_plan_before_start`).
    pub fn written_before(&self, offer: &str, start: Instant) -> &[Version<'a>] {
        let of_offer = self.listing.get(offer).map_or(&[][..], |v| &v[..]);
        &of_offer[..of_offer.partition_point(|v| v.fact.effective_at < start)]
    }

    /// The latest publication of a version listing `offer` that took effect before `start`: the
    /// second predicate of the guarantee rule (`plan_not_published_before_start`).
    pub fn published_before(&self, offer: &str, start: Instant) -> Option<&Publication<'a>> {
        let of_offer = self.published_listing.get(offer)?;
        let n = of_offer.partition_point(|i| self.publications[*i].take_effect < start);
        n.checked_sub(1).map(|k| &self.publications[of_offer[k]])
    }

    /// The publication in effect at `at`: the latest that took effect at or before it.
    pub fn in_effect_at(&self, at: Instant) -> Option<&Publication<'a>> {
        let n = self.publications.partition_point(|p| p.take_effect <= at);
        n.checked_sub(1).map(|k| &self.publications[k])
    }

    /// Publications in take-effect order.
    pub fn publications(&self) -> impl Iterator<Item = &Publication<'a>> {
        self.publications.iter()
    }
}

/// The version numbered `number` written last before `seq` in the log (`by_number` is in
/// (number, seq) order): the one a publication at `seq` names.
fn written_before_in_log<'a>(
    by_number: &[Version<'a>],
    number: u32,
    seq: u64,
) -> Option<Version<'a>> {
    let n = by_number.partition_point(|v| (v.number, v.fact.seq) < (number, seq));
    n.checked_sub(1)
        .map(|k| by_number[k])
        .filter(|v| v.number == number)
}
