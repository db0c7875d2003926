//! Signatures: the `gardener mine` CLI, determinism under shuffles, splits and threads, and
//! the worklog's Cloud Run messages.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::Stdio;

use common::gardener;
use log_gardener::signature::{mine, signature_id};

#[test]
fn mine_writes_csv_in_input_order() {
    let mut child = gardener()
        .args(["mine", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Accepted password for root from 10.0.0.1 port 22\nbad \xff byte, said \"x\"\nAccepted password for root from 10.0.0.2 port 4022\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let mut rows = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        rows.headers().expect("header").iter().collect::<Vec<_>>(),
        ["line_id", "signature_id", "template"]
    );
    let rows: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][0], "1");
    assert_eq!(rows[0][2], "Accepted password for root from <*> port <*>");
    assert_eq!(rows[0][1], rows[2][1]);
    assert_eq!(rows[0][1], signature_id(&rows[0][2]));
    assert!(
        rows[1][2].contains('\u{fffd}'),
        "invalid UTF-8 replaced: {:?}",
        rows[1][2]
    );
}

/// A deterministic shuffle (no RNG crate needed for a permutation).
fn shuffled<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let mut x = seed | 1;
    for i in (1..idx.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        idx.swap(i, (x % (i as u64 + 1)) as usize);
    }
    idx.into_iter().map(|i| v[i].clone()).collect()
}

#[test]
fn templates_do_not_depend_on_order_or_threads() {
    let mut lines = Vec::new();
    for i in 0..400 {
        lines.push(format!(
            "Invalid user u{} from 10.0.{}.{} port {}",
            i % 37,
            i % 7,
            i % 250,
            1000 + i
        ));
        lines.push(format!(
            "Connection closed by 10.1.{}.{} [preauth]",
            i % 9,
            i % 200
        ));
        lines.push(format!(
            "session opened for user {} by (uid={})",
            ["root", "news", "cyrus", "test"][i % 4],
            i
        ));
        lines.push(format!(
            "worker {} finished job {} in {}ms",
            i % 3,
            i,
            i * 7
        ));
    }
    let reference: HashMap<String, String> = lines.iter().cloned().zip(mine(&lines, 1)).collect();
    for seed in [1, 7, 42] {
        let order = shuffled(&lines, seed);
        for threads in [1, 2, 3] {
            let got = mine(&order, threads);
            for (line, t) in order.iter().zip(&got) {
                assert_eq!(
                    &reference[line], t,
                    "{line} (seed {seed}, {threads} threads)"
                );
            }
        }
    }
}
