//! Criterion benches of the ingest hot paths, one thread each: framing NDJSON and a gcloud
//! array, and decoding framed records into Arrow rows. Whole-pipeline throughput against
//! DuckDB is measured by `scripts/bench_ingest.py` (see docs/BENCHMARKS.md).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use log_gardener::decode::frame::{Chunk, FrameOptions, Framer};
use log_gardener::ingest::stage::decode_chunk;
use log_gardener::lake::schema::RowsBuilder;
use log_gardener::synth::SynthFormat;
use log_gardener::synth::{SynthOptions, generate};

/// One synth day in both layouts, read into memory.
fn inputs() -> (Vec<u8>, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("gardener-bench-{}", std::process::id()));
    let mut opts = SynthOptions {
        days: 1,
        rate: 0.5,
        seed: 1,
        gzip: false,
        format: SynthFormat::SinkNdjson,
    };
    let load = |opts: &SynthOptions, sub: &str| -> Vec<u8> {
        let out = dir.join(sub);
        generate("netra-staging", &out, opts).expect("synth");
        let mut files = Vec::new();
        let mut stack = vec![out];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("dir").flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    files.push(e.path());
                }
            }
        }
        files.sort();
        files
            .iter()
            .flat_map(|f| std::fs::read(f).expect("read"))
            .collect()
    };
    let ndjson = load(&opts, "sink");
    opts.format = SynthFormat::GcloudJson;
    let array = load(&opts, "gcloud");
    let _ = std::fs::remove_dir_all(&dir);
    (ndjson, array)
}

fn frame(input: &[u8]) -> Vec<Chunk> {
    let mut f = Framer::new(input, FrameOptions::default());
    let mut out = Vec::new();
    while let Ok(Some(c)) = f.next_chunk() {
        out.push(c);
    }
    out
}

fn benches(c: &mut Criterion) {
    let (ndjson, array) = inputs();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(ndjson.len() as u64));
    g.bench_function("frame_ndjson", |b| b.iter(|| frame(&ndjson)));
    g.throughput(Throughput::Bytes(array.len() as u64));
    g.bench_function("frame_gcloud_array", |b| b.iter(|| frame(&array)));
    let chunks = frame(&ndjson);
    let source: Arc<str> = "bench".into();
    g.throughput(Throughput::Bytes(ndjson.len() as u64));
    g.bench_function("decode_ndjson", |b| {
        let mut rows = RowsBuilder::default();
        b.iter(|| {
            chunks
                .iter()
                .map(|c| decode_chunk(c, &source, &mut rows).records)
                .sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
