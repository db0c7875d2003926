//! Signatures: every message gets its template (variable parts written `<*>`) and a stable id.
//!
//! Two steps, so results do not depend on input order or threads:
//! 1. [`mask`]: per line, stateless and parallel, the *shape* of a message;
//! 2. [`cluster`]: over the distinct shapes, shapes that differ in a few tokens become one
//!    template.
//!
//! The signature id is a hash of the template text: the same on every run and machine, and
//! across miner versions for every template a new version still makes (an alert or a known
//! issue keyed on an id survives an upgrade unless its statement's template changed).
//! Change [`MINER_VERSION`] whenever masking or clustering changes: a lake refuses rows
//! signed by another version. [`accuracy`] implements the Loghub metrics (GA, PA, FGA, FTA)
//! and the generalization harness used to measure all this.

pub mod accuracy;
pub mod cluster;
pub mod mask;

use std::io::{Read, Write};

use nohash_hasher::IntMap;
use xxhash_rust::xxh3::xxh3_64;

/// Version of the masking and clustering rules, recorded in the signatures tables.
pub const MINER_VERSION: &str = "4";

/// Salt of every signature id. Frozen: it was the miner version when ids were first
/// written; changing it would change every id.
const ID_NAMESPACE: &str = "2";

/// The stable id of a template: 16 hex digits.
pub fn signature_id(template: &str) -> String {
    let mut bytes = Vec::with_capacity(template.len() + 4);
    bytes.extend_from_slice(ID_NAMESPACE.as_bytes());
    bytes.push(0x1f);
    bytes.extend_from_slice(template.as_bytes());
    format!("{:016x}", xxh3_64(&bytes))
}

/// The id of a shape (step 1's output): its 64-bit hash, as the Int64 the lake stores
/// (an integer key makes the join to `shapes` in every query cheap).
pub fn shape_id(shape: &str) -> i64 {
    xxh3_64(shape.as_bytes()) as i64
}

/// Most messages repeat verbatim (health checks, fixed warnings): shapers remember the
/// shapes of recent messages, keyed by a 64-bit hash of the message, and forget them all
/// when they hold this many, so memory stays bounded whatever the input.
const RECENT_MESSAGES: usize = 1 << 16;

/// What [`shape_cached`] remembers on a thread: the shape id of each recent message, and
/// the text of each shape. Shapes are hundreds where messages are hundreds of thousands:
/// a `String` per cached message (and a slot of 40 bytes, now 16) cost the storefront
/// export's ingest 4% of its time.
#[derive(Default)]
struct ShapeCache {
    recent: IntMap<u64, i64>,
    /// Keyed by shape id (a hash already).
    shapes: IntMap<u64, String>,
}

thread_local! {
    static SHAPE_CACHE: std::cell::RefCell<ShapeCache> =
        std::cell::RefCell::new(ShapeCache::default());
}

/// Inserts into a cache of recent messages, emptying it first when it is full.
fn remember<V>(cache: &mut IntMap<u64, V>, key: u64, value: V) {
    if cache.len() >= RECENT_MESSAGES {
        cache.clear();
    }
    cache.insert(key, value);
}

/// The shape of `msg`, written into `shape`, and its id; cached per thread (for ingest,
/// which needs the shape text of every row).
pub fn shape_cached(msg: &str, shape: &mut String) -> i64 {
    let key = xxh3_64(msg.as_bytes());
    SHAPE_CACHE.with_borrow_mut(|cache| {
        if let Some(&id) = cache.recent.get(&key)
            && let Some(text) = cache.shapes.get(&(id as u64))
        {
            shape.clone_from(text);
            return id;
        }
        mask::shape_into(msg, shape);
        let id = shape_id(shape);
        if !cache.shapes.contains_key(&(id as u64)) {
            remember(&mut cache.shapes, id as u64, shape.clone());
        }
        remember(&mut cache.recent, key, id);
        id
    })
}

/// Shapes messages on one thread and numbers the distinct shapes it meets.
#[derive(Default)]
struct Shaper {
    /// Message hash -> index of its shape, for recent messages.
    recent: IntMap<u64, u32>,
    /// Shape hash -> index into `shapes`. Shapes are known by their 64-bit hash here as in
    /// the lake (`shape_id`); among a million distinct shapes a collision has odds of
    /// about 3 in 100 million.
    index: IntMap<u64, u32>,
    /// Distinct shapes with their hashes, in the order met.
    shapes: Vec<(u64, String)>,
    buf: String,
}

impl Shaper {
    fn add(&mut self, msg: &str) -> u32 {
        let key = xxh3_64(msg.as_bytes());
        if let Some(&i) = self.recent.get(&key) {
            return i;
        }
        mask::shape_into(msg, &mut self.buf);
        let hash = xxh3_64(self.buf.as_bytes());
        let shapes = &mut self.shapes;
        let buf = &self.buf;
        let i = *self.index.entry(hash).or_insert_with(|| {
            shapes.push((hash, buf.clone()));
            (shapes.len() - 1) as u32
        });
        remember(&mut self.recent, key, i);
        i
    }
}

/// The distinct shapes of a batch and, per message, the index of its shape.
struct Shaped {
    shapes: Vec<String>,
    of_line: Vec<u32>,
}

/// Step 1 over a batch, on `threads` threads (0: all cores), in contiguous parts merged in
/// input order.
fn shape_all<S: AsRef<str> + Sync>(messages: &[S], threads: usize) -> Shaped {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    let per = messages.len().div_ceil(threads).max(1);
    let parts: Vec<(Shaper, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    let mut shaper = Shaper::default();
                    let local: Vec<u32> = part.iter().map(|m| shaper.add(m.as_ref())).collect();
                    (shaper, local)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut index: IntMap<u64, u32> = IntMap::default();
    let mut shapes: Vec<String> = Vec::new();
    let mut of_line = Vec::with_capacity(messages.len());
    for (shaper, local) in parts {
        let remap: Vec<u32> = shaper
            .shapes
            .into_iter()
            .map(|(hash, s)| {
                *index.entry(hash).or_insert_with(|| {
                    shapes.push(s);
                    (shapes.len() - 1) as u32
                })
            })
            .collect();
        of_line.extend(local.into_iter().map(|i| remap[i as usize]));
    }
    Shaped { shapes, of_line }
}

/// Step 2: the template of every distinct shape, weighted by its lines.
fn templates_of(shaped: &Shaped, cfg: &cluster::Config) -> Vec<String> {
    let refs: Vec<&str> = shaped.shapes.iter().map(String::as_str).collect();
    let mut rows = vec![0u64; refs.len()];
    for &i in &shaped.of_line {
        rows[i as usize] += 1;
    }
    cluster::cluster_with(&refs, &rows, cfg)
}

/// `gardener mine`: messages one per line in (invalid UTF-8 replaced), CSV
/// `line_id,signature_id,template` out, in input order.
pub fn mine_csv(mut input: impl Read, output: impl Write, threads: usize) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let shaped = shape_all(&lines, threads);
    // `,signature_id,template\n` of each shape, quoted once; a line adds only its number.
    let mut tails = Vec::with_capacity(shaped.shapes.len());
    for template in templates_of(&shaped, &cluster::Config::default()) {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["", signature_id(&template).as_str(), template.as_str()])?;
        tails.push(csv.into_inner().map_err(|e| e.into_error())?);
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    out.write_all(b"line_id,signature_id,template\n")?;
    let mut number = itoa::Buffer::new();
    for (i, &shape) in shaped.of_line.iter().enumerate() {
        out.write_all(number.format(i + 1).as_bytes())?;
        out.write_all(&tails[shape as usize])?;
    }
    out.flush()
}

/// Signs a batch of messages: the template of each, in input order.
///
/// Shapes are computed on `threads` threads (0: all cores); clustering runs once over the
/// distinct shapes.
pub fn mine<S: AsRef<str> + Sync>(messages: &[S], threads: usize) -> Vec<String> {
    mine_with(messages, threads, &cluster::Config::default())
}

/// [`mine`] with other clustering thresholds or rules (the generalization harness).
pub fn mine_with<S: AsRef<str> + Sync>(
    messages: &[S],
    threads: usize,
    cfg: &cluster::Config,
) -> Vec<String> {
    let shaped = shape_all(messages, threads);
    let templates = templates_of(&shaped, cfg);
    shaped
        .of_line
        .iter()
        .map(|&i| templates[i as usize].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache answers as masking does: for repeated messages, past the point where it
    /// forgets its messages, and where it forgot a shape's text but not the message.
    #[test]
    fn cached_shapes_are_the_masked_shapes() {
        let word = |mut i: usize| {
            let mut w = String::from("w");
            while i > 0 {
                w.push(char::from(b'a' + (i % 26) as u8));
                i /= 26;
            }
            w
        };
        let n = RECENT_MESSAGES + 5_000;
        // Distinct shapes (letters are words), each message met again a little later.
        let messages = (0..n).flat_map(|i| {
            let again = i.saturating_sub(3_000);
            [
                format!("open {} now", word(i)),
                format!("open {} now", word(again)),
            ]
        });
        let mut shape = String::new();
        let mut masked = String::new();
        for msg in messages.chain((0..50).map(|i| format!("user {i} signed in"))) {
            let id = shape_cached(&msg, &mut shape);
            mask::shape_into(&msg, &mut masked);
            assert_eq!(
                (shape.as_str(), id),
                (masked.as_str(), shape_id(&masked)),
                "{msg}"
            );
        }
    }

    /// Ids written by miner version 2 stay the ids of the same templates (issue #13).
    #[test]
    fn signature_ids_outlive_miner_versions() {
        assert_eq!(
            signature_id("Accepted password for <*> from <*> port <*> ssh2"),
            "a250f254c8923ec2"
        );
        assert_eq!(
            signature_id("GET /api/threads/<*>/messages 200"),
            "5970996c9646a28d"
        );
    }
}
