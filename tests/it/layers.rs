//! Issue #18: the modules import downward only, so the data-flow diagram in `src/lib.rs`
//! stays true. Every `crate::` path in `src/` (outside test modules) is an edge from the
//! file's top-level module to the one named; an edge to a module of the same or a higher
//! layer fails with the file and the line.

use std::path::Path;

/// Lowest first. A module may use modules of lower layers only.
const LAYERS: [&[&str]; 7] = [
    &["common"],
    &["range"],
    &["source", "decode", "signature"],
    &["lake"],
    &["ingest", "engine"],
    &["report", "synth"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let from = layer_of(&module).unwrap_or_else(|| {
            panic!(
                "{}: module {module} is in no layer of LAYERS",
                rel.display()
            )
        });
        let text = std::fs::read_to_string(file).expect("read");
        // Test modules may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            for (at, _) in line.match_indices("crate::") {
                let target: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if target.is_empty() || target == module {
                    continue;
                }
                checked += 1;
                let to = layer_of(&target).unwrap_or_else(|| {
                    panic!(
                        "{}:{}: crate::{target} is in no layer",
                        rel.display(),
                        n + 1
                    )
                });
                if to >= from {
                    upward.push(format!(
                        "{}:{}: {module} (layer {from}) uses {target} (layer {to}): {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} imports seen: is the scan broken?"
    );
    assert!(
        upward.is_empty(),
        "imports that run upward:\n{}",
        upward.join("\n")
    );
}

/// DataFusion's SQL planner and Ballista's processes are entered through `crates/planning`
/// (opt-level 1), never from the library: awaited here, they were two thirds of the
/// library's LLVM IR, at opt-level 3 (docs/BENCHMARKS.md, fifteenth round). A call
/// added back would not fail any other test, only make every build slower.
#[test]
fn sql_planning_and_ballista_processes_are_entered_through_crates_planning() {
    const ENTRY_POINTS: [&str; 6] = [
        ".sql(",
        ".sql_with_options(",
        ".statement_to_plan(",
        ".create_logical_plan(",
        "start_executor_process(",
        "create_scheduler(",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let (mut direct, mut through) = (Vec::new(), 0);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            through += line.matches("planning::").count();
            if ENTRY_POINTS.iter().any(|p| line.contains(p)) {
                let rel = file.strip_prefix(&src).expect("under src");
                direct.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        through >= 4,
        "only {through} calls through planning:: seen: is the scan broken?"
    );
    assert!(
        direct.is_empty(),
        "call these through log_gardener_planning (crates/planning):\n{}",
        direct.join("\n")
    );
}
