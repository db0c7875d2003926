#!/usr/bin/env python3
"""Runs every fuzz target (fuzz/, cargo-fuzz on nightly) for a bounded time and prints what
each did: executions per second, coverage (edges, features), corpus size, findings.

Corpora start from seeds built here at run time, never committed: entries of the sample
export in data/, of tests/fixtures/, and of ../shared/netra_real (when present, read only)
as NDJSON, as a gcloud array and one by one; their messages (and Loghub's) for the miner.
A finding stops its target: libFuzzer leaves the input in fuzz/artifacts/TARGET/; make it a
regression test (tests/it/props.rs, `fuzz_findings`) before fixing it.

    python3 scripts/fuzz.py [--secs 60] [--only frame,decode]
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
TARGETS = ["frame", "decode", "mine", "sink", "range", "params"]
SHARED = ROOT.parent / "shared"
MAX_LEN = 1 << 16
# The framer runs its input at 1-32 byte reads five times over, and the miner clusters every
# message of an input: shorter inputs keep them at hundreds of executions a second.
MAX_LEN_OF = {"frame": 1 << 13, "mine": 1 << 13}


def entries():
    """Raw entries (as JSON values) from the sample export, the fixtures, netra_real."""
    out = []
    with gzip.open(ROOT / "data" / "netra-staging-sample.json.gz", "rt") as f:
        out += json.load(f)[:300]
    with open(ROOT / "tests" / "fixtures" / "report_small.jsonl") as f:
        out += [json.loads(l) for l in f.readlines()[:100] if l.strip()]
    real = SHARED / "netra_real" / "entries.jsonl"
    if real.exists():
        with open(real) as f:
            out += [json.loads(l) for l in f.readlines()[:300] if l.strip()]
    else:
        print(f"note: {real} absent; seeding from data/ and tests/fixtures/ only")
    return out


def message(e):
    p = e.get("jsonPayload") or {}
    return e.get("textPayload") or (p.get("message") if isinstance(p, dict) else None) or ""


def seeds():
    es = entries()
    groups = [es[i:i + 12] for i in range(0, len(es), 12)]
    knob = bytes([0x47])  # read size 8, chunk 195, max record 79 (see frame.rs)
    frame = []
    for g in groups:
        ndjson = "\n".join(json.dumps(e) for e in g) + "\n"
        frame.append(ndjson.encode() + knob)
        frame.append(json.dumps(g, indent=2).encode() + knob)
        frame.append("\n".join(json.dumps(e, indent=2) for e in g[:4]).encode() + knob)
    decode = [json.dumps(e).encode() for e in es]
    msgs = [message(e) for e in es if message(e)]
    mine = ["\x1e".join(msgs[i:i + 20]).encode() for i in range(0, len(msgs), 20)]
    loghub = SHARED / "loghub2k"
    if loghub.exists():
        for sysdir in sorted(loghub.iterdir()):
            for log in sysdir.glob("*_2k.log"):
                lines = log.read_text(errors="replace").splitlines()[:200]
                mine += ["\x1e".join(lines[i:i + 20]).encode() for i in range(0, len(lines), 20)]
    return {"frame": frame, "decode": decode, "mine": mine}


def run(target, secs, corpus):
    corpus.mkdir(parents=True, exist_ok=True)
    cmd = ["cargo", "+nightly", "fuzz", "run", target, str(corpus), "--",
           f"-max_total_time={secs}", f"-max_len={MAX_LEN_OF.get(target, MAX_LEN)}", "-print_final_stats=1",
           "-timeout=10", "-rss_limit_mb=4096"]
    p = subprocess.run(cmd, cwd=FUZZ, capture_output=True, text=True)
    log = p.stdout + p.stderr
    (FUZZ / "artifacts").mkdir(exist_ok=True)
    (FUZZ / "artifacts" / f"{target}.log").write_text(log)
    stat = lambda k: (re.findall(rf"stat::{k}:\s+(\d+)", log) or ["?"])[-1]
    cov = (re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", log) or [("?", "?", "?")])[-1]
    found = p.returncode != 0
    return {"target": target, "runs": stat("number_of_executed_units"),
            "exec/s": stat("average_exec_per_sec"), "edges": cov[0], "features": cov[1],
            "corpus": cov[2], "result": "FINDING (see fuzz/artifacts/)" if found else "none",
            "log": log if found else ""}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=int(os.environ.get("FUZZ_SECS", 60)))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    targets = args.only.split(",") if args.only else TARGETS
    for name, items in seeds().items():
        d = FUZZ / "corpus" / name
        d.mkdir(parents=True, exist_ok=True)
        for i, b in enumerate(items):
            (d / f"seed-{i:04}").write_bytes(b[:MAX_LEN])
    build = subprocess.run(["cargo", "+nightly", "fuzz", "build"], cwd=FUZZ)
    if build.returncode != 0:
        sys.exit("the fuzz targets do not build")
    rows = []
    for t in targets:
        print(f"fuzzing {t} for {args.secs} s ...", flush=True)
        rows.append(run(t, args.secs, FUZZ / "corpus" / t))
        if rows[-1]["log"]:
            print(rows[-1]["log"][-4000:])
    cols = ["target", "runs", "exec/s", "edges", "features", "corpus", "result"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    if any(r["log"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
