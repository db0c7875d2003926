"""Named queries and the report: one process (local DataFusion) versus a Ballista cluster of
this binary's roles (`gardener cluster`: a scheduler and EXECUTORS executors of one core
each) on the same machine and lake. On one 2-core machine the cluster cannot win: the
figure is Ballista's overhead (planning into stages, shuffle files, Flight fetches).

Uses bench_queries.py's lake (the synth netra-staging week at --rate, about 12 M rows at 20).
For each named query and the report: seconds (one fresh process each, best of --runs), the
output's rows (which must agree), and the shuffle bytes the executors held at the peak
(their work directories sampled every 0.2 s: a lower bound), and the session tables the
client gathered and wrote to the lake's _scratch/ (kept until the query ends, so the peak is
their total), the inputs of the scaling estimate in docs/BENCHMARKS.md.

Usage: bench_cluster.py [--rate 20] [--runs 1] [--executors 2] [--only NAME]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import GARDENER, ROOT, run  # noqa: E402
from bench_queries import csv_rows, named_queries, prepare  # noqa: E402


def free_pair():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as t:
                t.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue


def wait_for(path: Path, text: str):
    for _ in range(600):
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    sys.exit(f"{path} never said {text!r}:\n{path.read_text(errors='replace')}")


def du(d: Path) -> int:
    """Bytes below d; files the executor deletes meanwhile are skipped."""
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--executors", type=int, default=2)
    ap.add_argument("--dir", default=str(ROOT / "data/generated/query-bench"))
    ap.add_argument("--only")
    a = ap.parse_args()
    lake = prepare(Path(a.dir), a.rate)
    work = Path(tempfile.mkdtemp(prefix="gardener-cluster-"))
    env = dict(os.environ, RUST_LOG="info")
    port = free_pair()
    procs = []
    try:
        log = work / "scheduler.log"
        procs.append(subprocess.Popen([GARDENER, "cluster", "scheduler", "--bind", f"127.0.0.1:{port}"],
                                      stdout=log.open("w"), stderr=subprocess.STDOUT, env=env))
        wait_for(log, "listening")
        for i in range(a.executors):
            elog = work / f"executor{i}.log"
            wd = work / f"work{i}"
            wd.mkdir()
            procs.append(subprocess.Popen(
                [GARDENER, "cluster", "executor", "--scheduler", f"127.0.0.1:{port}",
                 "--bind", f"127.0.0.1:{free_pair()}", "--cores", "1", "--work-dir", wd],
                stdout=elog.open("w"), stderr=subprocess.STDOUT, env=env))
            wait_for(elog, "registration succeed")
        cluster = f"df://127.0.0.1:{port}"
        jobs = [(n, ["query", "--lake", lake, "--named", n, "--format", "csv"])
                for n in named_queries()]
        jobs.append(("report", ["report", "--lake", lake, "--format", "json"]))
        print(f"{'query':24} {'local s':>8} {'cluster s':>9} {'ratio':>6} {'rows':>8} {'shuffle MB':>10}"
              f" {'scratch MB':>10}")
        for name, args in jobs:
            if a.only and name != a.only:
                continue
            local = min((run([GARDENER, *args]) for _ in range(a.runs)), key=lambda r: r[0])
            # Shuffle files live until their job ends: sample the work directories meanwhile.
            sizes = lambda: sum(du(work / f"work{i}") for i in range(a.executors))
            before, peak, scratch, done = sizes(), [0], [0], threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], sizes())
                    scratch[0] = max(scratch[0], du(Path(lake) / "_scratch"))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample)
            sampler.start()
            remote = min((run([GARDENER, *args, "--cluster", cluster]) for _ in range(a.runs)),
                         key=lambda r: r[0])
            done.set()
            sampler.join()
            shuffle = max(peak[0] - before, 0)
            # The report is JSON: its lines stand in for rows.
            rows = (lambda out: len(out.splitlines())) if name == "report" else csv_rows
            same = "" if rows(local[2]) == rows(remote[2]) else "  ROWS DIFFER"
            print(f"{name:24} {local[0]:8.2f} {remote[0]:9.2f} {remote[0] / local[0]:6.2f} "
                  f"{rows(local[2]):8} {shuffle / 1e6:10.1f} {scratch[0] / 1e6:10.1f}{same}", flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
