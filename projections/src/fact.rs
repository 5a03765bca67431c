//! Facts: events as the rules see them, and the fold that keeps each stream's facts in stream order.

use crate::event::EventData;
use crate::time::Instant;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One event of the log, typed, with the times the rules use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub seq: u64,
    /// When it happened in the world.
    pub effective_at: Instant,
    /// Its recorded time: `recorded_at`, or else `appended_at` (RULES.md §0).
    pub recorded: Instant,
    pub data: EventData,
}

impl Fact {
    /// Stream order: `effective_at`, ties broken by log order.
    pub fn order_key(&self) -> (Instant, u64) {
        (self.effective_at, self.seq)
    }
}

/// The facts of one stream, in stream order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFacts {
    pub facts: Vec<Fact>,
}

impl StreamFacts {
    fn insert(&mut self, fact: Fact) {
        // Facts mostly arrive in order: append, else insert at their place.
        match self.facts.last() {
            Some(last) if last.order_key() > fact.order_key() => {
                let at = self
                    .facts
                    .partition_point(|f| f.order_key() < fact.order_key());
                self.facts.insert(at, fact);
            }
            _ => self.facts.push(fact),
        }
    }
}

/// The fold every query starts from: each stream's facts in stream order, updated event by event.
/// Applying the same facts in any order gives the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    streams: BTreeMap<Arc<str>, StreamFacts>,
    facts: u64,
}

impl Projection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one fact of a stream in. The stream id is the fold's key, not part of each fact: a
    /// replay of millions of events keeps it once per stream.
    pub fn apply(&mut self, stream: &Arc<str>, fact: Fact) {
        self.facts += 1;
        match self.streams.get_mut(stream) {
            Some(s) => s.insert(fact),
            None => {
                let mut s = StreamFacts::default();
                s.insert(fact);
                self.streams.insert(stream.clone(), s);
            }
        }
    }

    pub fn len(&self) -> u64 {
        self.facts
    }

    /// Gives back the spare capacity of the fold's vectors, once no more facts are coming: a
    /// replay of millions of events otherwise keeps up to twice the memory it needs.
    pub fn shrink_to_fit(&mut self) {
        for s in self.streams.values_mut() {
            s.facts.shrink_to_fit();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.facts == 0
    }

    pub fn stream(&self, id: &str) -> Option<&StreamFacts> {
        self.streams.get(id)
    }

    pub fn streams(&self) -> impl Iterator<Item = (&Arc<str>, &StreamFacts)> {
        self.streams.iter()
    }
}

/// A stream as one evaluation sees it: its facts known at the as-of time, in stream order.
#[derive(Debug, Clone)]
pub struct StreamView<'a> {
    pub id: &'a str,
    /// The same id, shared: results carry it without copying it.
    pub shared: Arc<str>,
    /// All the stream's facts; `iter` leaves out those recorded after `as_of`. Borrowed, not
    /// collected: evaluating a year walks every stream several times.
    facts: &'a [Fact],
    as_of: Option<Instant>,
}

impl<'a> StreamView<'a> {
    pub fn new(id: &'a Arc<str>, facts: &'a StreamFacts, as_of: Option<Instant>) -> Self {
        StreamView {
            id,
            shared: id.clone(),
            facts: &facts.facts,
            as_of,
        }
    }

    /// The municipality: the part of the id before the first `:`.
    pub fn municipality(&self) -> &'a str {
        self.id.split(':').next().unwrap_or(self.id)
    }

    /// The facts known to the evaluation, in stream order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Fact> + 'a {
        let as_of = self.as_of;
        self.facts
            .iter()
            .filter(move |f| as_of.is_none_or(|t| f.recorded <= t))
    }
}
