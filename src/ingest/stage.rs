//! The ingest stage run on every core: a framed chunk in, the lake's rows out. Each record
//! is decoded ([`crate::decode::entry`]), signed ([`crate::signature`]: its shape), keyed
//! for deduplication ([`crate::lake::dedup`]) and appended to Arrow columns
//! ([`crate::lake::schema`]). It never fails as a whole: each record becomes a row or a
//! [`Quarantined`] record, and the counts reconcile.

use std::sync::Arc;

use arrow::array::RecordBatch;

use crate::common::time;
use crate::decode::entry;
use crate::decode::frame::{Chunk, FrameError};
use crate::decode::quarantine::{Quarantined, Reason, Rejection};
use crate::lake::dedup;
use crate::lake::schema::RowsBuilder;
use crate::signature;

/// The outcome of decoding one chunk.
pub struct Decoded {
    pub batch: RecordBatch,
    /// Dedup key per row of `batch`.
    pub keys: Vec<u128>,
    /// UTC day number per row of `batch`.
    pub days: Vec<i32>,
    pub quarantined: Vec<Quarantined>,
    /// Rows whose timestamp came from `receiveTimestamp`.
    pub timestamp_fallbacks: u64,
    pub records: u64,
    pub blank_lines: u64,
}

/// Decodes every record of a chunk from `source` into `rows` (a decoder's builder, kept
/// from chunk to chunk so its buffers come sized; it is empty again on return).
pub fn decode_chunk(chunk: &Chunk, source: &Arc<str>, rows: &mut RowsBuilder) -> Decoded {
    let mut keys = Vec::with_capacity(chunk.spans.len());
    let mut days = Vec::with_capacity(chunk.spans.len());
    let mut quarantined = Vec::new();
    let mut timestamp_fallbacks = 0;
    let mut shape = String::new();
    for span in &chunk.spans {
        let bytes = chunk.record(span);
        let result = match span.error {
            Some(FrameError::Truncated) => Err(Rejection::new(
                Reason::TruncatedJson,
                "the JSON value is not closed before the input (or the next entry) begins",
            )),
            Some(FrameError::TooLarge) => Err(Rejection::new(
                Reason::TooLarge,
                format!(
                    "record larger than {} bytes; only its first bytes are kept",
                    bytes.len()
                ),
            )),
            None => entry::decode(bytes),
        };
        match result {
            Ok(row) => {
                timestamp_fallbacks += u64::from(row.timestamp_missing);
                keys.push(dedup::key(
                    row.log_name.as_deref(),
                    row.insert_id.as_deref(),
                    row.timestamp,
                    &row.message,
                ));
                days.push(time::day_of(row.timestamp));
                let shape_id = signature::shape_cached(&row.message, &mut shape);
                rows.append(&row, &shape, shape_id, source, span.offset, span.line);
            }
            Err(rej) => quarantined.push(Quarantined {
                source: source.clone(),
                offset: span.offset,
                line: span.line,
                reason: rej.reason,
                detail: rej.detail,
                raw: bytes.to_vec(),
            }),
        }
    }
    Decoded {
        batch: rows.finish(),
        keys,
        days,
        quarantined,
        timestamp_fallbacks,
        records: chunk.spans.len() as u64,
        blank_lines: chunk.blank_lines,
    }
}
