//! The Parquet lake: schema, partitioned writing with deduplication, the commit log that
//! makes files visible, the quarantine and the run ledger.
//!
//! Layout under `<lake>`:
//! - `logs/dt=YYYY-MM-DD/part-<run>-<seq>.parquet`: rows, the problem rows in a row group of
//!   their own, each group sorted by `timestamp`; a file is part of the lake only once
//!   `_log/` names it;
//! - `_log/<version>.json`: the commits ([`log`]), each file with its rows, time range,
//!   schema version ([`schema::SCHEMA_VERSION`]) and layout ([`writer::LAYOUT`]);
//!   `<version>.checkpoint.json` every 50;
//! - `signatures/<version>/{shapes,signatures}.parquet`: the signatures tables of a version;
//! - `_quarantine/run=<run>/part-<seq>.parquet`: refused records with source, position,
//!   reason and raw bytes;
//! - `_ledger/run-<run>.json`: one file per run, `running` until it finishes;
//! - `_scratch/<session>/<n>-<table>/*.parquet`: the session tables of a query on a cluster
//!   (`engine::scratch`), deleted when it ends; [`compact`] deletes leftovers a day old.
//!
//! Failure modes: any store error is a [`LakeError`] naming the object; files are only ever
//! uploaded whole (a local lake writes a staging name and renames; a bucket gets one upload
//! under the final name, which GCS shows only when complete) and only a commit makes them
//! visible, so a killed run leaves nothing half-done for readers.

pub mod columns;
pub mod compact;
pub mod dedup;
pub mod ledger;
pub mod log;
pub mod reader;
pub mod schema;
pub mod signatures;
pub mod store;
pub mod writer;

/// The folder below the lake root of the session tables of queries on a cluster.
pub const SCRATCH: &str = "_scratch";

pub use store::Lake;

/// Errors from reading or writing the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("cannot use lake {location}: {source}")]
    Io {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("lake {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: object_store::Error,
    },
    #[error("lake {location}: '{scheme}://' lakes are not supported; use a directory or gs://")]
    Unsupported { location: String, scheme: String },
    #[error("lake {location} does not exist: run `gardener ingest SOURCE --lake {location}` first")]
    Missing { location: String },
    #[error("lake {0}")]
    Remote(String),
    #[error(
        "lake {location} was signed by miner version {found}; this gardener signs with version {current} and will not mix the two: ingest into a new lake"
    )]
    MinerVersion {
        location: String,
        found: String,
        current: &'static str,
    },
    #[error(
        "lake {location}: the upload came out {found} bytes, not {expected}; nothing was published under that name"
    )]
    Verify {
        location: String,
        expected: u64,
        found: u64,
    },
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("preparing rows for {path}: {source}")]
    Arrow {
        path: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("encoding {path}: {detail}")]
    Task { path: String, detail: String },
    #[error("ledger {path}: {detail}")]
    Ledger { path: String, detail: String },
    #[error(
        "lake file {path}: column {column} is not what the lake holds (found {found}); move the file out of the lake or rewrite it with the lake's schema"
    )]
    Schema {
        path: String,
        column: String,
        found: String,
    },
}
