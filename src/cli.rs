//! Command-line definitions (clap): one `Args` struct per subcommand, with its conversion
//! into the library's options. `main.rs` parses, dispatches and maps errors to exit codes.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::common::time::Nanos;
use crate::ingest::IngestOptions;
use crate::lake::compact::CompactOptions;
use crate::lake::writer::WriterOptions;
use crate::range::{RangeError, RangeSpec, time_at, wall_clock};
use crate::synth::{SynthFormat, SynthOptions};

#[derive(Debug, Parser)]
#[command(
    name = "gardener",
    version,
    about = "Cloud Logging exports -> Parquet lake -> signatures, SQL and the weekly triage report"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream Cloud Logging exports into the Parquet lake.
    ///
    /// SOURCE is a file, a directory (walked recursively, e.g. a synced sink folder), a glob,
    /// '-' for stdin, or gs://BUCKET/PREFIX (every object below it). JSON arrays (gcloud --format=json), newline-delimited entries (sink
    /// files), and streams of JSON objects (gcloud logging tail) are detected by content;
    /// gzip by its magic bytes. Bad records never stop the run: they go to
    /// LAKE/_quarantine/ with their position and reason.
    Ingest(IngestArgs),
    /// Merge each day's small files into sorted files of --rows-per-file rows.
    ///
    /// Files an older gardener wrote (without the `request_id` or `trace_key` column, or in
    /// one row group of all rows) are rewritten in the current schema and layout (the
    /// columns added, the problem rows in a row group of their own), whatever their size.
    /// Safe while queries and ingests run: it is one commit of the lake's log, and the files
    /// it replaces stay for --grace seconds for queries that opened the lake before. Also
    /// deletes files removed by earlier commits more than --grace ago, and files no commit
    /// names (left by killed runs) once they are a day old.
    Compact(CompactArgs),
    /// Remove whole days before a date or older than a span (retention).
    ///
    /// One commit of the lake's log (recorded in the ledger); the signatures tables are
    /// rebuilt without those days. The files are deleted after --grace seconds.
    Prune(PruneArgs),
    /// Run DataFusion SQL over the lake: tables `logs` and `signatures`.
    ///
    /// `logs` has every lake column plus `signature_id` and `template`; JSON text columns work
    /// with the datafusion-functions-json functions (json_get_str(json_payload, 'k'), ...).
    /// --since/--until take RFC 3339 times, dates, or spans (7d, 36h, 90m); spans count back
    /// from --now, or else from the NEWEST ENTRY IN THE LAKE (exports are often old). Other
    /// days' files are not read. Read-only unless --allow-write.
    Query(QueryArgs),
    /// Write the triage report ("worklog") for a range: issues by priority with pattern,
    /// frequency, impact, samples, trend, root-cause links, bursts and the queries used.
    ///
    /// Issues are signatures with severity >= WARNING or HTTP status >= 500, plus what a
    /// rule promotes. Priorities follow built-in rules (see README), overridden by --rules.
    /// Relative --since/--until count back from the newest entry in the lake.
    Report(ReportArgs),
    /// Sign plain messages, one per line: CSV `line_id,signature_id,template` on stdout.
    ///
    /// Reads FILE (or stdin for '-' or no argument); invalid UTF-8 is replaced. Templates
    /// write variable parts as `<*>`; the same template always has the same signature_id.
    Mine(MineArgs),
    /// Generate realistic sample exports for demos and tests (deterministic per seed).
    Synth(SynthArgs),
    /// Run a role of an Apache DataFusion Ballista cluster that `query` and `report` use
    /// with --cluster df://HOST:PORT: one scheduler, any number of executors.
    ///
    /// The roles have this binary's functions and object stores (local paths, gs://); a
    /// local lake must be at the same path on every machine. SIGTERM stops a role
    /// (an executor finishes its running tasks first).
    Cluster(ClusterArgs),
}

/// `gardener cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: Role,
}

/// A cluster role.
#[derive(Debug, Subcommand)]
pub enum Role {
    /// The scheduler: plans queries into stages and hands tasks to executors.
    Scheduler(SchedulerArgs),
    /// An executor: runs tasks; PORT serves results (Arrow Flight), PORT+1 its gRPC service.
    /// When the scheduler stops it (after missed heartbeats) it registers again; SIGTERM or
    /// Ctrl-C ends it.
    Executor(ExecutorArgs),
}

/// `gardener cluster scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// HOST:PORT to listen on (clients use --cluster df://HOST:PORT).
    #[arg(long, default_value = "0.0.0.0:50050", value_name = "HOST:PORT")]
    pub bind: String,
    /// How long a query waits while no executor is registered (none started yet, or all
    /// dropped, e.g. after missing heartbeats) before it is cancelled and its client told
    /// so.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub executor_wait: u64,
    /// How long an executor may send no heartbeat (one every 5 s) before it is dropped and
    /// the queries it ran are run again elsewhere. Raise it where machines pause (VMs).
    #[arg(long, default_value_t = 20, value_name = "SECONDS", value_parser = heartbeat_timeout)]
    pub executor_timeout: u64,
}

/// `--executor-timeout`: longer than the heartbeat interval, at most a day.
fn heartbeat_timeout(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(v) if (6..=86_400).contains(&v) => Ok(v),
        _ => Err("expected whole seconds from 6 to 86400 (a heartbeat comes every 5 s)".into()),
    }
}

#[cfg(feature = "cluster")]
impl SchedulerArgs {
    pub fn options(self) -> crate::engine::cluster::roles::SchedulerOptions {
        crate::engine::cluster::roles::SchedulerOptions {
            bind: self.bind,
            executor_wait: std::time::Duration::from_secs(self.executor_wait),
            executor_timeout: std::time::Duration::from_secs(self.executor_timeout),
        }
    }
}

/// `gardener cluster executor`.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler's HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub scheduler: String,
    #[arg(long, default_value = "0.0.0.0:50051", value_name = "HOST:PORT")]
    pub bind: String,
    /// The host name others reach this executor at (default: the bind host).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
    /// Tasks at once (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub cores: usize,
    /// Where shuffle files go (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<String>,
}

#[cfg(feature = "cluster")]
impl ExecutorArgs {
    pub fn options(self) -> crate::engine::cluster::roles::ExecutorOptions {
        crate::engine::cluster::roles::ExecutorOptions {
            scheduler: self.scheduler,
            bind: self.bind,
            external_host: self.external_host,
            cores: self.cores,
            work_dir: self.work_dir,
        }
    }
}

/// `gardener ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories, globs, '-' for stdin, or gs://BUCKET/PREFIX.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// The lake: a directory (created if missing) or gs://BUCKET/PREFIX.
    #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
    pub lake: String,
    /// Only entries at or after T (RFC 3339, a date, or a span like 7d back from now).
    /// Sink date folders (LOG_ID/YYYY/MM/DD/) and hourly files before it are not read.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only entries before T (same forms as --since).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Write buffered rows at least this often, so a live stream is queryable (seconds).
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub flush_interval: f64,
    /// Decoder threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rows per Parquet file (in two row groups: the problem rows and the others).
    #[arg(long, default_value_t = 262_144)]
    pub rows_per_file: usize,
    /// Keep following the sources (a sink folder or gs:// prefix): every --poll seconds,
    /// ingest new objects and what existing ones gained, until SIGINT or SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 30.0, value_name = "SECS", requires = "follow")]
    pub poll: f64,
    /// Summary format (with --follow, also one JSON status line per poll).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// No warnings and no progress bar; only the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gardener compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The lake: a directory or gs://BUCKET/PREFIX.
    #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
    pub lake: String,
    /// Only days at or after T (RFC 3339, a date, or a span like 7d back from now).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only days before T (same forms as --since).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Files under half this many rows are merged; no file written has more.
    #[arg(long, default_value_t = 262_144)]
    pub rows_per_file: usize,
    /// Seconds a replaced file stays on disk for queries still reading it.
    #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
    pub grace: f64,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `gardener prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The lake: a directory or gs://BUCKET/PREFIX.
    #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
    pub lake: String,
    /// Days before this go: a span counted back from now (30d) or a date/time.
    #[arg(long, value_name = "T")]
    pub older_than: String,
    /// Seconds a removed file stays on disk for queries still reading it.
    #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
    pub grace: f64,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `gardener query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run (or use -f FILE or --named NAME). Statements before the last may
    /// create session tables or views (`CREATE TABLE t AS SELECT ...;`); the last answers.
    /// It may start with a `--` comment.
    #[arg(value_name = "SQL", allow_hyphen_values = true)]
    pub sql: Option<String>,
    #[arg(
        long,
        value_name = "LAKE",
        env = "GARDENER_LAKE",
        required_unless_present = "list"
    )]
    pub lake: Option<String>,
    /// Read the SQL from FILE ('-' for stdin).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "sql"
    )]
    pub file: Option<String>,
    /// Run a named query from sql/ (see --list).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["sql", "file"])]
    pub named: Option<String>,
    /// A parameter of the named query or file, `${name}` in its SQL.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// What relative times count back from (default: the newest entry in the lake).
    #[arg(long, value_name = "T")]
    pub now: Option<String>,
    #[arg(long, value_enum, default_value_t = crate::engine::output::Format::Table)]
    pub format: crate::engine::output::Format,
    /// Allow statements that write or change state (COPY, INSERT, CREATE, DROP, SET).
    #[arg(long)]
    pub allow_write: bool,
    /// Only this service's rows (`logs` is restricted like --since/--until do).
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// List the named queries and exit.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// `gardener report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
    pub lake: String,
    #[arg(long, value_name = "T", default_value = "7d")]
    pub since: String,
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// What relative times count back from (default: the newest entry in the lake).
    #[arg(long, value_name = "T")]
    pub now: Option<String>,
    /// Only this service.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    #[arg(long, value_enum, default_value_t = crate::report::Format::Md)]
    pub format: crate::report::Format,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Priority rules (TOML) tried before the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Known-issue ledger (TOML): signature -> tracker URL and open/resolved/muted.
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// Write one ready-to-file Markdown issue per new issue into DIR.
    #[arg(long, value_name = "DIR")]
    pub drafts: Option<PathBuf>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// Where `query` and `report` run.
#[derive(Debug, Args)]
pub struct ExecutionArgs {
    /// Run on this Ballista cluster (see `gardener cluster`).
    #[arg(long, value_name = "df://HOST:PORT", env = "GARDENER_CLUSTER")]
    pub cluster: Option<String>,
    /// Tasks each step is split into (DataFusion's target_partitions). Default: this
    /// machine's cores; with --cluster, give the executors' cores in total.
    #[arg(long, value_name = "N", env = "GARDENER_PARTITIONS", value_parser = clap::value_parser!(u16).range(1..))]
    pub partitions: Option<u16>,
}

impl ExecutionArgs {
    pub fn execution(&self) -> crate::engine::Execution {
        crate::engine::Execution {
            cluster: self.cluster.clone(),
            partitions: self.partitions.map(usize::from),
        }
    }
}

/// `gardener mine`.
#[derive(Debug, Args)]
pub struct MineArgs {
    /// The messages, one per line.
    #[arg(default_value = "-")]
    pub file: String,
    /// Threads for masking (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// `gardener synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The scenario to generate.
    #[arg(long, default_value = "netra-staging")]
    pub scenario: String,
    /// Days of logs, ending at the scenario's reference time.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = SynthFormat::SinkNdjson)]
    pub format: SynthFormat,
    /// Gzip the files.
    #[arg(long)]
    pub gzip: bool,
    /// Average entries per second over the whole range.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl IngestArgs {
    /// The library's options for this command line.
    pub fn options(&self) -> IngestOptions {
        IngestOptions {
            sources: self.sources.clone(),
            lake: self.lake.clone(),
            range: RangeSpec {
                since: self.since.clone(),
                until: self.until.clone(),
                now: None,
            },
            flush_interval: Duration::from_secs_f64(self.flush_interval.max(0.1)),
            threads: self.threads,
            // Not a terminal: nothing but the summary on stdout; warnings stay on stderr.
            quiet: self.quiet,
            writer: WriterOptions {
                rows_per_file: self.rows_per_file.max(1),
                ..WriterOptions::default()
            },
            follow: self
                .follow
                .then(|| Duration::from_secs_f64(self.poll.max(0.05))),
            status_json: self.output == OutputFormat::Json,
            ..IngestOptions::default()
        }
    }
}

impl CompactArgs {
    /// The library's options; relative `--since/--until` count back from now.
    pub fn options(&self) -> Result<CompactOptions, RangeError> {
        let range = RangeSpec {
            since: self.since.clone(),
            until: self.until.clone(),
            now: None,
        }
        .resolve(Some(wall_clock()))?;
        Ok(CompactOptions {
            range,
            rows_per_file: self.rows_per_file.max(1),
            grace: grace(self.grace),
            zstd_level: WriterOptions::default().zstd_level,
        })
    }
}

impl PruneArgs {
    /// Days before this go.
    pub fn cutoff(&self) -> Result<Nanos, RangeError> {
        time_at("older-than", &self.older_than, wall_clock())
    }

    pub fn grace(&self) -> Duration {
        grace(self.grace)
    }
}

fn grace(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.max(0.0))
}

/// A `--param` that is not `NAME=VALUE`.
#[derive(Debug, thiserror::Error)]
#[error("--param {0:?}: expected NAME=VALUE")]
pub struct ParamError(pub String);

impl QueryArgs {
    /// `--param NAME=VALUE` pairs, trimmed (the last of a repeated name wins).
    pub fn params(&self) -> Result<std::collections::BTreeMap<String, String>, ParamError> {
        self.params
            .iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .ok_or_else(|| ParamError(p.clone()))
            })
            .collect()
    }

    /// `--since/--until/--now`; `default_since` when `--since` is absent.
    pub fn range(&self, default_since: Option<&str>) -> RangeSpec {
        RangeSpec {
            since: self.since.clone().or(default_since.map(str::to_owned)),
            until: self.until.clone(),
            now: self.now.clone(),
        }
    }
}

impl ReportArgs {
    pub fn range(&self) -> RangeSpec {
        RangeSpec {
            since: Some(self.since.clone()),
            until: self.until.clone(),
            now: self.now.clone(),
        }
    }
}

impl SynthArgs {
    pub fn options(&self) -> SynthOptions {
        SynthOptions {
            days: self.days,
            rate: self.rate,
            seed: self.seed,
            gzip: self.gzip,
            format: self.format,
        }
    }
}
