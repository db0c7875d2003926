//! Typed reads of a lake file's columns. A file in `logs/` may come from another tool (a
//! lake adopted from before the log, a `COPY` into the folder): a column can be missing or
//! held in another physical type. Types arrow casts without loss into the lake's (`Utf8View`
//! and `LargeUtf8` to `Utf8`, narrower integers to wider ones, timestamps of any unit to
//! nanoseconds) are cast; anything else is a [`LakeError::Schema`] naming the file, the
//! column and what was found. Never a skipped file (dedup would let duplicates through)
//! and never a panic.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit, TimestampNanosecondType};

use super::LakeError;

const REQUEST_ID: &str = "request_id";
const TRACE_KEY: &str = "trace_key";

/// One batch of a lake file, with the file's name for errors.
#[derive(Clone, Copy)]
pub struct Columns<'a> {
    pub path: &'a str,
    pub batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    pub fn new(path: &'a str, batch: &'a RecordBatch) -> Self {
        Columns { path, batch }
    }

    pub fn strings(&self, name: &str) -> Result<StringArray, LakeError> {
        Ok(self
            .column(name, &DataType::Utf8)?
            .as_string::<i32>()
            .clone())
    }

    pub fn i64s(&self, name: &str) -> Result<Int64Array, LakeError> {
        Ok(self
            .column(name, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .clone())
    }

    pub fn i32s(&self, name: &str) -> Result<Int32Array, LakeError> {
        Ok(self
            .column(name, &DataType::Int32)?
            .as_primitive::<Int32Type>()
            .clone())
    }

    pub fn timestamps(&self, name: &str) -> Result<TimestampNanosecondArray, LakeError> {
        let want = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
        Ok(self
            .column(name, &want)?
            .as_primitive::<TimestampNanosecondType>()
            .clone())
    }

    /// The batch in the lake's schema, for rewriting with the lake's own encoder
    /// (compaction): each column by name, cast where that keeps every value (as the typed
    /// accessors do); a file written before `request_id` (schema version 1) gets that
    /// column from its `json_payload`, read as ingest reads it, and one written before
    /// `trace_key` (versions 1 and 2) that key of its `trace`. A column missing or of
    /// another type, or one the lake does not have, is refused.
    pub fn in_lake_schema(&self) -> Result<RecordBatch, LakeError> {
        let schema = super::schema::logs_schema();
        if let Some(extra) = self
            .batch
            .schema_ref()
            .fields()
            .iter()
            .find(|f| schema.field_with_name(f.name()).is_err())
        {
            return Err(self.schema_error(
                extra.name(),
                "a column the lake's schema does not have".into(),
            ));
        }
        let columns = schema
            .fields()
            .iter()
            .map(|want| {
                let name = want.name().as_str();
                match name {
                    REQUEST_ID | TRACE_KEY if self.batch.column_by_name(name).is_some() => {
                        self.column(name, want.data_type())
                    }
                    REQUEST_ID => self.request_ids(),
                    TRACE_KEY => self.trace_keys(),
                    _ => self.column(name, want.data_type()),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(schema, columns).map_err(|source| LakeError::Arrow {
            path: self.path.to_owned(),
            source,
        })
    }

    fn request_ids(&self) -> Result<ArrayRef, LakeError> {
        let payloads = self.strings("json_payload")?;
        let ids: StringArray = payloads
            .iter()
            .map(|p| p.and_then(crate::decode::entry::payload_request_id))
            .collect();
        Ok(Arc::new(ids))
    }

    fn trace_keys(&self) -> Result<ArrayRef, LakeError> {
        let traces = self.strings("trace")?;
        let keys: Int64Array = traces
            .iter()
            .map(|t| t.map(super::schema::id_key))
            .collect();
        Ok(Arc::new(keys))
    }

    fn column(&self, name: &str, want: &DataType) -> Result<ArrayRef, LakeError> {
        let col = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| self.schema_error(name, "no such column".to_owned()))?;
        let found = col.data_type();
        if same_type(found, want) {
            return Ok(col.clone());
        }
        if !castable(found, want) {
            return Err(self.schema_error(name, found.to_string()));
        }
        arrow::compute::cast(col, want)
            .map_err(|e| self.schema_error(name, format!("{found} ({e})")))
    }

    fn schema_error(&self, column: &str, found: String) -> LakeError {
        LakeError::Schema {
            path: self.path.to_owned(),
            column: column.to_owned(),
            found,
        }
    }
}

/// Equal, or both nanosecond timestamps (the zone does not change the values).
fn same_type(found: &DataType, want: &DataType) -> bool {
    found == want
        || matches!(
            (found, want),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, _),
                DataType::Timestamp(TimeUnit::Nanosecond, _)
            )
        )
}

/// Casts that keep every value: another string layout, a narrower integer, a timestamp in
/// another unit.
fn castable(found: &DataType, want: &DataType) -> bool {
    use DataType::*;
    match (found, want) {
        (Utf8View | LargeUtf8, Utf8) => true,
        (Int8 | Int16 | Int32 | UInt8 | UInt16, Int32 | Int64) => {
            found.primitive_width() < want.primitive_width() || found == &Int32
        }
        (UInt32, Int64) => true,
        (Timestamp(_, _), Timestamp(TimeUnit::Nanosecond, _)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{LargeStringArray, StringViewArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn other_layouts_are_read_and_other_types_are_named() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8View, true),
            Field::new("b", DataType::LargeUtf8, true),
            Field::new("c", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringViewArray::from(vec!["x"])),
                Arc::new(LargeStringArray::from(vec!["y"])),
                Arc::new(arrow::array::Float64Array::from(vec![1.0])),
            ],
        )
        .expect("batch");
        let cols = Columns::new("logs/dt=2025-09-10/x.parquet", &batch);
        assert_eq!(cols.strings("a").expect("a").value(0), "x");
        assert_eq!(cols.strings("b").expect("b").value(0), "y");
        let e = cols
            .i64s("c")
            .expect_err("a float is not an id")
            .to_string();
        assert!(
            e.contains("x.parquet") && e.contains("column c") && e.contains("Float64"),
            "{e}"
        );
        let e = cols.strings("d").expect_err("missing").to_string();
        assert!(
            e.contains("column d") && e.contains("no such column"),
            "{e}"
        );
    }
}
