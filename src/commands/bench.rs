//! `garanti bench`: import, verify and replay rates on generated events, each beside a raw baseline
//! measured in the same run (absolute figures are noisy; ratios are what to compare).

use super::Context;
use crate::EXIT_OK;
use anyhow::{Context as _, Result};
use ledger::{Backend, Ledger, Verdict};
use replay::ingest::{import, ImportOptions};
use std::io::Write;
use std::time::Instant;

fn rate(n: u64, secs: f64) -> f64 {
    n as f64 / secs.max(1e-9)
}

pub fn run(ctx: &Context, events: usize, batch: usize, seed: u64) -> Result<u8> {
    let backend = ctx.store.unwrap_or(Backend::Redb);
    let dir = tempfile::Builder::new()
        .prefix("garanti-bench")
        .tempdir()
        .context("cannot make a temporary directory")?;
    eprintln!(
        "generating {events} events (seed {seed}) in {}",
        dir.path().display()
    );
    let lines = replay::synth::dk_history(seed, events);
    let input = dir.path().join("events.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input)?);
        for l in &lines {
            writeln!(f, "{l}")?;
        }
        f.flush()?;
    }
    let input_bytes = std::fs::metadata(&input)?.len();
    drop(lines);
    let n = events as u64;
    let mut rows: Vec<(String, f64, String)> = Vec::new();

    let ledger = Ledger::open(&dir.path().join("data"), Some(backend))?;
    let t = Instant::now();
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&input)?);
    let stats = import(
        &ledger,
        reader,
        &ImportOptions {
            batch,
            resume: true,
            appended_by: "bench".into(),
        },
        &mut |_| {},
    )?;
    let import_rate = rate(stats.imported, t.elapsed().as_secs_f64());

    // Baselines over exactly the stored bytes.
    let mut values: Vec<Vec<u8>> = Vec::with_capacity(events);
    ledger.scan(0, u64::MAX, &mut |r| {
        values.push(ledger::storage::stored_value(r));
        true
    })?;
    let record_bytes: u64 = values.iter().map(|v| v.len() as u64).sum();
    let raw_dir = dir.path().join("raw");
    std::fs::create_dir_all(&raw_dir)?;
    let t = Instant::now();
    ledger::storage::raw_insert(backend, &raw_dir, &values, batch)?;
    let raw_insert_rate = rate(n, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut acc = 0u8;
    for v in &values {
        acc ^= blake3::hash(v).as_bytes()[0];
    }
    let blake3_rate = rate(n, t.elapsed().as_secs_f64());
    std::hint::black_box(acc);

    let t = Instant::now();
    let verdict = ledger.verify(&mut |_| {})?;
    let verify_rate = rate(n, t.elapsed().as_secs_f64());
    anyhow::ensure!(
        matches!(verdict, Verdict::Intact { .. }),
        "the benchmark ledger does not verify: {verdict:?}"
    );

    let export = dir.path().join("export.jsonl");
    {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&export)?);
        let mut last = None;
        ledger.scan(0, u64::MAX, &mut |r| {
            if let Ok(view) = r.view() {
                let _ = writeln!(f, "{}", ledger::interchange::export_line(r, &view));
            }
            last = Some((r.seq, r.hash));
            true
        })?;
        writeln!(
            f,
            "{}",
            ledger::interchange::export_trailer(
                n,
                Some((0, &ledger::record::GENESIS_PREV_HASH)).filter(|_| n > 0),
                last.as_ref().map(|(s, h)| (*s, h))
            )
        )?;
        f.flush()?;
    }
    let t = Instant::now();
    let check = ledger::export::verify_export(std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&export)?,
    ));
    let verify_export_rate = rate(n, t.elapsed().as_secs_f64());
    anyhow::ensure!(
        check.is_ok(),
        "the benchmark export does not verify: {check:?}"
    );

    let t = Instant::now();
    let projection = replay::load::project(&ledger, &mut |_| {})?;
    let replay_rate = rate(n, t.elapsed().as_secs_f64());
    let facts: Vec<(std::sync::Arc<str>, projections::Fact)> = projection
        .streams()
        .flat_map(|(id, s)| s.facts.iter().map(move |f| (id.clone(), f.clone())))
        .collect();
    drop(projection);
    let t = Instant::now();
    let mut fold = projections::Projection::new();
    for (stream, f) in facts {
        fold.apply(&stream, f);
    }
    let fold_rate = rate(n, t.elapsed().as_secs_f64());
    std::hint::black_box(fold.len());

    let log = transparency_timings(&ledger, n, seed)?;

    let pct = |a: f64, b: f64| format!("{:.0}% of", 100.0 * a / b);
    rows.push((
        format!("import (JSON Lines, checked, hashed, durable per {batch})"),
        import_rate,
        format!("{} raw insert", pct(import_rate, raw_insert_rate)),
    ));
    rows.push((
        format!("raw {backend} batch insert of the same bytes"),
        raw_insert_rate,
        "baseline".into(),
    ));
    rows.push((
        "verify of the store".into(),
        verify_rate,
        format!("{} raw BLAKE3", pct(verify_rate, blake3_rate)),
    ));
    rows.push((
        "raw BLAKE3 over the same stored bytes".into(),
        blake3_rate,
        "baseline".into(),
    ));
    rows.push((
        "verify of an export file".into(),
        verify_export_rate,
        format!("{} raw BLAKE3", pct(verify_export_rate, blake3_rate)),
    ));
    rows.push((
        "replay into projections (decode + fold)".into(),
        replay_rate,
        String::new(),
    ));
    rows.push(("projection fold alone".into(), fold_rate, String::new()));
    outln!(
        "garanti bench: {events} events, {:.0} bytes/record stored, {:.1} MB of JSON Lines, backend {backend}, {} cores",
        record_bytes as f64 / n.max(1) as f64,
        input_bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(what, r, vs)| vec![what.clone(), format!("{:.0}", r), vs.clone()])
        .collect();
    out!(
        "{}",
        crate::output::table(&["measure", "events/s", "ratio"], &table_rows)
    );
    let log_rows: Vec<Vec<String>> = log
        .iter()
        .map(|(what, micros)| vec![what.clone(), format!("{micros:.1}")])
        .collect();
    out!(
        "{}",
        crate::output::table(
            &["transparency log, tree of all records", "µs each"],
            &log_rows
        )
    );
    Ok(EXIT_OK)
}

/// Times of the transparency log on the benchmark's ledger: inclusion proofs of records picked
/// at random (from the stored hashes, as `prove` and the API make them), a consistency proof, and
/// a checkpoint signed (root and Ed25519) and kept (a durable write).
fn transparency_timings(ledger: &Ledger, n: u64, seed: u64) -> Result<Vec<(String, f64)>> {
    const PROOFS: u64 = 2000;
    let mut rows = Vec::new();
    if n == 0 {
        return Ok(rows);
    }
    // A fixed sequence of pseudo-random seqs (splitmix64), the same for every run with this seed.
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    };
    // Microseconds per call of `work`, over PROOFS calls.
    let mut each = |what: &str, work: &mut dyn FnMut(u64) -> Result<()>| -> Result<()> {
        let t = Instant::now();
        for _ in 0..PROOFS {
            work(next())?;
        }
        rows.push((what.into(), t.elapsed().as_secs_f64() * 1e6 / PROOFS as f64));
        Ok(())
    };
    each("inclusion proof of a random record", &mut |seq| {
        std::hint::black_box(ledger.inclusion_proof(seq, n)?);
        Ok(())
    })?;
    each(
        "the same with the record read (a `prove SEQ` bundle's body)",
        &mut |seq| {
            std::hint::black_box(ledger.entry_proof(seq, n)?);
            Ok(())
        },
    )?;
    each("consistency proof from a random size", &mut |seq| {
        std::hint::black_box(ledger.consistency_proof(1 + seq, n)?);
        Ok(())
    })?;
    let signer = ledger::note::NoteSigner::generate("bench.example/garanti", 1)?;
    each(
        "checkpoint signed (root from the frontier, Ed25519)",
        &mut |_| {
            let tree = ledger.tree();
            let text = ledger::note::Checkpoint {
                origin: signer.name().to_owned(),
                size: tree.size(),
                root: tree.root(),
            }
            .text();
            std::hint::black_box(signer.sign(&text)?);
            Ok(())
        },
    )?;
    let t = Instant::now();
    ledger.sign_checkpoint(&signer, ledger::Timestamp::now())?;
    rows.push((
        "checkpoint signed and kept (one durable write)".into(),
        t.elapsed().as_secs_f64() * 1e6,
    ));
    Ok(rows)
}

/// Peak resident memory of this process so far (VmHWM), in bytes, where the system tells it.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `garanti bench --municipality N`: the revisor's year report of a demo municipality.
pub fn municipality(ctx: &Context, citizens: u64, seed: u64) -> Result<u8> {
    use replay::synth::{LinesReader, Municipality};
    let backend = ctx.store.unwrap_or(Backend::Redb);
    let dir = tempfile::Builder::new()
        .prefix("garanti-bench")
        .tempdir()
        .context("cannot make a temporary directory")?;
    let year = 2017;
    let ledger = Ledger::open(&dir.path().join("data"), Some(backend))?;
    eprintln!(
        "importing a demo municipality of {citizens} citizens into {}",
        dir.path().display()
    );
    let t = Instant::now();
    let reader = std::io::BufReader::with_capacity(
        1 << 20,
        LinesReader::new(Municipality::new(seed, citizens, year)),
    );
    let stats = import(
        &ledger,
        reader,
        &ImportOptions {
            batch: 10_000,
            resume: true,
            appended_by: "bench".into(),
        },
        &mut |_| {},
    )?;
    let import_secs = t.elapsed().as_secs_f64();
    let n = stats.imported;
    let after_import = peak_memory();

    let t = Instant::now();
    let verdict = ledger.verify(&mut |_| {})?;
    let verify_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        matches!(verdict, Verdict::Intact { .. }),
        "the benchmark ledger does not verify: {verdict:?}"
    );

    let t = Instant::now();
    let loaded = replay::load::project_verified(&ledger, &mut |_| {})?;
    let replay_secs = t.elapsed().as_secs_f64();
    let eval = projections::Evaluation {
        params: &ctx.params,
        as_of: None,
        now: ctx.now,
    };
    let source = replay::report::Source {
        checkpoint: None,
        kind: "ledger",
        location: "bench".into(),
        head: loaded.head,
        records: loaded.records,
    };
    let input = super::audit::report_input(ctx, &loaded, eval, year, source, None);
    let t = Instant::now();
    let report = replay::report::build(&input, &mut |_| Default::default());
    let out = dir.path().join("report.json");
    let mut sink = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    serde_json::to_writer_pretty(&mut sink, &report)?;
    sink.flush()?;
    let evaluate_secs = t.elapsed().as_secs_f64();
    let report_bytes = std::fs::metadata(&out)?.len();
    let peak = peak_memory();

    let mb = |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
    outln!(
        "garanti bench --municipality {citizens}: {n} events of {year}, backend {backend}, {} cores",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let rows = vec![
        vec![
            "import (demo generator, durable per 10,000)".to_string(),
            format!("{import_secs:.1} s"),
            format!("{:.0} events/s", rate(n, import_secs)),
        ],
        vec![
            "verify of the store (raw chain walk)".into(),
            format!("{verify_secs:.1} s"),
            format!("{:.0} events/s", rate(n, verify_secs)),
        ],
        vec![
            "replay: verify + decode + fold".into(),
            format!("{replay_secs:.1} s"),
            format!(
                "{:.0} events/s ({:.0}% of the raw verify rate)",
                rate(n, replay_secs),
                100.0 * verify_secs / replay_secs.max(1e-9)
            ),
        ],
        vec![
            "evaluate all rules and write the JSON report".into(),
            format!("{evaluate_secs:.1} s"),
            format!(
                "{} sanctions, {} findings, {:.0} MB",
                report.sanction_count(),
                report.finding_count(),
                report_bytes as f64 / 1e6
            ),
        ],
        vec![
            "report total (replay + evaluate + write)".into(),
            format!("{:.1} s", replay_secs + evaluate_secs),
            String::new(),
        ],
        vec![
            "peak memory (after import / overall)".into(),
            format!("{} / {}", mb(after_import), mb(peak)),
            String::new(),
        ],
    ];
    out!(
        "{}",
        crate::output::table(&["measure", "time", "rate"], &rows)
    );
    Ok(EXIT_OK)
}
