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

/// Why an append could not be queued. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the writer's queue is full; retry shortly")]
    Busy,
    #[error("the writer has stopped")]
    Stopped,
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

    /// Queues an append without waiting: refused with `Busy` while the queue is full (the caller
    /// can ask its client to retry), `Stopped` once the writer has stopped.
    pub fn try_submit(&self, append: Append, reply: Reply) -> Result<(), SubmitError> {
        self.tx.try_send((append, reply)).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => SubmitError::Busy,
            mpsc::TrySendError::Disconnected(_) => SubmitError::Stopped,
        })
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
    // The replies of a commit are called on a second thread, in commit order, while the writer
    // already gathers and commits the next group: what a reply does (an API folds the events into
    // its projection before answering) does not hold up the next commit. One group waits at most.
    let (answers, pending) = mpsc::sync_channel::<Vec<(Reply, Result<Receipt, AppendError>)>>(1);
    let answerer = std::thread::Builder::new()
        .name("garanti-answer".into())
        .spawn(move || {
            for group in pending {
                for (reply, result) in group {
                    reply(result);
                }
            }
        });
    let answerer = match answerer {
        Ok(handle) => Some(handle),
        Err(e) => {
            // Without a second thread the writer answers itself.
            eprintln!("garanti: cannot start the answering thread ({e}); the writer answers");
            None
        }
    };
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let sizes: Vec<usize> = group.iter().map(|(a, _)| a.events.len()).collect();
        let (appends, replies): (Vec<Append>, Vec<Reply>) = group.into_iter().unzip();
        let results = ledger.append_group(appends);
        // Only what was written counts: refused appends write nothing.
        let accepted: Vec<usize> = results
            .iter()
            .zip(&sizes)
            .filter(|(r, _)| r.is_ok())
            .map(|(_, n)| *n)
            .collect();
        if !accepted.is_empty() {
            on_commit(CommitStats {
                appends: accepted.len(),
                events: accepted.iter().sum(),
                micros: started.elapsed().as_micros(),
            });
        }
        let group: Vec<_> = replies.into_iter().zip(results).collect();
        let unsent = match &answerer {
            Some(_) => answers.send(group).err().map(|e| e.0),
            None => Some(group),
        };
        for (reply, result) in unsent.into_iter().flatten() {
            reply(result);
        }
    }
    drop(answers);
    if let Some(handle) = answerer {
        let _ = handle.join();
    }
}
