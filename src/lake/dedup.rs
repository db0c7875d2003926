//! Deduplication keys: an entry is the same entry when (`log_name`, `insert_id`, `timestamp`)
//! match, as Cloud Logging itself deduplicates. Entries without an `insertId` (hand-made
//! exports) fall back to the message text in place of the id.
//!
//! Keys are 128-bit xxh3 hashes (16 bytes per row held in memory during a run); the keys of
//! rows already in the lake are read back from the committed files of each day the run
//! touches (see [`super::log`]), never from files a commit does not name.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampNanosecondType;
use xxhash_rust::xxh3::Xxh3;

use super::reader::scan_files;
use super::{Lake, LakeError};

/// The dedup key of one entry.
pub fn key(log_name: Option<&str>, insert_id: Option<&str>, timestamp: i64, message: &str) -> u128 {
    let mut h = Xxh3::new();
    h.update(log_name.unwrap_or("").as_bytes());
    match insert_id {
        Some(id) => {
            h.update(b"\x1fi");
            h.update(id.as_bytes());
        }
        None => {
            h.update(b"\x1fm");
            h.update(message.as_bytes());
        }
    }
    h.update(b"\x1f");
    h.update(&timestamp.to_le_bytes());
    h.digest128()
}

/// Keys of every row in `files` (objects of the lake).
pub async fn keys_of_files(
    lake: &Lake,
    files: &[object_store::path::Path],
) -> Result<HashSet<u128>, LakeError> {
    let mut keys = HashSet::new();
    scan_files(lake, files, Some(&KEY_COLUMNS), |batch| {
        keys.extend(batch_keys(batch))
    })
    .await?;
    Ok(keys)
}

/// The columns a key is made of.
pub const KEY_COLUMNS: [&str; 4] = ["timestamp", "log_name", "insert_id", "message"];

/// The key of each row of a batch with the [`KEY_COLUMNS`] (empty if one is missing).
pub fn batch_keys(batch: &RecordBatch) -> Vec<u128> {
    let mut out = Vec::with_capacity(batch.num_rows());
    add_batch_keys(batch, &mut out);
    out
}

fn add_batch_keys(batch: &RecordBatch, keys: &mut Vec<u128>) {
    let (Some(ts), Some(log), Some(id), Some(msg)) = (
        batch.column_by_name("timestamp"),
        batch.column_by_name("log_name"),
        batch.column_by_name("insert_id"),
        batch.column_by_name("message"),
    ) else {
        return;
    };
    let ts = ts.as_primitive::<TimestampNanosecondType>();
    let (log, id, msg) = (
        log.as_string::<i32>(),
        id.as_string::<i32>(),
        msg.as_string::<i32>(),
    );
    for i in 0..batch.num_rows() {
        let log = log.is_valid(i).then(|| log.value(i));
        let id = id.is_valid(i).then(|| id.value(i));
        keys.push(key(log, id, ts.value(i), msg.value(i)));
    }
}
