//! log-gardener: streams Google Cloud Logging exports into a Parquet lake, gives every
//! message a stable signature, answers with SQL, and writes the weekly triage report.
//!
//! # Layout
//!
//! The modules mirror the data flow, one direction only:
//!
//! ```text
//! source ──► decode::frame ──► ingest::stage ──────────────────────► lake::writer ──► lake::log
//!                              (decode::entry, signature::mask,     (per day, sorted)  (commit)
//!                               dedup key, Arrow row per record)
//! lake/logs ──► signature::cluster ──► lake/signatures/<version> (after every commit)
//! lake ──► engine (DataFusion, sql/) ──► query results ──► report (md, json, html)
//! ```
//!
//! Imports run downward only, layer by layer (`tests/it/layers.rs` fails on an edge that
//! runs upward): `common` < `range` < `source`, `decode`, `signature` < `lake` < `ingest`,
//! `engine` < `report`, `synth` < `cli`.
//!
//! - [`common`]: leaf helpers every stage shares: times and days, the severity table,
//!   numbers for people, the GCS client and its credential rules.
//! - [`source`]: where bytes come from (files, directories, globs, stdin, `gs://` objects
//!   through object_store), gzip, and which sink date folders a time range can skip.
//! - [`range`]: `--since/--until/--now` as the user writes them, resolved to UTC nanoseconds.
//! - [`decode`]: framing records out of the byte stream ([`decode::frame`]), the LogEntry
//!   model and its normalization ([`decode::entry`], each record read in one pass by the
//!   JSON cursor [`decode::json`]), quarantine reasons.
//! - [`signature`]: masking a message into its shape (per line), clustering shapes into
//!   templates (over the distinct shapes), stable signature ids, the Loghub metrics.
//! - [`lake`]: the Arrow schema, deduplication, partitioned Parquet writing, the commit log
//!   that makes files visible to readers and keeps concurrent writers exact (local directory
//!   or GCS bucket), the quarantine files, the run ledger and the signatures tables.
//! - [`engine`]: the DataFusion session over a lake (`logs`, `signatures`), time ranges that
//!   prune `dt=` partitions, the named queries of `sql/`, output formats; with the `cluster`
//!   feature, the same session on a Ballista cluster and the cluster's roles
//!   (`engine::cluster`).
//! - [`report`]: the triage report: named queries in; issues (each signature's problem
//!   rows) with priorities, impact, samples, links and bursts, grouped into incidents (root
//!   causes with their effects) out, as Markdown, JSON or HTML.
//! - [`ingest`]: the pipeline wiring sources, the per-core stage ([`ingest::stage`]: decode,
//!   sign, key, build Arrow rows) and the writer with bounded channels; the run summary.
//! - [`synth`]: deterministic generators of realistic exports for demos and tests.
//! - [`cli`]: the clap definitions; `main.rs` only parses and dispatches.
//!
//! The `engine` feature (default) brings DataFusion: `cli`, `report` and all of `engine` but
//! its named queries need it. Without it the library is the input paths alone, which is
//! what the fuzz targets (`fuzz/`) build; `cluster` (default) adds Ballista.
//!
//! The workspace's second crate, `crates/planning`, holds what runs once per query rather
//! than per row and calls generic code of DataFusion and Ballista: entering the SQL planner,
//! and Ballista's scheduler and executor processes. It exists for build time (it compiles at
//! opt-level 1, where rustc reuses those crates' instances; here that code was two thirds
//! of the library's LLVM IR, at opt-level 3): see its crate doc.
//!
//! Errors are `thiserror` enums per module with the input named in each message; `anyhow`
//! appears only in `main.rs`.
//!
//! # Boxed entry points
//!
//! The async functions that `main.rs` and the tests call (an ingest run, compaction and
//! pruning, opening the engine and querying it, gathering the report, the cluster roles)
//! return a [`futures::future::BoxFuture`] made here. An `async fn`'s body is compiled in
//! every crate that polls it, and with it everything it awaits: DataFusion's SQL planner,
//! generic over the session it plans in, was compiled at opt-level 3 in this library, in the
//! binary and in the test binary (docs/BENCHMARKS.md, "CI under 20 minutes"). Boxed, it is
//! compiled once, here. The box costs one allocation per call of these.

#[cfg(feature = "engine")]
pub mod cli;
pub mod common;
pub mod decode;
pub mod engine;
pub mod ingest;
pub mod lake;
pub mod range;
#[cfg(feature = "engine")]
pub mod report;
pub mod signature;
pub mod source;
pub mod synth;
