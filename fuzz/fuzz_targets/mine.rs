//! Masking and mining on any messages (the input split at 0x1E, the record separator):
//! masking is idempotent and each template matches the shapes of its messages.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let messages: Vec<&str> = text.split('\u{1e}').collect();
    invariants::hold(messages.iter().map(|m| invariants::shape_idempotent(m)));
    invariants::hold([invariants::templates_match(&messages)]);
});
