//! Property tests: arbitrary bytes through framing and decoding never panic and never lose a
//! count, whatever the read and chunk sizes.

use std::sync::Arc;

use log_gardener::decode::frame::{Chunk, FrameOptions, Framer};
use log_gardener::ingest::stage::decode_chunk;
use proptest::prelude::*;

fn frame_all(input: &[u8], read_size: usize, chunk_bytes: usize, max_record: usize) -> Vec<Chunk> {
    let opts = FrameOptions {
        read_size,
        chunk_bytes,
        max_record,
        interactive: false,
    };
    let mut f = Framer::new(input, opts);
    let mut chunks = Vec::new();
    while let Some(c) = f.next_chunk().expect("reading a slice cannot fail") {
        chunks.push(c);
    }
    chunks
}

/// Bytes framing may drop: whitespace, array punctuation, a byte-order mark.
fn droppable(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'[' | b']' | b',' | 0xEF | 0xBB | 0xBF)
}

/// Input that looks like log exports: fragments of entries, structure and garbage.
fn loggy() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"{\"timestamp\":\"2025-09-12T03:46:13.957993Z\",\"textPayload\":\"ok\"}".to_vec()),
        Just(b"{\"insertId\":\"a\",\"timestamp\":\"2025-09-12T03:46:13Z\",\"jsonPayload\":{\"message\":\"m\"}}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\n  ".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn framing_keeps_every_byte_and_ignores_read_sizes(
        input in prop_oneof![loggy(), proptest::collection::vec(any::<u8>(), 0..600)],
        read_size in 1usize..64,
        chunk_bytes in 1usize..256,
    ) {
        let a = frame_all(&input, read_size, chunk_bytes, 1 << 20);
        let b = frame_all(&input, 1 << 16, 1 << 20, 1 << 20);
        let records = |cs: &[Chunk]| -> Vec<(u64, u64, Vec<u8>)> {
            cs.iter()
                .flat_map(|c| c.spans.iter().map(|s| (s.offset, s.line, c.record(s).to_vec())))
                .collect()
        };
        prop_assert_eq!(records(&a), records(&b));
        // Every byte outside a record is whitespace or structure: nothing vanishes.
        let mut covered = vec![false; input.len()];
        for c in &a {
            for s in &c.spans {
                let start = s.offset as usize;
                let len = s.end - s.start;
                prop_assert_eq!(&input[start..start + len], c.record(s));
                covered[start..start + len].iter_mut().for_each(|x| *x = true);
            }
        }
        for (i, &b) in input.iter().enumerate() {
            prop_assert!(covered[i] || droppable(b), "byte {} ({:?}) lost", i, b as char);
        }
    }

    #[test]
    fn decoding_accounts_for_every_record(
        input in prop_oneof![loggy(), proptest::collection::vec(any::<u8>(), 0..600)],
        max_record in 8usize..200,
    ) {
        let source: Arc<str> = "prop".into();
        for chunk in frame_all(&input, 7, 64, max_record) {
            let d = decode_chunk(&chunk, &source);
            prop_assert_eq!(d.records, chunk.spans.len() as u64);
            prop_assert_eq!(d.records, d.batch.num_rows() as u64 + d.quarantined.len() as u64);
            prop_assert_eq!(d.keys.len(), d.batch.num_rows());
            prop_assert_eq!(d.days.len(), d.batch.num_rows());
        }
    }

    #[test]
    fn ndjson_lines_are_records(lines in proptest::collection::vec("[^\n]{0,40}", 0..50)) {
        let text = lines.join("\n");
        let blank = |l: &str| l.bytes().all(|b| b.is_ascii_whitespace());
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let first = body.bytes().find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if matches!(first, Some(b'{' | b'[')) {
            return Ok(()); // a JSON stream or array, covered by the tests above
        }
        let chunks = frame_all(text.as_bytes(), 5, 32, 1 << 20);
        let records: usize = chunks.iter().map(|c| c.spans.len()).sum();
        let blanks: u64 = chunks.iter().map(|c| c.blank_lines).sum();
        // A leading byte-order mark is encoding, not content.
        let lines: Vec<&str> = if lines.is_empty() { Vec::new() } else { body.split('\n').collect() };
        let non_blank = lines.iter().filter(|l| !blank(l)).count();
        prop_assert_eq!(records, non_blank);
        prop_assert!(blanks as usize <= lines.len() - non_blank);
    }
}
