//! `garanti import`: JSON Lines into the ledger, atomic per file (or per --batch), resumable.

use super::Context;
use crate::EXIT_OK;
use anyhow::{anyhow, bail, Context as _, Result};
use ledger::{AppendError, Constraint, Ledger, Timestamp};
use replay::ingest::{append_of, check_line, Checked};
use std::io::{BufRead, BufReader, Read};

/// Errors shown before giving up on a batch; the rest are counted.
const MAX_ERRORS_SHOWN: usize = 20;

/// The lines of one batch: their line numbers and checked events.
struct Batch {
    lines: Vec<usize>,
    events: Vec<Checked>,
    /// BLAKE3 of the input up to the end of this batch: names the batch for resuming.
    prefix_hash: String,
}

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
    let (reader, len): (Box<dyn Read>, Option<u64>) = if file == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let ledger = ctx.open()?;
    let bar = ctx.progress(len, "importing");
    let mut reader = BufReader::with_capacity(1 << 20, bar.wrap_read(reader));
    let batch_size = batch.unwrap_or(usize::MAX);
    let mut prefix = blake3::Hasher::new();
    let mut line_no = 0usize;
    let (mut imported, mut skipped, mut batches) = (0u64, 0u64, 0u64);
    let mut first_seq = None;
    let mut line = String::new();
    loop {
        // Read and check one batch.
        let mut current = Batch {
            lines: Vec::new(),
            events: Vec::new(),
            prefix_hash: String::new(),
        };
        let mut errors: Vec<String> = Vec::new();
        let mut error_count = 0usize;
        let mut eof = false;
        while current.lines.len() + error_count < batch_size {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .with_context(|| format!("cannot read {file} after line {line_no}"))?;
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            prefix.update(line.as_bytes());
            if line.trim().is_empty() {
                continue;
            }
            match check_line(line.trim_end_matches(['\n', '\r'])) {
                Ok(c) => {
                    current.lines.push(line_no);
                    current.events.push(c);
                }
                Err(e) => {
                    error_count += 1;
                    if errors.len() < MAX_ERRORS_SHOWN {
                        errors.push(format!("line {line_no}: {e}"));
                    }
                }
            }
        }
        if error_count > 0 {
            bar.finish_and_clear();
            let more = error_count.saturating_sub(errors.len());
            let already = if imported > 0 {
                format!("\n{imported} events of earlier batches were imported; after fixing the file, re-run the same command: they are skipped.")
            } else {
                String::new()
            };
            bail!(
                "{error_count} malformed event(s); nothing of this batch was written:\n  {}{}{already}",
                errors.join("\n  "),
                if more > 0 { format!("\n  ... and {more} more") } else { String::new() }
            );
        }
        if current.events.is_empty() {
            break;
        }
        current.prefix_hash = prefix.clone().finalize().to_hex().to_string();
        batches += 1;
        let count = current.events.len() as u64;
        match append_batch(&ledger, current, resume)? {
            Some((seq, receipt_head)) => {
                imported += count;
                first_seq.get_or_insert(seq);
                if report_batches {
                    println!(
                        "{{\"batch\":{batches},\"events\":{count},\"last_line\":{line_no},\"head_seq\":{},\"head_hash\":\"{}\"}}",
                        receipt_head.seq,
                        receipt_head.hash_hex()
                    );
                }
            }
            None => skipped += count,
        }
        if eof {
            break;
        }
    }
    bar.finish_and_clear();
    if skipped > 0 {
        println!("skipped {skipped} events already imported by an earlier run of this file (use --no-resume to import them again)");
    }
    match (ledger.head(), first_seq) {
        (Some(head), Some(first)) => println!(
            "imported {imported} events (seq {first}..={}); head seq {} hash {}",
            head.seq,
            head.seq,
            head.hash_hex()
        ),
        (Some(head), None) => println!(
            "imported 0 events; head seq {} hash {}",
            head.seq,
            head.hash_hex()
        ),
        (None, _) => println!("imported 0 events; the ledger is empty"),
    }
    Ok(EXIT_OK)
}

/// Appends one batch unless it was imported before; returns its first seq and the new head.
fn append_batch(
    ledger: &Ledger,
    batch: Batch,
    resume: bool,
) -> Result<Option<(u64, ledger::Head)>> {
    let marker = format!("import|{}", batch.prefix_hash);
    if resume && ledger.key(&marker)?.is_some() {
        return Ok(None);
    }
    let lines = batch.lines;
    let mut append = append_of(batch.events, "cli", Timestamp::now());
    if resume {
        append.constraints.push(Constraint::Unique {
            key: marker,
            event: 0,
            field: String::new(),
            message: "this batch was imported concurrently by another run".into(),
        });
    }
    match ledger.append(append) {
        Ok(receipt) => {
            let first = receipt.positions.first().map_or(0, |p| p.0);
            let head = receipt
                .head
                .ok_or_else(|| anyhow!("the append returned no head"))?;
            Ok(Some((first, head)))
        }
        Err(AppendError::Constraint {
            event,
            field,
            message,
        }) => {
            let line = lines.get(event).copied().unwrap_or(0);
            bail!("line {line}: field `{field}`: {message}; nothing of this batch was written")
        }
        Err(e) => Err(e.into()),
    }
}
