//! The ingest summary: JSON for tools (`--output json`), words for people.
//! `records == rows + duplicates + quarantined + out_of_range` always holds; blank lines are
//! counted apart.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::common::numbers::{plural, thousands};
use crate::lake::ledger::RunStatus;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub lake: String,
    pub status: RunStatus,
    pub sources: usize,
    pub records: u64,
    pub rows: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// Records outside `--since/--until`, left out.
    pub out_of_range: u64,
    /// Files or objects of a sink's date layout outside `--since/--until`, never read.
    pub skipped_sources: usize,
    pub blank_lines: u64,
    /// Rows whose `timestamp` was missing and taken from `receiveTimestamp`.
    pub timestamp_fallbacks: u64,
    /// Bytes read from the sources (compressed size for gzip).
    pub bytes: u64,
    pub seconds: f64,
    pub files: usize,
    /// `dt=` partitions written.
    pub days: Vec<String>,
    pub empty_sources: Vec<String>,
    pub source_errors: Vec<String>,
    /// Earlier runs found killed before they finished.
    pub interrupted_runs: Vec<String>,
    pub staging_files_removed: usize,
    pub quarantine_dir: Option<String>,
    /// The signatures tables after this run (absent when nothing was written).
    pub signatures: Option<crate::lake::signatures::SignatureSummary>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_written(f)?;
        self.fmt_kept_out(f)?;
        self.fmt_notes(f)
    }
}

impl Summary {
    /// What was read and what the lake got.
    fn fmt_written(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb = self.bytes as f64 / 1e6;
        writeln!(
            f,
            "{} {} from {} ({mb:.1} MB) in {:.1} s into {}",
            match self.status {
                RunStatus::Complete => "ingested",
                // A follower's normal end (SIGINT or SIGTERM).
                RunStatus::Stopped => "followed and stopped after",
                _ => "interrupted after",
            },
            plural(self.records, "record", "records"),
            plural(self.sources as u64, "source", "sources"),
            self.seconds,
            self.lake
        )?;
        let days = match (self.days.first(), self.days.last()) {
            (Some(a), Some(b)) if a != b => format!(", days {a} .. {b}"),
            (Some(a), _) => format!(", day {a}"),
            _ => String::new(),
        };
        writeln!(
            f,
            "  {} written in {}{days}",
            plural(self.rows, "row", "rows"),
            plural(self.files as u64, "file", "files")
        )?;
        writeln!(
            f,
            "  {} dropped (same log_name, insert_id and timestamp)",
            plural(self.duplicates, "duplicate", "duplicates")
        )?;
        Ok(())
    }

    /// Quarantined records and the lake's totals after the run.
    fn fmt_kept_out(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<String> = self
            .quarantine_reasons
            .iter()
            .map(|(r, n)| format!("{r} {}", thousands(*n)))
            .collect();
        match &self.quarantine_dir {
            Some(dir) => writeln!(
                f,
                "  {} quarantined ({}) in {dir}",
                plural(self.quarantined, "record", "records"),
                reasons.join(", ")
            )?,
            None => writeln!(f, "  0 records quarantined")?,
        }
        if let Some(s) = &self.signatures {
            writeln!(
                f,
                "  lake now holds {} in {} ({} distinct shapes)",
                plural(s.rows, "row", "rows"),
                plural(s.signatures as u64, "signature", "signatures"),
                thousands(s.shapes as u64)
            )?;
        }
        Ok(())
    }

    /// What was left out on purpose, source errors, and what to do next.
    fn fmt_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.out_of_range > 0 || self.skipped_sources > 0 {
            writeln!(
                f,
                "  {} outside --since/--until left out; {} skipped unread",
                plural(self.out_of_range, "record", "records"),
                plural(
                    self.skipped_sources as u64,
                    "file or folder",
                    "files or folders"
                )
            )?;
        }
        if self.blank_lines > 0 {
            writeln!(
                f,
                "  {} skipped",
                plural(self.blank_lines, "blank line", "blank lines")
            )?;
        }
        if self.timestamp_fallbacks > 0 {
            writeln!(
                f,
                "  {} without timestamp took receiveTimestamp (timestamp_missing = true)",
                plural(self.timestamp_fallbacks, "row", "rows")
            )?;
        }
        for e in &self.source_errors {
            writeln!(f, "  source error: {e}")?;
        }
        if !matches!(self.status, RunStatus::Complete | RunStatus::Stopped) {
            writeln!(f, "  run the same command again to complete the ingest")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a follower stopped by SIGTERM (its normal end) was told to run again.
    #[test]
    fn only_an_interrupted_run_is_told_to_run_again() {
        let text = |status| {
            Summary {
                status,
                ..Summary::default()
            }
            .to_string()
        };
        let stopped = text(RunStatus::Stopped);
        assert!(
            stopped.starts_with("followed and stopped after"),
            "{stopped}"
        );
        assert!(!stopped.contains("run the same command again"), "{stopped}");
        assert!(text(RunStatus::Interrupted).contains("run the same command again"));
        assert!(!text(RunStatus::Complete).contains("run the same command again"));
    }
}
