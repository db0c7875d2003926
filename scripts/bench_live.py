"""The live lake: what a one-hour increment costs on a 7-day lake, and how far a follower
lags behind a steady stream.

1. Incremental signatures. Generates (once) a synth netra-staging week in the sink layout,
   ingests all of it but its last hour into a base lake, copies the base twice, and times
   `gardener ingest LAST_HOUR_FILES` into each copy: one as it is (the signatures tables
   are brought forward from the previous version plus the hour's rows), one with its
   versioned tables deleted (a full rebuild from every row, as every run did before the
   commit log). Best of RUNS, fresh copies each run.
2. Follow lag. A writer appends entries stamped with the wall clock to a sink file at RATE
   entries/s for SECS seconds while `gardener ingest --follow --poll POLL --output json`
   runs; the follower's status lines give `lag_seconds` (wall clock minus the newest entry
   it committed) per poll. Reports median and max lag, the follower's CPU seconds and peak
   RSS.

Usage: bench_live.py [--rate 5] [--runs 3] [--stream-rate 2000] [--secs 60] [--poll 1]
                     [--only incremental|follow]
"""
import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import GARDENER, ROOT, run  # noqa: E402


def incremental(args):
    d = Path(args.dir)
    sink = d / f"sink-rate{args.rate}"
    if not sink.exists():
        subprocess.run(
            [GARDENER, "synth", "--scenario", "netra-staging", "--days", "7", "--rate",
             str(args.rate), "--format", "sink-ndjson", "--out", sink],
            check=True, stdout=subprocess.DEVNULL,
        )
    files = sorted(p for p in sink.rglob("*") if p.is_file())
    # LOG_ID/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json: the hour is the date folders + file name.
    hour = lambda p: (p.parts[-4:-1], p.name[:2])  # noqa: E731
    last = max(hour(p) for p in files)
    increment = [str(p) for p in files if hour(p) == last]
    before = [str(p) for p in files if hour(p) != last]
    work = Path(tempfile.mkdtemp(prefix="live-bench-", dir=d))
    base = work / "base"
    secs, rss, out = run([GARDENER, "ingest", *before, "--lake", base, "--output", "json", "--quiet"])
    rows = json.loads(out)["rows"]
    print(f"base lake: {rows:,} rows in {secs:.1f}s; increment: {len(increment)} files "
          f"({sum(Path(p).stat().st_size for p in increment) / 1e6:.1f} MB)")
    results = {"incremental": [], "full rebuild": []}
    for _ in range(args.runs):
        for name in results:
            lake = work / name.replace(" ", "-")
            shutil.rmtree(lake, ignore_errors=True)
            shutil.copytree(base, lake)
            if name == "full rebuild":
                for v in (lake / "signatures").iterdir():
                    if v.is_dir():
                        shutil.rmtree(v)
            secs, rss, out = run([GARDENER, "ingest", *increment, "--lake", lake,
                                  "--output", "json", "--quiet"])
            s = json.loads(out)
            assert s["signatures"]["full_rebuild"] == (name == "full rebuild"), s["signatures"]
            results[name].append((secs, rss, s["rows"]))
    for name, runs in results.items():
        secs, rss, added = min(runs)
        print(f"one-hour increment, {name:13s}: {secs:6.2f} s  peak {rss:6.0f} MiB  (+{added:,} rows)")
    shutil.rmtree(work, ignore_errors=True)


def follow(args):
    work = Path(tempfile.mkdtemp(prefix="follow-bench-"))
    now = dt.datetime.now(dt.timezone.utc)
    sink_file = work / "sink" / "run.googleapis.com%2Frequests" / now.strftime("%Y/%m/%d") / \
        now.strftime("%H:00:00_%H:59:59_S0.json")
    sink_file.parent.mkdir(parents=True)
    sink_file.touch()
    cmd = [GARDENER, "ingest", work / "sink", "--lake", work / "lake", "--follow",
           "--poll", str(args.poll), "--output", "json", "--quiet"]
    t0 = time.perf_counter()
    follower = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    rss = []  # (seconds, MiB) every second: memory must stay flat while following

    def sample():
        while follower.poll() is None:
            try:
                with open(f"/proc/{follower.pid}/status") as st:
                    kb = next(int(l.split()[1]) for l in st if l.startswith("VmRSS:"))
                rss.append((time.perf_counter() - t0, kb / 1024))
            except (OSError, StopIteration):
                pass
            time.sleep(1)

    threading.Thread(target=sample, daemon=True).start()
    written = 0
    with open(sink_file, "a") as f:
        start = time.time()
        while time.time() - start < args.secs:
            tick = time.time()
            batch = []
            for _ in range(max(1, args.stream_rate // 10)):
                ts = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
                batch.append(json.dumps({
                    "insertId": f"bench-{written}", "timestamp": ts, "severity": "INFO",
                    "logName": "projects/p/logs/run.googleapis.com%2Frequests",
                    "resource": {"type": "cloud_run_revision", "labels": {"service_name": "api"}},
                    "httpRequest": {"requestMethod": "GET", "requestUrl": f"/v1/items/{written % 977}",
                                    "status": 200, "latency": "0.012s"},
                    "textPayload": f"GET /v1/items/{written % 977} 200 in {written % 50} ms",
                }))
                written += 1
            f.write("\n".join(batch) + "\n")
            f.flush()
            time.sleep(max(0.0, 0.1 - (time.time() - tick)))
    time.sleep(args.poll * 3)
    follower.terminate()
    _, status, rusage = os.wait4(follower.pid, 0)
    reader.join(timeout=5)
    wall = time.perf_counter() - t0
    polls = []
    for line in lines:
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict) and v.get("event") == "poll" and v.get("lag_seconds") is not None:
            polls.append(v)
    lags = [p["lag_seconds"] for p in polls]
    rows = polls[-1]["rows"] if polls else 0
    print(f"follow: {written:,} entries at {args.stream_rate}/s for {args.secs}s, poll {args.poll}s: "
          f"{rows:,} rows committed in {len(polls)} polls; lag median {statistics.median(lags):.2f}s, "
          f"max {max(lags):.2f}s; follower CPU {rusage.ru_utime + rusage.ru_stime:.1f}s of "
          f"{wall:.0f}s wall, peak {rusage.ru_maxrss / 1024:.0f} MiB (exit {status >> 8})")
    if rss:
        marks = [rss[min(len(rss) - 1, int(len(rss) * f))] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
        print("follower RSS over the run: " + ", ".join(f"{t:.0f}s {m:.0f} MiB" for t, m in marks))
    shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stream-rate", type=int, default=2000)
    ap.add_argument("--secs", type=float, default=60)
    ap.add_argument("--poll", type=float, default=1)
    ap.add_argument("--dir", default=str(ROOT / "data" / "generated" / "live-bench"))
    ap.add_argument("--only", choices=["incremental", "follow"])
    args = ap.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    if args.only != "follow":
        incremental(args)
    if args.only != "incremental":
        follow(args)


if __name__ == "__main__":
    main()
