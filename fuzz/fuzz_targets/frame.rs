//! The framers (gcloud array, NDJSON, JSON streams, lines, gzip) and the decode stage behind
//! them, on any bytes. The input's last byte picks the read, chunk and record sizes, so a
//! seed file is framed nearly whole.
#![no_main]

#[allow(dead_code)] // each target checks some of the statements
#[path = "../../tests/it/invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_last() else {
        return;
    };
    let read_size = 1 + usize::from(knobs & 0x1f);
    let chunk_bytes = 1 + usize::from(knobs >> 5) * 97;
    let max_record = 8 + usize::from(knobs);
    let checks = [
        invariants::framing(input, read_size, chunk_bytes),
        invariants::accounting(input, read_size, max_record),
        invariants::accounting(input, read_size, input.len() + 1),
        invariants::gzip_transparent(input, read_size),
        invariants::gzip_corrupt(input, read_size),
    ];
    invariants::hold(checks);
});
