//! `gardener ingest SOURCE --lake LAKE --follow`: keeps a lake current behind a sink.
//!
//! Every poll lists the sources (a sink folder, a `gs://` prefix, files), reads what each
//! object gained since the last poll, and commits the rows **together with** how far each
//! object was read ([`Consumed`] in the same commit of [`crate::lake::log`]). A follower
//! killed at any moment restarts from the last commit: the bytes after it were never
//! committed, so each byte lands exactly once. Newline-delimited objects are read from the
//! consumed offset up to their last complete line (the rest waits for the next poll), unless
//! the bytes just before the offset changed (the object was replaced: read from the start);
//! objects that cannot be read from an offset (gzip, a JSON array) are read whole whenever
//! they change, and deduplication drops the entries already in.
//!
//! Errors while listing, reading or committing (an outage) are reported and retried with
//! exponential backoff up to five minutes; nothing is consumed twice. SIGINT or SIGTERM
//! finishes the poll in progress, commits it and stops. Memory stays bounded: at most
//! [`MAX_READ`] bytes per object per poll, and the dedup keys of days that stopped getting
//! rows are dropped (the current day's keys grow with it, ~30 bytes per entry).

use std::io::Write;
use std::time::{Duration, Instant};

use xxhash_rust::xxh3::xxh3_64;

use super::stage::{Decoded, decode_chunk};
use super::{Counts, IngestError, IngestOptions, Stop, Summary, keep_in_range, tally, warn};
use crate::common::signals::Signals;
use crate::decode::frame::Framer;
use crate::lake::log::{self, Consumed};
use crate::lake::schema::RowsBuilder;
use crate::lake::writer::LakeWriter;
use crate::range::{TimeRange, wall_clock};
use crate::source::{self, Input, SourceError};

/// Bytes read from one object in one poll; the rest waits for the next.
pub const MAX_READ: u64 = 64 << 20;

/// How many bytes before the offset identify what was consumed of an object.
const FINGERPRINT_BYTES: u64 = 64;

/// The longest wait between retries after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What one poll did.
#[derive(Debug, Default, serde::Serialize)]
struct Poll {
    event: &'static str,
    /// The lake version committed by this poll.
    version: Option<u64>,
    objects: usize,
    bytes: u64,
    /// Rows committed by this run so far.
    rows: u64,
    duplicates: u64,
    /// The newest entry seen, and how far it is behind the wall clock.
    newest_entry: Option<String>,
    lag_seconds: Option<f64>,
}

/// Follows `opts.sources` into `opts.lake` until `stop` or a signal.
pub async fn run(opts: IngestOptions, poll: Duration, stop: Stop) -> Result<Summary, IngestError> {
    let started = Instant::now();
    if opts.sources.iter().any(|s| s == "-") {
        return Err(IngestError::FollowStdin);
    }
    let range = opts.range.resolve(Some(wall_clock() - 1))?;
    let (lake, run_id, record) = super::begin(&opts, opts.sources.clone()).await?;
    let snapshot = log::for_writer(&lake, &run_id).await?;
    let mut writer = LakeWriter::new(lake.clone(), run_id.clone(), opts.writer.clone(), snapshot);
    let mut counts = Counts::default();
    let mut newest: Option<i64> = None;
    let mut failures = 0u32;
    let mut bytes = 0u64;
    let mut signals = Signals::new();
    loop {
        let saved = (counts.clone(), writer.duplicates);
        let polled = poll_once(&opts, &range, &mut writer, &mut counts, &mut newest).await;
        match polled {
            Ok(mut p) => {
                failures = 0;
                bytes += p.bytes;
                if p.version.is_some()
                    && let Err(e) =
                        crate::lake::signatures::refresh(&lake, &writer.take_tallies()).await
                {
                    // Committed rows are safe; the next poll (or stop) brings the tables.
                    warn(
                        opts.quiet,
                        format_args!("signatures tables not refreshed: {e}"),
                    );
                }
                if p.version.is_some() || p.objects > 0 {
                    p.rows = writer.rows;
                    p.duplicates = writer.duplicates;
                    report(&opts, &p, newest);
                }
            }
            Err(e) => {
                // Nothing of this poll was committed: it is read again, counted again.
                counts = saved.0;
                writer.reset(saved.1).await;
                failures += 1;
                warn(
                    opts.quiet,
                    format_args!("{e}; retrying in {}s", backoff(poll, failures).as_secs()),
                );
            }
        }
        if stop.is_stopped() {
            break;
        }
        let wait = backoff(poll, failures);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = signals.recv() => break,
        }
    }
    let summary = Summary {
        status: crate::lake::ledger::RunStatus::Stopped,
        sources: opts.sources.len(),
        bytes,
        signatures: crate::lake::signatures::refresh(&lake, &writer.take_tallies()).await?,
        ..tally(&run_id, &lake, counts, &writer, started)
    };
    super::finish_record(&lake, record, &summary, &writer).await?;
    Ok(summary)
}

/// The wait before the next poll: the interval, doubled per consecutive failure.
fn backoff(poll: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return poll;
    }
    poll.saturating_mul(1 << failures.min(16)).min(MAX_BACKOFF)
}

/// One poll: read what every object gained, commit it with the offsets.
async fn poll_once(
    opts: &IngestOptions,
    range: &TimeRange,
    writer: &mut LakeWriter,
    counts: &mut Counts,
    newest: &mut Option<i64>,
) -> Result<Poll, IngestError> {
    let inputs = match source::expand(&opts.sources, range).await {
        Ok(e) => e.inputs,
        // A sink folder or prefix that has no object yet.
        Err(SourceError::NoMatch { .. } | SourceError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut poll = Poll {
        event: "poll",
        ..Poll::default()
    };
    let mut consumed = Vec::new();
    for input in inputs {
        let Some(size) = input.size() else { continue };
        let name = input.name();
        let prev = writer.snapshot().consumed.get(&name).cloned();
        let next = match read_new(&input, size, prev.as_ref()).await {
            Ok(Some(next)) => next,
            Ok(None) => continue,
            // One unreadable object (a gzip still being written, a permission) must not
            // hold the others back; it is tried again next poll.
            Err(e) => {
                warn(opts.quiet, format_args!("{e}; trying it again next poll"));
                continue;
            }
        };
        poll.objects += 1;
        poll.bytes += next.bytes.len() as u64;
        let (start, line) = (next.start, next.line);
        let source: std::sync::Arc<str> = name.clone().into();
        let frame = opts.frame.clone();
        let decoded = tokio::task::spawn_blocking(move || {
            let mut framer =
                Framer::new(std::io::Cursor::new(next.bytes), frame).resume_at(start, line);
            let mut out: Vec<Decoded> = Vec::new();
            let mut rows = RowsBuilder::default();
            while let Some(chunk) = framer.next_chunk()? {
                out.push(decode_chunk(&chunk, &source, &mut rows));
            }
            Ok::<_, std::io::Error>(out)
        })
        .await
        .map_err(|e| SourceError::Io {
            arg: name.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(|source| SourceError::Io {
            arg: name.clone(),
            source,
        })?;
        for mut d in decoded {
            counts.out_of_range += keep_in_range(&mut d, range)?;
            counts.absorb(&d, opts.quiet, opts.max_warnings);
            if let Some(t) = newest_in(&d) {
                *newest = Some(newest.map_or(t, |n| n.max(t)));
            }
            writer.add_quarantined(d.quarantined).await?;
            writer.add(d.batch, &d.keys, &d.days).await?;
        }
        consumed.push(next.consumed);
    }
    poll.version = writer.commit(consumed).await?;
    writer.forget_idle_days();
    Ok(poll)
}

/// The bytes an object gained since `prev`, ready to frame.
struct NewBytes {
    bytes: Vec<u8>,
    /// Where `bytes` start in the object, and on which line.
    start: u64,
    line: u64,
    /// The offset to record once they are committed.
    consumed: Consumed,
}

/// Reads what `input` (now `size` bytes) holds past `prev`; `None` when nothing whole.
async fn read_new(
    input: &Input,
    size: u64,
    prev: Option<&Consumed>,
) -> Result<Option<NewBytes>, IngestError> {
    let name = input.name();
    let unchanged = prev.is_some_and(|c| c.offset == size);
    if unchanged || size == 0 {
        return Ok(None);
    }
    // An object that shrank was replaced: read it again from the start. One that grew is
    // read from the offset if the bytes just before it are still those consumed.
    let (mut start, mut line) = match prev {
        Some(c) if !c.whole && c.offset < size => (c.offset, c.line.max(1)),
        _ => (0, 1),
    };
    let mut end = size.min(start + MAX_READ);
    let back = start.min(FINGERPRINT_BYTES);
    let mut read = source::read_range(input, start - back..end).await?;
    let before = read.get(..back as usize).map(xxh3_64);
    let replaced = start > 0 && (before.is_none() || before != prev.and_then(|c| c.fingerprint));
    if replaced {
        (start, line, end) = (0, 1, size.min(MAX_READ));
        read = source::read_range(input, 0..end).await?;
    }
    let (tail, mut bytes) = if replaced {
        (Vec::new(), read)
    } else {
        let after = read.split_off(back as usize);
        (read, after)
    };
    // Only newline-delimited entries can be read from an offset: gzip, a JSON array and
    // pretty-printed objects are read whole whenever they change.
    let whole = prev.is_some_and(|c| c.whole)
        || (start == 0 && (bytes.starts_with(&[0x1f, 0x8b]) || !first_line_is_entry(&bytes)));
    if whole {
        if end < size {
            bytes = source::read_range(input, 0..size).await?;
        }
        let bytes = decompress(&name, bytes)?;
        return Ok(Some(NewBytes {
            bytes,
            start: 0,
            line: 1,
            consumed: Consumed {
                object: name,
                offset: size,
                line: 1,
                whole: true,
                fingerprint: None,
            },
        }));
    }
    let Some(cut) = memchr::memrchr(b'\n', &bytes) else {
        return Ok(None);
    };
    bytes.truncate(cut + 1);
    let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
    // The last bytes consumed, to notice next time that the object was replaced.
    let mut last = tail;
    last.extend_from_slice(&bytes[bytes.len().saturating_sub(FINGERPRINT_BYTES as usize)..]);
    let fingerprint = xxh3_64(&last[last.len().saturating_sub(FINGERPRINT_BYTES as usize)..]);
    Ok(Some(NewBytes {
        consumed: Consumed {
            object: name,
            offset: start + bytes.len() as u64,
            line: line + lines,
            whole: false,
            fingerprint: Some(fingerprint),
        },
        bytes,
        start,
        line,
    }))
}

/// Whether the object starts with one whole entry on its first line (NDJSON). A first line
/// not complete yet counts as one: the rest of the line waits for the next poll.
fn first_line_is_entry(bytes: &[u8]) -> bool {
    let Some(end) = memchr::memchr(b'\n', bytes) else {
        return bytes.trim_ascii_start().first().is_none_or(|b| *b == b'{');
    };
    let line = bytes[..end].trim_ascii();
    line.first() == Some(&b'{') && line.last() == Some(&b'}')
}

/// Gunzips `bytes` when they are gzip (all members); other bytes are returned as they are.
fn decompress(name: &str, bytes: Vec<u8>) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| SourceError::Io {
            arg: name.to_owned(),
            source,
        })?;
    Ok(out)
}

fn newest_in(d: &Decoded) -> Option<i64> {
    use arrow::array::AsArray;
    use arrow::datatypes::TimestampNanosecondType;
    let ts = d
        .batch
        .columns()
        .first()?
        .as_primitive_opt::<TimestampNanosecondType>()?;
    ts.values().iter().copied().max()
}

/// A status line per poll that did something: JSON on stdout, or words on stderr.
fn report(opts: &IngestOptions, p: &Poll, newest: Option<i64>) {
    let now = wall_clock();
    let p = Poll {
        newest_entry: newest.map(crate::common::time::format_rfc3339),
        lag_seconds: newest.map(|n| (now - n) as f64 / 1e9),
        event: p.event,
        version: p.version,
        objects: p.objects,
        bytes: p.bytes,
        rows: p.rows,
        duplicates: p.duplicates,
    };
    if opts.status_json {
        // A status line is advisory: a closed stdout must not stop the follower.
        if let Ok(line) = serde_json::to_string(&p) {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    } else if !opts.quiet {
        eprintln!(
            "followed {} objects (+{} bytes): {} rows so far, lake version {}, newest entry {} ({}s behind)",
            p.objects,
            p.bytes,
            p.rows,
            p.version.map_or("-".into(), |v| v.to_string()),
            p.newest_entry.as_deref().unwrap_or("-"),
            p.lag_seconds.map_or("-".into(), |l| format!("{l:.0}")),
        );
    }
}
