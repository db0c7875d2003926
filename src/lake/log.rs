//! The commit log: which data files make up the lake, version by version.
//!
//! `<lake>/_log/<version>.json` (20 digits) holds one [`Commit`]: the files it adds and
//! removes and, for a follower, how far it consumed each source object. A data file exists
//! for readers only once a commit names it; readers replay the log (from the newest
//! `<version>.checkpoint.json`) and never list `logs/`.
//!
//! The protocol is delta-rs's: a writer stages its files under unique names, then creates
//! the next version's object **only if absent** (`PutMode::Create`: GCS's
//! `ifGenerationMatch=0`, an exclusive hard link on local disk). Exactly one writer wins each
//! version; a loser reads the commits it missed, drops the rows they already hold (see
//! `writer::LakeWriter::commit`) and tries the next version. No lock is held, so a writer
//! that dies blocks nobody: its staged files are never named by a commit and `compact`
//! deletes them once they are a day old.
//!
//! What the store must guarantee: a conditional create that fails when the object exists,
//! and a listing that shows every object created before it started (GCS and local disks do
//! both). A store that ignores the precondition lets two writers take one version: the
//! later write replaces the earlier one, whose rows vanish from the lake.
//!
//! A lake written before the log existed has files under `logs/` and no `_log/`: readers
//! list it as before, and the first writer adopts every file in version 0.
//!
//! Failure modes: a commit that cannot be parsed is a [`LakeError::Ledger`] naming it (the
//! log is the lake's truth; skipping a commit would hide or resurrect rows).

use std::collections::BTreeMap;

use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::{Lake, LakeError};

/// A checkpoint is written every this many versions, so readers replay few commits.
const CHECKPOINT_EVERY: u64 = 50;

/// Removed files are remembered this long in checkpoints (for `compact`'s grace period).
const REMEMBER_REMOVED_SECS: i64 = 7 * 86_400;

/// One Parquet file of `logs/`, as a commit names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Below the lake root, e.g. `logs/dt=2025-09-12/part-<run>-00001.parquet`.
    pub path: String,
    /// The `dt=` partition (UTC day).
    pub day: String,
    pub rows: u64,
    pub bytes: u64,
    /// Oldest and newest `timestamp` in the file (nanoseconds), for pruning by time.
    pub min_ts: i64,
    pub max_ts: i64,
    /// The [`logs_schema`](super::schema::logs_schema) version it was written in (absent
    /// in commits from before versions: 1).
    #[serde(default = "first_schema_version")]
    pub schema_version: u32,
    /// How its rows are arranged in row groups ([`LAYOUT`](super::writer::LAYOUT)); absent
    /// in commits from before layouts: 0, one row group of all rows.
    #[serde(default)]
    pub layout: u32,
}

fn first_schema_version() -> u32 {
    1
}

impl DataFile {
    /// May hold rows in `range`.
    pub fn in_range(&self, range: &crate::range::TimeRange) -> bool {
        range.overlaps(self.min_ts, self.max_ts.saturating_add(1))
    }

    /// Written in an older schema version than this gardener writes (see `compact`).
    pub fn older_schema(&self) -> bool {
        self.schema_version < super::schema::SCHEMA_VERSION
    }

    /// Written by an older gardener, in an older schema or layout: `compact` rewrites it
    /// whatever its size.
    pub fn needs_rewrite(&self) -> bool {
        self.older_schema() || self.layout < super::writer::LAYOUT
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Version 0 of a lake written before the log: every file found under `logs/`.
    Adopt,
    /// New rows.
    Ingest,
    /// The same rows in fewer files: removes and adds carry the same entries.
    Compact,
    /// Whole days removed (retention).
    Prune,
}

/// How much of a source object a follower has ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    pub object: String,
    /// Bytes of the object consumed (whole records only).
    pub offset: u64,
    /// The line number at `offset`, so rows keep their place in the object.
    #[serde(default)]
    pub line: u64,
    /// True for an object read whole each time it changes (gzip, a JSON array): its bytes
    /// cannot be read from an offset.
    #[serde(default)]
    pub whole: bool,
    /// xxh3 of the last bytes consumed (up to 64), to tell an object that grew from one
    /// replaced by other content.
    #[serde(default)]
    pub fingerprint: Option<u64>,
}

/// One version of the lake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    pub version: u64,
    pub operation: Operation,
    pub run_id: String,
    pub committed_at: String,
    #[serde(default)]
    pub add: Vec<DataFile>,
    #[serde(default)]
    pub remove: Vec<DataFile>,
    #[serde(default)]
    pub consumed: Vec<Consumed>,
}

/// A file some commit removed, kept until `compact` may delete it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Removed {
    pub file: DataFile,
    pub version: u64,
    pub removed_at: String,
}

/// The lake as of one version.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// `None`: no commit yet.
    pub version: Option<u64>,
    /// Live files by path.
    pub files: BTreeMap<String, DataFile>,
    /// What followers consumed, by object.
    pub consumed: BTreeMap<String, Consumed>,
    /// Files removed in the last days, for deletion after a grace period.
    pub removed: Vec<Removed>,
    /// True for a lake without a log, read by listing `logs/`.
    #[serde(skip)]
    pub legacy: bool,
}

impl Snapshot {
    /// The next version to commit.
    pub fn next_version(&self) -> u64 {
        self.version.map_or(0, |v| v + 1)
    }

    /// Live files of one day.
    pub fn files_of_day<'a>(&'a self, day: &'a str) -> impl Iterator<Item = &'a DataFile> {
        self.files.values().filter(move |f| f.day == day)
    }

    /// Rows in the live files.
    pub fn rows(&self) -> u64 {
        self.files.values().map(|f| f.rows).sum()
    }

    /// Applies one commit (the next version).
    pub fn apply(&mut self, c: &Commit) {
        for f in &c.remove {
            if let Some(file) = self.files.remove(&f.path) {
                self.removed.push(Removed {
                    file,
                    version: c.version,
                    removed_at: c.committed_at.clone(),
                });
            }
        }
        for f in &c.add {
            self.files.insert(f.path.clone(), f.clone());
        }
        for s in &c.consumed {
            self.consumed.insert(s.object.clone(), s.clone());
        }
        self.version = Some(c.version);
    }
}

fn commit_name(version: u64) -> String {
    format!("{version:020}.json")
}

fn checkpoint_name(version: u64) -> String {
    format!("{version:020}.checkpoint.json")
}

/// The versions and checkpoints present in `_log/`.
struct Listing {
    commits: Vec<u64>,
    checkpoints: Vec<u64>,
}

async fn list_log(lake: &Lake) -> Result<Listing, LakeError> {
    let mut commits = Vec::new();
    let mut checkpoints = Vec::new();
    for meta in lake.list(&["_log"]).await? {
        let Some(name) = meta.location.filename() else {
            continue;
        };
        if let Some(v) = name.strip_suffix(".checkpoint.json") {
            checkpoints.extend(v.parse::<u64>().ok());
        } else if let Some(v) = name.strip_suffix(".json") {
            commits.extend(v.parse::<u64>().ok());
        }
    }
    commits.sort_unstable();
    checkpoints.sort_unstable();
    Ok(Listing {
        commits,
        checkpoints,
    })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    lake: &Lake,
    name: &str,
) -> Result<T, LakeError> {
    let path = lake.path(&["_log", name]);
    let bytes = lake
        .store
        .get(&path)
        .await
        .map_err(|e| lake.error(&path, e))?
        .bytes()
        .await
        .map_err(|e| lake.error(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| LakeError::Ledger {
        path: path.to_string(),
        detail: format!("not a commit of this lake: {e}"),
    })
}

/// Reads commit `version`.
pub async fn read_commit(lake: &Lake, version: u64) -> Result<Commit, LakeError> {
    read_json(lake, &commit_name(version)).await
}

/// The lake as of its newest version, or as of `at` when given.
pub async fn snapshot(lake: &Lake, at: Option<u64>) -> Result<Snapshot, LakeError> {
    let listing = list_log(lake).await?;
    if listing.commits.is_empty() {
        return legacy_snapshot(lake).await;
    }
    let head = listing.commits.last().copied().unwrap_or(0);
    let target = at.map_or(head, |a| a.min(head));
    let mut snap = match listing.checkpoints.iter().rev().find(|c| **c <= target) {
        Some(c) => read_json::<Snapshot>(lake, &checkpoint_name(*c)).await?,
        None => Snapshot::default(),
    };
    let after = snap.version;
    for v in listing
        .commits
        .iter()
        .filter(|v| after.is_none_or(|s| **v > s) && **v <= target)
    {
        let commit = read_commit(lake, *v).await?;
        snap.apply(&commit);
    }
    Ok(snap)
}

/// Commits after `snap`'s version, in order (empty when it is the newest).
pub async fn commits_since(lake: &Lake, snap: &Snapshot) -> Result<Vec<Commit>, LakeError> {
    let listing = list_log(lake).await?;
    let mut out = Vec::new();
    for v in listing
        .commits
        .into_iter()
        .filter(|v| snap.version.is_none_or(|s| *v > s))
    {
        out.push(read_commit(lake, v).await?);
    }
    Ok(out)
}

/// A lake without a log: every Parquet file under `logs/` is live.
async fn legacy_snapshot(lake: &Lake) -> Result<Snapshot, LakeError> {
    let mut snap = Snapshot {
        legacy: true,
        ..Snapshot::default()
    };
    for meta in lake.list(&["logs"]).await? {
        let rel = lake.relative(&meta.location);
        if !rel.ends_with(".parquet") {
            continue;
        }
        let Some(day) = rel
            .split('/')
            .find_map(|p| p.strip_prefix("dt="))
            .map(str::to_owned)
        else {
            continue;
        };
        let (rows, min_ts, max_ts) = super::reader::row_count_and_range(lake, &meta).await?;
        snap.files.insert(
            rel.clone(),
            DataFile {
                path: rel,
                day,
                rows,
                bytes: meta.size,
                min_ts,
                max_ts,
                // Files from before the log may be of any version: read as the oldest.
                schema_version: first_schema_version(),
                layout: 0,
            },
        );
    }
    Ok(snap)
}

/// The newest snapshot, for a writer. A lake without a log gets version 0 first: the files
/// an older gardener left (none for a new lake) are adopted.
pub async fn for_writer(lake: &Lake, run_id: &str) -> Result<Snapshot, LakeError> {
    loop {
        let snap = snapshot(lake, None).await?;
        if !snap.legacy {
            return Ok(snap);
        }
        // Version 0 is committed before this writer stages anything, even on an empty lake:
        // otherwise another writer starting now would take this one's staged files for a
        // lake written before the log, and adopt them.
        let commit = Commit {
            version: 0,
            operation: Operation::Adopt,
            run_id: run_id.to_owned(),
            committed_at: now(),
            add: snap.files.into_values().collect(),
            remove: Vec::new(),
            consumed: Vec::new(),
        };
        if try_commit(lake, &commit).await? {
            let mut adopted = Snapshot::default();
            adopted.apply(&commit);
            return Ok(adopted);
        }
    }
}

/// Tries to create version `commit.version`. `Ok(false)`: another writer took it first.
pub async fn try_commit(lake: &Lake, commit: &Commit) -> Result<bool, LakeError> {
    let path = lake.path(&["_log", &commit_name(commit.version)]);
    let body = serde_json::to_vec_pretty(commit).map_err(|e| LakeError::Ledger {
        path: path.to_string(),
        detail: e.to_string(),
    })?;
    let opts = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match lake
        .store
        .put_opts(&path, PutPayload::from(body), opts)
        .await
    {
        Ok(_) => Ok(true),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(false),
        Err(e) => Err(lake.error(&path, e)),
    }
}

/// Writes a checkpoint after `snap` when its version is due one. Best effort: a checkpoint
/// only saves readers work, so a failure is logged, not returned.
pub async fn maybe_checkpoint(lake: &Lake, snap: &Snapshot) {
    let Some(version) = snap.version else {
        return;
    };
    if version == 0 || version % CHECKPOINT_EVERY != 0 {
        return;
    }
    let cutoff = chrono::Utc::now() - chrono::Duration::seconds(REMEMBER_REMOVED_SECS);
    let mut kept = snap.clone();
    kept.removed
        .retain(|r| chrono::DateTime::parse_from_rfc3339(&r.removed_at).is_ok_and(|t| t > cutoff));
    let path = lake.path(&["_log", &checkpoint_name(version)]);
    let result = match serde_json::to_vec(&kept) {
        Ok(body) => lake.put(&path, body).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!("checkpoint {path} not written: {e}");
    }
}

/// Now, as commits record it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, day: &str) -> DataFile {
        DataFile {
            path: path.into(),
            day: day.into(),
            rows: 10,
            bytes: 100,
            min_ts: 0,
            max_ts: 1,
            schema_version: crate::lake::schema::SCHEMA_VERSION,
            layout: crate::lake::writer::LAYOUT,
        }
    }

    #[test]
    fn replay_adds_removes_and_remembers_removals() {
        let mut s = Snapshot::default();
        assert_eq!(s.next_version(), 0);
        s.apply(&Commit {
            version: 0,
            operation: Operation::Ingest,
            run_id: "a".into(),
            committed_at: now(),
            add: vec![file("logs/dt=d1/a", "d1"), file("logs/dt=d1/b", "d1")],
            remove: vec![],
            consumed: vec![],
        });
        s.apply(&Commit {
            version: 1,
            operation: Operation::Compact,
            run_id: "c".into(),
            committed_at: now(),
            add: vec![file("logs/dt=d1/c", "d1")],
            remove: vec![file("logs/dt=d1/a", "d1"), file("logs/dt=d1/b", "d1")],
            consumed: vec![],
        });
        assert_eq!(s.next_version(), 2);
        assert_eq!(s.files.keys().collect::<Vec<_>>(), ["logs/dt=d1/c"]);
        assert_eq!(s.removed.len(), 2);
        assert_eq!(s.files_of_day("d1").count(), 1);
        assert_eq!(s.rows(), 10);
    }
}
