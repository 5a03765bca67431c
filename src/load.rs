//! Building the projection from the data directory, verified, with progress.

use crate::commands::Context;
use anyhow::Result;
use projections::Projection;

/// The projection of the ledger, its chain verified while it is folded: a command that shows a
/// verdict never judges a record that does not check out (a broken chain is exit 1).
pub fn projection(ctx: &Context) -> Result<Projection> {
    let ledger = ctx.open()?;
    let bar = ctx.progress(ledger.head().map(|h| h.seq + 1), "replaying and verifying");
    let loaded = replay::load::project_verified(&ledger, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(loaded.projection)
}
