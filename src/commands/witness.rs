//! `garanti witness` and `garanti witness-key`: a revisor's office cosigns a log's checkpoint only
//! if it extends the last one it cosigned for that log, so a rollback or a split view is caught.

use crate::{EXIT_ERROR, EXIT_FOUND, EXIT_OK};
use anyhow::{bail, Context as _, Result};
use ledger::merkle::{TilePath, TreeHash};
use ledger::note::{Checkpoint, NoteSigner, ALG_COSIGNATURE_V1};
use ledger::proof::Bundle;
use ledger::witness::{decide, Refusal};
use std::io::Write as _;
use std::path::Path;

/// `garanti witness-key new`.
pub fn key_new(name: &str, path: &Path) -> Result<u8> {
    super::log::new_key_file(path, name, ALG_COSIGNATURE_V1, "the witness's")
}

/// Where `garanti witness` gets the checkpoint and the proof.
pub enum Source<'a> {
    Files {
        checkpoint: &'a Path,
        proof: Option<&'a Path>,
    },
    /// The log's base URL (`http://host:port/log/`).
    Url(&'a str),
}

/// The source, with a URL's fetcher made.
enum Input<'a> {
    Files {
        checkpoint: &'a Path,
        proof: Option<&'a Path>,
    },
    Log(Fetcher),
}

/// `garanti witness`.
pub fn witness(log_key: &str, witness_key: &Path, state: &Path, source: Source<'_>) -> Result<u8> {
    let verifier = super::log::read_verifier(log_key)?;
    let text = std::fs::read_to_string(witness_key)
        .with_context(|| format!("cannot read the witness key {}", witness_key.display()))?;
    let signer =
        NoteSigner::parse(&text).with_context(|| format!("in {}", witness_key.display()))?;
    if signer.alg() != ALG_COSIGNATURE_V1 {
        bail!(
            "{} is not a witness key (make one with `garanti witness-key new --name NAME`)",
            witness_key.display()
        );
    }
    std::fs::create_dir_all(state)
        .with_context(|| format!("cannot make the state directory {}", state.display()))?;
    let lock = std::fs::File::create(state.join("lock"))
        .with_context(|| format!("cannot write in {}", state.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", state.display()))?;
    // A URL is fetched from: the fetcher stands in for it from here on.
    let input = match source {
        Source::Files { checkpoint, proof } => Input::Files { checkpoint, proof },
        Source::Url(url) => Input::Log(Fetcher::new(url)?),
    };
    let note = match &input {
        Input::Files { checkpoint, .. } => std::fs::read_to_string(checkpoint)
            .with_context(|| format!("cannot read {}", checkpoint.display()))?,
        Input::Log(f) => {
            String::from_utf8(f.get("checkpoint")?).context("the log's checkpoint is not UTF-8")?
        }
    };
    let (checkpoint, opened) = Checkpoint::open(&note, &verifier)
        .context("the checkpoint is not signed by the log's key")?;
    let state_file = state.join(format!(
        "{}.checkpoint",
        hex::encode(checkpoint.origin.as_bytes())
    ));
    let last = read_state(&state_file, &verifier)?;
    let grown = last.as_ref().filter(|(l, _)| l.size < checkpoint.size);
    let proof = match (grown, &input) {
        (None, _) => None,
        (Some((l, _)), Input::Files { proof, .. }) => proof
            .map(|p| proof_from_file(p, &verifier, l, &checkpoint))
            .transpose()?,
        (Some((l, _)), Input::Log(f)) => Some(f.consistency(l.size, checkpoint.size)?),
    };
    match decide(last.as_ref().map(|(l, _)| l), &checkpoint, proof.as_deref()) {
        Ok(_) => {}
        Err(refusal) => {
            return Ok(refused(
                &refusal,
                last.as_ref().map(|(_, n)| n.as_str()),
                &note,
            ))
        }
    }
    let log_lines: String = opened
        .signed_by(&verifier)
        .map(|s| s.line.clone())
        .unwrap_or_default();
    let cosigned = format!(
        "{}\n{log_lines}{}",
        opened.text,
        signer.cosign_line(&opened.text, unix_seconds())
    );
    write_state(&state_file, &cosigned)?;
    out!("{cosigned}");
    Ok(EXIT_OK)
}

fn unix_seconds() -> u64 {
    u64::try_from(ledger::Timestamp::now().unix_nanos / 1_000_000_000).unwrap_or(0)
}

/// A refusal: both checkpoints printed as the evidence; the state does not move.
fn refused(refusal: &Refusal, last: Option<&str>, new: &str) -> u8 {
    if !refusal.is_evidence() {
        eprintln!("error: {refusal}");
        return EXIT_ERROR;
    }
    outln!("REFUSED: {refusal}");
    outln!("\nThe checkpoint cosigned before:\n{}", last.unwrap_or(""));
    outln!("The checkpoint now presented:\n{new}");
    EXIT_FOUND
}

/// The last checkpoint this witness cosigned for the log, and the note as it was kept.
fn read_state(
    path: &Path,
    verifier: &ledger::note::NoteVerifier,
) -> Result<Option<(Checkpoint, String)>> {
    let note = match std::fs::read_to_string(path) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let (cp, _) = Checkpoint::open(&note, verifier).with_context(|| {
        format!(
            "the witness's state {} does not hold a checkpoint signed by the log's key",
            path.display()
        )
    })?;
    Ok(Some((cp, note)))
}

/// Keeps the cosigned checkpoint durably: a new file, synced, renamed over the old one.
fn write_state(path: &Path, note: &str) -> Result<()> {
    let tmp = path.with_extension("checkpoint.new");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(note.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            ledger::datadir::sync_dir(dir)?;
        }
        Ok(())
    };
    write().with_context(|| format!("cannot keep the witness's state in {}", path.display()))
}

/// The consistency proof of a `garanti prove --from-size` bundle, checked to be about these two
/// checkpoints.
fn proof_from_file(
    path: &Path,
    verifier: &ledger::note::NoteVerifier,
    last: &Checkpoint,
    new: &Checkpoint,
) -> Result<Vec<TreeHash>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(Bundle::Consistency(b)) = Bundle::parse(&text) else {
        bail!(
            "{} is not a consistency bundle of `garanti prove --from-size`",
            path.display()
        );
    };
    let (proved, _) = Checkpoint::open(&b.checkpoint, verifier)
        .with_context(|| format!("{}: its checkpoint", path.display()))?;
    if &proved != new || b.old_size != last.size {
        bail!(
            "{} proves {} -> {} records, not {} -> {} (make it with `garanti prove --from-size {} --size {}`)",
            path.display(),
            b.old_size,
            proved.size,
            last.size,
            new.size,
            last.size,
            new.size
        );
    }
    b.consistency
        .iter()
        .map(|h| ledger::merkle::from_base64(h).context("a proof hash is not base64"))
        .collect()
}

/// Fetches a log's checkpoint and tiles over HTTP.
struct Fetcher {
    base: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Fetcher {
    fn new(url: &str) -> Result<Fetcher> {
        if !url.starts_with("http://") {
            bail!("--url {url:?}: give the log's http:// base, e.g. http://127.0.0.1:8080/log/ (this witness speaks plain HTTP: reach an https log through a local TLS proxy)");
        }
        Ok(Fetcher {
            base: format!("{}/", url.trim_end_matches('/')),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .context("cannot make an HTTP client")?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?,
        })
    }

    fn get(&self, path: &str) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let response = self
                .client
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if !response.status().is_success() {
                bail!("GET {url}: {}", response.status());
            }
            Ok(response
                .bytes()
                .await
                .with_context(|| format!("GET {url}"))?
                .to_vec())
        })
    }

    /// A consistency proof from `old` to `new` records, made from the log's hash tiles.
    fn consistency(&self, old: u64, new: u64) -> Result<Vec<TreeHash>> {
        let tiles =
            ledger::merkle::Tiles::new(new, |t: &TilePath| self.get(&format!("tile/{}", t.path())));
        ledger::merkle::consistency_proof(old, new, &tiles)
            .map_err(|e| anyhow::anyhow!("cannot read the log's tiles: {e}"))
    }
}
