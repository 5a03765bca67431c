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
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

pub use auth::{Principal, Role, Tokens};
pub use error::ApiError;
pub use routes::router;
pub use state::{AppState, Config, Limits};

use std::future::Future;

/// Serves the API on `listener` until `shutdown` completes; then refuses new appends, ends the
/// feeds, lets the requests in flight finish (every append that was accepted is durable and
/// answered) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let closing = state.closing.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: refusing new appends, finishing those in flight");
            closing.send_replace(true);
        })
        .await?;
    tracing::info!("every request in flight was answered");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
