//! The LogEntry decoder, its JSON cursor and compaction (against serde_json) and its RFC
//! 3339 parser, on any record.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut checks = vec![
        invariants::decode_record(data),
        invariants::json_validity(data),
        invariants::json_compacts(data),
    ];
    if let Ok(text) = std::str::from_utf8(data) {
        checks.push(invariants::time_text(text.trim()));
    }
    if let Some(bytes) = data.first_chunk::<8>() {
        checks.push(invariants::time_instant(i64::from_le_bytes(*bytes)));
    }
    invariants::hold(checks);
});
