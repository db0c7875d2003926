//! `gardener query` end to end: tables, formats, read-only, errors, partition pruning,
//! named queries with parameters, JSON functions.

use crate::common::*;
use serde_json::Value;

#[test]
fn query_the_lake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "2", "--rate", "0.05"]);
    let lake = d.join("lake");
    let s = ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);
    let rows = s["rows"].as_u64().expect("rows");

    // Every row, with its signature.
    let r = json_rows(
        &lake,
        &["SELECT count(*) AS n, count(signature_id) AS signed FROM logs"],
    );
    assert_eq!(r[0]["n"].as_u64(), Some(rows));
    assert_eq!(r[0]["signed"].as_u64(), Some(rows));

    // CSV: a header row and RFC 3339 UTC timestamps.
    let csv = query_ok(
        &lake,
        &["--format", "csv", "SELECT min(timestamp) AS t FROM logs"],
    );
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("t"));
    let t = lines.next().expect("a value");
    assert!(
        t.starts_with("2025-09-") && t.ends_with('Z') && t.contains('T'),
        "{t}"
    );
    let nd = query_ok(
        &lake,
        &["--format", "ndjson", "SELECT severity FROM logs GROUP BY 1"],
    );
    assert!(nd.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
    let table = query_ok(&lake, &["SELECT 1 AS one"]);
    assert!(table.contains("| one |"), "{table}");

    // JSON text columns through datafusion-functions-json.
    let r = json_rows(
        &lake,
        &[
            "SELECT count(*) AS n FROM logs WHERE json_get_str(json_payload, 'request_id') LIKE 'req_%'",
        ],
    );
    assert!(r[0]["n"].as_u64().unwrap_or(0) > 0);

    // Read-only unless --allow-write; SQL errors say where.
    for sql in [
        "DROP TABLE signatures",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = query(&lake, &[sql]);
        assert!(!out.status.success(), "{sql} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--allow-write"), "{sql}: {err}");
    }
    // SQL may start with a comment (not taken for a flag).
    let r = json_rows(&lake, &["-- how many\nSELECT 2 AS two"]);
    assert_eq!(r[0]["two"].as_u64(), Some(2));
    // A script may compute steps into session tables first; the last statement answers.
    let r = json_rows(
        &lake,
        &["CREATE TABLE t AS SELECT count(*) AS n FROM logs; SELECT n FROM t"],
    );
    assert_eq!(r[0]["n"].as_u64(), Some(rows));
    let out = query(
        &lake,
        &["CREATE TABLE t AS SELECT 1; DROP TABLE signatures; SELECT 1"],
    );
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--allow-write"),
        "only session tables, views and options are allowed before the last statement"
    );
    // ... and options of the session, for the statements after them (as `impact` does).
    let r = json_rows(
        &lake,
        &["SET datafusion.execution.batch_size = 7; \
           SELECT value FROM information_schema.df_settings \
           WHERE name = 'datafusion.execution.batch_size'"],
    );
    assert_eq!(r[0]["value"].as_str(), Some("7"), "{r:?}");
    let r = json_rows(
        &lake,
        &[
            "SET datafusion.execution.batch_size = 7; RESET datafusion.execution.batch_size; \
           SELECT value FROM information_schema.df_settings \
           WHERE name = 'datafusion.execution.batch_size'",
        ],
    );
    assert_eq!(r[0]["value"].as_str(), Some("8192"), "{r:?}");
    let out = query(
        &lake,
        &["SET datafusion.execution.batch_size = 'many'; SELECT 1"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("setting datafusion.execution.batch_size: "),
        "a bad value names its option: {err}"
    );
    // Regression: `logs_files` gives the planner each file's rows from the commit log
    // (without them `impact` hashed the problem rows into memory and failed on 12 M rows):
    // a count is answered from them without a scan.
    let plan = query_ok(&lake, &["EXPLAIN SELECT count(*) FROM logs_files"]);
    assert!(
        plan.contains("PlaceholderRowExec") && !plan.contains("DataSourceExec"),
        "{plan}"
    );
    let r = json_rows(&lake, &["SELECT count(*) AS n FROM logs_files"]);
    assert_eq!(r[0]["n"].as_u64(), Some(rows));
    let out = query(&lake, &["SELECT count(*) FROM logs WHER 1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("Column"), "{err}");

    // --since with a span counts back from the newest entry and prunes other days' files.
    let days = s["days"].as_array().expect("days").clone();
    let last = days.last().and_then(Value::as_str).expect("a day");
    let plan = query_ok(
        &lake,
        &[
            "--since",
            &format!("{last}T00:00:00Z"),
            "EXPLAIN SELECT min(insert_id) FROM logs",
        ],
    );
    assert!(plan.contains(&format!("dt={last}")), "{plan}");
    for other in days.iter().filter_map(Value::as_str).filter(|d| *d != last) {
        assert!(
            !plan.contains(&format!("dt={other}")),
            "dt={other} must be pruned: {plan}"
        );
    }
    let r = json_rows(
        &lake,
        &[
            "--since",
            "6h",
            "SELECT min(timestamp) AS a, max(timestamp) AS b FROM logs",
        ],
    );
    let (a, b) = (
        r[0]["a"].as_str().expect("a"),
        r[0]["b"].as_str().expect("b"),
    );
    let span = |t: &str| {
        log_gardener::common::time::parse_rfc3339(&format!("{}Z", t.trim_end_matches('Z')))
            .expect("time")
    };
    assert!(span(b) - span(a) <= 6 * 3_600_000_000_000, "{a} .. {b}");

    // Named queries.
    let freq = json_rows(&lake, &["--named", "signature_frequencies"]);
    let total: u64 = freq.iter().filter_map(|r| r["count"].as_u64()).sum();
    assert_eq!(total, rows, "signature counts add up");
    assert!(
        freq.iter()
            .all(|r| r["share"].as_f64().is_some() && r["per_day"].as_str().is_some())
    );
    let win = json_rows(
        &lake,
        &["--named", "severity_windows", "--param", "window=5 minutes"],
    );
    let n: u64 = win.iter().filter_map(|r| r["n"].as_u64()).sum();
    assert_eq!(n, rows);
    for r in &win {
        let t = r["window_start"].as_str().expect("window_start");
        let nanos = span(t);
        assert_eq!(nanos % (300 * 1_000_000_000), 0, "{t} aligned to 5 minutes");
    }
    let out = query(&lake, &["--named", "no_such_query"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("available: signature_frequencies"));
}

/// Issue #18: a reader that closes the pipe early (`gardener query ... | head -1`) ends the
/// run quietly with 0; an error exits 2 with its message (ripgrep's convention).
#[test]
fn a_closed_pipe_is_a_quiet_success_and_errors_exit_2() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    ingest(&lake, &[REPORT_SMALL]);
    for format in ["csv", "table", "ndjson"] {
        let mut child = gardener()
            .args(["query", "--format", format, "--lake"])
            .arg(&lake)
            // Far more than a pipe buffer holds, so the writer meets the closed pipe.
            .arg("SELECT v, v * 2 AS w FROM generate_series(1, 2000000) AS t(v)")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read one line");
        assert!(!first.is_empty());
        // The reader is gone (its end of the pipe dropped above).
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = query(&lake, &["SELECT no_such_column FROM logs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    // An invalid SOURCE_DATE_EPOCH is an error, not a silent "now".
    let out = gardener()
        .args(["report", "--lake"])
        .arg(&lake)
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SOURCE_DATE_EPOCH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `recent` finds its rows again by time, log, insertId, service and signature (not the
/// message): two insertId-less entries of one signature in one log at one instant, from two
/// services, must not both come back under `--service` (the first version of that lookup
/// had no service and returned the other service's row too).
#[test]
fn recent_under_service_keeps_to_the_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("e.jsonl");
    let entry = |service: &str, n: u32| {
        format!(
            r#"{{"timestamp":"2025-09-12T00:00:00Z","severity":"ERROR","textPayload":"quota exceeded for project {n}","logName":"projects/p/logs/run.googleapis.com%2Fstderr","resource":{{"type":"cloud_run_revision","labels":{{"service_name":"{service}"}}}}}}"#
        )
    };
    std::fs::write(
        &export,
        format!("{}\n{}\n", entry("api", 1), entry("web", 2)),
    )
    .expect("write");
    let lake = dir.path().join("lake");
    ingest(&lake, &[export.to_str().expect("utf8")]);
    let rows = json_rows(&lake, &["--service", "api", "--named", "recent"]);
    let services: Vec<_> = rows.iter().map(|r| r["service"].as_str()).collect();
    assert_eq!(services, [Some("api")], "{rows:?}");
    let all = json_rows(&lake, &["--named", "recent"]);
    assert_eq!(all.len(), 2, "{all:?}");
}

/// The `logs` view's join to `shapes` is left out of plans that read no signature column,
/// kept in those that do, and kept in a user's own join that reads the `shapes` side.
#[test]
fn the_shapes_join_is_planned_only_where_its_columns_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let s = ingest(&lake, &[REPORT_SMALL]);
    let rows = s["rows"].as_u64().expect("rows");
    let joins = |sql: &str| {
        query_ok(&lake, &["--format", "csv", &format!("EXPLAIN {sql}")])
            .matches("HashJoinExec")
            .count()
    };
    let counted = "SELECT severity, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1";
    assert_eq!(joins(counted), 0);
    let signed = "SELECT signature_id, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1";
    assert_eq!(joins(signed), 1);
    let filtered = "SELECT count(*) AS n FROM logs WHERE template LIKE '%database%'";
    assert_eq!(joins(filtered), 1);
    assert_ne!(query_ok(&lake, &["--format", "csv", filtered]), "n\n0\n");
    let own = "SELECT s.shape_id IS NULL AS unmatched, count(*) AS n \
               FROM logs_files l LEFT JOIN shapes s ON l.shape_id = s.shape_id GROUP BY 1";
    assert_eq!(joins(own), 1);
    assert_eq!(
        query_ok(&lake, &["--format", "csv", own]),
        format!("unmatched,n\nfalse,{rows}\n")
    );
    // The same answer with the join as without: every row's severity counted once.
    let total: u64 = query_ok(&lake, &["--format", "csv", counted])
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, rows);
}

/// `--since/--until` keep exactly the rows in range, in `logs` and `logs_files` alike: files
/// wholly inside are read unfiltered, files that straddle a bound filter their rows (on a
/// cluster too: `tests/it/cluster.rs`).
#[test]
fn the_range_keeps_exactly_its_rows_in_straddling_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("e.jsonl");
    let stamps = [
        "2025-09-10T01:00:00Z",
        "2025-09-10T12:00:00Z",
        "2025-09-10T23:00:00Z",
        "2025-09-11T01:00:00Z",
        "2025-09-11T12:00:00Z",
        "2025-09-12T06:00:00Z",
        "2025-09-12T18:00:00Z",
    ];
    let lines: Vec<String> = stamps
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"timestamp":"{t}","insertId":"i{i}","severity":"ERROR","textPayload":"e{i}"}}"#
            )
        })
        .collect();
    std::fs::write(&export, lines.join("\n")).expect("write");
    let lake = dir.path().join("lake");
    ingest(&lake, &[export.to_str().expect("utf8")]);
    let range = [
        "--since",
        "2025-09-10T12:00:00Z",
        "--until",
        "2025-09-12T06:00:00Z",
    ];
    // 2025-09-11's file is inside; the other two days' straddle a bound.
    let want = "ids\ni1 i2 i3 i4\n";
    for sql in [
        "SELECT string_agg(insert_id, ' ' ORDER BY insert_id) AS ids FROM logs",
        "SELECT string_agg(insert_id, ' ' ORDER BY insert_id) AS ids FROM logs_files",
    ] {
        let mut args = range.to_vec();
        args.extend(["--format", "csv", sql]);
        assert_eq!(query_ok(&lake, &args), want, "{sql}");
    }
}
