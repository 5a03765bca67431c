//! Building the projection from the data directory, verified, with progress.

use crate::commands::Context;
use anyhow::Result;
use projections::Projection;

/// The projection of the ledger, its chain verified while it is folded: a command that shows a
/// verdict never judges a record that does not check out (a broken chain is exit 1).
pub fn projection(ctx: &Context) -> Result<Projection> {
    Ok(loaded(ctx, &ctx.open()?)?.projection)
}

/// The folded ledger, verified, of all records or (`--at-checkpoint`) of the checkpoint's.
pub fn loaded(ctx: &Context, ledger: &ledger::Ledger) -> Result<replay::load::Loaded> {
    let bar = ctx.progress(ledger.head().map(|h| h.seq + 1), "replaying and verifying");
    let loaded = match &ctx.at {
        Some(at) => {
            replay::load::project_verified_at(ledger, &at.checkpoint, &mut |n| bar.set_position(n))?
        }
        None => replay::load::project_verified(ledger, &mut |n| bar.set_position(n))?,
    };
    bar.finish_and_clear();
    Ok(loaded)
}
