//! Command-line definitions (clap) only; `main.rs` runs them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SynthFormat {
    /// One JSON array per file, pretty-printed, newest first (`gcloud logging read --format=json`).
    GcloudJson,
    /// Newline-delimited entries in a Cloud Logging sink's folder layout.
    SinkNdjson,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream Cloud Logging exports into the Parquet lake.
    ///
    /// SOURCE is a file, a directory (walked recursively, e.g. a synced sink folder), a glob,
    /// or '-' for stdin. JSON arrays (gcloud --format=json), newline-delimited entries (sink
    /// files), and streams of JSON objects (gcloud logging tail) are detected by content;
    /// gzip by its magic bytes. Bad records never stop the run: they go to
    /// LAKE/_quarantine/ with their position and reason.
    Ingest {
        /// Files, directories, globs, or '-' for stdin.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
        /// The lake directory (created if missing).
        #[arg(long, value_name = "LAKE", env = "GARDENER_LAKE")]
        lake: String,
        /// Write buffered rows at least this often, so a live stream is queryable (seconds).
        #[arg(long, default_value_t = 60.0, value_name = "SECS")]
        flush_interval: f64,
        /// Decoder threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Rows per Parquet file (one row group each).
        #[arg(long, default_value_t = 262_144)]
        rows_per_file: usize,
        /// Summary format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// No warnings and no progress bar; only the summary.
        #[arg(long, short)]
        quiet: bool,
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
