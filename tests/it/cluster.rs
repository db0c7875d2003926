//! `--cluster`: the same SQL, named queries and report on a Ballista cluster of this
//! binary's own roles (a scheduler and two executors, processes on free local ports), and
//! what happens when an executor dies mid-query.
#![cfg(feature = "cluster")]

use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{gardener, synth};

/// A free port whose successor is free too (an executor takes PORT and PORT+1).
fn free_pair() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `gardener cluster ARGS` with `env`, its output in `dir/name`.
fn spawn_role(dir: &Path, name: &str, args: &[String], env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(dir.join(name)).expect("log");
    let mut cmd = gardener();
    cmd.arg("cluster").args(args).env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start a cluster role")
}

/// A scheduler and executors, killed when dropped.
pub struct Cluster {
    pub url: String,
    scheduler: Child,
    pub executors: Vec<Child>,
    logs: tempfile::TempDir,
}

impl Cluster {
    /// Starts a scheduler and `executors` executors of `cores` task slots with `env`
    /// (credentials), and waits until every executor has registered.
    pub fn start(executors: usize, cores: usize, env: &[(&str, &str)]) -> Cluster {
        Cluster::start_with(&[], executors, cores, env)
    }

    /// [`Cluster::start`] with more arguments for the scheduler.
    pub fn start_with(
        scheduler_args: &[&str],
        executors: usize,
        cores: usize,
        env: &[(&str, &str)],
    ) -> Cluster {
        let logs = tempfile::tempdir().expect("tempdir");
        let port = free_pair();
        let dir = logs.path().to_owned();
        let spawn = |name: &str, args: &[String]| spawn_role(&dir, name, args, env);
        let mut args = vec![
            "scheduler".to_owned(),
            "--bind".to_owned(),
            format!("127.0.0.1:{port}"),
        ];
        args.extend(scheduler_args.iter().map(|a| a.to_string()));
        let scheduler = spawn("scheduler", &args);
        let mut cluster = Cluster {
            url: format!("df://127.0.0.1:{port}"),
            scheduler,
            executors: Vec::new(),
            logs,
        };
        cluster.wait_for("scheduler", "listening", 1);
        for i in 0..executors {
            let name = format!("executor{i}");
            let work = dir.join(format!("work{i}"));
            let child = spawn(
                &name,
                &[
                    "executor".into(),
                    "--scheduler".into(),
                    format!("127.0.0.1:{port}"),
                    "--bind".into(),
                    format!("127.0.0.1:{}", free_pair()),
                    "--cores".into(),
                    cores.to_string(),
                    "--work-dir".into(),
                    work.display().to_string(),
                ],
            );
            cluster.executors.push(child);
            cluster.wait_for(&name, "registration succeed", 1);
        }
        cluster
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }

    /// Waits until the log of `name` holds `text` `times` times.
    fn wait_for(&self, name: &str, text: &str, times: usize) {
        let start = Instant::now();
        while self.log(name).matches(text).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{name} did not log {text:?} {times} times in 60 s: {}",
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain([&mut self.scheduler]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// A `gardener` client process, its output going to files: nothing need read a pipe while
/// it runs.
struct Client {
    child: Child,
    stdout: std::fs::File,
    stderr: std::fs::File,
}

impl Client {
    fn start(mut cmd: Command) -> Client {
        let file = || tempfile::tempfile().expect("output file");
        let (stdout, stderr) = (file(), file());
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().expect("stdout"))
            .stderr(stderr.try_clone().expect("stderr"))
            .spawn()
            .expect("start gardener");
        Client {
            child,
            stdout,
            stderr,
        }
    }

    /// Its output; it must end within `limit`, else it is killed and the test fails with
    /// `context`: a hung query must fail the suite, not stall it (a cluster whose executors
    /// were all dropped, as after the VM was paused for longer than the heartbeat timeout,
    /// fails a query only after the scheduler's `--executor-wait`, three times).
    fn finish(mut self, limit: Duration, context: impl Fn() -> String) -> Output {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the query") {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the query did not end in {limit:?}: {}", context());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let read = |mut f: std::fs::File| {
            let mut bytes = Vec::new();
            f.seek(SeekFrom::Start(0)).expect("rewind");
            f.read_to_end(&mut bytes).expect("read the output");
            bytes
        };
        Output {
            status,
            stdout: read(self.stdout),
            stderr: read(self.stderr),
        }
    }
}

/// CSV rows in a stable order, the header first.
fn normalised(csv: &str) -> Vec<String> {
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    if lines.len() > 1 {
        lines[1..].sort();
    }
    lines
}

/// `gardener ARGS` with `env`, locally and on `cluster`: the same output.
pub fn same_on_cluster(cluster: &Cluster, env: &[(&str, &str)], args: &[&str]) -> String {
    let run = |extra: &[&str]| {
        let mut cmd = gardener();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args)
            .args(extra)
            .env("SOURCE_DATE_EPOCH", "1757808000");
        let out = Client::start(cmd).finish(Duration::from_secs(180), || cluster.log("scheduler"));
        ok(out, &format!("{args:?} {extra:?}"))
    };
    let local = run(&[]);
    let remote = run(&["--cluster", &cluster.url]);
    if args.contains(&"csv") {
        assert_eq!(normalised(&local), normalised(&remote), "{args:?}");
    } else {
        assert_eq!(local, remote, "{args:?}");
    }
    local
}

/// Every named query (except `incidents`, which is the report), `--param`, a group-by, a
/// join and a JSON-function filter, and the report, against `lake` on `cluster`.
pub fn check_lake(cluster: &Cluster, env: &[(&str, &str)], lake: &str) {
    let list = ok(
        gardener().args(["query", "--list"]).output().expect("list"),
        "--list",
    );
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty() && *n != "incidents")
        .collect();
    assert!(names.len() >= 10, "named queries: {list}");
    let q = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "query", "--lake", lake, "--format", "csv", "--since", "3000d",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect()
    };
    for name in &names {
        let args = q(&["--named", name]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        same_on_cluster(cluster, env, &args);
    }
    for sql in [
        "SELECT severity, count(*) AS n, min(timestamp) AS first FROM logs GROUP BY severity",
        "SELECT s.max_severity, count(*) AS n FROM logs l JOIN signatures s \
         ON l.signature_id = s.signature_id GROUP BY s.max_severity",
        "SELECT insert_id, json_get_str(json_payload, 'request_id') AS rid FROM logs \
         WHERE json_get_str(json_payload, 'request_id') IS NOT NULL",
    ] {
        let args = q(&[sql]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = same_on_cluster(cluster, env, &args);
        assert!(out.lines().count() > 1, "{sql}: no rows");
    }
    // A range whose bounds cut files: those files filter their rows by `timestamp` on the
    // executors too, even with the session's filter pushdown off (the scheduler planned
    // with the client's options and returned the straddling files' rows whole).
    same_on_cluster(
        cluster,
        env,
        &[
            "query",
            "--lake",
            lake,
            "--format",
            "csv",
            "--since",
            "30h",
            "--until",
            "6h",
            "SET datafusion.execution.parquet.pushdown_filters = false; \
             SELECT count(*) AS n, min(timestamp) AS first, max(timestamp) AS last FROM logs",
        ],
    );
    // --partitions splits each step into that many tasks on the executors.
    let args = q(&["--partitions", "3", "--named", "co_occurrence"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    same_on_cluster(cluster, env, &args);
    let log = cluster.log("scheduler");
    assert!(
        log.contains("], 3), input_partitions="),
        "no 3-way shuffle:\n{log}"
    );
    let args = q(&["--named", "recent", "--param", "per_signature=2"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    same_on_cluster(cluster, env, &args);
    same_on_cluster(
        cluster,
        env,
        &[
            "report", "--lake", lake, "--since", "3000d", "--format", "json",
        ],
    );
    // The cluster did the work: the scheduler took a job per query at least.
    let jobs = cluster.log("scheduler").matches("Job submitted").count();
    assert!(jobs > names.len() + 3, "{jobs} jobs on the scheduler");
}

fn small_lake(dir: &Path) -> PathBuf {
    let export = dir.join("export");
    synth(&export, &["--days", "2", "--rate", "0.2", "--seed", "7"]);
    let lake = dir.join("lake");
    crate::common::ingest(&lake, &[export.to_str().expect("utf8")]);
    lake
}

#[test]
fn named_queries_sql_and_report_match_on_a_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = small_lake(dir.path());
    let cluster = Cluster::start(2, 2, &[]);
    check_lake(&cluster, &[], lake.to_str().expect("utf8"));
    // The named queries' session tables went through the lake's scratch folder, and each
    // query deleted its own.
    let scratch = lake.join("_scratch");
    assert!(
        scratch.is_dir(),
        "no session table was written to {scratch:?}"
    );
    let left = crate::common::files_under(&scratch);
    assert!(left.is_empty(), "left in the scratch folder: {left:?}");
}

/// An executor killed (SIGKILL) in the middle of a query: the scheduler cancels the job
/// rather than rerun its stages (Ballista 55's rerun gave a wrong answer here), and the
/// client runs the query again on the executor left: the right answer, and a warning.
#[test]
fn a_query_survives_a_killed_executor_with_the_right_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = small_lake(dir.path());
    let lake = lake.to_str().expect("utf8");
    // A self-join per signature: a few seconds of work on either side of the kill.
    let sql = "SELECT a.severity, count(*) AS n, sum(length(b.message)) AS m FROM logs a \
               JOIN logs b ON a.signature_id = b.signature_id AND a.service = b.service \
               GROUP BY a.severity";
    let args = [
        "query", "--lake", lake, "--since", "3000d", "--format", "csv", sql,
    ];
    let local = ok(gardener().args(args).output().expect("run"), "local");
    // Two task slots each: with one, a task of the cancelled job that the other executor is
    // still running keeps its slot for ever (Ballista 55: its late status finds no job to
    // refund the slot from, see `engine::cluster::roles`), and the rerun waits; seen on a
    // loaded machine, where that task outlived the cancellation by 20 s.
    let mut cluster = Cluster::start(2, 2, &[]);
    let mut client = gardener();
    client
        .args(args)
        .args(["--cluster", &cluster.url])
        .env_remove("RUST_LOG");
    let client = Client::start(client);
    // The victim is an executor running one of the query's tasks, the same one for 300 ms
    // (the join; the scans take milliseconds). Killing an idle one is noticed when the
    // scheduler next launches a task on it; Ballista 55 then rolls the stage back without
    // returning the task slot the other executor held for it, and with one slot each the
    // rerun waits forever: see `engine::cluster::roles`.
    let start = Instant::now();
    let tasks = |i: usize| {
        let log = cluster.log(&format!("executor{i}"));
        (
            log.matches("Execute task").count(),
            log.matches("Finished task").count(),
        )
    };
    let busy = 'found: loop {
        let before: Vec<_> = (0..cluster.executors.len()).map(tasks).collect();
        std::thread::sleep(Duration::from_millis(300));
        for (i, seen) in before.iter().enumerate() {
            if seen.0 > seen.1 && tasks(i) == *seen {
                break 'found i;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no executor ran a task for 300 ms: {}",
            cluster.log("scheduler")
        );
    };
    let victim = &mut cluster.executors[busy];
    victim.kill().expect("kill the executor");
    victim.wait().expect("reap the executor");
    let out = client.finish(Duration::from_secs(240), || cluster.log("scheduler"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let remote = ok(out, "query on the cluster");
    assert_eq!(normalised(&local), normalised(&remote), "{stderr}");
    assert!(
        cluster.log("scheduler").contains("was lost while job"),
        "the kill landed after the query: {}",
        cluster.log("scheduler")
    );
    assert!(stderr.contains("running it again"), "{stderr}");
}

/// A scheduler with no executor: the query does not wait for ever. The scheduler cancels
/// it after `--executor-wait`, the client runs it again twice, then fails with one
/// sentence that says why and what to start.
#[test]
fn a_query_no_executor_can_run_fails_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = small_lake(dir.path());
    let cluster = Cluster::start_with(&["--executor-wait", "1"], 0, 1, &[]);
    let mut cmd = gardener();
    cmd.args(["query", "--lake", lake.to_str().expect("utf8")])
        .args(["SELECT count(*) FROM logs", "--cluster", &cluster.url]);
    let out = Client::start(cmd).finish(Duration::from_secs(120), || cluster.log("scheduler"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cancelled the query 3 times")
            && stderr.contains("start `gardener cluster executor"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("running it again").count(), 2, "{stderr}");
    assert!(
        cluster
            .log("scheduler")
            .contains("waited 1 s with no executor registered"),
        "{}",
        cluster.log("scheduler")
    );
}

/// An executor the scheduler drops after missed heartbeats (stopped with SIGSTOP for longer
/// than `--executor-timeout`, as a paused VM leaves it) registers again on its own, and
/// the cluster answers again; Ballista's executor exits there, and a cluster whose
/// executors all had ran nothing until someone restarted them.
#[test]
fn an_executor_the_scheduler_dropped_registers_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = small_lake(dir.path());
    let lake = lake.to_str().expect("utf8");
    let args = [
        "query",
        "--lake",
        lake,
        "--since",
        "3000d",
        "--format",
        "csv",
        "SELECT count(*) FROM logs",
    ];
    let local = ok(gardener().args(args).output().expect("run"), "local");
    let mut cluster = Cluster::start_with(&["--executor-timeout", "6"], 1, 1, &[]);
    let pid = libc::pid_t::try_from(cluster.executors[0].id()).expect("pid");
    // libc rather than the `kill` program, which a minimal machine may lack.
    let signal = |sig: libc::c_int| {
        // SAFETY: sends a signal to the child this test started and still holds.
        let sent = unsafe { libc::kill(pid, sig) };
        assert_eq!(sent, 0, "signal {sig} to {pid}");
    };
    signal(libc::SIGSTOP);
    // Resumed whatever happens: a stopped process would outlive the test.
    let paused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cluster.wait_for("scheduler", "heartbeat timed out after 6s", 1)
    }));
    signal(libc::SIGCONT);
    if let Err(panic) = paused {
        std::panic::resume_unwind(panic);
    }
    cluster.wait_for("executor0", "registering again", 1);
    cluster.wait_for("executor0", "registration succeed", 2);
    let mut cmd = gardener();
    cmd.args(args).args(["--cluster", &cluster.url]);
    let out = Client::start(cmd).finish(Duration::from_secs(180), || cluster.log("scheduler"));
    assert_eq!(
        normalised(&local),
        normalised(&ok(out, "query after the pause"))
    );
    // A signal still ends it, for good.
    signal(libc::SIGTERM);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = cluster.executors[0].try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "SIGTERM did not end the executor: {}",
            cluster.log("executor0")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}: {}", cluster.log("executor0"));
}

/// `gardener ARGS` fails with exit code 2 and `says` on stderr.
fn fails_saying(args: &[&str], says: &str) {
    let out = gardener().args(args).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
}

/// A heartbeat timeout no executor can meet (they send one every 5 s) is refused up front.
#[test]
fn an_executor_timeout_below_the_heartbeat_is_refused() {
    fails_saying(
        &[
            "cluster",
            "scheduler",
            "--bind",
            "127.0.0.1:1",
            "--executor-timeout",
            "5",
        ],
        "expected whole seconds from 6 to 86400",
    );
}

/// A scheduler that is not there: one plain sentence naming it, exit code 2.
#[test]
fn an_unreachable_scheduler_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = small_lake(dir.path());
    let lake = lake.to_str().expect("utf8");
    fails_saying(
        &[
            "query",
            "--lake",
            lake,
            "SELECT 1",
            "--cluster",
            "df://127.0.0.1:1",
        ],
        "cluster df://127.0.0.1:1 is unreachable",
    );
}
