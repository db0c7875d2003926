//! `id_hash(text)`: the 64-bit key of a trace or request id ([`id_key`]: `id_hash(trace)` is
//! the lake's `trace_key`), registered in every session. The queries that join or count ids
//! (`co_occurrence`, `impact`) key them by it: an id of the lake is a 50-70 byte string, and
//! a table of 2.5 M of them cost more time and memory than the rest of the step
//! (`co_occurrence`'s problem rows, 12 M-row lake: 1.6 s and 0.89 GB with the strings, 1.0 s
//! and 0.35 GB with their keys). NULL gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

use crate::lake::schema::id_key;

/// The `id_hash` function.
pub fn udf() -> ScalarUDF {
    create_udf(
        "id_hash",
        vec![DataType::Utf8View],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let scalar = matches!(args, [ColumnarValue::Scalar(_)]);
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let Some(ids) = arrays.first().and_then(|a| a.as_string_view_opt()) else {
                return exec_err!("id_hash takes one text argument");
            };
            let keys: ArrayRef =
                Arc::new(ids.iter().map(|id| id.map(id_key)).collect::<Int64Array>());
            Ok(if scalar {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&keys, 0)?)
            } else {
                ColumnarValue::Array(keys)
            })
        }),
    )
}
