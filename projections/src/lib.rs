//! Garanti's domain: the typed events of EVENTS.md and the rules of RULES.md as pure folds.
//!
//! Pure by design: no I/O, no clock (the time of evaluation is an argument), no randomness, no
//! storage. It never refuses an unlawful fact: it judges it. It never reads the ledger; the program
//! folds facts into a [`Projection`] and asks an [`Evaluation`] about it.

pub mod event;
pub mod fact;
pub mod params;
pub mod rules;
pub mod text;
pub mod time;

pub use event::{DataError, EventData, KeyRule};
pub use fact::{Fact, Projection, StreamView};
pub use params::Params;
pub use rules::{Case, Evaluation, Finding, Reason, RuleSummary, SanctionVerdict, Scope, Tally};
