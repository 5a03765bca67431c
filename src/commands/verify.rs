//! `garanti verify` and `garanti head`.

use super::Context;
use crate::{Format, EXIT_FOUND, EXIT_OK};
use anyhow::{Context as _, Result};
use ledger::merkle::TreeHash;
use ledger::note::Checkpoint;
use ledger::{Hash, Verdict};
use std::path::{Path, PathBuf};

/// What a verification is pinned to beyond the chain itself.
pub struct Pins {
    /// A signed checkpoint (file) the records must hold and extend.
    pub checkpoint: Option<PathBuf>,
    /// The log's verifier key, or a file holding it.
    pub key: Option<String>,
    /// `SEQ:HASH`: a chain head noted elsewhere.
    pub expect_head: Option<String>,
}

/// The pins, read and checked before anything is walked.
struct Pinned {
    checkpoint: Option<Checkpoint>,
    head: Option<(u64, Hash)>,
}

impl Pins {
    fn read(&self) -> Result<Pinned> {
        let checkpoint = match (&self.checkpoint, &self.key) {
            (Some(path), Some(key)) => {
                let verifier = super::log::read_verifier(key)?;
                let note = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
                let (cp, _) = Checkpoint::open(&note, &verifier).with_context(|| {
                    format!(
                        "the checkpoint {} is not one signed by this key",
                        path.display()
                    )
                })?;
                Some(cp)
            }
            (Some(_), None) => {
                anyhow::bail!("a checkpoint is checked with the log's verifier key: give --key")
            }
            _ => None,
        };
        let head = self.expect_head.as_deref().map(parse_head).transpose()?;
        Ok(Pinned { checkpoint, head })
    }
}

fn parse_head(text: &str) -> Result<(u64, Hash)> {
    let bad = || {
        anyhow::anyhow!("--expect-head {text:?}: write SEQ:HASH, e.g. 41:9f2c… (64 hex digits), as `garanti head` prints")
    };
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq = seq.trim().parse().map_err(|_| bad())?;
    let hash: Hash = hex::decode(hash.trim())
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(bad)?;
    Ok((seq, hash))
}

/// What the walk found that the pins are checked against.
struct Walked {
    records: u64,
    /// The root of the tree of the checkpoint's size, recomputed from the records.
    marked: Option<TreeHash>,
    /// The hash of the record at the expected head's seq.
    at_head: Option<Hash>,
    /// The seq the records start at (an export may start later).
    first: u64,
}

/// Checks the pins; prints what held, or the failure. True if all held.
fn check_pins(pinned: &Pinned, walked: &Walked) -> bool {
    if let Some(cp) = &pinned.checkpoint {
        if walked.first > 0 {
            outln!("FAILED: the records start at seq {}, so the tree of the checkpoint (size {}) cannot be recomputed: check an export from seq 0", walked.first, cp.size);
            return false;
        }
        if walked.records < cp.size {
            outln!("FAILED: the records are {} but the checkpoint signs {}: records were cut off or rolled back since it was signed", walked.records, cp.size);
            return false;
        }
        if walked.marked != Some(cp.root) {
            outln!(
                "FAILED: the first {} records are not the ones the checkpoint signs (signed root {}, recomputed {}): the history was rewritten or forked",
                cp.size,
                ledger::merkle::to_base64(&cp.root),
                walked.marked.map_or("none".into(), |r| ledger::merkle::to_base64(&r))
            );
            return false;
        }
        outln!(
            "ok: extends the checkpoint of {} (size {}): its {} records are unchanged",
            cp.origin,
            cp.size,
            cp.size
        );
    }
    if let Some((seq, hash)) = pinned.head {
        if walked.at_head != Some(hash) {
            outln!(
                "FAILED: the expected head seq {seq} hash {} is not in the records ({})",
                hex::encode(hash),
                walked
                    .at_head
                    .map_or("there is no such record".into(), |h| format!(
                        "its hash is {}",
                        hex::encode(h)
                    ))
            );
            return false;
        }
        outln!("ok: holds the expected head seq {seq} unchanged");
    }
    true
}

pub fn run(ctx: &Context, export: Option<&Path>, pins: Pins) -> Result<u8> {
    let pinned = pins.read()?;
    if let Some(path) = export {
        return verify_export(ctx, path, &pinned);
    }
    let ledger = ctx.open()?;
    let bar = ctx.progress(ledger.head().map(|h| h.seq + 1), "verifying");
    let mark = pinned.checkpoint.as_ref().map(|c| c.size);
    let verdict = ledger.verify_marked(mark, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let (head, records, root, marked) = match verdict {
        Verdict::Broken(fault) => {
            outln!("FAILED at seq {}: {}", fault.seq, fault.kind);
            return Ok(EXIT_FOUND);
        }
        Verdict::Intact {
            head,
            records,
            root,
            marked,
        } => (head, records, root, marked),
    };
    match head {
        Some(head) => outln!(
            "ok: {records} records; head seq {} hash {}; tree root {}",
            head.seq,
            head.hash_hex(),
            ledger::merkle::to_base64(&root)
        ),
        None => outln!("ok: the ledger is empty"),
    }
    let at_head = match pinned.head {
        Some((seq, _)) => ledger.get(seq)?.map(|r| r.hash),
        None => None,
    };
    let walked = Walked {
        records,
        marked,
        at_head,
        first: 0,
    };
    Ok(if check_pins(&pinned, &walked) {
        EXIT_OK
    } else {
        EXIT_FOUND
    })
}

fn verify_export(ctx: &Context, path: &Path, pinned: &Pinned) -> Result<u8> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bar = ctx.progress(file.metadata().ok().map(|m| m.len()), "verifying export");
    let reader = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(file));
    let mark = pinned.checkpoint.as_ref().map(|c| c.size);
    let mut at_head = None;
    let expected = pinned.head.map(|(seq, _)| seq);
    let result = ledger::export::read_export_marked(reader, mark, &mut |r| {
        if Some(r.seq) == expected {
            at_head = Some(r.hash);
        }
    });
    bar.finish_and_clear();
    let check = match result {
        Ok(check) => check,
        Err(fault) => {
            outln!("FAILED at seq {}: {}", fault.seq, fault.kind);
            return Ok(EXIT_FOUND);
        }
    };
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
            } else {
                outln!(
                    "tree root {}",
                    ledger::merkle::to_base64(&check.tree.root())
                );
            }
        }
        _ => outln!("ok: the export holds no records"),
    }
    let walked = Walked {
        records: check.records,
        marked: check.marked,
        at_head,
        first: check.first.map_or(0, |(f, _)| f),
    };
    Ok(if check_pins(pinned, &walked) {
        EXIT_OK
    } else {
        EXIT_FOUND
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
            let rows: Vec<Vec<String>> = head
                .iter()
                .map(|h| vec![h.seq.to_string(), h.hash_hex()])
                .collect();
            out!("{}", ctx.csv(&["seq", "hash"], &rows));
        }
        Format::Table => match head {
            Some(h) => outln!("seq {} hash {}", h.seq, h.hash_hex()),
            None => outln!("empty"),
        },
    }
    Ok(EXIT_OK)
}
