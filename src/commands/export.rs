//! `garanti export`: records as JSON Lines with every field, the chain fields and the stored bytes.

use super::Context;
use crate::EXIT_OK;
use anyhow::{Context as _, Result};
use ledger::interchange::{export_line, export_trailer};
use std::io::Write;
use std::path::Path;

pub fn run(ctx: &Context, from: u64, to: Option<u64>, out: Option<&Path>) -> Result<u8> {
    let out = out.filter(|p| *p != Path::new("-"));
    let ledger = ctx.open()?;
    let head = ledger.head();
    let last = to.unwrap_or(u64::MAX).min(head.map_or(0, |h| h.seq));
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, &mut writer);
    let total = if head.is_some() && from <= last {
        last - from + 1
    } else {
        0
    };
    let bar = ctx.progress(Some(total), "exporting");
    let mut count = 0u64;
    let mut last_record: Option<(u64, ledger::Hash)> = None;
    let mut first_record: Option<(u64, ledger::Hash)> = None;
    let mut failure: Option<anyhow::Error> = None;
    if total > 0 {
        ledger.scan(from, last.saturating_add(1), &mut |record| {
            let result = record
                .view()
                .map_err(|e| {
                    anyhow::anyhow!(
                        "record seq {} cannot be decoded: {e}; run `garanti verify`",
                        record.seq
                    )
                })
                .and_then(|view| {
                    writeln!(writer, "{}", export_line(record, &view))
                        .context("cannot write the export")
                });
            if let Err(e) = result {
                failure = Some(e);
                return false;
            }
            count += 1;
            last_record = Some((record.seq, record.hash));
            first_record.get_or_insert((record.seq, record.prev_hash));
            if count.is_multiple_of(4096) {
                bar.set_position(count);
            }
            true
        })?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    writeln!(
        writer,
        "{}",
        export_trailer(
            count,
            first_record.as_ref().map(|(s, h)| (*s, h)),
            last_record.as_ref().map(|(s, h)| (*s, h))
        )
    )
    .context("cannot write the export")?;
    writer.flush().context("cannot write the export")?;
    bar.finish_and_clear();
    if out.is_some() {
        eprintln!("exported {count} records");
    }
    Ok(EXIT_OK)
}
