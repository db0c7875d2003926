//! Signatures: every message gets its template (variable parts written `<*>`) and a stable id.
//!
//! Two steps, so results do not depend on input order or threads:
//! 1. [`mask`]: per line, stateless and parallel, the *shape* of a message;
//! 2. [`cluster`]: over the distinct shapes, shapes that differ in a few tokens become one
//!    template.
//!
//! The signature id is a hash of [`MINER_VERSION`] and the template text: the same on every
//! run and machine. Change [`MINER_VERSION`] whenever masking or clustering changes.
//! [`accuracy`] implements the Loghub metrics (GA, PA, FGA, FTA) used to measure all this.

pub mod accuracy;
pub mod cluster;
pub mod mask;

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

/// Version of the masking and clustering rules; part of every signature id.
pub const MINER_VERSION: &str = "1";

/// The stable id of a template: 16 hex digits.
pub fn signature_id(template: &str) -> String {
    let mut bytes = Vec::with_capacity(template.len() + 4);
    bytes.extend_from_slice(MINER_VERSION.as_bytes());
    bytes.push(0x1f);
    bytes.extend_from_slice(template.as_bytes());
    format!("{:016x}", xxh3_64(&bytes))
}

/// The id of a shape (step 1's output): its 64-bit hash, as the Int64 the lake stores
/// (an integer key makes the join to `shapes` in every query cheap).
pub fn shape_id(shape: &str) -> i64 {
    xxh3_64(shape.as_bytes()) as i64
}

/// Most messages repeat verbatim (health checks, fixed warnings): each thread remembers
/// the shapes of recent messages. Keyed by a 64-bit hash of the message.
const SHAPE_CACHE_ENTRIES: usize = 8192;

thread_local! {
    static SHAPE_CACHE: std::cell::RefCell<HashMap<u64, (String, i64)>> =
        std::cell::RefCell::new(HashMap::with_capacity(SHAPE_CACHE_ENTRIES));
}

/// The shape of `msg`, written into `shape`, and its id; cached per thread.
pub fn shape_cached(msg: &str, shape: &mut String) -> i64 {
    let key = xxh3_64(msg.as_bytes());
    SHAPE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((s, id)) = cache.get(&key) {
            shape.clone_from(s);
            return *id;
        }
        mask::shape_into(msg, shape);
        let id = shape_id(shape);
        if cache.len() >= SHAPE_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, (shape.clone(), id));
        id
    })
}

/// `gardener mine`: messages one per line in, CSV `line_id,signature_id,template` out.
pub fn mine_csv(
    mut input: impl std::io::Read,
    output: impl std::io::Write,
    threads: usize,
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    let templates = mine(&lines, threads);
    let mut ids: HashMap<&str, String> = HashMap::new();
    let mut w = csv::Writer::from_writer(output);
    w.write_record(["line_id", "signature_id", "template"])?;
    for (i, t) in templates.iter().enumerate() {
        let id = ids.entry(t.as_str()).or_insert_with(|| signature_id(t));
        w.write_record([(i + 1).to_string().as_str(), id.as_str(), t.as_str()])?;
    }
    w.flush()
}

/// Signs a batch of messages: the template of each, in input order.
///
/// Shapes are computed on `threads` threads; clustering runs once over the distinct shapes.
pub fn mine<S: AsRef<str> + Sync>(messages: &[S], threads: usize) -> Vec<String> {
    let threads = threads.max(1);
    let per = messages.len().div_ceil(threads).max(1);
    let shapes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(per)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|m| mask::shape(m.as_ref()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut distinct: HashMap<&str, usize> = HashMap::new();
    let mut list: Vec<&str> = Vec::new();
    let index: Vec<usize> = shapes
        .iter()
        .map(|s| {
            *distinct.entry(s.as_str()).or_insert_with(|| {
                list.push(s.as_str());
                list.len() - 1
            })
        })
        .collect();
    let templates = cluster::cluster(&list);
    index.into_iter().map(|i| templates[i].clone()).collect()
}
