//! Query results as a table (terminals), CSV (with a header), a JSON array, or NDJSON.
//! Timestamps print as RFC 3339 in UTC.

use std::io::Write;

use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;

/// Output formats of `gardener query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
}

const RFC3339_UTC: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// Writes `batches` to `out` in `format`.
pub fn write(
    batches: &[RecordBatch],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), ArrowError> {
    match format {
        Format::Table => writeln!(out, "{}", pretty_format_batches(batches)?)?,
        Format::Csv => {
            let mut w = WriterBuilder::new()
                .with_header(true)
                .with_timestamp_tz_format(RFC3339_UTC.to_owned())
                .with_timestamp_format(RFC3339_UTC.to_owned())
                .build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = ArrayWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Ndjson => {
            let mut w = LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

/// `batches` as JSON objects, one per row (the `--format json` encoding), for code that
/// reads query results by column name.
pub fn json_rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, ArrowError> {
    let mut buf = Vec::new();
    write(batches, Format::Json, &mut buf)?;
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buf).map_err(|e| ArrowError::JsonError(e.to_string()))
}
