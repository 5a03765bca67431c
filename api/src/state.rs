//! What every request shares: the ledger, its one writer, the projection kept up to date with
//! every append, the tokens, the limits, the metrics and the feed.

use crate::auth::Tokens;
use crate::metrics::Metrics;
use ledger::group::{CommitStats, GroupCommitter};
use ledger::{Head, Ledger, Receipt};
use projections::event::EventData;
use projections::{Evaluation, Fact, Params, Projection, Scope};
use serde_json::value::RawValue;
use serde_json::{json, Value};
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
    /// Bytes of rendered case timelines kept for the next read of the same case.
    pub timeline_cache_bytes: usize,
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
            timeline_cache_bytes: 64 << 20,
        }
    }
}

/// How the server was started.
#[derive(Debug, Clone)]
pub struct Config {
    pub params: Params,
    /// A fixed time of evaluation (ns), for tests and replays of the past; None: the clock.
    pub now: Option<i64>,
    pub limits: Limits,
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

/// A stream's number of events and its events rendered as a JSON array.
type Rendering = (usize, Arc<RawValue>);

/// The rendered events (a JSON array) of recently read cases, by stream and version. A stream's
/// events never change, only grow: a rendering is right as long as the stream has as many events
/// as when it was made. Bounded: past `max_bytes`, it starts empty again.
pub struct TimelineCache {
    map: std::sync::Mutex<HashMap<Arc<str>, Rendering>>,
    bytes: std::sync::atomic::AtomicUsize,
    max_bytes: usize,
}

impl TimelineCache {
    pub fn new(max_bytes: usize) -> TimelineCache {
        TimelineCache {
            map: std::sync::Mutex::new(HashMap::new()),
            bytes: std::sync::atomic::AtomicUsize::new(0),
            max_bytes,
        }
    }

    /// The rendering of `stream` at `version` events, made by `render` if there is none.
    pub fn get_or_render<E>(
        &self,
        stream: &Arc<str>,
        version: usize,
        render: impl FnOnce() -> Result<Box<RawValue>, E>,
    ) -> Result<Arc<RawValue>, E> {
        {
            let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((v, bytes)) = map.get(stream) {
                if *v == version {
                    return Ok(bytes.clone());
                }
            }
        }
        let bytes: Arc<RawValue> = Arc::from(render()?);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.bytes.load(Relaxed) + bytes.get().len() > self.max_bytes {
            map.clear();
            self.bytes.store(0, Relaxed);
        }
        let len = bytes.get().len();
        if len <= self.max_bytes {
            self.bytes.fetch_add(len, Relaxed);
            if let Some((_, old)) = map.insert(stream.clone(), (version, bytes.clone())) {
                self.bytes
                    .fetch_sub(old.get().len().min(self.bytes.load(Relaxed)), Relaxed);
            }
        }
        Ok(bytes)
    }
}

pub struct Shared {
    pub ledger: Arc<Ledger>,
    pub timelines: TimelineCache,
    pub writer: GroupCommitter,
    pub view: RwLock<View>,
    pub tokens: Tokens,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    pub feed: broadcast::Sender<Arc<FeedItem>>,
    /// Set when the server is shutting down: new appends are refused, feeds end.
    pub closing: watch::Sender<bool>,
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
        let on_commit = {
            let metrics = metrics.clone();
            Box::new(move |stats: CommitStats| {
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
        Ok(AppState(Arc::new(Shared {
            timelines: TimelineCache::new(config.limits.timeline_cache_bytes),
            ledger,
            writer,
            view: RwLock::new(view),
            tokens,
            config,
            metrics,
            feed,
            closing,
        })))
    }
}

impl Shared {
    /// The time of evaluation now.
    pub fn now(&self) -> i64 {
        self.config
            .now
            .unwrap_or_else(|| ledger::Timestamp::now().unix_nanos)
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

    pub fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// Folds a durable append into the projection (so every query after its acknowledgement sees
    /// it) and tells the feed. Runs on the writer thread, in commit order.
    pub fn committed(&self, facts: Vec<PendingFact>, receipt: &Receipt) {
        let listening = self.feed.receiver_count() > 0;
        let mut streams: Vec<Arc<str>> = facts.iter().map(|f| f.stream.clone()).collect();
        streams.sort_unstable();
        streams.dedup();
        // Commits are folded one at a time on this thread, the only one that changes the view:
        // the verdicts before and after can be read under the read lock, and the write lock is
        // held only while folding.
        let before: Vec<(Value, Value)> = if listening {
            let view = self.read();
            streams
                .iter()
                .map(|s| self.case_state(&view.projection, s))
                .collect()
        } else {
            Vec::new()
        };
        {
            let mut view = self.view.write().unwrap_or_else(|p| p.into_inner());
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
        }
        if !listening {
            return;
        }
        let last_seq = receipt.positions.last().map_or(0, |p| p.0);
        let mut changes: Vec<FeedItem> = Vec::new();
        {
            let view = self.read();
            for (stream, (sanctions_before, findings_before)) in streams.iter().zip(before) {
                let (sanctions, findings) = self.case_state(&view.projection, stream);
                if sanctions != sanctions_before || findings != findings_before {
                    changes.push(FeedItem {
                        seq: last_seq,
                        stream: stream.clone(),
                        kind: "verdicts",
                        data: json!({"stream": &**stream, "seq": last_seq, "sanctions": sanctions, "findings": findings}).to_string(),
                    });
                }
            }
        }
        self.publish(receipt, changes);
    }

    /// The verdicts and findings of one case now.
    fn case_state(&self, projection: &Projection, stream: &str) -> (Value, Value) {
        let eval = Evaluation {
            params: self.params(),
            as_of: None,
            now: self.now(),
        };
        let scope = Scope {
            year: None,
            stream: Some(stream),
        };
        let cal = &self.params().calendar;
        (
            eval.sanctions(projection, scope)
                .iter()
                .map(|s| replay::output::sanction_json(cal, s))
                .collect(),
            eval.findings(projection, scope)
                .iter()
                .map(|f| replay::output::finding_json(cal, f))
                .collect(),
        )
    }

    /// Sends the events of an append (as export lines, read back from the ledger) and the verdict
    /// changes to every feed client. Never waits: a client that is behind misses items and is told
    /// to resume.
    fn publish(&self, receipt: &Receipt, changes: Vec<FeedItem>) {
        let (Some(first), Some(last)) = (receipt.positions.first(), receipt.positions.last())
        else {
            return;
        };
        let items = match feed_events(&self.ledger, first.0, last.0 + 1) {
            Ok(items) => items,
            Err(e) => {
                tracing::error!("feed: cannot read back seq {}..={}: {e}", first.0, last.0);
                Vec::new()
            }
        };
        for item in items.into_iter().chain(changes) {
            let _ = self.feed.send(Arc::new(item));
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
