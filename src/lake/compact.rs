//! Keeping a live lake in shape: `compact` merges a day's small files and rewrites files of
//! an older schema version or layout in the current ones, `prune` removes whole days
//! (retention), and both delete what earlier commits removed once no reader can need it.
//!
//! Both are commits of the log ([`super::log`]), so they run while queries and ingests do:
//! a reader that opened the lake before a compaction keeps reading the old files, which stay
//! on disk for a grace period (`--grace`, one hour by default) after the commit that removed
//! them. An ingest never conflicts with either (it only adds files). Two maintenance runs
//! that removed the same file conflict: the later one deletes its new files and says so.
//!
//! Failure modes: store and Parquet errors are [`LakeError`]s naming the object; a compaction
//! killed before its commit leaves only unnamed files, deleted by a later run once a day old.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use object_store::ObjectStoreExt;

use super::log::{self, Commit, DataFile, Operation, Snapshot};
use super::reader::scan_files;
use super::signatures::Tallies;
use super::writer::{Tally, encode_off_thread, upload};
use super::{Lake, LakeError, ledger};
use crate::range::TimeRange;

/// Files no commit names are deleted once they are this old (a writer still running would
/// have committed or died by then).
const ORPHAN_AGE: Duration = Duration::from_secs(86_400);

/// Options for [`compact`].
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only days overlapping this range are compacted.
    pub range: TimeRange,
    /// Files under half this many rows are merged, and every file written (merged or
    /// rewritten in the current schema and layout) has at most this many rows.
    pub rows_per_file: usize,
    /// How long removed files stay for readers that still use them.
    pub grace: Duration,
    pub zstd_level: i32,
}

/// What a maintenance run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MaintenanceSummary {
    pub run_id: String,
    /// The version committed (`None`: nothing to do).
    pub version: Option<u64>,
    pub days: Vec<String>,
    pub files_removed: usize,
    pub files_added: usize,
    pub rows: u64,
    /// Files deleted from the store (removed long enough ago, or never committed).
    pub deleted: usize,
    pub seconds: f64,
}

/// Merges the small files of each day in range into sorted files of `rows_per_file` rows,
/// and rewrites the files of an older schema version or layout in the current ones. Boxed:
/// see the crate doc.
pub fn compact<'a>(
    lake: &'a Lake,
    opts: &'a CompactOptions,
) -> BoxFuture<'a, Result<MaintenanceSummary, LakeError>> {
    Box::pin(compact_unboxed(lake, opts))
}

async fn compact_unboxed(
    lake: &Lake,
    opts: &CompactOptions,
) -> Result<MaintenanceSummary, LakeError> {
    let started = Instant::now();
    let run_id = ledger::new_run_id();
    let mut snap = log::for_writer(lake, &run_id).await?;
    let groups = rewrite_groups(&snap, opts);
    let mut summary = MaintenanceSummary {
        run_id: run_id.clone(),
        ..MaintenanceSummary::default()
    };
    let mut add = Vec::new();
    let mut seq = 0;
    for group in &groups {
        let paths: Vec<_> = group.iter().map(|f| lake.child(&f.path)).collect();
        let mut batches = Vec::new();
        // Rewritten with the lake's encoder in its current schema: a file of another schema
        // is refused, not mixed in.
        scan_files(lake, &paths, None, |cols| {
            batches.push(cols.in_lake_schema()?);
            Ok(())
        })
        .await?;
        let level = opts.zstd_level;
        // An older file bigger than the target is split (a merge group is within it).
        let per_file = opts.rows_per_file.max(1);
        let day = group[0].day.clone();
        let what = format!("dt={day}");
        let encoded = encode_off_thread(batches, level, per_file, Tally::Nothing, what).await?;
        for e in encoded {
            seq += 1;
            let path = format!("logs/dt={day}/part-{run_id}-{seq:05}.parquet");
            add.push(upload(lake, path, &day, e).await?.0);
        }
    }
    let remove: Vec<DataFile> = groups.into_iter().flatten().collect();
    if !remove.is_empty() {
        summary.days = remove
            .iter()
            .map(|f| f.day.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        summary.rows = remove.iter().map(|f| f.rows).sum();
        summary.files_removed = remove.len();
        summary.files_added = add.len();
        let commit = Commit {
            version: 0,
            operation: Operation::Compact,
            run_id: run_id.clone(),
            committed_at: String::new(),
            add,
            remove,
            consumed: Vec::new(),
        };
        summary.version = Some(commit_maintenance(lake, &mut snap, commit).await?);
    }
    // Readers use the version of the newest tables: bring them to head before deleting
    // what head no longer names.
    super::signatures::refresh(lake, &Tallies::new()).await?;
    summary.deleted = vacuum(lake, &snap, opts.grace).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    record(lake, &summary, "compact").await?;
    Ok(summary)
}

/// Per day in range, the files under half the target size and those of an older schema
/// version or layout, packed (oldest first) into groups of at most `rows_per_file` rows;
/// only groups of two files or more, or with a file to bring to the current schema and
/// layout.
fn rewrite_groups(snap: &Snapshot, opts: &CompactOptions) -> Vec<Vec<DataFile>> {
    let target = opts.rows_per_file.max(1) as u64;
    let mut by_day: BTreeMap<&str, Vec<&DataFile>> = BTreeMap::new();
    for f in snap.files.values() {
        if (f.rows < target / 2 || f.needs_rewrite()) && f.in_range(&opts.range) {
            by_day.entry(&f.day).or_default().push(f);
        }
    }
    let mut groups = Vec::new();
    for (_, mut files) in by_day {
        files.sort_by(|a, b| (a.min_ts, &a.path).cmp(&(b.min_ts, &b.path)));
        let mut group: Vec<DataFile> = Vec::new();
        let mut rows = 0;
        for f in files {
            if !group.is_empty() && rows + f.rows > target {
                groups.push(std::mem::take(&mut group));
                rows = 0;
            }
            rows += f.rows;
            group.push(f.clone());
        }
        groups.push(group);
    }
    groups.retain(|g| g.len() >= 2 || g.iter().any(DataFile::needs_rewrite));
    groups
}

/// Removes every day before the day of `cutoff` (its files, rows and signatures). Boxed:
/// see the crate doc.
pub fn prune(
    lake: &Lake,
    cutoff: i64,
    grace: Duration,
) -> BoxFuture<'_, Result<MaintenanceSummary, LakeError>> {
    Box::pin(prune_unboxed(lake, cutoff, grace))
}

async fn prune_unboxed(
    lake: &Lake,
    cutoff: i64,
    grace: Duration,
) -> Result<MaintenanceSummary, LakeError> {
    let started = Instant::now();
    let run_id = ledger::new_run_id();
    let mut snap = log::for_writer(lake, &run_id).await?;
    let first_kept = crate::common::time::day_string(crate::common::time::day_of(cutoff));
    let remove: Vec<DataFile> = snap
        .files
        .values()
        .filter(|f| f.day < first_kept)
        .cloned()
        .collect();
    let mut summary = MaintenanceSummary {
        run_id: run_id.clone(),
        days: remove
            .iter()
            .map(|f| f.day.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        files_removed: remove.len(),
        rows: remove.iter().map(|f| f.rows).sum(),
        ..MaintenanceSummary::default()
    };
    if !remove.is_empty() {
        let commit = Commit {
            version: 0,
            operation: Operation::Prune,
            run_id: run_id.clone(),
            committed_at: String::new(),
            add: Vec::new(),
            remove,
            consumed: Vec::new(),
        };
        summary.version = Some(commit_maintenance(lake, &mut snap, commit).await?);
    }
    super::signatures::refresh(lake, &Tallies::new()).await?;
    summary.deleted = vacuum(lake, &snap, grace).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    record(lake, &summary, "prune").await?;
    Ok(summary)
}

/// Commits a maintenance change at the next free version. If another commit removed one of
/// the same files first, the new files are deleted and the run fails.
async fn commit_maintenance(
    lake: &Lake,
    snap: &mut Snapshot,
    mut commit: Commit,
) -> Result<u64, LakeError> {
    loop {
        for c in log::commits_since(lake, snap).await? {
            snap.apply(&c);
            // An earlier attempt that reported failure but landed.
            if c.run_id == commit.run_id {
                return Ok(c.version);
            }
        }
        if let Some(gone) = commit
            .remove
            .iter()
            .find(|f| !snap.files.contains_key(&f.path))
        {
            for f in &commit.add {
                let _ = lake.store.delete(&lake.child(&f.path)).await;
            }
            return Err(LakeError::Ledger {
                path: gone.path.clone(),
                detail: format!(
                    "another run removed this file while {} ran; nothing was changed, run it again",
                    commit.run_id
                ),
            });
        }
        commit.version = snap.next_version();
        commit.committed_at = log::now();
        if log::try_commit(lake, &commit).await? {
            snap.apply(&commit);
            log::maybe_checkpoint(lake, snap).await;
            return Ok(commit.version);
        }
    }
}

/// Deletes files removed more than `grace` ago, files under `logs/` that no commit names
/// and the session tables of cluster queries ([`super::SCRATCH`]) once they
/// are a day old. Returns how many objects were deleted.
pub async fn vacuum(lake: &Lake, snap: &Snapshot, grace: Duration) -> Result<usize, LakeError> {
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let orphan_age = chrono::Duration::from_std(ORPHAN_AGE).unwrap_or(chrono::Duration::MAX);
    let removed: BTreeMap<&str, &str> = snap
        .removed
        .iter()
        .map(|r| (r.file.path.as_str(), r.removed_at.as_str()))
        .collect();
    // Files of runs the ledger shows running (started in the last week) are staged, not
    // orphans; a run killed outright stays `running` and its files go after that week.
    let week_ago = now - chrono::Duration::days(7);
    let running: Vec<String> = ledger::running_runs(lake)
        .await?
        .into_iter()
        .filter(|r| chrono::DateTime::parse_from_rfc3339(&r.started_at).is_ok_and(|t| t > week_ago))
        .map(|r| r.run_id)
        .collect();
    let mut deleted = 0;
    for meta in lake.list(&["logs"]).await? {
        let rel = lake.relative(&meta.location);
        if snap.files.contains_key(&rel) {
            continue;
        }
        if !removed.contains_key(rel.as_str()) && running.iter().any(|r| rel.contains(r.as_str())) {
            continue;
        }
        let expired = match removed.get(rel.as_str()) {
            Some(at) => match chrono::DateTime::parse_from_rfc3339(at) {
                Ok(t) => now.signed_duration_since(t) >= grace,
                Err(_) => false,
            },
            None => now.signed_duration_since(meta.last_modified) >= orphan_age,
        };
        if !expired {
            continue;
        }
        deleted += usize::from(lake.delete(&meta.location).await?);
    }
    for meta in lake.list(&[super::SCRATCH]).await? {
        if now.signed_duration_since(meta.last_modified) < orphan_age {
            continue;
        }
        deleted += usize::from(lake.delete(&meta.location).await?);
    }
    Ok(deleted)
}

/// Records a maintenance run in the ledger.
async fn record(lake: &Lake, summary: &MaintenanceSummary, what: &str) -> Result<(), LakeError> {
    let now = log::now();
    ledger::write(
        lake,
        &ledger::RunRecord {
            run_id: summary.run_id.clone(),
            status: ledger::RunStatus::Complete,
            started_at: now.clone(),
            finished_at: Some(now),
            pid: std::process::id(),
            sources: vec![what.to_owned()],
            summary: serde_json::to_value(summary).ok(),
            error: None,
        },
    )
    .await
}
