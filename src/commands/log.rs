//! The ledger as a transparency log: `log-key`, `checkpoint`, `checkpoints`, `prove`,
//! `verify-proof`.

use super::Context;
use crate::{Format, EXIT_ERROR, EXIT_FOUND, EXIT_OK};
use anyhow::{bail, Context as _, Result};
use ledger::note::{NoteSigner, NoteVerifier, ALG_ED25519};
use ledger::proof::{Bundle, BundleError, RecordsBundle};
use ledger::transparency::{write_key_file, KeptCheckpoint, LOG_KEY_FILE};
use ledger::{Access, Ledger};
use std::path::{Path, PathBuf};

/// The log's key file: --key, or the data directory's.
fn key_path(ctx: &Context, key: Option<&Path>) -> PathBuf {
    key.map_or_else(|| ctx.data.join(LOG_KEY_FILE), Path::to_path_buf)
}

/// Reads the log's signing key.
pub fn read_signer(ctx: &Context, key: Option<&Path>) -> Result<NoteSigner> {
    let path = key_path(ctx, key);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the log's signing key {}; make one with `garanti log-key new --origin ORIGIN`, or give it with --key",
            path.display()
        )
    })?;
    NoteSigner::parse(&text).with_context(|| format!("in {}", path.display()))
}

/// A verifier key given on the command line, or the name of a file holding one.
pub fn read_verifier(text: &str) -> Result<NoteVerifier> {
    let given = match std::fs::read_to_string(text) {
        Ok(file) => file,
        Err(_) => text.to_owned(),
    };
    NoteVerifier::parse(given.trim()).context("--key must be the log's verifier key (ORIGIN+HHHHHHHH+BASE64, as `garanti log-key show` prints it) or a file holding it")
}

/// `garanti log-key new`: a new key, never over an existing file; prints the verifier key.
pub fn key_new(ctx: &Context, origin: &str, key: Option<&Path>) -> Result<u8> {
    // The data directory is made if there is none: a log's key belongs to its ledger.
    drop(ctx.open_as(Access::Create)?);
    let path = key_path(ctx, key);
    new_key_file(&path, origin, ALG_ED25519, "the log's")
}

/// Makes a key, writes it (mode 0600, never over a file) and prints its verifier key.
pub fn new_key_file(path: &Path, name: &str, alg: u8, whose: &str) -> Result<u8> {
    if path.exists() {
        bail!(
            "{} exists already; a key is never overwritten (`garanti log-key show` prints a log key's verifier key)",
            path.display()
        );
    }
    let signer = NoteSigner::generate(name, alg)?;
    write_key_file(path, &signer.private_text())
        .with_context(|| format!("cannot write the key file {}", path.display()))?;
    eprintln!(
        "wrote {whose} signing key to {} (mode 0600; keep it secret and backed up)",
        path.display()
    );
    outln!("{}", signer.verifier_key());
    Ok(EXIT_OK)
}

/// `garanti log-key show`.
pub fn key_show(ctx: &Context, key: Option<&Path>) -> Result<u8> {
    outln!("{}", read_signer(ctx, key)?.verifier_key());
    Ok(EXIT_OK)
}

fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            out!("{text}");
            Ok(())
        }
    }
}

fn now() -> ledger::Timestamp {
    ledger::Timestamp::now()
}

/// `garanti checkpoint`: signs the tree as it is now, keeps the checkpoint, prints it.
pub fn checkpoint(ctx: &Context, key: Option<&Path>, out: Option<&Path>) -> Result<u8> {
    let signer = read_signer(ctx, key)?;
    let ledger = ctx.open_as(Access::Write)?;
    let kept = ledger.sign_checkpoint(&signer, now())?;
    write_out(out, &kept.note)?;
    Ok(EXIT_OK)
}

/// `garanti checkpoints`: every checkpoint the ledger signed.
pub fn checkpoints(ctx: &Context, format: Format) -> Result<u8> {
    let ledger = ctx.open()?;
    let kept = ledger.checkpoints()?;
    let root = |k: &KeptCheckpoint| {
        ledger::note::Note::parse(&k.note)
            .ok()
            .and_then(|n| ledger::note::Checkpoint::parse(&n.text).ok())
            .map(|c| ledger::merkle::to_base64(&c.root))
            .unwrap_or_default()
    };
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Array(
                kept.iter()
                    .map(|k| serde_json::json!({"size": k.size, "signed_at": k.signed_at.to_rfc3339(), "root": root(k), "checkpoint": k.note}))
                    .collect()
            ))?
        ),
        Format::Csv => {
            let rows: Vec<Vec<String>> = kept
                .iter()
                .map(|k| vec![k.size.to_string(), k.signed_at.to_rfc3339(), root(k)])
                .collect();
            out!("{}", ctx.csv(&["size", "signed_at", "root"], &rows));
        }
        Format::Table => {
            if kept.is_empty() {
                outln!("no checkpoint has been signed yet (`garanti checkpoint` signs one)");
            }
            for k in &kept {
                outln!("size {:>10}  signed {}  root {}", k.size, k.signed_at.to_rfc3339(), root(k));
            }
        }
    }
    Ok(EXIT_OK)
}

/// What `garanti prove` proves.
pub enum ProveWhat<'a> {
    Record(u64),
    Sanction(&'a str),
    FromSize(u64),
}

/// The checkpoint a proof is made against: the kept one of `size`, or one signed now.
fn proof_checkpoint(
    ctx: &Context,
    ledger: &Ledger,
    size: Option<u64>,
    key: Option<&Path>,
) -> Result<KeptCheckpoint> {
    match size {
        Some(n) => ledger.checkpoint(n)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the ledger has signed no checkpoint of size {n}; `garanti checkpoints` lists those it has"
            )
        }),
        None => Ok(ledger.sign_checkpoint(&read_signer(ctx, key)?, now())?),
    }
}

/// `garanti prove`.
pub fn prove(
    ctx: &Context,
    what: ProveWhat<'_>,
    size: Option<u64>,
    key: Option<&Path>,
    out: Option<&Path>,
) -> Result<u8> {
    let ledger = ctx.open_as(Access::Write)?;
    let checkpoint = proof_checkpoint(ctx, &ledger, size, key)?;
    let json = match what {
        ProveWhat::Record(seq) => serde_json::to_value(ledger.inclusion_bundle(seq, &checkpoint)?)?,
        ProveWhat::FromSize(old) => {
            let old = ledger.checkpoint(old)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "the ledger has signed no checkpoint of size {old}; `garanti checkpoints` lists those it has"
                )
            })?;
            serde_json::to_value(ledger.consistency_bundle(&old, &checkpoint)?)?
        }
        ProveWhat::Sanction(id) => {
            serde_json::to_value(sanction_bundle(ctx, &ledger, id, &checkpoint)?)?
        }
    };
    write_out(out, &(serde_json::to_string_pretty(&json)? + "\n"))?;
    Ok(EXIT_OK)
}

/// The decision and every evidence event of a sanction's verdict, judged on the records the
/// checkpoint signs, each with its inclusion proof.
fn sanction_bundle(
    ctx: &Context,
    ledger: &Ledger,
    id: &str,
    checkpoint: &KeptCheckpoint,
) -> Result<RecordsBundle> {
    let signed = ledger::note::Note::parse(&checkpoint.note)
        .and_then(|n| ledger::note::Checkpoint::parse(&n.text))
        .context("a kept checkpoint cannot be read")?;
    let loaded = replay::load::project_verified_at(ledger, &signed, &mut |_| {})?;
    let eval = projections::Evaluation {
        params: &ctx.params,
        as_of: None,
        now: ctx.now,
    };
    let Some(s) = eval.sanction(&loaded.projection, id) else {
        bail!("no sanction {id:?} in the first {} records of the ledger; `garanti sanctions` lists them", checkpoint.size);
    };
    let seqs = replay::output::proved_seqs(&s);
    let proofs = seqs
        .into_iter()
        .map(|seq| ledger.entry_proof(seq, checkpoint.size))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordsBundle {
        sanction_id: id.to_owned(),
        verdict: replay::output::sanction_json(&ctx.params.calendar, &s),
        checkpoint: checkpoint.note.clone(),
        proofs,
    })
}

/// `garanti verify-proof FILE --key VKEY`: exit 0 if it checks out, 1 if not, 2 if unreadable.
pub fn verify_proof(file: &Path, key: &str) -> Result<u8> {
    let verifier = read_verifier(key)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bundle = match Bundle::parse(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return Ok(EXIT_ERROR);
        }
    };
    match bundle.verify(&verifier) {
        Ok(lines) => {
            for line in lines {
                outln!("ok: {line}");
            }
            Ok(EXIT_OK)
        }
        Err(BundleError::Malformed(e)) => {
            eprintln!("error: {}: {e}", file.display());
            Ok(EXIT_ERROR)
        }
        Err(BundleError::Failed(e)) => {
            outln!("FAILED: {e}");
            Ok(EXIT_FOUND)
        }
    }
}
