//! Replaying the ledger into the rules: events in (checked envelope and data, the keys they claim),
//! records out (decoded into facts and folded into a projection). Later: year reports and samples.
//!
//! It never writes to storage itself (appends go through `ledger::Ledger`), and never judges a
//! fact (that is `projections`): it only translates between the two.

pub mod ingest;
pub mod load;
pub mod synth;
