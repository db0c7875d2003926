//! Mining speed of the Rust Drain crates on a file of messages (issue #3 point 6), for
//! `scripts/bench_mine.py`.
//!
//! `drain_crates <drain3|logdrain|logdrain-masks> FILE`: reads FILE (one message per line,
//! invalid UTF-8 replaced) into memory, then times only the mining of every line, in order, on
//! one thread, with the crate's online API and default configuration:
//! - `drain3` (crate 0.3): `Matcher::new(Config::default())`, `add_log_message` per line. It
//!   rejects lines over 1,024 bytes or 64 tokens, and empty ones (`Error::LineTooLong`); those
//!   are counted as `skipped`, not mined.
//! - `logdrain` (crate 0.3): `Miner` with default `Options`, `add` per line.
//! - `logdrain-masks`: the same with every built-in mask (uuid, hex32, email, ipv4, jwt).
//!
//! Prints one JSON line: tool, lines, seconds, lines_per_s, templates, skipped, created.
//! The allocator is mimalloc, as in `gardener`.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: drain_crates <drain3|logdrain|logdrain-masks> FILE";

/// What one mining pass produced.
struct Mined {
    /// Wall time of the mining loop alone.
    seconds: f64,
    /// Templates (clusters) held at the end.
    templates: usize,
    /// Clusters ever created (logdrain evicts least recently used ones from full leaves).
    created: usize,
    /// Lines the miner refused (drain3: too long, too many tokens, or empty).
    skipped: usize,
}

fn read_lines(path: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    Ok(body
        .split(|&b| b == b'\n')
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            String::from_utf8_lossy(line).into_owned()
        })
        .collect())
}

fn mine_drain3(lines: &[String]) -> Result<Mined, Box<dyn Error>> {
    let mut matcher = drain3::Matcher::new(drain3::Config::default());
    let mut skipped = 0;
    let start = Instant::now();
    for line in lines {
        match matcher.add_log_message(line) {
            Ok(template) => {
                black_box(template);
            }
            Err(drain3::Error::LineTooLong { .. }) => skipped += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Cluster ids are 1, 2, ... and the default config never drops a cluster.
    let templates = (1..)
        .take_while(|&id| matcher.template_for_id(id).is_some())
        .count();
    Ok(Mined {
        seconds,
        templates,
        created: templates,
        skipped,
    })
}

fn mine_logdrain(lines: &[String], masks: bool) -> Result<Mined, Box<dyn Error>> {
    let mut builder = logdrain::Miner::builder();
    if masks {
        use logdrain::builtin_masks::{email, hex32, ipv4, jwt, uuid};
        builder = builder.masks([uuid(), hex32(), email(), ipv4(), jwt()]);
    }
    let miner = builder.build()?;
    let mut created = 0;
    let start = Instant::now();
    for line in lines {
        let r = miner.add(line);
        if r.update == logdrain::UpdateType::Created {
            created += 1;
        }
        black_box(r);
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Mined {
        seconds,
        templates: miner.len(),
        created,
        skipped: 0,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tool, path] = args.as_slice() else {
        return Err(USAGE.into());
    };
    // None: the drain3 crate; Some(masks): logdrain, with or without its built-in masks.
    let logdrain_masks = match tool.as_str() {
        "drain3" => None,
        "logdrain" => Some(false),
        "logdrain-masks" => Some(true),
        _ => return Err(USAGE.into()),
    };
    let lines = read_lines(path)?;
    let mined = match logdrain_masks {
        None => mine_drain3(&lines)?,
        Some(masks) => mine_logdrain(&lines, masks)?,
    };
    let seconds = mined.seconds;
    let lines_per_s = if seconds > 0.0 {
        lines.len() as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{{\"tool\":\"{tool}\",\"lines\":{},\"seconds\":{seconds:.4},\"lines_per_s\":{:.0},\
         \"templates\":{},\"skipped\":{},\"created\":{}}}",
        lines.len(),
        lines_per_s,
        mined.templates,
        mined.skipped,
        mined.created,
    );
    Ok(())
}
