//! The live lake: writers that race each other commit every entry once.
//!
//! The library test drives two writers through the commit protocol step by step (the loser
//! must drop the rows the winner committed); the process tests start four `gardener ingest`
//! of overlapping parts of one export at the same moment, into a local lake and into a
//! `gs://` lake on the emulator, and compare with one sequential ingest.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use log_gardener::decode::frame::{FrameOptions, Framer};
use log_gardener::ingest::stage::{Decoded, decode_chunk};
use log_gardener::lake::schema::RowsBuilder;
use log_gardener::lake::writer::{LakeWriter, WriterOptions};
use log_gardener::lake::{Lake, dedup, log};
use serde_json::Value;

use crate::common::*;

/// Entries `range` of a made-up log as NDJSON, one second apart from 23:59 on, so they span
/// two days.
fn ndjson(range: std::ops::Range<usize>) -> String {
    let mut out = String::new();
    for i in range {
        let secs = 23 * 3600 + 59 * 60 + i;
        let ts = format!(
            "2025-09-{:02}T{:02}:{:02}:{:02}Z",
            12 + secs / 86_400,
            secs % 86_400 / 3600,
            secs % 3600 / 60,
            secs % 60
        );
        out.push_str(&format!(
            r#"{{"insertId":"id-{i}","logName":"projects/p/logs/app","timestamp":"{ts}","severity":"ERROR","textPayload":"request {i} failed after {} ms"}}"#,
            i * 7
        ));
        out.push('\n');
    }
    out
}

/// [`ndjson`] entries, decoded.
fn entries(range: std::ops::Range<usize>) -> Decoded {
    let bytes = ndjson(range).into_bytes();
    let mut framer = Framer::new(Cursor::new(bytes), FrameOptions::default());
    let chunk = framer.next_chunk().expect("read").expect("a chunk");
    decode_chunk(&chunk, &Arc::from("test"), &mut RowsBuilder::default())
}

async fn add(w: &mut LakeWriter, d: Decoded) {
    w.add(d.batch, &d.keys, &d.days).await.expect("add");
}

/// A fresh local lake and two writers "a" and "b" that read it before either commits.
async fn two_writers() -> (tempfile::TempDir, Lake, LakeWriter, LakeWriter) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(&dir.path().to_string_lossy())
        .await
        .expect("lake");
    let snap = log::for_writer(&lake, "x").await.expect("snapshot");
    let opts = WriterOptions::default();
    let a = LakeWriter::new(lake.clone(), "a".into(), opts.clone(), snap.clone());
    let b = LakeWriter::new(lake.clone(), "b".into(), opts, snap);
    (dir, lake, a, b)
}

/// The newest version's rows and the distinct entry keys of its files.
async fn committed(lake: &Lake) -> (log::Snapshot, usize) {
    let head = log::snapshot(lake, None).await.expect("head");
    let files: Vec<_> = head.files.values().map(|f| lake.child(&f.path)).collect();
    let keys = dedup::keys_of_files(lake, &files).await.expect("keys");
    (head, keys.len())
}

#[tokio::test]
async fn the_writer_that_loses_the_race_drops_the_rows_the_winner_committed() {
    let (dir, lake, mut a, mut b) = two_writers().await;
    // Both read the same (empty) lake; their rows overlap in 0..40 and 60..100, on both days.
    add(&mut a, entries(0..100)).await;
    add(&mut b, entries(50..60)).await;
    add(&mut b, entries(0..40)).await;
    add(&mut b, entries(100..130)).await;
    // Version 0 is the empty lake's first commit.
    assert_eq!(a.commit(Vec::new()).await.expect("commit a"), Some(1));
    assert_eq!(b.commit(Vec::new()).await.expect("commit b"), Some(2));
    assert_eq!((a.rows, a.duplicates), (100, 0));
    assert_eq!((b.rows, b.duplicates), (30, 50), "b keeps only 100..130");

    let (head, keys) = committed(&lake).await;
    assert_eq!(head.version, Some(2));
    assert_eq!(head.rows(), 130);
    assert_eq!(keys, 130, "every entry once");
    // b's staged files that lost rows were replaced, not left beside the committed ones.
    let on_disk = parquet_files(&dir.path().join("logs"));
    assert_eq!(on_disk.len(), head.files.len(), "{on_disk:?}");

    // A third writer that read the lake before both commits catches up the same way.
    let mut c = LakeWriter::new(
        lake.clone(),
        "c".into(),
        WriterOptions::default(),
        log::Snapshot::default(),
    );
    add(&mut c, entries(120..140)).await;
    assert_eq!(c.commit(Vec::new()).await.expect("commit c"), Some(3));
    assert_eq!((c.rows, c.duplicates), (10, 10));
}

/// Regression: a writer meeting a new day read the commits made since its snapshot to find
/// that day's files, and moved its snapshot past them; rows of an older day it still held
/// in memory (not staged yet) were never checked against those commits, and a batch ingest
/// committed them a second time (four racing ingests into a bucket: 10,571 rows for 8,782
/// entries).
#[tokio::test]
async fn rows_buffered_before_a_new_day_are_checked_against_the_commits_read_for_it() {
    let (_dir, lake, mut a, mut b) = two_writers().await;
    // a holds 0..30 of the first day in memory; b commits the same entries meanwhile.
    add(&mut a, entries(0..30)).await;
    add(&mut b, entries(0..30)).await;
    assert_eq!(b.commit(Vec::new()).await.expect("commit b"), Some(1));
    // a's first row of the second day makes it look at the lake again.
    add(&mut a, entries(60..70)).await;
    assert_eq!(a.commit(Vec::new()).await.expect("commit a"), Some(2));
    assert_eq!(
        (a.rows, a.duplicates),
        (10, 30),
        "a adds only the second day"
    );
    let (head, keys) = committed(&lake).await;
    assert_eq!((head.rows(), keys), (40, 40), "every entry once");
}

/// The sink files of `sink`, sorted.
fn sink_files(sink: &Path) -> Vec<PathBuf> {
    files_under(sink)
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Four overlapping slices of `files` (each about two fifths), covering all of them.
pub fn overlapping_slices(files: &[PathBuf]) -> Vec<Vec<String>> {
    let n = files.len();
    (0..4)
        .map(|k| {
            files[k * n / 5..((k + 2) * n / 5).min(n)]
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .collect()
}

/// Starts one ingest per slice at once and returns their summaries, each checked to
/// reconcile.
pub fn race(slices: &[Vec<String>], lake: &str, command: impl Fn() -> Command) -> Vec<Value> {
    let children: Vec<_> = slices
        .iter()
        .map(|sources| {
            command()
                .arg("ingest")
                .args(sources)
                .args(["--lake", lake, "--output", "json", "--quiet"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start ingest")
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "ingest failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
            assert_reconciles(&s);
            s
        })
        .collect()
}

/// Checks the raced lake against the sequential one: rows once each, the summaries (when
/// given) add up, and `query` and `report` answer the same.
pub fn assert_same_lake(
    summaries: &[Value],
    raced: &str,
    sequential: &str,
    command: impl Fn() -> Command,
) {
    let rows: u64 = summaries
        .iter()
        .map(|s| s["rows"].as_u64().unwrap_or(0))
        .sum();
    let csv = |lake: &str, sql: &str| {
        let out = run_ok(command().args(["query", "--lake", lake, "--format", "csv", sql]));
        String::from_utf8(out.stdout).expect("utf8")
    };
    let count = |lake: &str| {
        csv(
            lake,
            "SELECT count(*) AS n, count(DISTINCT concat_ws('|', log_name, insert_id, CAST(timestamp AS VARCHAR))) AS d FROM logs",
        )
    };
    let expected = count(sequential);
    assert_eq!(count(raced), expected);
    if !summaries.is_empty() {
        assert_eq!(
            expected,
            format!("n,d\n{rows},{rows}\n"),
            "the raced runs' rows add up to the distinct entries"
        );
    }
    let per_signature = |lake: &str| {
        csv(
            lake,
            "SELECT signature_id, severity, count(*) AS n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
        )
    };
    assert_eq!(per_signature(raced), per_signature(sequential));
    let report = |lake: &str| {
        let out = run_ok(command().args(["report", "--lake", lake, "--format", "json"]));
        let mut v: Value = serde_json::from_slice(&out.stdout).expect("report json");
        v["generated_at"] = Value::Null;
        v.to_string().replace(lake, "LAKE")
    };
    assert_eq!(report(raced), report(sequential));
}

#[test]
fn four_concurrent_ingests_into_a_local_lake_write_each_entry_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sink = d.join("sink");
    synth(
        &sink,
        &["--days", "2", "--rate", "0.2", "--format", "sink-ndjson"],
    );
    let files = sink_files(&sink);
    assert!(files.len() >= 20, "{} sink files", files.len());
    let slices = overlapping_slices(&files);
    let command = || {
        let mut c = gardener();
        c.env("SOURCE_DATE_EPOCH", "1757808000");
        c
    };
    let raced = d.join("raced").to_string_lossy().into_owned();
    let summaries = race(&slices, &raced, command);
    let duplicates: u64 = summaries
        .iter()
        .map(|s| s["duplicates"].as_u64().unwrap_or(0))
        .sum();
    assert!(duplicates > 0, "the slices overlap: {summaries:?}");
    let sequential = d.join("sequential");
    ingest(&sequential, &[&sink.to_string_lossy()]);
    assert_same_lake(&summaries, &raced, &sequential.to_string_lossy(), command);
    // Every file on disk is committed: the losers' rewritten files replaced their staged ones.
    let raced = Path::new(&raced);
    assert_eq!(
        parquet_files(&raced.join("logs")).len(),
        committed_files(raced).len()
    );
}

/// `compact` while a loop of queries runs: every answer is the same before, during and
/// after; the lake then has fewer files. `prune` removes exactly the days asked for, and a
/// `compact --grace 0` deletes what no commit names any more.
#[test]
fn compact_changes_no_answer_while_queries_run_and_prune_removes_the_days_asked() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sink = d.join("sink");
    synth(
        &sink,
        &["--days", "3", "--rate", "0.1", "--format", "sink-ndjson"],
    );
    let lake = d.join("lake");
    ingest(&lake, &[&sink.to_string_lossy(), "--rows-per-file", "150"]);
    let files_before = committed_files(&lake).len();
    let answers = |lake: &Path| {
        [
            "SELECT signature_id, severity, count(*) AS n, min(timestamp) AS first FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
            "SELECT dt, count(*) AS n, count(DISTINCT insert_id) AS ids FROM logs GROUP BY dt ORDER BY dt",
        ]
        .map(|sql| query_ok(lake, &["--format", "csv", sql]))
    };
    let baseline = answers(&lake);
    let done = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    let wait_for_round = |n: usize| {
        let start = std::time::Instant::now();
        while rounds.load(Ordering::SeqCst) < n {
            // The loop stops counting if an answer changed: its panic is reported at join.
            if start.elapsed() > std::time::Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    std::thread::scope(|s| {
        let looping = s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                assert_eq!(answers(&lake), baseline, "an answer changed during compact");
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        });
        // A round before, and a round that started before the commit and ends after it.
        wait_for_round(1);
        let out = run_ok(
            gardener()
                .args(["compact", "--lake"])
                .arg(&lake)
                .args(["--output", "json"]),
        );
        let summary: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(
            summary["files_removed"].as_u64().unwrap_or(0) > 10,
            "{summary}"
        );
        let after = rounds.load(Ordering::SeqCst) + 2;
        wait_for_round(after);
        done.store(true, Ordering::SeqCst);
        looping.join().expect("query loop");
    });
    let rounds = rounds.load(Ordering::SeqCst);
    assert!(rounds >= 3, "{rounds} query rounds");
    assert_eq!(answers(&lake), baseline);
    let files_after = committed_files(&lake).len();
    assert!(
        files_after * 5 < files_before,
        "{files_before} files -> {files_after}"
    );
    // Replaced files stay for readers until the grace period ends.
    assert!(parquet_files(&lake.join("logs")).len() > files_after);

    // Retention: the days before the last one go, exactly.
    let days: Vec<String> = baseline[1]
        .lines()
        .skip(1)
        .map(|l| l[..10].to_owned())
        .collect();
    assert!(days.len() >= 3, "{days:?}");
    let last = days.last().expect("a day").clone();
    let out = run_ok(gardener().args(["prune", "--lake"]).arg(&lake).args([
        "--older-than",
        &last,
        "--output",
        "json",
        "--grace",
        "0",
    ]));
    let pruned: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(pruned["days"], serde_json::json!(days[..days.len() - 1]));
    let kept = answers(&lake)[1].clone();
    let last_line = baseline[1].lines().last().expect("last day");
    assert_eq!(kept, format!("dt,n,ids\n{last_line}\n"));
    let total: i64 = query_ok(
        &lake,
        &["--format", "csv", "SELECT sum(count) FROM signatures"],
    )
    .lines()
    .nth(1)
    .and_then(|l| l.parse().ok())
    .expect("a sum");
    assert_eq!(
        total.to_string(),
        last_line.split(',').nth(1).expect("n"),
        "signature counts are the kept rows"
    );
    assert_eq!(
        parquet_files(&lake.join("logs")).len(),
        committed_files(&lake).len(),
        "with --grace 0, every removed file is deleted"
    );
}

/// `ingest --follow` behind a sink that keeps writing: a writer thread drops a day's hourly
/// files into a folder in accelerated time, each in three appends cut at arbitrary bytes
/// (mid-line too); the follower is killed with SIGKILL at three random moments and
/// restarted. At the end the lake equals a one-shot ingest of the final folder: rows,
/// per-signature counts and the report.
#[test]
fn a_follower_killed_three_times_ends_with_the_lake_a_one_shot_ingest_makes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let src = d.join("src");
    synth(
        &src,
        &["--days", "1", "--rate", "0.1", "--format", "sink-ndjson"],
    );
    let sink = d.join("sink");
    std::fs::create_dir_all(&sink).expect("sink dir");
    let lake = d.join("lake");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |t| t.as_nanos() as u64);
    eprintln!("kill moments seed: {seed}");
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let follower = || {
        gardener()
            .args(["ingest"])
            .arg(&sink)
            .arg("--lake")
            .arg(&lake)
            .args(["--follow", "--poll", "0.1", "--output", "json", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start follower")
    };
    let one_shot = d.join("one-shot");
    let writing = AtomicBool::new(true);
    std::thread::scope(|s| {
        s.spawn(|| {
            for file in sink_files(&src) {
                let rel = file.strip_prefix(&src).expect("below src");
                let out = sink.join(rel);
                std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
                let bytes = std::fs::read(&file).expect("read");
                let cuts = [0, bytes.len() / 3, bytes.len() * 2 / 3 + 1, bytes.len()];
                for w in cuts.windows(2) {
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&out)
                        .expect("open for append");
                    std::io::Write::write_all(&mut f, &bytes[w[0]..w[1]]).expect("append");
                    std::thread::sleep(Duration::from_millis(12));
                }
            }
            writing.store(false, Ordering::SeqCst);
        });
        let mut child = follower();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(300 + next(900)));
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            child = follower();
        }
        while writing.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let it catch up with the last appends, then stop it as a service manager would.
        ingest(&one_shot, &[&sink.to_string_lossy()]);
        let count = |lake: &Path| query_ok(lake, &["--format", "csv", "SELECT count(*) FROM logs"]);
        let expected = count(&one_shot);
        let waiting = Instant::now();
        while (!lake.join("signatures").exists() || count(&lake) != expected)
            && waiting.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let started = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "SIGTERM");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stopped promptly"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary_start = stdout.find("\n{\n").map_or(0, |i| i + 1);
        let summary: Value = serde_json::from_str(&stdout[summary_start..]).expect("summary");
        assert_eq!(summary["status"], "stopped");
        assert_reconciles(&summary);
    });
    assert_same_lake(
        &[],
        &lake.to_string_lossy(),
        &one_shot.to_string_lossy(),
        gardener,
    );
}

/// Sixty commits: a checkpoint is written at version 50, and a reader starting from it sees
/// the same lake as one replaying every commit.
#[tokio::test]
async fn a_checkpoint_gives_the_same_snapshot_as_replaying_every_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(&dir.path().to_string_lossy())
        .await
        .expect("lake");
    let snap = log::for_writer(&lake, "w").await.expect("snapshot");
    let mut w = LakeWriter::new(lake.clone(), "w".into(), WriterOptions::default(), snap);
    for i in 0..60 {
        add(&mut w, entries(i * 3..i * 3 + 5)).await;
        let consumed = vec![log::Consumed {
            object: "sink/a.json".into(),
            offset: i as u64,
            line: 1,
            whole: false,
            fingerprint: None,
        }];
        assert_eq!(
            w.commit(consumed).await.expect("commit"),
            Some(i as u64 + 1)
        );
    }
    assert!(
        dir.path()
            .join("_log/00000000000000000050.checkpoint.json")
            .exists()
    );
    let from_checkpoint = log::snapshot(&lake, None).await.expect("snapshot");
    let _ = std::fs::remove_file(dir.path().join("_log/00000000000000000050.checkpoint.json"));
    let replayed = log::snapshot(&lake, None).await.expect("replay");
    assert_eq!(from_checkpoint.files, replayed.files);
    assert_eq!(from_checkpoint.consumed, replayed.consumed);
    assert_eq!(replayed.consumed["sink/a.json"].offset, 59);
    assert_eq!(replayed.rows(), 182, "entries 0..182, each once");
    let at_20 = log::snapshot(&lake, Some(20)).await.expect("at 20");
    assert_eq!(at_20.version, Some(20));
    assert_eq!(at_20.rows(), 62, "commits 1..=20 hold entries 0..62");
}

/// A lake written before the commit log (files under `logs/`, tables at fixed names, no
/// `_log/`) is read as it is, and the next ingest adopts its files as version 0.
#[test]
fn a_lake_from_before_the_log_is_read_and_adopted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "2", "--rate", "0.05"]);
    let lake = d.join("lake");
    let sink = d.join("sink").to_string_lossy().into_owned();
    ingest(&lake, &[&sink]);
    let count =
        |lake: &Path| query_ok(lake, &["--format", "csv", "SELECT count(*) AS n FROM logs"]);
    let before = count(&lake);
    // Make it look as an older gardener left it.
    std::fs::remove_dir_all(lake.join("_log")).expect("rm _log");
    for e in std::fs::read_dir(lake.join("signatures"))
        .expect("signatures")
        .flatten()
    {
        if e.path().is_dir() {
            std::fs::remove_dir_all(e.path()).expect("rm version");
        }
    }
    assert_eq!(count(&lake), before, "read by listing logs/");
    let again = ingest(&lake, &[&sink]);
    assert_eq!(again["rows"], 0, "{again}");
    let adopt: Value = serde_json::from_slice(
        &std::fs::read(lake.join("_log/00000000000000000000.json")).expect("version 0"),
    )
    .expect("json");
    assert_eq!(adopt["operation"], "adopt");
    assert_eq!(count(&lake), before);
}

/// Regression: a commit that landed although the writer saw it fail (a create retried after
/// a lost response meets its own object) is this writer's, not another's: its files stay
/// and its rows count once, not as duplicates of themselves.
#[tokio::test]
async fn a_commit_that_landed_unseen_is_taken_as_the_writers_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(&dir.path().to_string_lossy())
        .await
        .expect("lake");
    let snap = log::for_writer(&lake, "x").await.expect("snapshot");
    let mut a = LakeWriter::new(
        lake.clone(),
        "a".into(),
        WriterOptions::default(),
        snap.clone(),
    );
    add(&mut a, entries(0..100)).await;
    a.flush_all().await.expect("stage");
    // The commit a's first attempt made, as the store keeps it.
    let staged = parquet_files(&dir.path().join("logs"));
    assert_eq!(staged.len(), 2, "one file per day");
    let add_files: Vec<log::DataFile> = staged
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(dir.path())
                .expect("below")
                .to_string_lossy()
                .into_owned();
            let day = rel.split("dt=").nth(1).expect("dt")[..10].to_owned();
            let rows = read_parquet(p).iter().map(|b| b.num_rows() as u64).sum();
            log::DataFile {
                path: rel,
                day,
                rows,
                bytes: std::fs::metadata(p).expect("size").len(),
                min_ts: 0,
                max_ts: i64::MAX,
                schema_version: log_gardener::lake::schema::SCHEMA_VERSION,
                layout: log_gardener::lake::writer::LAYOUT,
            }
        })
        .collect();
    let landed = log::Commit {
        version: snap.next_version(),
        operation: log::Operation::Ingest,
        run_id: "a".into(),
        committed_at: log::now(),
        add: add_files,
        remove: Vec::new(),
        consumed: Vec::new(),
    };
    assert!(log::try_commit(&lake, &landed).await.expect("commit"));
    assert_eq!(
        a.commit(Vec::new()).await.expect("commit"),
        Some(landed.version)
    );
    assert_eq!((a.rows, a.duplicates), (100, 0));
    let head = log::snapshot(&lake, None).await.expect("head");
    assert_eq!(head.rows(), 100);
    assert!(
        staged.iter().all(|p| p.exists()),
        "the committed files were kept"
    );
}

/// Regression: a second writer starting while the first one of a new lake has staged files
/// must not take them for a lake written before the log (and adopt them half-written).
#[tokio::test]
async fn staged_files_of_the_first_writer_are_not_adopted_by_the_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(&dir.path().to_string_lossy())
        .await
        .expect("lake");
    let snap = log::for_writer(&lake, "a").await.expect("snapshot");
    let mut a = LakeWriter::new(lake.clone(), "a".into(), WriterOptions::default(), snap);
    add(&mut a, entries(0..50)).await;
    a.flush_all().await.expect("stage");
    let b = log::for_writer(&lake, "b").await.expect("snapshot b");
    assert!(
        b.files.is_empty(),
        "b adopted a's staged files: {:?}",
        b.files
    );
    a.commit(Vec::new()).await.expect("commit a");
    assert_eq!((a.rows, a.duplicates), (50, 0));
    assert_eq!(log::snapshot(&lake, None).await.expect("head").rows(), 50);
}

/// Regression: a followed file replaced by other, longer content (not appended to) is read
/// again from its start, not from the old offset (which would cut its first entries).
#[test]
fn a_followed_file_replaced_by_other_content_is_read_from_its_start() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = dir.path().join("sink");
    std::fs::create_dir_all(&sink).expect("sink");
    let file = sink.join("app.json");
    std::fs::write(&file, ndjson(0..10)).expect("write");
    let lake = dir.path().join("lake");
    let mut child = gardener()
        .arg("ingest")
        .arg(&sink)
        .arg("--lake")
        .arg(&lake)
        .args(["--follow", "--poll", "0.1", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("follower");
    let wait_for = |n: usize| {
        let start = Instant::now();
        loop {
            let ok = lake.join("signatures").exists()
                && query_ok(
                    &lake,
                    &["--format", "csv", "SELECT count(*) AS n FROM logs"],
                ) == format!("n\n{n}\n");
            if ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never reached {n} rows"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(10);
    let replacement = dir.path().join("replacement");
    std::fs::write(&replacement, ndjson(100..130)).expect("write");
    std::fs::rename(&replacement, &file).expect("replace");
    wait_for(40);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "SIGTERM");
    assert!(child.wait().expect("wait").success());
    let ids = query_ok(
        &lake,
        &[
            "--format",
            "csv",
            "SELECT min(insert_id) AS lo, count(*) AS n FROM logs WHERE length(insert_id) = 6",
        ],
    );
    assert_eq!(
        ids, "lo,n\nid-100,30\n",
        "the replacement's first entries are in"
    );
}

/// Regression: a writer whose view of the lake is older than a compaction that was since
/// vacuumed (a follower idle for hours behind a daily `compact`) reads the day from the
/// newest version instead of failing on the deleted files. The same vacuum deletes the
/// session tables cluster queries left a day ago.
#[tokio::test]
async fn a_writer_behind_a_vacuumed_compaction_reads_the_newest_files() {
    use log_gardener::lake::compact::{CompactOptions, compact};
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(&dir.path().to_string_lossy())
        .await
        .expect("lake");
    for (run, range) in [("a", 0..30), ("b", 30..60)] {
        let snap = log::for_writer(&lake, run).await.expect("snapshot");
        let mut w = LakeWriter::new(lake.clone(), run.into(), WriterOptions::default(), snap);
        add(&mut w, entries(range)).await;
        w.commit(Vec::new()).await.expect("commit");
    }
    let stale = log::snapshot(&lake, None).await.expect("snapshot");
    // Session tables of cluster queries: a killed client's, two days old, and a running one's.
    let scratch = dir.path().join("_scratch");
    let (old, new) = (scratch.join("a/0-t.parquet"), scratch.join("b/0-t.parquet"));
    for f in [&old, &new] {
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, b"PAR1").expect("write");
    }
    let two_days = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .and_then(|f| f.set_modified(two_days))
        .expect("set mtime");
    let opts = CompactOptions {
        range: log_gardener::range::TimeRange {
            since: None,
            until: None,
        },
        rows_per_file: 1000,
        grace: std::time::Duration::ZERO,
        zstd_level: 1,
    };
    let done = compact(&lake, &opts).await.expect("compact");
    assert!(done.files_removed >= 2 && done.deleted >= 3, "{done:?}");
    assert!(
        !old.exists() && new.exists(),
        "only the day-old session table goes"
    );
    let mut w = LakeWriter::new(lake.clone(), "c".into(), WriterOptions::default(), stale);
    add(&mut w, entries(50..70)).await;
    w.commit(Vec::new()).await.expect("commit");
    assert_eq!((w.rows, w.duplicates), (10, 10));
    assert_eq!(log::snapshot(&lake, None).await.expect("head").rows(), 70);
}
