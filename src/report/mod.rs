//! `gardener report`: the weekly triage report ("worklog") from every line of a range.
//!
//! Layout: [`gather`] runs the named queries of `sql/` (totals, signature_frequencies,
//! impact, recent, co_occurrence, bursts) and builds the [`model::Report`]; [`priority`]
//! holds the P0-P3 rules (built-in and `--rules FILE`); [`known`] the known-issue ledger;
//! [`markdown`] and [`html`] render it (JSON is the model serialized).
//!
//! Failure modes: everything `gardener query` can fail with (missing lake, bad range, SQL),
//! plus a bad rules or ledger file; all are [`ReportError`]s naming the input.

pub mod gather;
pub mod html;
pub mod known;
pub mod markdown;
pub mod model;
pub mod priority;

pub use gather::{Options, gather};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("reading query results: {0}")]
    Results(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Rules(#[from] priority::RulesError),
    #[error(transparent)]
    Known(#[from] known::KnownError),
}

/// Output formats of `gardener report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Json,
    /// One self-contained file with charts.
    Html,
}

/// The report in `format`.
pub fn render(report: &model::Report, format: Format) -> String {
    match format {
        Format::Md => markdown::render(report),
        Format::Html => html::render(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}
