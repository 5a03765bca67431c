//! Each token's share of the query threads while appends are flowing. A client that reads large
//! cases or makes reports in a loop takes whatever the server gives it, and lowering the query
//! threads' priority does not stop it: sending its answers, and waking the appends' threads
//! behind a busy query thread, cost the appends as much as the judging (BENCHMARKS.md, "A shared
//! server"). So, while the writer commits, a token's queries may keep the query threads busy for
//! at most `percent` of the time: after a query that took `t`, the token's next query starts
//! `t × 100 / percent` later at the earliest (less a small burst allowance, so that a page's few
//! requests at once are not held up). Other tokens are not affected; when no append has been
//! committed for a second, nothing waits.
//!
//! This is the generic cell rate algorithm (a token bucket kept as one instant per token): the
//! time at which the token will have paid for what it used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use tokio::time::{Duration, Instant};

/// What a token may use at once before it waits: a few small queries, or one large case.
const BURST: Duration = Duration::from_millis(500);
/// The longest a token waits, however much its last query took (a report of minutes).
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Appends are flowing while the last commit is this recent.
const FLOWING: Duration = Duration::from_secs(1);
/// Charged per byte of a case's answer, kept or judged: what sending it costs the appends
/// (copies through the kernel, wake-ups of the HTTP threads while a slow client drains it),
/// calibrated on a loop reading a kept 4.4 MB case (BENCHMARKS.md): 44 ms of query time a read.
const PER_BYTE: Duration = Duration::from_nanos(10);

pub struct QueryShares {
    /// 1..=100; 100: no limit.
    percent: u32,
    /// For each token: when it will have paid for the query time it used.
    paid_at: Mutex<HashMap<String, Instant>>,
    last_commit: Mutex<Option<Instant>>,
    /// Queries held back, and the microseconds they waited (for `/metrics`).
    held: AtomicU64,
    held_micros: AtomicU64,
}

impl QueryShares {
    /// A share of `percent` (clamped to 1..=100; 100 turns pacing off).
    pub fn new(percent: u32) -> QueryShares {
        QueryShares {
            percent: percent.clamp(1, 100),
            paid_at: Mutex::new(HashMap::new()),
            last_commit: Mutex::new(None),
            held: AtomicU64::new(0),
            held_micros: AtomicU64::new(0),
        }
    }

    /// The writer committed appends.
    pub fn committed(&self) {
        *self.last_commit.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// Whether appends are flowing: committed within the last second.
    pub fn appends_flowing(&self) -> bool {
        self.flowing(Instant::now())
    }

    fn flowing(&self, now: Instant) -> bool {
        let last = *self.last_commit.lock().unwrap_or_else(|p| p.into_inner());
        self.percent < 100 && last.is_some_and(|c| now.duration_since(c) < FLOWING)
    }

    /// How far ahead of its share `token` is: the query time it used and has not yet paid for
    /// by waiting, scaled by the share.
    pub fn owed(&self, token: &str) -> Duration {
        let paid = self.paid_at.lock().unwrap_or_else(|p| p.into_inner());
        paid.get(token).map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(Instant::now())
        })
    }

    /// How long `token` must wait before its next query may start.
    pub fn wait(&self, token: &str) -> Duration {
        match self.flowing(Instant::now()) {
            true => self.owed(token).saturating_sub(BURST),
            false => Duration::ZERO,
        }
    }

    /// Waits until `token`'s next query may start.
    pub async fn admit(&self, token: &str) {
        let wait = self.wait(token);
        if !wait.is_zero() {
            self.held.fetch_add(1, Relaxed);
            let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
            self.held_micros.fetch_add(micros, Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// `token` used the query threads for `used`.
    pub fn charge(&self, token: &str, used: Duration) {
        let now = Instant::now();
        if !self.flowing(now) {
            return;
        }
        let cost = used.saturating_mul(100) / self.percent;
        let mut paid = self.paid_at.lock().unwrap_or_else(|p| p.into_inner());
        let at = paid.entry(token.to_owned()).or_insert(now);
        *at = (*at).max(now) + cost;
        *at = (*at).min(now + BURST + MAX_WAIT);
    }

    /// The pacing's lines of `/metrics` (Prometheus text format).
    pub fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP garanti_query_share_held_total Queries that waited for their token's share of the query threads (--query-share).\n# TYPE garanti_query_share_held_total counter\ngaranti_query_share_held_total {}", self.held.load(Relaxed));
        let _ = writeln!(out, "# HELP garanti_query_share_held_seconds_total The time those queries waited.\n# TYPE garanti_query_share_held_seconds_total counter\ngaranti_query_share_held_seconds_total {}", self.held_micros.load(Relaxed) as f64 / 1e6);
    }

    /// `token` was sent `bytes` of an answer that was not judged for it.
    pub fn charge_bytes(&self, token: &str, bytes: usize) {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.charge(token, PER_BYTE.saturating_mul(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn without_appends_nothing_waits_and_nothing_is_owed() {
        let shares = QueryShares::new(20);
        shares.charge("a", 2000 * MS);
        assert_eq!(shares.wait("a"), Duration::ZERO);
        shares.committed();
        assert_eq!(
            shares.wait("a"),
            Duration::ZERO,
            "what was used before is not owed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn while_appends_flow_a_token_waits_for_its_share_and_others_do_not() {
        let shares = QueryShares::new(20);
        shares.committed();
        // 100 ms of queries at a 20% share is paid 500 ms later: within the burst allowance.
        shares.charge("a", 100 * MS);
        assert_eq!(shares.wait("a"), Duration::ZERO);
        // One more millisecond is not.
        shares.charge("a", MS);
        assert_eq!(shares.wait("a"), 5 * MS);
        shares.charge("a", 300 * MS);
        assert_eq!(shares.wait("a"), 1505 * MS);
        assert_eq!(shares.wait("b"), Duration::ZERO);
        shares.admit("a").await;
        let mut metrics = String::new();
        shares.write_metrics(&mut metrics);
        assert!(
            metrics.contains("garanti_query_share_held_total 1\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("garanti_query_share_held_seconds_total 1.505\n"),
            "{metrics}"
        );
        // Time pays: having waited 1.5 s, the token may go on (appends still flowing).
        shares.committed();
        assert_eq!(shares.wait("a"), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_when_appends_stop_and_is_bounded() {
        let shares = QueryShares::new(20);
        shares.committed();
        shares.charge("a", 600 * Duration::from_secs(1));
        assert_eq!(shares.wait("a"), MAX_WAIT);
        tokio::time::advance(FLOWING - MS).await;
        assert_eq!(shares.wait("a"), MAX_WAIT - FLOWING + MS);
        tokio::time::advance(MS).await;
        assert_eq!(shares.wait("a"), Duration::ZERO, "no commit for a second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_share_never_waits() {
        let shares = QueryShares::new(100);
        shares.committed();
        shares.charge("a", 60 * Duration::from_secs(1));
        assert_eq!(shares.wait("a"), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_sent_are_charged_by_size() {
        let shares = QueryShares::new(10);
        shares.committed();
        shares.charge_bytes("a", 6_000_000);
        // 6 MB at 10 ns a byte is 60 ms; at a 10% share, 600 ms, less the burst.
        assert_eq!(shares.wait("a"), 100 * MS);
    }
}
