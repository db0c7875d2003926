//! The known-issue ledger (`--known FILE`): which signatures already have a tracker issue.
//!
//! ```toml
//! [[issue]]
//! signature_id = "e3d620574e0dbe3b"
//! tracker = "https://github.com/acme/backend/issues/1412"
//! status = "open"                       # open | resolved | muted
//! resolved_at = "2025-09-08T00:00:00Z"  # with resolved: seen after this = regressed
//! ```
//!
//! In the report an issue is `new` (not in the ledger), `known` (open), `regressed`
//! (resolved, and seen after `resolved_at`, or anywhere in the range without it),
//! `resolved` (resolved, not seen since), or left out (muted).
//! Failure modes: an unreadable file, bad TOML, an unknown status are [`KnownError`]s.

use super::model::IssueStatus;
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    #[error("reading known issues {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("known issues {path}: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error(
        "known issues {path}: signature {signature_id}: status {status:?} is not open, resolved or muted"
    )]
    Status {
        path: String,
        signature_id: String,
        status: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    signature_id: String,
    tracker: Option<String>,
    status: String,
    resolved_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    issue: Vec<Entry>,
}

/// The ledger; empty when no file is given.
#[derive(Debug, Clone, Default)]
pub struct Known {
    entries: HashMap<String, Entry>,
}

impl Known {
    pub fn load(path: &Path) -> Result<Known, KnownError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KnownError::Read {
            path: p.clone(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|source| KnownError::Toml {
            path: p.clone(),
            source,
        })?;
        let mut entries = HashMap::new();
        for e in file.issue {
            if !matches!(e.status.as_str(), "open" | "resolved" | "muted") {
                return Err(KnownError::Status {
                    path: p,
                    signature_id: e.signature_id,
                    status: e.status,
                });
            }
            entries.insert(e.signature_id.clone(), e);
        }
        Ok(Known { entries })
    }

    /// (status, tracker) of a signature last seen at `last_seen` (RFC 3339).
    pub fn status(&self, signature_id: &str, last_seen: &str) -> (IssueStatus, Option<String>) {
        let Some(e) = self.entries.get(signature_id) else {
            return (IssueStatus::New, None);
        };
        let status = match e.status.as_str() {
            "muted" => IssueStatus::Muted,
            "resolved" => match &e.resolved_at {
                Some(at) if !later(last_seen, at) => IssueStatus::Resolved,
                _ => IssueStatus::Regressed,
            },
            _ => IssueStatus::Known,
        };
        (status, e.tracker.clone())
    }
}

/// `a` after `b`, both RFC 3339 (compared as instants).
fn later(a: &str, b: &str) -> bool {
    use crate::common::time::parse_rfc3339;
    match (parse_rfc3339(a), parse_rfc3339(b)) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_from_the_ledger() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("known.toml");
        std::fs::write(
            &path,
            r#"
[[issue]]
signature_id = "aaa"
tracker = "https://tracker/1"
status = "open"

[[issue]]
signature_id = "bbb"
status = "resolved"
resolved_at = "2025-09-08T00:00:00Z"

[[issue]]
signature_id = "ccc"
status = "muted"
"#,
        )
        .expect("write");
        let k = Known::load(&path).expect("ledger");
        let t = "2025-09-10T00:00:00Z";
        assert_eq!(
            k.status("aaa", t),
            (IssueStatus::Known, Some("https://tracker/1".into()))
        );
        assert_eq!(k.status("bbb", t).0, IssueStatus::Regressed);
        assert_eq!(
            k.status("bbb", "2025-09-07T00:00:00Z").0,
            IssueStatus::Resolved
        );
        assert_eq!(k.status("ccc", t).0, IssueStatus::Muted);
        assert_eq!(k.status("zzz", t), (IssueStatus::New, None));
        std::fs::write(
            &path,
            "[[issue]]\nsignature_id = \"a\"\nstatus = \"fixed\"\n",
        )
        .expect("write");
        let e = Known::load(&path).expect_err("bad status").to_string();
        assert!(e.contains("\"fixed\"") && e.contains("signature a"), "{e}");
    }
}
