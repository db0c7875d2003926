//! Deduplication keys: an entry is the same entry when (`log_name`, `insert_id`, `timestamp`)
//! match, as Cloud Logging itself deduplicates. Entries without an `insertId` (hand-made
//! exports) fall back to the message text in place of the id.
//!
//! Keys are 128-bit xxh3 hashes (16 bytes per row held in memory during a run); the keys of
//! rows already in the lake are read back from the committed files of each day the run
//! touches (see [`super::log`]), never from files a commit does not name.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::Array;
use xxhash_rust::xxh3::xxh3_128;

use super::columns::Columns;
use super::reader::scan_files;
use super::{Lake, LakeError};

/// A set of keys. Keys are xxh3 hashes already, so the set takes their bits as the hash
/// instead of hashing them again (SipHash on every row's key was 2% of ingest's CPU).
pub type KeySet = HashSet<u128, BuildHasherDefault<KeyHasher>>;

/// The [`KeySet`] hasher: a `u128` key folded to 64 bits.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }

    /// Only `u128`s are hashed here; other input still hashes, eight bytes at a time.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }
}

/// The dedup key of one entry: xxh3-128 of its parts, joined in a buffer kept per thread
/// and hashed at once (the streaming hasher, fed the same bytes, gives the same key but
/// copies every part into its own block buffer first: 1.4% of ingest's instructions).
pub fn key(log_name: Option<&str>, insert_id: Option<&str>, timestamp: i64, message: &str) -> u128 {
    thread_local! {
        static PARTS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    PARTS.with_borrow_mut(|parts| {
        parts.clear();
        parts.extend_from_slice(log_name.unwrap_or("").as_bytes());
        match insert_id {
            Some(id) => {
                parts.extend_from_slice(b"\x1fi");
                parts.extend_from_slice(id.as_bytes());
            }
            None => {
                parts.extend_from_slice(b"\x1fm");
                parts.extend_from_slice(message.as_bytes());
            }
        }
        parts.push(0x1f);
        parts.extend_from_slice(&timestamp.to_le_bytes());
        xxh3_128(parts)
    })
}

/// Keys of every row in `files` (objects of the lake).
pub async fn keys_of_files(
    lake: &Lake,
    files: &[object_store::path::Path],
) -> Result<KeySet, LakeError> {
    let mut keys = KeySet::default();
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

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_key_hashes_by_both_of_its_halves() {
        let hasher = BuildHasherDefault::<KeyHasher>::default();
        let k = key(Some("projects/p/logs/x"), Some("id-1"), 1, "m");
        assert_ne!(hasher.hash_one(k), hasher.hash_one(k ^ 1));
        assert_ne!(hasher.hash_one(k), hasher.hash_one(k ^ (1 << 100)));
        let set: KeySet = [k, k ^ 1].into_iter().collect();
        assert!(set.contains(&k) && set.contains(&(k ^ 1)) && !set.contains(&(k ^ 2)));
    }

    /// Lakes written before keep their keys: the parts hashed at once give what the
    /// streaming hasher gave them, for ids and for messages, short and past its blocks.
    #[test]
    fn keys_are_the_streamed_hash_of_their_parts() {
        let streamed = |log: Option<&str>, id: Option<&str>, ts: i64, msg: &str| {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(log.unwrap_or("").as_bytes());
            match id {
                Some(id) => {
                    h.update(b"\x1fi");
                    h.update(id.as_bytes());
                }
                None => {
                    h.update(b"\x1fm");
                    h.update(msg.as_bytes());
                }
            }
            h.update(b"\x1f");
            h.update(&ts.to_le_bytes());
            h.digest128()
        };
        let long = "x".repeat(700);
        for (log, id, ts, msg) in [
            (
                Some("projects/p/logs/run"),
                Some("64f0c1a2000b3e5a1c7d9f12"),
                1,
                "m",
            ),
            (None, None, -5, ""),
            (Some("projects/p/logs/x"), None, i64::MAX, long.as_str()),
            (Some(long.as_str()), Some(long.as_str()), 0, "ignored"),
        ] {
            assert_eq!(
                key(log, id, ts, msg),
                streamed(log, id, ts, msg),
                "{log:?} {id:?}"
            );
        }
    }
}
