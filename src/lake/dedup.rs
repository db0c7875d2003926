//! Deduplication keys: an entry is the same entry when (`log_name`, `insert_id`, `timestamp`)
//! match, as Cloud Logging itself deduplicates. Entries without an `insertId` (hand-made
//! exports) fall back to the message text in place of the id.
//!
//! Keys are 128-bit xxh3 hashes (16 bytes per row held in memory during a run); the keys of
//! rows already in the lake are read back from the committed files of each day the run
//! touches (see [`super::log`]), never from files a commit does not name.

use std::collections::HashSet;

use arrow::array::Array;
use xxhash_rust::xxh3::Xxh3;

use super::columns::Columns;
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
    scan_files(lake, files, Some(&KEY_COLUMNS), |cols| {
        keys.extend(batch_keys(cols)?);
        Ok(())
    })
    .await?;
    Ok(keys)
}

/// The columns a key is made of.
pub const KEY_COLUMNS: [&str; 4] = ["timestamp", "log_name", "insert_id", "message"];

/// The key of each row of a batch with the [`KEY_COLUMNS`]; a file that lacks one of them
/// is an error, not a file without keys (its rows would come back as new ones).
pub fn batch_keys(cols: Columns<'_>) -> Result<Vec<u128>, LakeError> {
    let ts = cols.timestamps("timestamp")?;
    let (log, id, msg) = (
        cols.strings("log_name")?,
        cols.strings("insert_id")?,
        cols.strings("message")?,
    );
    Ok((0..cols.batch.num_rows())
        .map(|i| {
            let log = log.is_valid(i).then(|| log.value(i));
            let id = id.is_valid(i).then(|| id.value(i));
            key(log, id, ts.value(i), msg.value(i))
        })
        .collect())
}
