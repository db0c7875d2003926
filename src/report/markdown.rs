//! The report as Markdown, shaped like the reference worklog.
//!
//! Log text is attacker-controlled: every message, template, label and URL goes through
//! [`text`] (Markdown punctuation backslash-escaped, `<`, `>`, `&` as entities, line breaks
//! as spaces), [`code`] (a code span whose backtick fence is longer than any run inside)
//! or [`block`] (a fenced block whose fence is longer than any run inside). So a message
//! cannot open a heading, a link, a table cell, raw HTML or close its own code block.

use std::fmt::Write;

use super::gather::thousands;
use super::model::{Counted, Report};

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
    let _ = writeln!(
        o,
        "**Projects:** {}  ",
        r.projects
            .iter()
            .map(|s| text(s))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(o, "**Services:** {services}  ");
    let _ = writeln!(
        o,
        "**Range:** {} to {} ({} days)  ",
        r.range
            .since
            .as_deref()
            .or(r.range.first_entry.as_deref())
            .unwrap_or("-"),
        r.range
            .until
            .as_deref()
            .or(r.range.last_entry.as_deref())
            .unwrap_or("-"),
        r.range.days
    );
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

    let _ = writeln!(o, "## Summary");
    let _ = writeln!(
        o,
        "{} issues from every line of the range (signatures with severity >= WARNING or HTTP \
         status >= 500, or promoted by a rule){}:\n",
        r.issues.len(),
        if r.muted > 0 {
            format!("; {} muted", r.muted)
        } else {
            String::new()
        }
    );
    for i in &r.issues {
        let _ = writeln!(
            o,
            "{}. **{}** ({} - {} frequency, {}) — {}{}",
            i.id,
            text(&i.title),
            i.priority,
            i.frequency,
            i.severity,
            thousands(i.count),
            if i.status == "new" {
                String::new()
            } else {
                format!(" — {}", i.status)
            }
        );
    }

    let _ = writeln!(o, "\n## Discovered Issues");
    for i in &r.issues {
        let _ = writeln!(o, "\n### Issue {}: {}", i.id, text(&i.title));
        let _ = writeln!(o, "- **Signature:** {}", code(&i.signature_id));
        let _ = writeln!(o, "- **Pattern:** {}", code(&i.template));
        let _ = writeln!(
            o,
            "- **Frequency:** {} - {} ({:.1} per hour)",
            i.frequency, i.frequency_text, i.rate_per_hour
        );
        let _ = writeln!(o, "- **Severity:** {}", i.severity);
        let _ = writeln!(
            o,
            "- **Priority:** {} (rule: {})",
            i.priority,
            text(&i.priority_rule)
        );
        let mut impact = Vec::new();
        for (name, list) in [
            ("endpoints", &i.impact.endpoints),
            ("status codes", &i.impact.status_codes),
            ("user agents", &i.impact.user_agents),
            ("services", &i.impact.services),
            ("revisions", &i.impact.revisions),
        ] {
            if !list.is_empty() {
                impact.push(format!("{name}: {}", counted(list, 5)));
            }
        }
        if impact.is_empty() {
            impact.push("no request, service or revision recorded".to_owned());
        }
        let _ = writeln!(o, "- **Impact:** {}", impact.join("; "));
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
    let linked: std::collections::BTreeSet<usize> = r
        .relationships
        .iter()
        .flat_map(|x| [x.issue_a, x.issue_b])
        .collect();
    let independent: Vec<String> = r
        .issues
        .iter()
        .filter(|i| !linked.contains(&i.id))
        .map(|i| format!("#{}", i.id))
        .collect();
    if !independent.is_empty() {
        let _ = writeln!(
            o,
            "\nIndependent (linked to no other issue): {}",
            independent.join(", ")
        );
    }
    if !r.incidents.is_empty() {
        let _ = writeln!(o, "\n### Incidents");
        for inc in &r.incidents {
            let members: Vec<String> = inc.issues.iter().map(|x| format!("#{x}")).collect();
            let _ = writeln!(
                o,
                "- Incident {}: issues {} (starts with #{})",
                inc.id,
                members.join(", "),
                inc.root
            );
        }
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
            "- {} at {}: {} rows against a baseline of {:.1} (z = {:.1})",
            who,
            b.window_start,
            thousands(b.n),
            b.baseline,
            b.z
        );
    }
    let _ = writeln!(o, "\n### Priority Assessment");
    for (p, label) in [
        ("P0", "Blocking"),
        ("P1", "High"),
        ("P2", "Medium"),
        ("P3", "Low"),
    ] {
        let ids = r
            .priority_assessment
            .get(p)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let names: Vec<String> = ids
            .iter()
            .filter_map(|id| r.issues.iter().find(|i| i.id == *id))
            .map(|i| format!("{} (#{})", text(&i.title), i.id))
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
    let _ = writeln!(
        o,
        "\n## Queries Used\nEvery figure above comes from one of these; run them to check it.\n"
    );
    let commands: Vec<String> = r.queries.iter().map(|q| q.command.clone()).collect();
    let _ = write!(o, "{}", block(&commands.join("\n"), "sh"));
    let _ = writeln!(
        o,
        "\n---\n**Total Issues Identified:** {}  \n**Highest Priority:** {}",
        r.issues.len(),
        r.issues.first().map_or("none".to_owned(), |i| format!(
            "{} - {}",
            i.priority,
            text(&i.title)
        ))
    );
    o
}

/// One ready-to-file tracker issue per new issue: (file name, Markdown), the worklog's
/// "next actions". The title line is plain text for a tracker's title field.
pub fn drafts(r: &Report) -> Vec<(String, String)> {
    r.issues
        .iter()
        .filter(|i| i.status == "new")
        .map(|i| {
            let slug: String = i
                .title
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
                .collect::<String>()
                .split('-')
                .filter(|w| !w.is_empty())
                .take(8)
                .collect::<Vec<_>>()
                .join("-");
            let name = format!("{:03}-{}-{slug}.md", i.id, i.priority.to_ascii_lowercase());
            let mut o = String::new();
            let title_line: String = i.title.replace(['\n', '\r'], " ");
            let _ = writeln!(o, "[{}] {}\n", i.priority, title_line);
            let _ = writeln!(o, "Labels: `{}`, `log-gardener`\n", i.priority);
            let _ = writeln!(o, "## What");
            let _ = writeln!(o, "- **Pattern:** {}", code(&i.template));
            let _ = writeln!(o, "- **Signature:** {}", code(&i.signature_id));
            let _ = writeln!(
                o,
                "- **Frequency:** {} - {}",
                i.frequency, i.frequency_text
            );
            let _ = writeln!(
                o,
                "- **Severity / priority:** {} / {} (rule: {})",
                i.severity,
                i.priority,
                text(&i.priority_rule)
            );
            let _ = writeln!(o, "- **First / last seen:** {} / {}", i.first_seen, i.last_seen);
            for (name, list) in [
                ("Endpoints", &i.impact.endpoints),
                ("Status codes", &i.impact.status_codes),
                ("Revisions", &i.impact.revisions),
            ] {
                if !list.is_empty() {
                    let _ = writeln!(o, "- **{name}:** {}", counted(list, 5));
                }
            }
            let links: Vec<String> = r
                .relationships
                .iter()
                .filter(|x| x.issue_a == i.id || x.issue_b == i.id)
                .filter_map(|x| {
                    let other = if x.issue_a == i.id { x.issue_b } else { x.issue_a };
                    let o = r.issues.iter().find(|j| j.id == other)?;
                    Some(format!(
                        "{} ({} {}, {}, confidence {:.2}, lift {:.1})",
                        text(&o.title),
                        o.priority,
                        if x.issue_a == i.id { "follows it" } else { "comes first" },
                        level_words(&x.level),
                        x.confidence,
                        x.lift
                    ))
                })
                .collect();
            if !links.is_empty() {
                let _ = writeln!(o, "\n## Related\n- {}", links.join("\n- "));
            }
            if let Some(sample) = i.samples.first() {
                let _ = writeln!(o, "\n## Sample\n");
                let _ = write!(o, "{}", block(&sample.line, ""));
            }
            let _ = writeln!(o, "\n## Reproduce\n");
            let since = r.range.since.as_deref().unwrap_or("7d");
            let mut cmd = format!(
                "gardener query --lake {} --since {since}",
                r.lake
            );
            if let Some(u) = &r.range.until {
                cmd.push_str(&format!(" --until {u}"));
            }
            cmd.push_str(&format!(
                " \\\n  \"SELECT timestamp, severity, message FROM logs WHERE signature_id = '{}' ORDER BY timestamp DESC LIMIT 20\"",
                i.signature_id
            ));
            let _ = write!(o, "{}", block(&cmd, "sh"));
            (name, o)
        })
        .collect()
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
