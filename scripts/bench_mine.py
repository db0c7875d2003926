"""Template mining speed: `gardener mine` versus Python Drain3 and the Rust crates (issue #3.6).

Builds (once) the input: the `Content` of the ten Loghub-2k sets (../shared/loghub2k, 20,000
lines) repeated 50 times, 1,000,000 lines, newlines inside a message replaced by spaces. Then
runs, best of RUNS, each run a fresh process (peak RSS from wait4):
  - `gardener mine FILE --threads 1` and `--threads 0` (all cores), stdout to /dev/null
    (templates: one more untimed run per setting, counting distinct signature ids);
  - Python Drain3 (pip `drain3`), TemplateMiner with the default TemplateMinerConfig, one
    add_log_message per line; and the same with the masks of drain3's example drain3.ini
    (ID, IP, SEQ, HEX, NUM) plus a UUID mask. Timed inside the process around the mining
    loop (lines already in memory), and as wall time. `--drain3-lines N`: first N lines only;
  - the Rust crates `drain3` 0.3 and `logdrain` 0.3 (default config; logdrain also with its
    built-in masks) through `examples/drain_crates.rs`, which times the mining loop alone.
    The example is built with `cargo build --release --example drain_crates` unless
    `--crates-bin PATH` names a binary.

Usage: bench_mine.py [--runs 3] [--drain3-lines N] [--crates-bin PATH] [--tools a,b,...]
"""
import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import GARDENER, ROOT, run  # noqa: E402

LOGHUB = ROOT.parent / "shared" / "loghub2k"
DATASETS = ["HDFS", "Spark", "Zookeeper", "HPC", "Thunderbird", "Linux", "Android", "Apache",
            "Proxifier", "OpenSSH"]
REPEAT = 50
TOOLS = ["gardener", "drain3-py", "drain3-py-masks", "drain3", "logdrain", "logdrain-masks"]

# drain3's examples/drain3.ini masking list (minus its example-specific CMD rule), with a
# UUID rule first so the SEQ and NUM rules do not take UUIDs apart.
_B, _E = r"((?<=[^A-Za-z0-9])|^)", r"((?=[^A-Za-z0-9])|$)"
PY_MASKS = [
    (_B + r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})" + _E,
     "UUID"),
    (_B + r"(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))" + _E, "ID"),
    (_B + r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})" + _E, "IP"),
    (_B + r"([0-9a-f]{6,} ?){3,}" + _E, "SEQ"),
    (_B + r"([0-9A-F]{4} ?){4,}" + _E, "SEQ"),
    (_B + r"(0x[a-f0-9A-F]+)" + _E, "HEX"),
    (_B + r"([\-\+]?\d+)" + _E, "NUM"),
]


def read_lines(path: Path, limit=None):
    """The file's lines as str (split on \\n, invalid UTF-8 replaced), as drain_crates does."""
    data = path.read_bytes()
    if data.endswith(b"\n"):
        data = data[:-1]
    raw = data.split(b"\n") if data else []
    if limit is not None:
        raw = raw[:limit]
    return [(b[:-1] if b.endswith(b"\r") else b).decode("utf-8", "replace") for b in raw]


def worker(mode: str, path: Path, limit):
    """Runs in the child process: mines the file with Python Drain3, prints one JSON line."""
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()  # the defaults; no drain3.ini is read
    if mode == "drain3-py-masks":
        config.masking_instructions = [MaskingInstruction(p, m) for p, m in PY_MASKS]
    miner = TemplateMiner(config=config)
    lines = read_lines(path, limit)
    t0 = time.perf_counter()
    for line in lines:
        miner.add_log_message(line)
    secs = time.perf_counter() - t0
    print(json.dumps(dict(tool=mode, lines=len(lines), seconds=round(secs, 4),
                          lines_per_s=round(len(lines) / secs),
                          templates=len(miner.drain.clusters))))


def build_input(path: Path) -> int:
    """Writes the 1 M-line file once; returns its line count."""
    if not path.exists():
        lines = []
        for d in DATASETS:
            with open(LOGHUB / d / f"{d}_2k.log_structured_corrected.csv", newline="",
                      encoding="utf-8", errors="replace") as f:
                for row in csv.DictReader(f):
                    content = row["Content"]
                    for nl in ("\r\n", "\r", "\n"):
                        content = content.replace(nl, " ")
                    lines.append(content)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            block = "".join(line + "\n" for line in lines)
            for _ in range(REPEAT):
                out.write(block)
        tmp.rename(path)
        print(f"wrote {path}: {len(lines):,} lines x {REPEAT}", file=sys.stderr)
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def gardener_templates(path: Path, threads: int) -> int:
    """Distinct signature ids of one more (untimed) run."""
    with tempfile.TemporaryFile() as out:
        subprocess.run([GARDENER, "mine", path, "--threads", str(threads)], stdout=out,
                       check=True)
        out.seek(0)
        rows = csv.reader(line.decode("utf-8", "replace") for line in out)
        next(rows, None)
        return len({row[1] for row in rows})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--drain3-lines", type=int, default=None,
                    help="run Python Drain3 on the first N lines only (default: all)")
    ap.add_argument("--crates-bin", type=Path, default=None,
                    help="a built drain_crates binary (default: build the example)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    ap.add_argument("--file", type=Path,
                    default=ROOT / "data" / "generated" / "bench-mine" / "loghub1m.txt")
    ap.add_argument("--worker", choices=["drain3-py", "drain3-py-masks"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.file, args.drain3_lines)

    tools = args.tools.split(",")
    unknown = set(tools) - set(TOOLS)
    if unknown:
        sys.exit(f"unknown tools: {', '.join(sorted(unknown))} (known: {', '.join(TOOLS)})")
    if not args.file.exists() and not LOGHUB.is_dir():
        print(f"skipped: {LOGHUB} is absent (the Loghub-2k sets are needed to build the input)")
        return
    if {"drain3-py", "drain3-py-masks"} & set(tools) and importlib.util.find_spec("drain3") is None:
        sys.exit(f"Python Drain3 is not installed for {sys.executable}: "
                 "pip install drain3==0.9.11 (or leave drain3-py* out of --tools)")
    n = build_input(args.file)

    crates_bin = args.crates_bin
    if crates_bin is None and set(tools) & {"drain3", "logdrain", "logdrain-masks"}:
        cmd = ["cargo", "build", "--release", "--example", "drain_crates"]
        print(" ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, cwd=ROOT, check=True)
        crates_bin = ROOT / "target" / "release" / "examples" / "drain_crates"

    results = []

    def measure(tool, threads, cmd, reports_json):
        """Best of --runs: `seconds` is the tool's own mining time when it reports one
        (reports_json), else the wall time of the process."""
        best = None
        for _ in range(args.runs):
            wall, rss, out = run(cmd, stdout=subprocess.PIPE if reports_json else subprocess.DEVNULL)
            rep = json.loads(out) if reports_json else {}
            r = dict(tool=tool, threads=threads, lines=rep.get("lines", n),
                     seconds=rep.get("seconds", wall), wall_seconds=wall, peak_rss_mib=rss,
                     templates=rep.get("templates"), skipped=rep.get("skipped", 0))
            if best is None:
                best = r
            else:
                best["seconds"] = min(best["seconds"], r["seconds"])
                best["wall_seconds"] = min(best["wall_seconds"], r["wall_seconds"])
                best["peak_rss_mib"] = max(best["peak_rss_mib"], r["peak_rss_mib"])
        best["lines_per_s"] = round(best["lines"] / best["seconds"])
        results.append(best)
        print(f"  {tool:42} {threads:>7}: {best['seconds']:.2f} s", file=sys.stderr)
        return best

    cores = os.cpu_count()
    if "gardener" in tools:
        for threads, label in ((1, "1"), (0, f"all ({cores})")):
            r = measure("gardener mine", label,
                        [GARDENER, "mine", args.file, "--threads", str(threads)], False)
            r["templates"] = gardener_templates(args.file, threads)
    for mode in ("drain3-py", "drain3-py-masks"):
        if mode in tools:
            cmd = [sys.executable, Path(__file__).resolve(), "--worker", mode, "--file", args.file]
            if args.drain3_lines is not None:
                cmd += ["--drain3-lines", str(args.drain3_lines)]
            label = {"drain3-py": "Drain3 (Python), default config",
                     "drain3-py-masks": "Drain3 (Python), drain3.ini masks + UUID"}[mode]
            measure(label, "1", cmd, True)
    for mode in ("drain3", "logdrain", "logdrain-masks"):
        if mode in tools:
            label = {"drain3": "drain3 crate 0.3, default config",
                     "logdrain": "logdrain crate 0.3, default config",
                     "logdrain-masks": "logdrain crate 0.3, built-in masks"}[mode]
            measure(label, "1", [crates_bin, mode, args.file], True)

    print(f"\n{n:,} lines ({args.file.name}); best of {args.runs} runs; {cores} cores\n")
    print("| tool | threads | lines | s | lines/s | wall s | peak MiB | templates |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        templates = "" if r["templates"] is None else f"{r['templates']:,}"
        if r["skipped"]:
            templates += f" ({r['skipped']:,} lines refused)"
        print(f"| {r['tool']} | {r['threads']} | {r['lines']:,} | {r['seconds']:.2f} | "
              f"{r['lines_per_s']:,} | {r['wall_seconds']:.2f} | {r['peak_rss_mib']:.0f} | "
              f"{templates} |")
    print("\ns: gardener, the whole process (read, mine, write the CSV); the others, the mining "
          "loop alone after reading the file into memory. wall s: the whole process.")
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_mine.json").write_text(json.dumps(dict(lines=n, runs=args.runs, cores=cores,
                                                         results=results), indent=2))


main()
