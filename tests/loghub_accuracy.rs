//! Signature accuracy on the Loghub-2k benchmark (corrected labels): the miner sees only each
//! line's `Content`, with one configuration for all datasets. Prints the per-dataset table
//! and fails when an average drops below the floors. Skips where `../shared/loghub2k` is absent.

use std::path::Path;

use log_gardener::signature::accuracy::{Scores, score};
use log_gardener::signature::mine;

const DATASETS: [&str; 10] = [
    "HDFS",
    "Spark",
    "Zookeeper",
    "HPC",
    "Thunderbird",
    "Linux",
    "Android",
    "Apache",
    "Proxifier",
    "OpenSSH",
];

/// Regression floors: the averages measured for MINER_VERSION 1, rounded down. The issue's
/// targets (GA 0.93, PA 0.85, FGA 0.90, FTA 0.75) are not reached yet; see the issue notes.
const FLOORS: Scores = Scores {
    ga: 0.91,
    pa: 0.83,
    fga: 0.87,
    fta: 0.79,
};

fn load(dir: &Path, d: &str) -> Option<(Vec<String>, Vec<String>)> {
    let path = dir
        .join(d)
        .join(format!("{d}_2k.log_structured_corrected.csv"));
    let mut reader = csv::Reader::from_path(&path).ok()?;
    let headers = reader.headers().ok()?.clone();
    let content = headers.iter().position(|h| h == "Content")?;
    let template = headers.iter().position(|h| h == "EventTemplate")?;
    let mut lines = Vec::new();
    let mut truth = Vec::new();
    for rec in reader.records() {
        let rec = rec.ok()?;
        lines.push(rec.get(content)?.to_owned());
        truth.push(
            rec.get(template)?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Some((lines, truth))
}

#[test]
fn loghub_2k_accuracy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/loghub2k");
    if !dir.exists() {
        eprintln!(
            "skipping: ../shared/loghub2k is absent (third-party data is never copied into the repo)"
        );
        return;
    }
    let mut sum = Scores::default();
    println!(
        "{:12} {:>6} {:>6} {:>6} {:>6}",
        "dataset", "GA", "PA", "FGA", "FTA"
    );
    let mut worst_ga = 1.0f64;
    for d in DATASETS {
        let (lines, truth) = load(&dir, d).unwrap_or_else(|| panic!("cannot read dataset {d}"));
        let predicted = mine(&lines, 1);
        let s = score(&predicted, &truth);
        println!(
            "{d:12} {:6.3} {:6.3} {:6.3} {:6.3}",
            s.ga, s.pa, s.fga, s.fta
        );
        sum.ga += s.ga;
        sum.pa += s.pa;
        sum.fga += s.fga;
        sum.fta += s.fta;
        worst_ga = worst_ga.min(s.ga);
    }
    let n = DATASETS.len() as f64;
    let avg = Scores {
        ga: sum.ga / n,
        pa: sum.pa / n,
        fga: sum.fga / n,
        fta: sum.fta / n,
    };
    println!(
        "{:12} {:6.3} {:6.3} {:6.3} {:6.3}",
        "average", avg.ga, avg.pa, avg.fga, avg.fta
    );
    assert!(
        avg.ga >= FLOORS.ga
            && avg.pa >= FLOORS.pa
            && avg.fga >= FLOORS.fga
            && avg.fta >= FLOORS.fta,
        "accuracy dropped below the floors {FLOORS:?}: {avg:?}"
    );
    let _ = worst_ga;
}
