//! The commands, and what they share: where the data directory is, the parameters, the clock.

pub mod audit;
pub mod bench;
pub mod demo;
pub mod export;
pub mod import;
pub mod judge;
pub mod log;
pub mod serve;
pub mod verify;
pub mod witness;

use crate::{Cli, StoreArg};
use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger::{Access, Backend, Ledger};
use projections::Params;
use std::io::IsTerminal;
use std::path::PathBuf;

/// What every command may need, read once from the arguments and the environment.
pub struct Context {
    pub data: PathBuf,
    pub store: Option<Backend>,
    pub params: Params,
    /// The time of evaluation (ns), read from --now or the clock.
    pub now: i64,
    /// --now, if given: a server evaluates at this time instead of its clock.
    pub fixed_now: Option<i64>,
    pub quiet: bool,
    /// How CSV is written (`--excel`: for Danish Excel).
    pub csv: replay::output::CsvDialect,
    /// `--at-checkpoint`: judge only the records this signed checkpoint covers.
    pub at: Option<AtCheckpoint>,
}

/// A signed checkpoint to judge at, its signature checked.
pub struct AtCheckpoint {
    pub checkpoint: ledger::note::Checkpoint,
    /// The signed note, as given.
    pub note: String,
}

impl AtCheckpoint {
    /// Reads `--at-checkpoint CP --key VKEY`: the note must be signed by the key.
    pub fn read(path: &std::path::Path, key: &str) -> Result<AtCheckpoint> {
        let verifier = log::read_verifier(key)?;
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
        let (checkpoint, _) =
            ledger::note::Checkpoint::open(&note, &verifier).with_context(|| {
                format!(
                    "the checkpoint {} is not one signed by this key",
                    path.display()
                )
            })?;
        Ok(AtCheckpoint { checkpoint, note })
    }
}

impl Context {
    pub fn new(cli: &Cli) -> Result<Context> {
        let params = match &cli.rules {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    let name = path.display().to_string();
                    // `findings --rules dk.x.y` meant the rule filter, not a parameters file.
                    let hint = match name.starts_with("dk.") || name.starts_with("se.") {
                        true => format!(
                            "; to see one rule, use --rule {name} (--rules is a parameters file)"
                        ),
                        false => String::new(),
                    };
                    format!("cannot read the rules file {name}{hint}")
                })?;
                Params::from_toml(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Params::default(),
        };
        let fixed_now = cli
            .now
            .as_deref()
            .map(|t| parse_time(t, "--now"))
            .transpose()?;
        let now = fixed_now.unwrap_or_else(|| ledger::Timestamp::now().unix_nanos);
        Ok(Context {
            data: cli
                .data
                .clone()
                .unwrap_or_else(|| PathBuf::from("garanti-data")),
            store: cli.store.map(|s| match s {
                StoreArg::Redb => Backend::Redb,
                StoreArg::Sled => Backend::Sled,
            }),
            params,
            now,
            fixed_now,
            quiet: cli.quiet,
            csv: match cli.excel {
                true => replay::output::CsvDialect::DanishExcel,
                false => replay::output::CsvDialect::Rfc4180,
            },
            at: None,
        })
    }

    /// Opens the existing ledger to read it (read-only where this user may not write it).
    pub fn open(&self) -> Result<Ledger> {
        self.open_as(Access::Read)
    }

    /// Opens the ledger as `access` says: only `Access::Create` makes one.
    /// A table as CSV in the dialect asked for (`--excel`).
    pub fn csv(&self, headers: &[&str], rows: &[Vec<String>]) -> String {
        replay::output::csv(self.csv, headers, rows)
    }

    pub fn open_as(&self, access: Access) -> Result<Ledger> {
        Ledger::open_as(&self.data, self.store, access)
            .with_context(|| format!("cannot open the ledger in {}", self.data.display()))
    }

    /// A progress bar on standard error when it is a terminal and --quiet is not given.
    pub fn progress(&self, len: Option<u64>, what: &str) -> ProgressBar {
        let bar = match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        if self.quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let template = if len.is_some() {
            "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)"
        } else {
            "{msg} {spinner} {pos} ({per_sec})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}

/// Parses an RFC 3339 time argument to Unix nanoseconds.
pub fn parse_time(text: &str, what: &str) -> Result<i64> {
    ledger::Timestamp::parse_rfc3339(text)
        .map(|t| t.unix_nanos)
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))
}
