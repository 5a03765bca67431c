//! `garanti serve` and `garanti token`: the HTTP API and its tokens.

use super::Context;
use crate::EXIT_OK;
use anyhow::{Context as _, Result};
use api::{AppState, Config, Limits, Role, Tokens};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What `serve` takes besides the global options.
pub struct ServeArgs<'a> {
    pub listen: SocketAddr,
    pub tokens: &'a Path,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub request_timeout: u64,
    pub feed_buffer: usize,
    /// Seconds the listener still takes connections after shutdown begins, answering 503.
    pub shutdown_drain: u64,
    /// Seconds connections may take to finish after the drain.
    pub shutdown_grace: u64,
    /// Days an appended event's `recorded_at` may lie behind the server's clock; 0: any.
    pub max_recorded_lag: u64,
    /// Percent of the query threads one token's queries may keep while appends flow.
    pub query_share: u32,
    pub case_cache_mib: usize,
    /// Make a new ledger if the data directory has none.
    pub init: bool,
    /// The log's signing key [default: DATA/garanti-log.key, if there is one].
    pub log_key: Option<&'a Path>,
}

pub fn serve(ctx: &Context, args: ServeArgs<'_>) -> Result<u8> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let tokens = Tokens::load(args.tokens)?;
    if tokens.is_empty() {
        anyhow::bail!(
            "the tokens file {} has no tokens; add one with `garanti token new --tokens {} --role admin --actor ID`",
            args.tokens.display(),
            args.tokens.display()
        );
    }
    let ledger = Arc::new(ctx.open_as(if args.init {
        ledger::Access::Create
    } else {
        ledger::Access::Write
    })?);
    let records = ledger.head().map_or(0, |h| h.seq + 1);
    tracing::info!(
        "catching up: folding {records} records of {} into the projections, verifying the chain",
        ctx.data.display()
    );
    let started = std::time::Instant::now();
    let config = Config {
        params: ctx.params.clone(),
        clock: ctx
            .fixed_now
            .map_or(api::state::Clock::System, api::state::Clock::at),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_batch_events: args.max_batch,
            request: Duration::from_secs(args.request_timeout),
            feed_buffer: args.feed_buffer,
            shutdown_drain: Duration::from_secs(args.shutdown_drain),
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
            max_recorded_lag: (args.max_recorded_lag > 0)
                .then(|| Duration::from_secs(args.max_recorded_lag.saturating_mul(24 * 3600))),
            case_cache_bytes: args.case_cache_mib.saturating_mul(1 << 20),
            query_share: args.query_share,
            ..Limits::default()
        },
        log_key: log_key(ctx, args.log_key)?,
    };
    let mut last_logged = std::time::Instant::now();
    let state = AppState::open(ledger, tokens, config, &mut |n| {
        if last_logged.elapsed() >= Duration::from_secs(2) {
            last_logged = std::time::Instant::now();
            tracing::info!("catching up: {n} of {records} records");
        }
    })?;
    tracing::info!(
        "caught up: {records} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("garanti-http")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let shutdown = api::shutdown_signal().context("cannot install the signal handlers")?;
        // One line on standard output, for scripts and tests that start us on port 0.
        outln!("garanti: listening on http://{addr}");
        tracing::info!("listening on http://{addr} (docs: http://{addr}/docs/)");
        api::serve(listener, state, shutdown)
            .await
            .context("the server failed")
    })?;
    // Connection tasks closed at the grace's end are cancelled with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(EXIT_OK)
}

/// The log's signing key: --log-key, else the data directory's if there is one. Without one the
/// server signs no checkpoints (and says so).
fn log_key(ctx: &Context, given: Option<&Path>) -> Result<Option<Arc<ledger::note::NoteSigner>>> {
    let default = ctx.data.join(ledger::transparency::LOG_KEY_FILE);
    if given.is_none() && !default.exists() {
        tracing::warn!(
            "no log key ({}): no checkpoints are signed; make one with `garanti log-key new --origin ORIGIN`",
            default.display()
        );
        return Ok(None);
    }
    Ok(Some(Arc::new(super::log::read_signer(ctx, given)?)))
}

pub fn token_new(
    tokens: &Path,
    role: Role,
    actor: &str,
    prefix: Option<&str>,
    id: Option<&str>,
) -> Result<u8> {
    let (token, entry) = api::auth::add_token(tokens, role, actor, prefix, id)?;
    outln!("{token}");
    eprintln!(
        "added token {} (role {}, actor {}{}) to {}; the token above is shown once and stored only as a hash",
        entry.id,
        role.as_str(),
        entry.actor,
        entry
            .prefix
            .as_deref()
            .map(|p| format!(", streams {p}*"))
            .unwrap_or_default(),
        tokens.display()
    );
    Ok(EXIT_OK)
}
