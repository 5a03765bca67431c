//! Facts: events as the rules see them, and the fold that keeps each stream's facts in stream order.

use crate::event::EventData;
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// How many of them are follow-ups (`judgement_version` asks on every case query).
    followups: usize,
}

impl StreamFacts {
    fn insert(&mut self, fact: Fact) {
        if let EventData::FollowupHeld { .. } = fact.data {
            self.followups += 1;
        }
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
///
/// Each stream's facts are shared (`Arc`), so a clone is a cheap snapshot: a long query works on
/// its own snapshot while appends go on folding into the original, copying only the streams they
/// change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    streams: BTreeMap<Arc<str>, Arc<StreamFacts>>,
    facts: u64,
    /// Follow-up assessments by (municipality, normalised wording): which cases used the same
    /// words, when — kept only when asked for (`index_wordings`: a server answering about one case
    /// at a time; a replay of a whole year does not need it). Lets a query about one case judge
    /// `dk.followup.standard_wording` without
    /// walking every case of its municipality.
    wording: Option<WordingIndex>,
    /// Follow-ups (opfølgningssamtaler) folded per municipality. `dk.followup.standard_wording`
    /// compares a case's follow-ups with its municipality's, so this count is part of what a case's
    /// judgement depends on (`judgement_version`).
    followups: HashMap<Box<str>, u64>,
}

/// (municipality, normalised assessment) -> the follow-ups with that wording.
type WordingIndex = HashMap<(Arc<str>, String), Arc<BTreeSet<WordingUse>>>;

/// One follow-up whose assessment has a given wording.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WordingUse {
    pub stream: Arc<str>,
    pub effective_at: Instant,
    pub recorded: Instant,
    pub seq: u64,
}

impl Projection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one fact of a stream in. The stream id is the fold's key, not part of each fact: a
    /// replay of millions of events keeps it once per stream.
    pub fn apply(&mut self, stream: &Arc<str>, fact: Fact) {
        self.facts += 1;
        if let EventData::FollowupHeld { .. } = &fact.data {
            let municipality = municipality_of(stream);
            match self.followups.get_mut(municipality) {
                Some(n) => *n += 1,
                None => {
                    self.followups.insert(municipality.into(), 1);
                }
            }
        }
        if let Some(index) = &mut self.wording {
            Self::index_wording(index, stream, &fact);
        }
        match self.streams.get_mut(stream) {
            Some(s) => Arc::make_mut(s).insert(fact),
            None => {
                let mut s = StreamFacts::default();
                s.insert(fact);
                self.streams.insert(stream.clone(), Arc::new(s));
            }
        }
    }

    fn index_wording(index: &mut WordingIndex, stream: &Arc<str>, fact: &Fact) {
        let EventData::FollowupHeld { assessment, .. } = &fact.data else {
            return;
        };
        let norm = crate::text::normalise(assessment);
        if norm.is_empty() {
            return;
        }
        let municipality: Arc<str> = Arc::from(municipality_of(stream));
        Arc::make_mut(index.entry((municipality, norm)).or_default()).insert(WordingUse {
            stream: stream.clone(),
            effective_at: fact.effective_at,
            recorded: fact.recorded,
            seq: fact.seq,
        });
    }

    /// From now on keeps an index of follow-up wordings (built from the facts folded so far), so
    /// that one case's standard wording is judged without walking its municipality.
    pub fn index_wordings(&mut self) {
        if self.wording.is_some() {
            return;
        }
        let mut index = HashMap::new();
        for (stream, facts) in &self.streams {
            for f in &facts.facts {
                Self::index_wording(&mut index, stream, f);
            }
        }
        self.wording = Some(index);
    }

    pub fn len(&self) -> u64 {
        self.facts
    }

    /// Gives back the spare capacity of the fold's vectors, once no more facts are coming: a
    /// replay of millions of events otherwise keeps up to twice the memory it needs.
    pub fn shrink_to_fit(&mut self) {
        for s in self.streams.values_mut() {
            Arc::make_mut(s).facts.shrink_to_fit();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.facts == 0
    }

    pub fn stream(&self, id: &str) -> Option<&StreamFacts> {
        self.streams.get(id).map(|s| &**s)
    }

    /// The stream's id as the projection shares it, with its facts.
    pub fn stream_entry(&self, id: &str) -> Option<(&Arc<str>, &StreamFacts)> {
        self.streams.get_key_value(id).map(|(k, s)| (k, &**s))
    }

    pub fn streams(&self) -> impl Iterator<Item = (&Arc<str>, &StreamFacts)> {
        self.streams.iter().map(|(k, s)| (k, &**s))
    }

    /// What judging one case reads: its stream and, if this projection keeps the index of
    /// follow-up wordings, the entries its follow-ups' wordings have in it, and its
    /// municipality's follow-up count. Taken under a lock it costs a few `Arc` clones and a
    /// look-up per follow-up of the case; judged alone it gives the
    /// case the answer the whole projection gives (`replay/tests/one_case.rs`).
    pub fn excerpt(&self, stream: &str) -> Projection {
        let municipality = municipality_of(stream);
        let streams: BTreeMap<Arc<str>, Arc<StreamFacts>> = self
            .streams
            .get_key_value(stream)
            .map(|(k, v)| (k.clone(), v.clone()))
            .into_iter()
            .collect();
        Projection {
            facts: streams.values().map(|s| s.facts.len() as u64).sum(),
            wording: self
                .wording
                .as_ref()
                .map(|index| Self::wordings_of(index, municipality, streams.values())),
            streams,
            followups: self
                .followups
                .get(municipality)
                .map(|n| (Box::from(municipality), *n))
                .into_iter()
                .collect(),
        }
    }

    /// This projection as it was before the record `seq` was folded: its facts of lower seqs.
    /// Walks every fact it holds: meant for an excerpt (the feed compares a case before and after
    /// a stretch of the log).
    pub fn before(&self, seq: u64) -> Projection {
        let mut streams = BTreeMap::new();
        for (id, s) in &self.streams {
            let mut kept = StreamFacts::default();
            for f in s.facts.iter().filter(|f| f.seq < seq) {
                kept.insert(f.clone());
            }
            if !kept.facts.is_empty() {
                streams.insert(id.clone(), Arc::new(kept));
            }
        }
        let wording = self.wording.as_ref().map(|index| {
            index
                .iter()
                .filter_map(|(k, uses)| {
                    let kept: BTreeSet<WordingUse> =
                        uses.iter().filter(|u| u.seq < seq).cloned().collect();
                    (!kept.is_empty()).then(|| (k.clone(), Arc::new(kept)))
                })
                .collect()
        });
        let mut before = Projection {
            facts: 0,
            streams,
            wording,
            followups: HashMap::new(),
        };
        before.recount();
        before
    }

    /// Counts the facts and each municipality's follow-ups again from the streams.
    fn recount(&mut self) {
        self.facts = self.streams.values().map(|s| s.facts.len() as u64).sum();
        self.followups.clear();
        for (id, s) in &self.streams {
            if s.followups > 0 {
                *self
                    .followups
                    .entry(municipality_of(id).into())
                    .or_default() += s.followups as u64;
            }
        }
    }

    /// The entries of the index of wordings that the follow-ups of `streams` (of `municipality`)
    /// use: all that judging them reads.
    fn wordings_of<'s>(
        index: &WordingIndex,
        municipality: &str,
        streams: impl Iterator<Item = &'s Arc<StreamFacts>>,
    ) -> WordingIndex {
        let municipality: Arc<str> = Arc::from(municipality);
        let mut out = WordingIndex::new();
        // Only a case with follow-ups reads the index: the others are not walked.
        for f in streams
            .filter(|s| s.followups > 0)
            .flat_map(|s| s.facts.iter())
        {
            let EventData::FollowupHeld { assessment, .. } = &f.data else {
                continue;
            };
            let key = (municipality.clone(), crate::text::normalise(assessment));
            if let Some(uses) = index.get(&key) {
                out.insert(key, uses.clone());
            }
        }
        out
    }

    /// Keeps only the streams `keep` says yes to (e.g. one municipality's, on a snapshot).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.streams.retain(|id, _| keep(id));
        if let Some(index) = &mut self.wording {
            index.retain(|_, uses| {
                Arc::make_mut(uses).retain(|u| keep(&u.stream));
                !uses.is_empty()
            });
        }
        self.recount();
    }

    /// The follow-ups of a municipality whose assessment normalises to `wording`; None when the
    /// projection keeps no index of wordings.
    pub fn wording_uses(
        &self,
        municipality: &str,
        wording: &str,
    ) -> Option<impl Iterator<Item = &WordingUse>> {
        let index = self.wording.as_ref()?;
        Some(
            index
                .get(&(Arc::from(municipality), wording.to_owned()))
                .into_iter()
                .flat_map(|uses| uses.iter()),
        )
    }

    /// Whether `wording_uses` answers.
    pub fn has_wording_index(&self) -> bool {
        self.wording.is_some()
    }

    /// What the judgement of one case (its verdicts and findings, at a given time) depends on
    /// besides the time: its own facts and, if it has follow-ups, its municipality's follow-ups.
    /// Both only grow, so an unchanged pair means an unchanged judgement; None for a stream
    /// without facts.
    pub fn judgement_version(&self, stream: &str) -> Option<(usize, u64)> {
        let s = self.streams.get(stream)?;
        let followups = match s.followups > 0 {
            true => self
                .followups
                .get(municipality_of(stream))
                .copied()
                .unwrap_or(0),
            false => 0,
        };
        Some((s.facts.len(), followups))
    }

    /// How many streams have facts.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

/// The municipality of a stream id: the part before the first `:`.
pub fn municipality_of(stream: &str) -> &str {
    stream.split(':').next().unwrap_or(stream)
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
        municipality_of(self.id)
    }

    /// The facts known to the evaluation, in stream order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Fact> + 'a {
        let as_of = self.as_of;
        self.facts
            .iter()
            .filter(move |f| as_of.is_none_or(|t| f.recorded <= t))
    }
}
