//! `garanti`: the one program. It parses arguments and wires the library crates together; the
//! work is done in `ledger` (the chain and its storage) and `projections` (the rules).

/// `println!` that ends the program quietly when standard output is closed (`garanti ... | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::stdout_failed(e);
        }
    }};
}

/// `print!` that ends the program quietly when standard output is closed.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            $crate::stdout_failed(e);
        }
    }};
}

/// A reader of our output went away (a closed pipe): stop without a word; anything else is an error.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_OK));
    }
    eprintln!("error: cannot write to standard output: {e}");
    std::process::exit(i32::from(EXIT_ERROR));
}

mod commands;
mod load;
mod output;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes: 0 ok, 1 a verification or rule failure was found, 2 an operational error.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FOUND: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "garanti",
    version,
    about = "Compliance ledger for Danish jobcentres and their auditors",
    long_about = "Garanti records every Min Plan edit, publication, offer start, absence and sanction decision in an \
append-only, BLAKE3 hash-chained log, and judges afterwards whether each sanction was lawful and what an auditor \
would find (docs/RULES.md).\n\nExit codes: 0 ok; 1 a verification or rule failure was found (a broken \
chain, or findings with --fail); 2 an operational error (bad input, unreadable data directory, ...).",
    after_help = "Start with `garanti import FILE`, then `garanti verify`, `garanti sanctions --year Y` and \
`garanti findings --year Y`. Every command has --help."
)]
pub struct Cli {
    /// Data directory of the ledger [default: ./garanti-data]
    #[arg(long, global = true, env = "GARANTI_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Storage backend; an existing data directory keeps the one it was made with [default: redb]
    #[arg(long, global = true, value_enum, value_name = "BACKEND")]
    store: Option<StoreArg>,
    /// Rule parameters (TOML) over the built-in defaults of RULES.md; see docs/RULES-NOTES.md
    #[arg(long, global = true, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Evaluate as if the clock said this (RFC 3339); deadlines after it have not passed [default: the clock]
    #[arg(long, global = true, value_name = "TIME")]
    now: Option<String>,
    /// No progress bars
    #[arg(long, short, global = true)]
    quiet: bool,
    /// CSV output for Danish Excel: `;` between fields, a UTF-8 byte-order mark, decimal commas
    #[arg(long, global = true)]
    excel: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// redb 4 (default): durable on commit
    Redb,
    /// sled 0.34: flushed before an append is acknowledged
    Sled,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerdictArg {
    Lawful,
    Unlawful,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Append and read, only streams of its --prefix (a caseworker system)
    Caseworker,
    /// Read sanctions, findings and timelines; check intended sanctions
    Legal,
    /// Read everything, export, reports, verify
    Revisor,
    /// Everything
    Admin,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a new token: printed once on standard output, only its hash is stored
    New {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Who holds it (a system or person id; shown in logs)
        #[arg(long, value_name = "ID")]
        actor: String,
        /// Caseworker tokens: the stream prefix of its municipality, e.g. `dk-101:`
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// The token's id, which every record it appends carries as `appended_by` [default: generated]
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// The tokens file (created readable by its owner only)
        #[arg(
            long,
            env = "GARANTI_TOKENS",
            default_value = "garanti-tokens.toml",
            value_name = "FILE"
        )]
        tokens: PathBuf,
    },
}

/// `--at-checkpoint CP --key VKEY`: judge only what a signed checkpoint covers.
#[derive(clap::Args, Debug)]
pub struct AtArgs {
    /// Judge only the records a signed checkpoint (a file) covers, after checking its signature
    /// and that the ledger holds exactly the tree it signs (exit 1 if not)
    #[arg(long, value_name = "CP", requires = "key")]
    at_checkpoint: Option<PathBuf>,
    /// The log's verifier key (ORIGIN+HHHHHHHH+BASE64), or a file holding it, for --at-checkpoint
    #[arg(long, value_name = "VKEY", requires = "at_checkpoint")]
    key: Option<String>,
}

impl AtArgs {
    fn read(&self) -> Result<Option<commands::AtCheckpoint>> {
        match (&self.at_checkpoint, &self.key) {
            (Some(cp), Some(key)) => Ok(Some(commands::AtCheckpoint::read(cp, key)?)),
            _ => Ok(None),
        }
    }
}

#[derive(Subcommand, Debug)]
enum WitnessKeyCommand {
    /// Make a witness's Ed25519 key (mode 0600, never overwritten) and print its verifier key
    New {
        /// The witness's name, e.g. `revision.example.dk/witness` (no spaces, no '+')
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Where to write the key
        #[arg(long, value_name = "FILE", default_value = "garanti-witness.key")]
        key: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum LogKeyCommand {
    /// Make the log's Ed25519 signing key (mode 0600, never overwritten) and print its verifier key
    ///
    /// The verifier key (ORIGIN+HHHHHHHH+BASE64) is what revisors, witnesses and standard
    /// transparency-log clients check checkpoints with. Makes the data directory if there is none.
    New {
        /// The log's name in its checkpoints, e.g. `jobcenter.koebenhavn.dk/garanti` (no spaces, no '+')
        #[arg(long, value_name = "ORIGIN")]
        origin: String,
        /// Where to write the key [default: DATA/garanti-log.key]
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Print the log's verifier key again
    Show {
        /// The log's signing key [default: DATA/garanti-log.key]
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import events (JSON Lines of EVENTS.md) from a file or `-` for standard input
    ///
    /// The whole file is one atomic batch unless --batch is given. Malformed events are refused with
    /// the line and field, and nothing of the batch is written. Re-running an import skips the
    /// batches that are already in (the same file with the same --batch), so an interrupted import
    /// can simply be run again.
    Import {
        /// JSON Lines file, or `-` for standard input
        file: String,
        /// Commit every N events (each batch atomic and durable); for files too large for one batch
        #[arg(long, value_name = "N")]
        batch: Option<usize>,
        /// Import even batches that were imported before
        #[arg(long)]
        no_resume: bool,
        /// Print one JSON line per committed batch on standard output (for scripts)
        #[arg(long)]
        report_batches: bool,
    },
    /// Export records as JSON Lines with every ledger field and the stored bytes (docs/FORMAT.md)
    Export {
        /// First seq to export
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        from: u64,
        /// Last seq to export (inclusive) [default: the head]
        #[arg(long, value_name = "SEQ")]
        to: Option<u64>,
        /// Write to this file instead of standard output (`-`: standard output)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Walk the hash chain; exit 1 naming the first bad seq
    ///
    /// Also recomputes the Merkle tree from the records and compares it with the stored one. With
    /// a signed checkpoint (--since for the store, --checkpoint for an export) and the log's
    /// verifier key (--key), checks that the records hold exactly the tree the checkpoint signs and
    /// only extend it: a rewritten history, a cut or a fork is exit 1, saying which.
    Verify {
        /// Verify an export file instead of the data directory (no store needed)
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// With --export: a signed checkpoint (file) that the export must hold and extend
        #[arg(long, value_name = "CP", requires_all = ["export", "key"])]
        checkpoint: Option<PathBuf>,
        /// A signed checkpoint (file) that the store must hold and extend
        #[arg(long, value_name = "CP", requires = "key", conflicts_with = "export")]
        since: Option<PathBuf>,
        /// The log's verifier key (ORIGIN+HHHHHHHH+BASE64), or a file holding it
        #[arg(long, value_name = "VKEY")]
        key: Option<String>,
        /// A chain head noted elsewhere (SEQ:HASH, as `garanti head` prints): that record must be there, unchanged
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
    },
    /// Print the chain head: the last record's seq and hash
    Head {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Verdicts on sanctions (dk.sanction): lawful or unlawful, with reasons and evidence
    Sanctions {
        /// Only sanctions decided in this year (local time)
        #[arg(long)]
        year: Option<i32>,
        /// Only this stream (case)
        #[arg(long)]
        stream: Option<String>,
        /// Only lawful or only unlawful verdicts (as the API's `verdict=`)
        #[arg(long, value_enum)]
        verdict: Option<VerdictArg>,
        /// Judge with only what had been recorded by this time (RFC 3339)
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        at: AtArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Exit 1 if any sanction is unlawful
        #[arg(long)]
        fail: bool,
    },
    /// Audit findings of every rule of RULES.md (one sentence each, with evidence and legal basis)
    Findings {
        /// Findings dated in this year, judged at its end (or now, if earlier)
        #[arg(long)]
        year: Option<i32>,
        /// Only this rule code, e.g. dk.minplan.goal_deficient
        #[arg(long, value_name = "CODE")]
        rule: Option<String>,
        /// Only this stream (case)
        #[arg(long)]
        stream: Option<String>,
        /// Judge with only what had been recorded by this time (RFC 3339)
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        at: AtArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Exit 1 if there are findings
        #[arg(long)]
        fail: bool,
    },
    /// Explain one sanction's verdict: every condition checked, the events it rests on, the law
    Explain {
        sanction_id: String,
        /// Judge with only what had been recorded by this time (RFC 3339)
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        at: AtArgs,
        /// `table` prints the explanation in words
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The year report for revisors: chain head, error rates per rule, sanctions, findings, monthly series
    ///
    /// Replays the log verifying the chain as it goes (a broken chain stops it and names the seq).
    /// The same ledger and the same --now give a byte-identical JSON report.
    Report {
        /// The calendar year (local time)
        #[arg(long)]
        year: i32,
        /// Judge with only what had been recorded by this time (RFC 3339)
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        #[command(flatten)]
        at: AtArgs,
        /// html (one self-contained printable file), xlsx, json (everything) or csv (the findings)
        /// [default: from the --out extension, else json]
        #[arg(long, value_enum)]
        format: Option<commands::audit::ReportFormat>,
        /// Write to this file instead of standard output (`-`: standard output)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Report from an export file instead of the data directory (no store needed)
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// Include a reproducible sample of N cases, each with its timeline (needs --seed)
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
        /// Seed of the sample
        #[arg(long, value_name = "TEXT")]
        seed: Option<String>,
        /// Sample from the cases with findings of this rule
        #[arg(long, value_name = "CODE")]
        sample_rule: Option<String>,
    },
    /// Draw a reproducible random sample (stikprøve) of the year's cases
    ///
    /// Ranks every stream of the population by BLAKE3(seed || stream id) and takes the N smallest:
    /// anyone with the seed and the list of streams can draw it again.
    #[command(group(clap::ArgGroup::new("how_many").required(true).args(["size", "per_municipality"])))]
    Sample {
        #[arg(long)]
        year: i32,
        /// How many cases
        #[arg(long, value_name = "N")]
        size: Option<usize>,
        /// How many cases of each municipality (stratified: each drawn as if alone)
        #[arg(long, value_name = "N")]
        per_municipality: Option<usize>,
        /// Any text; write it in the audit file
        #[arg(long, value_name = "TEXT")]
        seed: String,
        /// Population: the cases with findings of this rule (dk.sanction: unlawful sanctions)
        /// [default: every case with events in the year]
        #[arg(long, value_name = "CODE")]
        rule: Option<String>,
        /// With --rule: every case the rule examined in the year, with a finding or not (e.g. the
        /// active participants the Swedish plan rule counts; dk.sanction: every sanction)
        #[arg(long, requires = "rule")]
        examined: bool,
        /// Also print the whole population with each case's key, so anyone can draw it again
        #[arg(long)]
        population: bool,
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One case's events in effective-time order, with recorded times, seq and hash, its verdicts and findings
    Timeline {
        stream: String,
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Open deadlines (indsatsplan, first offer, flexjob forwarding and reassessment), soonest first
    Deadlines {
        /// Only those falling due within this many days
        #[arg(long, value_name = "DAYS")]
        within: Option<u32>,
        /// The day (YYYY-MM-DD, end of day) or time to look from [default: now]
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Reconcile (samkøring) a CSV list of case ids from another system with the ledger's streams
    Reconcile {
        /// CSV with a header line, one case per line
        #[arg(long, value_name = "FILE.csv")]
        cases: PathBuf,
        /// The column with the case id [default: stream, case_id, case, sag, sagsnummer, sags_id or id; else the first]
        #[arg(long, value_name = "NAME")]
        id_column: Option<String>,
        /// A column to count per category (e.g. the benefit)
        #[arg(long, value_name = "NAME")]
        category_column: Option<String>,
        /// Put this before every id of the file, e.g. `dk-101:`; the ledger's side is then that
        /// municipality's cases only
        #[arg(long, value_name = "TEXT", default_value = "")]
        prefix: String,
        /// Compare with the ledger's cases that have an event of this type only, e.g.
        /// `ledighedsydelse_paid` for the flexjob cases paid (with --from/--to: in that period)
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        event_type: Option<String>,
        /// ... and whose event (of --type, or any) is effective on or after this day, YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// ... and on or before this day, YYYY-MM-DD (a quarter: --from 2017-01-01 --to 2017-03-31)
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Generate a realistic synthetic municipality for a year and import it
    ///
    /// Three Danish municipalities and a Swedish unit: Min Plan versions and publications (some
    /// late), offers, absences, hearings and sanctions (lawful and unlawful), match assessments,
    /// follow-ups, rehabilitation deadlines, flexjob payments, Swedish participants with and without
    /// action plans. Deterministic for a seed; running it again adds nothing.
    Demo {
        /// How many citizens (cases); 50,000 give about 4.4 million events
        #[arg(long, default_value_t = 2000)]
        citizens: u64,
        #[arg(long, default_value_t = 2017)]
        year: i32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure import, verify and replay on generated events against raw baselines of the same run
    ///
    /// Uses a temporary directory (removed afterwards) and --store's backend. Figures for
    /// BENCHMARKS.md: `garanti bench --events 1000000` and `garanti --store sled bench ...`.
    Bench {
        /// How many events to generate
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per durable batch
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Seed of the generated history
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Instead: a year report of a demo municipality of N citizens (import, verify, report;
        /// seconds, rates and peak memory)
        #[arg(long, value_name = "N")]
        municipality: Option<u64>,
    },
    /// Serve the HTTP API (see README.md, "HTTP API", and /docs/ on the server)
    ///
    /// One process owns the data directory: it catches the projections up from the log (verifying
    /// the chain), then folds every append in before answering it. Appends from concurrent requests
    /// share one durable commit. SIGTERM or Ctrl-C: new appends are refused, those in flight finish.
    /// Prints `garanti: listening on http://ADDR` on standard output once it listens; logs go to
    /// standard error (RUST_LOG=debug for more).
    Serve {
        /// Address to listen on (port 0: any free port)
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// The tokens file (hashes only); make tokens with `garanti token new`
        #[arg(
            long,
            env = "GARANTI_TOKENS",
            default_value = "garanti-tokens.toml",
            value_name = "FILE"
        )]
        tokens: PathBuf,
        /// Largest request body taken, in bytes
        #[arg(long, default_value_t = 8 << 20, value_name = "BYTES")]
        max_body_bytes: usize,
        /// Most events in one append
        #[arg(long, default_value_t = 10_000, value_name = "N")]
        max_batch: usize,
        /// Seconds to answer a request (reports and verification get 600)
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        request_timeout: u64,
        /// Feed items buffered per client before a slow client is told to resume
        #[arg(long, default_value_t = 4096, value_name = "N")]
        feed_buffer: usize,
        /// Seconds after SIGTERM during which the server still accepts connections and answers
        /// every new request 503 with `Retry-After` (so clients and load balancers move on
        /// rather than meet a reset), while the requests in flight finish
        #[arg(long, default_value_t = 1, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=3600))]
        shutdown_drain: u64,
        /// Seconds connections may take to finish after the drain; then they are closed and the
        /// process exits (everything acknowledged is durable)
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        shutdown_grace: u64,
        /// Days an appended event's `recorded_at` may lie behind the server's clock; older (or a
        /// `recorded_at` more than a minute ahead of it) is refused with 422. History with the
        /// source systems' own times goes in with `garanti import`. 0: any age
        #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(0..=36_500))]
        max_recorded_lag: u64,
        /// While appends are flowing, the share (percent) of the query threads' time that one
        /// token's queries may keep: after a query that took t, the token's next one starts
        /// t × 100 / PERCENT later at the earliest (other tokens do not wait). Keeps a client that
        /// reads large cases or makes reports in a loop from slowing every municipality's appends.
        /// 100: no limit
        #[arg(long, default_value_t = 20, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100))]
        query_share: u32,
        /// Memory for recently read cases (their rendered events and answers, kept until the case
        /// or the time of evaluation moves on), in MiB; 0 keeps nothing
        #[arg(long, default_value_t = 256, value_name = "MIB")]
        case_cache_mib: usize,
        /// Make a new, empty ledger in --data if there is none there; without it, serve opens an
        /// existing ledger only (made by `import`, `demo` or an earlier `serve --init`)
        #[arg(long)]
        init: bool,
        /// The log's signing key, for the checkpoints served at /log/checkpoint [default:
        /// DATA/garanti-log.key if there is one; without a key no checkpoint is signed]
        #[arg(long, value_name = "FILE")]
        log_key: Option<PathBuf>,
    },
    /// The log's signing key (Ed25519, C2SP signed-note)
    LogKey {
        #[command(subcommand)]
        command: LogKeyCommand,
    },
    /// Sign a checkpoint (C2SP tlog-checkpoint) of the Merkle tree as it is now, keep it, print it
    ///
    /// Every checkpoint the ledger signs is kept (`garanti checkpoints`). Hand it to your revisor:
    /// next year's ledger can be proved to extend it (`garanti verify --since CP --key VKEY`).
    Checkpoint {
        /// The log's signing key [default: DATA/garanti-log.key]
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Write the checkpoint to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the checkpoints the ledger has signed, with size, time and root
    Checkpoints {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print a proof bundle (JSON) that anyone can check offline with the log's verifier key
    ///
    /// `prove SEQ`: record SEQ and its inclusion proof (RFC 9162) under a signed checkpoint.
    /// `prove --sanction ID`: the decision and every evidence event of the sanction's verdict, each
    /// with its inclusion proof, and the verdict. `prove --from-size M`: a consistency proof that
    /// the tree of M records is a prefix of the tree of N. The checkpoint is the kept one of size
    /// --size N, or, without --size, one of the tree as it is now, signed and kept.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["seq", "sanction", "from_size"])))]
    Prove {
        /// The seq of the record to prove
        seq: Option<u64>,
        /// Prove a sanction's decision and evidence
        #[arg(long, value_name = "ID")]
        sanction: Option<String>,
        /// Prove that the checkpoint of this size (kept by the ledger) is a prefix of the newer one
        #[arg(long, value_name = "M")]
        from_size: Option<u64>,
        /// Prove against the kept checkpoint of this size [default: sign one now]
        #[arg(long, value_name = "N")]
        size: Option<u64>,
        /// The log's signing key, for signing a checkpoint now [default: DATA/garanti-log.key]
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Write the bundle to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a proof bundle of `garanti prove` offline: exit 0 if it holds, 1 if not
    ///
    /// Checks the checkpoint's signature with the log's verifier key, every inclusion or
    /// consistency proof, and that every record decodes. Needs no ledger.
    VerifyProof {
        /// The bundle (JSON)
        file: PathBuf,
        /// The log's verifier key (ORIGIN+HHHHHHHH+BASE64), or a file holding it
        #[arg(long, value_name = "VKEY")]
        key: String,
    },
    /// Cosign a log's checkpoint if it extends the last one this witness cosigned (C2SP tlog-cosignature/v1)
    ///
    /// Verifies the checkpoint's signature with the log's verifier key and that it is consistent
    /// with the last checkpoint this witness cosigned for the same log (a consistency proof from
    /// --proof, or made from the log's tiles at --url); then prints the checkpoint with the log's
    /// signature and the witness's cosignature, and remembers it durably in --state. The first
    /// checkpoint of a log is trusted on first use. A rollback or a fork is refused with exit 1,
    /// printing both checkpoints as the evidence; the state does not move.
    #[command(group(clap::ArgGroup::new("source").required(true).args(["checkpoint", "url"])))]
    Witness {
        /// The log's verifier key (ORIGIN+HHHHHHHH+BASE64), or a file holding it
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// The witness's signing key (`garanti witness-key new`)
        #[arg(long, value_name = "FILE", default_value = "garanti-witness.key")]
        witness_key: PathBuf,
        /// The witness's state: the last cosigned checkpoint of each log
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The checkpoint to cosign (a file)
        #[arg(long, value_name = "CP", conflicts_with = "url")]
        checkpoint: Option<PathBuf>,
        /// With --checkpoint: the consistency bundle from the last cosigned size (`garanti prove --from-size M`)
        #[arg(long, value_name = "FILE", requires = "checkpoint")]
        proof: Option<PathBuf>,
        /// The log's base URL, e.g. http://127.0.0.1:8080/log/ (checkpoint and tiles are fetched)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// The witness's signing key
    WitnessKey {
        #[command(subcommand)]
        command: WitnessKeyCommand,
    },
    /// Manage the API's bearer tokens
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// List the rules, their legal bases and the parameter values in force
    Rules {
        /// The date the parameter values are shown for [default: today]
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn main() -> ExitCode {
    quiet_storage_panics();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            // A broken chain found while replaying is a verification failure, not an accident.
            let chain_broken = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<replay::load::LoadError>(),
                    Some(replay::load::LoadError::Chain(_))
                )
            });
            ExitCode::from(if chain_broken { EXIT_FOUND } else { EXIT_ERROR })
        }
    }
}

/// sled 0.34 panics on some damaged logs; the storage layer catches those panics and reports the
/// damage as an error, so the panic's own message and backtrace would only be noise before it.
fn quiet_storage_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| l.file().contains("/sled-")) {
            return;
        }
        default(info);
    }));
}

fn run(cli: Cli) -> Result<u8> {
    let mut ctx = commands::Context::new(&cli)?;
    match &cli.command {
        Command::Sanctions { at, .. }
        | Command::Findings { at, .. }
        | Command::Explain { at, .. }
        | Command::Report { at, .. } => ctx.at = at.read()?,
        _ => {}
    }
    match cli.command {
        Command::Import {
            file,
            batch,
            no_resume,
            report_batches,
        } => commands::import::run(&ctx, &file, batch, !no_resume, report_batches),
        Command::Export { from, to, out } => commands::export::run(&ctx, from, to, out.as_deref()),
        Command::Verify {
            export,
            checkpoint,
            since,
            key,
            expect_head,
        } => commands::verify::run(
            &ctx,
            export.as_deref(),
            commands::verify::Pins {
                checkpoint: checkpoint.or(since),
                key,
                expect_head,
            },
        ),
        Command::LogKey {
            command: LogKeyCommand::New { origin, key },
        } => commands::log::key_new(&ctx, &origin, key.as_deref()),
        Command::LogKey {
            command: LogKeyCommand::Show { key },
        } => commands::log::key_show(&ctx, key.as_deref()),
        Command::Checkpoint { key, out } => {
            commands::log::checkpoint(&ctx, key.as_deref(), out.as_deref())
        }
        Command::Checkpoints { format } => commands::log::checkpoints(&ctx, format),
        Command::Prove {
            seq,
            sanction,
            from_size,
            size,
            key,
            out,
        } => {
            let what = match (seq, sanction.as_deref(), from_size) {
                (Some(seq), _, _) => commands::log::ProveWhat::Record(seq),
                (_, Some(id), _) => commands::log::ProveWhat::Sanction(id),
                (_, _, Some(m)) => commands::log::ProveWhat::FromSize(m),
                (None, None, None) => anyhow::bail!("give SEQ, --sanction ID or --from-size M"),
            };
            commands::log::prove(&ctx, what, size, key.as_deref(), out.as_deref())
        }
        Command::VerifyProof { file, key } => commands::log::verify_proof(&file, &key),
        Command::Witness {
            log_key,
            witness_key,
            state,
            checkpoint,
            proof,
            url,
        } => {
            let source = match (&checkpoint, &url) {
                (Some(cp), _) => commands::witness::Source::Files {
                    checkpoint: cp,
                    proof: proof.as_deref(),
                },
                (None, Some(url)) => commands::witness::Source::Url(url),
                (None, None) => anyhow::bail!("give --checkpoint CP or --url URL"),
            };
            commands::witness::witness(&log_key, &witness_key, &state, source)
        }
        Command::WitnessKey {
            command: WitnessKeyCommand::New { name, key },
        } => commands::witness::key_new(&name, &key),
        Command::Head { format } => commands::verify::head(&ctx, format),
        Command::Sanctions {
            at: _,
            year,
            stream,
            verdict,
            as_of,
            format,
            fail,
        } => commands::judge::sanctions(
            &ctx,
            year,
            stream.as_deref(),
            verdict.map(|v| v == VerdictArg::Lawful),
            as_of.as_deref(),
            format,
            fail,
        ),
        Command::Findings {
            at: _,
            year,
            rule,
            stream,
            as_of,
            format,
            fail,
        } => commands::judge::findings(
            &ctx,
            year,
            rule.as_deref(),
            stream.as_deref(),
            as_of.as_deref(),
            format,
            fail,
        ),
        Command::Explain {
            at: _,
            sanction_id,
            as_of,
            format,
        } => commands::judge::explain(&ctx, &sanction_id, as_of.as_deref(), format),
        Command::Report {
            at: _,
            year,
            as_of,
            format,
            out,
            export,
            sample,
            seed,
            sample_rule,
        } => {
            let sample = commands::audit::sample_request(sample, seed, sample_rule)?;
            commands::audit::report(
                &ctx,
                year,
                as_of.as_deref(),
                format,
                out.as_deref(),
                export.as_deref(),
                sample,
            )
        }
        Command::Sample {
            year,
            size,
            per_municipality,
            seed,
            rule,
            examined,
            population,
            as_of,
            export,
            format,
        } => commands::audit::sample(
            &ctx,
            (year, population),
            replay::report::SampleRequest {
                size: match (size, per_municipality) {
                    (Some(n), None) | (None, Some(n)) => n,
                    _ => anyhow::bail!("give one of --size N and --per-municipality N"),
                },
                seed,
                rule,
                examined,
                per_municipality: per_municipality.is_some(),
            },
            as_of.as_deref(),
            export.as_deref(),
            format,
        ),
        Command::Timeline {
            stream,
            export,
            format,
        } => commands::audit::timeline(&ctx, &stream, export.as_deref(), format),
        Command::Deadlines { within, at, format } => {
            commands::audit::deadlines(&ctx, within, at.as_deref(), format)
        }
        Command::Reconcile {
            cases,
            id_column,
            category_column,
            prefix,
            event_type,
            from,
            to,
            format,
        } => commands::audit::reconcile(
            &ctx,
            &cases,
            (id_column.as_deref(), category_column.as_deref(), &prefix),
            commands::audit::case_scope(event_type, from.as_deref(), to.as_deref())?,
            format,
        ),
        Command::Demo {
            citizens,
            year,
            seed,
        } => commands::demo::run(&ctx, citizens, year, seed),
        Command::Bench {
            municipality: Some(citizens),
            seed,
            ..
        } => commands::bench::municipality(&ctx, citizens, seed),
        Command::Bench {
            events,
            batch,
            seed,
            municipality: None,
        } => commands::bench::run(&ctx, events, batch, seed),
        Command::Rules { at, format } => commands::judge::rules(&ctx, at.as_deref(), format),
        Command::Serve {
            listen,
            tokens,
            max_body_bytes,
            max_batch,
            request_timeout,
            feed_buffer,
            shutdown_drain,
            shutdown_grace,
            max_recorded_lag,
            query_share,
            case_cache_mib,
            init,
            log_key,
        } => commands::serve::serve(
            &ctx,
            commands::serve::ServeArgs {
                listen,
                tokens: &tokens,
                max_body_bytes,
                max_batch,
                request_timeout,
                feed_buffer,
                shutdown_drain,
                shutdown_grace,
                max_recorded_lag,
                query_share,
                case_cache_mib,
                init,
                log_key: log_key.as_deref(),
            },
        ),
        Command::Token {
            command:
                TokenCommand::New {
                    role,
                    actor,
                    prefix,
                    id,
                    tokens,
                },
        } => commands::serve::token_new(
            &tokens,
            match role {
                RoleArg::Caseworker => api::Role::Caseworker,
                RoleArg::Legal => api::Role::Legal,
                RoleArg::Revisor => api::Role::Revisor,
                RoleArg::Admin => api::Role::Admin,
            },
            &actor,
            prefix.as_deref(),
            id.as_deref(),
        ),
    }
}
