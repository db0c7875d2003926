"""Ingest throughput and peak RSS: gardener versus DuckDB on the same generated export.

Generates (once) a ~SIZE MB NDJSON export of the synth netra-staging week, the same
entries as one gcloud JSON array, and a second NDJSON export of other shapes
(scripts/storefront_export.py: big httpRequest and jsonPayload objects, many distinct
plain-text lines), then times, best of RUNS:
  - gardener ingest on each file (fresh lake each run);
  - DuckDB converting each NDJSON file to one zstd Parquet file with an explicit LogEntry
    schema (scripts/duckdb_convert.py).
The runs alternate the tools (gardener, DuckDB, gardener, ...), so a slow spell of a shared
VM falls on both rather than on all runs of one. Peak RSS and CPU time (user + system) come
from wait4's rusage of each child. Prints a table and the ratios: wall clock (the goal's)
and CPU time, which moves less with the VM's noise (both tools use both cores).

Usage: bench_ingest.py [--size-mb 1000] [--runs 3] [--dir data/generated/bench]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import storefront_export

ROOT = Path(__file__).resolve().parent.parent
GARDENER = ROOT / "target" / "release" / "gardener"
BYTES_PER_ENTRY_PER_RATE = 0.93e3 * 604800  # one --rate unit over 7 days, in bytes


def run(cmd, stdin=None, stdout=subprocess.PIPE):
    """Runs cmd, feeding it `stdin` bytes if given; returns (wall seconds, peak RSS in MiB,
    stdout bytes, or None when stdout is not piped). The other bench scripts use this too.
    stderr goes to a temporary file (a pipe could fill up and stall the child)."""
    secs, rss, out, _ = run_with_cpu(cmd, stdin, stdout)
    return secs, rss, out


def run_with_cpu(cmd, stdin=None, stdout=subprocess.PIPE):
    """`run`, and the child's CPU seconds (user + system) last."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                             stdout=stdout, stderr=err)
        if stdin is not None:
            p.stdin.write(stdin)
            p.stdin.close()
        out = p.stdout.read() if stdout == subprocess.PIPE else None
        _, status, rusage = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        if status != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode(errors='replace')}")
    return secs, rusage.ru_maxrss / 1024, out, rusage.ru_utime + rusage.ru_stime


def generate(d: Path, size_mb: float):
    ndjson, array = d / "bench.ndjson", d / "bench.json"
    if ndjson.exists() and array.exists():
        return ndjson, array
    d.mkdir(parents=True, exist_ok=True)
    rate = size_mb * 1e6 / BYTES_PER_ENTRY_PER_RATE
    common = ["synth", "--scenario", "netra-staging", "--days", "7", "--rate", f"{rate:.4f}"]
    sink = d / "sink"
    subprocess.run([GARDENER, *common, "--out", sink], check=True)
    with open(ndjson, "wb") as out:
        for f in sorted(p for p in sink.rglob("*") if p.is_file()):
            out.write(f.read_bytes())
    shutil.rmtree(sink)
    gc = d / "gcloud"
    subprocess.run([GARDENER, *common, "--format", "gcloud-json", "--out", gc], check=True)
    (gc / "export.json").rename(array)
    shutil.rmtree(gc)
    return ndjson, array


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=str(ROOT / "data" / "generated" / "bench"))
    args = ap.parse_args()
    d = Path(args.dir)
    ndjson, array = generate(d, args.size_mb)
    other = d / "storefront.ndjson"
    if not other.exists():
        # Written aside and renamed: an interrupted run leaves no partial input behind.
        part = other.with_suffix(".part")
        storefront_export.write(part, args.size_mb, seed=7)
        part.rename(other)
    lake = d / "lake"
    ingest = lambda p: [GARDENER, "ingest", p, "--lake", lake, "--quiet", "--output", "json"]
    duck = lambda p: [sys.executable, ROOT / "scripts" / "duckdb_convert.py", p, d / "duck.parquet"]
    jobs = [("gardener", ndjson, ingest), ("duckdb", ndjson, duck), ("gardener", array, ingest),
            ("gardener", other, ingest), ("duckdb", other, duck)]
    samples = [[] for _ in jobs]
    for _ in range(args.runs):
        for (name, path, cmd_of), got in zip(jobs, samples):
            shutil.rmtree(lake, ignore_errors=True)
            (d / "duck.parquet").unlink(missing_ok=True)
            got.append(run_with_cpu(cmd_of(path)))
    shutil.rmtree(lake, ignore_errors=True)
    (d / "duck.parquet").unlink(missing_ok=True)

    results = []
    for (name, path, _), got in zip(jobs, samples):
        best = min(secs for secs, _, _, _ in got)
        mb = path.stat().st_size / 1e6
        # The array holds the NDJSON file's entries, pretty-printed over many lines.
        with open(ndjson if path == array else path, "rb") as f:
            entries = sum(1 for _ in f)
        results.append(
            dict(tool=name, input=path.name, mb=round(mb, 1), seconds=round(best, 3),
                 cpu_seconds=round(min(cpu for _, _, _, cpu in got), 3),
                 mb_per_s=round(mb / best, 1), entries_per_s=round(entries / best),
                 peak_rss_mib=round(max(rss for _, rss, _, _ in got)))
        )

    print(f"\nbest of {args.runs} alternating runs; {os.cpu_count()} cores")
    print(f"{'tool':10} {'input':17} {'MB':>8} {'s':>7} {'CPU s':>7} {'MB/s':>7} {'entries/s':>10} "
          f"{'RSS MiB':>8}")
    for r in results:
        print(f"{r['tool']:10} {r['input']:17} {r['mb']:8.1f} {r['seconds']:7.2f} "
              f"{r['cpu_seconds']:7.2f} {r['mb_per_s']:7.1f} {r['entries_per_s']:10,} "
              f"{r['peak_rss_mib']:8}")
    by = {(r["tool"], r["input"]): r for r in results}
    for label, name in [("netra-staging week", ndjson.name),
                        ("storefront, scripts/storefront_export.py", other.name)]:
        ours, theirs = by[("gardener", name)], by[("duckdb", name)]
        print(f"gardener / DuckDB on {name} ({label}): "
              f"{theirs['seconds'] / ours['seconds']:.2f}x throughput, "
              f"{theirs['cpu_seconds'] / ours['cpu_seconds']:.2f}x less CPU")
    ratio = by[("duckdb", ndjson.name)]["seconds"] / by[("gardener", ndjson.name)]["seconds"]
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_ingest.json").write_text(json.dumps(dict(results=results, ratio=ratio), indent=2))


if __name__ == "__main__":
    main()
