//! `--param NAME=VALUE` substitution into the named queries and into any SQL text.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    query: u8,
    values: BTreeMap<String, String>,
    sql: String,
}

fuzz_target!(|input: Input| {
    let checks = [
        invariants::named_params(usize::from(input.query), &input.values),
        invariants::params(&input.sql, &input.values),
    ];
    invariants::hold(checks);
});
