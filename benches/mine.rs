//! Criterion benches of signing, one thread unless named: masking alone (no cache), `mine`
//! over the ten Loghub-2k sets, and `gardener mine`'s whole path (`mine_csv`) over 1 M lines
//! (the sets' `Content` repeated 50 times) on one thread and on all cores. The side-by-side
//! with Python Drain3 and the Rust crates `drain3` and `logdrain` is
//! `scripts/bench_mine.py` (see docs/BENCHMARKS.md). Skips where `../shared/loghub2k` is
//! absent.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use log_gardener::signature::accuracy::{LOGHUB_DATASETS, load_loghub};
use log_gardener::signature::{mask, mine, mine_csv};

/// The `Content` of every Loghub-2k line, or `None` where the data is absent.
fn loghub_lines() -> Option<Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/loghub2k");
    let mut lines = Vec::new();
    for d in LOGHUB_DATASETS {
        let (content, _) = load_loghub(&dir, d).ok()?;
        lines.extend(content.into_iter().map(|l| l.replace(['\n', '\r'], " ")));
    }
    Some(lines)
}

fn benches(c: &mut Criterion) {
    let Some(lines) = loghub_lines() else {
        eprintln!("skipping the mine benches: ../shared/loghub2k is absent");
        return;
    };
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("mask_loghub_20k_no_cache", |b| {
        let mut shape = String::new();
        b.iter(|| {
            for l in &lines {
                mask::shape_into(l, &mut shape);
                black_box(&shape);
            }
        })
    });
    g.bench_function("mine_loghub_20k", |b| b.iter(|| black_box(mine(&lines, 1))));
    g.finish();

    let mut file = lines.join("\n");
    file.push('\n');
    let file = file.repeat(50);
    let mut g = c.benchmark_group("mine_csv_1m");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines.len() as u64 * 50));
    for threads in [1, 0] {
        let name = if threads == 1 {
            "one_thread"
        } else {
            "all_cores"
        };
        g.bench_function(name, |b| {
            b.iter(|| mine_csv(file.as_bytes(), std::io::sink(), threads).expect("mine"))
        });
    }
    g.finish();
}

criterion_group!(mine_benches, benches);
criterion_main!(mine_benches);
