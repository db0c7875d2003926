//! Runs the sqllogictest files in `tests/slt/` against real lakes.
//!
//! Each file builds its own lake with `INGEST` statements (the real `gardener ingest` on the
//! entries given), so its expected answers are known by construction. Besides SQL, a
//! statement or query may be:
//! - `INGEST` followed by Cloud Logging entries, one JSON object per line;
//! - `INGEST SERIES start=T every=SPAN count=N` followed by entries without `timestamp`:
//!   each line is written N times, at T, T+SPAN, ..., with `{i}` replaced by the step;
//! - `RANGE since=T until=T now=T` (any of them; none clears): what `--since/--until/--now`
//!   give `gardener query`;
//! - `NAMED(name; key=value; ...)` anywhere in SQL: the named query of `sql/` with its
//!   parameters, in parentheses, so `SELECT template, count FROM NAMED(signature_frequencies)`
//!   picks the columns whose values are known (signature ids are hashes). A statement that
//!   is only `NAMED(...)` runs the query as it is, so its own ORDER BY is what is tested.

use std::path::{Path, PathBuf};

use arrow::array::Array;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::sql::parser::DFParser;
use log_gardener::common::time::{format_rfc3339, parse_rfc3339};
use log_gardener::engine::Engine;
use log_gardener::engine::named;
use log_gardener::range::RangeSpec;
use sqllogictest::{DBOutput, DefaultColumnType};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

fn err(e: impl std::fmt::Display) -> SltError {
    SltError(e.to_string())
}

struct SltLake {
    dir: tempfile::TempDir,
    range: RangeSpec,
    batches: usize,
}

impl SltLake {
    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    /// Writes `entries` to a file and ingests it with the real binary.
    fn ingest(&mut self, entries: &str) {
        self.batches += 1;
        let file = self
            .dir
            .path()
            .join(format!("batch-{}.jsonl", self.batches));
        std::fs::write(&file, entries).expect("write entries");
        crate::common::ingest(&self.lake(), &[file.to_str().expect("utf8")]);
    }

    async fn query(&self, sql: &str) -> Result<Vec<arrow::array::RecordBatch>, SltError> {
        let lake = log_gardener::lake::Lake::open(self.lake().to_str().expect("utf8"))
            .await
            .map_err(err)?;
        let engine = Engine::open(&lake, &self.range, None, &Default::default())
            .await
            .map_err(err)?;
        engine.query(sql, false).await.map_err(err)
    }
}

/// `INGEST SERIES start=T every=SPAN count=N` over `lines`.
fn series(header: &str, lines: &str) -> Result<String, SltError> {
    let mut start = None;
    let mut every = 0i64;
    let mut count = 0i64;
    for kv in header.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| err(format!("{kv}: key=value")))?;
        match k {
            "start" => start = Some(parse_rfc3339(v).map_err(err)?),
            "every" => every = span(v)?,
            "count" => count = v.parse().map_err(err)?,
            _ => return Err(err(format!("unknown SERIES key {k}"))),
        }
    }
    let start = start.ok_or_else(|| err("SERIES needs start="))?;
    let mut out = String::new();
    for i in 0..count {
        let ts = format_rfc3339(start + i * every);
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let line = line.replace("{i}", &i.to_string());
            let body = line
                .trim()
                .strip_prefix('{')
                .ok_or_else(|| err(format!("not a JSON object: {line}")))?;
            out.push_str(&format!("{{\"timestamp\":\"{ts}\",{body}\n"));
        }
    }
    Ok(out)
}

/// `500ms`, `30s`, `5m`, `1h`, `1d` in nanoseconds.
fn span(v: &str) -> Result<i64, SltError> {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: i64 = digits.parse().map_err(err)?;
    let unit = match &v[digits.len()..] {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        u => return Err(err(format!("unknown unit {u:?}"))),
    };
    Ok(n * unit)
}

/// Replaces each `NAMED(name; key=value; ...)` with the named query's SQL. A named query
/// may first create session tables: those statements go before the whole statement.
fn expand_named(sql: &str) -> Result<String, SltError> {
    let mut setup = String::new();
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("NAMED(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "NAMED(".len()..];
        let end = after.find(')').ok_or_else(|| err("NAMED( without )"))?;
        let mut parts = after[..end].split(';');
        let name = parts.next().unwrap_or_default().trim();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let text = named::render(name, &params).map_err(err)?;
        if at == 0 && after[end + 1..].trim().is_empty() {
            return Ok(text);
        }
        let mut statements = DFParser::parse_sql(&text).map_err(err)?;
        let query = statements
            .pop_back()
            .ok_or_else(|| err("empty named query"))?;
        for statement in statements {
            setup.push_str(&format!("{statement};\n"));
        }
        out.push_str(&format!("({query})"));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(setup + &out)
}

fn cell_type(t: &DataType) -> DefaultColumnType {
    match t {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for SltLake {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let (first, rest) = sql.split_once('\n').unwrap_or((sql, ""));
        let first = first.trim();
        if let Some(header) = first.strip_prefix("INGEST") {
            let entries = match header.trim().strip_prefix("SERIES") {
                Some(h) => series(h, rest)?,
                None => rest.to_owned(),
            };
            self.ingest(&entries);
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(args) = first.strip_prefix("RANGE") {
            self.range = RangeSpec::default();
            for kv in args.split_whitespace() {
                let (k, v) = kv.split_once('=').ok_or_else(|| err(kv))?;
                let slot = match k {
                    "since" => &mut self.range.since,
                    "until" => &mut self.range.until,
                    "now" => &mut self.range.now,
                    _ => return Err(err(format!("unknown RANGE key {k}"))),
                };
                *slot = Some(v.to_owned());
            }
            return Ok(DBOutput::StatementComplete(0));
        }
        let text = expand_named(sql)?;
        let batches = self.query(&text).await?;
        let Some(schema) = batches.first().map(|b| b.schema()) else {
            return Ok(DBOutput::Rows {
                types: vec![],
                rows: vec![],
            });
        };
        let types = schema
            .fields()
            .iter()
            .map(|f| cell_type(f.data_type()))
            .collect();
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            for i in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .zip(batch.columns())
                        .map(|(f, c)| match f.value(i).to_string() {
                            s if s.is_empty() && c.is_valid(i) => "(empty)".to_owned(),
                            s => s,
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

#[test]
fn sqllogictests() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files");
    let mut failures = Vec::new();
    for file in files {
        let mut runner = sqllogictest::Runner::new(|| async {
            Ok(SltLake {
                dir: tempfile::tempdir().map_err(err)?,
                range: RangeSpec::default(),
                batches: 0,
            })
        });
        runner.with_column_validator(sqllogictest::strict_column_validator);
        if let Err(e) = rt.block_on(runner.run_file_async(&file)) {
            failures.push(format!("{}: {}", file.display(), e.display(true)));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
