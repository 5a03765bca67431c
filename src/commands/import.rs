//! `garanti import`: JSON Lines into the ledger, atomic per file (or per --batch), resumable.

use super::Context;
use crate::EXIT_OK;
use anyhow::{bail, Context as _, Result};
use replay::ingest::{import, ImportError, ImportOptions};
use std::io::{BufReader, Read};

pub fn run(
    ctx: &Context,
    file: &str,
    batch: Option<usize>,
    resume: bool,
    report_batches: bool,
) -> Result<u8> {
    if batch == Some(0) {
        bail!("--batch must be at least 1");
    }
    let (reader, len): (Box<dyn Read + Send>, Option<u64>) = if file == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    // A data directory this import makes is removed again if nothing goes into it.
    let made_here = !ctx.data.exists();
    let ledger = ctx.open_as(ledger::Access::Create)?;
    let bar = ctx.progress(len, "importing");
    let reader = BufReader::with_capacity(1 << 20, bar.wrap_read(reader));
    let options = ImportOptions {
        batch: batch.unwrap_or(usize::MAX),
        resume,
        appended_by: "cli".into(),
    };
    let mut imported_so_far = 0u64;
    let result = import(&ledger, reader, &options, &mut |done| {
        imported_so_far += done.events;
        if report_batches {
            outln!(
                "{{\"batch\":{},\"events\":{},\"last_line\":{},\"head_seq\":{},\"head_hash\":\"{}\"}}",
                done.batch,
                done.events,
                done.last_line,
                done.head.seq,
                done.head.hash_hex()
            );
        }
    });
    bar.finish_and_clear();
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            let empty = ledger.head().is_none();
            drop(ledger);
            if made_here && empty {
                remove_new_dir(ctx);
            }
            return Err(match e {
                ImportError::Malformed { .. } | ImportError::Refused { .. }
                    if imported_so_far > 0 =>
                {
                    anyhow::anyhow!("{e}\n{imported_so_far} events of earlier batches were imported; fix the file and run the same command again: they are skipped")
                }
                e => anyhow::Error::new(e).context(format!("importing {file}")),
            });
        }
    };
    if stats.skipped > 0 {
        outln!("skipped {} events already imported by an earlier run of this input (--no-resume imports them again)", stats.skipped);
    }
    match (ledger.head(), stats.first_seq) {
        (Some(head), Some(first)) => outln!(
            "imported {} events (seq {first}..={}); head seq {} hash {}",
            stats.imported,
            head.seq,
            head.seq,
            head.hash_hex()
        ),
        (Some(head), None) => outln!(
            "imported 0 events; head seq {} hash {}",
            head.seq,
            head.hash_hex()
        ),
        (None, _) => outln!("imported 0 events; the ledger is empty"),
    }
    Ok(EXIT_OK)
}

/// Removes the data directory a failed import made, with nothing in it.
fn remove_new_dir(ctx: &Context) {
    if let Err(e) = std::fs::remove_dir_all(&ctx.data) {
        eprintln!(
            "garanti: cannot remove {}, made by this import: {e}",
            ctx.data.display()
        );
    }
}
