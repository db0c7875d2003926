"""The speed goals (issue #16) against the figures the last benchmark runs wrote.

`make bench` runs this last. It reads what the other scripts recorded in out/:
  - bench_ingest.json (scripts/bench_ingest.py): ingest throughput against DuckDB's on the
    same NDJSON (the synth week and the storefront export), and gardener's peak RSS;
  - bench_queries.json (scripts/bench_queries.py): each named query's time and peak RSS
    against DuckDB's on the 12 M-row lake, and the report's time and peak RSS there.
and prints one line per goal: the measured figure, the goal, and whether it is met, so a
regression shows as a `MISSED` line. A figure whose file is absent is `not run`. Exits 0:
the table informs, it does not gate (times on a shared VM vary by +-30%).
The build-time goals (both README commands on a fresh machine) are measured by hand; see
docs/BENCHMARKS.md.

Usage: bench_goals.py [--out out]
"""
import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def goals(ingest, queries):
    """(goal, measured text, goal text, met or None when not run) for every goal."""
    rows = []
    if ingest:
        by = {(r["tool"], r["input"]): r for r in ingest["results"]}
        for name, label in [("bench.ndjson", "netra week"), ("storefront.ndjson", "storefront")]:
            ours = by.get(("gardener", name))
            duck = by.get(("duckdb", name))
            if ours and duck:
                ratio = duck["seconds"] / ours["seconds"]
                measured = f"{ratio:.2f}x"
                if "cpu_seconds" in ours and "cpu_seconds" in duck:
                    # Less noisy than wall clock on a shared VM; shown, not the goal.
                    measured += f" (CPU {duck['cpu_seconds'] / ours['cpu_seconds']:.2f}x)"
                rows.append((f"ingest ({label}): throughput vs DuckDB", measured,
                             ">= 2.00x", ratio >= 2))
                rss = ours["peak_rss_mib"]
                rows.append((f"ingest ({label}): peak RSS", f"{rss:,.0f} MiB", "< 1,024 MiB",
                             rss < 1024))
    else:
        rows.append(("ingest (bench_ingest.py)", "-", "", None))
    if queries:
        for name, r in sorted(queries["results"].items()):
            ratio = r["gardener_s"] / r["duckdb_s"]
            rows.append((f"{name}: time vs DuckDB", f"{ratio:.2f}x", "<= 1.00x", ratio <= 1))
            limit = r["duckdb_mib"] * 1.5
            rows.append((f"{name}: peak RSS", f"{r['gardener_mib']:,.0f} MiB",
                         f"<= {limit:,.0f} MiB", r["gardener_mib"] <= limit))
        report = queries.get("report")
        if report:
            rows.append(("report: time", f"{report['seconds']:.2f} s", "<= 8.00 s",
                         report["seconds"] <= 8))
            rows.append(("report: peak RSS", f"{report['mib']:,.0f} MiB", "< 1,024 MiB",
                         report["mib"] < 1024))
    else:
        rows.append(("named queries and report (bench_queries.py)", "-", "", None))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "out"))
    args = ap.parse_args()
    out = Path(args.out)
    rows = goals(load(out / "bench_ingest.json"), load(out / "bench_queries.json"))
    width = max(len(r[0]) for r in rows)
    shown = max(12, *(len(r[1]) for r in rows))
    print(f"\nSpeed goals (issue #16), from {out}/bench_*.json:")
    print(f"{'goal':<{width}}  {'measured':>{shown}}  {'goal':>14}  status")
    for name, measured, goal, met in rows:
        status = "not run" if met is None else ("met" if met else "MISSED")
        print(f"{name:<{width}}  {measured:>{shown}}  {goal:>14}  {status}")
    judged = [r for r in rows if r[3] is not None]
    print(f"{sum(1 for r in judged if r[3])} of {len(judged)} goals met")


if __name__ == "__main__":
    main()
