//! The report as Markdown, shaped like the reference worklog: a summary of incidents (the
//! first screen), then each incident with its issues, the relationships, bursts and the
//! priority assessment, and the queries that reproduce every figure.
//!
//! Log text is attacker-controlled: every message, template, label and URL goes through
//! [`text`] (Markdown punctuation backslash-escaped, `<`, `>`, `&` as entities, line breaks
//! as spaces), [`code`] (a code span whose backtick fence is longer than any run inside)
//! or [`block`] (a fenced block whose fence is longer than any run inside). So a message
//! cannot open a heading, a link, a table cell, raw HTML or close its own code block.

use std::fmt::Write;

use super::model::{Counted, Effect, Impact, Incident, Issue, IssueStatus, Priority, Report};
use crate::common::numbers::{plural, thousands};

/// Plain text, inert in Markdown (and in the HTML a renderer makes of it).
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            // Inline-active characters; text never starts a line, so list markers are not.
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// An inline code span holding `s` verbatim (on one line).
pub fn code(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_run(&one_line, '`') + 1);
    format!("{fence} {one_line} {fence}")
}

/// A fenced code block holding `s` verbatim.
pub fn block(s: &str, lang: &str) -> String {
    let fence = "`".repeat(longest_run(s, '`').max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", s.trim_end_matches('\n'))
}

fn counted(list: &[Counted], most: usize) -> String {
    let mut parts: Vec<String> = list
        .iter()
        .take(most)
        .map(|c| format!("{} ({})", text(&c.value), thousands(c.n)))
        .collect();
    if list.len() > most {
        parts.push(format!("and {} more", list.len() - most));
    }
    parts.join(", ")
}

/// Renders the whole report.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    summary(&mut o, r);
    let _ = writeln!(o, "\n## Incidents");
    if r.incidents.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for inc in &r.incidents {
        incident(&mut o, r, inc);
    }
    analysis(&mut o, r);
    let _ = writeln!(
        o,
        "\n## Queries Used\nEvery figure above comes from one of these; run them to check it.\n"
    );
    let commands: Vec<String> = r.queries.iter().map(|q| q.command.clone()).collect();
    let _ = write!(o, "{}", block(&commands.join("\n"), "sh"));
    let _ = writeln!(
        o,
        "\n---\n**Incidents:** {} ({} issues)  \n**Highest Priority:** {}",
        r.incidents.len(),
        r.issues.len(),
        r.incidents.first().map_or("none".to_owned(), |i| format!(
            "{} - {}",
            i.priority,
            text(&i.title)
        ))
    );
    o
}

fn header(o: &mut String, r: &Report) {
    let services = if r.services.is_empty() {
        "all services".to_owned()
    } else {
        r.services
            .iter()
            .map(|s| text(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(o, "# GCP Log Gardener Worklog - {services}\n");
    let _ = writeln!(o, "**Generated:** {}  ", r.generated_at);
    let projects: Vec<String> = r.projects.iter().map(|s| text(s)).collect();
    let _ = writeln!(o, "**Projects:** {}  ", projects.join(", "));
    let _ = writeln!(o, "**Services:** {services}  ");
    let _ = writeln!(o, "**Range:** {}  ", r.range.header());
    let by_sev: Vec<String> = r
        .totals
        .severities
        .iter()
        .map(|(s, n)| format!("{s} {}", thousands(*n)))
        .collect();
    let _ = writeln!(
        o,
        "**Totals:** {} entries: {}\n",
        thousands(r.totals.rows),
        by_sev.join(" · ")
    );
}

/// The first screen: one entry per incident, most urgent first.
fn summary(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Summary");
    // Numbers and fixed words only: nothing to escape.
    let end = if r.incidents.is_empty() { '.' } else { ':' };
    let _ = writeln!(o, "{}{end}\n", r.overview());
    for inc in &r.incidents {
        let Some(root) = r.issue(inc.root) else {
            continue;
        };
        let status = if inc.status == IssueStatus::New {
            String::new()
        } else {
            format!(", {}", inc.status)
        };
        let _ = writeln!(
            o,
            "{}. **{} · {}** — {}, {} frequency, {} to {}{status}",
            inc.id,
            inc.priority,
            text(&inc.title),
            plural(inc.count, "problem row", "problem rows"),
            root.frequency,
            short_time(&inc.first_seen),
            short_time(&inc.last_seen),
        );
        if inc.kind == "linked" {
            let _ = writeln!(o, "   - Root cause: #{} ({})", root.id, issue_words(root));
            let _ = writeln!(o, "   - Effects: {}", effects(r, inc, 4));
        } else if inc.kind == "family" {
            let members: Vec<String> = inc
                .issues
                .iter()
                .filter_map(|id| r.issue(*id))
                .map(|i| format!("{} ({})", text(&i.title), thousands(i.count)))
                .collect();
            let _ = writeln!(o, "   - Requests: {}", list(&members, 4));
        }
        let _ = writeln!(o, "   - Why {}: {}", inc.priority, text(&inc.why));
        // The first screen names what a responder acts on: endpoints, statuses, revisions
        // (and services when there are several); user agents wait for the incident.
        let brief = Impact {
            user_agents: Vec::new(),
            services: if r.services.len() > 1 {
                inc.impact.services.clone()
            } else {
                Vec::new()
            },
            ..inc.impact.clone()
        };
        let _ = writeln!(o, "   - Impact: {}", impact(&brief, 3));
    }
}

/// "ERROR, 412 rows of the statement's 9,000, mostly DEBUG, new".
fn issue_words(i: &Issue) -> String {
    let mut s = format!("{}, {}", i.severity, plural(i.count, "row", "rows"));
    if i.total_rows != i.count {
        let _ = write!(
            s,
            " of the statement's {}, mostly {}",
            thousands(i.total_rows),
            i.dominant_severity
        );
    }
    if let Some(n) = &i.novelty {
        let _ = write!(s, ", {n}");
    }
    s
}

/// The effects of a linked incident with their evidence, the first `most` of them.
fn effects(r: &Report, inc: &Incident, most: usize) -> String {
    let parts: Vec<String> = inc
        .effects
        .iter()
        .filter_map(|e| {
            let i = r.issue(e.issue)?;
            Some(format!(
                "#{} {} ({}, {})",
                i.id,
                text(&i.title),
                plural(i.count, "row", "rows"),
                evidence(e)
            ))
        })
        .collect();
    list(&parts, most)
}

/// "same trace or request id, 3.2 ms later, confidence 0.98, lift 40.1".
fn evidence(e: &Effect) -> String {
    let when = if e.lag_ms.abs() < 0.05 {
        "at the same time".to_owned()
    } else if e.lag_ms > 0.0 {
        format!("{:.1} ms later", e.lag_ms)
    } else {
        format!("its request line {:.1} ms earlier", -e.lag_ms)
    };
    format!(
        "{}, {when}, confidence {:.2}, lift {:.1}",
        level_words(&e.level),
        e.confidence,
        e.lift
    )
}

fn list(parts: &[String], most: usize) -> String {
    let mut shown: Vec<String> = parts.iter().take(most).cloned().collect();
    if parts.len() > most {
        shown.push(format!("and {} more", parts.len() - most));
    }
    if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join("; ")
    }
}

fn impact(imp: &Impact, most: usize) -> String {
    let mut parts = Vec::new();
    for (name, list) in [
        ("endpoints", &imp.endpoints),
        ("status codes", &imp.status_codes),
        ("user agents", &imp.user_agents),
        ("services", &imp.services),
        ("revisions", &imp.revisions),
    ] {
        if !list.is_empty() {
            parts.push(format!("{name}: {}", counted(list, most)));
        }
    }
    if parts.is_empty() {
        parts.push("no request, service or revision recorded".to_owned());
    }
    parts.join("; ")
}

/// `2025-09-12T03:53:19.427266Z` -> `2025-09-12 03:53`.
fn short_time(t: &str) -> String {
    t.get(..16)
        .map_or_else(|| t.to_owned(), |s| s.replacen('T', " ", 1))
}

fn incident(o: &mut String, r: &Report, inc: &Incident) {
    let _ = writeln!(
        o,
        "\n### Incident {}: {} ({})",
        inc.id,
        text(&inc.title),
        inc.priority
    );
    let kind = match inc.kind.as_str() {
        "linked" => "a root cause and the issues linked to it",
        "family" => "request signatures that differ only by path or method, one status class",
        _ => "a single issue",
    };
    let _ = writeln!(o, "- **Kind:** {kind}");
    let _ = writeln!(
        o,
        "- **Priority:** {} (rule: {})",
        inc.priority,
        text(&inc.why)
    );
    let _ = writeln!(
        o,
        "- **Count:** {} problem rows{}, {} to {}",
        thousands(inc.count),
        if inc.kind == "family" {
            " (all requests)"
        } else {
            " (root cause)"
        },
        inc.first_seen,
        inc.last_seen
    );
    if inc.kind == "linked" {
        let _ = writeln!(o, "- **Root cause:** Issue #{}", inc.root);
        for e in &inc.effects {
            let _ = writeln!(o, "- **Effect:** Issue #{} — {}", e.issue, evidence(e));
        }
    }
    let _ = writeln!(o, "- **Impact (all issues):** {}", impact(&inc.impact, 5));
    for id in &inc.issues {
        if let Some(i) = r.issue(*id) {
            issue_section(o, i);
        }
    }
}

fn issue_section(o: &mut String, i: &Issue) {
    let _ = writeln!(o, "\n#### Issue {}: {}", i.id, text(&i.title));
    let _ = writeln!(o, "- **Signature:** {}", code(&i.signature_id));
    let _ = writeln!(o, "- **Pattern:** {}", code(&i.template));
    let _ = writeln!(
        o,
        "- **Frequency:** {} - {} ({:.1} per hour)",
        i.frequency, i.frequency_text, i.rate_per_hour
    );
    let _ = writeln!(
        o,
        "- **Severity:** {} ({} of the statement's {} rows are problems; most are {}){}",
        i.severity,
        thousands(i.count),
        thousands(i.total_rows),
        i.dominant_severity,
        i.novelty.map_or_else(String::new, |n| format!(" — {n}"))
    );
    let _ = writeln!(
        o,
        "- **Priority:** {} (rule: {})",
        i.priority,
        text(&i.priority_rule)
    );
    let _ = writeln!(o, "- **Impact:** {}", impact(&i.impact, 5));
    let _ = writeln!(o, "- **First seen:** {}", i.first_seen);
    let _ = writeln!(o, "- **Last seen:** {}", i.last_seen);
    let recent: Vec<&str> = i.recent.iter().map(|x| x.timestamp.as_str()).collect();
    let _ = writeln!(o, "- **Recent Occurrences:** {}", recent.join(", "));
    let trend: Vec<String> = i
        .trend
        .iter()
        .map(|d| format!("{} {}", d.day, thousands(d.n)))
        .collect();
    let _ = writeln!(o, "- **Trend per day:** {}", trend.join(" · "));
    if !i.related.is_empty() {
        let rel: Vec<String> = i.related.iter().map(|x| format!("#{x}")).collect();
        let _ = writeln!(o, "- **Linked with:** {}", rel.join(", "));
    }
    if let Some(t) = &i.tracker {
        let _ = writeln!(o, "- **Tracker:** {} ({})", text(t), i.status);
    }
    if let Some(s) = i.samples.first() {
        let _ = writeln!(o, "- **Log Sample:**\n");
        let _ = write!(o, "{}", indent(&block(&s.line, "")));
        let raw = serde_json::to_string_pretty(&s.entry).unwrap_or_default();
        let _ = writeln!(o, "\n  Raw entry:\n");
        let _ = write!(o, "{}", indent(&block(&raw, "json")));
    }
}

/// Relationships, bursts and the priority assessment.
fn analysis(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Technical Analysis\n\n### Root Cause Relationships");
    if r.relationships.is_empty() {
        let _ = writeln!(o, "No linked issues.");
    }
    for (k, rel) in r.relationships.iter().enumerate() {
        let _ = writeln!(
            o,
            "{}. **Issues #{} & #{} are linked** — #{} comes first; evidence: {}, median lag \
             {:.1} ms, confidence {:.2} / {:.2}, lift {:.1}, significance {:.1} (-log10 p)",
            k + 1,
            rel.issue_a,
            rel.issue_b,
            rel.issue_a,
            level_words(&rel.level),
            rel.lag_ms,
            rel.confidence_ab,
            rel.confidence_ba,
            rel.lift,
            rel.significance
        );
    }
    let _ = writeln!(o, "\n### Bursts");
    if r.bursts.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for b in &r.bursts {
        let who = b
            .issue
            .map_or_else(|| code(&b.template), |i| format!("Issue #{i}"));
        let _ = writeln!(
            o,
            "- {} at {}: {} against a baseline of {:.1} (z = {:.1})",
            who,
            b.window_start,
            plural(b.n, "row", "rows"),
            b.baseline,
            b.z
        );
    }
    let _ = writeln!(o, "\n### Priority Assessment");
    for (p, label) in [
        (Priority::P0, "Blocking"),
        (Priority::P1, "High"),
        (Priority::P2, "Medium"),
        (Priority::P3, "Low"),
    ] {
        let ids = r
            .priority_assessment
            .get(&p)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let names: Vec<String> = ids
            .iter()
            .filter_map(|id| r.incidents.get(id.wrapping_sub(1)))
            .map(|i| format!("{} (incident {})", text(&i.title), i.id))
            .collect();
        let _ = writeln!(
            o,
            "- **{p} ({label}):** {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
    }
}

/// One ready-to-file tracker issue per new incident: (file name, Markdown), the worklog's
/// "next actions". The title line names the root cause, in plain text for a tracker's
/// title field; the effects follow with their evidence.
pub fn drafts(r: &Report) -> Vec<(String, String)> {
    r.incidents
        .iter()
        .filter(|inc| inc.status == IssueStatus::New)
        .filter_map(|inc| Some((inc, r.issue(inc.root)?)))
        .map(|(inc, root)| (draft_name(inc), draft(r, inc, root)))
        .collect()
}

/// `001-p0-title-words.md`.
fn draft_name(inc: &Incident) -> String {
    let slug: String = inc
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    format!(
        "{:03}-{}-{slug}.md",
        inc.id,
        inc.priority.to_string().to_ascii_lowercase()
    )
}

/// One incident as an issue to file: what, effects, a sample, how to reproduce.
fn draft(r: &Report, inc: &Incident, root: &Issue) -> String {
    let mut o = String::new();
    let title_line: String = inc.title.replace(['\n', '\r'], " ");
    let _ = writeln!(o, "[{}] {}\n", inc.priority, title_line);
    let _ = writeln!(o, "Labels: `{}`, `log-gardener`\n", inc.priority);
    let _ = writeln!(o, "## What");
    let _ = writeln!(o, "- **Root cause:** {}", code(&root.template));
    let _ = writeln!(o, "- **Signature:** {}", code(&root.signature_id));
    let _ = writeln!(
        o,
        "- **Frequency:** {} - {}",
        root.frequency, root.frequency_text
    );
    let _ = writeln!(
        o,
        "- **Severity / priority:** {} / {} (rule: {})",
        root.severity,
        inc.priority,
        text(&inc.why)
    );
    let _ = writeln!(
        o,
        "- **First / last seen:** {} / {}",
        inc.first_seen, inc.last_seen
    );
    for (name, list) in [
        ("Endpoints", &inc.impact.endpoints),
        ("Status codes", &inc.impact.status_codes),
        ("Revisions", &inc.impact.revisions),
    ] {
        if !list.is_empty() {
            let _ = writeln!(o, "- **{name}:** {}", counted(list, 5));
        }
    }
    let members: Vec<String> = inc.issues[1..]
        .iter()
        .filter_map(|id| r.issue(*id))
        .map(|i| {
            let why = inc
                .effects
                .iter()
                .find(|e| e.issue == i.id)
                .map_or_else(String::new, |e| format!(": {}", evidence(e)));
            format!(
                "{} ({}, {}){why}\n  {}",
                text(&i.title),
                i.priority,
                plural(i.count, "row", "rows"),
                code(&i.signature_id)
            )
        })
        .collect();
    if !members.is_empty() {
        let heading = if inc.kind == "family" {
            "Also"
        } else {
            "Effects"
        };
        let _ = writeln!(o, "\n## {heading}\n- {}", members.join("\n- "));
    }
    if let Some(sample) = root.samples.first() {
        let _ = writeln!(o, "\n## Sample\n");
        let _ = write!(o, "{}", block(&sample.line, ""));
    }
    let _ = writeln!(o, "\n## Reproduce\n");
    let since = r.range.since.as_deref().unwrap_or("7d");
    let mut cmd = format!("gardener query --lake {} --since {since}", r.lake);
    if let Some(u) = &r.range.until {
        cmd.push_str(&format!(" --until {u}"));
    }
    let ids: Vec<String> = inc.members.iter().map(|s| format!("'{s}'")).collect();
    cmd.push_str(&format!(
        " \\\n  \"SELECT timestamp, severity, message FROM logs WHERE signature_id IN ({}) ORDER BY timestamp DESC LIMIT 20\"",
        ids.join(", ")
    ));
    let _ = write!(o, "{}", block(&cmd, "sh"));
    o
}

fn level_words(level: &str) -> &'static str {
    match level {
        "same_id" => "the same trace or request id",
        "lag" => "within the lag",
        _ => "the same window",
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_the_layout() {
        let hostile =
            "# heading | cell [link](http://x) <script>alert(1)</script> `code` *b*\nnext";
        let t = text(hostile);
        assert!(!t.contains('\n'));
        assert!(!t.contains("<script>"), "{t}");
        assert!(t.starts_with("\\#"), "{t}");
        assert!(t.contains("\\|") && t.contains("\\[link\\]\\(") && t.contains("\\`code\\`"));
        // Every Markdown-active character is escaped: none is left bare.
        let mut prev_backslash = false;
        for c in t.chars() {
            if "`*_[]()#|".contains(c) {
                assert!(prev_backslash, "bare {c} in {t}");
            }
            prev_backslash = c == '\\' && !prev_backslash;
        }
    }

    #[test]
    fn code_spans_and_blocks_hold_any_backticks() {
        let s = "a ``` b ` c";
        let span = code(s);
        assert!(
            span.starts_with("```` ") && span.ends_with(" ````"),
            "{span}"
        );
        let b = block("line\n```\nnot the end", "");
        assert!(b.starts_with("````\n") && b.ends_with("\n````\n"), "{b}");
    }
}
