//! The lake's Arrow schema and the builder that turns [`Row`]s into a `RecordBatch`.
//!
//! Column names follow Cloud Logging's Log Analytics names (snake_case) so users can port
//! their queries. Every column is documented in README.md ("Lake schema"); keep both in step.

use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::decode::entry::Row;

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The version of [`logs_schema`] a file is written in, recorded per file in the commit
/// log ([`super::log::DataFile::schema_version`]). While files of an older version are in
/// range, a lake's `logs` view derives what they lack, and a compaction rewrites them with
/// it. 1: the first; 2: `request_id` (derived from `json_payload`); 3: `trace_key` (derived
/// from `trace`).
pub const SCHEMA_VERSION: u32 = 3;

/// The first version with `request_id`.
pub const WITH_REQUEST_ID: u32 = 2;
/// The first version with `trace_key`.
pub const WITH_TRACE_KEY: u32 = 3;

/// The 64-bit key of a trace or request id (xxh3), as `trace_key` holds it and SQL's
/// `id_hash` computes it: joins and counts on ids compare integers, and a scan reads 8
/// bytes a row instead of a 50-70 byte string. Two ids share a key with a chance of about
/// n^2 / 2^65 (3e-8 for a million ids).
pub fn id_key(id: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes()) as i64
}

/// The schema of every file under `<lake>/logs/`.
pub fn logs_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        use DataType::{Boolean, Float64, Int32, Int64, Utf8};
        let f = |name: &str, t: DataType, nullable: bool| Field::new(name, t, nullable);
        Arc::new(Schema::new(vec![
            f("timestamp", ts(), false),
            f("receive_timestamp", ts(), true),
            f("timestamp_missing", Boolean, false),
            f("severity", Utf8, false),
            f("severity_number", Int32, false),
            f("log_name", Utf8, true),
            f("log_id", Utf8, true),
            f("insert_id", Utf8, true),
            f("resource_type", Utf8, true),
            f("resource_labels", Utf8, true),
            f("project_id", Utf8, true),
            f("service", Utf8, true),
            f("revision", Utf8, true),
            f("location", Utf8, true),
            f("labels", Utf8, true),
            f("trace", Utf8, true),
            f("trace_key", Int64, true),
            f("span_id", Utf8, true),
            f("trace_sampled", Boolean, true),
            f("request_id", Utf8, true),
            f("http_request_method", Utf8, true),
            f("http_request_url", Utf8, true),
            f("http_request_status", Int32, true),
            f("http_request_latency_ms", Float64, true),
            f("http_request_user_agent", Utf8, true),
            f("http_request_remote_ip", Utf8, true),
            f("http_request_server_ip", Utf8, true),
            f("http_request_referer", Utf8, true),
            f("http_request_protocol", Utf8, true),
            f("http_request_request_size", Int64, true),
            f("http_request_response_size", Int64, true),
            f("text_payload", Utf8, true),
            f("json_payload", Utf8, true),
            f("proto_payload", Utf8, true),
            f("operation", Utf8, true),
            f("source_location", Utf8, true),
            f("message", Utf8, false),
            f("shape_id", Int64, false),
            f("shape", Utf8, false),
            f("source", Utf8, false),
            f("source_offset", Int64, false),
            f("source_line", Int64, false),
        ]))
    });
    SCHEMA.clone()
}

/// Appends rows column by column; `finish` yields a batch in [`logs_schema`].
pub struct RowsBuilder {
    timestamp: TimestampNanosecondBuilder,
    receive_timestamp: TimestampNanosecondBuilder,
    timestamp_missing: BooleanBuilder,
    severity: StringBuilder,
    severity_number: Int32Builder,
    log_name: StringBuilder,
    log_id: StringBuilder,
    insert_id: StringBuilder,
    resource_type: StringBuilder,
    resource_labels: StringBuilder,
    project_id: StringBuilder,
    service: StringBuilder,
    revision: StringBuilder,
    location: StringBuilder,
    labels: StringBuilder,
    trace: StringBuilder,
    trace_key: Int64Builder,
    span_id: StringBuilder,
    trace_sampled: BooleanBuilder,
    request_id: StringBuilder,
    method: StringBuilder,
    url: StringBuilder,
    status: Int32Builder,
    latency_ms: Float64Builder,
    user_agent: StringBuilder,
    remote_ip: StringBuilder,
    server_ip: StringBuilder,
    referer: StringBuilder,
    protocol: StringBuilder,
    request_size: Int64Builder,
    response_size: Int64Builder,
    text_payload: StringBuilder,
    json_payload: StringBuilder,
    proto_payload: StringBuilder,
    operation: StringBuilder,
    source_location: StringBuilder,
    message: StringBuilder,
    shape_id: Int64Builder,
    shape: StringBuilder,
    source: StringBuilder,
    source_offset: Int64Builder,
    source_line: Int64Builder,
    len: usize,
}

impl Default for RowsBuilder {
    fn default() -> Self {
        RowsBuilder {
            timestamp: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            receive_timestamp: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            timestamp_missing: BooleanBuilder::new(),
            severity: StringBuilder::new(),
            severity_number: Int32Builder::new(),
            log_name: StringBuilder::new(),
            log_id: StringBuilder::new(),
            insert_id: StringBuilder::new(),
            resource_type: StringBuilder::new(),
            resource_labels: StringBuilder::new(),
            project_id: StringBuilder::new(),
            service: StringBuilder::new(),
            revision: StringBuilder::new(),
            location: StringBuilder::new(),
            labels: StringBuilder::new(),
            trace: StringBuilder::new(),
            trace_key: Int64Builder::new(),
            span_id: StringBuilder::new(),
            trace_sampled: BooleanBuilder::new(),
            request_id: StringBuilder::new(),
            method: StringBuilder::new(),
            url: StringBuilder::new(),
            status: Int32Builder::new(),
            latency_ms: Float64Builder::new(),
            user_agent: StringBuilder::new(),
            remote_ip: StringBuilder::new(),
            server_ip: StringBuilder::new(),
            referer: StringBuilder::new(),
            protocol: StringBuilder::new(),
            request_size: Int64Builder::new(),
            response_size: Int64Builder::new(),
            text_payload: StringBuilder::new(),
            json_payload: StringBuilder::new(),
            proto_payload: StringBuilder::new(),
            operation: StringBuilder::new(),
            source_location: StringBuilder::new(),
            message: StringBuilder::new(),
            shape_id: Int64Builder::new(),
            shape: StringBuilder::new(),
            source: StringBuilder::new(),
            source_offset: Int64Builder::new(),
            source_line: Int64Builder::new(),
            len: 0,
        }
    }
}

impl RowsBuilder {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one row; `shape` and `shape_id` are its message's signature shape.
    pub fn append(
        &mut self,
        row: &Row<'_>,
        shape: &str,
        shape_id: i64,
        source: &str,
        offset: u64,
        line: u64,
    ) {
        let h = &row.http;
        self.timestamp.append_value(row.timestamp);
        self.receive_timestamp.append_option(row.receive_timestamp);
        self.timestamp_missing.append_value(row.timestamp_missing);
        self.severity.append_value(row.severity);
        self.severity_number.append_value(row.severity_number);
        self.log_name.append_option(row.log_name.as_deref());
        self.log_id.append_option(row.log_id.as_deref());
        self.insert_id.append_option(row.insert_id.as_deref());
        self.resource_type
            .append_option(row.resource_type.as_deref());
        self.resource_labels
            .append_option(row.resource_labels.as_deref());
        self.project_id.append_option(row.project_id.as_deref());
        self.service.append_option(row.service.as_deref());
        self.revision.append_option(row.revision.as_deref());
        self.location.append_option(row.location.as_deref());
        self.labels.append_option(row.labels.as_deref());
        self.trace.append_option(row.trace.as_deref());
        self.trace_key
            .append_option(row.trace.as_deref().map(id_key));
        self.span_id.append_option(row.span_id.as_deref());
        self.trace_sampled.append_option(row.trace_sampled);
        self.request_id.append_option(row.request_id.as_deref());
        self.method.append_option(h.method.as_deref());
        self.url.append_option(h.url.as_deref());
        self.status.append_option(h.status);
        self.latency_ms.append_option(h.latency_ms);
        self.user_agent.append_option(h.user_agent.as_deref());
        self.remote_ip.append_option(h.remote_ip.as_deref());
        self.server_ip.append_option(h.server_ip.as_deref());
        self.referer.append_option(h.referer.as_deref());
        self.protocol.append_option(h.protocol.as_deref());
        self.request_size.append_option(h.request_size);
        self.response_size.append_option(h.response_size);
        self.text_payload.append_option(row.text_payload.as_deref());
        self.json_payload.append_option(row.json_payload.as_deref());
        self.proto_payload
            .append_option(row.proto_payload.as_deref());
        self.operation.append_option(row.operation.as_deref());
        self.source_location
            .append_option(row.source_location.as_deref());
        self.message.append_value(&row.message);
        self.shape_id.append_value(shape_id);
        self.shape.append_value(shape);
        self.source.append_value(source);
        self.source_offset.append_value(offset as i64);
        self.source_line.append_value(line as i64);
        self.len += 1;
    }

    /// The batch of the rows appended since the last call. The builders are then sized for
    /// a batch like this one (and an eighth), so the next chunk's strings are copied in once
    /// rather than again at every doubling.
    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.receive_timestamp.finish()),
            Arc::new(self.timestamp_missing.finish()),
            finish_sized(&mut self.severity),
            Arc::new(self.severity_number.finish()),
            finish_sized(&mut self.log_name),
            finish_sized(&mut self.log_id),
            finish_sized(&mut self.insert_id),
            finish_sized(&mut self.resource_type),
            finish_sized(&mut self.resource_labels),
            finish_sized(&mut self.project_id),
            finish_sized(&mut self.service),
            finish_sized(&mut self.revision),
            finish_sized(&mut self.location),
            finish_sized(&mut self.labels),
            finish_sized(&mut self.trace),
            Arc::new(self.trace_key.finish()),
            finish_sized(&mut self.span_id),
            Arc::new(self.trace_sampled.finish()),
            finish_sized(&mut self.request_id),
            finish_sized(&mut self.method),
            finish_sized(&mut self.url),
            Arc::new(self.status.finish()),
            Arc::new(self.latency_ms.finish()),
            finish_sized(&mut self.user_agent),
            finish_sized(&mut self.remote_ip),
            finish_sized(&mut self.server_ip),
            finish_sized(&mut self.referer),
            finish_sized(&mut self.protocol),
            Arc::new(self.request_size.finish()),
            Arc::new(self.response_size.finish()),
            finish_sized(&mut self.text_payload),
            finish_sized(&mut self.json_payload),
            finish_sized(&mut self.proto_payload),
            finish_sized(&mut self.operation),
            finish_sized(&mut self.source_location),
            finish_sized(&mut self.message),
            Arc::new(self.shape_id.finish()),
            finish_sized(&mut self.shape),
            finish_sized(&mut self.source),
            Arc::new(self.source_offset.finish()),
            Arc::new(self.source_line.finish()),
        ];
        self.len = 0;
        // The builders match the schema column for column; a mismatch is a bug caught by tests.
        RecordBatch::try_new(logs_schema(), columns).expect("RowsBuilder matches logs_schema")
    }
}

fn finish_sized(b: &mut StringBuilder) -> ArrayRef {
    use arrow::array::ArrayBuilder;
    let (items, bytes) = (b.len(), b.values_slice().len());
    let array = Arc::new(b.finish());
    *b = StringBuilder::with_capacity(items + items / 8, bytes + bytes / 8);
    array
}
