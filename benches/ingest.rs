//! Placeholder until the ingest benchmark lands; `make bench` documents the figures.
fn main() {}
