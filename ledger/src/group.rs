//! Group commit: one writer thread takes every append that is waiting, checks them in turn and
//! writes them in one durable commit. Throughput comes from batching, never from skipping fsync:
//! each caller is answered only after its own events are durable.

use crate::ledger::{Append, AppendError, Ledger, Receipt};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Called with the outcome of one append, once it is durable (or refused).
pub type Reply = Box<dyn FnOnce(Result<Receipt, AppendError>) + Send>;

/// A handle to the writer thread. Dropping every handle stops the thread after the appends
/// already queued are written.
#[derive(Clone)]
pub struct GroupCommitter {
    tx: SyncSender<(Append, Reply)>,
}

/// Statistics of one commit, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct CommitStats {
    pub appends: usize,
    pub events: usize,
    pub micros: u128,
}

impl GroupCommitter {
    /// Starts the writer. `max_group` bounds the appends per commit; `queue` the appends waiting.
    pub fn start(
        ledger: Arc<Ledger>,
        max_group: usize,
        queue: usize,
        on_commit: Box<dyn Fn(CommitStats) + Send>,
    ) -> (GroupCommitter, JoinHandle<()>) {
        let (tx, rx) = mpsc::sync_channel::<(Append, Reply)>(queue.max(1));
        let handle = std::thread::Builder::new()
            .name("garanti-writer".into())
            .spawn(move || writer(ledger, rx, max_group.max(1), on_commit))
            .unwrap_or_else(|e| panic!("cannot start the writer thread: {e}"));
        (GroupCommitter { tx }, handle)
    }

    /// Queues an append; `reply` is called once it is durable or refused. Blocks while the queue is
    /// full. Fails only when the writer has stopped.
    pub fn submit(&self, append: Append, reply: Reply) -> Result<(), AppendError> {
        self.tx
            .send((append, reply))
            .map_err(|_| AppendError::Storage("the writer has stopped".into()))
    }

    /// Appends and waits for the outcome.
    pub fn append(&self, append: Append) -> Result<Receipt, AppendError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(
            append,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.recv()
            .unwrap_or_else(|_| Err(AppendError::Storage("the writer has stopped".into())))
    }
}

fn writer(
    ledger: Arc<Ledger>,
    rx: Receiver<(Append, Reply)>,
    max_group: usize,
    on_commit: Box<dyn Fn(CommitStats) + Send>,
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let events = group.iter().map(|(a, _)| a.events.len()).sum();
        let (appends, replies): (Vec<Append>, Vec<Reply>) = group.into_iter().unzip();
        let n = appends.len();
        let results = ledger.append_group(appends);
        on_commit(CommitStats {
            appends: n,
            events,
            micros: started.elapsed().as_micros(),
        });
        for (reply, result) in replies.into_iter().zip(results) {
            reply(result);
        }
    }
}
