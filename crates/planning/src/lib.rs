//! The parts of log-gardener that run once per query, not per row, in a crate compiled at
//! opt-level 1 (the root Cargo.toml): DataFusion's SQL planner entered ([`sql`]) and, with
//! the `cluster` feature, Ballista's scheduler and executor processes ([`cluster`]).
//!
//! Why a crate: what these call is generic code of DataFusion and Ballista (or async
//! functions, which compile like generic ones), and rustc compiles such code in the crate
//! that uses it, at that crate's optimization level. Used from the library, it made two
//! thirds of the library's LLVM IR (3.1 M lines; 1.4 M without it, `cargo llvm-lines`), all
//! at opt-level 3, and the library's build was the longest step of the build's critical
//! path (137 s after a change to it; 51 s without). At opt-level 1 rustc reuses the
//! instances DataFusion's and Ballista's crates (also at opt-level 1) compiled, so this crate
//! builds in seconds. Nothing here runs per row: planning takes milliseconds either way.

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod sql;
