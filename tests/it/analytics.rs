//! The named analytics on the synth netra-staging week, whose causes are known by
//! construction: the service auth 403 makes the DB session failure (same request id), the
//! ASGI scope error makes the GET /ws 500 (same trace), worker crashes make 503s (no shared
//! id, a rare cause), and the SessionMiddleware warning comes with every health check,
//! caused by nothing and causing nothing.

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::Value;

/// The id of the one signature whose template contains `needle`.
fn signature(lake: &std::path::Path, needle: &str) -> String {
    let rows = json_rows(
        lake,
        &[&format!(
            "SELECT signature_id FROM signatures WHERE strpos(template, '{needle}') > 0"
        )],
    );
    assert_eq!(rows.len(), 1, "{needle}: {rows:?}");
    rows[0]["signature_id"].as_str().expect("id").to_owned()
}

fn pair(r: &Value) -> BTreeSet<String> {
    ["signature_a", "signature_b"]
        .iter()
        .map(|k| r[*k].as_str().expect("signature").to_owned())
        .collect()
}

#[test]
fn analytics_find_the_weeks_causes_bursts_and_news() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    synth(&d.join("sink"), &["--rate", "0.25"]);
    let lake = d.join("lake");
    ingest(&lake, &[d.join("sink").to_str().expect("utf8")]);

    let auth = signature(&lake, "CRITICAL_AUTH_FAILURE");
    let db = signature(&lake, "Failed to create request-scoped database session");
    let asgi = signature(&lake, "ASGI scope error");
    let ws = signature(&lake, "GET /ws 500");
    let session = signature(&lake, "Session access failed");
    let crash = signature(&lake, "Worker (pid:");
    let unavailable = signature(&lake, "POST /api/agents/run 503");

    let co = json_rows(&lake, &["--named", "co_occurrence"]);
    let linked: Vec<&Value> = co.iter().filter(|r| r["linked"] == true).collect();
    // The two worklog links carry the strongest evidence, on the shared id, cause first.
    let top: Vec<BTreeSet<String>> = linked.iter().take(2).map(|r| pair(r)).collect();
    for (a, b) in [(&auth, &db), (&asgi, &ws)] {
        let want = BTreeSet::from([a.clone(), b.clone()]);
        assert!(top.contains(&want), "{a} <-> {b} in the top two: {top:?}");
        let row = linked.iter().find(|r| pair(r) == want).expect("row");
        assert_eq!(row["level"], "same_id", "{row}");
        assert_eq!(row["signature_a"].as_str(), Some(a.as_str()), "cause first");
        assert_eq!(row["confidence_ab"].as_f64(), Some(1.0), "{row}");
        assert!(row["median_lag_ms"].as_f64().expect("lag") > 0.0);
    }
    // The rare cause without a shared id: 12 worker crashes and their 503s.
    let crash_pair = BTreeSet::from([crash.clone(), unavailable.clone()]);
    let row = linked
        .iter()
        .find(|r| pair(r) == crash_pair)
        .unwrap_or_else(|| panic!("crash -> 503 linked: {linked:?}"));
    assert_eq!(row["signature_a"].as_str(), Some(crash.as_str()));
    assert_eq!(row["level"], "lag");
    // The frequent warning co-occurs with everything and is linked to nothing.
    assert!(
        co.iter()
            .any(|r| pair(r).contains(&session) && r["support_lag"].as_u64() > Some(0)),
        "the warning is tested"
    );
    for r in &linked {
        assert!(!pair(r).contains(&session), "linked to the warning: {r}");
    }
    // Every linked row meets the documented thresholds.
    for r in &linked {
        assert!(r["lift"].as_f64() >= Some(2.0) && r["significance"].as_f64() >= Some(6.0));
    }

    // Bursts: the crash hour, for the crashes and the 503s; nothing from steady signatures.
    let bursts = json_rows(&lake, &["--named", "bursts"]);
    let bursting: BTreeSet<&str> = bursts
        .iter()
        .filter_map(|r| r["signature_id"].as_str())
        .collect();
    assert!(bursting.contains(crash.as_str()) && bursting.contains(unavailable.as_str()));
    for steady in [&session, &asgi, &auth] {
        assert!(!bursting.contains(steady.as_str()), "{steady}: {bursts:?}");
    }
    let crash_hour = bursts
        .iter()
        .find(|r| r["signature_id"] == crash.as_str())
        .expect("crash burst");
    assert_eq!(crash_hour["n"].as_u64(), Some(12));

    // New: the crash signatures appear on day 4; the week's steady problems are not new.
    let news = json_rows(&lake, &["--named", "new_and_rising"]);
    let new: BTreeSet<&str> = news
        .iter()
        .filter(|r| r["status"] == "new")
        .filter_map(|r| r["signature_id"].as_str())
        .collect();
    assert!(
        new.contains(crash.as_str()) && new.contains(unavailable.as_str()),
        "{news:?}"
    );
    for old in [&session, &asgi, &auth, &db, &ws] {
        assert!(!new.contains(old.as_str()), "{old} is not new");
    }
    // A range that starts after the crash sees nothing new from it.
    let late = json_rows(&lake, &["--since", "1d", "--named", "new_and_rising"]);
    assert!(
        late.iter().all(|r| r["signature_id"] != crash.as_str()),
        "{late:?}"
    );
}
