//! A generic append-only log whose records are chained by BLAKE3 hashes, kept in durable storage.
//!
//! It knows records, streams, chains, unique keys and storage; it never knows law. It does not
//! interpret an event's `type` or `data` (the domain crate does), never changes a stored record's
//! bytes, never hashes a re-encoding (the hash covers exactly the stored bytes), and never
//! acknowledges an append before it is durable.

pub mod datadir;
pub mod export;
pub mod group;
pub mod interchange;
pub mod ledger;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod record;
pub mod storage;
pub mod transparency;
pub mod verify;
pub mod witness;

pub use datadir::Access;
pub use ledger::{
    with_claim, Append, AppendError, Constraint, Health, Ledger, LedgerError, Receipt, Verdict,
};
pub use record::{Hash, Head, NewEvent, RecordView, StoredRecord, Timestamp};
pub use storage::Backend;
pub use verify::{ChainFault, FaultKind};
