//! Crash safety and live streams, with a real child process: SIGKILL at a random moment
//! leaves a clean lake and a rerun completes it; SIGINT stops gracefully; a stream on stdin
//! lands rows every --flush-interval.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn wait_for_parquet(lake: &Path, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if !parquet_files(&lake.join("logs")).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// Every file in the lake reads, and no entry is in it twice.
fn assert_clean(lake: &Path) -> BTreeSet<String> {
    let ids = strings(&read_logs(lake), "insert_id");
    let distinct: BTreeSet<String> = ids.iter().flatten().cloned().collect();
    assert_eq!(distinct.len(), ids.len(), "an entry is in the lake twice");
    distinct
}

#[test]
fn sigkill_mid_run_leaves_a_clean_lake_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(
        &d.join("exp"),
        &["--days", "2", "--rate", "0.5", "--format", "gcloud-json"],
    );
    let export = d.join("exp/export.json");
    let lake = d.join("lake");
    let args = |cmd: &mut Command| {
        cmd.arg("ingest")
            .arg(&export)
            .arg("--lake")
            .arg(&lake)
            .args([
                "--rows-per-file",
                "1500",
                "--output",
                "json",
                "--threads",
                "1",
            ]);
    };
    let mut cmd = gardener();
    args(&mut cmd);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(
        wait_for_parquet(&lake, Duration::from_secs(60)),
        "no file published"
    );
    std::thread::sleep(Duration::from_millis(30));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let before = assert_clean(&lake);
    let ledger: Vec<_> = std::fs::read_dir(lake.join("_ledger"))
        .expect("ledger")
        .flatten()
        .collect();
    assert_eq!(ledger.len(), 1);

    let mut cmd = gardener();
    args(&mut cmd);
    let out = run_ok(&mut cmd);
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_reconciles(&s);
    assert_eq!(
        s["interrupted_runs"].as_array().map(Vec::len),
        Some(1),
        "{s}"
    );
    assert_eq!(s["duplicates"].as_u64(), Some(before.len() as u64), "{s}");

    let after = assert_clean(&lake);
    let all: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&export).expect("export")).expect("array");
    let expect: BTreeSet<String> = all
        .iter()
        .map(|e| e["insertId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(before.len() < expect.len(), "the kill came before the end");
    assert_eq!(after, expect, "the rerun completed the lake exactly");
}

#[test]
fn stdin_stream_lands_rows_every_flush_interval_and_sigint_stops_gracefully() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "1", "--rate", "0.01"]);
    let mut lines = Vec::new();
    for f in files_under(&d.join("sink")) {
        let text = std::fs::read_to_string(f).expect("ndjson");
        lines.extend(text.lines().map(str::to_owned));
    }
    assert!(lines.len() > 100);
    let lake = d.join("lake");
    let mut child = gardener()
        .args([
            "ingest",
            "-",
            "--flush-interval",
            "0.3",
            "--output",
            "json",
            "--lake",
        ])
        .arg(&lake)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let half = lines.len() / 2;
    for l in &lines[..half] {
        writeln!(stdin, "{l}").expect("write");
    }
    stdin.flush().expect("flush");
    // The stream stays open; rows must still land (be committed, not only uploaded).
    let start = Instant::now();
    while committed_files(&lake).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no rows while the stream is open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let landed = assert_clean(&lake).len();
    assert!(landed > 0);

    signal(child.id(), "-INT");
    let out = child.wait_with_output().expect("wait");
    drop(stdin);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_reconciles(&s);
    assert_eq!(s["status"], "interrupted");
    assert_eq!(s["rows"].as_u64(), Some(half as u64), "{s}");
    assert_eq!(assert_clean(&lake).len(), half);
}

/// Issue #18: a panic in any pipeline stage fails the run (exit 2, the ledger says
/// `failed` with the reason) and commits none of its rows; a rerun then ingests everything.
#[test]
fn a_panic_in_a_stage_fails_the_run_and_commits_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "2", "--rate", "0.05"]);
    let lake = d.join("lake");
    for stage in ["decoder", "framer"] {
        let out = gardener()
            .arg("ingest")
            .arg(d.join("sink"))
            .arg("--lake")
            .arg(&lake)
            .args(["--output", "json", "--quiet"])
            .env("GARDENER_TEST_PANIC", stage)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stage}: {err}");
        assert!(
            err.contains(&format!("the {stage} task failed")),
            "{stage}: {err}"
        );
        assert!(out.stdout.is_empty(), "{stage}: no summary of a failed run");
        assert!(
            committed_files(&lake).is_empty(),
            "{stage}: a failed run committed files"
        );
        let failed: Vec<Value> = files_under(&lake.join("_ledger"))
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
            .filter(|r: &Value| r["status"] == "failed")
            .collect();
        assert!(
            failed
                .iter()
                .any(|r| r["error"].as_str().is_some_and(|e| e.contains(stage))),
            "{stage}: {failed:?}"
        );
    }
    // Nothing was lost: the rerun takes every entry.
    let s = ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);
    assert_eq!(s["status"], "complete");
    assert_eq!(s["duplicates"], 0);
    assert_eq!(s["rows"], s["records"]);
    assert_clean(&lake);
}
