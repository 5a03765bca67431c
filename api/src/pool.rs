//! The threads that answer queries: judging cases, lists, reports, proofs. A fixed number of them,
//! at a lower CPU priority (nice 10 on Linux) than the threads that take appends and answer cheap
//! requests, so that a tenant reading large cases or making reports in a loop gets the CPU that
//! appends leave, not the CPU appends need. A query waits (cancellably: its request may time out)
//! for a free thread; one that has started runs to its end.

use crate::error::{request_id, ApiError, REQUEST_ID};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// The priority of a query thread in thread-priority's scale (0..=99, mapped onto niceness
/// 19..=-20 on Linux): 22 is niceness 10 (tested), at which a thread gets about a tenth of the CPU
/// a default thread gets when both want it.
const PRIORITY: u8 = 22;

pub struct QueryPool {
    jobs: mpsc::Sender<Job>,
    /// One per thread: a query takes one before it is queued, so none waits in the channel.
    free: Arc<Semaphore>,
    threads: usize,
}

impl QueryPool {
    /// Starts `threads` query threads (at least one). They end when the pool is dropped.
    pub fn start(threads: usize) -> QueryPool {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            // Like the writer's thread (`ledger::group`): a thread that cannot start is as fatal
            // as memory running out.
            std::thread::Builder::new()
                .name(format!("garanti-query-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .unwrap_or_else(|e| panic!("cannot start a query thread: {e}"));
        }
        QueryPool {
            jobs,
            free: Arc::new(Semaphore::new(threads)),
            threads,
        }
    }

    /// Takes every thread as it frees: queries wait until the permit is dropped (for tests that
    /// show what a busy pool holds up, and what it does not).
    pub async fn hold_all(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let all = u32::try_from(self.threads).ok()?;
        self.free.clone().acquire_many_owned(all).await.ok()
    }

    /// Runs `work` on a query thread, within the current request's id.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.run_timed(work).await.0
    }

    /// Runs `work` on a query thread; also says how long it kept the thread.
    pub async fn run_timed<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> (Result<T, ApiError>, std::time::Duration) {
        let Ok(permit) = self.free.clone().acquire_owned().await else {
            return (Err(shutting_down()), std::time::Duration::ZERO);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let id = request_id().unwrap_or_default();
        let job: Job = Box::new(move || {
            let started = std::time::Instant::now();
            let result =
                std::panic::catch_unwind(AssertUnwindSafe(|| REQUEST_ID.sync_scope(id, work)));
            drop(permit);
            let _ = tx.send((result, started.elapsed()));
        });
        if self.jobs.send(job).is_err() {
            return (Err(shutting_down()), std::time::Duration::ZERO);
        }
        match rx.await {
            Ok((Ok(result), used)) => (result, used),
            Ok((Err(_), used)) => (Err(ApiError::internal("a query panicked")), used),
            Err(_) => (
                Err(ApiError::internal("a query thread stopped")),
                std::time::Duration::ZERO,
            ),
        }
    }
}

fn shutting_down() -> ApiError {
    ApiError::Unavailable("the server is shutting down".into())
}

/// Lowers the calling thread's CPU priority to `PRIORITY`; where that fails the thread keeps the
/// default (only less fair), and says so once.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{ThreadPriority, ThreadPriorityValue};
        let lowered = ThreadPriorityValue::try_from(PRIORITY)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(p))
                    .map_err(|e| format!("{e:?}"))
            });
        if let Err(e) = lowered {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("query threads keep the default priority: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The niceness of the calling thread, from /proc (field 19 of its stat line).
    #[cfg(target_os = "linux")]
    fn niceness() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name may hold spaces: count the fields after its closing parenthesis.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn queries_run_at_a_lower_priority_than_the_threads_that_take_appends() {
        let pool = QueryPool::start(2);
        let theirs = pool.run(|| Ok(niceness())).await.unwrap();
        assert_eq!(theirs, 10);
        assert_eq!(niceness(), 0, "the calling thread is left as it was");
    }

    #[tokio::test]
    async fn a_panicking_query_is_an_internal_error_and_its_thread_goes_on() {
        let pool = QueryPool::start(1);
        let failed = pool
            .run(|| -> Result<(), ApiError> { panic!("boom") })
            .await;
        assert!(matches!(failed, Err(ApiError::Internal(_))), "{failed:?}");
        assert_eq!(pool.run(|| Ok(7)).await.unwrap(), 7);
    }
}
