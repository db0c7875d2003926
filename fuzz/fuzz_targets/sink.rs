//! The sink layout's date folders and hourly file names: a file or folder that can hold an
//! entry inside the range is never skipped; any path is judged without a panic.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use log_gardener::range::TimeRange;
use log_gardener::source::sink;

#[derive(Debug, Arbitrary)]
struct Input {
    log_id: Vec<String>,
    t: i64,
    since: Option<i64>,
    until: Option<i64>,
    path: String,
}

fuzz_target!(|input: Input| {
    let range = TimeRange {
        since: input.since,
        until: input.until,
    };
    let parts: Vec<&str> = input.path.split('/').collect();
    sink::folder_may_match(&parts, &range);
    sink::file_may_match(&parts, &range);
    // A log's folders are names (`run.googleapis.com/stderr`): a log id whose last folders
    // read as a date is outside what the layout can tell apart.
    let named =
        |c: &String| !c.is_empty() && !c.contains('/') && !c.bytes().all(|b| b.is_ascii_digit());
    if input.log_id.iter().all(named) {
        let (t, since, until) = (input.t, input.since, input.until);
        invariants::hold([invariants::sink_keeps(&input.log_id, t, since, until)]);
    }
});
