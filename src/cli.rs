//! Command-line definitions (clap) only; `main.rs` runs them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::synth::SynthFormat;

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
    Ingest {
        /// Files, directories, globs, '-' for stdin, or gs://BUCKET/PREFIX.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
        /// The lake: a directory (created if missing) or gs://BUCKET/PREFIX.
        #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
        lake: String,
        /// Only entries at or after T (RFC 3339, a date, or a span like 7d back from now).
        /// Sink date folders (LOG_ID/YYYY/MM/DD/) and hourly files before it are not read.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only entries before T (same forms as --since).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Write buffered rows at least this often, so a live stream is queryable (seconds).
        #[arg(long, default_value_t = 60.0, value_name = "SECS")]
        flush_interval: f64,
        /// Decoder threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Rows per Parquet file (one row group each).
        #[arg(long, default_value_t = 262_144)]
        rows_per_file: usize,
        /// Keep following the sources (a sink folder or gs:// prefix): every --poll seconds,
        /// ingest new objects and what existing ones gained, until SIGINT or SIGTERM.
        #[arg(long)]
        follow: bool,
        /// Seconds between polls with --follow.
        #[arg(long, default_value_t = 30.0, value_name = "SECS", requires = "follow")]
        poll: f64,
        /// Summary format (with --follow, also one JSON status line per poll).
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// No warnings and no progress bar; only the summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge each day's small files into sorted files of --rows-per-file rows.
    ///
    /// Safe while queries and ingests run: it is one commit of the lake's log, and the files
    /// it replaces stay for --grace seconds for queries that opened the lake before. Also
    /// deletes files removed by earlier commits more than --grace ago, and files no commit
    /// names (left by killed runs) once they are a day old.
    Compact {
        /// The lake: a directory or gs://BUCKET/PREFIX.
        #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
        lake: String,
        /// Only days at or after T (RFC 3339, a date, or a span like 7d back from now).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only days before T (same forms as --since).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Files under half this many rows are merged into files of at most this many.
        #[arg(long, default_value_t = 262_144)]
        rows_per_file: usize,
        /// Seconds a replaced file stays on disk for queries still reading it.
        #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
        grace: f64,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Remove whole days before a date or older than a span (retention).
    ///
    /// One commit of the lake's log (recorded in the ledger); the signatures tables are
    /// rebuilt without those days. The files are deleted after --grace seconds.
    Prune {
        /// The lake: a directory or gs://BUCKET/PREFIX.
        #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
        lake: String,
        /// Days before this go: a span counted back from now (30d) or a date/time.
        #[arg(long, value_name = "T")]
        older_than: String,
        /// Seconds a removed file stays on disk for queries still reading it.
        #[arg(long, default_value_t = 3600.0, value_name = "SECS")]
        grace: f64,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Run DataFusion SQL over the lake: tables `logs` and `signatures`.
    ///
    /// `logs` has every lake column plus `signature_id` and `template`; JSON text columns work
    /// with the datafusion-functions-json functions (json_get_str(json_payload, 'k'), ...).
    /// --since/--until take RFC 3339 times, dates, or spans (7d, 36h, 90m); spans count back
    /// from --now, or else from the NEWEST ENTRY IN THE LAKE (exports are often old). Other
    /// days' files are not read. Read-only unless --allow-write.
    Query {
        /// The SQL to run (or use -f FILE or --named NAME). Statements before the last may
        /// create session tables or views (`CREATE TABLE t AS SELECT ...;`); the last answers.
        /// It may start with a `--` comment.
        #[arg(value_name = "SQL", allow_hyphen_values = true)]
        sql: Option<String>,
        #[arg(
            long,
            value_name = "LAKE",
            env = "GARDENER_LAKE",
            required_unless_present = "list"
        )]
        lake: Option<String>,
        /// Read the SQL from FILE ('-' for stdin).
        #[arg(
            short = 'f',
            long = "file",
            value_name = "FILE",
            conflicts_with = "sql"
        )]
        file: Option<String>,
        /// Run a named query from sql/ (see --list).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["sql", "file"])]
        named: Option<String>,
        /// A parameter of the named query or file, `${name}` in its SQL.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long, value_name = "T")]
        since: Option<String>,
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// What relative times count back from (default: the newest entry in the lake).
        #[arg(long, value_name = "T")]
        now: Option<String>,
        #[arg(long, value_enum, default_value_t = crate::engine::output::Format::Table)]
        format: crate::engine::output::Format,
        /// Allow statements that write or change state (COPY, INSERT, CREATE, DROP, SET).
        #[arg(long)]
        allow_write: bool,
        /// Only this service's rows (`logs` is restricted like --since/--until do).
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// List the named queries and exit.
        #[arg(long)]
        list: bool,
    },
    /// Write the triage report ("worklog") for a range: issues by priority with pattern,
    /// frequency, impact, samples, trend, root-cause links, bursts and the queries used.
    ///
    /// Issues are signatures with severity >= WARNING or HTTP status >= 500, plus what a
    /// rule promotes. Priorities follow built-in rules (see README), overridden by --rules.
    /// Relative --since/--until count back from the newest entry in the lake.
    Report {
        #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
        lake: String,
        #[arg(long, value_name = "T", default_value = "7d")]
        since: String,
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// What relative times count back from (default: the newest entry in the lake).
        #[arg(long, value_name = "T")]
        now: Option<String>,
        /// Only this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        #[arg(long, value_enum, default_value_t = crate::report::Format::Md)]
        format: crate::report::Format,
        /// Write to FILE instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Priority rules (TOML) tried before the built-in ones.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Known-issue ledger (TOML): signature -> tracker URL and open/resolved/muted.
        #[arg(long, value_name = "FILE")]
        known: Option<PathBuf>,
        /// Write one ready-to-file Markdown issue per new issue into DIR.
        #[arg(long, value_name = "DIR")]
        drafts: Option<PathBuf>,
    },
    /// Sign plain messages, one per line: CSV `line_id,signature_id,template` on stdout.
    ///
    /// Reads FILE (or stdin for '-' or no argument); invalid UTF-8 is replaced. Templates
    /// write variable parts as `<*>`; the same template always has the same signature_id.
    Mine {
        /// The messages, one per line.
        #[arg(default_value = "-")]
        file: String,
        /// Threads for masking (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Generate realistic sample exports for demos and tests (deterministic per seed).
    Synth {
        /// The scenario to generate.
        #[arg(long, default_value = "netra-staging")]
        scenario: String,
        /// Days of logs, ending at the scenario's reference time.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = SynthFormat::SinkNdjson)]
        format: SynthFormat,
        /// Gzip the files.
        #[arg(long)]
        gzip: bool,
        /// Average entries per second over the whole range.
        #[arg(long, default_value_t = 2.0)]
        rate: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}
