//! `--since`/`--until`/`--now` values: an error naming the flag or a time, never a panic;
//! spans count back exactly.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use log_gardener::range::{RangeSpec, TimeRange};

#[derive(Debug, Arbitrary)]
struct Input {
    value: String,
    now: i64,
    spec: (Option<String>, Option<String>, Option<String>),
    newest: Option<i64>,
}

fuzz_target!(|input: Input| {
    invariants::hold([invariants::range_value(&input.value, input.now)]);
    let (since, until, now) = input.spec;
    if let Ok(range) = (RangeSpec { since, until, now }).resolve(input.newest) {
        // The bounds as SQL literals (the `query_range` view) and a file's test against them.
        let _ = (
            TimeRange::sql_bound(range.since),
            TimeRange::sql_bound(range.until),
            range.covers(input.now, input.now.saturating_add(1)),
        );
    }
});
