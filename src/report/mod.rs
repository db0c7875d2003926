//! `gardener report`: the weekly triage report ("worklog") from every line of a range.
//!
//! Layout: [`gather`](mod@gather) runs the named queries of `sql/` (totals, issues, impact,
//! recent, co_occurrence, bursts, new_and_rising, windows) and builds the [`model::Report`];
//! [`priority`] holds the P0-P3 rules (built-in and `--rules FILE`); [`incidents`] groups
//! issues into root causes with their effects; [`title`] names them; [`known`] the
//! known-issue ledger; [`markdown`] and [`html`] render it (JSON is the model serialized).
//!
//! Failure modes: everything `gardener query` can fail with (missing lake, bad range, SQL),
//! plus a bad rules or ledger file; all are [`ReportError`]s naming the input.

pub mod gather;
pub mod html;
pub mod incidents;
pub mod known;
pub mod markdown;
pub mod model;
pub mod priority;
pub mod title;

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
    #[error(
        "named query {query} no longer returns column {column}, which the report reads (was sql/{query}.sql changed?)"
    )]
    Column { query: String, column: &'static str },
    #[error(
        "named query {query}, row {row}, column {column}: {detail} (was sql/{query}.sql changed?)"
    )]
    RowType {
        query: String,
        row: usize,
        column: String,
        detail: String,
    },
}

/// `gardener query --named incidents`: not SQL but the report's grouping pass over its
/// named queries; `query --list` shows this line.
pub const INCIDENTS_QUERY: (&str, &str) = (
    "incidents",
    "incidents: the report's incidents (root causes with their effects), as `report` shows them with the built-in rules; --since defaults to 7d",
);

/// The report's incidents as a table, one row per incident, for `query --named incidents`.
pub fn incidents_table(
    report: &model::Report,
) -> Result<datafusion::arrow::record_batch::RecordBatch, datafusion::arrow::error::ArrowError> {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, StringArray, UInt64Array};
    use datafusion::arrow::record_batch::RecordBatch;

    let inc = &report.incidents;
    let strings = |f: &dyn Fn(&model::Incident) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(inc.iter().map(f)))
    };
    let numbers = |f: &dyn Fn(&model::Incident) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(inc.iter().map(f)))
    };
    RecordBatch::try_from_iter([
        ("id", numbers(&|i| i.id as u64)),
        ("priority", strings(&|i| i.priority.to_string())),
        ("title", strings(&|i| i.title.clone())),
        ("kind", strings(&|i| i.kind.clone())),
        ("root_cause", strings(&|i| i.root_cause.clone())),
        ("members", strings(&|i| i.members.join(","))),
        ("count", numbers(&|i| i.count)),
        ("first_seen", strings(&|i| i.first_seen.clone())),
        ("last_seen", strings(&|i| i.last_seen.clone())),
        ("why", strings(&|i| i.why.clone())),
    ])
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
pub fn render(report: &model::Report, format: Format) -> Result<String, serde_json::Error> {
    Ok(match format {
        Format::Md => markdown::render(report),
        Format::Html => html::render(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)?;
            s.push('\n');
            s
        }
    })
}
