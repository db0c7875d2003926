//! Property tests: the statements of `invariants.rs` (which the fuzz targets in `fuzz/` also
//! check) over generated input: framing and decoding never panic and never lose a count,
//! whatever the read and chunk sizes; masking, mining, time ranges, sink paths and
//! `--param` values keep their promises.

use proptest::prelude::*;

use super::invariants;

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

/// JSON text: a generated document, compact or pretty, sometimes with one byte dropped or
/// one structural byte put in (most mutants are invalid, a few still valid).
fn json_text() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "(\\PC|[\"\\\\\n\u{1}])*".prop_map(serde_json::Value::from),
    ];
    let doc = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z\"\\\\]{0,4}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let mutation = prop_oneof![
        Just(None),
        (
            any::<proptest::sample::Index>(),
            proptest::option::of(proptest::sample::select(b"{}[]:,\"\\ -.0eEtu".to_vec()))
        )
            .prop_map(Some),
    ];
    (doc, any::<bool>(), mutation).prop_map(|(doc, pretty, mutation)| {
        let text = if pretty {
            serde_json::to_vec_pretty(&doc)
        } else {
            serde_json::to_vec(&doc)
        };
        let mut text = text.unwrap_or_default();
        if let Some((at, byte)) = mutation.filter(|_| !text.is_empty()) {
            let i = at.index(text.len());
            match byte {
                Some(b) => text.insert(i, b),
                None => {
                    text.remove(i);
                }
            }
        }
        text
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![loggy(), proptest::collection::vec(any::<u8>(), 0..600)]
}

/// Message-like text: words, numbers, punctuation, variable markers, newlines.
fn message() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-zA-Z]{1,8}",
        "[0-9]{1,6}",
        "[0-9a-f]{8,16}",
        Just("<*>".to_owned()),
        "[:=,()\\[\\]{};'\"/.<>*|-]{1,3}",
        Just("\n".to_owned()),
        ".{0,4}",
    ];
    proptest::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn framing_keeps_every_byte_and_ignores_read_sizes(
        input in bytes(), read_size in 1usize..64, chunk_bytes in 1usize..256,
    ) {
        prop_assert_eq!(invariants::framing(&input, read_size, chunk_bytes), Ok(()));
    }

    #[test]
    fn gzip_frames_as_its_content(input in bytes(), read_size in 1usize..64) {
        prop_assert_eq!(invariants::gzip_transparent(&input, read_size), Ok(()));
        prop_assert_eq!(invariants::gzip_corrupt(&input, read_size), Ok(()));
    }

    #[test]
    fn decoding_accounts_for_every_record(
        input in bytes(), read_size in 1usize..64, max_record in 8usize..200,
    ) {
        prop_assert_eq!(invariants::accounting(&input, read_size, max_record), Ok(()));
    }

    #[test]
    fn json_is_read_as_serde_json_reads_it(text in prop_oneof![json_text(), loggy()]) {
        prop_assert_eq!(invariants::json_validity(&text), Ok(()));
        prop_assert_eq!(invariants::json_compacts(&text), Ok(()));
    }

    #[test]
    fn ndjson_lines_are_records(lines in proptest::collection::vec("[^\n]{0,40}", 0..50)) {
        prop_assert_eq!(invariants::lines_are_records(&lines), Ok(()));
    }

    #[test]
    fn timestamps_print_and_parse_back(
        t in any::<i64>(),
        text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
    ) {
        prop_assert_eq!(invariants::time_instant(t), Ok(()));
        prop_assert_eq!(invariants::time_text(&text), Ok(()));
        prop_assert_eq!(invariants::decode_record(text.as_bytes()), Ok(()));
    }

    #[test]
    fn templates_match_their_messages(messages in proptest::collection::vec(message(), 1..12)) {
        for m in &messages {
            prop_assert_eq!(invariants::shape_idempotent(m), Ok(()));
        }
        prop_assert_eq!(invariants::templates_match(&messages), Ok(()));
    }

    #[test]
    fn ranges_count_back_exactly(
        value in prop_oneof!["-?[0-9]{1,20}[smhdw]", ".{0,12}"], now in any::<i64>(),
    ) {
        prop_assert_eq!(invariants::range_value(&value, now), Ok(()));
    }

    #[test]
    fn sink_files_in_range_are_read(
        log_id in proptest::collection::vec("[a-z.]{1,12}", 1..3),
        t in any::<i64>(), since in any::<Option<i64>>(), until in any::<Option<i64>>(),
    ) {
        prop_assert_eq!(invariants::sink_keeps(&log_id, t, since, until), Ok(()));
    }

    #[test]
    fn params_fill_literally(
        query in any::<usize>(),
        values in proptest::collection::btree_map("[a-z_]{1,10}", ".{0,12}", 0..6),
        sql in ".{0,40}",
    ) {
        prop_assert_eq!(invariants::named_params(query, &values), Ok(()));
        prop_assert_eq!(invariants::params(&sql, &values), Ok(()));
    }
}

/// Inputs the fuzz targets found (`make fuzz`), each checked by the statement it broke.
#[test]
fn fuzz_findings() {
    // frame: a record that crossed the size limit within one read (12 < 15 bytes, reads of
    // 5) was kept whole, over the limit.
    assert_eq!(
        invariants::accounting(b"{\"a\":1}\n{\"b\":\"0123456\"}\n", 5, 12),
        Ok(())
    );
    // props (found while adding the fuzz targets): a raw newline right after a backslash
    // in a string was not counted, so every later record had the line before its own.
    assert_eq!(
        invariants::framing(b"\n{\"\\\n\n{\"time\":1}\n", 4, 64),
        Ok(())
    );
    // props: masking a shape masked more (`="<*>":" "` -> `="<*>":"<*>"`): the second
    // quoted value opened inside the tokens the first one took.
    assert_eq!(invariants::shape_idempotent("=\" \":\" \""), Ok(()));
    // mine: a free-tail family's template (common prefix, then `<*>`) asked a member that
    // was all prefix for one token more (HPC-like lines, one cut short by a control byte).
    let hpc = [
        "2601401 node-184 action start 1074298390 1 wai wait  (command 2057)",
        "45108 node-93 action start 1076538607813 node-243 action start 1074459063 1 boot  (command 1981)",
        "75035 node-116 action start 1077172847 1 wait  (com\u{fffd}\u{fffd}mand 2217)",
        "64231 node-224 action start 10768\u{1}\0\0\nwait  (command 2199)",
        "61193 node-25 action start 1076865929 1 boo0t  (command 2183)",
        "59888 node-105 action start 1076865608 1 wait  (command 218",
        "61193 node-25 action start 1076865929 1 boot  (command 2183)",
        "106268 node-178 action start 1077739942 1 wait  (command 2302)",
    ];
    assert_eq!(invariants::templates_match(&hpc), Ok(()));
    // frame: a byte-order mark split across the first reads (reads of 1 or 2 bytes: a pipe)
    // was not seen, so NDJSON was framed as lines and its first entry quarantined.
    assert_eq!(
        invariants::framing(b"\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n", 1, 64),
        Ok(())
    );
    // mine: a quote opened on a traceback's first line and one closing its exception line
    // paired up when the shape (both lines joined by ` | `) was masked again.
    assert_eq!(
        invariants::shape_idempotent(
            "u user_id='d79c9b77 in list_threads\n  x\nsqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection to server'"
        ),
        Ok(())
    );
    // mine: the quote closing a value after `:` (`403:'`) was taken for one opening the
    // next value, which then swallowed the rest of the line, double spaces and all.
    assert_eq!(
        invariants::shape_idempotent(
            "session 2 for user_id='service:shop-work Er ror: 403:' foruire  user 'service:shop-worker' op 2"
        ),
        Ok(())
    );
    // mine: a unit after a URL joined it with its closing parenthesis (`hdfs://<*>)`),
    // which masked again lost the parenthesis into the URL.
    assert_eq!(
        invariants::shape_idempotent("Input split: hdfs://10.10.34.11:9000/pjhe/l09 KB) sent"),
        Ok(())
    );
    // decode: the earliest instants printed as text the parser refused (its whole seconds
    // overflowed before the fraction was added).
    invariants::hold([
        invariants::time_instant(-9_223_372_036_854_767_070),
        invariants::time_instant(i64::MIN),
    ]);
    // range: a multi-byte last character panicked (`--since Ð`); a span past the years a
    // timestamp holds wrapped around.
    assert_eq!(
        invariants::range_value("Ð", 940_423_010_085_420_734),
        Ok(())
    );
    assert_eq!(
        invariants::range_value("-9223372036s", 9_000_000_000_000_000_000),
        Ok(())
    );
    // mine: a statement that restates a value in parentheses only sometimes has one
    // template, without the parentheses (Proxifier's `bytes (1.21 KB) sent`).
    let proxifier = [
        "[10.30 16:53:28] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 1248 bytes (1.21 KB) sent, 331 bytes received, lifetime 00:02",
        "[10.30 16:54:18] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
    ];
    assert_eq!(invariants::templates_match(&proxifier), Ok(()));
    // mine: a restatement the cluster merged into `(<*>)` (`(10'2 KB)` masks as
    // `(<*>'<*>)`) was left out of the template like `(<*>)`, but not out of the check.
    let proxifier = [
        "[10.30 16:49:09] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 850 bytes sent, 10547 bytes (10.2 KB) received, lifetime 00:02",
        "[10.30 16:49:09] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 850 bytes sent, 10547 bytes (10'2 KB) received, lifetime 00:02",
        "[10.30 16:49:09] chrome.exe - proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, 0 bytes received, lifetime <1 sec",
    ];
    assert_eq!(invariants::templates_match(&proxifier), Ok(()));
    // mine: of two forms of one statement, the shorter template was chosen although its
    // `<*>:<*>:<*>` did not fit the other's `<*> <*>:<*>` (a mangled clock, Thunderbird).
    let crond = [
        "- 1131566461 2005.11.09 en74 Nov 9 12:01:01 en74/en74 crond(pam_unix)[3080]: session closed for user root",
        "- 1131566461 2005.11.09 en74 Nov 9 12z01:01 en74/en74 crond(pam_unix)[3080]: session closed for user root",
    ];
    assert_eq!(invariants::templates_match(&crond), Ok(()));
}
