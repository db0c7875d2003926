//! The integration tests, in one binary: DataFusion is linked once, not once per file
//! (each link was 0.5-1 GB of disk and a minute of build).
//!
//! Run one module with `cargo test --test it report::`, as `make test` runs them all.

mod analytics;
mod cluster;
mod common;
mod crash;
mod gcs;
mod ingest_inputs;
mod ingest_lake;
mod ingest_signatures;
mod invariants;
mod layers;
mod live_lake;
mod loghub_accuracy;
mod props;
mod query_cli;
mod report;
mod signatures;
mod sqllogictests;
