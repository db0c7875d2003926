//! The DataFusion session over a lake: tables `logs` (every lake column plus
//! `signature_id` and `template`), `signatures`, `shapes` and `query_range` (the resolved
//! `--since`/`--until`, NULL when open), the JSON functions of `datafusion-functions-json`,
//! the significance functions of [`stats`], `id_hash` ([`keys`]), named queries from `sql/`,
//! and output formats. Strings read as `Utf8View`.
//!
//! A query that reads neither `signature_id` nor `template` skips the view's join to
//! `shapes` (`unused_join`).
//!
//! `--since`/`--until` restrict `logs` by `timestamp` and by the `dt=` partition, so the
//! files of other days are never opened (EXPLAIN shows the pruned file list).
//!
//! Failure modes: an empty or missing lake, a bad time, an unknown named query or a missing
//! parameter are [`EngineError`]s saying what to do; SQL errors keep DataFusion's message,
//! which gives the line and column. Statements that write or change state are refused unless
//! the caller allows them.

#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(feature = "engine")]
pub mod keys;
pub mod named;
#[cfg(feature = "engine")]
pub mod output;
#[cfg(feature = "engine")]
pub mod scratch;
#[cfg(feature = "engine")]
mod session;
#[cfg(feature = "engine")]
pub mod stats;
#[cfg(feature = "engine")]
pub mod table;
#[cfg(feature = "engine")]
mod unused_join;

#[cfg(feature = "cluster")]
pub(crate) use session::register_functions;
#[cfg(feature = "engine")]
pub use session::{Engine, Execution, MEMORY_LIMIT};

pub use crate::range::TimeRange;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("lake {lake} has no rows yet: run `gardener ingest SOURCE --lake {lake}` first")]
    EmptyLake { lake: String },
    /// DataFusion's own message (it already names the SQL line and column); the nested
    /// errors are not repeated.
    #[cfg(feature = "engine")]
    #[error("{}", .0.find_root().message())]
    DataFusion(datafusion::error::DataFusionError),
    #[error(
        "this statement writes or changes state ({detail}); queries are read-only unless --allow-write"
    )]
    ReadOnly { detail: String },
    #[error("{0}")]
    Usage(String),
    /// The cluster cancelled every run of the query (see `session::collect_on`).
    #[error(
        "{cluster} cancelled the query {attempts} times: its executors were lost, or none is \
         registered (the scheduler's log says which); start `gardener cluster executor \
         --scheduler HOST:PORT`, then run the query again"
    )]
    ClusterCancelled { cluster: String, attempts: usize },
    /// A `SET` or `RESET` DataFusion refused: an unknown option or a value of the wrong type.
    #[error("setting {variable}: {detail}")]
    Setting { variable: String, detail: String },
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Range(#[from] crate::range::RangeError),
}

#[cfg(feature = "engine")]
impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        EngineError::DataFusion(e)
    }
}
