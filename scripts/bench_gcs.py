"""Ingest throughput from and to a bucket (the moto emulator) versus local disk.

Generates (once) a ~SIZE MB sink export of the synth netra-staging week in the sink's folder
layout, starts moto's S3 app (scripts/moto_s3.py: GCS's XML API) on a free port, uploads the
export, then times, best of RUNS, with a fresh lake each run:
  - local sink folder  -> local lake
  - gs:// sink prefix  -> local lake
  - local sink folder  -> gs:// lake
  - gs:// sink prefix  -> gs:// lake
Peak RSS comes from wait4's rusage. The emulator is one Python process on the same 2 cores,
so the remote figures bound what the client costs rather than what GCS would give.

Usage: bench_gcs.py [--size-mb 200] [--runs 3] [--dir data/generated/gcs-bench]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import BYTES_PER_ENTRY_PER_RATE, GARDENER, ROOT, run  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=str(ROOT / "data" / "generated" / "gcs-bench"))
    args = ap.parse_args()
    d = Path(args.dir)
    sink = d / "sink"
    if not sink.exists():
        rate = args.size_mb * 1e6 / BYTES_PER_ENTRY_PER_RATE
        subprocess.run(
            [GARDENER, "synth", "--scenario", "netra-staging", "--days", "7",
             "--rate", f"{rate:.4f}", "--format", "sink-ndjson", "--out", sink],
            check=True,
        )
    files = sorted(p for p in sink.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="gcs-bench-"))
    log = open(work / "moto.log", "wb")
    moto = subprocess.Popen(
        [sys.executable, ROOT / "scripts" / "moto_s3.py", str(port), "sinkbucket", "lakebucket"],
        stdout=subprocess.PIPE, stderr=log,
    )
    try:
        if moto.stdout.readline().strip() != b"ready":
            sys.exit("moto did not start")
        for f in files:
            rel = f.relative_to(sink).as_posix()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/sinkbucket/sink/{rel}",
                data=f.read_bytes(), method="PUT",
                headers={"Content-Type": "application/octet-stream"},
            )
            urllib.request.urlopen(req).read()
        key = work / "key.json"
        key.write_text(json.dumps({
            "gcs_base_url": f"http://127.0.0.1:{port}", "disable_oauth": True,
            "client_email": "", "private_key": "", "private_key_id": "",
        }))
        # Inherited by every gardener the runs start.
        os.environ["GOOGLE_SERVICE_ACCOUNT"] = str(key)
        cases = [
            ("local -> local", str(sink), "local"),
            ("gs:// -> local", "gs://sinkbucket/sink", "local"),
            ("local -> gs://", str(sink), "remote"),
            ("gs:// -> gs://", "gs://sinkbucket/sink", "remote"),
        ]
        print(f"sink export: {len(files)} files, {size / 1e6:.0f} MB; best of {args.runs}")
        print(f"{'case':16} {'seconds':>8} {'MB/s':>7} {'entries/s':>10} {'peak RSS MiB':>13}")
        for n, (name, source, kind) in enumerate(cases):
            best, rows, rss = None, 0, 0.0
            for r in range(args.runs):
                lake = (str(work / f"lake-{n}-{r}") if kind == "local"
                        else f"gs://lakebucket/run-{n}-{r}")
                cmd = [GARDENER, "ingest", source, "--lake", lake, "--quiet", "--output", "json"]
                secs, peak, out = run(cmd)
                rows = json.loads(out)["records"]
                rss = max(rss, peak)
                best = secs if best is None else min(best, secs)
            print(f"{name:16} {best:8.2f} {size / 1e6 / best:7.1f} {rows / best:10.0f} {rss:13.0f}")
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    main()
