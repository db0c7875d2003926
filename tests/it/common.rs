//! Helpers shared by the end-to-end tests: run the real binary, read the lake back.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

/// The small fixed export most tests ingest (a frequent auth failure and its database
/// errors, traced and with request ids, among ordinary rows).
pub const REPORT_SMALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/report_small.jsonl"
);

pub fn gardener() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gardener"))
}

pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("netra_real/entries.jsonl").exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: ../shared/netra_real is absent (third-party data is never copied into the repo)"
        );
        None
    }
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.stdin(Stdio::null()).output().expect("run gardener");
    assert!(
        out.status.success(),
        "gardener failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `gardener ingest ARGS --lake LAKE --output json`, returning the summary.
pub fn ingest(lake: &Path, args: &[&str]) -> Value {
    let out = run_ok(
        gardener()
            .arg("ingest")
            .args(args)
            .arg("--lake")
            .arg(lake)
            .args(["--output", "json"]),
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary is JSON");
    assert_reconciles(&summary);
    summary
}

pub fn assert_reconciles(s: &Value) {
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary lacks {k}: {s}"))
    };
    assert_eq!(
        n("records"),
        n("rows") + n("duplicates") + n("quarantined") + n("out_of_range"),
        "records must equal rows + duplicates + quarantined + out_of_range: {s}"
    );
    let reasons: u64 = s["quarantine_reasons"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert_eq!(reasons, n("quarantined"), "reasons add up: {s}");
}

/// Every file below `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect()
}

pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open parquet");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `logs/` files the lake's commit log names (replayed here from its JSON, apart from
/// the library's reader), or every file under `logs/` for a lake without a log.
pub fn committed_files(lake: &Path) -> Vec<PathBuf> {
    let commits: Vec<PathBuf> = files_under(&lake.join("_log"))
        .into_iter()
        // Not checkpoints, nor the staging files (`NAME#N`) of a commit being written.
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".checkpoint.json")
        })
        .collect();
    if commits.is_empty() {
        return parquet_files(&lake.join("logs"));
    }
    let mut live = std::collections::BTreeSet::new();
    for c in commits {
        let v: Value = serde_json::from_slice(&std::fs::read(&c).expect("read commit"))
            .unwrap_or_else(|e| panic!("{}: {e}", c.display()));
        for f in v["remove"].as_array().into_iter().flatten() {
            live.remove(f["path"].as_str().expect("path"));
        }
        for f in v["add"].as_array().into_iter().flatten() {
            live.insert(f["path"].as_str().expect("path").to_owned());
        }
    }
    live.into_iter().map(|p| lake.join(p)).collect()
}

/// `signatures/<newest version>/NAME.parquet` of a local lake.
pub fn signatures_table(lake: &Path, name: &str) -> PathBuf {
    let newest = std::fs::read_dir(lake.join("signatures"))
        .expect("signatures/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .max()
        .expect("a signatures version");
    newest.join(format!("{name}.parquet"))
}

/// Every committed row of the lake's `logs/` as batches.
pub fn read_logs(lake: &Path) -> Vec<RecordBatch> {
    committed_files(lake)
        .iter()
        .flat_map(|p| read_parquet(p))
        .collect()
}

pub fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    use arrow::array::{Array, AsArray};
    let mut out = Vec::new();
    for b in batches {
        let col = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("no column {column}"));
        let col = col.as_string::<i32>();
        for i in 0..col.len() {
            out.push(col.is_valid(i).then(|| col.value(i).to_owned()));
        }
    }
    out
}

pub fn int64s(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(column)
                .unwrap_or_else(|| panic!("no column {column}"))
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

pub fn synth(out: &Path, extra: &[&str]) {
    run_ok(
        gardener()
            .args(["synth", "--scenario", "netra-staging", "--out"])
            .arg(out)
            .args(extra),
    );
}

/// `gardener query --lake LAKE ARGS`.
pub fn query(lake: &Path, args: &[&str]) -> Output {
    gardener()
        .arg("query")
        .arg("--lake")
        .arg(lake)
        .args(args)
        .output()
        .expect("run query")
}

pub fn query_ok(lake: &Path, args: &[&str]) -> String {
    let out = query(lake, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

pub fn json_rows(lake: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&query_ok(lake, &all)).expect("json array")
}

/// Headless Chromium, or None with a message (required when GARDENER_REQUIRE_CHROMIUM=1,
/// which `.ci/run` sets after installing Debian's chromium).
pub fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    assert!(
        std::env::var_os("GARDENER_REQUIRE_CHROMIUM").is_none(),
        "GARDENER_REQUIRE_CHROMIUM is set but no chromium is on PATH"
    );
    eprintln!("skipping the browser check: no chromium on PATH (apt-get install chromium)");
    None
}

/// The DOM of `html` after Chromium loaded it and ran its scripts.
pub fn rendered_dom(browser: &Path, html: &Path) -> String {
    // A profile of its own: the two browser tests run at once, and on the shared default
    // profile one start failed ("Zygote could not fork", once in the suite, 2026-12-05).
    // No background networking: the machine's network is closed.
    let profile = tempfile::tempdir().expect("tempdir");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
