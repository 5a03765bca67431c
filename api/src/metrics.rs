//! Counters and histograms for `GET /metrics`, in the Prometheus text format (0.0.4). Lock-free:
//! recording is a few atomic adds, on the writer thread and in every request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// A histogram with fixed upper bounds.
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// Sum in millionths of the unit, to stay in integers.
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i].fetch_add(1, Relaxed);
        }
        self.sum_micros
            .fetch_add((value * 1e6).max(0.0) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const SIZES: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];

/// Everything `/metrics` shows.
pub struct Metrics {
    pub append_requests: AtomicU64,
    pub appended_events: AtomicU64,
    pub append_refused: AtomicU64,
    pub idempotent_replays: AtomicU64,
    pub commits: AtomicU64,
    /// Events per durable commit.
    pub commit_events: Histogram,
    /// Append requests per durable commit (how well group commit batches).
    pub commit_requests: Histogram,
    pub commit_seconds: Histogram,
    pub head_seq: AtomicU64,
    pub has_head: AtomicU64,
    pub feed_subscribers: AtomicU64,
    pub feed_lagged: AtomicU64,
    /// Latency and responses by status of each (route, method): a short list, searched without
    /// allocating (a request records itself in one lock).
    routes: Mutex<Vec<RouteStats>>,
}

struct RouteStats {
    route: String,
    method: String,
    latency: Histogram,
    statuses: BTreeMap<u16, u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            append_requests: AtomicU64::new(0),
            appended_events: AtomicU64::new(0),
            append_refused: AtomicU64::new(0),
            idempotent_replays: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            commit_events: Histogram::new(SIZES),
            commit_requests: Histogram::new(SIZES),
            commit_seconds: Histogram::new(SECONDS),
            head_seq: AtomicU64::new(0),
            has_head: AtomicU64::new(0),
            feed_subscribers: AtomicU64::new(0),
            feed_lagged: AtomicU64::new(0),
            routes: Mutex::new(Vec::new()),
        }
    }
}

/// One counter in the Prometheus text format.
fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

impl Metrics {
    /// Records one answered request: its route template (never the raw path, which would make a
    /// series per stream id), method, status and time.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let i = match routes
            .iter()
            .position(|r| r.route == route && r.method == method)
        {
            Some(i) => i,
            None => {
                routes.push(RouteStats {
                    route: route.to_owned(),
                    method: method.to_owned(),
                    latency: Histogram::new(SECONDS),
                    statuses: BTreeMap::new(),
                });
                routes.len() - 1
            }
        };
        let r = &mut routes[i];
        r.latency.observe(seconds);
        *r.statuses.entry(status).or_insert(0) += 1;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, v) in [
            (
                "garanti_append_requests_total",
                "Append requests received.",
                &self.append_requests,
            ),
            (
                "garanti_appended_events_total",
                "Events appended durably.",
                &self.appended_events,
            ),
            (
                "garanti_append_refused_total",
                "Append requests refused (nothing written).",
                &self.append_refused,
            ),
            (
                "garanti_idempotent_replays_total",
                "Retried appends answered from their first answer.",
                &self.idempotent_replays,
            ),
            (
                "garanti_commits_total",
                "Durable commits of the writer.",
                &self.commits,
            ),
            (
                "garanti_feed_lagged_total",
                "Feed clients told to resume because they fell behind.",
                &self.feed_lagged,
            ),
        ] {
            counter(&mut out, name, help, v.load(Relaxed));
        }
        for (name, help, h) in [
            (
                "garanti_commit_events",
                "Events per durable commit.",
                &self.commit_events,
            ),
            (
                "garanti_commit_requests",
                "Append requests per durable commit.",
                &self.commit_requests,
            ),
            (
                "garanti_commit_duration_seconds",
                "Time of one durable commit.",
                &self.commit_seconds,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            h.write(&mut out, name, "");
        }
        let head = if self.has_head.load(Relaxed) == 1 {
            self.head_seq.load(Relaxed) as i64
        } else {
            -1
        };
        let _ = writeln!(out, "# HELP garanti_head_seq Seq of the chain head (-1: empty ledger).\n# TYPE garanti_head_seq gauge\ngaranti_head_seq {head}");
        let _ = writeln!(out, "# HELP garanti_feed_subscribers Open feed connections.\n# TYPE garanti_feed_subscribers gauge\ngaranti_feed_subscribers {}", self.feed_subscribers.load(Relaxed));
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.sort_by(|a, b| (&a.route, &a.method).cmp(&(&b.route, &b.method)));
        let name = "garanti_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to answer a request, by route.\n# TYPE {name} histogram"
        );
        for r in routes.iter() {
            r.latency.write(
                &mut out,
                name,
                &format!("route=\"{}\",method=\"{}\"", r.route, r.method),
            );
        }
        let name = "garanti_http_responses_total";
        let _ = writeln!(
            out,
            "# HELP {name} Responses, by route and status.\n# TYPE {name} counter"
        );
        for r in routes.iter() {
            for (status, n) in &r.statuses {
                let _ = writeln!(
                    out,
                    "{name}{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    r.route, r.method
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 2.0, 3.0, 50.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 55.5\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 4\n"), "{out}");
    }
}
