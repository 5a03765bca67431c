//! Min Plan versions and publications of one stream, with the take-effect rule of RULES.md §0.

use crate::event::{Channel, EventData};
use crate::fact::{Fact, StreamView};
use crate::time::Instant;

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

/// The plan versions and publications of a stream; publications in take-effect order (ties by seq).
#[derive(Debug, Clone, Default)]
pub struct Plans<'a> {
    versions: Vec<Version<'a>>,
    publications: Vec<Publication<'a>>,
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
        let mut publications: Vec<Publication<'a>> = view
            .iter()
            .filter_map(|f| match &f.data {
                EventData::PlanPublished {
                    plan_version,
                    channel,
                } => {
                    // The version a publication names is the one written before it in the log.
                    let version = versions
                        .iter()
                        .rev()
                        .find(|v| v.number == *plan_version && v.fact.seq < f.seq)
                        .copied();
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
        Plans {
            versions,
            publications,
        }
    }

    pub fn versions_listing<'s>(
        &'s self,
        offer: &'s str,
    ) -> impl Iterator<Item = &'s Version<'a>> + 's {
        self.versions.iter().filter(move |v| v.lists(offer))
    }

    /// Publications in take-effect order.
    pub fn publications(&self) -> impl Iterator<Item = &Publication<'a>> {
        self.publications.iter()
    }
}
