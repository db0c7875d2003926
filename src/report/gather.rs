//! Runs the named queries and assembles the [`Report`]: which signatures are issues, their
//! priority, impact, samples and trend, the relationships between them, incidents, bursts.
//! Every figure comes from a query recorded in [`Report::queries`] with the command that
//! reproduces it.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::ReportError;
use super::model::*;
use super::priority::{FREQUENCIES, Facts, Rules, severity_number};
use crate::decode::time::{Nanos, format_rfc3339, parse_rfc3339};
use crate::engine::{Engine, named, output};

type Row = Map<String, Value>;

/// How the report is made.
pub struct Options {
    pub rules: Rules,
    /// The lake as the user named it (for the reproduction commands).
    pub lake: String,
    pub service: Option<String>,
    pub known: super::known::Known,
    /// When the report is made (RFC 3339).
    pub generated_at: String,
}

/// Occurrences listed per issue.
const RECENT: usize = 5;

fn text(row: &Row, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn int(row: &Row, key: &str) -> u64 {
    row.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn float(row: &Row, key: &str) -> f64 {
    row.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// VERY HIGH (one every 10 s or more often), HIGH (every 2 min), MEDIUM (every hour), LOW.
pub fn frequency_class(rate_per_hour: f64) -> usize {
    match rate_per_hour {
        r if r >= 360.0 => 3,
        r if r >= 30.0 => 2,
        r if r >= 1.0 => 1,
        _ => 0,
    }
}

/// "~1 every 8 s; 75,604 in 7 days".
fn frequency_text(count: u64, rate_per_hour: f64, days: f64) -> String {
    let every = if rate_per_hour > 0.0 {
        3600.0 / rate_per_hour
    } else {
        f64::INFINITY
    };
    let interval = match every {
        s if s < 90.0 => format!("{:.0} s", s.max(1.0)),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s if s < 129_600.0 => format!("{:.0} h", s / 3600.0),
        s if s.is_finite() => format!("{:.0} days", s / 86_400.0),
        _ => "—".to_owned(),
    };
    let days = if (days - days.round()).abs() < 0.05 {
        format!("{:.0}", days.round())
    } else {
        format!("{days:.1}")
    };
    format!("~1 every {interval}; {} in {days} days", thousands(count))
}

/// 75604 -> "75,604" (the ingest summary's formatting).
pub use crate::ingest::summary::thousands;

/// A short title from a template: the exception line of a traceback, without severity
/// prefixes and masked values, cut at the first sentence or clause.
pub fn title(template: &str) -> String {
    let mut t = template;
    if t.starts_with("Traceback") {
        t = t.split(" | ").nth(1).unwrap_or(t);
    }
    let t = t.split(" | ").next().unwrap_or(t);
    let mut words: Vec<&str> = t
        .split_whitespace()
        .skip_while(|w| {
            let bare = w.trim_matches(|c: char| !c.is_alphanumeric());
            bare.is_empty()
                || matches!(
                    bare.to_ascii_uppercase().as_str(),
                    "CRITICAL" | "ERROR" | "WARNING" | "WARN" | "INFO" | "FATAL"
                )
        })
        .collect();
    // Cut at the end of the first clause that has a few words, then drop masked values.
    if let Some(cut) = words
        .iter()
        .enumerate()
        .skip(2)
        .find(|(_, w)| w.ends_with(':') || w.ends_with('.') || w.ends_with('!'))
        .map(|(i, _)| i)
    {
        words.truncate(cut + 1);
    }
    // Paths keep their shape (`/api/threads/{id}/messages`); other masked values go.
    let words: Vec<String> = words
        .iter()
        .filter(|w| !w.contains("<*>") || w.starts_with('/'))
        .map(|w| w.replace("<*>", "{id}"))
        .collect();
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    while words.len() > 1
        && matches!(
            words.last().copied(),
            Some("for" | "to" | "of" | "in" | "with" | "from" | "at" | "by" | "on" | "-")
        )
    {
        words.pop();
    }
    let mut out = words.join(" ");
    out = out
        .trim_end_matches([':', '.', ',', ';', '-', ' '])
        .to_owned();
    if out.chars().count() > 80 {
        let cut: String = out.chars().take(79).collect();
        out = format!("{}…", cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a));
    }
    if out.is_empty() {
        template.chars().take(80).collect()
    } else {
        out
    }
}

struct Runner<'a> {
    engine: &'a Engine,
    opts: &'a Options,
    used: Vec<QueryUsed>,
}

impl Runner<'_> {
    async fn run(&mut self, name: &str, params: &[(&str, &str)]) -> Result<Vec<Row>, ReportError> {
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let sql = named::render(name, &params)?;
        let batches = self.engine.query(&sql, false).await?;
        self.engine.drop_session_tables()?;
        let rows = output::json_rows(&batches)?;
        let mut command = format!("gardener query --lake {} --named {name}", self.opts.lake);
        for (k, v) in &params {
            command.push_str(&format!(" --param '{k}={v}'"));
        }
        if let Some(s) = self.engine.range.since {
            command.push_str(&format!(" --since {}", format_rfc3339(s)));
        }
        if let Some(u) = self.engine.range.until {
            command.push_str(&format!(" --until {}", format_rfc3339(u)));
        }
        if let Some(s) = &self.opts.service {
            command.push_str(&format!(" --service '{s}'"));
        }
        self.used.push(QueryUsed {
            name: name.to_owned(),
            params,
            command,
        });
        Ok(rows)
    }
}

/// One candidate issue before ordering.
struct Candidate {
    freq: Row,
    severity_number: i32,
    impact: Impact,
    statuses: Vec<i64>,
    frequency: usize,
}

impl Candidate {
    fn facts(&self) -> Facts<'_> {
        let template = self.freq.get("template").and_then(Value::as_str);
        Facts {
            template: template.unwrap_or_default(),
            severity_number: self.severity_number,
            services: self
                .impact
                .services
                .iter()
                .map(|c| c.value.as_str())
                .collect(),
            endpoints: self
                .impact
                .endpoints
                .iter()
                .map(|c| c.value.as_str())
                .collect(),
            statuses: self.statuses.clone(),
            frequency: self.frequency,
            ..Facts::default()
        }
    }
}

/// Builds the report from the engine's lake and range.
pub async fn gather(engine: &Engine, opts: &Options) -> Result<Report, ReportError> {
    let mut q = Runner {
        engine,
        opts,
        used: Vec::new(),
    };
    let totals_rows = q.run("totals", &[]).await?;
    let freq_rows = q.run("signature_frequencies", &[]).await?;
    let impact_rows = q.run("impact", &[]).await?;
    let recent_rows = q
        .run("recent", &[("per_signature", &RECENT.to_string())])
        .await?;
    let co_rows = q.run("co_occurrence", &[]).await?;
    let burst_rows = q.run("bursts", &[]).await?;

    // Header: totals, projects, services, range.
    let mut totals = Totals::default();
    let (mut projects, mut services) = (Vec::<String>::new(), Vec::<String>::new());
    let (mut first, mut last): (Option<String>, Option<String>) = (None, None);
    for r in &totals_rows {
        let n = int(r, "n");
        totals.rows += n;
        totals.by_severity.insert(text(r, "severity"), n);
        totals.severities.push((text(r, "severity"), n));
        for (list, key) in [(&mut projects, "projects"), (&mut services, "services")] {
            for v in text(r, key).split(',').filter(|v| !v.is_empty()) {
                if !list.iter().any(|x| x == v) {
                    list.push(v.to_owned());
                }
            }
        }
        let (f, l) = (text(r, "first_entry"), text(r, "last_entry"));
        if first.as_ref().is_none_or(|x| f < *x) {
            first = Some(f);
        }
        if last.as_ref().is_none_or(|x| l > *x) {
            last = Some(l);
        }
    }
    projects.sort();
    services.sort();
    let nanos = |s: &Option<String>| s.as_deref().and_then(|t| parse_rfc3339(t).ok());
    let span: Option<(Nanos, Nanos)> = match (engine.range.since, engine.range.until) {
        (Some(s), Some(u)) => Some((s, u)),
        (s, u) => nanos(&first)
            .zip(nanos(&last))
            .map(|(f, l)| (s.unwrap_or(f), u.unwrap_or(l))),
    };
    let days = span.map_or(0.0, |(a, b)| (b - a) as f64 / 86_400e9);
    let range = Range {
        since: engine.range.since.map(format_rfc3339),
        until: engine.range.until.map(format_rfc3339),
        first_entry: first,
        last_entry: last,
        days: (days * 10.0).round() / 10.0,
    };

    // The timeline grid: hourly windows (daily past two weeks) from the range's start.
    let (window, window_ns) = if days <= 14.0 {
        ("1 hour", 3_600_000_000_000i64)
    } else {
        ("1 day", 86_400_000_000_000i64)
    };
    let severity_rows = q.run("severity_windows", &[("window", window)]).await?;
    let signature_window_rows = q.run("signature_windows", &[("window", window)]).await?;
    let grid_start = span.map_or(0, |(a, _)| a.div_euclid(window_ns) * window_ns);
    let slots = span.map_or(0, |(_, b)| {
        ((b - grid_start) / window_ns + 1).max(0) as usize
    });
    let slot = |r: &Row| -> Option<usize> {
        let t = parse_rfc3339(&text(r, "window_start")).ok()?;
        let k = (t - grid_start).div_euclid(window_ns);
        (0..slots as i64).contains(&k).then_some(k as usize)
    };
    let mut timeline = Timeline {
        window: window.to_owned(),
        starts: (0..slots)
            .map(|k| format_rfc3339(grid_start + k as i64 * window_ns))
            .collect(),
        severities: Vec::new(),
    };
    for (name, _) in &totals.severities {
        let mut counts = vec![0u64; slots];
        for r in severity_rows
            .iter()
            .filter(|r| text(r, "severity") == *name)
        {
            if let Some(k) = slot(r) {
                counts[k] += int(r, "n");
            }
        }
        timeline.severities.push((name.clone(), counts));
    }
    let mut sparklines: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &signature_window_rows {
        if let Some(k) = slot(r) {
            sparklines
                .entry(text(r, "signature_id"))
                .or_insert_with(|| vec![0; slots])[k] += int(r, "n");
        }
    }

    // Impact and recent occurrences per signature.
    let mut impacts: HashMap<String, (Impact, Vec<i64>)> = HashMap::new();
    for r in &impact_rows {
        let (imp, statuses) = impacts.entry(text(r, "signature_id")).or_default();
        let c = Counted {
            value: text(r, "value"),
            n: int(r, "n"),
        };
        match text(r, "dimension").as_str() {
            "endpoint" => imp.endpoints.push(c),
            "status" => {
                statuses.extend(c.value.parse::<i64>().ok());
                imp.status_codes.push(c);
            }
            "user_agent" => imp.user_agents.push(c),
            "service" => imp.services.push(c),
            _ => imp.revisions.push(c),
        }
    }
    let mut recent: HashMap<String, Vec<&Row>> = HashMap::new();
    for r in &recent_rows {
        recent.entry(text(r, "signature_id")).or_default().push(r);
    }

    // Candidates: problem signatures and what a rule promotes.
    let mut candidates: Vec<Candidate> = Vec::new();
    for r in freq_rows {
        let sig = text(&r, "signature_id");
        let sev = severity_number(&text(&r, "max_severity")).unwrap_or(0);
        let (impact, statuses) = impacts.remove(&sig).unwrap_or_default();
        let c = Candidate {
            severity_number: sev,
            frequency: frequency_class(float(&r, "rate_per_hour")),
            impact,
            statuses,
            freq: r,
        };
        let problem = sev >= 400 || c.statuses.iter().any(|s| *s >= 500);
        if problem || opts.rules.promotes(&c.facts()) {
            candidates.push(c);
        }
    }

    // Linked pairs among candidates (the co_occurrence query's `linked`).
    let index: HashMap<String, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (text(&c.freq, "signature_id"), i))
        .collect();
    let linked: Vec<(&Row, usize, usize)> = co_rows
        .iter()
        .filter(|r| r.get("linked") == Some(&Value::Bool(true)))
        .filter_map(|r| {
            let a = index.get(&text(r, "signature_a"))?;
            let b = index.get(&text(r, "signature_b"))?;
            Some((r, *a, *b))
        })
        .collect();

    // Priorities: once alone, then once more knowing what each issue is linked to.
    let first_pass: Vec<u8> = candidates
        .iter()
        .map(|c| opts.rules.assess(&c.facts()).0)
        .collect();
    let mut assessed = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        let mut f = c.facts();
        for (_, a, b) in &linked {
            let other = if *a == i {
                *b
            } else if *b == i {
                *a
            } else {
                continue;
            };
            f.linked_to_blocking |= first_pass[other] == 0;
            f.linked_to_user_5xx |= candidates[other].facts().user_5xx();
        }
        let (p, rule) = opts.rules.assess(&f);
        assessed.push((p, rule.to_owned()));
    }

    // Order: priority, then count; ids from 1.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&x, &y| {
        assessed[x]
            .0
            .cmp(&assessed[y].0)
            .then(int(&candidates[y].freq, "count").cmp(&int(&candidates[x].freq, "count")))
            .then(
                text(&candidates[x].freq, "signature_id")
                    .cmp(&text(&candidates[y].freq, "signature_id")),
            )
    });
    let mut id_of = vec![0usize; candidates.len()];
    for (pos, &i) in order.iter().enumerate() {
        id_of[i] = pos + 1;
    }

    let relationships: Vec<Relationship> = linked
        .iter()
        .map(|(r, a, b)| Relationship {
            a: text(r, "signature_a"),
            b: text(r, "signature_b"),
            issue_a: id_of[*a],
            issue_b: id_of[*b],
            level: text(r, "level"),
            lag_ms: float(r, "median_lag_ms"),
            confidence: float(r, "confidence_ab").max(float(r, "confidence_ba")),
            confidence_ab: float(r, "confidence_ab"),
            confidence_ba: float(r, "confidence_ba"),
            lift: float(r, "lift"),
            significance: float(r, "significance"),
            support_id: int(r, "support_id"),
            support_lag: r.get("support_lag").and_then(Value::as_u64),
            support_window: int(r, "support_window"),
        })
        .collect();

    let mut issues = Vec::new();
    let mut muted = 0;
    for &i in &order {
        let c = &candidates[i];
        let sig = text(&c.freq, "signature_id");
        let (status, tracker) = opts.known.status(&sig, &text(&c.freq, "last_seen"));
        if status == "muted" {
            muted += 1;
            continue;
        }
        let template = text(&c.freq, "template");
        let rate = float(&c.freq, "rate_per_hour");
        let count = int(&c.freq, "count");
        let trend = serde_json::from_str::<Map<String, Value>>(&text(&c.freq, "per_day"))
            .unwrap_or_default()
            .into_iter()
            .map(|(day, n)| DayCount {
                day,
                n: n.as_u64().unwrap_or(0),
            })
            .collect();
        let rows = recent.get(&sig).map(Vec::as_slice).unwrap_or_default();
        let id = id_of[i];
        let mut related: Vec<usize> = relationships
            .iter()
            .filter_map(|r| {
                (r.issue_a == id)
                    .then_some(r.issue_b)
                    .or((r.issue_b == id).then_some(r.issue_a))
            })
            .collect();
        related.sort_unstable();
        related.dedup();
        issues.push(Issue {
            id,
            signature_id: sig,
            title: title(&template),
            template,
            count,
            first_seen: text(&c.freq, "first_seen"),
            last_seen: text(&c.freq, "last_seen"),
            severity: text(&c.freq, "max_severity"),
            priority: format!("P{}", assessed[i].0),
            priority_rule: assessed[i].1.clone(),
            frequency: FREQUENCIES[c.frequency].to_owned(),
            rate_per_hour: rate,
            frequency_text: frequency_text(count, rate, range.days),
            server_errors: c
                .impact
                .status_codes
                .iter()
                .filter(|s| s.value.parse::<i64>().is_ok_and(|v| v >= 500))
                .map(|s| s.n)
                .sum(),
            impact: c.impact.clone(),
            trend,
            samples: rows.first().map(|r| sample(r)).into_iter().collect(),
            recent: rows
                .iter()
                .map(|r| Occurrence {
                    timestamp: text(r, "timestamp"),
                    severity: text(r, "severity"),
                    message: text(r, "message"),
                })
                .collect(),
            status: status.to_owned(),
            tracker,
            related,
            timeline: sparklines
                .remove(&text(&c.freq, "signature_id"))
                .unwrap_or_else(|| vec![0; slots]),
        });
    }

    let incidents = incidents(&issues, &relationships);
    let issue_of: HashMap<&str, usize> = issues
        .iter()
        .map(|i| (i.signature_id.as_str(), i.id))
        .collect();
    let bursts = burst_rows
        .iter()
        .map(|r| Burst {
            signature_id: text(r, "signature_id"),
            issue: issue_of.get(text(r, "signature_id").as_str()).copied(),
            template: text(r, "template"),
            window_start: text(r, "window_start"),
            n: int(r, "n"),
            baseline: float(r, "baseline"),
            z: float(r, "z"),
        })
        .collect();
    let mut priority_assessment: BTreeMap<String, Vec<usize>> =
        (0..4).map(|p| (format!("P{p}"), Vec::new())).collect();
    for i in &issues {
        priority_assessment
            .entry(i.priority.clone())
            .or_default()
            .push(i.id);
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        generated_at: opts.generated_at.clone(),
        lake: opts.lake.clone(),
        range,
        projects,
        services,
        totals,
        issues,
        relationships,
        incidents,
        bursts,
        timeline,
        priority_assessment,
        muted,
        queries: q.used,
    })
}

/// The latest occurrence in the reference worklog's style, and its fields.
fn sample(r: &Row) -> Sample {
    let (ts, sev, msg) = (
        text(r, "timestamp"),
        text(r, "severity"),
        text(r, "message"),
    );
    let line = if r.get("http_request_method").is_some_and(|v| !v.is_null()) {
        format!(
            "{ts}  {sev}   {} {} {} - {:.3}ms\nUser-Agent: {}",
            text(r, "http_request_method"),
            text(r, "http_request_url"),
            text(r, "http_request_status"),
            float(r, "http_request_latency_ms"),
            text(r, "http_request_user_agent"),
        )
    } else {
        format!("{ts}  {sev}   {msg}")
    };
    let mut entry = Map::new();
    for (k, v) in r {
        if v.is_null() || k == "signature_id" {
            continue;
        }
        // JSON text columns go back to JSON, so the entry reads like the export.
        let parsed = match (k.as_str(), v) {
            ("json_payload" | "labels", Value::String(s)) => {
                serde_json::from_str(s).unwrap_or_else(|_| v.clone())
            }
            _ => v.clone(),
        };
        entry.insert(k.clone(), parsed);
    }
    Sample { line, entry }
}

/// Connected issues, each group rooted at the issue that is only ever the earlier side.
fn incidents(issues: &[Issue], relationships: &[Relationship]) -> Vec<Incident> {
    let ids: Vec<usize> = issues.iter().map(|i| i.id).collect();
    let mut parent: HashMap<usize, usize> = ids.iter().map(|&i| (i, i)).collect();
    fn find(parent: &mut HashMap<usize, usize>, x: usize) -> usize {
        let p = parent.get(&x).copied().unwrap_or(x);
        if p == x {
            return x;
        }
        let root = find(parent, p);
        parent.insert(x, root);
        root
    }
    for r in relationships {
        if !parent.contains_key(&r.issue_a) || !parent.contains_key(&r.issue_b) {
            continue;
        }
        let (a, b) = (find(&mut parent, r.issue_a), find(&mut parent, r.issue_b));
        if a != b {
            parent.insert(a.max(b), a.min(b));
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &ids {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    groups
        .into_values()
        .filter(|g| g.len() > 1)
        .enumerate()
        .map(|(k, members)| {
            let root = members
                .iter()
                .copied()
                .find(|m| !relationships.iter().any(|r| r.issue_b == *m))
                .unwrap_or(members[0]);
            Incident {
                id: k + 1,
                root,
                issues: members,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_read_like_the_worklog() {
        assert_eq!(
            title(
                "Session access failed (middleware not installed?): SessionMiddleware must be installed to access request.session"
            ),
            "Session access failed (middleware not installed?)"
        );
        assert_eq!(
            title(
                "CRITICAL: ASGI scope error in WebSocket exclusion: 'URL' object has no attribute 'query_params'"
            ),
            "ASGI scope error in WebSocket exclusion"
        );
        assert_eq!(
            title(
                "CRITICAL ERROR: Failed to create request-scoped database session <*> for user_id='<*>'. Error: <*>: Not authenticated"
            ),
            "Failed to create request-scoped database session"
        );
        assert_eq!(title("GET /ws 500"), "GET /ws 500");
        assert_eq!(
            title("GET /api/threads/<*>/messages 500"),
            "GET /api/threads/{id}/messages 500"
        );
        assert_eq!(
            title(
                "Traceback (most recent call last): | sqlalchemy.exc.OperationalError: timeout expired"
            ),
            "sqlalchemy.exc.OperationalError: timeout expired"
        );
        assert_eq!(title("<*> <*>"), "<*> <*>");
    }

    #[test]
    fn frequencies_in_words() {
        assert_eq!(frequency_class(450.0), 3);
        assert_eq!(frequency_class(5.6), 1);
        assert_eq!(
            frequency_text(75_604, 450.0, 7.0),
            "~1 every 8 s; 75,604 in 7 days"
        );
        assert_eq!(
            frequency_text(941, 5.6, 7.0),
            "~1 every 11 min; 941 in 7 days"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
