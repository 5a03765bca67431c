//! The HTTP API (axum + tokio) for caseworker systems, legal staff and auditors: appends through the
//! ledger's group commit, queries over the projections. Not yet built (issue 5).
//!
//! It must never write to storage except through `ledger::Ledger`, never judge a fact itself (that
//! is `projections`), and never leak internal detail (paths, panics) in a response.
