//! The feed's items, worked out off the writer: the writer only folds each commit and says how far
//! the log has grown (`Cursor::grown`, which never waits); one thread of its own reads the new
//! records back from the ledger, sends them to the feed, and judges each case they touch before
//! and after them, sending a `verdicts` item for every case whose verdicts or findings changed.
//! Commits that came while it judged are taken together (a case touched by many is judged once),
//! a stretch at most `PAGE` records long. It keeps only a weak reference to the server's state:
//! it never keeps the ledger open after the server has let go of it.

use crate::state::{feed_events, FeedItem, Shared};
use projections::{Evaluation, Projection, Scope};
use serde_json::json;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

/// Records taken together at most: bounds the memory and the time of one step.
const PAGE: u64 = 4096;

/// How far the log has grown, as the writer last said.
#[derive(Debug, Default)]
pub struct Cursor {
    end: Mutex<u64>,
    grown: Condvar,
}

impl Cursor {
    pub fn new(end: u64) -> Cursor {
        Cursor {
            end: Mutex::new(end),
            grown: Condvar::new(),
        }
    }

    /// The log now holds `end` records (seqs `0..end`) and the view has folded them all.
    pub fn grown(&self, end: u64) {
        let mut kept = self.end.lock().unwrap_or_else(|p| p.into_inner());
        if end > *kept {
            *kept = end;
            self.grown.notify_one();
        }
    }

    /// The end of the log once it is past `next`, or None after `timeout`.
    fn past(&self, next: u64, timeout: Duration) -> Option<u64> {
        let end = self.end.lock().unwrap_or_else(|p| p.into_inner());
        let (end, _) = self
            .grown
            .wait_timeout_while(end, timeout, |end| *end <= next)
            .unwrap_or_else(|p| p.into_inner());
        (*end > next).then_some(*end)
    }
}

/// Starts the thread that works out the feed's items from record `next` on. Like the writer's
/// thread (`ledger::group`), one that cannot be started is as fatal as memory running out.
pub fn start(shared: Weak<Shared>, cursor: Arc<Cursor>, next: u64) {
    std::thread::Builder::new()
        .name("garanti-feed".into())
        .spawn(move || run(&shared, &cursor, next))
        .unwrap_or_else(|e| panic!("cannot start the feed's thread: {e}"));
}

fn run(shared: &Weak<Shared>, cursor: &Cursor, mut next: u64) {
    loop {
        let Some(end) = cursor.past(next, Duration::from_millis(250)) else {
            if shared.strong_count() == 0 {
                return;
            }
            continue;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let to = end.min(next.saturating_add(PAGE));
        // Nobody is listening: nothing to read or judge.
        if shared.feed.receiver_count() > 0 {
            if let Err(e) = step(&shared, next, to) {
                tracing::error!("feed: cannot read back seq {next}..{to}: {e}");
            }
        }
        next = to;
    }
}

/// Sends the records `from..to` and the verdict changes they make.
fn step(shared: &Shared, from: u64, to: u64) -> Result<(), ledger::LedgerError> {
    let items = feed_events(&shared.ledger, from, to)?;
    let mut streams: Vec<Arc<str>> = items.iter().map(|i| i.stream.clone()).collect();
    streams.sort_unstable();
    streams.dedup();
    for item in items {
        let _ = shared.feed.send(Arc::new(item));
    }
    let last = to - 1;
    for stream in streams {
        let excerpt = shared.read().projection.excerpt(&stream);
        // Copied out of the shared facts at once, so that the writer's next fold of this case
        // does not have to copy them.
        let after = excerpt.before(to);
        drop(excerpt);
        let before = after.before(from);
        if let Some(item) = change(shared, &stream, &before, &after, last) {
            let _ = shared.feed.send(Arc::new(item));
        }
    }
    Ok(())
}

/// A `verdicts` item if the case's verdicts or findings differ between the two projections.
fn change(
    shared: &Shared,
    stream: &Arc<str>,
    before: &Projection,
    after: &Projection,
    last: u64,
) -> Option<FeedItem> {
    let eval = Evaluation {
        params: shared.params(),
        as_of: None,
        now: shared.now(),
    };
    let scope = Scope {
        year: None,
        stream: Some(stream),
    };
    let judged = |p: &Projection| (eval.sanctions(p, scope), eval.findings(p, scope));
    let now = judged(after);
    if judged(before) == now {
        return None;
    }
    let (sanctions, findings) = now;
    let cal = &shared.params().calendar;
    let sanctions: Vec<_> = sanctions
        .iter()
        .map(|s| replay::output::sanction_json(cal, s))
        .collect();
    let findings: Vec<_> = findings
        .iter()
        .map(|f| replay::output::finding_json(cal, f))
        .collect();
    Some(FeedItem {
        seq: last,
        stream: stream.clone(),
        kind: "verdicts",
        data:
            json!({"stream": &**stream, "seq": last, "sanctions": sanctions, "findings": findings})
                .to_string(),
    })
}
