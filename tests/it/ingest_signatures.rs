//! Ingest signs every row: `shape_id` in `logs/`, and the signatures tables derived from
//! every shape in the lake, so splits across runs do not change ids or counts.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use arrow::array::AsArray;
use arrow::datatypes::Int64Type;

/// signature_id -> (template, count) from `signatures/signatures.parquet`.
fn signatures(lake: &Path) -> BTreeMap<String, (String, i64)> {
    let batches = read_parquet(&signatures_table(lake, "signatures"));
    let ids = strings(&batches, "signature_id");
    let templates = strings(&batches, "template");
    let counts: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("count")
                .expect("count")
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.into_iter()
        .zip(templates)
        .zip(counts)
        .map(|((id, t), n)| (id.expect("id"), (t.expect("template"), n)))
        .collect()
}

#[test]
fn worklog_problems_have_one_signature_each_and_counts_add_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "2", "--rate", "0.2"]);
    let lake = d.join("lake");
    let s = ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);
    let sigs = signatures(&lake);
    let total: i64 = sigs.values().map(|(_, n)| n).sum();
    assert_eq!(
        Some(total as u64),
        s["rows"].as_u64(),
        "counts per signature add up to the rows"
    );

    // Each of the reference worklog's problems: exactly one signature, and all different.
    let problems = [
        "Session access failed (middleware not installed?)",
        "ASGI scope error in WebSocket exclusion",
        "CRITICAL_AUTH_FAILURE",
        "Failed to create request-scoped database session",
    ];
    let mut found = Vec::new();
    for p in problems {
        let matching: Vec<_> = sigs.iter().filter(|(_, (t, _))| t.contains(p)).collect();
        assert_eq!(matching.len(), 1, "{p}: {matching:?}");
        found.push(matching[0].0.clone());
    }
    let ws: Vec<_> = sigs
        .iter()
        .filter(|(_, (t, _))| t == "GET /ws 500")
        .collect();
    assert_eq!(ws.len(), 1, "GET /ws 500 is one signature");
    found.push(ws[0].0.clone());
    found.sort();
    found.dedup();
    assert_eq!(found.len(), 5, "no two problems share a signature");

    // Every row of every problem message carries the one shape of its signature.
    let rows = read_logs(&lake);
    let messages = strings(&rows, "message");
    let shapes = int64s(&rows, "shape_id");
    let mut shape_of_auth = std::collections::BTreeSet::new();
    for (m, sh) in messages.iter().zip(&shapes) {
        if m.as_deref()
            .is_some_and(|m| m.contains("CRITICAL_AUTH_FAILURE"))
        {
            shape_of_auth.insert(*sh);
        }
    }
    assert_eq!(shape_of_auth.len(), 1);
}

#[test]
fn splitting_the_week_across_runs_gives_the_same_signatures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "3", "--rate", "0.05"]);
    let whole = d.join("whole");
    ingest(&whole, &[d.join("sink").to_str().expect("utf8")]);
    // Day by day, in reverse, into another lake.
    let split = d.join("split");
    let mut days = day_dirs(&d.join("sink"));
    days.reverse();
    for day in &days {
        ingest(&split, &[day.to_str().expect("utf8")]);
    }
    assert_eq!(signatures(&whole), signatures(&split));
}

/// An ingest takes the figures of the files it wrote from the writer's tallies, made while
/// it encoded them, instead of reading the files back: the tables must be those a rebuild
/// from the files gives, every column of every row (counts, first and last seen, the
/// example, the severity mix), after two runs (the second brings the first's tables
/// forward with its own tallies).
#[test]
fn tables_from_the_writers_tallies_equal_a_rebuild_from_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "2", "--rate", "0.1"]);
    let lake = d.join("lake");
    // Small files: each file's tally is merged with the others'.
    for day in &day_dirs(&d.join("sink")) {
        ingest(
            &lake,
            &[day.to_str().expect("utf8"), "--rows-per-file", "3000"],
        );
    }
    let tables =
        || ["shapes", "signatures"].map(|name| read_parquet(&signatures_table(&lake, name)));
    let tallied = tables();
    assert!(tallied[0].iter().map(|b| b.num_rows()).sum::<usize>() > 10);
    // Without tables, `compact` (which merges the small files) rebuilds them from the files.
    std::fs::remove_dir_all(lake.join("signatures")).expect("remove signatures/");
    run_ok(gardener().arg("compact").arg("--lake").arg(&lake));
    let rebuilt = tables();
    for (name, (a, b)) in ["shapes", "signatures"]
        .iter()
        .zip(tallied.iter().zip(&rebuilt))
    {
        let (a, b) = (concat(a), concat(b));
        assert_eq!(a.num_rows(), b.num_rows(), "{name}");
        for field in a.schema().fields() {
            let column = |batch: &arrow::array::RecordBatch| {
                batch
                    .column_by_name(field.name())
                    .expect("column")
                    .to_data()
            };
            assert_eq!(column(&a), column(&b), "{name}.{}", field.name());
        }
    }
}

/// The date folders of a synth sink, in order.
fn day_dirs(sink: &Path) -> Vec<std::path::PathBuf> {
    let mut days: Vec<_> = files_under(sink)
        .into_iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    days.sort();
    days.dedup();
    days
}

fn concat(batches: &[arrow::array::RecordBatch]) -> arrow::array::RecordBatch {
    arrow::compute::concat_batches(batches[0].schema_ref(), batches).expect("concat")
}

/// A lake signed by another miner version is refused before anything is written: its rows'
/// shapes are that version's, and mixing them with this version's would give templates
/// neither version makes.
#[test]
fn a_lake_signed_by_another_miner_version_is_refused() {
    use std::sync::Arc;

    use arrow::array::{RecordBatch, StringArray};

    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--days", "1", "--rate", "0.05"]);
    let lake = d.join("lake");
    ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);

    // Stamp the signatures table as if version "1" had written it.
    let path = signatures_table(&lake, "signatures");
    let batches = read_parquet(&path);
    let schema = batches[0].schema();
    let col = schema.index_of("miner_version").expect("miner_version");
    let file = std::fs::File::create(&path).expect("rewrite");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).expect("writer");
    for b in &batches {
        let mut columns = b.columns().to_vec();
        columns[col] = Arc::new(StringArray::from(vec!["1"; b.num_rows()]));
        w.write(&RecordBatch::try_new(schema.clone(), columns).expect("batch"))
            .expect("write");
    }
    w.close().expect("close");

    let before = files_under(&lake);
    let out = gardener()
        .arg("ingest")
        .arg(d.join("sink"))
        .arg("--lake")
        .arg(&lake)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ingest accepted a version-1 lake");
    assert!(
        stderr.contains("signed by miner version 1") && stderr.contains("new lake"),
        "{stderr}"
    );
    assert_eq!(files_under(&lake), before, "nothing written");
}
