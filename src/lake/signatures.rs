//! The signatures tables, derived from the lake after every commit, one directory per log
//! version they describe: `signatures/<version>/` (20 digits) holds
//! - `shapes.parquet`: one row per distinct shape: `shape_id`, `shape`, `signature_id`,
//!   `template`, `count`, `first_seen`, `last_seen`, `example`, `severity_mix`;
//! - `signatures.parquet`: one row per signature: `signature_id`, `template`,
//!   `miner_version`, `count`, `first_seen`, `last_seen`, `example` (the latest message),
//!   `max_severity`, `severity_mix` (JSON: severity -> rows), `shapes`.
//!
//! Rows in `logs/` carry their `shape_id` (step 1 of signing, stateless). Templates come
//! from clustering *all* shapes in the lake (step 2), so they never depend on how the data
//! was split across runs. [`refresh`] brings the tables to the log's newest version
//! incrementally: the previous version's per-shape counts plus the rows of the files added
//! since (a compaction adds none; a prune, which takes rows away, forces a full rebuild, as
//! does a missing or older table). Counts per signature add up to the version's row count.
//! The files a run wrote itself are not read back: the writer tallied their rows per shape
//! while it encoded them ([`ShapeTally`], handed to [`refresh`] as [`Tallies`]).
//!
//! Readers pick the newest directory with both tables and read the log at that version, so
//! rows and signatures always match. `signatures/shapes.parquet` and `signatures.parquet`
//! are copies of the newest tables at fixed names, for other tools. Concurrent writers may both produce a version's tables:
//! they are deterministic and created only if absent, so either copy is the same. A lake
//! written before the log has only the fixed names.
//!
//! Failure modes: unreadable files are a [`LakeError`] naming them; each table is written
//! whole in one put.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use nohash_hasher::IntMap;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::ArrowWriter;

use super::columns::Columns;
use super::log::{self, Operation, Snapshot};
use super::reader::scan_files;
use super::{Lake, LakeError};
use crate::common::severity::SEVERITIES;
use crate::signature::{MINER_VERSION, cluster, signature_id};

/// Older signatures directories are deleted once they are this old (readers that opened
/// one may still be reading it).
const KEEP_OLD_SECS: i64 = 3600;

/// The newest versions' tables are kept whatever their age.
const KEEP_VERSIONS: usize = 3;

#[derive(Default, Clone)]
struct ShapeStats {
    shape: String,
    count: i64,
    first: i64,
    last: i64,
    example: String,
    severities: [i64; 9],
}

impl ShapeStats {
    fn empty(shape: String) -> Self {
        ShapeStats {
            shape,
            first: i64::MAX,
            last: i64::MIN,
            ..ShapeStats::default()
        }
    }

    /// Adds rows seen elsewhere; the example is the latest message (ties: the greatest), so
    /// any order of merging gives the same tables.
    fn merge(&mut self, count: i64, first: i64, last: i64, example: &str, sev: &[i64; 9]) {
        self.count += count;
        self.first = self.first.min(first);
        if last > self.last || (last == self.last && example > self.example.as_str()) {
            self.last = last;
            self.example = example.to_owned();
        }
        for (a, b) in self.severities.iter_mut().zip(sev) {
            *a += b;
        }
    }
}

/// What the refresh found.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SignatureSummary {
    pub rows: u64,
    pub shapes: usize,
    pub signatures: usize,
    /// The log version the tables describe.
    pub version: Option<u64>,
    /// False when only the rows added since the previous tables were read.
    pub full_rebuild: bool,
}

/// Where the newest complete signatures tables are.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The log version they describe; `None` for a lake written before the log.
    pub version: Option<u64>,
    /// Below the lake root: `signatures/<version>` or `signatures`.
    pub dir: String,
}

impl Tables {
    /// The object path of one table (`shapes` or `signatures`).
    pub fn table(&self, lake: &Lake, name: &str) -> object_store::path::Path {
        lake.child(&format!("{}/{name}.parquet", self.dir))
    }
}

fn dir_of(version: u64) -> String {
    format!("signatures/{version:020}")
}

/// The newest tables readers may use, `None` when the lake has none yet.
pub async fn latest(lake: &Lake) -> Result<Option<Tables>, LakeError> {
    let mut versions: Vec<u64> = Vec::new();
    let mut legacy = false;
    for meta in lake.list(&["signatures"]).await? {
        let rel = lake.relative(&meta.location);
        let mut parts = rel.split('/').skip(1);
        match (parts.next(), parts.next()) {
            (Some(v), Some("signatures.parquet")) => versions.extend(v.parse::<u64>().ok()),
            (Some("signatures.parquet"), None) => legacy = true,
            _ => {}
        }
    }
    Ok(match versions.into_iter().max() {
        Some(v) => Some(Tables {
            version: Some(v),
            dir: dir_of(v),
        }),
        None => legacy.then(|| Tables {
            version: None,
            dir: "signatures".into(),
        }),
    })
}

/// Refuses a lake whose rows were signed by another miner version: its `logs/` rows carry
/// that version's shapes, and clustering them with this version's shapes would give
/// templates neither version makes. A lake without signatures yet passes.
pub async fn check_miner_version(lake: &Lake) -> Result<(), LakeError> {
    let Some(tables) = latest(lake).await? else {
        return Ok(());
    };
    let mut found: Option<String> = None;
    let path = tables.table(lake, "signatures");
    scan_files(lake, &[path], Some(&["miner_version"]), |cols| {
        let versions = cols.strings("miner_version")?;
        if let Some(v) = versions.iter().flatten().find(|v| *v != MINER_VERSION) {
            found.get_or_insert_with(|| v.to_owned());
        }
        Ok(())
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

/// Brings the tables to the log's newest version (see the module docs). `None` when the
/// log has no commit yet. Files in `known` are taken from their tallies, not read.
pub async fn refresh(lake: &Lake, known: &Tallies) -> Result<Option<SignatureSummary>, LakeError> {
    let head = log::snapshot(lake, None).await?;
    let Some(version) = head.version else {
        return Ok(None);
    };
    let previous = latest(lake).await?;
    let mut summary = SignatureSummary {
        rows: head.rows(),
        version: Some(version),
        ..SignatureSummary::default()
    };
    if let Some(t) = previous.as_ref().filter(|t| t.version == Some(version)) {
        summary.shapes = row_count(lake, &t.table(lake, "shapes")).await? as usize;
        summary.signatures = row_count(lake, &t.table(lake, "signatures")).await? as usize;
        return Ok(Some(summary));
    }
    if head.files.is_empty() && previous.is_none() {
        return Ok(None);
    }
    let stats = match incremental(lake, previous.as_ref(), version, known).await {
        Ok(Some(stats)) => stats,
        // Also when a file added since the previous tables is gone (compacted away and
        // deleted): the rows are in the version's live files.
        Ok(None) | Err(_) => {
            summary.full_rebuild = true;
            let mut stats = HashMap::new();
            let files: Vec<&str> = head.files.values().map(|f| f.path.as_str()).collect();
            add_files(lake, &files, known, &mut stats).await?;
            stats
        }
    };
    let (shapes_batch, sig_batch) = tables_of(&stats).map_err(|source| LakeError::Arrow {
        path: dir_of(version),
        source,
    })?;
    summary.shapes = shapes_batch.num_rows();
    summary.signatures = sig_batch.num_rows();
    let dir = dir_of(version);
    // Signatures last: readers take a directory only once it holds `signatures.parquet`.
    let mut encoded = Vec::new();
    for (name, batch) in [("shapes", shapes_batch), ("signatures", sig_batch)] {
        let path = lake.child(&format!("{dir}/{name}.parquet"));
        let bytes = encode(&path, &batch)?;
        create_if_absent(lake, &path, bytes.clone()).await?;
        encoded.push((name, bytes));
    }
    // Copies at fixed names for other tools (DuckDB, pandas); gardener reads the versions.
    if latest(lake)
        .await?
        .is_some_and(|t| t.version == Some(version))
    {
        for (name, bytes) in encoded {
            lake.put(&lake.child(&format!("signatures/{name}.parquet")), bytes)
                .await?;
        }
    }
    remove_old(lake, version).await;
    Ok(Some(summary))
}

/// The columns of `logs/` the tables are made from.
const ROW_COLUMNS: [&str; 5] = [
    "timestamp",
    "severity_number",
    "message",
    "shape_id",
    "shape",
];

/// The previous tables brought forward to `version`: their per-shape stats plus the rows
/// of the files added since; `None` when a full rebuild is needed.
async fn incremental(
    lake: &Lake,
    previous: Option<&Tables>,
    version: u64,
    known: &Tallies,
) -> Result<Option<HashMap<i64, ShapeStats>>, LakeError> {
    let Some((mut stats, added)) = incremental_base(lake, previous, version).await? else {
        return Ok(None);
    };
    let added: Vec<&str> = added.iter().map(String::as_str).collect();
    add_files(lake, &added, known, &mut stats).await?;
    Ok(Some(stats))
}

/// Adds the rows of `files` (paths below the lake root) to `stats`: from their tallies
/// where `known` has them, else read from the files.
async fn add_files(
    lake: &Lake,
    files: &[&str],
    known: &Tallies,
    stats: &mut HashMap<i64, ShapeStats>,
) -> Result<(), LakeError> {
    let mut unknown = Vec::new();
    for path in files {
        match known.get(*path) {
            Some(tally) => tally.merge_into(stats),
            None => unknown.push(lake.child(path)),
        }
    }
    scan_files(lake, &unknown, Some(&ROW_COLUMNS), |cols| {
        let columns = [RowColumns::of(cols)?];
        let rows = (0..cols.batch.num_rows()).map(|r| (0, r));
        tally(&columns, rows, stats);
        Ok(())
    })
    .await
}

/// The previous tables' per-shape stats and the files added since (paths below the lake
/// root), when the tables can be brought forward; `None` when a full rebuild is needed.
async fn incremental_base(
    lake: &Lake,
    previous: Option<&Tables>,
    version: u64,
) -> Result<Option<(HashMap<i64, ShapeStats>, Vec<String>)>, LakeError> {
    let Some(Tables {
        version: Some(from),
        ..
    }) = previous
    else {
        return Ok(None);
    };
    let base = Snapshot {
        version: Some(*from),
        ..Snapshot::default()
    };
    let mut added = Vec::new();
    for c in log::commits_since(lake, &base).await? {
        if c.version > version {
            break;
        }
        match c.operation {
            Operation::Compact => {}
            Operation::Prune | Operation::Adopt => return Ok(None),
            Operation::Ingest => added.extend(c.add.iter().map(|f| f.path.clone())),
        }
    }
    let Some(stats) = read_shape_stats(lake, &previous.map(|t| t.table(lake, "shapes"))).await?
    else {
        return Ok(None);
    };
    Ok(Some((stats, added)))
}

/// Per-shape stats from a shapes table; `None` when it lacks the columns to merge (tables
/// written by an older gardener).
async fn read_shape_stats(
    lake: &Lake,
    path: &Option<object_store::path::Path>,
) -> Result<Option<HashMap<i64, ShapeStats>>, LakeError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let mut stats = HashMap::new();
    // Tables of an older version may lack a column: then they are rebuilt, not an error.
    let scanned = scan_files(lake, std::slice::from_ref(path), None, |cols| {
        let (id, count) = (cols.i64s("shape_id")?, cols.i64s("count")?);
        let (first, last) = (
            cols.timestamps("first_seen")?,
            cols.timestamps("last_seen")?,
        );
        let (shape, ex, mix) = (
            cols.strings("shape")?,
            cols.strings("example")?,
            cols.strings("severity_mix")?,
        );
        for i in 0..cols.batch.num_rows() {
            let s = stats
                .entry(id.value(i))
                .or_insert_with(|| ShapeStats::empty(shape.value(i).to_owned()));
            let sev = parse_severity_mix(mix.value(i));
            s.merge(
                count.value(i),
                first.value(i),
                last.value(i),
                ex.value(i),
                &sev,
            );
        }
        Ok(())
    })
    .await;
    match scanned {
        Ok(()) => Ok(Some(stats)),
        Err(LakeError::Schema { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One row of `signatures.parquet` being summed up from its shapes.
struct SignatureRow {
    template: String,
    stats: ShapeStats,
    shapes: usize,
}

/// Both tables from per-shape stats.
fn tables_of(
    stats: &HashMap<i64, ShapeStats>,
) -> Result<(RecordBatch, RecordBatch), arrow::error::ArrowError> {
    let mut ids: Vec<i64> = stats.keys().copied().collect();
    ids.sort_unstable();
    let shapes: Vec<&str> = ids.iter().map(|id| stats[id].shape.as_str()).collect();
    let rows: Vec<u64> = ids
        .iter()
        .map(|id| u64::try_from(stats[id].count).unwrap_or(0))
        .collect();
    let templates = cluster::cluster(&shapes, &rows);

    let mut by_sig: BTreeMap<String, SignatureRow> = BTreeMap::new();
    for (id, template) in ids.iter().zip(&templates) {
        let s = &stats[id];
        let e = by_sig
            .entry(signature_id(template))
            .or_insert_with(|| SignatureRow {
                template: template.clone(),
                stats: ShapeStats::empty(String::new()),
                shapes: 0,
            });
        e.stats
            .merge(s.count, s.first, s.last, &s.example, &s.severities);
        e.shapes += 1;
    }
    Ok((
        shapes_batch(&ids, stats, &shapes, &templates)?,
        signatures_batch(&by_sig)?,
    ))
}

fn text_column(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

/// The shapes table: each shape with its signature and template.
fn shapes_batch(
    ids: &[i64],
    stats: &HashMap<i64, ShapeStats>,
    shapes: &[&str],
    templates: &[String],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let col = text_column;
    let shape_sigs: Vec<String> = templates.iter().map(|t| signature_id(t)).collect();
    let shape_mixes: Vec<String> = ids
        .iter()
        .map(|i| severity_mix(&stats[i].severities))
        .collect();
    RecordBatch::try_new(
        shapes_schema(),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            col(shapes.to_vec()),
            col(shape_sigs.iter().map(String::as_str).collect()),
            col(templates.iter().map(String::as_str).collect()),
            Arc::new(Int64Array::from_iter_values(
                ids.iter().map(|i| stats[i].count),
            )),
            ts_array(ids.iter().map(|i| stats[i].first)),
            ts_array(ids.iter().map(|i| stats[i].last)),
            col(ids.iter().map(|i| stats[i].example.as_str()).collect()),
            col(shape_mixes.iter().map(String::as_str).collect()),
        ],
    )
}

/// The signatures table: each signature's figures over its shapes.
fn signatures_batch(
    by_sig: &BTreeMap<String, SignatureRow>,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let col = text_column;
    let mixes: Vec<String> = by_sig
        .values()
        .map(|r| severity_mix(&r.stats.severities))
        .collect();
    let max_sev: Vec<&str> = by_sig
        .values()
        .map(|r| {
            r.stats
                .severities
                .iter()
                .rposition(|&n| n > 0)
                .map_or("DEFAULT", |k| SEVERITIES[k].0)
        })
        .collect();
    RecordBatch::try_new(
        signatures_schema(),
        vec![
            col(by_sig.keys().map(String::as_str).collect()),
            col(by_sig.values().map(|r| r.template.as_str()).collect()),
            col(vec![MINER_VERSION; by_sig.len()]),
            Arc::new(Int64Array::from_iter_values(
                by_sig.values().map(|r| r.stats.count),
            )),
            ts_array(by_sig.values().map(|r| r.stats.first)),
            ts_array(by_sig.values().map(|r| r.stats.last)),
            col(by_sig.values().map(|r| r.stats.example.as_str()).collect()),
            col(max_sev),
            col(mixes.iter().map(String::as_str).collect()),
            Arc::new(Int32Array::from_iter_values(
                by_sig.values().map(|r| r.shapes as i32),
            )),
        ],
    )
}

fn encode(path: &object_store::path::Path, batch: &RecordBatch) -> Result<Vec<u8>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_string(),
        source,
    };
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).map_err(pq)?;
    w.write(batch).map_err(pq)?;
    w.close().map_err(pq)?;
    Ok(buf)
}

/// Creates `path` unless it exists (another writer made the same deterministic table).
async fn create_if_absent(
    lake: &Lake,
    path: &object_store::path::Path,
    bytes: Vec<u8>,
) -> Result<(), LakeError> {
    let opts = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match lake
        .store
        .put_opts(path, PutPayload::from(bytes), opts)
        .await
    {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(object_store::Error::Precondition { .. }) => Ok(()),
        Err(e) => Err(lake.error(path, e)),
    }
}

async fn row_count(lake: &Lake, path: &object_store::path::Path) -> Result<u64, LakeError> {
    let meta = lake
        .store
        .head(path)
        .await
        .map_err(|e| lake.error(path, e))?;
    Ok(super::reader::row_count_and_range(lake, &meta).await?.0)
}

/// Deletes the tables of versions before `version` that are over an hour old, keeping the
/// newest [`KEEP_VERSIONS`] whatever their age (a reader may have opened one just before
/// a newer one appeared). Best effort: leftovers only take space.
async fn remove_old(lake: &Lake, version: u64) {
    let cutoff = chrono::Utc::now() - chrono::Duration::seconds(KEEP_OLD_SECS);
    let Ok(objects) = lake.list(&["signatures"]).await else {
        return;
    };
    let version_of = |meta: &object_store::ObjectMeta| {
        lake.relative(&meta.location)
            .split('/')
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
    };
    let mut versions: Vec<u64> = objects.iter().filter_map(version_of).collect();
    versions.sort_unstable();
    versions.dedup();
    let keep_from = versions
        .len()
        .checked_sub(KEEP_VERSIONS)
        .and_then(|i| versions.get(i).copied())
        .unwrap_or(0);
    for meta in &objects {
        let old = version_of(meta).is_some_and(|v| v < version && v < keep_from);
        if old && meta.last_modified < cutoff {
            let _ = lake.store.delete(&meta.location).await;
        }
    }
}

/// The per-shape figures of some `logs/` rows: what [`refresh`] would add to the tables for
/// them. The writer tallies each file as it encodes it, so the refresh after its commit
/// need not read the file back (bench.ndjson: 0.15 s of a 2.8 s ingest).
#[derive(Default)]
pub struct ShapeTally(HashMap<i64, ShapeStats>);

/// Tallies by file path below the lake root (`logs/dt=.../part-....parquet`).
pub type Tallies = HashMap<String, ShapeTally>;

impl ShapeTally {
    /// The tally of `rows` (batch, row) of `batches`, which are `logs/` rows; errors name
    /// `what` (a day or a file).
    pub fn of_rows(
        what: &str,
        batches: &[RecordBatch],
        rows: &[(usize, usize)],
    ) -> Result<ShapeTally, LakeError> {
        let columns = batches
            .iter()
            .map(|b| RowColumns::of(Columns::new(what, b)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut stats = HashMap::new();
        tally(&columns, rows.iter().copied(), &mut stats);
        Ok(ShapeTally(stats))
    }

    fn merge_into(&self, stats: &mut HashMap<i64, ShapeStats>) {
        for (id, s) in &self.0 {
            stats
                .entry(*id)
                .or_insert_with(|| ShapeStats::empty(s.shape.clone()))
                .merge(s.count, s.first, s.last, &s.example, &s.severities);
        }
    }
}

/// The columns of a `logs/` batch the tables are made from ([`ROW_COLUMNS`]); a file
/// without them is an error naming it (its rows would otherwise be missing from every
/// count).
struct RowColumns {
    timestamp: TimestampNanosecondArray,
    severity: Int32Array,
    shape_id: Int64Array,
    message: StringArray,
    shape: StringArray,
}

impl RowColumns {
    fn of(cols: Columns<'_>) -> Result<RowColumns, LakeError> {
        Ok(RowColumns {
            timestamp: cols.timestamps("timestamp")?,
            severity: cols.i32s("severity_number")?,
            shape_id: cols.i64s("shape_id")?,
            message: cols.strings("message")?,
            shape: cols.strings("shape")?,
        })
    }
}

/// One shape's rows while they are tallied: the example is borrowed until the end, so a
/// shape's message is copied once per tally, not once per newer row.
struct Pending<'a> {
    shape: &'a str,
    count: i64,
    first: i64,
    last: i64,
    example: &'a str,
    severities: [i64; 9],
}

/// Adds `rows` (batch, row) of `columns` to `stats` (see [`ShapeStats::merge`]).
fn tally<'a>(
    columns: &'a [RowColumns],
    rows: impl Iterator<Item = (usize, usize)>,
    stats: &mut HashMap<i64, ShapeStats>,
) {
    let mut pending: IntMap<i64, Pending<'a>> = IntMap::default();
    for (b, r) in rows {
        let c = &columns[b];
        let p = pending
            .entry(c.shape_id.value(r))
            .or_insert_with(|| Pending {
                shape: c.shape.value(r),
                count: 0,
                first: i64::MAX,
                last: i64::MIN,
                example: "",
                severities: [0; 9],
            });
        let (t, message) = (c.timestamp.value(r), c.message.value(r));
        p.count += 1;
        p.first = p.first.min(t);
        if t > p.last || (t == p.last && message > p.example) {
            p.last = t;
            p.example = message;
        }
        p.severities[(c.severity.value(r).clamp(0, 800) / 100) as usize] += 1;
    }
    for (id, p) in pending {
        stats
            .entry(id)
            .or_insert_with(|| ShapeStats::empty(p.shape.to_owned()))
            .merge(p.count, p.first, p.last, p.example, &p.severities);
    }
}

/// The counts of a `severity_mix` string (unknown names are ignored).
fn parse_severity_mix(mix: &str) -> [i64; 9] {
    let mut out = [0i64; 9];
    if let Ok(map) = serde_json::from_str::<BTreeMap<String, i64>>(mix) {
        for (name, n) in map {
            if let Some(k) = SEVERITIES.iter().position(|(s, _)| *s == name) {
                out[k] += n;
            }
        }
    }
    out
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
        Field::new("example", DataType::Utf8, false),
        Field::new("severity_mix", DataType::Utf8, false),
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
        assert_eq!(parse_severity_mix(&severity_mix(&c)), c);
    }
}
