//! `gardener report` end to end: the reference worklog's assessment on the synth week,
//! the JSON schema, and log text that tries to break the Markdown.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

fn report(lake: &Path, args: &[&str]) -> String {
    let out = run_ok(gardener().arg("report").arg("--lake").arg(lake).args(args));
    String::from_utf8(out.stdout).expect("utf8")
}

#[test]
fn the_synth_week_gets_the_reference_assessment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--rate", "0.25"]);
    let lake = d.join("lake");
    ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);

    let json: Value = serde_json::from_str(&report(&lake, &["--format", "json"])).expect("json");
    assert_eq!(json["schema_version"], 1);
    let issues = json["issues"].as_array().expect("issues");
    let find = |needle: &str| -> &Value {
        let hits: Vec<&Value> = issues
            .iter()
            .filter(|i| i["template"].as_str().is_some_and(|t| t.contains(needle)))
            .collect();
        assert_eq!(hits.len(), 1, "{needle}: one issue");
        hits[0]
    };
    // The reference worklog's five problems and its priorities.
    let expected = [
        ("Session access failed", "P2"),
        ("ASGI scope error", "P1"),
        ("CRITICAL_AUTH_FAILURE", "P0"),
        ("Failed to create request-scoped database session", "P1"),
    ];
    let mut ids = BTreeMap::new();
    for (needle, priority) in expected {
        let issue = find(needle);
        assert_eq!(
            issue["priority"], priority,
            "{needle}: {}",
            issue["priority_rule"]
        );
        ids.insert(needle, issue["id"].as_u64().expect("id"));
    }
    let ws = issues
        .iter()
        .find(|i| i["template"] == "GET /ws 500")
        .expect("GET /ws 500 is an issue");
    assert_eq!(ws["priority"], "P1");
    assert_eq!(ws["impact"]["endpoints"][0]["value"], "GET /ws");
    // P0 comes first, and the summary is ordered by priority.
    assert_eq!(issues[0]["priority"], "P0");
    let priorities: Vec<&str> = issues
        .iter()
        .filter_map(|i| i["priority"].as_str())
        .collect();
    let mut sorted = priorities.clone();
    sorted.sort();
    assert_eq!(priorities, sorted);

    // Links #4 <-> #5 and #2 <-> #3 of the reference; #1 independent.
    let pairs: Vec<(u64, u64)> = json["relationships"]
        .as_array()
        .expect("relationships")
        .iter()
        .map(|r| {
            (
                r["issue_a"].as_u64().unwrap_or(0),
                r["issue_b"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let auth = ids["CRITICAL_AUTH_FAILURE"];
    let db = ids["Failed to create request-scoped database session"];
    let asgi = ids["ASGI scope error"];
    let ws_id = ws["id"].as_u64().expect("id");
    assert!(pairs.contains(&(auth, db)), "auth -> db in {pairs:?}");
    assert!(pairs.contains(&(asgi, ws_id)), "asgi -> ws in {pairs:?}");
    let session = ids["Session access failed"];
    assert!(pairs.iter().all(|(a, b)| *a != session && *b != session));

    // Every documented field, with RFC 3339 UTC times.
    for i in issues {
        for key in [
            "id",
            "signature_id",
            "template",
            "count",
            "first_seen",
            "last_seen",
            "severity",
            "priority",
            "frequency",
            "rate_per_hour",
            "impact",
            "samples",
            "recent",
            "status",
        ] {
            assert!(i.get(key).is_some(), "issue field {key}");
        }
        for key in ["first_seen", "last_seen"] {
            let t = i[key].as_str().expect("time");
            assert!(t.ends_with('Z') && t.contains('T'), "{key} {t}");
        }
        assert!(
            i["recent"]
                .as_array()
                .is_some_and(|r| !r.is_empty() && r.len() <= 5)
        );
    }
    for r in json["relationships"].as_array().expect("relationships") {
        for key in [
            "a",
            "b",
            "level",
            "lag_ms",
            "confidence",
            "lift",
            "significance",
        ] {
            assert!(r.get(key).is_some(), "relationship field {key}");
        }
    }
    // Every query used can be run as printed.
    for q in json["queries"].as_array().expect("queries") {
        assert!(
            q["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("gardener query"))
        );
    }

    // Markdown: the same issues, in the worklog's sections.
    let md = report(&lake, &[]);
    for section in [
        "## Summary",
        "## Discovered Issues",
        "### Root Cause Relationships",
        "### Priority Assessment",
        "## Queries Used",
    ] {
        assert!(md.contains(section), "{section}");
    }
    assert!(
        md.contains(&format!("**Issues #{auth} & #{db} are linked**")),
        "{md}"
    );
    assert!(md.contains("- **P0 (Blocking):**"));

    // HTML: one file, no network, and a real browser lays out every chart.
    let html = d.join("report.html");
    report(
        &lake,
        &["--format", "html", "-o", html.to_str().expect("utf8")],
    );
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("@import")
    );
    let charts = page.matches("data-chart=").count();
    assert_eq!(
        charts,
        2 + issues.len(),
        "severities, relationships, one sparkline per issue"
    );
    if let Some(browser) = chromium() {
        let dom = rendered_dom(&browser, &html);
        assert!(
            dom.contains(&format!("data-charts-rendered=\"{charts}/{charts}\"")),
            "every chart rendered with a non-empty box"
        );
    }

    // --drafts: one ready-to-file issue per new issue, named by id and priority.
    let drafts = d.join("drafts");
    report(
        &lake,
        &[
            "--drafts",
            drafts.to_str().expect("utf8"),
            "-o",
            "/dev/null",
        ],
    );
    let files = files_under(&drafts);
    assert_eq!(files.len(), issues.len(), "one draft per (new) issue");
    let p0 = files
        .iter()
        .find(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{auth:03}-p0-")))
        })
        .expect("the P0 draft");
    let body = std::fs::read_to_string(p0).expect("draft");
    assert!(body.starts_with("[P0] "), "{body}");
    let sig = find("CRITICAL_AUTH_FAILURE")["signature_id"]
        .as_str()
        .expect("sig");
    assert!(body.contains(sig) && body.contains("## Reproduce") && body.contains("## Related"));

    // A known-issue ledger: open -> known, muted -> left out.
    let ledger = d.join("known.toml");
    let ws_sig = ws["signature_id"].as_str().expect("sig");
    std::fs::write(
        &ledger,
        format!(
            "[[issue]]\nsignature_id = \"{sig}\"\ntracker = \"https://tracker/1\"\nstatus = \"open\"\n\n[[issue]]\nsignature_id = \"{ws_sig}\"\nstatus = \"muted\"\n"
        ),
    )
    .expect("write");
    let known: Value = serde_json::from_str(&report(
        &lake,
        &[
            "--format",
            "json",
            "--known",
            ledger.to_str().expect("utf8"),
        ],
    ))
    .expect("json");
    let known_issues = known["issues"].as_array().expect("issues");
    assert_eq!(
        known_issues.len(),
        issues.len() - 1,
        "the muted one is left out"
    );
    assert_eq!(known["muted"], 1);
    let auth_issue = known_issues
        .iter()
        .find(|i| i["signature_id"] == sig)
        .expect("auth");
    assert_eq!(auth_issue["status"], "known");
    assert_eq!(auth_issue["tracker"], "https://tracker/1");

    // -o writes the file; --service keeps to one service; an unknown one has no issues.
    let out = d.join("report.json");
    report(
        &lake,
        &["--format", "json", "-o", out.to_str().expect("utf8")],
    );
    assert!(
        std::fs::read_to_string(&out)
            .expect("written")
            .contains("schema_version")
    );
    let none: Value = serde_json::from_str(&report(
        &lake,
        &["--format", "json", "--service", "no-such-service"],
    ))
    .expect("json");
    assert_eq!(none["issues"].as_array().map(Vec::len), Some(0));
}

/// The whole report on a small fixed lake (tests/fixtures/report_small.jsonl: a frequent
/// warning, a service auth failure with its DB session failure, checkout 500s with their
/// app error), Markdown and JSON, as reviewed snapshots.
#[test]
fn report_snapshots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report_small.jsonl");
    // Run inside the tempdir with a relative lake, so paths in the report are stable.
    let run = |args: &[&str]| -> String {
        let out = run_ok(
            gardener()
                .current_dir(dir.path())
                .env("SOURCE_DATE_EPOCH", "1757649600")
                .args(args),
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    run(&["ingest", fixture.to_str().expect("utf8"), "--lake", "lake"]);
    insta::assert_snapshot!("report_small_md", run(&["report", "--lake", "lake"]));
    insta::assert_snapshot!(
        "report_small_json",
        run(&["report", "--lake", "lake", "--format", "json"])
    );
}

#[test]
fn hostile_log_text_stays_inert_in_markdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let hostile = [
        "<script>alert(1)</script> failed",
        "<img src=x onerror=alert(1)> rejected",
        "# Heading | cell | [click](http://evil.example) ``` fence",
    ];
    let mut lines = String::new();
    for (k, msg) in hostile.iter().enumerate() {
        for i in 0..3 {
            lines.push_str(
                &serde_json::to_string(&serde_json::json!({
                    "timestamp": format!("2025-09-10T0{k}:0{i}:00Z"),
                    "severity": "ERROR",
                    "textPayload": msg,
                    "logName": "projects/p/logs/app",
                    "insertId": format!("h{k}{i}"),
                }))
                .expect("json"),
            );
            lines.push('\n');
        }
    }
    let file = d.join("hostile.jsonl");
    std::fs::write(&file, lines).expect("write");
    let lake = d.join("lake");
    ingest(&lake, &[file.to_str().expect("utf8")]);
    let md = report(&lake, &[]);
    // Outside code spans and blocks, nothing is raw HTML, a heading, a link or a cell.
    // CommonMark fences: a run of 3+ backticks opens; only a line of at least as many closes.
    let mut open_fence: Option<usize> = None;
    for line in md.lines() {
        let trimmed = line.trim();
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        match open_fence {
            None if ticks >= 3 => {
                open_fence = Some(ticks);
                continue;
            }
            Some(n) if ticks >= n && ticks == trimmed.len() => {
                open_fence = None;
                continue;
            }
            _ => {}
        }
        let in_block = open_fence.is_some();
        if in_block {
            continue;
        }
        let outside_code = outside_code_spans(line);
        assert!(!outside_code.contains("<script"), "raw script: {line}");
        assert!(!outside_code.contains("<img"), "raw img: {line}");
        assert!(!outside_code.contains("](http"), "a link: {line}");
        if !line.starts_with('#') {
            assert!(!outside_code.contains(" # Heading"), "{line}");
        }
    }
    assert!(md.contains("&lt;img src=x"), "escaped, not dropped");

    // HTML: the same text is inert there too, also once a browser has parsed it.
    let html = d.join("hostile.html");
    report(
        &lake,
        &["--format", "html", "-o", html.to_str().expect("utf8")],
    );
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(
        !page.contains("<img") && !page.contains("<script>alert"),
        "raw markup"
    );
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    if let Some(browser) = chromium() {
        let dom = rendered_dom(&browser, &html);
        assert!(!dom.contains("<img"), "no img element in the parsed page");
        assert_eq!(
            dom.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(dom.contains("onerror=alert(1)&gt;"), "shown as text");
    }
}

/// The text of a Markdown line outside its code spans (a run of N backticks opens a span
/// that only the next run of exactly N closes).
fn outside_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut open: Option<usize> = None;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            match open {
                None => open = Some(run),
                Some(n) if n == run => open = None,
                Some(_) => {}
            }
            i += run;
            continue;
        }
        if open.is_none() {
            out.push(chars[i]);
        }
        i += 1;
    }
    out
}
