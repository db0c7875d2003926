//! End to end: every input layout and every kind of bad input, through the real binary.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Stdio;

use crate::common::*;
use arrow::array::{Array, AsArray};
use serde_json::Value;

fn entry(id: &str, ts: &str, msg: &str) -> String {
    format!(
        r#"{{"insertId":"{id}","logName":"projects/p/logs/run.googleapis.com%2Fstderr","resource":{{"type":"cloud_run_revision","labels":{{"service_name":"svc","revision_name":"svc-001","location":"us-central1","project_id":"p"}}}},"severity":"ERROR","textPayload":"{msg}","timestamp":"{ts}"}}"#
    )
}

#[test]
fn bad_inputs_are_quarantined_with_position_and_the_rest_lands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let w = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).expect("write");

    // NDJSON with a non-JSON line, a scalar, an array, wrong types, a missing timestamp with
    // and without receiveTimestamp, invalid UTF-8, a blank line and a 2 MB entry.
    let big = "x".repeat(2 << 20);
    let mut nd = Vec::new();
    for line in [
        entry("a1", "2025-09-12T03:46:13.957993Z", "ok one"),
        "this is not json".to_owned(),
        "42".to_owned(),
        "[1,2,3]".to_owned(),
        r#"{"insertId":"w1","timestamp":"2025-09-12T00:00:00Z","labels":["a","b"]}"#.to_owned(),
        r#"{"insertId":"w2","timestamp":1757648773}"#.to_owned(),
        r#"{"insertId":"r1","receiveTimestamp":"2025-09-12T01:00:00.5Z","textPayload":"late"}"#
            .to_owned(),
        r#"{"insertId":"m1","textPayload":"no time at all"}"#.to_owned(),
        String::new(),
        entry("big", "2025-09-12T02:00:00Z", &big),
    ] {
        nd.extend_from_slice(line.as_bytes());
        nd.push(b'\n');
    }
    nd.extend_from_slice(b"{\"insertId\":\"u1\",\"timestamp\":\"2025-09-12T00:00:00Z\",\"textPayload\":\"\xff\xfe\"}\n");
    w("mixed.ndjson", &nd);
    // A gcloud array cut in the middle of its second element.
    let arr = format!(
        "[\n  {},\n  {}",
        entry("t1", "2025-09-11T10:00:00Z", "before cut"),
        &entry("t2", "2025-09-11T11:00:00Z", "cut")[..60]
    );
    w("truncated.json", arr.as_bytes());
    w("empty.json", b"");
    w("binary.bin", b"\x00\x01\x02garbage\x00\nmore garbage\n");

    let lake = d.join("lake");
    let out = run_ok(
        gardener()
            .arg("ingest")
            .arg(d.join("mixed.ndjson"))
            .arg(d.join("truncated.json"))
            .arg(d.join("empty.json"))
            .arg(d.join("binary.bin"))
            .arg("--lake")
            .arg(&lake)
            .args(["--output", "json"]),
    );
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_reconciles(&s);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reasons = &s["quarantine_reasons"];
    assert_eq!(s["rows"], 4, "a1, r1 (receiveTimestamp), big, t1: {s}");
    // "this is not json" and the two lines of the binary file.
    assert_eq!(reasons["invalid_json"], 3, "{s}");
    assert_eq!(reasons["not_an_object"], 2, "{s}");
    assert_eq!(reasons["wrong_type"], 1, "{s}");
    assert_eq!(reasons["bad_timestamp"], 1, "{s}");
    assert_eq!(reasons["missing_timestamp"], 1, "{s}");
    assert_eq!(reasons["invalid_utf8"], 1, "{s}");
    assert_eq!(reasons["truncated_json"], 1, "{s}");
    assert_eq!(s["blank_lines"], 1);
    assert_eq!(s["timestamp_fallbacks"], 1);
    assert_eq!(s["empty_sources"].as_array().map(Vec::len), Some(1), "{s}");
    // Messages name the file and the line.
    assert!(stderr.contains("mixed.ndjson:2 (byte "), "{stderr}");
    assert!(stderr.contains("truncated.json:3 (byte "), "{stderr}");
    assert!(stderr.contains("empty.json: empty input"), "{stderr}");

    // The quarantine keeps source, line, offset, reason and the exact raw bytes.
    let q: Vec<_> = parquet_files(&lake.join("_quarantine"))
        .iter()
        .flat_map(|p| read_parquet(p))
        .collect();
    let reasons = strings(&q, "reason");
    let sources = strings(&q, "source");
    let lines = int64s(&q, "source_line");
    let offsets = int64s(&q, "source_offset");
    let raw: Vec<Vec<u8>> = q
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name("raw")
                .expect("raw")
                .as_binary::<i32>()
                .clone();
            (0..col.len()).map(move |i| col.value(i).to_vec())
        })
        .collect();
    let utf8 = reasons
        .iter()
        .position(|r| r.as_deref() == Some("invalid_utf8"))
        .expect("invalid_utf8 quarantined");
    assert!(
        raw[utf8].windows(2).any(|w| w == b"\xff\xfe"),
        "raw bytes kept as bytes"
    );
    assert_eq!(lines[utf8], 11);
    let not_json = (0..reasons.len())
        .find(|&i| {
            reasons[i].as_deref() == Some("invalid_json")
                && sources[i]
                    .as_deref()
                    .is_some_and(|s| s.ends_with("mixed.ndjson"))
        })
        .expect("invalid_json from mixed.ndjson");
    assert_eq!(lines[not_json], 2);
    let first_line_len = nd.iter().position(|&b| b == b'\n').expect("newline") as i64 + 1;
    assert_eq!(offsets[not_json], first_line_len);

    // The 2 MB entry is a row like any other, and the receiveTimestamp row is marked.
    let rows = read_logs(&lake);
    let messages = strings(&rows, "message");
    assert!(
        messages
            .iter()
            .any(|m| m.as_deref().is_some_and(|m| m.len() == 2 << 20))
    );
    let ids = strings(&rows, "insert_id");
    let missing: Vec<bool> = rows
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("timestamp_missing")
                .expect("col")
                .as_boolean()
                .clone();
            (0..c.len()).map(move |i| c.value(i))
        })
        .collect();
    let r1 = ids
        .iter()
        .position(|i| i.as_deref() == Some("r1"))
        .expect("r1 row");
    assert!(missing[r1]);
}

/// The same entries as a gcloud array, NDJSON, a stream of pretty objects, gzip and stdin
/// give the same rows.
#[test]
fn every_layout_gives_the_same_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(
        &d.join("gcloud"),
        &["--days", "1", "--rate", "0.05", "--format", "gcloud-json"],
    );
    synth(
        &d.join("sink"),
        &[
            "--days",
            "1",
            "--rate",
            "0.05",
            "--format",
            "sink-ndjson",
            "--gzip",
        ],
    );
    let array = std::fs::read(d.join("gcloud/export.json")).expect("export");
    let entries: Vec<Value> = serde_json::from_slice(&array).expect("array");
    let n = entries.len();
    assert!(n > 1000, "{n}");
    // gcloud logging tail: pretty objects one after another.
    let mut stream = Vec::new();
    for e in &entries {
        serde_json::to_writer_pretty(&mut stream, e).expect("json");
        stream.push(b'\n');
    }
    std::fs::write(d.join("tail.json"), &stream).expect("write");
    // Compact objects back to back on one line each, but via stdin.
    let mut nd = Vec::new();
    for e in &entries {
        serde_json::to_writer(&mut nd, e).expect("json");
        nd.push(b'\n');
    }

    let expect: BTreeSet<String> = entries
        .iter()
        .map(|e| e["insertId"].as_str().unwrap_or_default().to_owned())
        .collect();
    let ids_in = |lake: &std::path::Path| -> BTreeSet<String> {
        strings(&read_logs(lake), "insert_id")
            .into_iter()
            .flatten()
            .collect()
    };
    for (name, source) in [
        ("array", d.join("gcloud/export.json")),
        ("sink", d.join("sink")),
        ("tail", d.join("tail.json")),
    ] {
        let lake = d.join(format!("lake-{name}"));
        let s = ingest(&lake, &[source.to_str().expect("utf8 path")]);
        assert_eq!(s["rows"].as_u64(), Some(n as u64), "{name}: {s}");
        assert_eq!(s["quarantined"], 0, "{name}: {s}");
        assert_eq!(ids_in(&lake), expect, "{name}");
    }
    let lake = d.join("lake-stdin");
    let mut child = gardener()
        .args(["ingest", "-", "--output", "json", "--lake"])
        .arg(&lake)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&nd)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(s["rows"].as_u64(), Some(n as u64), "{s}");
    assert_eq!(ids_in(&lake), expect);
}

/// All well-formed real entries (format `full` and `python_client`) become rows; the
/// hand-quoted ones become rows or quarantined records with a reason, never nothing.
#[test]
fn real_cloud_run_entries() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let entries = shared.join("netra_real/entries.jsonl");
    let s = ingest(&lake, &[entries.to_str().expect("utf8")]);
    let formats =
        std::fs::read_to_string(shared.join("netra_real/entries_format.tsv")).expect("tsv");
    let mut well_formed = BTreeSet::new();
    let mut total = 0;
    for line in formats.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        total += 1;
        if cols[2] == "full" || cols[2] == "python_client" {
            well_formed.insert(cols[0].parse::<i64>().expect("line number"));
        }
    }
    assert_eq!(s["records"].as_u64(), Some(total), "{s}");
    let rows = read_logs(&lake);
    let row_lines: BTreeSet<i64> = int64s(&rows, "source_line").into_iter().collect();
    let missing: Vec<_> = well_formed.difference(&row_lines).collect();
    assert!(
        missing.is_empty(),
        "well-formed entries not ingested, lines {missing:?}"
    );
    // Cloud Run columns are mapped.
    let services: BTreeSet<_> = strings(&rows, "service").into_iter().flatten().collect();
    assert!(services.contains("netra-backend-staging"), "{services:?}");
    let log_ids: BTreeSet<_> = strings(&rows, "log_id").into_iter().flatten().collect();
    assert!(
        log_ids.contains("run.googleapis.com/requests"),
        "{log_ids:?}"
    );
    let messages = strings(&rows, "message");
    assert!(
        messages
            .iter()
            .flatten()
            .any(|m| m.starts_with("GET /") && !m.contains('?'))
    );
    assert!(
        messages.iter().flatten().all(|m| !m.is_empty()),
        "every row has a message"
    );
}

#[test]
fn missing_sources_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gardener()
        .args(["ingest", "/nonexistent/week.json", "--lake"])
        .arg(dir.path().join("lake"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/week.json: no such file or directory"),
        "{err}"
    );
}

/// Regression (#17): a record over the 32 MiB limit was counted as two records (`too_large`
/// for its first 32 MiB, `invalid_json` for the rest of the line), so `records` no longer
/// matched the file. It is one record, quarantined once with its first bytes, in NDJSON and
/// in a gcloud array, and the entries after it land.
#[test]
fn a_record_over_the_size_limit_is_one_quarantined_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let huge = entry("huge", "2025-09-12T02:00:00Z", &"y".repeat(33 << 20));
    let (a, b) = (
        entry("a1", "2025-09-12T01:00:00Z", "before"),
        entry("b1", "2025-09-12T03:00:00Z", "after"),
    );
    std::fs::write(d.join("big.ndjson"), format!("{a}\n{huge}\n{b}\n")).expect("write");
    std::fs::write(
        d.join("big.json"),
        format!("[\n  {a},\n  {huge},\n  {b}\n]\n"),
    )
    .expect("write");
    for (file, line, offset) in [
        ("big.ndjson", 2, a.len() + 1),
        ("big.json", 3, 2 + 2 + a.len() + 2 + 2),
    ] {
        let lake = d.join(format!("lake-{file}"));
        let s = ingest(&lake, &[d.join(file).to_str().expect("utf8")]);
        assert_eq!(
            (
                s["records"].as_u64(),
                s["rows"].as_u64(),
                s["quarantined"].as_u64()
            ),
            (Some(3), Some(2), Some(1)),
            "{file}: {s}"
        );
        assert_eq!(
            s["quarantine_reasons"]["too_large"].as_u64(),
            Some(1),
            "{file}: {s}"
        );
        let q: Vec<_> = parquet_files(&lake.join("_quarantine"))
            .iter()
            .flat_map(|p| read_parquet(p))
            .collect();
        assert_eq!(int64s(&q, "source_line"), vec![line], "{file}");
        assert_eq!(int64s(&q, "source_offset"), vec![offset as i64], "{file}");
        let raw = q[0]
            .column_by_name("raw")
            .expect("raw")
            .as_binary::<i32>()
            .clone();
        assert_eq!(
            raw.value(0),
            &huge.as_bytes()[..32 << 20],
            "{file}: its first 32 MiB"
        );
        let ids = strings(&read_logs(&lake), "insert_id");
        assert_eq!(ids.len(), 2, "{file}: {ids:?}");
    }
}
