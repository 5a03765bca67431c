//! What every request shares: the ledger, its one writer, the projection kept up to date with
//! every append, the tokens, the limits, the metrics and the feed.

use crate::auth::Tokens;
use crate::metrics::Metrics;
use axum::body::Bytes;
use ledger::group::{CommitStats, GroupCommitter};
use ledger::{Head, Ledger, Receipt};
use projections::event::EventData;
use projections::{Fact, Params, Projection};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Limits on what one request may ask.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of a request body.
    pub max_body_bytes: usize,
    /// Events of one append.
    pub max_batch_events: usize,
    /// Characters of any one string in an event's `data`.
    pub max_string_chars: usize,
    /// Time to answer a request (a report or a verification gets `long_request`).
    pub request: Duration,
    pub long_request: Duration,
    /// Records of one page of `/v1/ledger/events`, items of one page of a list.
    pub max_page: usize,
    /// Append requests waiting for the writer; beyond it, 503 and `Retry-After`.
    pub queue: usize,
    /// Append requests per durable commit.
    pub max_group: usize,
    /// Feed items buffered for each client; a client further behind is told to resume.
    pub feed_buffer: usize,
    /// Bytes of rendered cases (events, answers) kept for the next read of the same case.
    pub case_cache_bytes: usize,
    /// After shutdown begins, how long the listener still takes connections, answering every new
    /// request 503 (so clients and load balancers move on instead of meeting a reset).
    pub shutdown_drain: Duration,
    /// After the drain, how long connections may take to finish; then they are closed.
    pub shutdown_grace: Duration,
    /// How much older than the ledger's clock an appended event's `recorded_at` may be (None: any
    /// age). A live append records what a source system did just now; a `recorded_at` far in the
    /// past is a backdated claim (history goes in with `garanti import`).
    pub max_recorded_lag: Option<Duration>,
    /// The share (percent, 1..=100) of the query threads' time one token's queries may keep while
    /// appends are flowing (`crate::share`); 100: no limit.
    pub query_share: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_batch_events: 10_000,
            max_string_chars: 10_000,
            request: Duration::from_secs(30),
            long_request: Duration::from_secs(600),
            max_page: 10_000,
            queue: 4096,
            max_group: 1024,
            feed_buffer: 4096,
            case_cache_bytes: 256 << 20,
            shutdown_drain: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            max_recorded_lag: Some(Duration::from_secs(7 * 24 * 3600)),
            query_share: 20,
        }
    }
}

/// How the server was started.
#[derive(Debug, Clone)]
pub struct Config {
    pub params: Params,
    /// The time of evaluation.
    pub clock: Clock,
    pub limits: Limits,
    /// The log's signing key: with it the server signs checkpoints (`/log/checkpoint`).
    pub log_key: Option<Arc<ledger::note::NoteSigner>>,
}

/// The time of evaluation: the system's clock, or one set by hand (`--now`, a replay of the past;
/// tests, which move it).
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Set(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    /// A clock standing at `t` (ns) until moved.
    pub fn at(t: i64) -> Clock {
        Clock::Set(Arc::new(std::sync::atomic::AtomicI64::new(t)))
    }

    /// Moves a clock set by hand to `t`; the system's clock cannot be moved.
    pub fn set(&self, t: i64) {
        if let Clock::Set(at) = self {
            at.store(t, Relaxed);
        }
    }

    pub fn now(&self) -> i64 {
        match self {
            Clock::System => ledger::Timestamp::now().unix_nanos,
            Clock::Set(at) => at.load(Relaxed),
        }
    }
}

/// The projection and what goes with it, as of `head`.
pub struct View {
    pub projection: Projection,
    pub head: Option<Head>,
    /// Sanction id -> its stream, so one sanction is found without searching every case.
    sanctions: HashMap<Arc<str>, Arc<str>>,
    /// One shared copy of each stream id and repeated text, the loaded log's included.
    interner: replay::load::Interner,
}

impl View {
    /// The view of a loaded log: its projection with the index of follow-up wordings (the server
    /// answers about one case at a time) and the index of sanction ids.
    fn of(loaded: replay::load::Loaded) -> View {
        let mut projection = loaded.projection;
        projection.index_wordings();
        let mut sanctions = HashMap::new();
        for (stream, facts) in projection.streams() {
            for f in &facts.facts {
                if let EventData::SanctionDecided { sanction_id, .. } = &f.data {
                    sanctions.insert(sanction_id.clone(), stream.clone());
                }
            }
        }
        View {
            projection,
            head: loaded.head,
            sanctions,
            interner: loaded.interner,
        }
    }

    /// Folds one fact of a stream in.
    pub fn apply(&mut self, stream: &Arc<str>, fact: Fact) {
        let sanction_id = match &fact.data {
            EventData::SanctionDecided { sanction_id, .. } => Some(sanction_id.clone()),
            _ => None,
        };
        let stream = self.interner.apply(&mut self.projection, stream, fact);
        if let Some(id) = sanction_id {
            self.sanctions.insert(id, stream);
        }
    }

    /// The stream a sanction id was decided on.
    pub fn sanction_stream(&self, sanction_id: &str) -> Option<&str> {
        self.sanctions.get(sanction_id).map(|s| &**s)
    }
}

/// One event of an append on its way to the projection once it is durable.
pub struct PendingFact {
    pub stream: Arc<str>,
    pub effective_at: i64,
    /// `recorded_at` if the source gave it; else the ledger's clock at the append.
    pub recorded: i64,
    pub data: EventData,
}

/// One item of `GET /v1/feed`.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// The SSE id: the seq of the event, or of the last event a verdict change follows.
    pub seq: u64,
    pub stream: Arc<str>,
    /// `event` or `verdicts`.
    pub kind: &'static str,
    pub data: String,
}

/// The events of seqs `from..to` as feed items: their export lines.
pub fn feed_events(
    ledger: &Ledger,
    from: u64,
    to: u64,
) -> Result<Vec<FeedItem>, ledger::LedgerError> {
    let mut items = Vec::new();
    ledger.scan(from, to, &mut |record| {
        if let Ok(view) = record.view() {
            items.push(FeedItem {
                seq: record.seq,
                stream: Arc::from(view.stream),
                kind: "event",
                data: ledger::interchange::export_line(record, &view),
            });
        }
        true
    })?;
    Ok(items)
}

/// What is kept of one recently read case, as of `version` (its number of events). A stream's
/// events never change, only grow: what was rendered at a version stays right while the stream
/// has that many events.
#[derive(Default)]
struct CachedCase {
    version: usize,
    /// Its events rendered as a JSON array.
    timeline: Option<Bytes>,
    /// The answer of `GET /v1/streams/{stream}` without `as_of` around the timeline, and until
    /// when it holds: right while `Projection::judgement_version` is `judgement` and the clock is
    /// before `until` (`Evaluation::judged_until`).
    answer: Option<CaseAnswer>,
    /// Answers of `GET /v1/sanctions/{id}` without `as_of`: a verdict rests on its stream alone.
    sanctions: Vec<(Box<str>, Bytes)>,
}

struct CaseAnswer {
    judgement: (usize, u64),
    until: i64,
    /// What comes before and after the timeline in the answer.
    around: (Bytes, Bytes),
}

impl CachedCase {
    fn bytes(&self) -> usize {
        self.timeline.as_ref().map_or(0, Bytes::len)
            + self
                .answer
                .as_ref()
                .map_or(0, |a| a.around.0.len() + a.around.1.len())
            + self.sanctions.iter().map(|(_, b)| b.len()).sum::<usize>()
    }
}

/// Recently read cases: their rendered events, and whole answers while they hold. Rendering a
/// case's events reads the log, and judging it walks its facts with every rule: a caseworker
/// system polling a case, or many people reading the same sanction, should not pay that each
/// time. Bounded: past `max_bytes`, other cases are let go until a quarter of it is free.
pub struct CaseCache {
    cases: std::sync::Mutex<Cases>,
    max_bytes: usize,
    /// Answers given from what was kept, and answers that had to be judged (no `as_of`).
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Cases {
    map: HashMap<Arc<str>, CachedCase>,
    bytes: usize,
}

impl CaseCache {
    pub fn new(max_bytes: usize) -> CaseCache {
        CaseCache {
            cases: std::sync::Mutex::new(Cases::default()),
            max_bytes,
            hits: std::sync::atomic::AtomicU64::new(0),
            misses: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cases> {
        self.cases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads what is kept of `stream` at `version`.
    fn read<T>(
        &self,
        stream: &str,
        version: usize,
        f: impl FnOnce(&CachedCase) -> Option<T>,
    ) -> Option<T> {
        let cases = self.lock();
        cases
            .map
            .get(stream)
            .filter(|c| c.version == version)
            .and_then(f)
    }

    /// Changes what is kept of `stream` at `version` (started afresh if an older version is kept;
    /// nothing is done if a newer one is), within the bound.
    fn update(&self, stream: &Arc<str>, version: usize, f: impl FnOnce(&mut CachedCase)) {
        let mut cases = self.lock();
        let Cases { map, bytes } = &mut *cases;
        let case = map.entry(stream.clone()).or_default();
        if case.version > version {
            return;
        }
        if case.version < version {
            *bytes -= case.bytes().min(*bytes);
            *case = CachedCase {
                version,
                ..CachedCase::default()
            };
        }
        let before = case.bytes();
        f(case);
        *bytes = (*bytes + case.bytes()).saturating_sub(before);
        if *bytes > self.max_bytes {
            // Other cases go, in no particular order, until a quarter of the bound is free: not
            // all of them, so that a working set a little larger than the bound still mostly hits.
            let kept = map.remove(stream);
            let kept_bytes = kept.as_ref().map_or(0, CachedCase::bytes);
            let mut others = bytes.saturating_sub(kept_bytes);
            let target = self.max_bytes - self.max_bytes / 4;
            map.retain(|_, c| {
                if others + kept_bytes <= target {
                    return true;
                }
                others = others.saturating_sub(c.bytes());
                false
            });
            *bytes = others;
            if let Some(c) = kept.filter(|c| c.bytes() <= self.max_bytes) {
                *bytes += c.bytes();
                map.insert(stream.clone(), c);
            }
        }
    }

    /// The events of `stream` at `version` rendered, by `render` if they are not kept.
    pub fn timeline<E>(
        &self,
        stream: &Arc<str>,
        version: usize,
        render: impl FnOnce() -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        if let Some(t) = self.read(stream, version, |c| c.timeline.clone()) {
            return Ok(t);
        }
        let timeline = render()?;
        self.update(stream, version, |c| c.timeline = Some(timeline.clone()));
        Ok(timeline)
    }

    /// The kept answer about `stream`, if it holds for `judgement` at `now`: what comes before
    /// the timeline, the timeline, what comes after.
    pub fn answer(&self, stream: &str, judgement: (usize, u64), now: i64) -> Option<[Bytes; 3]> {
        let kept = self.read(stream, judgement.0, |c| {
            let a = c.answer.as_ref()?;
            let timeline = c.timeline.clone()?;
            (a.judgement == judgement && now < a.until)
                .then(|| [a.around.0.clone(), timeline, a.around.1.clone()])
        });
        self.count(kept.is_some());
        kept
    }

    fn count(&self, hit: bool) {
        match hit {
            true => self.hits.fetch_add(1, Relaxed),
            false => self.misses.fetch_add(1, Relaxed),
        };
    }

    /// The cache's lines of `/metrics` (Prometheus text format).
    pub fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP garanti_case_cache_bytes Bytes of cases kept for the next read.\n# TYPE garanti_case_cache_bytes gauge\ngaranti_case_cache_bytes {}", self.bytes());
        let _ = writeln!(out, "# HELP garanti_case_answers_total Answers about a case or sanction (without as_of), by whether they were kept or judged.\n# TYPE garanti_case_answers_total counter\ngaranti_case_answers_total{{from=\"kept\"}} {}\ngaranti_case_answers_total{{from=\"judged\"}} {}", self.hits.load(Relaxed), self.misses.load(Relaxed));
    }

    /// Keeps the answer about `stream` judged at `judgement`, right until `until`: what comes
    /// before and after its timeline (kept beside it).
    pub fn keep_answer(
        &self,
        stream: &Arc<str>,
        judgement: (usize, u64),
        until: i64,
        around: (Bytes, Bytes),
    ) {
        self.update(stream, judgement.0, |c| {
            c.answer = Some(CaseAnswer {
                judgement,
                until,
                around,
            })
        });
    }

    /// The kept answer about sanction `id` of `stream`, if the stream still has `version` events.
    pub fn sanction(&self, stream: &str, version: usize, id: &str) -> Option<Bytes> {
        let kept = self.read(stream, version, |c| {
            c.sanctions
                .iter()
                .find(|(s, _)| &**s == id)
                .map(|(_, b)| b.clone())
        });
        self.count(kept.is_some());
        kept
    }

    /// Keeps the answer about sanction `id` of `stream` at `version` events.
    pub fn keep_sanction(&self, stream: &Arc<str>, version: usize, id: &str, body: Bytes) {
        self.update(stream, version, |c| {
            if !c.sanctions.iter().any(|(s, _)| &**s == id) {
                c.sanctions.push((id.into(), body));
            }
        });
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

pub struct Shared {
    pub ledger: Arc<Ledger>,
    pub cases: CaseCache,
    pub writer: GroupCommitter,
    pub view: RwLock<View>,
    pub tokens: Tokens,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    pub feed: broadcast::Sender<Arc<FeedItem>>,
    /// Set when the server is shutting down: new appends are refused, feeds end.
    pub closing: watch::Sender<bool>,
    /// The latest checkpoint the ledger signed.
    pub checkpoint: RwLock<Option<Arc<ledger::transparency::KeptCheckpoint>>>,
    /// The threads that answer queries (judging, lists, reports), at a lower priority than appends.
    pub queries: crate::pool::QueryPool,
    /// Each token's share of the query threads while appends are flowing.
    pub shares: Arc<crate::share::QueryShares>,
    /// How far the log has grown, for the thread that works out the feed's items.
    pub feed_cursor: Arc<crate::changes::Cursor>,
    /// The projection of a signed checkpoint's records, last asked for (`as_of_size`).
    pub at_size: std::sync::Mutex<Option<(u64, Arc<Projection>)>>,
}

/// The state of the router: cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Catches the projection up from the log (verifying the chain on the way) and starts the
    /// writer. `progress` is called with the records folded so far.
    pub fn open(
        ledger: Arc<Ledger>,
        tokens: Tokens,
        config: Config,
        progress: &mut dyn FnMut(u64),
    ) -> Result<AppState, replay::load::LoadError> {
        let loaded = replay::load::project_verified(&ledger, progress)?;
        let view = View::of(loaded);
        let metrics = Arc::new(Metrics::default());
        if let Some(h) = view.head {
            metrics.head_seq.store(h.seq, Relaxed);
            metrics.has_head.store(1, Relaxed);
        }
        let shares = Arc::new(crate::share::QueryShares::new(config.limits.query_share));
        let on_commit = {
            let metrics = metrics.clone();
            let shares = shares.clone();
            Box::new(move |stats: CommitStats| {
                shares.committed();
                metrics.commits.fetch_add(1, Relaxed);
                metrics.commit_events.observe(stats.events as f64);
                metrics.commit_requests.observe(stats.appends as f64);
                metrics.commit_seconds.observe(stats.micros as f64 / 1e6);
            })
        };
        let (writer, _thread) = GroupCommitter::start(
            ledger.clone(),
            config.limits.max_group,
            config.limits.queue,
            on_commit,
        );
        let (feed, _) = broadcast::channel(config.limits.feed_buffer.max(1));
        let (closing, _) = watch::channel(false);
        let checkpoint = match ledger.latest_checkpoint() {
            Ok(kept) => kept.map(Arc::new),
            Err(e) => {
                tracing::warn!("cannot read the kept checkpoints: {e}");
                None
            }
        };
        // The feed's thread starts at the end of the log as folded.
        let end = view.head.map_or(0, |h| h.seq + 1);
        let feed_cursor = Arc::new(crate::changes::Cursor::new(end));
        let state = AppState(Arc::new(Shared {
            feed_cursor: feed_cursor.clone(),
            checkpoint: RwLock::new(checkpoint),
            at_size: std::sync::Mutex::new(None),
            queries: crate::pool::QueryPool::start(
                2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            cases: CaseCache::new(config.limits.case_cache_bytes),
            shares,
            ledger,
            writer,
            view: RwLock::new(view),
            tokens,
            config,
            metrics,
            feed,
            closing,
        }));
        crate::changes::start(Arc::downgrade(&state.0), feed_cursor, end);
        Ok(state)
    }
}

impl Shared {
    /// The time of evaluation now.
    pub fn now(&self) -> i64 {
        self.config.clock.now()
    }

    pub fn params(&self) -> &Params {
        &self.config.params
    }

    /// Reads the view. A poisoned lock (a panic while folding) still holds a consistent view of
    /// every append acknowledged before it: folding happens before acknowledging.
    pub fn read(&self) -> RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of the projection and its head, for a long query that must not hold up appends.
    pub fn snapshot(&self) -> (Projection, Option<Head>) {
        let view = self.read();
        (view.projection.clone(), view.head)
    }

    /// The latest checkpoint the ledger signed.
    pub fn latest_checkpoint(&self) -> Option<Arc<ledger::transparency::KeptCheckpoint>> {
        self.checkpoint
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Signs a checkpoint of the tree as it is now and keeps it (blocking: a durable write).
    /// None if the server has no log key.
    pub fn sign_checkpoint(
        &self,
    ) -> Result<Option<Arc<ledger::transparency::KeptCheckpoint>>, crate::ApiError> {
        let Some(key) = &self.config.log_key else {
            return Ok(None);
        };
        let kept = Arc::new(self.ledger.sign_checkpoint(key, ledger::Timestamp::now())?);
        let mut latest = self.checkpoint.write().unwrap_or_else(|p| p.into_inner());
        if latest.as_ref().is_none_or(|l| l.size <= kept.size) {
            *latest = Some(kept.clone());
        }
        Ok(Some(kept))
    }

    /// The projection of the first `size` records, which a checkpoint the ledger signed must
    /// cover exactly (folded from the log and checked against the signed root; blocking). The
    /// last one asked for is kept.
    pub fn projection_at_size(&self, size: u64) -> Result<Arc<Projection>, crate::ApiError> {
        let mut kept = self.at_size.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, p)) = kept.as_ref().filter(|(s, _)| *s == size) {
            return Ok(p.clone());
        }
        let signed = self.ledger.checkpoint(size)?.ok_or_else(|| {
            crate::ApiError::NotFound(format!(
                "as_of_size={size}: the log has signed no checkpoint of that size (GET /log/checkpoint gives the latest)"
            ))
        })?;
        let checkpoint = ledger::note::Note::parse(&signed.note)
            .and_then(|n| ledger::note::Checkpoint::parse(&n.text))
            .map_err(crate::ApiError::internal)?;
        let loaded = replay::load::project_verified_at(&self.ledger, &checkpoint, &mut |_| {})
            .map_err(crate::ApiError::internal)?;
        let mut projection = loaded.projection;
        projection.index_wordings();
        let projection = Arc::new(projection);
        *kept = Some((size, projection.clone()));
        Ok(projection)
    }

    /// Signs a checkpoint if the tree grew past the latest one (and the server has the key).
    pub fn sign_if_grown(&self) -> Result<(), crate::ApiError> {
        let grown = self
            .latest_checkpoint()
            .is_none_or(|k| k.size < self.ledger.tree_size());
        if grown {
            self.sign_checkpoint()?;
        }
        Ok(())
    }

    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// Folds a durable append into the projection (so every query after its acknowledgement sees
    /// it) and tells the feed's thread how far the log has grown. Runs on the writer thread, in
    /// commit order.
    pub fn committed(&self, facts: Vec<PendingFact>, receipt: &Receipt) {
        let end = {
            let mut view = self.view.write().unwrap_or_else(|p| p.into_inner());
            if let Some((first, _)) = receipt.positions.first() {
                self.catch_up(&mut view, *first);
            }
            for (fact, (seq, _)) in facts.into_iter().zip(&receipt.positions) {
                view.apply(
                    &fact.stream,
                    Fact {
                        seq: *seq,
                        effective_at: fact.effective_at,
                        recorded: fact.recorded,
                        data: fact.data,
                    },
                );
            }
            if let Some(head) = receipt.head {
                if view.head.is_none_or(|h| h.seq < head.seq) {
                    view.head = Some(head);
                }
                self.metrics.head_seq.store(head.seq, Relaxed);
                self.metrics.has_head.store(1, Relaxed);
            }
            view.head.map_or(0, |h| h.seq + 1)
        };
        // The feed's items are worked out on its own thread (`changes`), not on this one.
        self.feed_cursor.grown(end);
    }

    /// Folds the records before `to` that the view lacks: a commit that reported a failure but
    /// was durable all the same (the store, reopened, held it) is in the log and goes on the chain
    /// before the next acknowledged append, so the view takes it from the log.
    fn catch_up(&self, view: &mut View, to: u64) {
        let from = view.head.map_or(0, |h| h.seq + 1);
        if from >= to {
            return;
        }
        tracing::warn!("folding records {from}..{to}, written by a commit that reported a failure");
        let mut facts = Vec::new();
        let scanned = self.ledger.scan(from, to, &mut |record| {
            match replay::load::fact_of(record) {
                Ok(fact) => facts.push((
                    fact,
                    ledger::Head {
                        seq: record.seq,
                        hash: record.hash,
                    },
                )),
                Err(e) => tracing::error!("record {} cannot be folded: {e}", record.seq),
            }
            true
        });
        if let Err(e) = scanned {
            tracing::error!("cannot read records {from}..{to} to fold them: {e}");
        }
        for ((stream, fact), head) in facts {
            view.apply(&stream, fact);
            view.head = Some(head);
        }
    }

    /// Records the outcome of a commit in the metrics.
    pub fn count_append(&self, events: usize, ok: bool) {
        self.metrics.append_requests.fetch_add(1, Relaxed);
        if ok {
            self.metrics
                .appended_events
                .fetch_add(events as u64, Relaxed);
        } else {
            self.metrics.append_refused.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Result<Bytes, std::convert::Infallible> {
        Ok(Bytes::from(text.to_owned()))
    }

    #[test]
    fn the_case_cache_keeps_a_version_until_a_newer_one_and_stays_within_its_bound() {
        let cache = CaseCache::new(100);
        let a: Arc<str> = Arc::from("dk-101:a");
        let b: Arc<str> = Arc::from("dk-101:b");
        let t = cache.timeline(&a, 2, || raw("[1,2]")).unwrap();
        assert_eq!(&t[..], b"[1,2]");
        // Kept: not rendered again.
        let again = cache.timeline(&a, 2, || -> Result<_, ()> { panic!("rendered twice") });
        assert_eq!(&again.unwrap()[..], b"[1,2]");
        let around = (Bytes::from_static(b"{\"e\":"), Bytes::from_static(b"}"));
        cache.keep_answer(&a, (2, 7), 50, around);
        let parts = cache.answer(&a, (2, 7), 49).unwrap();
        assert_eq!(parts.concat(), b"{\"e\":[1,2]}");
        assert_eq!(cache.answer(&a, (2, 7), 50), None, "past its bound");
        assert_eq!(cache.answer(&a, (2, 8), 0), None, "another follow-up since");
        assert_eq!(cache.answer(&a, (3, 7), 0), None, "the case grew");
        cache.keep_sanction(&a, 2, "s-1", Bytes::from_static(b"{}"));
        assert_eq!(cache.sanction(&a, 2, "s-1").as_deref(), Some(&b"{}"[..]));
        assert_eq!(cache.sanction(&a, 2, "s-2"), None);
        assert_eq!(cache.bytes(), 5 + 6 + 2);
        // A slower request with an older version does not replace a newer one.
        cache.timeline(&a, 3, || raw("[1,2,3]")).unwrap();
        cache.keep_sanction(&a, 2, "s-1", Bytes::from_static(b"{}"));
        assert_eq!(cache.sanction(&a, 2, "s-1"), None);
        assert_eq!(cache.answer(&a, (2, 7), 0), None);
        assert_eq!(cache.bytes(), 7);
        // Past the bound, other cases go until a quarter is free; the one just read stays.
        let c: Arc<str> = Arc::from("dk-101:c");
        cache.timeline(&c, 1, || raw(&"x".repeat(60))).unwrap();
        cache.timeline(&b, 1, || raw(&"x".repeat(40))).unwrap();
        assert!(cache.read(&b, 1, |c| c.timeline.clone()).is_some());
        assert!(cache.read(&c, 1, |c| c.timeline.clone()).is_none());
        assert!(cache.bytes() <= 75, "{}", cache.bytes());
        assert_eq!(
            cache.bytes(),
            40 + cache
                .read(&a, 3, |c| c.timeline.clone())
                .map_or(0, |t| t.len())
        );
        // An answer larger than the whole bound is not kept at all.
        cache.timeline(&a, 4, || raw(&"y".repeat(200))).unwrap();
        assert!(cache.bytes() <= 100);
        assert!(cache.read(&a, 4, |c| c.timeline.clone()).is_none());
    }
}
