"""A first look at a lake, with DuckDB reading the Parquet files as they are."""
import sys

import duckdb

lake = sys.argv[1] if len(sys.argv) > 1 else "out/lake"
rel = duckdb.sql(
    f"""
    SELECT dt, count(*) AS entries,
           count(*) FILTER (WHERE severity_number >= 400) AS warning_or_worse,
           count(*) FILTER (WHERE http_request_status >= 500) AS http_5xx
    FROM read_parquet('{lake}/logs/**/*.parquet', hive_partitioning = true)
    GROUP BY dt ORDER BY dt
    """
)
rel.show()
