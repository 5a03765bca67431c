//! `GET /v1/feed`: server-sent events of new events and of the verdicts and findings they change.
//!
//! A client starts at a seq (`from_seq`, or `Last-Event-ID` + 1): the events before the live ones
//! are read from the ledger, then the live items follow from a bounded buffer. Appends never wait
//! for a client; a client that falls a whole buffer behind gets a `resume` item with the seq to
//! come back from, and the stream ends.

use super::Query;
use crate::auth::{Access, Principal};
use crate::error::ApiError;
use crate::state::{AppState, FeedItem};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/feed", get(feed))
}

/// Records read from the ledger per step of catching up.
const CATCH_UP_PAGE: u64 = 512;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FeedQuery {
    /// The first seq to send (default: only what is appended from now on).
    pub from_seq: Option<u64>,
}

enum Phase {
    /// Reading the ledger from `next` while live items wait in `rx`.
    CatchUp {
        next: u64,
    },
    Live {
        next: u64,
    },
    Done,
}

struct Feed {
    state: AppState,
    principal: Principal,
    rx: broadcast::Receiver<Arc<FeedItem>>,
    phase: Phase,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.state.metrics.feed_subscribers.fetch_sub(1, Relaxed);
    }
}

fn event_of(item: &FeedItem) -> Event {
    Event::default()
        .id(item.seq.to_string())
        .event(item.kind)
        .data(&item.data)
}

fn resume(next: u64, why: &str) -> Event {
    Event::default()
        .event("resume")
        .data(serde_json::json!({"from_seq": next, "reason": why}).to_string())
}

impl Feed {
    /// The next events to send, or None at the end.
    async fn step(mut self) -> Option<(Vec<Event>, Feed)> {
        match self.phase {
            Phase::Done => None,
            Phase::CatchUp { next } => {
                // A long catch-up must not make the live buffer overflow: its events are in the
                // ledger too, so a nearly full buffer is started afresh before reading the head
                // (nothing appended after that head is missed; older verdict changes are).
                if self.rx.len() * 2 >= self.state.config.limits.feed_buffer {
                    self.rx = self.rx.resubscribe();
                }
                let end = self.state.read().head.map_or(0, |h| h.seq + 1);
                if next >= end {
                    self.phase = Phase::Live { next };
                    return Some((Vec::new(), self));
                }
                let to = (next + CATCH_UP_PAGE).min(end);
                let state = self.state.clone();
                let read = tokio::task::spawn_blocking(move || {
                    crate::state::feed_events(&state.ledger, next, to)
                })
                .await;
                match read {
                    Ok(Ok(items)) => {
                        let events = items
                            .iter()
                            .filter(|i| self.principal.may_touch(&i.stream))
                            .map(event_of)
                            .collect();
                        self.phase = Phase::CatchUp { next: to };
                        Some((events, self))
                    }
                    _ => {
                        tracing::error!("feed: cannot read the ledger from seq {next}");
                        self.phase = Phase::Done;
                        Some((
                            vec![resume(
                                next,
                                "the server could not read the ledger; resume later",
                            )],
                            self,
                        ))
                    }
                }
            }
            Phase::Live { next } => {
                let item = tokio::select! {
                    item = self.rx.recv() => Some(item),
                    _ = self.closing.wait_for(|c| *c) => None,
                };
                let Some(item) = item else {
                    self.phase = Phase::Done;
                    return Some((vec![resume(next, "the server is shutting down")], self));
                };
                match item {
                    Ok(item) => {
                        // Events already sent are skipped; a verdict change follows the last event
                        // of its append, so it is sent once that event has been.
                        let sent = if item.kind == "event" {
                            item.seq < next
                        } else {
                            item.seq + 1 < next
                        };
                        if sent {
                            return Some((Vec::new(), self));
                        }
                        let next = if item.kind == "event" {
                            item.seq + 1
                        } else {
                            next
                        };
                        self.phase = Phase::Live { next };
                        let events = if self.principal.may_touch(&item.stream) {
                            vec![event_of(&item)]
                        } else {
                            Vec::new()
                        };
                        Some((events, self))
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.state.metrics.feed_lagged.fetch_add(1, Relaxed);
                        self.phase = Phase::Done;
                        Some((
                            vec![resume(next, "the client fell behind the feed's buffer")],
                            self,
                        ))
                    }
                    Err(RecvError::Closed) => None,
                }
            }
        }
    }
}

/// `GET /v1/feed`
#[utoipa::path(get, path = "/v1/feed", tag = "ledger", params(FeedQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this seq (the id of the last item received)")),
    responses((status = 200, description = "`text/event-stream`: `event` items (id = seq, data = the export line), `verdicts` items (a case's sanctions and findings after a change), `resume` (`{from_seq}`: reconnect from there), and keep-alive comments", content_type = "text/event-stream")),
    security(("bearer" = [])))]
pub async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    principal.require(Access::Follow)?;
    let last_event = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::validation("Last-Event-ID must be a seq"))?,
        ),
        None => None,
    };
    // Subscribe before reading the head, so nothing falls between catch-up and live.
    let rx = state.feed.subscribe();
    let after_last = match last_event {
        Some(s) => Some(s.checked_add(1).ok_or_else(|| {
            ApiError::validation("Last-Event-ID is past any seq the ledger can have")
        })?),
        None => None,
    };
    let from = after_last
        .or(q.from_seq)
        .unwrap_or_else(|| state.read().head.map_or(0, |h| h.seq + 1));
    state.metrics.feed_subscribers.fetch_add(1, Relaxed);
    let feed = Feed {
        closing: state.closing.subscribe(),
        state: state.clone(),
        principal,
        rx,
        phase: Phase::CatchUp { next: from },
    };
    let events = stream::unfold(feed, Feed::step)
        .flat_map(|events| stream::iter(events.into_iter().map(Ok)));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
