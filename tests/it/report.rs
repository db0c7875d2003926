//! `gardener report` end to end: the reference worklog's assessment on the synth week,
//! the JSON schema, and log text that tries to break the Markdown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::*;
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
    assert_eq!(json["schema_version"], 2);
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

    // Incidents: the reference's five problems are exactly three, with its priorities,
    // and the week is a handful of incidents, not a list of signatures.
    let incidents = json["incidents"].as_array().expect("incidents");
    let summary: Vec<String> = incidents
        .iter()
        .map(|i| format!("{} {} {} {}", i["id"], i["priority"], i["kind"], i["title"]))
        .collect();
    assert!(
        incidents.len() <= 12,
        "{} incidents: {summary:#?}",
        incidents.len()
    );
    let holding = |id: u64| -> &Value {
        incidents
            .iter()
            .find(|i| {
                i["issues"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x.as_u64() == Some(id)))
            })
            .expect("every issue is in an incident")
    };
    let auth_incident = holding(auth);
    assert_eq!(auth_incident["root"].as_u64(), Some(auth), "{summary:#?}");
    assert_eq!(auth_incident["priority"], "P0");
    assert_eq!(holding(db)["id"], auth_incident["id"]);
    let asgi_incident = holding(asgi);
    assert_eq!(asgi_incident["root"].as_u64(), Some(asgi), "{summary:#?}");
    assert_eq!(asgi_incident["priority"], "P1");
    assert_eq!(holding(ws_id)["id"], asgi_incident["id"]);
    let session_incident = holding(session);
    assert_eq!(session_incident["kind"], "single");
    assert_eq!(session_incident["priority"], "P2");
    let distinct: BTreeSet<u64> = [auth_incident, asgi_incident, session_incident]
        .iter()
        .filter_map(|i| i["id"].as_u64())
        .collect();
    assert_eq!(distinct.len(), 3);
    // The psycopg OperationalError is the root of the endpoint 500s it broke.
    let operational = issues
        .iter()
        .find(|i| {
            i["template"]
                .as_str()
                .is_some_and(|t| t.contains("OperationalError") && !t.contains(" 500"))
        })
        .expect("the OperationalError issue");
    let op_incident = holding(operational["id"].as_u64().expect("id"));
    assert_eq!(op_incident["root"], operational["id"], "{summary:#?}");
    let endpoint_500s: Vec<&Value> = issues
        .iter()
        .filter(|i| {
            i["template"].as_str().is_some_and(|t| {
                t.ends_with(" 500") && t.contains(" /api/") && t.split(' ').count() == 3
            })
        })
        .collect();
    assert!(endpoint_500s.len() >= 5, "{}", endpoint_500s.len());
    let status_500 = |impact: &Value| -> u64 {
        impact["status_codes"]
            .as_array()
            .and_then(|s| s.iter().find(|c| c["value"] == "500"))
            .and_then(|c| c["n"].as_u64())
            .unwrap_or(0)
    };
    let mut failed_requests = 0;
    for e in &endpoint_500s {
        assert_eq!(
            holding(e["id"].as_u64().expect("id"))["id"],
            op_incident["id"],
            "{} is an effect of the OperationalError",
            e["template"]
        );
        failed_requests += status_500(&e["impact"]);
    }
    // Its impact counts every endpoint's failed requests, not the largest endpoint's.
    assert!(
        status_500(&op_incident["impact"]) >= failed_requests,
        "500s: {} for {failed_requests} failed requests",
        status_500(&op_incident["impact"])
    );
    // Ordered by priority; issues numbered in incident order, root cause first.
    let priorities: Vec<&str> = incidents
        .iter()
        .filter_map(|i| i["priority"].as_str())
        .collect();
    let mut sorted = priorities.clone();
    sorted.sort();
    assert_eq!(priorities, sorted);
    assert_eq!(incidents[0]["priority"], "P0");
    let numbering: Vec<u64> = incidents
        .iter()
        .flat_map(|i| i["issues"].as_array().cloned().unwrap_or_default())
        .filter_map(|x| x.as_u64())
        .collect();
    assert_eq!(numbering, (1..=issues.len() as u64).collect::<Vec<_>>());
    for inc in incidents {
        for key in [
            "id",
            "title",
            "priority",
            "why",
            "kind",
            "root",
            "root_cause",
            "issues",
            "members",
            "count",
            "first_seen",
            "last_seen",
            "impact",
        ] {
            assert!(inc.get(key).is_some(), "incident field {key}");
        }
        assert_eq!(inc["members"][0], inc["root_cause"]);
    }
    let titles: BTreeSet<&str> = incidents
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert_eq!(titles.len(), incidents.len(), "unique titles: {summary:#?}");
    // `query --named incidents` shows the same incidents.
    let table = json_rows(&lake, &["--named", "incidents", "--since", "7d"]);
    assert_eq!(table.len(), incidents.len());
    for (row, inc) in table.iter().zip(incidents) {
        assert_eq!(row["title"], inc["title"]);
        assert_eq!(row["priority"], inc["priority"]);
        assert_eq!(row["root_cause"], inc["root_cause"]);
        assert_eq!(row["count"], inc["count"]);
    }

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

    // Markdown: the same incidents and issues, in the worklog's sections.
    let md = report(&lake, &[]);
    for section in [
        "## Summary",
        "## Incidents",
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
    let linked = incidents.iter().filter(|i| i["kind"] == "linked").count();
    assert_eq!(
        charts,
        1 + linked + incidents.len() + issues.len(),
        "severities, a graph per linked incident, a sparkline per incident and per issue"
    );
    if let Some(browser) = chromium() {
        let dom = rendered_dom(&browser, &html);
        assert!(
            dom.contains(&format!("data-charts-rendered=\"{charts}/{charts}\"")),
            "every chart rendered with a non-empty box"
        );
    }

    // --drafts: one ready-to-file issue per new incident, named by id and priority.
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
    assert_eq!(files.len(), incidents.len(), "one draft per (new) incident");
    let auth_incident_id = auth_incident["id"].as_u64().expect("id");
    let p0 = files
        .iter()
        .find(|f| {
            f.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(&format!("{auth_incident_id:03}-p0-"))
            })
        })
        .expect("the P0 draft");
    let body = std::fs::read_to_string(p0).expect("draft");
    assert!(body.starts_with("[P0] "), "{body}");
    let sig = find("CRITICAL_AUTH_FAILURE")["signature_id"]
        .as_str()
        .expect("sig");
    let db_sig = find("Failed to create request-scoped database session")["signature_id"]
        .as_str()
        .expect("sig");
    assert!(
        body.contains(sig)
            && body.contains(db_sig)
            && body.contains("## Reproduce")
            && body.contains("## Effects"),
        "{body}"
    );

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

/// A statement logged 10,000 times at DEBUG and 3 times at ERROR (numeric-severity copies):
/// its issue is those 3 rows, "occasional", at most P3, and not among the first incidents.
#[test]
fn stray_rows_do_not_promote_a_quiet_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut lines = String::new();
    let mut push = |k: usize, severity: &str, msg: String| {
        let minute = k % (48 * 60);
        lines.push_str(
            &serde_json::to_string(&serde_json::json!({
                "timestamp": format!("2025-09-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                    10 + minute / 1440, minute / 60 % 24, minute % 60, k % 60, k),
                "severity": severity,
                "textPayload": msg,
                "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
                "resource": {"type": "cloud_run_revision",
                             "labels": {"service_name": "ledger", "revision_name": "ledger-001"}},
                "insertId": format!("i{k}"),
            }))
            .expect("json"),
        );
        lines.push('\n');
    };
    for k in 0..10_000 {
        push(
            k,
            "DEBUG",
            format!("Balance cache refreshed for account {k} in {} ms", k % 97),
        );
    }
    for k in 0..3 {
        push(
            20_000 + k,
            "ERROR",
            format!("Balance cache refreshed for account {k} in 5 ms"),
        );
    }
    for k in 0..40 {
        push(
            30_000 + k * 7,
            "ERROR",
            format!("Payment provider timeout after 30s for order {}", 9000 + k),
        );
    }
    for k in 0..60 {
        push(
            40_000 + k * 11,
            "WARNING",
            format!("Retrying ledger write {k} after conflict"),
        );
    }
    let file = d.join("stray.jsonl");
    std::fs::write(&file, lines).expect("write");
    let lake = d.join("lake");
    ingest(&lake, &[file.to_str().expect("utf8")]);
    let json: Value = serde_json::from_str(&report(&lake, &["--format", "json", "--since", "30d"]))
        .expect("json");
    let issues = json["issues"].as_array().expect("issues");
    let stray = issues
        .iter()
        .find(|i| {
            i["template"]
                .as_str()
                .is_some_and(|t| t.contains("cache refreshed"))
        })
        .expect("the stray rows are an issue");
    assert_eq!(stray["count"], 3, "{stray}");
    assert_eq!(stray["total_rows"], 10_003);
    assert_eq!(stray["dominant_severity"], "DEBUG");
    assert_eq!(stray["occasional"], true);
    assert_eq!(stray["priority"], "P3", "{}", stray["priority_rule"]);
    assert!(
        stray["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Occasional ERROR in a DEBUG statement")),
        "{}",
        stray["title"]
    );
    let incidents = json["incidents"].as_array().expect("incidents");
    let position = |needle: &str| {
        incidents
            .iter()
            .position(|i| i["title"].as_str().is_some_and(|t| t.contains(needle)))
            .expect(needle)
    };
    assert!(position("cache refreshed") > position("Payment provider timeout"));
    assert_eq!(incidents.len(), 3);
    assert_eq!(
        position("cache refreshed"),
        2,
        "last, after the real problems"
    );
}

/// The real entries (three weeks of a company's Cloud Run debugging sessions): a triage a
/// person would keep: distinct titles without dangling words, a revision that cannot start
/// ranked, and no incident swallowing the week.
#[test]
fn real_entries_make_a_usable_triage() {
    let Some(shared) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("lake");
    let entries = shared.join("netra_real/entries.jsonl");
    ingest(&lake, &[entries.to_str().expect("utf8")]);
    let json: Value = serde_json::from_str(&report(&lake, &["--format", "json", "--since", "60d"]))
        .expect("json");
    let issues = json["issues"].as_array().expect("issues");
    let incidents = json["incidents"].as_array().expect("incidents");
    let summary: Vec<String> = incidents
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {}",
                i["priority"], i["kind"], i["issues"], i["title"]
            )
        })
        .collect();
    let titles: BTreeSet<&str> = incidents
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert_eq!(titles.len(), incidents.len(), "shared titles: {summary:#?}");
    let connectors = [
        "a", "an", "the", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
        "to", "with", "-",
    ];
    for t in titles.iter().chain(
        issues
            .iter()
            .filter_map(|i| i["title"].as_str())
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let words: Vec<&str> = t.trim_end_matches('…').split_whitespace().collect();
        let bare = |w: &&str| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .to_ascii_lowercase()
        };
        // An article may open a sentence; nothing of the list may end one.
        let first = words.first().map(bare).unwrap_or_default();
        let last = words.last().map(bare).unwrap_or_default();
        assert!(
            !connectors[3..].contains(&first.as_str()),
            "dangling {first:?} in {t:?}"
        );
        assert!(
            !connectors.contains(&last.as_str()),
            "dangling {last:?} in {t:?}"
        );
    }
    let module = incidents
        .iter()
        .find(|i| {
            i["members"].as_array().is_some_and(|m| {
                m.iter().any(|sig| {
                    issues.iter().any(|x| {
                        x["signature_id"] == *sig
                            && x["template"]
                                .as_str()
                                .is_some_and(|t| t.contains("ModuleNotFoundError"))
                    })
                })
            })
        })
        .expect("the ModuleNotFoundError incident");
    assert!(
        module["priority"].as_str().is_some_and(|p| p <= "P2"),
        "{}: {}",
        module["priority"],
        module["why"]
    );
    let largest = incidents
        .iter()
        .filter_map(|i| i["issues"].as_array().map(Vec::len))
        .max()
        .unwrap_or(0);
    assert!(
        largest * 4 <= issues.len(),
        "an incident holds {largest} of {} issues: {summary:#?}",
        issues.len()
    );
}

/// A range without problem rows says so, in Markdown and HTML, instead of "0 incidents from
/// 0 issues ...:" over an empty list.
#[test]
fn a_quiet_range_says_there_is_nothing_to_triage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("quiet.ndjson");
    let lines: String = (0..30)
        .map(|k| {
            format!(
                "{{\"timestamp\":\"2025-09-10T10:00:{k:02}Z\",\"severity\":\"INFO\",\
                 \"insertId\":\"q{k}\",\"logName\":\"projects/p/logs/app\",\
                 \"textPayload\":\"cache warmed in {k} ms\"}}\n"
            )
        })
        .collect();
    std::fs::write(&export, lines).expect("write");
    let lake = dir.path().join("lake");
    ingest(&lake, &[&export.to_string_lossy()]);
    let md = report(&lake, &["--since", "3000d"]);
    assert!(
        md.contains("No problems in range: none of the 30 entries is WARNING or worse"),
        "{md}"
    );
    assert!(!md.contains("0 incidents"), "{md}");
    let incidents = md.split("## Incidents").nth(1).expect("incidents section");
    assert!(incidents.trim_start().starts_with("None."), "{md}");
    let html = report(&lake, &["--since", "3000d", "--format", "html"]);
    assert!(html.contains("No problems in range"), "{html}");
    assert!(
        !html.contains("<th>Incident</th>"),
        "an empty table: {html}"
    );
}
