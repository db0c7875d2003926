"""Converts a newline-delimited LogEntry export to one zstd Parquet file with DuckDB, the way
a careful user would: an explicit LogEntry schema (no inference), payload objects as JSON.

Usage: duckdb_convert.py INPUT.ndjson OUTPUT.parquet [THREADS]
"""
import sys
import time

import duckdb

COLUMNS = {
    "insertId": "VARCHAR",
    "logName": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "receiveTimestamp": "TIMESTAMPTZ",
    "severity": "VARCHAR",
    "resource": "STRUCT(type VARCHAR, labels MAP(VARCHAR, VARCHAR))",
    "labels": "MAP(VARCHAR, VARCHAR)",
    "httpRequest": "STRUCT(requestMethod VARCHAR, requestUrl VARCHAR, status INTEGER, "
    "latency VARCHAR, userAgent VARCHAR, remoteIp VARCHAR, serverIp VARCHAR, "
    "referer VARCHAR, protocol VARCHAR, requestSize BIGINT, responseSize BIGINT)",
    "trace": "VARCHAR",
    "spanId": "VARCHAR",
    "traceSampled": "BOOLEAN",
    "textPayload": "VARCHAR",
    "jsonPayload": "JSON",
    "protoPayload": "JSON",
}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    if len(sys.argv) > 3:
        con.execute(f"SET threads = {int(sys.argv[3])}")
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
    t0 = time.perf_counter()
    con.execute(
        f"""COPY (SELECT * FROM read_json('{src}', format = 'newline_delimited',
                   columns = {{{cols}}}, maximum_object_size = 67108864))
            TO '{dst}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    print(f"{time.perf_counter() - t0:.3f}")


main()
