//! Building the projection from the data directory, with progress.

use crate::commands::Context;
use anyhow::Result;
use projections::Projection;

pub fn projection(ctx: &Context) -> Result<Projection> {
    let ledger = ctx.open()?;
    let bar = ctx.progress(ledger.head().map(|h| h.seq + 1), "replaying");
    let projection = replay::load::project(&ledger, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(projection)
}
