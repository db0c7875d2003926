//! The four standard template-extraction metrics, as the Loghub-2.0 evaluation defines them
//! (see `../shared/loghub2k/README.md`), and the generalization harness built on them:
//! leave-one-out choice of the clustering thresholds ([`leave_one_out`]) and each rule's
//! effect per dataset ([`ablation`]). Lines with identical predicted templates form one
//! predicted group.

use std::collections::HashMap;
use std::path::Path;

use super::cluster::{Config, Rules};
use super::mine_with;

/// The ten Loghub-2k sets we have (`../shared/loghub2k/<D>/`).
pub const LOGHUB_DATASETS: [&str; 10] = [
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

/// One Loghub-2k set: each line's `Content` (what the miner sees) and its true template
/// (whitespace runs collapsed, as the miner writes them), from
/// `<dir>/<D>/<D>_2k.log_structured_corrected.csv`.
pub fn load_loghub(dir: &Path, dataset: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let path = dir
        .join(dataset)
        .join(format!("{dataset}_2k.log_structured_corrected.csv"));
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut reader = csv::Reader::from_path(&path).map_err(|e| err(&e))?;
    let headers = reader.headers().map_err(|e| err(&e))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| err(&format!("no column {name}")))
    };
    let (content, template) = (column("Content")?, column("EventTemplate")?);
    let mut lines = Vec::new();
    let mut truth = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| err(&e))?;
        let field = |k: usize| {
            rec.get(k)
                .ok_or_else(|| err(&format!("record {} is short", i + 1)))
        };
        lines.push(field(content)?.to_owned());
        truth.push(
            field(template)?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    Ok((lines, truth))
}

/// GA, PA, FGA, FTA for one dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub ga: f64,
    pub pa: f64,
    pub fga: f64,
    pub fta: f64,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Scores predicted templates against the truth, line by line (`predicted[i]` and
/// `truth[i]` belong to line `i`).
pub fn score(predicted: &[String], truth: &[String]) -> Scores {
    let n = truth.len().min(predicted.len());
    if n == 0 {
        return Scores::default();
    }
    let mut pred_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut true_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..n {
        pred_groups.entry(&predicted[i]).or_default().push(i);
        true_groups.entry(&truth[i]).or_default().push(i);
    }
    // GA: lines whose predicted group is exactly their true group.
    let mut ga_lines = 0;
    let mut found_groups = 0;
    let mut correct_templates = 0;
    for (tmpl, lines) in &pred_groups {
        let t = truth[lines[0]].as_str();
        let all_same_truth = lines.iter().all(|&i| truth[i] == t);
        if all_same_truth && true_groups.get(t).is_some_and(|g| g.len() == lines.len()) {
            ga_lines += lines.len();
            found_groups += 1;
        }
        if all_same_truth && *tmpl == t {
            correct_templates += 1;
        }
    }
    let pa_lines = (0..n).filter(|&i| predicted[i] == truth[i]).count();
    let (np, nt) = (pred_groups.len() as f64, true_groups.len() as f64);
    Scores {
        ga: ga_lines as f64 / n as f64,
        pa: pa_lines as f64 / n as f64,
        fga: f1(found_groups as f64 / np, found_groups as f64 / nt),
        fta: f1(correct_templates as f64 / np, correct_templates as f64 / nt),
    }
}

impl Scores {
    /// The four metrics' mean: what the generalization harness maximises.
    pub fn mean(&self) -> f64 {
        (self.ga + self.pa + self.fga + self.fta) / 4.0
    }

    /// The per-metric average of `scores`.
    pub fn average(scores: &[Scores]) -> Scores {
        let n = scores.len().max(1) as f64;
        let sum = |f: fn(&Scores) -> f64| scores.iter().map(f).sum::<f64>() / n;
        Scores {
            ga: sum(|s| s.ga),
            pa: sum(|s| s.pa),
            fga: sum(|s| s.fga),
            fta: sum(|s| s.fta),
        }
    }
}

/// One labelled dataset.
pub struct Labelled {
    pub name: String,
    pub lines: Vec<String>,
    pub truth: Vec<String>,
}

impl Labelled {
    pub fn score(&self, cfg: &Config) -> Scores {
        score(&mine_with(&self.lines, 1, cfg), &self.truth)
    }
}

/// The thresholds the harness may choose from: each of the clustering thresholds at, below
/// and above its default (the rules all on).
pub fn threshold_grid() -> Vec<Config> {
    let base = Config::default();
    let mut grid = Vec::new();
    for similarity in [0.5, 0.6, 0.7] {
        for split_max_values in [2, 3, 4] {
            for merge_min_fixed in [2, 3, 4] {
                for rare_rows in [3, 10, 30] {
                    for tail_min_templates in [5, 8, 12] {
                        grid.push(Config {
                            similarity,
                            split_max_values,
                            merge_min_fixed,
                            rare_rows,
                            tail_min_templates,
                            ..base
                        });
                    }
                }
            }
        }
    }
    grid
}

/// Leave-one-out over `sets`: for each set, the configuration of `grid` that scores best
/// (mean of the four metrics, averaged) on the *other* sets, and what it scores on the
/// held-out set. Thresholds that only fit the set they were tuned on show up as a held-out
/// score below the all-in one.
pub fn leave_one_out(sets: &[Labelled], grid: &[Config]) -> Vec<(Config, Scores)> {
    let table: Vec<Vec<Scores>> = grid
        .iter()
        .map(|cfg| sets.iter().map(|s| s.score(cfg)).collect())
        .collect();
    (0..sets.len())
        .map(|held| {
            let on_others = |row: &Vec<Scores>| -> f64 {
                row.iter()
                    .enumerate()
                    .filter(|(k, _)| *k != held)
                    .map(|(_, s)| s.mean())
                    .sum()
            };
            let best = (0..grid.len())
                .max_by(|&a, &b| {
                    on_others(&table[a])
                        .total_cmp(&on_others(&table[b]))
                        .then(b.cmp(&a))
                })
                .unwrap_or(0);
            (grid[best], table[best][held])
        })
        .collect()
}

/// Each rule's effect per set: the default configuration's scores minus the scores with
/// that rule taken away (positive: the rule helps that set).
pub fn ablation(sets: &[Labelled]) -> Vec<(&'static str, Vec<f64>)> {
    let base = Config::default();
    let with: Vec<f64> = sets.iter().map(|s| s.score(&base).mean()).collect();
    Rules::NAMED
        .iter()
        .map(|&(name, rule)| {
            let without = Config {
                rules: base.rules.without(rule),
                ..base
            };
            let deltas = sets
                .iter()
                .zip(&with)
                .map(|(s, w)| w - s.score(&without).mean())
                .collect();
            (name, deltas)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn perfect_and_split_groups() {
        let truth = v(&["a <*>", "a <*>", "b"]);
        let s = score(&truth, &truth);
        assert_eq!(
            s,
            Scores {
                ga: 1.0,
                pa: 1.0,
                fga: 1.0,
                fta: 1.0
            }
        );
        // One true group split in two predicted groups, with wrong strings.
        let s = score(&v(&["a 1", "a 2", "b"]), &truth);
        assert!((s.ga - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.pa - 1.0 / 3.0).abs() < 1e-9);
        // found 1 of 3 predicted, 1 of 2 true.
        assert!((s.fga - f1(1.0 / 3.0, 0.5)).abs() < 1e-9);
        assert!((s.fta - f1(1.0 / 3.0, 0.5)).abs() < 1e-9);
        // Merged groups: right strings do not help when the group is wrong.
        let s = score(&v(&["x", "x", "x"]), &truth);
        assert_eq!((s.ga, s.pa, s.fga, s.fta), (0.0, 0.0, 0.0, 0.0));
    }
}
