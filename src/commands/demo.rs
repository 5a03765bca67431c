//! `garanti demo`: a synthetic municipality imported into the ledger, and what to run next.

use super::Context;
use crate::EXIT_OK;
use anyhow::Result;
use replay::ingest::{import, ImportOptions};
use replay::synth::{LinesReader, Municipality};

pub fn run(ctx: &Context, citizens: u64, year: i32, seed: u64) -> Result<u8> {
    let ledger = ctx.open_as(ledger::Access::Create)?;
    let bar = ctx.progress(
        None,
        &format!("generating and importing {citizens} citizens of {year}"),
    );
    let reader = std::io::BufReader::with_capacity(
        1 << 20,
        LinesReader::new(Municipality::new(seed, citizens, year)),
    );
    let options = ImportOptions {
        batch: 10_000,
        resume: true,
        appended_by: "cli".into(),
    };
    let stats = import(&ledger, reader, &options, &mut |done| {
        bar.set_position(done.head.seq + 1)
    })?;
    bar.finish_and_clear();
    let head = ledger.head();
    let data = ctx.data.display();
    if stats.skipped > 0 && stats.imported == 0 {
        outln!(
            "this demo ({citizens} citizens, {year}, seed {seed}) is already in {data}: {} events",
            stats.skipped
        );
    } else {
        outln!("imported a synthetic municipality into {data}: {citizens} citizens of {year} (seed {seed}), {} events", stats.imported);
    }
    if let Some(h) = head {
        outln!("chain head: seq {} hash {}", h.seq, h.hash_hex());
    }
    let data_arg = if ctx.data.as_os_str() == "garanti-data" {
        String::new()
    } else {
        format!("--data {data} ")
    };
    outln!(
        "\nWhat to run next:\n  garanti {data_arg}verify\n  garanti {data_arg}report --year {year} --out report-{year}.html\n  garanti {data_arg}report --year {year} --out report-{year}.xlsx --sample 15 --seed \"revision {year}\"\n  garanti {data_arg}sanctions --year {year}\n  garanti {data_arg}findings --year {year} --rule dk.minplan.plan_not_published_before_start\n  garanti {data_arg}deadlines --at {year}-12-31 --within 60\n  garanti {data_arg}explain SANCTION_ID   (the ids are listed by `sanctions`)"
    );
    Ok(EXIT_OK)
}
