//! The ingest pipeline: sources -> frame -> decode -> lake, joined by bounded channels.
//!
//! ```text
//! framers (blocking, up to 4 sources at once) --chunks--> decoders (one per core)
//!     --rows+keys--> writer (async: dedup, per-day buffers, Parquet, publish)
//! ```
//! Memory stays bounded whatever the input size: chunks are ~2 MiB, the channels hold a few
//! of them, and the writer's day buffers are capped (see [`WriterOptions`]). Only the dedup
//! keys (16 bytes per row) grow with the input.
//!
//! Shutdown: SIGINT (or [`Stop::stop`]) stops reading; what was read is decoded, written,
//! committed and recorded in the ledger as `interrupted`. A SIGKILL leaves the ledger
//! `running` and commits nothing; the next run reports it, and the rerun does the work.

pub mod follow;
pub mod stage;
pub mod summary;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::decode::frame::{Chunk, FrameOptions, Framer, Layout, Spares};
use crate::lake::ledger::{self, RunStatus};
use crate::lake::schema::RowsBuilder;
use crate::lake::writer::{LakeWriter, WriterOptions};
use crate::lake::{Lake, LakeError};
use crate::range::{RangeError, RangeSpec, TimeRange};
use crate::source::{self, Input, SourceError};
use stage::{Decoded, decode_chunk};
pub use summary::Summary;

/// Errors that stop an ingest run (bad records never do: they go to the quarantine).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("no sources given")]
    NoSources,
    #[error("--follow reads files, folders and gs:// prefixes; '-' (stdin) is followed already")]
    FollowStdin,
    #[error("the {stage} task failed: {detail}; the run's rows were not committed")]
    Task { stage: Stage, detail: String },
    #[error("filtering rows by --since/--until: {0}")]
    Filter(#[from] arrow::error::ArrowError),
}

/// Options for one ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub sources: Vec<String>,
    pub lake: String,
    /// Only entries in this range are ingested (spans count back from the wall clock);
    /// sink files and date folders outside it are not read.
    pub range: RangeSpec,
    pub flush_interval: Duration,
    /// Decoder threads; 0 means one per core.
    pub threads: usize,
    /// Suppress warnings and the progress bar.
    pub quiet: bool,
    /// How many quarantined records to describe on stderr before summarizing the rest.
    pub max_warnings: usize,
    pub writer: WriterOptions,
    pub frame: FrameOptions,
    /// Follow the sources, polling at this interval, until stopped (see [`follow`]).
    pub follow: Option<Duration>,
    /// A follower prints a JSON status line per poll on stdout (`--output json`).
    pub status_json: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            sources: Vec::new(),
            lake: String::new(),
            range: RangeSpec::default(),
            flush_interval: Duration::from_secs(60),
            threads: 0,
            quiet: false,
            max_warnings: 20,
            writer: WriterOptions::default(),
            frame: FrameOptions::default(),
            follow: None,
            status_json: false,
        }
    }
}

/// A handle to stop a run gracefully.
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a framer reports about its source when it is done.
struct SourceReport {
    name: String,
    empty: bool,
    read_error: Option<String>,
}

pub(crate) fn warn(quiet: bool, msg: impl std::fmt::Display) {
    if !quiet {
        eprintln!("warning: {msg}");
    }
}

/// Runs one ingest to completion (or until `stop`). Any error or panic in a stage fails
/// the run: the ledger records it `failed` with the reason, and the rows of the failed part
/// are not committed (staged files stay invisible to readers, as after a crash). Boxed: see
/// the crate doc.
pub fn run(opts: IngestOptions, stop: Stop) -> BoxFuture<'static, Result<Summary, IngestError>> {
    Box::pin(run_unboxed(opts, stop))
}

async fn run_unboxed(opts: IngestOptions, stop: Stop) -> Result<Summary, IngestError> {
    let started = Instant::now();
    if opts.sources.is_empty() {
        return Err(IngestError::NoSources);
    }
    if let Some(poll) = opts.follow {
        return follow::run(opts, poll, stop).await;
    }
    let range = opts.range.resolve(Some(crate::range::wall_clock() - 1))?;
    let expanded = source::expand(&opts.sources, &range).await?;
    let names = expanded.inputs.iter().map(Input::name).collect();
    let (lake, run_id, record) = begin(&opts, names).await?;
    let batch = Batch {
        opts: &opts,
        lake: &lake,
        run_id: &run_id,
        range,
        started,
    };
    match batch.run(expanded, stop).await {
        Ok((summary, writer)) => {
            finish_record(&lake, record, &summary, &writer).await?;
            Ok(summary)
        }
        Err(e) => {
            fail_record(&lake, record, &e).await;
            Err(e)
        }
    }
}

/// One batch ingest's fixed inputs.
struct Batch<'a> {
    opts: &'a IngestOptions,
    lake: &'a Lake,
    run_id: &'a str,
    range: TimeRange,
    started: Instant,
}

/// What the framers tell about their sources: empty ones and read errors.
#[derive(Default)]
struct SourceNotes {
    empty: Vec<String>,
    errors: Vec<String>,
}

impl Batch<'_> {
    async fn run(
        &self,
        expanded: source::Expanded,
        stop: Stop,
    ) -> Result<(Summary, LakeWriter), IngestError> {
        let (opts, lake) = (self.opts, self.lake);
        let inputs = expanded.inputs;
        let (interrupted_ids, swept) = self.clean_up_after_killed_runs().await?;

        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(2, usize::from)
        } else {
            opts.threads
        };
        let bytes_read = Arc::new(AtomicU64::new(0));
        let (chunk_tx, chunk_rx) = async_channel::bounded::<(Arc<str>, Chunk)>(threads * 2);
        let framers = spawn_framers(&inputs, opts, &stop, &bytes_read, chunk_tx);
        let (decoded_tx, decoded_rx) = tokio::sync::mpsc::channel::<Decoded>(threads * 2);
        let decoders = spawn_decoders(threads, &chunk_rx, &decoded_tx);
        drop((decoded_tx, chunk_rx));

        let snapshot = crate::lake::log::for_writer(lake, self.run_id).await?;
        let mut writer = LakeWriter::new(
            lake.clone(),
            self.run_id.to_owned(),
            opts.writer.clone(),
            snapshot,
        );
        let progress = progress_bar(opts, &inputs);
        let streaming = inputs.contains(&Input::Stdin);
        let mut counts = Counts::default();
        let interrupted_run = self
            .drive(
                decoded_rx,
                &mut writer,
                &mut counts,
                &stop,
                streaming,
                &progress,
                &bytes_read,
            )
            .await?;
        // Every stage is joined before the commit: a panic anywhere fails the run.
        join_decoders(decoders, interrupted_run).await?;
        let notes = if interrupted_run {
            SourceNotes::default()
        } else {
            source_notes(framers, opts.quiet).await?
        };
        writer.commit(Vec::new()).await?;
        if let Some(pb) = &progress {
            pb.finish_and_clear();
        }
        self.warn_unshown_quarantine(&counts);
        // Step 2 of signing runs over every shape in the lake, so templates and counts never
        // depend on how the data was split across runs; it also completes the tables of a
        // writer that died between its commit and its refresh.
        let signatures = crate::lake::signatures::refresh(lake, &writer.take_tallies()).await?;
        let summary = Summary {
            status: if interrupted_run {
                RunStatus::Interrupted
            } else {
                RunStatus::Complete
            },
            sources: inputs.len(),
            skipped_sources: expanded.skipped,
            bytes: bytes_read.load(Ordering::Relaxed),
            empty_sources: notes.empty,
            source_errors: notes.errors,
            interrupted_runs: interrupted_ids,
            staging_files_removed: swept,
            signatures,
            ..tally(self.run_id, lake, counts, &writer, self.started)
        };
        Ok((summary, writer))
    }

    /// Reports runs killed before they finished and sweeps their staging files: their ids,
    /// and how many files went.
    async fn clean_up_after_killed_runs(&self) -> Result<(Vec<String>, usize), IngestError> {
        let interrupted = ledger::interrupted_runs(self.lake).await?;
        for r in &interrupted {
            warn(
                self.opts.quiet,
                format_args!(
                    "run {} (started {}) did not finish; what it committed is kept and its rows will not be counted twice",
                    r.run_id, r.started_at
                ),
            );
        }
        let ids: Vec<String> = interrupted.into_iter().map(|r| r.run_id).collect();
        let swept = ledger::sweep_staging(self.lake, &ids);
        Ok((ids, swept))
    }

    fn warn_unshown_quarantine(&self, counts: &Counts) {
        let shown = self.opts.max_warnings as u64;
        if counts.quarantined > shown && !self.opts.quiet {
            eprintln!(
                "warning: {} more quarantined records not shown; see {}/_quarantine/run={}/",
                counts.quarantined - shown,
                self.lake.display,
                self.run_id
            );
        }
    }

    /// Feeds decoded chunks to the writer until the decoders are done or the run is
    /// stopped; flushes on the interval and draws the progress bar. True if interrupted.
    #[allow(clippy::too_many_arguments)] // the pipeline's parts, each used once
    async fn drive(
        &self,
        mut decoded_rx: tokio::sync::mpsc::Receiver<Decoded>,
        writer: &mut LakeWriter,
        counts: &mut Counts,
        stop: &Stop,
        streaming: bool,
        progress: &Option<ProgressBar>,
        bytes_read: &AtomicU64,
    ) -> Result<bool, IngestError> {
        let opts = self.opts;
        let mut flush = tokio::time::interval(opts.flush_interval);
        flush.tick().await;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                msg = decoded_rx.recv() => {
                    let Some(d) = msg else { return Ok(false) };
                    self.absorb(d, writer, counts).await?;
                }
                _ = flush.tick() => {
                    // A stream's rows become visible at every flush; files, at the end.
                    if streaming {
                        writer.commit(Vec::new()).await?;
                    } else {
                        writer.flush_all().await?;
                    }
                }
                _ = tick.tick() => {
                    if let Some(pb) = progress {
                        pb.set_position(bytes_read.load(Ordering::Relaxed));
                        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                        pb.set_message(format!("{:.0} entries/s", counts.records as f64 / secs));
                    }
                    if stop.is_stopped() {
                        break;
                    }
                }
                _ = &mut ctrl_c => {
                    stop.stop();
                    warn(false, "interrupted: finishing what was read; run again to complete");
                    break;
                }
            }
        }
        // Drain what is already decoded, without waiting on a source that may block.
        while let Ok(Some(d)) =
            tokio::time::timeout(Duration::from_millis(500), decoded_rx.recv()).await
        {
            self.absorb(d, writer, counts).await?;
        }
        Ok(true)
    }

    /// One decoded chunk into the counts and the writer.
    async fn absorb(
        &self,
        mut d: Decoded,
        writer: &mut LakeWriter,
        counts: &mut Counts,
    ) -> Result<(), IngestError> {
        counts.out_of_range += keep_in_range(&mut d, &self.range)?;
        counts.absorb(&d, self.opts.quiet, self.opts.max_warnings);
        writer.add_quarantined(d.quarantined).await?;
        writer.add(d.batch, &d.keys, &d.days).await?;
        Ok(())
    }
}

type Framers =
    tokio::task::JoinHandle<Vec<Result<Result<SourceReport, SourceError>, tokio::task::JoinError>>>;

/// Reads the sources, a few at once, into chunks for the decoders.
fn spawn_framers(
    inputs: &[Input],
    opts: &IngestOptions,
    stop: &Stop,
    bytes_read: &Arc<AtomicU64>,
    chunk_tx: async_channel::Sender<(Arc<str>, Chunk)>,
) -> Framers {
    // Remote reads wait on the network more than on the disk: more of them at once.
    let parallel_reads = if inputs.iter().any(Input::is_remote) {
        8
    } else {
        4
    };
    let inputs = inputs.to_vec();
    let stop = stop.clone();
    let frame_opts = opts.frame.clone();
    let bytes_read = bytes_read.clone();
    // One pool of chunk buffers for the run: a sink's hourly files are smaller than a chunk,
    // and each began with new buffers, zeroed before the reads (the demo's week of 987 files:
    // 16% of ingest's instructions, 1.61 -> 1.47 s).
    let spares = Spares::default();
    tokio::spawn(async move {
        futures::stream::iter(inputs)
            .map(|input| {
                let tx = chunk_tx.clone();
                let stop = stop.clone();
                let frame_opts = frame_opts.clone();
                let bytes_read = bytes_read.clone();
                let spares = spares.clone();
                tokio::task::spawn_blocking(move || {
                    injected_panic(Stage::Framer);
                    frame_source(&input, frame_opts, spares, &tx, &stop, bytes_read)
                })
            })
            .buffer_unordered(parallel_reads)
            .collect::<Vec<_>>()
            .await
    })
}

/// One decoder per thread: chunks in, rows with their keys out.
fn spawn_decoders(
    threads: usize,
    chunk_rx: &async_channel::Receiver<(Arc<str>, Chunk)>,
    decoded_tx: &tokio::sync::mpsc::Sender<Decoded>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let rx = chunk_rx.clone();
            let tx = decoded_tx.clone();
            tokio::task::spawn_blocking(move || {
                let mut rows = RowsBuilder::default();
                while let Ok((source, chunk)) = rx.recv_blocking() {
                    injected_panic(Stage::Decoder);
                    if tx
                        .blocking_send(decode_chunk(&chunk, &source, &mut rows))
                        .is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect()
}

/// Waits for the decoders (only those already done after an interrupt: the others may
/// wait on a source that blocks); a panic in one is the run's error.
async fn join_decoders(
    decoders: Vec<tokio::task::JoinHandle<()>>,
    interrupted: bool,
) -> Result<(), IngestError> {
    for d in decoders {
        if interrupted && !d.is_finished() {
            continue;
        }
        d.await.map_err(|e| IngestError::Task {
            stage: Stage::Decoder,
            detail: panic_text(e),
        })?;
    }
    Ok(())
}

/// The framers' reports; a panic in one is the run's error, a read error a warning.
async fn source_notes(framers: Framers, quiet: bool) -> Result<SourceNotes, IngestError> {
    let failed = |e: tokio::task::JoinError| IngestError::Task {
        stage: Stage::Framer,
        detail: panic_text(e),
    };
    let mut notes = SourceNotes::default();
    for report in framers.await.map_err(failed)? {
        let report = match report.map_err(failed)? {
            Ok(r) => r,
            Err(e) => {
                warn(quiet, &e);
                notes.errors.push(e.to_string());
                continue;
            }
        };
        if report.empty {
            warn(
                quiet,
                format_args!("{}: empty input, no records", report.name),
            );
            notes.empty.push(report.name.clone());
        }
        if let Some(e) = report.read_error {
            warn(quiet, &e);
            notes.errors.push(e);
        }
    }
    Ok(notes)
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned()),
        Err(e) => e.to_string(),
    }
}

/// The pipeline's stages, as errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Framer,
    Decoder,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Framer => "framer",
            Stage::Decoder => "decoder",
        })
    }
}

/// Test hook: `GARDENER_TEST_PANIC=decoder` (or `framer`) makes that stage panic, so tests
/// can check that a panic fails the run instead of losing a chunk.
fn injected_panic(stage: Stage) {
    static WANTED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("GARDENER_TEST_PANIC").ok());
    if wanted.as_deref() == Some(stage.to_string().as_str()) {
        panic!("injected panic in the {stage} (GARDENER_TEST_PANIC)");
    }
}

/// Marks a run `failed` in the ledger with its reason (best effort: the error that failed
/// the run is what the caller reports).
async fn fail_record(lake: &Lake, mut record: ledger::RunRecord, e: &IngestError) {
    record.status = RunStatus::Failed;
    record.finished_at = Some(chrono::Utc::now().to_rfc3339());
    record.error = Some(e.to_string());
    if let Err(w) = ledger::write(lake, &record).await {
        tracing::warn!("could not record run {} as failed: {w}", record.run_id);
    }
}

/// Opens the lake for a run reading `sources`: checks its miner version and records the run
/// in the ledger as `running`.
async fn begin(
    opts: &IngestOptions,
    sources: Vec<String>,
) -> Result<(Lake, String, ledger::RunRecord), IngestError> {
    let lake = Lake::open(&opts.lake).await?;
    crate::lake::signatures::check_miner_version(&lake).await?;
    let run_id = ledger::new_run_id();
    let record = ledger::RunRecord::running(&run_id, sources);
    ledger::write(&lake, &record).await?;
    Ok((lake, run_id, record))
}

/// The summary fields every run fills the same way, from its counts and its writer.
pub(crate) fn tally(
    run_id: &str,
    lake: &Lake,
    counts: Counts,
    writer: &LakeWriter,
    started: Instant,
) -> Summary {
    Summary {
        run_id: run_id.to_owned(),
        lake: lake.display.clone(),
        records: counts.records,
        rows: writer.rows,
        duplicates: writer.duplicates,
        quarantined: counts.quarantined,
        quarantine_reasons: counts.reasons,
        out_of_range: counts.out_of_range,
        blank_lines: counts.blank_lines,
        timestamp_fallbacks: counts.timestamp_fallbacks,
        seconds: started.elapsed().as_secs_f64(),
        files: writer.published.len(),
        days: writer
            .published
            .iter()
            .map(|p| p.day.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        quarantine_dir: (counts.quarantined > 0)
            .then(|| format!("{}/_quarantine/run={run_id}/", lake.display)),
        ..Summary::default()
    }
}

/// Rewrites the run's ledger record with its outcome and the files it committed.
pub(crate) async fn finish_record(
    lake: &Lake,
    mut record: ledger::RunRecord,
    summary: &Summary,
    writer: &LakeWriter,
) -> Result<(), LakeError> {
    record.status = summary.status;
    record.finished_at = Some(chrono::Utc::now().to_rfc3339());
    record.summary = serde_json::to_value(summary).ok();
    if let Some(serde_json::Value::Object(m)) = &mut record.summary {
        m.insert(
            "published".into(),
            serde_json::to_value(&writer.published).unwrap_or_default(),
        );
    }
    ledger::write(lake, &record).await
}

#[derive(Default, Clone)]
pub(crate) struct Counts {
    records: u64,
    out_of_range: u64,
    quarantined: u64,
    blank_lines: u64,
    timestamp_fallbacks: u64,
    reasons: BTreeMap<String, u64>,
}

impl Counts {
    pub(crate) fn absorb(&mut self, d: &Decoded, quiet: bool, max_warnings: usize) {
        self.records += d.records;
        self.blank_lines += d.blank_lines;
        self.timestamp_fallbacks += d.timestamp_fallbacks;
        for q in &d.quarantined {
            if self.quarantined < max_warnings as u64 {
                warn(quiet, format_args!("{q} (quarantined)"));
            }
            self.quarantined += 1;
            *self
                .reasons
                .entry(q.reason.as_str().to_owned())
                .or_default() += 1;
        }
    }
}

/// Drops the rows of `d` outside `range`; returns how many.
pub(crate) fn keep_in_range(
    d: &mut Decoded,
    range: &TimeRange,
) -> Result<u64, arrow::error::ArrowError> {
    use arrow::array::{AsArray, BooleanArray};
    use arrow::datatypes::TimestampNanosecondType;
    if range.is_open() || d.batch.num_rows() == 0 {
        return Ok(0);
    }
    let stamps = d.batch.column(0).as_primitive::<TimestampNanosecondType>();
    let keep: BooleanArray = stamps
        .values()
        .iter()
        .map(|t| Some(range.contains(*t)))
        .collect();
    let dropped = (keep.len() - keep.true_count()) as u64;
    if dropped == 0 {
        return Ok(0);
    }
    d.batch = arrow::compute::filter_record_batch(&d.batch, &keep)?;
    let mut i = 0;
    d.keys.retain(|_| {
        i += 1;
        keep.value(i - 1)
    });
    let mut i = 0;
    d.days.retain(|_| {
        i += 1;
        keep.value(i - 1)
    });
    Ok(dropped)
}

/// Reads one source to its end, sending chunks of records to the decoders.
fn frame_source(
    input: &Input,
    opts: FrameOptions,
    spares: Spares,
    tx: &async_channel::Sender<(Arc<str>, Chunk)>,
    stop: &Stop,
    bytes_read: Arc<AtomicU64>,
) -> Result<SourceReport, SourceError> {
    let name: Arc<str> = input.name().into();
    let reader = source::open(input, bytes_read)?;
    let opts = FrameOptions {
        interactive: *input == Input::Stdin,
        ..opts
    };
    let mut framer = Framer::new(reader, opts).with_spares(spares);
    let mut any = false;
    while !stop.is_stopped() {
        let chunk = match framer.next_chunk() {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(source) => {
                return Err(SourceError::Io {
                    arg: name.to_string(),
                    source,
                });
            }
        };
        any |= !chunk.spans.is_empty() || chunk.blank_lines > 0;
        if tx.send_blocking((name.clone(), chunk)).is_err() {
            break;
        }
    }
    let read_error = framer.take_read_error().map(|e| {
        format!(
            "{name}: reading stopped at byte {} of the decoded stream: {e}; records before it were kept",
            framer.bytes()
        )
    });
    Ok(SourceReport {
        name: name.to_string(),
        empty: !any && framer.layout() == Layout::Unknown && read_error.is_none(),
        read_error,
    })
}

fn progress_bar(opts: &IngestOptions, inputs: &[Input]) -> Option<ProgressBar> {
    if opts.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: Option<u64> = inputs.iter().map(Input::size).sum();
    let pb = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{spinner} {bytes}/{total_bytes} ({bytes_per_sec}, {msg}) [{bar:30}] ETA {eta}"
    } else {
        "{spinner} {bytes} ({bytes_per_sec}, {msg})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    Some(pb)
}
