//! The signatures tables, derived from the lake after every ingest:
//! - `signatures/shapes.parquet`: one row per distinct shape: `shape_id`, `shape`,
//!   `signature_id`, `template`, `count`, `first_seen`, `last_seen`;
//! - `signatures/signatures.parquet`: one row per signature: `signature_id`, `template`,
//!   `miner_version`, `count`, `first_seen`, `last_seen`, `example` (the latest message),
//!   `max_severity`, `severity_mix` (JSON: severity -> rows), `shapes`.
//!
//! Rows in `logs/` carry their `shape_id` (step 1 of signing, stateless). Templates come
//! from clustering *all* shapes in the lake (step 2), so they never depend on how the data
//! was split across runs; rebuilding after each run keeps ids and counts exact, including
//! after a run that was killed. Counts per signature add up to the lake's row count.
//!
//! Failure modes: unreadable files are a [`LakeError`] naming them; both tables are written
//! whole in one put each.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow::datatypes::{
    DataType, Field, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit, TimestampNanosecondType,
};
use parquet::arrow::ArrowWriter;

use super::reader::scan_columns;
use super::{Lake, LakeError};
use crate::decode::entry::SEVERITIES;
use crate::signature::{MINER_VERSION, cluster, signature_id};

#[derive(Default)]
struct ShapeStats {
    shape: String,
    count: i64,
    first: i64,
    last: i64,
    example: String,
    severities: [i64; 9],
}

/// What the rebuild found.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SignatureSummary {
    pub rows: u64,
    pub shapes: usize,
    pub signatures: usize,
}

/// Refuses a lake whose rows were signed by another miner version: its `logs/` rows carry
/// that version's shapes, and clustering them with this version's shapes would give
/// templates neither version makes. A lake without signatures yet passes.
pub async fn check_miner_version(lake: &Lake) -> Result<(), LakeError> {
    let mut found: Option<String> = None;
    scan_columns(lake, &["signatures"], &["miner_version"], |batch| {
        // `shapes.parquet` has no such column: its batches come back without it.
        let versions = batch
            .column_by_name("miner_version")
            .and_then(|c| c.as_string_opt::<i32>());
        if let Some(v) = versions.and_then(|v| v.iter().flatten().find(|v| *v != MINER_VERSION)) {
            found.get_or_insert_with(|| v.to_owned());
        }
    })
    .await?;
    match found {
        Some(found) => Err(LakeError::MinerVersion {
            location: lake.display.clone(),
            found,
            current: MINER_VERSION,
        }),
        None => Ok(()),
    }
}

/// Rebuilds both tables from every file under `logs/`.
pub async fn rebuild(lake: &Lake) -> Result<SignatureSummary, LakeError> {
    let mut stats: HashMap<i64, ShapeStats> = HashMap::new();
    let mut rows = 0u64;
    let columns = [
        "timestamp",
        "severity_number",
        "message",
        "shape_id",
        "shape",
    ];
    scan_columns(lake, &["logs"], &columns, |batch| {
        rows += batch.num_rows() as u64;
        absorb(batch, &mut stats);
    })
    .await?;
    let mut ids: Vec<i64> = stats.keys().copied().collect();
    ids.sort_unstable();
    let shapes: Vec<&str> = ids.iter().map(|id| stats[id].shape.as_str()).collect();
    let templates = cluster::cluster(&shapes);

    let mut by_sig: BTreeMap<String, (String, ShapeStats, usize)> = BTreeMap::new();
    for (id, template) in ids.iter().zip(&templates) {
        let s = &stats[id];
        let sig = signature_id(template);
        let e = by_sig.entry(sig).or_insert_with(|| {
            (
                template.clone(),
                ShapeStats {
                    first: i64::MAX,
                    last: i64::MIN,
                    ..ShapeStats::default()
                },
                0,
            )
        });
        e.1.count += s.count;
        e.1.first = e.1.first.min(s.first);
        if s.last >= e.1.last {
            e.1.last = s.last;
            e.1.example = s.example.clone();
        }
        for (a, b) in e.1.severities.iter_mut().zip(s.severities) {
            *a += b;
        }
        e.2 += 1;
    }

    let shapes_batch = {
        let shape_sigs: Vec<String> = templates.iter().map(|t| signature_id(t)).collect();
        let col = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        RecordBatch::try_new(
            shapes_schema(),
            vec![
                Arc::new(Int64Array::from(ids.clone())),
                col(shapes.clone()),
                col(shape_sigs.iter().map(String::as_str).collect()),
                col(templates.iter().map(String::as_str).collect()),
                Arc::new(Int64Array::from_iter_values(
                    ids.iter().map(|i| stats[i].count),
                )),
                ts_array(ids.iter().map(|i| stats[i].first)),
                ts_array(ids.iter().map(|i| stats[i].last)),
            ],
        )
    };
    let sig_batch = {
        let col = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let mixes: Vec<String> = by_sig
            .values()
            .map(|(_, s, _)| severity_mix(&s.severities))
            .collect();
        let max_sev: Vec<&str> = by_sig
            .values()
            .map(|(_, s, _)| {
                s.severities
                    .iter()
                    .rposition(|&n| n > 0)
                    .map_or("DEFAULT", |k| SEVERITIES[k].0)
            })
            .collect();
        RecordBatch::try_new(
            signatures_schema(),
            vec![
                col(by_sig.keys().map(String::as_str).collect()),
                col(by_sig.values().map(|(t, _, _)| t.as_str()).collect()),
                col(vec![MINER_VERSION; by_sig.len()]),
                Arc::new(Int64Array::from_iter_values(
                    by_sig.values().map(|(_, s, _)| s.count),
                )),
                ts_array(by_sig.values().map(|(_, s, _)| s.first)),
                ts_array(by_sig.values().map(|(_, s, _)| s.last)),
                col(by_sig
                    .values()
                    .map(|(_, s, _)| s.example.as_str())
                    .collect()),
                col(max_sev),
                col(mixes.iter().map(String::as_str).collect()),
                Arc::new(Int32Array::from_iter_values(
                    by_sig.values().map(|(_, _, n)| *n as i32),
                )),
            ],
        )
    };
    let summary = SignatureSummary {
        rows,
        shapes: ids.len(),
        signatures: by_sig.len(),
    };
    for (name, batch) in [
        ("shapes.parquet", shapes_batch),
        ("signatures.parquet", sig_batch),
    ] {
        let path = lake.path(&["signatures", name]);
        let batch = batch.map_err(|source| LakeError::Arrow {
            path: path.to_string(),
            source,
        })?;
        let mut buf = Vec::new();
        let pq = |source| LakeError::Parquet {
            path: path.to_string(),
            source,
        };
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).map_err(pq)?;
        w.write(&batch).map_err(pq)?;
        w.close().map_err(pq)?;
        lake.put(&path, buf).await?;
    }
    Ok(summary)
}

fn absorb(batch: &RecordBatch, stats: &mut HashMap<i64, ShapeStats>) {
    let (Some(ts), Some(sev), Some(msg), Some(id), Some(shape)) = (
        batch.column_by_name("timestamp"),
        batch.column_by_name("severity_number"),
        batch.column_by_name("message"),
        batch.column_by_name("shape_id"),
        batch.column_by_name("shape"),
    ) else {
        return;
    };
    let ts = ts.as_primitive::<TimestampNanosecondType>();
    let sev = sev.as_primitive::<Int32Type>();
    let id = id.as_primitive::<Int64Type>();
    let (msg, shape) = (msg.as_string::<i32>(), shape.as_string::<i32>());
    for i in 0..batch.num_rows() {
        let s = stats.entry(id.value(i)).or_insert_with(|| ShapeStats {
            shape: shape.value(i).to_owned(),
            first: i64::MAX,
            last: i64::MIN,
            ..ShapeStats::default()
        });
        let t = ts.value(i);
        s.count += 1;
        s.first = s.first.min(t);
        if t >= s.last {
            s.last = t;
            s.example = msg.value(i).to_owned();
        }
        let k = (sev.value(i).clamp(0, 800) / 100) as usize;
        s.severities[k] += 1;
    }
}

fn severity_mix(counts: &[i64; 9]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("\"{}\":{n}", SEVERITIES[k].0))
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn ts_array(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter_values(values).with_timezone("UTC"))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

pub fn shapes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("shape_id", DataType::Int64, false),
        Field::new("shape", DataType::Utf8, false),
        Field::new("signature_id", DataType::Utf8, false),
        Field::new("template", DataType::Utf8, false),
        Field::new("count", DataType::Int64, false),
        Field::new("first_seen", ts(), false),
        Field::new("last_seen", ts(), false),
    ]))
}

pub fn signatures_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("signature_id", DataType::Utf8, false),
        Field::new("template", DataType::Utf8, false),
        Field::new("miner_version", DataType::Utf8, false),
        Field::new("count", DataType::Int64, false),
        Field::new("first_seen", ts(), false),
        Field::new("last_seen", ts(), false),
        Field::new("example", DataType::Utf8, false),
        Field::new("max_severity", DataType::Utf8, false),
        Field::new("severity_mix", DataType::Utf8, false),
        Field::new("shapes", DataType::Int32, false),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_mix_is_json() {
        let mut c = [0i64; 9];
        c[4] = 3;
        c[5] = 1;
        assert_eq!(severity_mix(&c), r#"{"WARNING":3,"ERROR":1}"#);
        let v: serde_json::Value = serde_json::from_str(&severity_mix(&c)).expect("json");
        assert_eq!(v["WARNING"], 3);
    }
}
