//! The HTTP API (axum + tokio) for caseworker systems, legal staff and auditors: appends through the
//! ledger's group commit, queries over a projection that every acknowledged append has already
//! been folded into (read-your-writes), a feed of server-sent events, RFC 9457 errors, bearer
//! tokens with roles.
//!
//! It never writes to storage except through `ledger::Ledger` (one writer, `ledger::group`), never
//! judges a fact itself (that is `projections`), never walks the log to answer a question about
//! cases (a case's timeline reads that case's records, once per version of the case), and never
//! leaks internal detail (paths, panics, storage errors) in a response: those are
//! logged with the request id, which the response carries.

pub mod auth;
pub mod changes;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pool;
pub mod routes;
pub mod schemas;
pub mod share;
pub mod state;

pub use auth::{Principal, Role, Tokens};
pub use error::ApiError;
pub use routes::router;
pub use state::{AppState, Config, Limits};

use std::future::Future;

/// Serves the API on `listener` until `shutdown` completes; then answers every new request 503
/// (`Connection: close`) while the listener drains for `Limits::shutdown_drain`, ends the feeds,
/// lets the requests in flight finish (every append that was accepted is durable and answered)
/// and returns — `Limits::shutdown_grace` after the drain at the latest: a connection that is
/// still open then (a feed client that stopped reading) is closed, so that nothing keeps the
/// process and its data directory.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let closing = state.closing.clone();
    sign_checkpoint(&state).await;
    let signer = tokio::spawn(routes::log::sign_while_serving(state.clone()));
    let (drain, grace) = (
        state.config.limits.shutdown_drain,
        state.config.limits.shutdown_grace,
    );
    let mut closed = state.closing.subscribe();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: answering new requests 503, finishing those in flight");
        closing.send_replace(true);
        tokio::time::sleep(drain).await;
    });
    let deadline = async move {
        let _ = closed.wait_for(|c| *c).await;
        tokio::time::sleep(drain + grace).await;
    };
    tokio::select! {
        served = server => {
            served?;
            tracing::info!("every request in flight was answered");
        }
        () = deadline => tracing::warn!(
            "connections still open {} s after shutdown began were closed",
            grace.as_secs()
        ),
    }
    // The last checkpoint covers every acknowledged append.
    let _ = signer.await;
    sign_checkpoint(&state).await;
    Ok(())
}

/// Signs a checkpoint if the log grew since the latest one (off the async threads).
async fn sign_checkpoint(state: &AppState) {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || s.sign_if_grown()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("cannot sign a checkpoint: {e}"),
        Err(e) => tracing::error!("signing a checkpoint failed: {e}"),
    }
}

/// A future that completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this
/// is called, not when the future is first polled: call it before telling anyone that the server
/// listens, so that a signal sent right after is a graceful shutdown, never a kill.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}
