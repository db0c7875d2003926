//! End to end: what lands in the lake — deduplication, partitioning, sort order, Parquet
//! settings — and that DuckDB reads it as it is.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use arrow::array::RecordBatch;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int32Type, TimestampNanosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;

/// The batches of one row group of a Parquet file.
fn read_row_group(path: &Path, group: usize) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).expect("open"))
        .expect("parquet")
        .with_row_groups(vec![group])
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

#[test]
fn duplicates_are_dropped_within_and_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sink = d.join("sink");
    synth(&sink, &["--days", "2", "--rate", "0.05"]);
    let lake = d.join("lake");
    let first = ingest(&lake, &[sink.to_str().expect("utf8")]);
    let n = first["rows"].as_u64().expect("rows");
    assert!(n > 1000);
    assert_eq!(first["duplicates"], 0);

    // The same export again: every record is a duplicate.
    let again = ingest(&lake, &[sink.to_str().expect("utf8")]);
    assert_eq!(again["rows"], 0, "{again}");
    assert_eq!(again["duplicates"].as_u64(), Some(n));

    // Two overlapping sinks in one run into a fresh lake: the overlap counts once.
    let overlap = d.join("overlap");
    let day = std::fs::read_dir(sink.join("run.googleapis.com/stderr/2025/09"))
        .expect("days")
        .flatten()
        .map(|e| e.path())
        .max()
        .expect("a day");
    copy_dir(&day, &overlap);
    let overlap_entries: u64 = ndjson_entries(&overlap);
    let lake2 = d.join("lake2");
    let both = ingest(
        &lake2,
        &[
            sink.to_str().expect("utf8"),
            overlap.to_str().expect("utf8"),
        ],
    );
    assert_eq!(both["rows"].as_u64(), Some(n), "{both}");
    assert_eq!(both["duplicates"].as_u64(), Some(overlap_entries), "{both}");

    let ids = strings(&read_logs(&lake2), "insert_id");
    let distinct: BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "no insert_id twice in the lake");
}

fn ndjson_entries(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let text = std::fs::read_to_string(e.path()).expect("ndjson");
        n += text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    }
    n
}

#[test]
fn files_are_partitioned_sorted_and_zstd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let export = d.join("gcloud");
    synth(
        &export,
        &["--days", "3", "--rate", "0.05", "--format", "gcloud-json"],
    );
    let lake = d.join("lake");
    let s = ingest(
        &lake,
        &[
            export.join("export.json").to_str().expect("utf8"),
            "--rows-per-file",
            "2000",
        ],
    );
    let files = parquet_files(&lake.join("logs"));
    assert_eq!(files.len() as u64, s["files"].as_u64().expect("files"));
    assert!(
        files.len() > 3,
        "several files per day with --rows-per-file 2000"
    );
    // Each entry's own timestamp, to check that every column was put in the same order
    // (the columns of a file are gathered and encoded one by one, on several threads).
    let entries: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).expect("read export"))
            .expect("a JSON array");
    let stamp_of: std::collections::HashMap<String, i64> = entries
        .iter()
        .map(|e| {
            let ts =
                log_gardener::common::time::parse_rfc3339(e["timestamp"].as_str().expect("ts"));
            (
                e["insertId"].as_str().expect("insertId").to_owned(),
                ts.expect("rfc3339"),
            )
        })
        .collect();
    let mut total = 0;
    let mut seen = BTreeSet::new();
    for f in &files {
        let dt = f
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("dt="))
            .expect("dt= directory")
            .to_owned();
        let reader =
            SerializedFileReader::new(std::fs::File::open(f).expect("open")).expect("parquet");
        let meta = reader.metadata();
        // The problem rows (severity >= WARNING or HTTP 5xx) in a row group of their own,
        // after the others: a query for problems skips the other group by its statistics.
        let groups = meta.num_row_groups();
        assert!((1..=2).contains(&groups), "{groups} row groups");
        let mut file_rows = 0;
        for g in 0..groups {
            let rg = meta.row_group(g);
            file_rows += rg.num_rows();
            assert!(
                rg.sorting_columns()
                    .is_some_and(|c| c[0].column_idx == 0 && !c[0].descending)
            );
            let column = |name: &str| {
                (0..rg.num_columns())
                    .map(|i| rg.column(i))
                    .find(|c| c.column_path().string() == name)
                    .expect("column")
            };
            // Text is compressed; timestamps, keys and small dictionaries are not (zstd
            // shrinks them little, and a reader pays for a zstd context per compressed chunk).
            for name in ["message", "json_payload", "insert_id", "http_request_url"] {
                assert!(
                    matches!(column(name).compression(), Compression::ZSTD(_)),
                    "{name}"
                );
            }
            for name in ["timestamp", "severity", "trace_key", "shape_id"] {
                assert_eq!(
                    column(name).compression(),
                    Compression::UNCOMPRESSED,
                    "{name}"
                );
            }
            // Bounds on what prunes (time, severity, status, `--service`); none on free
            // text or on labels no query filters on, which nothing could prune by.
            for name in ["timestamp", "severity", "http_request_status", "service"] {
                assert!(column(name).statistics().is_some(), "{name}");
            }
            for name in ["message", "log_id", "revision", "shape"] {
                assert!(column(name).statistics().is_none(), "{name}");
            }
            let max_severity = match column("severity_number").statistics() {
                Some(Statistics::Int32(st)) => st.max_opt().copied().expect("a max"),
                other => panic!("severity_number statistics: {other:?}"),
            };
            let mut prev = i64::MIN;
            let mut kinds = BTreeSet::new();
            for b in &read_row_group(f, g) {
                let ts = b.column(0).as_primitive::<TimestampNanosecondType>();
                let problem = problem_rows(b);
                let ids = b
                    .column_by_name("insert_id")
                    .expect("insert_id")
                    .as_string::<i32>();
                for (r, (&t, id)) in ts.values().iter().zip(ids.iter()).enumerate() {
                    assert_eq!(Some(&t), stamp_of.get(id.expect("an insert id")));
                    assert!(t >= prev, "{} not sorted by timestamp", f.display());
                    prev = t;
                    kinds.insert(problem[r]);
                    let day = log_gardener::common::time::day_string(
                        log_gardener::common::time::day_of(t),
                    );
                    assert_eq!(day, dt, "row in the wrong partition");
                    total += 1;
                }
            }
            assert_eq!(
                kinds.len(),
                1,
                "{}: a row group mixes problems",
                f.display()
            );
            let problems = kinds.contains(&true);
            if groups == 2 {
                assert_eq!(
                    problems,
                    g == 1,
                    "{}: the problem rows come last",
                    f.display()
                );
            }
            if !problems {
                assert!(
                    max_severity < 400,
                    "the other rows' group prunes by severity"
                );
            }
            seen.insert(problems);
        }
        assert!(file_rows <= 2000);
    }
    assert_eq!(seen.len(), 2, "both kinds of row group written");
    assert_eq!(Some(total), s["rows"].as_u64());
}

/// DuckDB reads the lake as it is, with Hive partitioning, and agrees on the counts.
#[test]
fn duckdb_reads_the_lake() {
    let python = std::env::var("GARDENER_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_duckdb = Command::new(&python)
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        assert!(
            std::env::var_os("GARDENER_REQUIRE_DUCKDB").is_none(),
            "DuckDB is required (make test installs it into .venv/)"
        );
        eprintln!("skipping: no DuckDB for {python}; `make test` installs it");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/netra-staging-sample.json.gz");
    let s = ingest(&lake, &[sample.to_str().expect("utf8")]);
    let script = format!(
        r#"
import duckdb, json
r = duckdb.sql("""
  SELECT count(*), count(DISTINCT insert_id), min(dt), max(dt),
         count(*) FILTER (WHERE message = 'GET /ws 500'),
         typeof(any_value(timestamp)), typeof(any_value(http_request_latency_ms)),
         count(DISTINCT severity)
  FROM read_parquet('{}/logs/**/*.parquet', hive_partitioning = true)
""").fetchall()[0]
print(json.dumps([str(x) for x in r]))
"#,
        lake.display()
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = serde_json::from_slice(&out.stdout).expect("json");
    let rows = s["rows"].as_u64().expect("rows").to_string();
    assert_eq!(got[0], rows);
    assert_eq!(got[1], rows, "insert ids distinct");
    let days = s["days"].as_array().expect("days");
    assert_eq!(Some(got[2].as_str()), days.first().and_then(|v| v.as_str()));
    assert_eq!(Some(got[3].as_str()), days.last().and_then(|v| v.as_str()));
    assert!(
        got[4].parse::<u64>().expect("count") > 0,
        "request logs become 'GET /ws 500'"
    );
    // UTC instants with nanoseconds: TIMESTAMPTZ_NS (DuckDB 2), TIMESTAMP WITH TIME ZONE (1.x).
    assert!(
        got[5] == "TIMESTAMPTZ_NS" || got[5] == "TIMESTAMP WITH TIME ZONE",
        "{}",
        got[5]
    );
    assert_eq!(got[6], "DOUBLE");
    assert!(got[7].parse::<u64>().expect("count") >= 4);
}

/// Rewrites the rows of `batches` into `path` with `change` applied to the schema's columns
/// (a file another tool wrote into the lake's folder).
fn write_foreign(
    path: &Path,
    batches: &[arrow::array::RecordBatch],
    change: &dyn Fn(&str, arrow::array::ArrayRef) -> Option<arrow::array::ArrayRef>,
) {
    use std::sync::Arc;
    let rewritten: Vec<arrow::array::RecordBatch> = batches
        .iter()
        .map(|b| {
            let mut fields = Vec::new();
            let mut columns = Vec::new();
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                if let Some(c) = change(f.name(), c.clone()) {
                    fields.push(arrow::datatypes::Field::new(
                        f.name(),
                        c.data_type().clone(),
                        true,
                    ));
                    columns.push(c);
                }
            }
            arrow::array::RecordBatch::try_new(
                Arc::new(arrow::datatypes::Schema::new(fields)),
                columns,
            )
            .expect("batch")
        })
        .collect();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).expect("create"),
        rewritten[0].schema(),
        None,
    )
    .expect("writer");
    for b in &rewritten {
        w.write(b).expect("write");
    }
    w.close().expect("close");
}

/// Issue #18: a lake file written by another tool is read through typed accessors. Other
/// string layouts (Utf8View, LargeUtf8) are read and deduplicated against; a missing key
/// column is a clear error naming the file and the column, and nothing is committed.
#[test]
fn lake_files_of_another_schema_are_read_or_named() {
    use arrow::array::ArrayRef;
    use arrow::datatypes::DataType;

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let fixture = REPORT_SMALL;
    let ours = d.join("ours");
    let first = ingest(&ours, &[fixture]);
    let rows = first["rows"].as_u64().expect("rows");
    let files = committed_files(&ours);
    let cast = |c: ArrayRef, to: DataType| arrow::compute::cast(&c, &to).expect("cast");
    // Each file rewritten into another lake's folder for the same day.
    let rewrite = |lake: &Path, change: &dyn Fn(&str, ArrayRef) -> Option<ArrayRef>| {
        files
            .iter()
            .map(|f| {
                let rel = f.strip_prefix(&ours).expect("inside the lake");
                let to = lake.join(rel.with_file_name(format!(
                    "foreign-{}",
                    rel.file_name().expect("name").to_string_lossy()
                )));
                write_foreign(&to, &read_parquet(f), change);
                to
            })
            .collect::<Vec<_>>()
    };

    // Other string layouts: read, so the same entries count as duplicates.
    let views = d.join("views");
    rewrite(&views, &|name, c| {
        Some(match name {
            "message" => cast(c, DataType::Utf8View),
            "insert_id" | "log_name" => cast(c, DataType::LargeUtf8),
            _ => c,
        })
    });
    let s = ingest(&views, &[fixture]);
    assert_eq!(s["rows"], 0, "{s}");
    assert_eq!(s["duplicates"].as_u64(), Some(rows), "{s}");
    // Adopted files are rewritten by `compact` (their schema version is unknown), their
    // strings cast back to the lake's layout; the same entries are still duplicates.
    let compacted = compact(&views, "2");
    assert_eq!(
        compacted["files_removed"].as_u64(),
        Some(files.len() as u64),
        "{compacted}"
    );
    let s = ingest(&views, &[fixture]);
    assert_eq!(s["duplicates"].as_u64(), Some(rows), "{s}");

    // A file without `insert_id`: its rows cannot be told apart from new ones.
    let missing = d.join("missing");
    let mut foreign = rewrite(&missing, &|name, c| (name != "insert_id").then_some(c));
    foreign.sort();
    let out = gardener()
        .args(["ingest", fixture, "--lake"])
        .arg(&missing)
        .args(["--output", "json", "--quiet"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("foreign-")
            && err.contains("column insert_id")
            && err.contains("no such column"),
        "{err}"
    );
    // Nothing of the run was committed: the lake holds the foreign files alone.
    assert_eq!(committed_files(&missing), foreign);
    // Rewritten with the lake's schema in place, the rerun finds every entry there.
    for f in &foreign {
        let rel = f.strip_prefix(&missing).expect("inside the lake");
        let name = rel.file_name().expect("name").to_string_lossy();
        let original = ours.join(rel.with_file_name(name.trim_start_matches("foreign-")));
        write_foreign(f, &read_parquet(&original), &|_, c| Some(c));
    }
    let s = ingest(&missing, &[fixture]);
    assert_eq!(s["rows"], 0, "{s}");
    assert_eq!(s["duplicates"].as_u64(), Some(rows), "{s}");
}

/// A lake written before `request_id` and `trace_key` (files without those columns,
/// adopted as schema version 1): `logs` derives them (`request_id` from `json_payload`,
/// `trace_key` from `trace`), so queries answer as on a new lake, until `compact` rewrites
/// those files (whatever their size) with the columns.
#[test]
fn a_lake_from_before_request_id_and_trace_key_derives_them_until_compact_rewrites_its_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let fixture = REPORT_SMALL;
    let ours = d.join("ours");
    ingest(&ours, &[fixture]);
    let old = d.join("old");
    let files = committed_files(&ours);
    for f in &files {
        let rel = f.strip_prefix(&ours).expect("inside the lake");
        write_foreign(&old.join(rel), &read_parquet(f), &|name, c| {
            (name != "request_id" && name != "trace_key").then_some(c)
        });
    }
    // Adopted by a run that adds nothing: every entry is already there.
    let s = ingest(&old, &[fixture]);
    assert_eq!(s["rows"], 0, "{s}");

    let in_files = |lake: &Path| {
        query_ok(
            lake,
            &[
                "--format",
                "csv",
                "SELECT count(request_id) AS n, count(trace_key) AS k FROM logs_files",
            ],
        )
    };
    assert_eq!(
        in_files(&old),
        "n,k\n0,0\n",
        "the old files lack the columns"
    );
    assert!(warns_to_compact(&old), "a query says to compact");
    let ids = [
        "--format",
        "csv",
        "SELECT insert_id, request_id, trace_key, trace_key = id_hash(trace) AS same \
         FROM logs WHERE request_id IS NOT NULL OR trace IS NOT NULL ORDER BY insert_id",
    ];
    let want = query_ok(&ours, &ids);
    assert_eq!(want.lines().count(), 61, "{want}");
    assert!(
        want.lines().skip(1).all(|l| l.ends_with(",true")),
        "trace_key is id_hash(trace): {want}"
    );
    assert_eq!(query_ok(&old, &ids), want);
    for named in ["co_occurrence", "impact"] {
        let q = ["--named", named, "--format", "csv"];
        assert_eq!(query_ok(&old, &q), query_ok(&ours, &q), "{named}");
    }

    // Rewritten whatever their size, into files of at most --rows-per-file rows.
    let summary = compact(&old, "2");
    assert_eq!(
        summary["files_removed"].as_u64(),
        Some(files.len() as u64),
        "{summary}"
    );
    for f in committed_files(&old) {
        let rows: usize = read_parquet(&f).iter().map(|b| b.num_rows()).sum();
        assert!(rows <= 2, "{}: {rows} rows", f.display());
    }
    let traced = query_ok(
        &ours,
        &["--format", "csv", "SELECT count(trace) AS t FROM logs"],
    );
    let traced = traced.trim_start_matches("t\n").trim_end();
    assert_eq!(in_files(&old), format!("n,k\n12,{traced}\n"));
    assert_eq!(query_ok(&old, &ids), want);
    assert!(
        !warns_to_compact(&old),
        "nothing older is left to warn about"
    );
    // Nothing older is left: a second compaction has nothing to do.
    let again = compact(&old, "2");
    assert_eq!(again["files_removed"], 0, "{again}");
}

/// A lake written before problem rows had a row group of their own (one row group of all
/// rows; commits without `layout`): `compact` rewrites its files whatever their size, and
/// the queries answer as before.
#[test]
fn compact_rewrites_files_of_an_older_layout_with_the_problem_rows_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = dir.path().join("ours");
    ingest(&ours, &[REPORT_SMALL]);
    let old = dir.path().join("old");
    copy_dir(&ours, &old);
    let files = committed_files(&old);
    let mut mixed = 0;
    for f in &files {
        // As an older gardener wrote it: every row in one row group, in time order.
        let batches = read_parquet(f);
        let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat");
        let order = arrow::compute::sort_to_indices(all.column(0), None, None).expect("sort");
        let sorted = arrow::compute::take_record_batch(&all, &order).expect("take");
        write_foreign(f, &[sorted], &|_, c| Some(c));
        mixed += problem_kinds(f).iter().filter(|k| k.len() == 2).count();
    }
    assert!(mixed > 0, "the old files mix problem and other rows");
    for c in files_under(&old.join("_log")) {
        let mut commit: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&c).expect("read")).expect("json");
        for f in commit["add"].as_array_mut().into_iter().flatten() {
            let f = f.as_object_mut().expect("a file");
            f.remove("layout");
            let path = old.join(f["path"].as_str().expect("a path"));
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            f.insert("bytes".into(), bytes.into());
        }
        std::fs::write(&c, serde_json::to_vec(&commit).expect("json")).expect("write");
    }
    let named = |lake: &Path| {
        ["impact", "co_occurrence", "recent"]
            .map(|n| query_ok(lake, &["--named", n, "--format", "csv"]))
    };
    assert_eq!(named(&old), named(&ours));
    assert!(
        !warns_to_compact(&ours),
        "a new lake has nothing to compact"
    );
    assert!(warns_to_compact(&old), "a query says to compact");

    // No file is small at this target: each is rewritten for its layout alone.
    let smallest = files
        .iter()
        .map(|f| read_parquet(f).iter().map(|b| b.num_rows()).sum::<usize>())
        .min()
        .expect("files");
    let target = (2 * smallest).to_string();
    let summary = compact(&old, &target);
    assert_eq!(
        summary["files_removed"].as_u64(),
        Some(files.len() as u64),
        "{summary}"
    );
    for f in committed_files(&old) {
        let kinds = problem_kinds(&f);
        assert!(
            kinds.iter().all(|k| k.len() == 1),
            "{}: a row group mixes problems: {kinds:?}",
            f.display()
        );
    }
    assert_eq!(named(&old), named(&ours));
    assert!(
        !warns_to_compact(&old),
        "nothing older is left to warn about"
    );
    let again = compact(&old, &target);
    assert_eq!(again["files_removed"], 0, "{again}");
}

/// A query on the lake warns that an older gardener wrote some of its files.
fn warns_to_compact(lake: &Path) -> bool {
    let out = query(lake, &["SELECT 1"]);
    String::from_utf8_lossy(&out.stderr).contains("written by an older gardener")
}

/// For each row group of a lake file, which kinds of row it holds (true: a problem row,
/// severity >= WARNING or HTTP 5xx, as `sql/` defines them).
fn problem_kinds(f: &Path) -> Vec<BTreeSet<bool>> {
    let groups = SerializedFileReader::new(std::fs::File::open(f).expect("open"))
        .expect("parquet")
        .metadata()
        .num_row_groups();
    (0..groups)
        .map(|g| read_row_group(f, g).iter().flat_map(problem_rows).collect())
        .collect()
}

/// Per row of `b`: a problem row?
fn problem_rows(b: &RecordBatch) -> Vec<bool> {
    let int = |name: &str| {
        b.column_by_name(name)
            .expect(name)
            .as_primitive::<Int32Type>()
    };
    let (severity, status) = (int("severity_number"), int("http_request_status"));
    (0..b.num_rows())
        .map(|r| severity.value(r) >= 400 || (status.is_valid(r) && status.value(r) >= 500))
        .collect()
}

/// `gardener compact --lake LAKE --rows-per-file ROWS`, its JSON summary.
fn compact(lake: &Path, rows_per_file: &str) -> serde_json::Value {
    let out = run_ok(gardener().args(["compact", "--lake"]).arg(lake).args([
        "--rows-per-file",
        rows_per_file,
        "--output",
        "json",
    ]));
    serde_json::from_slice(&out.stdout).expect("json")
}
