//! Deterministic generators of realistic Cloud Logging exports, for demos, tests and benches.
//!
//! The `netra-staging` scenario is the service of the reference worklog: Cloud Run service
//! `netra-backend-staging` in project `netra-staging`, with request logs for many endpoints
//! (a day/night traffic shape, a realistic status mix and latencies), app logs on stdout and
//! stderr as text and JSON payloads with high-cardinality variables, and the worklog's five
//! problems with their exact texts and causal pairs:
//! - #1: the SessionMiddleware warning, every few seconds from health checks, independent;
//! - #2 and #3: the ASGI scope error, followed within milliseconds by `GET /ws 500` from
//!   Chrome;
//! - #4 and #5: the 403 'Not authenticated' for `service:netra-backend`, followed within
//!   milliseconds by the request-scoped database session failure of the same request.
//!
//! Output is a pure function of (scenario, days, rate, seed, format): each hour has its own
//! seeded generator, so any hour can be produced without the others and memory stays small.
//!
//! Failure modes: an unknown scenario or an unwritable output directory is a [`SynthError`].

mod netra;

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::common::time::{NANOS_PER_DAY, civil_from_days};

pub use netra::REFERENCE_END;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("unknown scenario {0:?}; available: netra-staging")]
    UnknownScenario(String),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--rate must be positive and --days at least 1")]
    BadRange,
}

/// How the generated exports are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SynthFormat {
    /// One JSON array per file, pretty-printed, newest first (`gcloud logging read --format=json`).
    GcloudJson,
    /// Newline-delimited entries in a Cloud Logging sink's folder layout.
    SinkNdjson,
}

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub days: u32,
    /// Average entries per second over the range.
    pub rate: f64,
    pub seed: u64,
    pub gzip: bool,
    pub format: SynthFormat,
}

/// One generated entry: its time, its log (`requests`, `stdout`, `stderr`) and its JSON.
pub struct Event {
    pub ts: i64,
    pub log: &'static str,
    pub json: serde_json::Value,
}

/// What was written.
#[derive(Debug, Default)]
pub struct SynthReport {
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
    pub dir: PathBuf,
}

impl fmt::Display for SynthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {} entries in {} files ({:.1} MB) to {}",
            self.entries,
            self.files,
            self.bytes as f64 / 1e6,
            self.dir.display()
        )
    }
}

/// Generates `scenario` into `out`.
pub fn generate(
    scenario: &str,
    out: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    if scenario != "netra-staging" {
        return Err(SynthError::UnknownScenario(scenario.to_owned()));
    }
    if opts.rate.is_nan() || opts.rate <= 0.0 || opts.days == 0 {
        return Err(SynthError::BadRange);
    }
    std::fs::create_dir_all(out).map_err(|source| SynthError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let end_hour = REFERENCE_END.div_euclid(3_600_000_000_000);
    let hours = end_hour - i64::from(opts.days) * 24..end_hour;
    let scenario = netra::Netra::new(opts.rate, opts.seed, hours.start);
    let mut report = match opts.format {
        SynthFormat::SinkNdjson => write_sink(&scenario, hours, out, opts)?,
        SynthFormat::GcloudJson => write_gcloud(&scenario, hours, out, opts)?,
    };
    report.dir = out.to_path_buf();
    Ok(report)
}

/// Sink files, one set per hour. Hours are independent (each seeds its own generator): one
/// per core at a time.
fn write_sink(
    scenario: &netra::Netra,
    hours: std::ops::Range<i64>,
    out: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    let next = std::sync::atomic::AtomicI64::new(hours.start);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut part = SynthReport::default();
                    loop {
                        let hour = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if hour >= hours.end {
                            return Ok(part);
                        }
                        let events = scenario.hour(hour);
                        write_sink_hour(out, hour, &events, opts, &mut part)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("synth worker panicked"))
            .collect::<Vec<Result<SynthReport, SynthError>>>()
    });
    let mut report = SynthReport::default();
    for part in parts {
        let part = part?;
        report.entries += part.entries;
        report.files += part.files;
        report.bytes += part.bytes;
    }
    Ok(report)
}

/// One `gcloud logging read --format=json` file: newest first, as one pretty-printed array.
fn write_gcloud(
    scenario: &netra::Netra,
    hours: std::ops::Range<i64>,
    out: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, SynthError> {
    let name = if opts.gzip {
        "export.json.gz"
    } else {
        "export.json"
    };
    let path = out.join(name);
    let io = |source| SynthError::Io {
        path: path.clone(),
        source,
    };
    let mut report = SynthReport::default();
    let file = File::create(&path).map_err(io)?;
    let mut w = Sink::new(file, opts.gzip);
    w.write_all(b"[").map_err(io)?;
    let mut first = true;
    for hour in hours.rev() {
        let events = scenario.hour(hour);
        for e in events.iter().rev() {
            w.write_all(if first { b"\n  " } else { b",\n  " })
                .map_err(io)?;
            first = false;
            write_pretty(&mut w, &e.json).map_err(io)?;
            report.entries += 1;
        }
    }
    w.write_all(b"\n]\n").map_err(io)?;
    report.bytes += w.finish().map_err(io)?;
    report.files += 1;
    Ok(report)
}

/// One hour of a sink: `LOG_ID/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json`, with a few entries
/// arriving late in an `_A1` shard, as sinks do.
fn write_sink_hour(
    out: &Path,
    hour: i64,
    events: &[Event],
    opts: &SynthOptions,
    report: &mut SynthReport,
) -> Result<(), SynthError> {
    let day = hour.div_euclid(24);
    let (y, m, d) = civil_from_days(day);
    let h = hour.rem_euclid(24);
    for log in ["requests", "stdout", "stderr"] {
        let dir = out.join(format!("run.googleapis.com/{log}/{y:04}/{m:02}/{d:02}"));
        let mut shards: [Vec<&Event>; 2] = [Vec::new(), Vec::new()];
        for (i, e) in events.iter().filter(|e| e.log == log).enumerate() {
            // Every 50th entry arrives late: it lands in the `_A1` shard.
            shards[usize::from(i % 50 == 49)].push(e);
        }
        for (shard, list) in [("S0", &shards[0]), ("A1", &shards[1])] {
            if list.is_empty() {
                continue;
            }
            std::fs::create_dir_all(&dir).map_err(|source| SynthError::Io {
                path: dir.clone(),
                source,
            })?;
            let ext = if opts.gzip { "json.gz" } else { "json" };
            let path = dir.join(format!("{h:02}:00:00_{h:02}:59:59_{shard}.{ext}"));
            let io = |source| SynthError::Io {
                path: path.clone(),
                source,
            };
            let file = File::create(&path).map_err(io)?;
            let mut w = Sink::new(file, opts.gzip);
            for e in list.iter() {
                serde_json::to_writer(&mut w, &e.json).map_err(|e| io(e.into()))?;
                w.write_all(b"\n").map_err(io)?;
                report.entries += 1;
            }
            report.bytes += w.finish().map_err(io)?;
            report.files += 1;
        }
    }
    Ok(())
}

fn write_pretty<W: Write>(w: &mut W, v: &serde_json::Value) -> std::io::Result<()> {
    // Indented as gcloud does inside its array: two spaces per level, elements at two.
    let text = serde_json::to_string_pretty(v).map_err(std::io::Error::from)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            w.write_all(b"\n  ")?;
        }
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A plain or gzip file writer that reports the bytes it wrote.
enum Sink {
    Plain(BufWriter<File>, u64),
    Gzip(Box<GzEncoder<BufWriter<File>>>),
}

impl Sink {
    fn new(file: File, gzip: bool) -> Sink {
        let w = BufWriter::with_capacity(1 << 20, file);
        if gzip {
            Sink::Gzip(Box::new(GzEncoder::new(w, Compression::fast())))
        } else {
            Sink::Plain(w, 0)
        }
    }

    fn finish(self) -> std::io::Result<u64> {
        match self {
            Sink::Plain(mut w, n) => {
                w.flush()?;
                Ok(n)
            }
            Sink::Gzip(g) => {
                let mut w = g.finish()?;
                w.flush()?;
                Ok(w.get_ref().metadata()?.len())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w, n) => {
                let k = w.write(buf)?;
                *n += k as u64;
                Ok(k)
            }
            Sink::Gzip(g) => g.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w, _) => w.flush(),
            Sink::Gzip(g) => g.flush(),
        }
    }
}

/// Start of the range for `days` ending at the scenario's reference time (UTC nanoseconds).
pub fn range_start(days: u32) -> i64 {
    let end_hour = REFERENCE_END.div_euclid(3_600_000_000_000) * 3_600_000_000_000;
    end_hour - i64::from(days) * NANOS_PER_DAY
}
