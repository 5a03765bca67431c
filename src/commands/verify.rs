//! `garanti verify` and `garanti head`.

use super::Context;
use crate::{Format, EXIT_FOUND, EXIT_OK};
use anyhow::{Context as _, Result};
use ledger::Verdict;
use std::path::Path;

pub fn run(ctx: &Context, export: Option<&Path>) -> Result<u8> {
    if let Some(path) = export {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let bar = ctx.progress(file.metadata().ok().map(|m| m.len()), "verifying export");
        let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(file));
        let result = ledger::export::verify_export(reader);
        bar.finish_and_clear();
        return Ok(match result {
            Ok(check) => {
                match (check.first, check.checker_head) {
                    (Some((first, anchor)), Some(head)) => {
                        outln!(
                            "ok: {} records, seq {first}..={}; head seq {} hash {}",
                            check.records,
                            head.seq,
                            head.seq,
                            head.hash_hex()
                        );
                        if first > 0 {
                            outln!("anchored at prev_hash {} (the hash of seq {}): check it against an earlier export or head", hex::encode(anchor), first - 1);
                        }
                    }
                    _ => outln!("ok: the export holds no records"),
                }
                EXIT_OK
            }
            Err(fault) => {
                outln!("FAILED at seq {}: {}", fault.seq, fault.kind);
                EXIT_FOUND
            }
        });
    }
    let ledger = ctx.open()?;
    let bar = ctx.progress(ledger.head().map(|h| h.seq + 1), "verifying");
    let verdict = ledger.verify(&mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    Ok(match verdict {
        Verdict::Intact {
            head: Some(head),
            records,
        } => {
            outln!(
                "ok: {records} records; head seq {} hash {}",
                head.seq,
                head.hash_hex()
            );
            EXIT_OK
        }
        Verdict::Intact { head: None, .. } => {
            outln!("ok: the ledger is empty");
            EXIT_OK
        }
        Verdict::Broken(fault) => {
            outln!("FAILED at seq {}: {}", fault.seq, fault.kind);
            EXIT_FOUND
        }
    })
}

pub fn head(ctx: &Context, format: Format) -> Result<u8> {
    let ledger = ctx.open()?;
    let head = ledger.head();
    match format {
        Format::Json => outln!(
            "{}",
            match head {
                Some(h) => serde_json::json!({"seq": h.seq, "hash": h.hash_hex()}),
                None => serde_json::json!({"seq": null, "hash": null}),
            }
        ),
        Format::Csv => {
            outln!("seq,hash");
            if let Some(h) = head {
                outln!("{},{}", h.seq, h.hash_hex());
            }
        }
        Format::Table => match head {
            Some(h) => outln!("seq {} hash {}", h.seq, h.hash_hex()),
            None => outln!("empty"),
        },
    }
    Ok(EXIT_OK)
}
