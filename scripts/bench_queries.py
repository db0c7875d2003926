"""Named queries: gardener (DataFusion) versus DuckDB on the same lake.

Generates (once) the synth netra-staging week at --rate entries/s (20: about 12 M rows),
ingests it (once) into a lake, then runs every named query of sql/, best of RUNS:
  - `gardener query --lake LAKE --named NAME --format csv`, a fresh process each run;
  - the same SQL in DuckDB (a fresh process each run) over the same Parquet files, with
    views `logs`, `signatures`, `shapes`, `query_range` built like gardener's, and the
    significance functions as Python UDFs. The SQL is changed only for dialect, by the
    rewrites in DIALECT below (each one is printed with --show-sql).
Both engines get the same memory limit and all cores. Prints seconds, peak RSS (wait4),
the row counts (which must agree) and the ratio gardener / DuckDB; then (without --only)
times `gardener report` on the lake. Writes the figures to DIR/bench_queries.json and
out/bench_queries.json (which scripts/bench_goals.py reads); a run with --only writes
nothing.

Usage: bench_queries.py [--rate 20] [--runs 3] [--dir data/generated/query-bench]
       [--only NAME] [--show-sql]
"""
import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import GARDENER, ROOT, run  # noqa: E402

MEMORY_LIMIT = "1GiB"  # gardener's DataFusion pool (engine::MEMORY_LIMIT)

# DataFusion -> DuckDB. Each rule is (pattern, replacement, why).
DIALECT = [
    (r"date_bin\(", "time_bucket(", "date_bin is time_bucket"),
    (r"TIMESTAMP '1970-01-01T00:00:00Z'", "TIMESTAMPTZ '1970-01-01 00:00:00+00'", "origin as timestamptz"),
    (r"CAST\(((?:max|min)\(\w+\)|[\w.]+) AS BIGINT\)", r"epoch_ns(\1)",
     "timestamps to nanoseconds (every CAST(column AS BIGINT) in sql/ is a timestamp)"),
    (r"json_get_str\(([^,]+), '(\w+)'\)", r"json_extract_string(\1, '$.\2')", "JSON paths"),
    (r"approx_distinct\(", "approx_count_distinct(", "HyperLogLog count"),
    (r"make_array\(", "list_value(", "list constructor"),
    (r"(\w+) / \((\d+) \* 1000000\)", r"\1 // (\2 * 1000000)", "integer division"),
    (r"coded / 2", "coded // 2", "integer division"),
    (r"first_value\(", "first(", "ordered first() aggregate"),
    (r"(?:RE)?SET datafusion\.[^;]*;", "", "DataFusion's own settings"),
]


def to_duckdb(sql: str) -> str:
    for pattern, repl, _ in DIALECT:
        sql = re.sub(pattern, repl, sql)
    return sql


def prepare(d: Path, rate: float) -> Path:
    sink, lake = d / "sink", d / "lake"
    if not (d / "sink.done").exists():
        subprocess.run([GARDENER, "synth", "--scenario", "netra-staging", "--rate", str(rate),
                        "--gzip", "--out", sink], check=True)
        (d / "sink.done").touch()
    if not (d / "lake.done").exists():
        subprocess.run([GARDENER, "ingest", sink, "--lake", lake, "--output", "json"], check=True)
        (d / "lake.done").touch()
    return lake


def csv_rows(out: bytes) -> int:
    """Rows of CSV output, header left out (messages may hold newlines: not lines)."""
    return max(sum(1 for _ in csv.reader(io.StringIO(out.decode()))) - 1, 0)


def named_queries():
    out = {}
    for f in sorted((ROOT / "sql").glob("*.sql")):
        text = f.read_text()
        params = {}
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            body = line.lstrip("-").strip()
            if body.startswith("params:"):
                for p in body[len("params:"):].split(";"):
                    p = p.split("  ")[0]
                    if "=" in p:
                        k, v = p.split("=", 1)
                        params[k.strip()] = v.strip()
        for k, v in params.items():
            text = text.replace("${" + k + "}", v)
        out[f.stem] = text
    return out


# The DuckDB side runs in its own process, so its time and peak RSS are its own.
DUCKDB_CHILD = r'''
import json, math, sys
import duckdb
from duckdb.sqltypes import BIGINT, DOUBLE
lake, memory = sys.argv[1], sys.argv[2]
sql = sys.stdin.read()
con = duckdb.connect()
con.execute(f"SET memory_limit = '{memory}'")
con.execute("SET enable_progress_bar = false")  # it would print on stdout before the JSON
con.execute("SET TimeZone = 'UTC'")
con.execute(f"""CREATE VIEW logs_files AS SELECT * FROM read_parquet('{lake}/logs/*/*.parquet',
                hive_partitioning = true, hive_types_autocast = false)""")
con.execute(f"CREATE VIEW shapes AS SELECT * FROM read_parquet('{lake}/signatures/shapes.parquet')")
con.execute(f"CREATE VIEW signatures AS SELECT * FROM read_parquet('{lake}/signatures/signatures.parquet')")
con.execute("""CREATE VIEW logs AS SELECT l.*, s.signature_id, s.template
               FROM logs_files l LEFT JOIN shapes s ON l.shape_id = s.shape_id""")
# gardener's id_hash: a 64-bit key of an id, NULL for NULL (DuckDB's hash(NULL) is a value).
con.execute("CREATE MACRO id_hash(x) AS CASE WHEN x IS NULL THEN NULL ELSE hash(x) END")
con.execute("CREATE VIEW query_range AS SELECT CAST(NULL AS TIMESTAMPTZ) AS since, CAST(NULL AS TIMESTAMPTZ) AS until")

def ln_choose(n, k):
    if k < 0 or k > n:
        return -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

def ln_sum(terms):
    first, acc = None, 0.0
    for t in terms:
        if first is None:
            first = t
        rel = math.exp(t - first)
        acc += rel
        if rel < acc * 1e-17:
            break
    return -math.inf if first is None else first + math.log(acc)

def upper_tail(k, lo, hi, mode, ln_pmf):
    if k <= lo:
        return 0.0
    if k > hi:
        return 308.0
    if k > mode:
        return max(-ln_sum(ln_pmf(x) for x in range(k, hi + 1)) / math.log(10), 0.0)
    lower = math.exp(ln_sum(ln_pmf(x) for x in range(k - 1, lo - 1, -1)))
    return -min(math.log10(max(1.0 - lower, 2.2e-308)), 0.0)

def hypergeom(k, population, successes, draws):
    K, n = max(successes, 0), max(draws, 0)
    N = max(population, K, n, K + n - max(k, 0))
    lo, hi = max(n + K - N, 0), min(n, K)
    den = ln_choose(N, n)
    mode = min(max(int((n + 1) * (K + 1) / (N + 2)), lo), hi)
    return upper_tail(k, lo, hi, mode, lambda x: ln_choose(K, x) + ln_choose(N - K, n - x) - den)

def binom(k, n, p):
    n, p = max(n, 0), min(max(p, 0.0), 1.0)
    if p <= 0.0:
        return 0.0 if k <= 0 else 308.0
    if p >= 1.0:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    mode = min(max(int((n + 1) * p), 0), n)
    return upper_tail(k, 0, n, mode, lambda x: ln_choose(n, x) + x * lp + (n - x) * lq)

con.create_function("hypergeom_significance", hypergeom, [BIGINT] * 4, DOUBLE)
con.create_function("binom_significance", binom, [BIGINT, BIGINT, DOUBLE], DOUBLE)
rows = con.execute(sql).fetchall()
print(json.dumps({"rows": len(rows)}))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=str(ROOT / "data" / "generated" / "query-bench"))
    ap.add_argument("--only")
    ap.add_argument("--show-sql", action="store_true")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    lake = prepare(d, args.rate)
    count_sql = "SELECT count(*) AS n FROM logs"
    _, _, out = run([GARDENER, "query", "--lake", lake, "--format", "json", count_sql])
    total = json.loads(out)[0]["n"]
    print(f"lake {lake}: {total:,} rows; best of {args.runs}; memory limit {MEMORY_LIMIT} each; "
          f"{os.cpu_count()} cores")
    print(f"{'query':<24}{'gardener s':>11}{'MiB':>7}{'duckdb s':>10}{'MiB':>7}{'rows':>8}{'ratio':>7}")
    results = {}
    for name, sql in named_queries().items():
        if args.only and name != args.only:
            continue
        duck_sql = to_duckdb(sql)
        if args.show_sql:
            print(duck_sql)
        g = [run([GARDENER, "query", "--lake", lake, "--named", name, "--format", "csv"])
             for _ in range(args.runs)]
        k = [run([sys.executable, "-c", DUCKDB_CHILD, str(lake), MEMORY_LIMIT], duck_sql.encode())
             for _ in range(args.runs)]
        g_rows = csv_rows(g[0][2])
        k_rows = json.loads(k[0][2])["rows"]
        gs, gm = min(x[0] for x in g), max(x[1] for x in g)
        ks, km = min(x[0] for x in k), max(x[1] for x in k)
        rows = f"{g_rows}" if g_rows == k_rows else f"{g_rows}!={k_rows}"
        print(f"{name:<24}{gs:>11.2f}{gm:>7.0f}{ks:>10.2f}{km:>7.0f}{rows:>8}{gs / ks:>7.2f}")
        results[name] = {"gardener_s": gs, "gardener_mib": gm, "duckdb_s": ks, "duckdb_mib": km,
                         "rows": g_rows, "duckdb_rows": k_rows}
    if args.only:
        return  # a partial run does not replace the figures bench_goals.py reads
    summary = {"rows": total, "results": results}
    # The report runs most of these queries in one session (issue #16: <= 8 s, < 1 GiB).
    with tempfile.TemporaryDirectory() as tmp:
        r = [run([GARDENER, "report", "--lake", lake, "-o", Path(tmp) / "report.md"])
             for _ in range(args.runs)]
    summary["report"] = {"seconds": min(x[0] for x in r), "mib": max(x[1] for x in r)}
    print(f"{'report (md)':<24}{summary['report']['seconds']:>11.2f}"
          f"{summary['report']['mib']:>7.0f}")
    text = json.dumps(summary, indent=1)
    (d / "bench_queries.json").write_text(text)
    (ROOT / "out").mkdir(exist_ok=True)
    (ROOT / "out" / "bench_queries.json").write_text(text)


if __name__ == "__main__":
    main()
