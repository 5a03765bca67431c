//! `cargo bench -p ledger`: the ledger's own costs beside raw baselines of the same bytes.
//! For the whole pipeline (JSON Lines import, export verify, replay) use `garanti bench`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ledger::{Append, Backend, Ledger, NewEvent, Timestamp};

const BATCH: usize = 1000;

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent {
            stream: format!("dk-101:c-{:07}", (i * 7919) % 50_000),
            event_type: "absence_recorded".into(),
            effective_at: Timestamp { unix_nanos: 1_489_129_200_000_000_000 + i as i64 * 1_000_000_000, offset_seconds: 3600 },
            recorded_at: Some(Timestamp { unix_nanos: 1_489_129_200_000_000_000, offset_seconds: 3600 }),
            actor: "cw-17".into(),
            data: r#"{"excuse":null,"offer_id":"o-1","note":"padding to a realistic record of about three hundred bytes, as the brief measures them"}"#.into(),
        })
        .collect()
}

fn append(events: Vec<NewEvent>) -> Append {
    Append {
        events,
        constraints: vec![],
        expected_versions: vec![],
        appended_by: "bench".into(),
        appended_at: Timestamp::utc(1_700_000_000_000_000_000),
    }
}

fn bench(c: &mut Criterion) {
    let batch = events(BATCH);
    for backend in [Backend::Redb, Backend::Sled] {
        let mut group = c.benchmark_group(format!("append-{backend}"));
        group.throughput(Throughput::Elements(BATCH as u64));
        group.sample_size(20);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ledger =
            Ledger::open(&dir.path().join("l"), Some(backend)).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function("durable batch of 1000", |b| {
            b.iter_batched(
                || append(batch.clone()),
                |a| ledger.append(a).unwrap_or_else(|e| panic!("{e}")),
                BatchSize::SmallInput,
            )
        });
        // Baseline: the backend's own durable batch insert of the same stored bytes.
        let mut values = Vec::new();
        let _ = ledger.scan(0, BATCH as u64, &mut |r| {
            values.push(ledger::storage::stored_value(r));
            true
        });
        let mut round = 0;
        group.bench_function("raw batch insert of the same bytes", |b| {
            b.iter(|| {
                round += 1;
                let raw = dir.path().join(format!("raw-{round}"));
                let _ = std::fs::create_dir_all(&raw);
                ledger::storage::raw_insert(backend, &raw, &values, BATCH)
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
        group.finish();
    }

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = Ledger::open(dir.path(), Some(Backend::Redb)).unwrap_or_else(|e| panic!("{e}"));
    let all = events(100_000);
    for chunk in all.chunks(10_000) {
        ledger
            .append(append(chunk.to_vec()))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut values = Vec::new();
    let _ = ledger.scan(0, u64::MAX, &mut |r| {
        values.push(ledger::storage::stored_value(r));
        true
    });
    let mut group = c.benchmark_group("verify-100k");
    group.throughput(Throughput::Elements(100_000));
    group.sample_size(10);
    group.bench_function("verify of the store (redb)", |b| {
        b.iter(|| ledger.verify(&mut |_| {}).unwrap_or_else(|e| panic!("{e}")))
    });
    group.bench_function("raw BLAKE3 over the same stored bytes", |b| {
        b.iter(|| {
            values
                .iter()
                .fold(0u8, |acc, v| acc ^ blake3::hash(v).as_bytes()[0])
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
