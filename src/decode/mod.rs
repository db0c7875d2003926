//! From bytes to records: framing ([`frame`]), the LogEntry model and its normalization
//! ([`entry`], which reads each record in one pass with [`json`]), and the reasons a record
//! is refused ([`quarantine`]). Times and severities are in [`crate::common`]; turning
//! records into the lake's rows (signing, keys, Arrow) is the ingest stage's job
//! ([`crate::ingest::stage`]).

pub mod entry;
pub mod frame;
pub mod json;
pub mod quarantine;
