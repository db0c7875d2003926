//! What must hold on the input paths for any input, one function per statement returning what
//! broke. The property tests (`props.rs`) and the fuzz targets (`fuzz/fuzz_targets/`, which
//! include this file by path) check the same statements, so a fuzz finding and its regression
//! test say the same thing. Only the library without its `engine` feature is used here.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use log_gardener::common::time::{format_rfc3339, parse_rfc3339};
use log_gardener::decode::frame::{Chunk, FrameError, FrameOptions, Framer};
use log_gardener::decode::quarantine::Reason;
use log_gardener::decode::{entry, json};
use log_gardener::engine::named;
use log_gardener::ingest::stage::decode_chunk;
use log_gardener::lake::schema::RowsBuilder;
use log_gardener::range::{TimeRange, time_at};
use log_gardener::signature::{self, cluster, mask};
use log_gardener::source::sink;

pub type Check = Result<(), String>;

/// Panics with the first statement that broke (what a fuzz target reports as a finding).
pub fn hold(checks: impl IntoIterator<Item = Check>) {
    if let Some(Err(e)) = checks.into_iter().find(Result::is_err) {
        panic!("{e}");
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

/// Frames `reader` to its end: the chunks, and the decompressed bytes read.
pub fn frame_all(
    reader: impl Read,
    read_size: usize,
    chunk_bytes: usize,
    max_record: usize,
) -> (Vec<Chunk>, u64) {
    let opts = FrameOptions {
        read_size,
        chunk_bytes,
        max_record,
        interactive: false,
    };
    let mut f = Framer::new(reader, opts);
    let mut chunks = Vec::new();
    // A read error ends the input (kept in the framer); next_chunk itself does not fail.
    while let Ok(Some(c)) = f.next_chunk() {
        chunks.push(c);
    }
    (chunks, f.bytes())
}

/// (offset, line, error, bytes) of every record, in order.
pub type Records = Vec<(u64, u64, Option<FrameError>, Vec<u8>)>;

pub fn records(chunks: &[Chunk]) -> Records {
    chunks
        .iter()
        .flat_map(|c| {
            c.spans
                .iter()
                .map(|s| (s.offset, s.line, s.error, c.record(s).to_vec()))
        })
        .collect()
}

/// Bytes framing may drop: whitespace, array punctuation, a byte-order mark.
fn droppable(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'[' | b']' | b',' | 0xEF | 0xBB | 0xBF)
}

fn line_at(input: &[u8], offset: usize) -> u64 {
    1 + memchr_count(b'\n', &input[..offset])
}

fn memchr_count(b: u8, s: &[u8]) -> u64 {
    s.iter().filter(|&&c| c == b).count() as u64
}

/// Framing keeps every byte that is not whitespace or structure, gives each record its
/// place (offset, line) in the input, in order, and does not depend on read or chunk sizes.
pub fn framing(input: &[u8], read_size: usize, chunk_bytes: usize) -> Check {
    let big = input.len() + 1;
    let a = records(&frame_all(input, read_size, chunk_bytes, big).0);
    let b = records(&frame_all(input, 1 << 16, 1 << 20, big).0);
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
        let show = |r: &(u64, u64, Option<FrameError>, Vec<u8>)| {
            format!(
                "{} line {} {:?} {:?}",
                r.0,
                r.1,
                r.2,
                String::from_utf8_lossy(&r.3)
            )
        };
        return Err(format!(
            "read size {read_size}, chunk {chunk_bytes}: record {} differs from one read's {}",
            show(x),
            show(y)
        ));
    }
    ensure!(
        a.len() == b.len(),
        "read size {read_size}, chunk {chunk_bytes}: {} records, one read: {}",
        a.len(),
        b.len()
    );
    let mut covered = vec![false; input.len()];
    let mut end = 0;
    for (offset, line, _, bytes) in &a {
        let start = *offset as usize;
        ensure!(
            start >= end,
            "record at {start} overlaps the one ending at {end}"
        );
        end = start + bytes.len();
        ensure!(end <= input.len(), "record at {start} ends past the input");
        ensure!(
            &input[start..end] == bytes.as_slice(),
            "record at {start} is not the input's bytes there"
        );
        ensure!(
            *line == line_at(input, start),
            "record at {start} says line {line}, it is on {}",
            line_at(input, start)
        );
        covered[start..end].iter_mut().for_each(|x| *x = true);
    }
    for (i, &b) in input.iter().enumerate() {
        ensure!(
            covered[i] || droppable(b),
            "byte {i} ({:?}) lost",
            b as char
        );
    }
    Ok(())
}

/// A gzip stream frames as its content does.
pub fn gzip_transparent(input: &[u8], read_size: usize) -> Check {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(input).map_err(|e| e.to_string())?;
    let gz = gz.finish().map_err(|e| e.to_string())?;
    let big = input.len() + 1;
    let plain = records(&frame_all(input, read_size, 1 << 20, big).0);
    let decoder = flate2::read::MultiGzDecoder::new(gz.as_slice());
    let (chunks, bytes) = frame_all(decoder, read_size, 1 << 20, big);
    ensure!(
        bytes == input.len() as u64,
        "gzip gave {bytes} bytes of {}",
        input.len()
    );
    ensure!(records(&chunks) == plain, "gzip framed differently");
    Ok(())
}

/// Any bytes read as gzip: framing ends at the first bad byte, and every record lies within
/// what was decoded.
pub fn gzip_corrupt(input: &[u8], read_size: usize) -> Check {
    let decoder = flate2::read::MultiGzDecoder::new(input);
    let (chunks, bytes) = frame_all(decoder, read_size, 1 << 20, 1 << 20);
    for (offset, _, _, raw) in records(&chunks) {
        ensure!(
            offset + raw.len() as u64 <= bytes,
            "record at {offset} ends past the {bytes} decoded bytes"
        );
    }
    Ok(())
}

/// Every record becomes a row or a quarantined record (never both, never neither); a
/// quarantined record keeps its bytes and its place in the input; a record over
/// `max_record` bytes is one `too_large` record holding its first `max_record` bytes.
pub fn accounting(input: &[u8], read_size: usize, max_record: usize) -> Check {
    let source: Arc<str> = "fuzz".into();
    let mut builder = RowsBuilder::default();
    for chunk in frame_all(input, read_size, 64, max_record).0 {
        let d = decode_chunk(&chunk, &source, &mut builder);
        let rows = d.batch.num_rows() as u64;
        ensure!(d.records == chunk.spans.len() as u64, "records miscounted");
        ensure!(
            d.records == rows + d.quarantined.len() as u64,
            "{} records, {rows} rows, {} quarantined",
            d.records,
            d.quarantined.len()
        );
        ensure!(
            d.keys.len() as u64 == rows && d.days.len() as u64 == rows,
            "keys/days"
        );
        for s in &chunk.spans {
            if s.error == Some(FrameError::TooLarge) {
                ensure!(
                    s.end - s.start == max_record,
                    "too-large record at {}",
                    s.offset
                );
            } else {
                ensure!(
                    s.end - s.start <= max_record,
                    "record at {} over the limit",
                    s.offset
                );
            }
        }
        for q in &d.quarantined {
            let start = q.offset as usize;
            let end = start + q.raw.len();
            ensure!(
                end <= input.len(),
                "quarantined record at {start} ends past the input"
            );
            ensure!(
                input[start..end] == q.raw[..],
                "quarantined record at {start} is not the input's bytes there"
            );
            ensure!(
                q.line == line_at(input, start),
                "quarantined record at {start}: line"
            );
        }
    }
    Ok(())
}

/// Each non-blank line of text that is not JSON (no `{` or `[` first) is one record.
pub fn lines_are_records(lines: &[String]) -> Check {
    let text = lines.join("\n");
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = body
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    if matches!(first, Some(b'{' | b'[')) {
        return Ok(()); // a JSON stream or array: `framing` covers it
    }
    let chunks = frame_all(text.as_bytes(), 5, 32, 1 << 20).0;
    let records: usize = chunks.iter().map(|c| c.spans.len()).sum();
    let blanks: u64 = chunks.iter().map(|c| c.blank_lines).sum();
    let lines: Vec<&str> = if lines.is_empty() {
        Vec::new()
    } else {
        body.split('\n').collect()
    };
    let non_blank = lines
        .iter()
        .filter(|l| !l.bytes().all(|b| b.is_ascii_whitespace()))
        .count();
    ensure!(
        records == non_blank,
        "{records} records from {non_blank} lines"
    );
    ensure!(
        blanks as usize <= lines.len() - non_blank,
        "{blanks} blank lines"
    );
    Ok(())
}

/// Decoding a record gives a row or a reason, and a row's timestamp prints as RFC 3339
/// that parses back to it (the lake and every query print and read it that way).
pub fn decode_record(bytes: &[u8]) -> Check {
    if let Ok(row) = entry::decode(bytes) {
        let printed = format_rfc3339(row.timestamp);
        ensure!(
            parse_rfc3339(&printed) == Ok(row.timestamp),
            "timestamp {} prints as {printed}, which does not parse back",
            row.timestamp
        );
    }
    Ok(())
}

/// The decoder's one-pass JSON cursor accepts exactly the text serde_json accepts, and an
/// object serde_json reads in full (strings decoded: no lone surrogates) is never refused
/// as malformed JSON.
pub fn json_validity(bytes: &[u8]) -> Check {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(());
    };
    let ours = json::Cursor::new(text).document();
    let theirs = serde_json::from_str::<serde::de::IgnoredAny>(text);
    ensure!(
        ours.is_ok() == theirs.is_ok(),
        "cursor: {ours:?}, serde_json: {theirs:?}, on {text:?}"
    );
    if text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
        && let Err(e) = entry::decode(bytes)
    {
        ensure!(
            !matches!(e.reason, Reason::InvalidJson | Reason::TruncatedJson),
            "valid JSON refused as {e:?}: {text:?}"
        );
    }
    Ok(())
}

/// Compacting a pretty-printed document gives serde_json's compact text of it (what a
/// gcloud array's entry and the same entry in a sink file both store).
pub fn json_compacts(bytes: &[u8]) -> Check {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    let (Ok(pretty), Ok(compact)) = (
        serde_json::to_string_pretty(&doc),
        serde_json::to_string(&doc),
    ) else {
        return Ok(());
    };
    let ours = json::compact(&pretty);
    ensure!(
        ours == compact,
        "{pretty:?} compacted to {ours:?}, not {compact:?}"
    );
    Ok(())
}

/// A timestamp the parser accepts prints as one that parses back to the same instant.
pub fn time_text(s: &str) -> Check {
    if let Ok(t) = parse_rfc3339(s) {
        let printed = format_rfc3339(t);
        ensure!(
            parse_rfc3339(&printed) == Ok(t),
            "{s:?} -> {t} -> {printed:?}"
        );
    }
    Ok(())
}

/// Every instant prints as text that parses back to it.
pub fn time_instant(t: i64) -> Check {
    let printed = format_rfc3339(t);
    ensure!(parse_rfc3339(&printed) == Ok(t), "{t} -> {printed:?}");
    Ok(())
}

fn shape(msg: &str) -> String {
    let mut out = String::new();
    mask::shape_into(msg, &mut out);
    out
}

/// Masking is idempotent: a shape's shape is itself.
pub fn shape_idempotent(msg: &str) -> Check {
    let once = shape(msg);
    let twice = shape(&once);
    ensure!(once == twice, "{msg:?} -> {once:?} -> {twice:?}");
    Ok(())
}

/// The template of a signature fits the shape of every message signed with it (`<*>` is
/// any text; a value restated in parentheses may be absent: `signature::cluster::fits`).
pub fn templates_match<S: AsRef<str> + Sync>(messages: &[S]) -> Check {
    let templates = signature::mine(messages, 1);
    ensure!(
        templates.len() == messages.len(),
        "one template per message"
    );
    for (m, t) in messages.iter().zip(&templates) {
        let (m, s) = (m.as_ref(), shape(m.as_ref()));
        ensure!(
            cluster::fits(t, &s),
            "template {t:?} does not fit shape {s:?} of {m:?}"
        );
    }
    Ok(())
}

/// `--since`/`--until`: an error or a time, never a panic; a span counts back from `now`
/// exactly or is refused; the resulting range prints as SQL.
pub fn range_value(value: &str, now: i64) -> Check {
    let Ok(t) = time_at("since", value, now) else {
        return Ok(());
    };
    let units = [
        ('s', 1),
        ('m', 60),
        ('h', 3600),
        ('d', 86_400),
        ('w', 604_800),
    ];
    if let Some((unit, secs)) = units.iter().find(|(u, _)| value.ends_with(*u))
        && let Ok(n) = value[..value.len() - unit.len_utf8()].parse::<i64>()
    {
        let want = n
            .checked_mul(secs * 1_000_000_000)
            .and_then(|span| now.checked_sub(span));
        ensure!(want == Some(t), "{value:?} from {now}: {t}, want {want:?}");
    }
    let range = TimeRange {
        since: Some(t),
        until: Some(t),
    };
    let _ = (TimeRange::sql_bound(range.since), range.covers(t, t));
    Ok(())
}

/// A sink file for the hour holding `t` (and its date folders) is never skipped for a range
/// that holds `t`. `log_id` names the log's folders (not a date itself).
pub fn sink_keeps(log_id: &[String], t: i64, since: Option<i64>, until: Option<i64>) -> Check {
    let range = TimeRange { since, until };
    if !range.contains(t) {
        return Ok(());
    }
    let printed = format_rfc3339(t); // YYYY-MM-DDTHH:MM:SS.fffffffffZ
    let (y, mo, d, h) = (
        &printed[0..4],
        &printed[5..7],
        &printed[8..10],
        &printed[11..13],
    );
    let name = format!("{h}:00:00_{h}:59:59_S0.json");
    let mut parts: Vec<&str> = log_id.iter().map(String::as_str).collect();
    parts.extend([y, mo, d]);
    for n in 1..=parts.len() {
        ensure!(
            sink::folder_may_match(&parts[..n], &range),
            "folder {} skipped for {range:?} holding {printed}",
            parts[..n].join("/")
        );
    }
    parts.push(&name);
    ensure!(
        sink::file_may_match(&parts, &range),
        "file {} skipped for {range:?} holding {printed}",
        parts.join("/")
    );
    Ok(())
}

/// `--param` values fill `${name}` literally and never add a quote (a value holding one is
/// refused), so a value cannot end or open a string literal of the query.
pub fn params(sql: &str, values: &BTreeMap<String, String>) -> Check {
    let Ok(out) = named::substitute(sql, values) else {
        return Ok(());
    };
    let quotes = |s: &str| s.matches('\'').count();
    ensure!(
        quotes(&out) <= quotes(sql),
        "a value added a quote: {out:?}"
    );
    Ok(())
}

/// A named query filled with any values keeps its quotes as written and leaves no
/// placeholder (values holding `$` aside: those are pasted as they are).
pub fn named_params(query: usize, values: &BTreeMap<String, String>) -> Check {
    let (name, sql) = named::QUERIES[query % named::QUERIES.len()];
    let Ok(out) = named::render(name, values) else {
        return Ok(());
    };
    let quotes = |s: &str| s.matches('\'').count();
    ensure!(quotes(&out) == quotes(sql), "{name}: quotes changed: {out}");
    if !values.values().any(|v| v.contains('$')) {
        ensure!(!out.contains("${"), "{name}: a placeholder is left: {out}");
    }
    Ok(())
}
