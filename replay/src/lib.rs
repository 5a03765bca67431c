//! Replaying the ledger into the rules, and what revisors get from it: events in (checked envelope
//! and data, the keys they claim), records out (decoded into facts and folded into a projection,
//! with the chain verified on the way), year reports in JSON, HTML, XLSX and CSV, reproducible
//! samples, synthetic municipalities for demos and benchmarks.
//!
//! It never writes to storage itself (appends go through `ledger::Ledger`), never judges a fact
//! (that is `projections`), and never makes a report from a chain that does not verify.

pub mod html;
pub mod ingest;
pub mod load;
pub mod output;
pub mod reconcile;
pub mod report;
pub mod sample;
pub mod synth;
pub mod xlsx;
