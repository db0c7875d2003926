//! Signature accuracy on the Loghub-2k benchmark (corrected labels): the miner sees only each
//! line's `Content`, with one configuration for all datasets. Prints the per-dataset table
//! and fails when an average drops below the targets or any dataset's GA below
//! 0.60. Skips where `../shared/loghub2k` is absent.

use std::path::Path;

use log_gardener::signature::accuracy::{LOGHUB_DATASETS, Scores, load_loghub, score};
use log_gardener::signature::mine;

/// The targets of issue #3 (averages over the ten sets).
const FLOORS: Scores = Scores {
    ga: 0.93,
    pa: 0.85,
    fga: 0.90,
    fta: 0.75,
};

/// No dataset may fall below this GA.
const DATASET_GA_FLOOR: f64 = 0.60;

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
    let mut low = Vec::new();
    for d in LOGHUB_DATASETS {
        let (lines, truth) = load_loghub(&dir, d).unwrap_or_else(|e| panic!("{e}"));
        let s = score(&mine(&lines, 1), &truth);
        println!(
            "{d:12} {:6.3} {:6.3} {:6.3} {:6.3}",
            s.ga, s.pa, s.fga, s.fta
        );
        sum.ga += s.ga;
        sum.pa += s.pa;
        sum.fga += s.fga;
        sum.fta += s.fta;
        if s.ga < DATASET_GA_FLOOR {
            low.push((d, s.ga));
        }
    }
    let n = LOGHUB_DATASETS.len() as f64;
    let avg = Scores {
        ga: sum.ga / n,
        pa: sum.pa / n,
        fga: sum.fga / n,
        fta: sum.fta / n,
    };
    println!(
        "{:12} {:6.4} {:6.4} {:6.4} {:6.4}",
        "average", avg.ga, avg.pa, avg.fga, avg.fta
    );
    assert!(
        avg.ga >= FLOORS.ga
            && avg.pa >= FLOORS.pa
            && avg.fga >= FLOORS.fga
            && avg.fta >= FLOORS.fta,
        "accuracy dropped below the floors {FLOORS:?}: {avg:?}"
    );
    assert!(
        low.is_empty(),
        "datasets under GA {DATASET_GA_FLOOR}: {low:?}"
    );
}
