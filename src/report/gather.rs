//! Runs the named queries and assembles the [`Report`]: which signatures are issues (their
//! problem rows), their priority, impact, samples and trend, the relationships between
//! them, the incidents they form ([`super::incidents`]), bursts.
//! Every figure comes from a query recorded in [`Report::queries`] with the command that
//! reproduces it.

use std::collections::{BTreeMap, HashMap};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::ReportError;
use super::incidents::{self, Kind, Link, Node};
use super::model::*;
use super::model::{Frequency, IssueStatus, Priority};
use super::priority::{Facts, Rules, severity_number};
use super::title::{self, Titled};
use crate::common::numbers::thousands;
use crate::common::time::{Nanos, format_rfc3339, parse_rfc3339};
use crate::engine::{Engine, named, output};

/// A named query's row as `output::json_rows` gives it, before [`typed`] reads it.
type JsonRow = Map<String, Value>;

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

struct Runner<'a> {
    engine: &'a Engine,
    opts: &'a Options,
    used: Vec<QueryUsed>,
}

/// The columns the report reads from each named query: a query in `sql/` that no longer
/// returns one (renamed, dropped) fails the report naming the query and the column, instead
/// of reading empty values.
const READS: [(&str, &[&str]); 9] = [
    (
        "totals",
        &[
            "severity",
            "n",
            "projects",
            "services",
            "first_entry",
            "last_entry",
        ],
    ),
    (
        "issues",
        &[
            "signature_id",
            "template",
            "count",
            "total",
            "span_hours",
            "first_seen",
            "last_seen",
            "max_severity",
            "per_day",
            "total_first_seen",
            "total_last_seen",
            "total_max_severity",
            "total_per_day",
            "dominant_severity",
            "log_id",
        ],
    ),
    (
        "impact",
        &["signature_id", "dimension", "value", "n", "request_rows"],
    ),
    (
        "recent",
        &[
            "signature_id",
            "timestamp",
            "severity",
            "message",
            "http_request_method",
            "http_request_url",
            "http_request_status",
            "http_request_latency_ms",
            "http_request_user_agent",
            "json_payload",
            "labels",
        ],
    ),
    (
        "co_occurrence",
        &[
            "signature_a",
            "signature_b",
            "support_id",
            "support_lag",
            "support_window",
            "level",
            "confidence_ab",
            "confidence_ba",
            "lift",
            "significance",
            "median_lag_ms",
            "linked",
        ],
    ),
    (
        "bursts",
        &[
            "window_start",
            "signature_id",
            "template",
            "n",
            "baseline",
            "z",
        ],
    ),
    ("new_and_rising", &["status", "signature_id"]),
    ("severity_windows", &["window_start", "severity", "n"]),
    ("signature_windows", &["window_start", "signature_id", "n"]),
];

/// The first column of `READS[name]` that `schema` lacks.
fn missing_column(
    name: &str,
    schema: &datafusion::arrow::datatypes::Schema,
) -> Option<&'static str> {
    let (_, columns) = READS.iter().find(|(q, _)| *q == name)?;
    columns
        .iter()
        .copied()
        .find(|c| schema.field_with_name(c).is_err())
}

/// The co_occurrence query's row as the report reads it.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct CoOccurrenceRow {
    signature_a: String,
    signature_b: String,
    support_id: u64,
    support_lag: Option<u64>,
    support_window: u64,
    level: String,
    confidence_ab: f64,
    confidence_ba: f64,
    lift: f64,
    significance: f64,
    median_lag_ms: f64,
    linked: bool,
}

/// The bursts query's row.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct BurstRow {
    window_start: String,
    signature_id: String,
    template: String,
    n: u64,
    baseline: f64,
    z: f64,
}

/// The impact query's row: a value of one dimension (endpoint, status, user agent, service,
/// revision) and its problem rows, of them those that are requests themselves.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ImpactRow {
    signature_id: String,
    dimension: String,
    value: String,
    n: u64,
    request_rows: u64,
}

/// A row of severity_windows (`severity` set) or signature_windows (`signature_id` set):
/// rows of one key in one time window.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct WindowRow {
    window_start: String,
    severity: String,
    signature_id: String,
    n: u64,
}

/// The new_and_rising query's row (a status the report does not know fails the report).
#[derive(serde::Deserialize)]
struct NoveltyRow {
    signature_id: String,
    status: Novelty,
}

/// The totals query's row: one severity's rows, and the projects, services and span seen.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct TotalsRow {
    severity: String,
    n: u64,
    /// Comma-separated.
    projects: String,
    services: String,
    first_entry: String,
    last_entry: String,
}

/// The issues query's row: a signature's figures over its problem rows, and the same over
/// all its rows (`total_*`).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct IssueRow {
    signature_id: String,
    template: String,
    count: u64,
    total: u64,
    span_hours: f64,
    first_seen: String,
    last_seen: String,
    max_severity: String,
    /// JSON: day -> rows.
    per_day: String,
    total_first_seen: String,
    total_last_seen: String,
    total_max_severity: String,
    total_per_day: String,
    dominant_severity: String,
    log_id: String,
}

impl IssueRow {
    /// The row with its figures over all rows in place of those over the problem rows: a
    /// signature a rule promotes has no problem rows.
    fn over_all_rows(self) -> IssueRow {
        IssueRow {
            count: self.total,
            first_seen: self.total_first_seen.clone(),
            last_seen: self.total_last_seen.clone(),
            max_severity: self.total_max_severity.clone(),
            per_day: self.total_per_day.clone(),
            ..self
        }
    }
}

/// The recent query's row: one occurrence with the fields its sample shows (an absent
/// field is left out of the sample's entry).
#[derive(Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
struct RecentRow {
    #[serde(skip_serializing)]
    signature_id: String,
    timestamp: String,
    severity: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    insert_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request_user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_payload: Option<String>,
    /// JSON text; the sample shows it as JSON again.
    #[serde(skip_serializing_if = "Option::is_none")]
    json_payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<String>,
}

/// Each row of `name` as a `T`: a NULL reads as the field's default (as an absent value
/// does), a value of another type fails naming the query, the row and the column.
fn typed<T: serde::de::DeserializeOwned>(
    name: &str,
    rows: Vec<JsonRow>,
) -> Result<Vec<T>, ReportError> {
    rows.into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            row.retain(|_, v| !v.is_null());
            serde_path_to_error::deserialize(Value::Object(row)).map_err(|e| ReportError::RowType {
                query: name.to_owned(),
                row: i + 1,
                column: e.path().to_string(),
                detail: e.into_inner().to_string(),
            })
        })
        .collect()
}

impl Runner<'_> {
    /// [`Runner::run`], each row read as a `T` (see [`typed`]).
    async fn rows<T: serde::de::DeserializeOwned>(
        &mut self,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<T>, ReportError> {
        typed(name, self.run(name, params).await?)
    }

    async fn run(
        &mut self,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<JsonRow>, ReportError> {
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let sql = named::render(name, &params)?;
        let batches = self.engine.query(&sql, false).await?;
        self.engine.drop_session_tables().await?;
        if let Some(column) = batches
            .first()
            .and_then(|b| missing_column(name, b.schema_ref()))
        {
            return Err(ReportError::Column {
                query: name.to_owned(),
                column,
            });
        }
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

/// One signature that is an issue, before grouping and numbering.
struct Candidate {
    /// Its row of the `issues` query, over all its rows when promoted.
    row: IssueRow,
    /// No problem rows, made an issue by a rule: its figures are over all its rows.
    promoted: bool,
    severity_number: i32,
    impact: Impact,
    statuses: Vec<i64>,
    frequency: usize,
    occasional: bool,
    novelty: Option<Novelty>,
}

impl Candidate {
    fn facts(&self) -> Facts<'_> {
        Facts {
            template: &self.row.template,
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
            count: self.row.count,
            occasional: self.occasional,
            new: self.novelty == Some(Novelty::New),
            rising: self.novelty == Some(Novelty::Rising),
            ..Facts::default()
        }
    }
}

/// Problem rows under this share of a signature's rows make it "occasional".
const OCCASIONAL: f64 = 0.01;

/// Builds the report from the engine's lake and range. Boxed: see the crate doc.
pub fn gather<'a>(
    engine: &'a Engine,
    opts: &'a Options,
) -> BoxFuture<'a, Result<Report, ReportError>> {
    Box::pin(gather_unboxed(engine, opts))
}

async fn gather_unboxed(engine: &Engine, opts: &Options) -> Result<Report, ReportError> {
    let mut q = Runner {
        engine,
        opts,
        used: Vec::new(),
    };
    let totals_rows: Vec<TotalsRow> = q.rows("totals", &[]).await?;
    let issue_rows: Vec<IssueRow> = q.rows("issues", &[]).await?;
    let impact_rows: Vec<ImpactRow> = q.rows("impact", &[]).await?;
    let recent_rows: Vec<RecentRow> = q
        .rows("recent", &[("per_signature", &RECENT.to_string())])
        .await?;
    let co_rows: Vec<CoOccurrenceRow> = q.rows("co_occurrence", &[]).await?;
    let burst_rows: Vec<BurstRow> = q.rows("bursts", &[]).await?;
    let novelty_rows: Vec<NoveltyRow> = q.rows("new_and_rising", &[]).await?;
    let header = header(engine, totals_rows);
    let windows = Windows::run(&mut q, &header).await?;

    let (candidates, muted) = candidates(issue_rows, impact_rows, &burst_rows, novelty_rows, opts);
    let linked = linked_pairs(&co_rows, &candidates);
    let assessed = assess(&candidates, &linked, &opts.rules);
    let nodes = nodes(&candidates, &assessed);
    let order = Order::of(&nodes, &linked);
    let relationships = relationships(&linked, &order.id_of);
    let mut recent: HashMap<&str, Vec<&RecentRow>> = HashMap::new();
    for r in &recent_rows {
        recent.entry(&r.signature_id).or_default().push(r);
    }
    let mut sparklines = windows.sparklines;
    let mut issues: Vec<Issue> = Vec::with_capacity(candidates.len());
    for i in order.groups.iter().flat_map(|g| g.members.iter().copied()) {
        let c = &candidates[i];
        let sig = c.row.signature_id.as_str();
        let rows = recent.get(sig).map(Vec::as_slice).unwrap_or_default();
        let (id, incident) = (order.id_of[i], order.incident_of[i]);
        let mut issue = issue(c, &assessed[i], id, incident, rows, opts, &header.range);
        issue.timeline = sparklines
            .remove(sig)
            .unwrap_or_else(|| vec![0; windows.slots]);
        issue.related = related(&relationships, issue.id);
        issues.push(issue);
    }
    distinguish_titles(&mut issues);
    let incidents = incident_list(&order.groups, &issues, &order.id_of, &nodes, &relationships);
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        generated_at: opts.generated_at.clone(),
        lake: opts.lake.clone(),
        range: header.range,
        projects: header.projects,
        services: header.services,
        totals: header.totals,
        bursts: bursts(burst_rows, &issues),
        priority_assessment: priority_assessment(&incidents),
        incidents,
        issues,
        relationships,
        timeline: windows.timeline,
        muted,
        queries: q.used,
    })
}

/// The severity timeline and each signature's sparkline, over windows of an hour (a
/// range of up to 14 days) or a day.
struct Windows {
    timeline: Timeline,
    sparklines: HashMap<String, Vec<u64>>,
    slots: usize,
}

impl Windows {
    async fn run(q: &mut Runner<'_>, header: &Header) -> Result<Windows, ReportError> {
        let (window, window_ns) = if header.range.days <= 14.0 {
            ("1 hour", 3_600_000_000_000i64)
        } else {
            ("1 day", 86_400_000_000_000i64)
        };
        let params = [("window", window)];
        let severity_rows: Vec<WindowRow> = q.rows("severity_windows", &params).await?;
        let signature_window_rows: Vec<WindowRow> = q.rows("signature_windows", &params).await?;
        let grid = Grid::new(header.span, window_ns);
        let mut timeline = Timeline {
            window: window.to_owned(),
            starts: (0..grid.slots)
                .map(|k| format_rfc3339(grid.start + k as i64 * window_ns))
                .collect(),
            severities: Vec::new(),
        };
        for (name, _) in &header.totals.severities {
            let mut counts = vec![0u64; grid.slots];
            for r in severity_rows.iter().filter(|r| r.severity == *name) {
                if let Some(k) = grid.slot(r) {
                    counts[k] += r.n;
                }
            }
            timeline.severities.push((name.clone(), counts));
        }
        let mut sparklines: HashMap<String, Vec<u64>> = HashMap::new();
        for r in &signature_window_rows {
            if let Some(k) = grid.slot(r) {
                sparklines
                    .entry(r.signature_id.clone())
                    .or_insert_with(|| vec![0; grid.slots])[k] += r.n;
            }
        }
        Ok(Windows {
            timeline,
            sparklines,
            slots: grid.slots,
        })
    }
}

/// The issues before grouping: signatures with problem rows, and what a rule promotes;
/// muted ones are left out (and counted) before anything is grouped or numbered.
fn candidates(
    issue_rows: Vec<IssueRow>,
    impact_rows: Vec<ImpactRow>,
    burst_rows: &[BurstRow],
    novelty_rows: Vec<NoveltyRow>,
    opts: &Options,
) -> (Vec<Candidate>, usize) {
    let mut impacts = impacts(impact_rows);
    // A burst rates by its peak window, not the range's average.
    let mut peaks: HashMap<String, f64> = HashMap::new();
    for r in burst_rows {
        let peak = peaks.entry(r.signature_id.clone()).or_default();
        *peak = peak.max(r.n as f64);
    }
    let novelty: HashMap<String, Novelty> = novelty_rows
        .into_iter()
        .map(|r| (r.signature_id, r.status))
        .collect();
    let mut candidates: Vec<Candidate> = Vec::new();
    for r in issue_rows {
        let (impact, statuses) = impacts.remove(&r.signature_id).unwrap_or_default();
        let problems = r.count;
        let novelty = novelty.get(&r.signature_id).copied();
        let occasional = problems > 0
            && (problems as f64) < OCCASIONAL * r.total as f64
            && novelty != Some(Novelty::New);
        let promoted = problems == 0;
        let row = if promoted { r.over_all_rows() } else { r };
        let mut c = Candidate {
            promoted,
            severity_number: severity_number(&row.max_severity).unwrap_or(0),
            impact,
            statuses,
            frequency: 0,
            occasional,
            novelty,
            row,
        };
        let mut rate = c.row.count as f64 / c.row.span_hours.max(1.0);
        if !c.occasional {
            rate = rate.max(peaks.get(&c.row.signature_id).copied().unwrap_or(0.0));
        }
        c.frequency = frequency_class(rate);
        if !c.promoted || opts.rules.promotes(&c.facts()) {
            candidates.push(c);
        }
    }
    let mut muted = 0;
    candidates.retain(|c| {
        let status = opts.known.status(&c.row.signature_id, &c.row.last_seen);
        muted += usize::from(status.0 == IssueStatus::Muted);
        status.0 != IssueStatus::Muted
    });
    (candidates, muted)
}

/// A linked pair of candidates: the co_occurrence row and the two candidates' indexes.
struct Linked<'r> {
    row: &'r CoOccurrenceRow,
    a: usize,
    b: usize,
}

/// Linked pairs among the candidates (the co_occurrence query's `linked`).
fn linked_pairs<'r>(co_rows: &'r [CoOccurrenceRow], candidates: &[Candidate]) -> Vec<Linked<'r>> {
    let index: HashMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.row.signature_id.as_str(), i))
        .collect();
    co_rows
        .iter()
        .filter(|r| r.linked)
        .filter_map(|r| {
            Some(Linked {
                row: r,
                a: *index.get(r.signature_a.as_str())?,
                b: *index.get(r.signature_b.as_str())?,
            })
        })
        .collect()
}

fn nodes<'c>(candidates: &'c [Candidate], assessed: &[(u8, String)]) -> Vec<Node<'c>> {
    candidates
        .iter()
        .zip(assessed)
        .map(|(c, (p, _))| Node {
            priority: *p,
            count: c.row.count,
            signature_id: &c.row.signature_id,
            template: &c.row.template,
            service: c.impact.services.first().map(|s| s.value.as_str()),
        })
        .collect()
}

/// The incidents' groups, most urgent first, and the issue ids and incident numbers that
/// follow from that order.
struct Order {
    groups: Vec<incidents::Group>,
    id_of: Vec<usize>,
    incident_of: Vec<usize>,
}

impl Order {
    fn of(nodes: &[Node<'_>], linked: &[Linked<'_>]) -> Order {
        let links: Vec<Link<'_>> = linked
            .iter()
            .map(|&Linked { row: r, a, b }| Link {
                a,
                b,
                level: &r.level,
                lag_ms: r.median_lag_ms,
                confidence_ab: r.confidence_ab,
                confidence_ba: r.confidence_ba,
            })
            .collect();
        let mut groups = incidents::group(nodes, &links);
        let group_count = |g: &incidents::Group| -> u64 {
            match g.kind {
                Kind::Family => g.members.iter().map(|&m| nodes[m].count).sum(),
                _ => nodes[g.root()].count,
            }
        };
        let group_priority =
            |g: &incidents::Group| g.members.iter().map(|&m| nodes[m].priority).min();
        groups.sort_by(|x, y| {
            (group_priority(x), std::cmp::Reverse(group_count(x)))
                .cmp(&(group_priority(y), std::cmp::Reverse(group_count(y))))
                .then_with(|| {
                    nodes[x.root()]
                        .signature_id
                        .cmp(nodes[y.root()].signature_id)
                })
        });
        let mut id_of = vec![0usize; nodes.len()];
        let mut incident_of = vec![0usize; nodes.len()];
        let mut next = 1;
        for (g_idx, g) in groups.iter().enumerate() {
            for &m in &g.members {
                id_of[m] = next;
                incident_of[m] = g_idx + 1;
                next += 1;
            }
        }
        Order {
            groups,
            id_of,
            incident_of,
        }
    }
}

fn relationships(linked: &[Linked<'_>], id_of: &[usize]) -> Vec<Relationship> {
    linked
        .iter()
        .map(|&Linked { row: r, a, b }| Relationship {
            a: r.signature_a.clone(),
            b: r.signature_b.clone(),
            issue_a: id_of[a],
            issue_b: id_of[b],
            level: r.level.clone(),
            lag_ms: r.median_lag_ms,
            confidence: r.confidence_ab.max(r.confidence_ba),
            confidence_ab: r.confidence_ab,
            confidence_ba: r.confidence_ba,
            lift: r.lift,
            significance: r.significance,
            support_id: r.support_id,
            support_lag: r.support_lag,
            support_window: r.support_window,
        })
        .collect()
}

/// Titles that tell the issues apart (see [`title::distinguish`]).
fn distinguish_titles(issues: &mut [Issue]) {
    let titled: Vec<Titled<'_>> = issues
        .iter()
        .map(|i| Titled {
            title: i.title.clone(),
            template: &i.template,
            service: i.impact.services.first().map(|s| s.value.as_str()),
            log_id: Some(i.log_id.as_str()),
            signature_id: &i.signature_id,
        })
        .collect();
    let titles = title::distinguish(titled);
    for (i, t) in issues.iter_mut().zip(titles) {
        i.title = t;
    }
}

fn bursts(burst_rows: Vec<BurstRow>, issues: &[Issue]) -> Vec<Burst> {
    let issue_of: HashMap<&str, usize> = issues
        .iter()
        .map(|i| (i.signature_id.as_str(), i.id))
        .collect();
    burst_rows
        .into_iter()
        .map(|r| Burst {
            issue: issue_of.get(r.signature_id.as_str()).copied(),
            signature_id: r.signature_id,
            template: r.template,
            window_start: r.window_start,
            n: r.n,
            baseline: r.baseline,
            z: r.z,
        })
        .collect()
}

/// Incident ids per priority, every priority present.
fn priority_assessment(incidents: &[Incident]) -> BTreeMap<Priority, Vec<usize>> {
    let mut out: BTreeMap<Priority, Vec<usize>> = (0..4)
        .map(|p| (Priority::from_level(p), Vec::new()))
        .collect();
    for i in incidents {
        out.entry(i.priority).or_default().push(i.id);
    }
    out
}

/// The report's header, and the span the timeline covers.
struct Header {
    totals: Totals,
    projects: Vec<String>,
    services: Vec<String>,
    range: Range,
    span: Option<(Nanos, Nanos)>,
}

fn header(engine: &Engine, totals_rows: Vec<TotalsRow>) -> Header {
    let mut totals = Totals::default();
    let (mut projects, mut services) = (Vec::<String>::new(), Vec::<String>::new());
    let (mut first, mut last): (Option<String>, Option<String>) = (None, None);
    for r in totals_rows {
        totals.rows += r.n;
        totals.by_severity.insert(r.severity.clone(), r.n);
        totals.severities.push((r.severity, r.n));
        for (list, seen) in [(&mut projects, &r.projects), (&mut services, &r.services)] {
            for v in seen.split(',').filter(|v| !v.is_empty()) {
                if !list.iter().any(|x| x == v) {
                    list.push(v.to_owned());
                }
            }
        }
        let (f, l) = (r.first_entry, r.last_entry);
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
    Header {
        totals,
        projects,
        services,
        range,
        span,
    }
}

/// The timeline's fixed windows over the span.
struct Grid {
    start: Nanos,
    window_ns: i64,
    slots: usize,
}

impl Grid {
    fn new(span: Option<(Nanos, Nanos)>, window_ns: i64) -> Grid {
        let start = span.map_or(0, |(a, _)| a.div_euclid(window_ns) * window_ns);
        let slots = span.map_or(0, |(_, b)| ((b - start) / window_ns + 1).max(0) as usize);
        Grid {
            start,
            window_ns,
            slots,
        }
    }

    /// The window of a row's `window_start`.
    fn slot(&self, r: &WindowRow) -> Option<usize> {
        let t = parse_rfc3339(&r.window_start).ok()?;
        let k = (t - self.start).div_euclid(self.window_ns);
        (0..self.slots as i64).contains(&k).then_some(k as usize)
    }
}

/// The impact query's rows per signature, with the statuses as numbers.
fn impacts(rows: Vec<ImpactRow>) -> HashMap<String, (Impact, Vec<i64>)> {
    let mut impacts: HashMap<String, (Impact, Vec<i64>)> = HashMap::new();
    for r in rows {
        let (imp, statuses) = impacts.entry(r.signature_id).or_default();
        let c = Counted {
            value: r.value,
            n: r.n,
            request_rows: r.request_rows,
        };
        match r.dimension.as_str() {
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
    impacts
}

/// Priorities: once alone, then once more knowing what each issue is linked to.
fn assess(candidates: &[Candidate], linked: &[Linked<'_>], rules: &Rules) -> Vec<(u8, String)> {
    let first_pass: Vec<u8> = candidates
        .iter()
        .map(|c| rules.assess(&c.facts()).0)
        .collect();
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut f = c.facts();
            for &Linked { a, b, .. } in linked {
                let other = match (a == i, b == i) {
                    (true, _) => b,
                    (_, true) => a,
                    _ => continue,
                };
                f.linked_to_blocking |= first_pass[other] == 0;
                f.linked_to_user_5xx |= candidates[other].facts().user_5xx();
            }
            let (p, rule) = rules.assess(&f);
            (p, rule.to_owned())
        })
        .collect()
}

/// Ids of the issues linked with `id`.
fn related(relationships: &[Relationship], id: usize) -> Vec<usize> {
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
    related
}

/// One issue; its timeline and links are filled in by the caller.
fn issue(
    c: &Candidate,
    (priority, rule): &(u8, String),
    id: usize,
    incident: usize,
    rows: &[&RecentRow],
    opts: &Options,
    range: &Range,
) -> Issue {
    let r = &c.row;
    let (status, tracker) = opts.known.status(&r.signature_id, &r.last_seen);
    let count = r.count;
    let rate = count as f64 / r.span_hours.max(1.0);
    let (severity, dominant) = (r.max_severity.clone(), r.dominant_severity.clone());
    let mut title = title::title(&r.template);
    if c.occasional {
        title = format!("Occasional {severity} in a {dominant} statement: {title}");
    }
    Issue {
        id,
        incident,
        signature_id: r.signature_id.clone(),
        title,
        count,
        first_seen: r.first_seen.clone(),
        last_seen: r.last_seen.clone(),
        severity,
        total_rows: r.total,
        dominant_severity: dominant,
        occasional: c.occasional,
        novelty: c.novelty,
        log_id: r.log_id.clone(),
        priority: Priority::from_level(*priority),
        priority_rule: rule.clone(),
        frequency: Frequency::ALL[c.frequency.min(3)],
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
        trend: serde_json::from_str::<Map<String, Value>>(&r.per_day)
            .unwrap_or_default()
            .into_iter()
            .map(|(day, n)| DayCount {
                day,
                n: n.as_u64().unwrap_or(0),
            })
            .collect(),
        samples: rows.first().map(|r| sample(r)).into_iter().collect(),
        recent: rows
            .iter()
            .map(|o| Occurrence {
                timestamp: o.timestamp.clone(),
                severity: o.severity.clone(),
                message: o.message.clone(),
            })
            .collect(),
        status,
        tracker,
        template: r.template.clone(),
        related: Vec::new(),
        timeline: Vec::new(),
    }
}

/// The latest occurrence in the reference worklog's style, and its fields.
fn sample(r: &RecentRow) -> Sample {
    let (ts, sev, msg) = (&r.timestamp, &r.severity, &r.message);
    let line = match &r.http_request_method {
        Some(method) => format!(
            "{ts}  {sev}   {method} {} {} - {:.3}ms\nUser-Agent: {}",
            r.http_request_url.as_deref().unwrap_or_default(),
            r.http_request_status
                .map(|s| s.to_string())
                .unwrap_or_default(),
            r.http_request_latency_ms.unwrap_or_default(),
            r.http_request_user_agent.as_deref().unwrap_or_default(),
        ),
        None => format!("{ts}  {sev}   {msg}"),
    };
    // A struct of strings and numbers serialises to an object.
    let mut entry = match serde_json::to_value(r) {
        Ok(Value::Object(entry)) => entry,
        _ => Map::new(),
    };
    // JSON text columns go back to JSON, so the entry reads like the export.
    for key in ["json_payload", "labels"] {
        if let Some(v) = entry.get_mut(key)
            && let Some(parsed) = v.as_str().and_then(|s| serde_json::from_str(s).ok())
        {
            *v = parsed;
        }
    }
    Sample { line, entry }
}

/// The incidents of the groups (already in report order), titled uniquely.
fn incident_list(
    groups: &[incidents::Group],
    issues: &[Issue],
    id_of: &[usize],
    nodes: &[Node<'_>],
    relationships: &[Relationship],
) -> Vec<Incident> {
    let by_id = |id: usize| &issues[id - 1];
    let mut out: Vec<Incident> = groups
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let members: Vec<&Issue> = g.members.iter().map(|&m| by_id(id_of[m])).collect();
            incident(k + 1, g, &members, nodes, relationships)
        })
        .collect();
    let titled: Vec<Titled<'_>> = out
        .iter()
        .map(|i| {
            let root = by_id(i.root);
            Titled {
                title: i.title.clone(),
                template: if i.kind == "family" {
                    &i.title
                } else {
                    &root.template
                },
                service: i.impact.services.first().map(|s| s.value.as_str()),
                log_id: Some(root.log_id.as_str()),
                signature_id: &root.signature_id,
            }
        })
        .collect();
    let titles = title::distinguish(titled);
    for (i, t) in out.iter_mut().zip(titles) {
        i.title = t;
    }
    out
}

/// One group's incident: its members' issues, root cause first.
fn incident(
    id: usize,
    g: &incidents::Group,
    members: &[&Issue],
    nodes: &[Node<'_>],
    relationships: &[Relationship],
) -> Incident {
    let root = members[0];
    let urgent = members
        .iter()
        .min_by_key(|i| (i.priority, i.id))
        .copied()
        .unwrap_or(root);
    let why = if urgent.id == root.id {
        urgent.priority_rule.clone()
    } else {
        format!("{} (#{} {})", urgent.priority_rule, urgent.id, urgent.title)
    };
    Incident {
        id,
        title: match g.kind {
            Kind::Family => incidents::family_title(nodes, &g.members),
            _ => root.title.clone(),
        },
        priority: urgent.priority,
        why,
        kind: g.kind.as_str().to_owned(),
        root: root.id,
        root_cause: root.signature_id.clone(),
        issues: members.iter().map(|m| m.id).collect(),
        members: members.iter().map(|m| m.signature_id.clone()).collect(),
        effects: effects(g, members, relationships),
        count: match g.kind {
            Kind::Family => members.iter().map(|m| m.count).sum(),
            _ => root.count,
        },
        first_seen: members
            .iter()
            .map(|m| m.first_seen.clone())
            .min()
            .unwrap_or_default(),
        last_seen: members
            .iter()
            .map(|m| m.last_seen.clone())
            .max()
            .unwrap_or_default(),
        impact: union_impact(members, g.kind == Kind::Family),
        status: root.status,
    }
}

/// The effects of a linked group, each with the evidence linking it to the root cause.
fn effects(
    g: &incidents::Group,
    members: &[&Issue],
    relationships: &[Relationship],
) -> Vec<Effect> {
    let root = members[0];
    g.links
        .iter()
        .zip(&members[1..])
        .filter_map(|(l, m)| {
            let rel = relationships.get((*l)?)?;
            let forward = rel.a == root.signature_id;
            Some(Effect {
                issue: m.id,
                signature_id: m.signature_id.clone(),
                level: rel.level.clone(),
                lag_ms: if forward { rel.lag_ms } else { -rel.lag_ms },
                confidence: rel.confidence,
                lift: rel.lift,
                significance: rel.significance,
            })
        })
        .collect()
}

/// The members' impact together (see [`union`]).
fn union_impact(members: &[&Issue], disjoint: bool) -> Impact {
    let mut impact = Impact::default();
    for m in members {
        for (into, from) in [
            (&mut impact.endpoints, &m.impact.endpoints),
            (&mut impact.status_codes, &m.impact.status_codes),
            (&mut impact.user_agents, &m.impact.user_agents),
            (&mut impact.services, &m.impact.services),
            (&mut impact.revisions, &m.impact.revisions),
        ] {
            union(into, from, disjoint);
        }
    }
    impact
}

/// Merges `from` into `into` per value, most first. A family's members are different
/// requests (`disjoint`): counts add up. A linked incident's root cause and effects often
/// stand for the same requests (an app error charged to the request of its trace, and that
/// request's own row under an effect): the larger count is kept. But rows that are requests
/// themselves add up (a request is logged once, under one signature: eleven endpoints' 500s
/// are eleven sets of requests), so the count is at least their sum. A lower bound.
fn union(into: &mut Vec<Counted>, from: &[Counted], disjoint: bool) {
    for c in from {
        match into.iter_mut().find(|x| x.value == c.value) {
            Some(x) if disjoint => {
                x.n += c.n;
                x.request_rows += c.request_rows;
            }
            Some(x) => {
                x.request_rows += c.request_rows;
                x.n = x.n.max(c.n).max(x.request_rows);
            }
            None => into.push(c.clone()),
        }
    }
    into.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.value.cmp(&b.value)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_query_column_is_named() {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let fields = |names: &[&str]| {
            Schema::new(
                names
                    .iter()
                    .map(|n| Field::new(*n, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            )
        };
        let impact = fields(&["signature_id", "dimension", "value", "n", "request_rows"]);
        assert_eq!(missing_column("impact", &impact), None);
        let renamed = fields(&["signature_id", "dim", "value", "n", "request_rows"]);
        assert_eq!(missing_column("impact", &renamed), Some("dimension"));
        // Every list names a query of sql/.
        for (name, _) in READS {
            let known = crate::engine::named::QUERIES
                .iter()
                .any(|(q, _)| *q == name);
            assert!(known, "{name} is not a named query");
        }
    }

    #[test]
    fn a_query_column_of_another_type_is_named() {
        let row = |lift: Value| -> JsonRow {
            serde_json::from_value(serde_json::json!({
                "signature_a": "a", "signature_b": "b", "linked": true,
                "lift": lift, "median_lag_ms": null,
            }))
            .expect("object")
        };
        let good: Vec<CoOccurrenceRow> =
            typed("co_occurrence", vec![row(Value::from(2.5))]).expect("typed");
        assert!(good[0].linked && good[0].lift == 2.5 && good[0].median_lag_ms == 0.0);
        let err = typed::<CoOccurrenceRow>(
            "co_occurrence",
            vec![row(Value::from(1)), row(Value::from("high"))],
        )
        .err()
        .expect("a text lift is refused");
        let msg = err.to_string();
        assert!(
            msg.contains("co_occurrence, row 2, column lift") && msg.contains("invalid type"),
            "{msg}"
        );
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

    /// Regression: a database error (app rows, no trace) linked to two endpoints' 500s
    /// showed "500 (294)", the larger effect's count, for 294 + 273 failed requests.
    #[test]
    fn a_linked_incident_adds_up_its_effects_requests() {
        let counted = |value: &str, n, request_rows| Counted {
            value: value.into(),
            n,
            request_rows,
        };
        let linked = |members: &[Vec<Counted>], disjoint| {
            let mut into = Vec::new();
            for m in members {
                union(&mut into, m, disjoint);
            }
            into.iter()
                .map(|c| (c.value.clone(), c.n))
                .collect::<Vec<_>>()
        };
        let root = vec![counted("svc", 600, 0)];
        let threads = vec![counted("500", 294, 294), counted("svc", 294, 294)];
        let messages = vec![counted("500", 273, 273), counted("svc", 273, 273)];
        assert_eq!(
            linked(&[root.clone(), threads.clone(), messages.clone()], false),
            [("svc".into(), 600), ("500".into(), 567)],
        );
        // The root's rows charged to those same requests: not counted twice.
        let charged = vec![counted("500", 567, 0), counted("svc", 567, 0)];
        assert_eq!(
            linked(&[charged, threads.clone(), messages.clone()], false),
            [("500".into(), 567), ("svc".into(), 567)],
        );
        // A family's members are different requests, whatever the rows are.
        assert_eq!(
            linked(&[root, threads, messages], true),
            [("svc".into(), 1167), ("500".into(), 567)],
        );
    }
}
