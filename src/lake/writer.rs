//! Partitioned, deduplicating Parquet writer.
//!
//! Rows arrive in input order (newest first for gcloud, interleaved across logs). They are
//! split by UTC day, deduplicated against the run and against what the lake already holds,
//! buffered per day, and written as one sorted file when a day's buffer is full, when the
//! buffers together pass the memory budget, on a flush tick, and at the end.
//!
//! Failure modes: encoding or store errors are [`LakeError`]s naming the file; a file is
//! either published whole or not at all.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanArray, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::TimestampNanosecondType;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::dedup;
use super::schema::logs_schema;
use super::{Lake, LakeError};
use crate::decode::quarantine::Quarantined;
use crate::decode::time::day_string;

/// Tuning for [`LakeWriter`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Rows per file (one row group each).
    pub rows_per_file: usize,
    /// Memory the per-day buffers may hold together before the largest is written out.
    pub buffer_bytes: usize,
    pub zstd_level: i32,
    /// Files encoded in the background at once.
    pub max_inflight: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            rows_per_file: 262_144,
            buffer_bytes: 160 << 20,
            zstd_level: 1,
            max_inflight: 1,
        }
    }
}

/// A Parquet file this run published.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Published {
    pub path: String,
    pub rows: usize,
    pub bytes: usize,
}

#[derive(Default)]
struct Day {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    seen: HashSet<u128>,
}

/// Writes rows and quarantined records into a lake for one run.
pub struct LakeWriter {
    lake: Lake,
    run_id: String,
    opts: WriterOptions,
    days: BTreeMap<i32, Day>,
    buffered_bytes: usize,
    quarantine: Vec<Quarantined>,
    quarantine_bytes: usize,
    seq: u64,
    inflight: tokio::task::JoinSet<Result<Vec<Published>, LakeError>>,
    pub published: Vec<Published>,
    pub rows: u64,
    pub duplicates: u64,
}

impl LakeWriter {
    pub fn new(lake: Lake, run_id: String, opts: WriterOptions) -> Self {
        LakeWriter {
            lake,
            run_id,
            opts,
            days: BTreeMap::new(),
            buffered_bytes: 0,
            quarantine: Vec::new(),
            quarantine_bytes: 0,
            seq: 0,
            inflight: tokio::task::JoinSet::new(),
            published: Vec::new(),
            rows: 0,
            duplicates: 0,
        }
    }

    /// Adds decoded rows. `keys[i]` and `days[i]` belong to row `i` of `batch`.
    pub async fn add(
        &mut self,
        batch: RecordBatch,
        keys: &[u128],
        days: &[i32],
    ) -> Result<(), LakeError> {
        let mut distinct: Vec<i32> = days.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        for day in distinct {
            if !self.days.contains_key(&day) {
                let seen = dedup::existing_keys(&self.lake, &day_string(day)).await?;
                self.days.insert(
                    day,
                    Day {
                        seen,
                        ..Day::default()
                    },
                );
            }
            let Some(part) = self.days.get_mut(&day) else {
                continue;
            };
            let mask: BooleanArray = keys
                .iter()
                .zip(days)
                .map(|(k, d)| Some(*d == day && part.seen.insert(*k)))
                .collect();
            let in_day = days.iter().filter(|d| **d == day).count();
            let kept = mask.true_count();
            self.duplicates += (in_day - kept) as u64;
            if kept == 0 {
                continue;
            }
            let rows = filter_record_batch(&batch, &mask).map_err(|source| LakeError::Arrow {
                path: format!("dt={}", day_string(day)),
                source,
            })?;
            let bytes = rows.get_array_memory_size();
            part.rows += kept;
            part.bytes += bytes;
            part.batches.push(rows);
            self.buffered_bytes += bytes;
            if part.rows >= self.opts.rows_per_file {
                self.flush_day(day).await?;
            }
        }
        while self.buffered_bytes > self.opts.buffer_bytes {
            let Some(largest) = self
                .days
                .iter()
                .filter(|(_, d)| d.rows > 0)
                .max_by_key(|(_, d)| d.bytes)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.flush_day(largest).await?;
        }
        Ok(())
    }

    /// Keeps a refused record for the quarantine.
    pub async fn add_quarantined(&mut self, q: Vec<Quarantined>) -> Result<(), LakeError> {
        self.quarantine_bytes += q
            .iter()
            .map(|r| r.raw.len() + r.detail.len() + 64)
            .sum::<usize>();
        self.quarantine.extend(q);
        if self.quarantine_bytes > 64 << 20 {
            self.flush_quarantine().await?;
        }
        Ok(())
    }

    /// Writes out everything buffered.
    pub async fn flush_all(&mut self) -> Result<(), LakeError> {
        let days: Vec<i32> = self
            .days
            .iter()
            .filter(|(_, d)| d.rows > 0)
            .map(|(k, _)| *k)
            .collect();
        for day in days {
            self.flush_day(day).await?;
        }
        while !self.inflight.is_empty() {
            self.join_one().await?;
        }
        self.flush_quarantine().await
    }

    fn next_name(&mut self) -> String {
        self.seq += 1;
        format!("part-{}-{:05}.parquet", self.run_id, self.seq)
    }

    async fn flush_day(&mut self, day: i32) -> Result<(), LakeError> {
        let Some(part) = self.days.get_mut(&day) else {
            return Ok(());
        };
        let batches = std::mem::take(&mut part.batches);
        let rows = std::mem::take(&mut part.rows);
        self.buffered_bytes -= std::mem::take(&mut part.bytes);
        if rows == 0 {
            return Ok(());
        }
        // Encode and publish in the background so decoding goes on meanwhile; at most
        // `max_inflight` files are being encoded at once, which bounds memory.
        while self.inflight.len() >= self.opts.max_inflight.max(1) {
            self.join_one().await?;
        }
        let level = self.opts.zstd_level;
        let per_file = self.opts.rows_per_file.max(1);
        let dt = format!("dt={}", day_string(day));
        let paths: Vec<_> = (0..rows.div_ceil(per_file))
            .map(|_| {
                let name = self.next_name();
                self.lake.path(&["logs", &dt, &name])
            })
            .collect();
        let lake = self.lake.clone();
        self.inflight.spawn(async move {
            let encoded =
                tokio::task::spawn_blocking(move || encode_sorted(&batches, level, per_file))
                    .await
                    .map_err(|e| LakeError::Task {
                        path: dt.clone(),
                        detail: e.to_string(),
                    })?
                    .map_err(|e| e.at(&dt))?;
            let mut published = Vec::with_capacity(encoded.len());
            for ((bytes, rows), path) in encoded.into_iter().zip(paths) {
                let size = bytes.len();
                lake.put(&path, bytes).await?;
                published.push(Published {
                    path: path.to_string(),
                    rows,
                    bytes: size,
                });
            }
            Ok(published)
        });
        Ok(())
    }

    /// Waits for one background file to be published.
    async fn join_one(&mut self) -> Result<(), LakeError> {
        let Some(joined) = self.inflight.join_next().await else {
            return Ok(());
        };
        let published = joined.map_err(|e| LakeError::Task {
            path: "logs".into(),
            detail: e.to_string(),
        })??;
        for p in published {
            self.rows += p.rows as u64;
            self.published.push(p);
        }
        Ok(())
    }

    async fn flush_quarantine(&mut self) -> Result<(), LakeError> {
        if self.quarantine.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.quarantine);
        self.quarantine_bytes = 0;
        let name = self.next_name();
        let path = self
            .lake
            .path(&["_quarantine", &format!("run={}", self.run_id), &name]);
        let display = path.to_string();
        let batch = quarantine_batch(&records).map_err(|source| LakeError::Arrow {
            path: display.clone(),
            source,
        })?;
        let encoded = write_parquet(&batch, props(1, &[], false)).map_err(|e| e.at(&display))?;
        self.lake.put(&path, encoded).await
    }
}

enum EncodeError {
    Arrow(arrow::error::ArrowError),
    Parquet(parquet::errors::ParquetError),
}

impl EncodeError {
    fn at(self, path: &str) -> LakeError {
        match self {
            EncodeError::Arrow(source) => LakeError::Arrow {
                path: path.to_owned(),
                source,
            },
            EncodeError::Parquet(source) => LakeError::Parquet {
                path: path.to_owned(),
                source,
            },
        }
    }
}

/// Concatenates and sorts by timestamp, then encodes files of at most `per_file` rows, each
/// one row group. Returns each file's bytes and row count.
fn encode_sorted(
    batches: &[RecordBatch],
    level: i32,
    per_file: usize,
) -> Result<Vec<(Vec<u8>, usize)>, EncodeError> {
    // One gather from all buffered batches in timestamp order (no concat-then-take copy).
    let stamps: Vec<&[i64]> = batches
        .iter()
        .map(|b| {
            b.column(0)
                .as_primitive::<TimestampNanosecondType>()
                .values()
                .as_ref()
        })
        .collect();
    let mut order: Vec<(usize, usize)> = stamps
        .iter()
        .enumerate()
        .flat_map(|(b, ts)| (0..ts.len()).map(move |r| (b, r)))
        .collect();
    order.sort_by_key(|&(b, r)| stamps[b][r]);
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    // High-cardinality columns: a dictionary would only be built to be abandoned.
    let plain = [
        "timestamp",
        "receive_timestamp",
        "insert_id",
        "trace",
        "span_id",
        "http_request_url",
        "http_request_remote_ip",
        "text_payload",
        "json_payload",
        "proto_payload",
        "message",
        "source_offset",
        "source_line",
    ];
    let mut out = Vec::new();
    for file in order.chunks(per_file.max(1)) {
        let rows = file.len();
        let mut p = props(level, &plain, true).set_max_row_group_row_count(Some(rows));
        for col in ["insert_id", "trace"] {
            p = p
                .set_column_bloom_filter_enabled(ColumnPath::from(col), true)
                .set_column_bloom_filter_max_ndv(ColumnPath::from(col), rows as u64);
        }
        // Gather and encode the file's rows a slice at a time: the writer keeps only encoded
        // pages, so no sorted copy of the whole file is ever alive.
        let mut buf = Vec::with_capacity(rows * 96);
        let mut w = ArrowWriter::try_new(&mut buf, logs_schema(), Some(p.build()))
            .map_err(EncodeError::Parquet)?;
        for piece in file.chunks(ENCODE_SLICE_ROWS) {
            let sorted = interleave_record_batch(&refs, piece).map_err(EncodeError::Arrow)?;
            w.write(&sorted).map_err(EncodeError::Parquet)?;
        }
        w.close().map_err(EncodeError::Parquet)?;
        out.push((buf, rows));
    }
    Ok(out)
}

/// Rows gathered at once while encoding a file.
const ENCODE_SLICE_ROWS: usize = 16_384;

fn props(
    level: i32,
    plain: &[&str],
    sorted_by_time: bool,
) -> parquet::file::properties::WriterPropertiesBuilder {
    let zstd = ZstdLevel::try_new(level).unwrap_or_default();
    let mut p = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::ZSTD(zstd))
        .set_created_by(format!("log-gardener {}", env!("CARGO_PKG_VERSION")));
    for col in plain {
        p = p.set_column_dictionary_enabled(ColumnPath::from(*col), false);
    }
    for col in ["timestamp", "receive_timestamp"] {
        p = p.set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED);
    }
    if sorted_by_time {
        p = p.set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]));
    }
    p
}

fn write_parquet(
    batch: &RecordBatch,
    props: parquet::file::properties::WriterPropertiesBuilder,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(batch.get_array_memory_size() / 4);
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props.build()))
        .map_err(EncodeError::Parquet)?;
    w.write(batch).map_err(EncodeError::Parquet)?;
    w.close().map_err(EncodeError::Parquet)?;
    Ok(out)
}

/// The schema of `_quarantine/` files.
pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("source_offset", DataType::Int64, false),
        Field::new("source_line", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("raw", DataType::Binary, false),
    ]))
}

fn quarantine_batch(records: &[Quarantined]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut source = StringBuilder::new();
    let mut offset = Int64Builder::new();
    let mut line = Int64Builder::new();
    let mut reason = StringBuilder::new();
    let mut detail = StringBuilder::new();
    let mut raw = BinaryBuilder::new();
    for q in records {
        source.append_value(&q.source);
        offset.append_value(q.offset as i64);
        line.append_value(q.line as i64);
        reason.append_value(q.reason.as_str());
        detail.append_value(&q.detail);
        raw.append_value(&q.raw);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(source.finish()),
        Arc::new(offset.finish()),
        Arc::new(line.finish()),
        Arc::new(reason.finish()),
        Arc::new(detail.finish()),
        Arc::new(raw.finish()),
    ];
    RecordBatch::try_new(quarantine_schema(), columns)
}
