//! The run ledger: `<lake>/_ledger/run-<run>.json`, written `running` when a run starts and
//! rewritten `complete` (or `interrupted`, `stopped`, `failed`) with its summary and files
//! when it ends.
//!
//! A run killed outright stays `running` in the ledger; the next run reports it, and sweeps
//! the staging files it left on local disk. What it committed stays (see [`super::log`]);
//! files it uploaded but never committed are invisible to readers.
//!
//! Failure modes: unreadable ledger files are reported and skipped, never fatal.

use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use super::{Lake, LakeError};

/// Where a run is. Written in lowercase in the ledger and in summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished (or killed: see [`interrupted_runs`]).
    #[default]
    Running,
    Complete,
    /// Stopped by SIGINT after committing what it had read.
    Interrupted,
    /// A follower stopped by SIGINT or SIGTERM.
    Stopped,
    /// An error or a panic in a stage ended it; nothing of the failed part was committed.
    Failed,
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub pid: u32,
    pub sources: Vec<String>,
    /// The ingest summary, once finished.
    pub summary: Option<serde_json::Value>,
    /// Why a `failed` run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A run id: the UTC start time and a tag distinct per process and instant.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    // No need for cryptographic randomness.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = (nanos ^ std::process::id().rotate_left(16)) & 0xff_ffff;
    format!("{now}-{tag:06x}")
}

impl RunRecord {
    /// The record of a run starting now in this process.
    pub fn running(run_id: &str, sources: Vec<String>) -> RunRecord {
        RunRecord {
            run_id: run_id.to_owned(),
            status: RunStatus::Running,
            started_at: chrono::Utc::now().to_rfc3339(),
            finished_at: None,
            pid: std::process::id(),
            sources,
            summary: None,
            error: None,
        }
    }
}

fn path_of(lake: &Lake, run_id: &str) -> object_store::path::Path {
    lake.path(&["_ledger", &format!("run-{run_id}.json")])
}

/// Writes (or rewrites) a run's record.
pub async fn write(lake: &Lake, rec: &RunRecord) -> Result<(), LakeError> {
    let path = path_of(lake, &rec.run_id);
    let body = serde_json::to_vec_pretty(rec).map_err(|e| LakeError::Ledger {
        path: path.to_string(),
        detail: e.to_string(),
    })?;
    lake.put(&path, body).await
}

/// Runs recorded as `running` whose process is gone: killed before they finished.
pub async fn interrupted_runs(lake: &Lake) -> Result<Vec<RunRecord>, LakeError> {
    Ok(running_runs(lake)
        .await?
        .into_iter()
        .filter(|r| !process_alive(r.pid))
        .collect())
}

/// Runs recorded as `running` (still going, here or on another machine, or killed).
pub async fn running_runs(lake: &Lake) -> Result<Vec<RunRecord>, LakeError> {
    let objects = lake.list(&["_ledger"]).await?;
    let mut out = Vec::new();
    for meta in objects {
        let Ok(got) = lake.store.get(&meta.location).await else {
            continue;
        };
        let Ok(bytes) = got.bytes().await else {
            continue;
        };
        match serde_json::from_slice::<RunRecord>(&bytes) {
            Ok(rec) if rec.status == RunStatus::Running => out.push(rec),
            Ok(_) => {}
            Err(e) => tracing::warn!("skipping unreadable ledger file {}: {e}", meta.location),
        }
    }
    Ok(out)
}

fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes staging files (`<name>.parquet#<n>`) that an interrupted run left on local disk.
/// They are invisible to readers; this only reclaims space. Returns how many were removed.
pub fn sweep_staging(lake: &Lake, run_ids: &[String]) -> usize {
    let Some(dir) = &lake.local_dir else {
        return 0;
    };
    let mut removed = 0;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let staging = name
                .split_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if staging
                && run_ids.iter().any(|r| name.contains(r.as_str()))
                && std::fs::remove_file(&p).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}
