//! Leaf helpers every stage shares: times and days ([`time`]), the severity table
//! ([`severity`]), numbers for people ([`numbers`]), the GCS client with its credential
//! rules ([`gcs`]) and stop signals ([`signals`]). Nothing here imports another module of the crate, so any stage may use
//! it without an arrow running upward.

pub mod gcs;
pub mod numbers;
pub mod severity;
pub mod signals;
pub mod time;
