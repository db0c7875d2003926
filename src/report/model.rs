//! The report's content, one structure for every format: `--format json` is this,
//! serialized (schema version [`SCHEMA_VERSION`]); Markdown and HTML render it.
//!
//! Times are RFC 3339 UTC strings; counts are integers; every figure comes from a named
//! query listed in [`Report::queries`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::common::time::{NANOS_PER_DAY, format_rfc3339_seconds, parse_rfc3339};

/// Bumped when a field changes meaning or goes away (adding fields does not bump it).
/// Version 2: issues count their problem rows (not all the signature's rows), are numbered
/// in incident order, and `incidents[]` covers every issue (linked groups, request families
/// and single issues), ordered by priority.
pub const SCHEMA_VERSION: u32 = 2;

/// How urgent an issue or incident is: P0 (blocking) to P3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
}

impl Priority {
    /// P0 for 0, ..., P3 for 3 or more.
    pub fn from_level(level: u8) -> Priority {
        match level {
            0 => Priority::P0,
            1 => Priority::P1,
            2 => Priority::P2,
            _ => Priority::P3,
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// How often an issue's rows come, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Frequency {
    #[serde(rename = "LOW")]
    Low,
    #[serde(rename = "MEDIUM")]
    Medium,
    #[serde(rename = "HIGH")]
    High,
    #[serde(rename = "VERY HIGH")]
    VeryHigh,
}

impl Frequency {
    /// Lowest first, as rules name them.
    pub const ALL: [Frequency; 4] = [
        Frequency::Low,
        Frequency::Medium,
        Frequency::High,
        Frequency::VeryHigh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Frequency::Low => "LOW",
            Frequency::Medium => "MEDIUM",
            Frequency::High => "HIGH",
            Frequency::VeryHigh => "VERY HIGH",
        }
    }
}

impl std::fmt::Display for Frequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A signature's status in the known-issue ledger (`--known`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueStatus {
    /// Not in the ledger.
    New,
    /// In the ledger, open.
    Known,
    /// Resolved in the ledger and seen again after it was resolved.
    Regressed,
    /// Resolved in the ledger and not seen since.
    Resolved,
    /// Muted in the ledger: left out of the report.
    Muted,
}

impl std::fmt::Display for IssueStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IssueStatus::New => "new",
            IssueStatus::Known => "known",
            IssueStatus::Regressed => "regressed",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Muted => "muted",
        })
    }
}

/// Why a signature stands out in time: the new_and_rising query's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Novelty {
    /// First seen in the range.
    New,
    /// Seen before, rising after a revision change.
    Rising,
}

impl std::fmt::Display for Novelty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Novelty::New => "new",
            Novelty::Rising => "rising",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub generated_at: String,
    pub lake: String,
    pub range: Range,
    pub projects: Vec<String>,
    pub services: Vec<String>,
    pub totals: Totals,
    /// Root causes with their effects, most urgent first; every issue is in exactly one.
    pub incidents: Vec<Incident>,
    /// In incident order (root cause first, then its effects): `id` is the position, from 1.
    pub issues: Vec<Issue>,
    /// Linked pairs among the issues, strongest evidence first.
    pub relationships: Vec<Relationship>,
    pub bursts: Vec<Burst>,
    /// Rows per hour and severity over the range (the stacked chart).
    pub timeline: Timeline,
    /// Incident ids per priority, "P0" to "P3".
    pub priority_assessment: BTreeMap<Priority, Vec<usize>>,
    /// Muted issues left out (known-issue ledger).
    pub muted: usize,
    pub queries: Vec<QueryUsed>,
}

impl Report {
    /// The issue with this id (ids are positions from 1).
    pub fn issue(&self, id: usize) -> Option<&Issue> {
        self.issues.get(id.checked_sub(1)?).filter(|i| i.id == id)
    }

    /// The summary's opening sentence (plain text, no closing punctuation; renderers escape
    /// it). With no incidents it says why the list is empty.
    pub fn overview(&self) -> String {
        if !self.incidents.is_empty() {
            let muted = if self.muted > 0 {
                format!("; {} muted", self.muted)
            } else {
                String::new()
            };
            return format!(
                "{} incidents from {} issues (an issue is a signature's problem rows: severity \
                 >= WARNING, HTTP status >= 500, or promoted by a rule){muted}",
                self.incidents.len(),
                self.issues.len(),
            );
        }
        match self.totals.rows {
            0 => "No entries in range".to_owned(),
            _ if self.muted > 0 => format!(
                "No incidents: every issue in range is muted ({} in the known-issue ledger)",
                self.muted
            ),
            n => format!(
                "No problems in range: none of the {n} entries is WARNING or worse, has an HTTP \
                 status >= 500, or is promoted by a rule"
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Range {
    /// As resolved from --since/--until (null when open).
    pub since: Option<String>,
    pub until: Option<String>,
    /// The oldest and newest entries in the range.
    pub first_entry: Option<String>,
    pub last_entry: Option<String>,
    pub days: f64,
}

impl Range {
    /// The range as the report's header shows it, to the second: the bounds (else the
    /// oldest and newest entries) and their span, then where the entries are when that is
    /// a day or more inside the bounds (`--since 3000d` over a week of entries). The JSON
    /// keeps the exact bounds; shown whole, `--since 7d` (counted back from a nanosecond
    /// past the newest entry) read `2025-09-05T04:23:48.790530001Z`.
    pub fn header(&self) -> String {
        /// A bound's text, and its time when it parses.
        fn at(t: &Option<String>) -> Option<(&str, Option<i64>)> {
            t.as_deref().map(|s| (s, parse_rfc3339(s).ok()))
        }
        let show = |t: Option<(&str, Option<i64>)>| match t {
            Some((_, Some(ns))) => format_rfc3339_seconds(ns),
            Some((text, None)) => text.to_owned(),
            None => "-".to_owned(),
        };
        let (since, until) = (at(&self.since), at(&self.until));
        let (first, last) = (at(&self.first_entry), at(&self.last_entry));
        let mut line = format!(
            "{} to {} ({} days)",
            show(since.or(first)),
            show(until.or(last)),
            self.days
        );
        let ns = |t: Option<(&str, Option<i64>)>| t.and_then(|(_, ns)| ns);
        let inside = |outer, inner| {
            ns(outer)
                .zip(ns(inner))
                .is_some_and(|(o, i)| i.abs_diff(o) >= NANOS_PER_DAY.unsigned_abs())
        };
        if inside(since, first) || inside(until, last) {
            line += &format!("; entries {} to {}", show(first), show(last));
        }
        line
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub rows: u64,
    /// Severity name -> rows, for the severities present.
    pub by_severity: BTreeMap<String, u64>,
    /// The same, lowest severity first, for rendering.
    pub severities: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    pub id: usize,
    /// The incident it belongs to.
    pub incident: usize,
    pub signature_id: String,
    /// Unique among the issues.
    pub title: String,
    pub template: String,
    /// Problem rows: severity >= WARNING, HTTP status >= 500, or all rows when a rule
    /// promotes the signature. Rate, first/last seen, trend, samples and recent
    /// occurrences are over these rows.
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The highest severity among its problem rows.
    pub severity: String,
    /// All the signature's rows in the range, and the severity most of them have.
    pub total_rows: u64,
    pub dominant_severity: String,
    /// Problem rows are under 1% of the signature's rows (and it is not new): "occasional
    /// ERROR in a DEBUG statement".
    pub occasional: bool,
    /// Serialised as "new" or "rising".
    pub novelty: Option<Novelty>,
    /// The log most of its rows come from (`run.googleapis.com/stderr`).
    pub log_id: String,
    pub priority: Priority,
    /// The rule that set the priority.
    pub priority_rule: String,
    /// See [`frequency_class`](super::gather::frequency_class).
    pub frequency: Frequency,
    pub rate_per_hour: f64,
    /// "~1 every 8 s; 75,604 in 7 days".
    pub frequency_text: String,
    pub impact: Impact,
    /// Rows per UTC day over the range.
    pub trend: Vec<DayCount>,
    /// The latest occurrence: the reference worklog's one-line sample and the entry's fields.
    pub samples: Vec<Sample>,
    /// The latest occurrences, newest first.
    pub recent: Vec<Occurrence>,
    /// From the known-issue ledger (`--known`); new without one.
    pub status: IssueStatus,
    pub tracker: Option<String>,
    /// Ids of the issues it is linked with.
    pub related: Vec<usize>,
    /// HTTP status >= 500 seen on its rows or their requests.
    pub server_errors: u64,
    /// Rows per window of [`Timeline::starts`] (the sparkline).
    pub timeline: Vec<u64>,
}

/// Fixed UTC windows over the range; every series has one count per window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub window: String,
    pub starts: Vec<String>,
    /// Severity name -> rows per window, lowest severity first.
    pub severities: Vec<(String, Vec<u64>)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    pub endpoints: Vec<Counted>,
    pub status_codes: Vec<Counted>,
    pub user_agents: Vec<Counted>,
    pub services: Vec<Counted>,
    pub revisions: Vec<Counted>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counted {
    pub value: String,
    pub n: u64,
    /// Of `n`, rows that are requests themselves (their own HTTP fields), not app rows
    /// charged to the request of their trace: what adds up across a linked incident's
    /// issues (see `gather::union`).
    #[serde(skip)]
    pub request_rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayCount {
    pub day: String,
    pub n: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Occurrence {
    pub timestamp: String,
    pub severity: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// `2025-09-12T03:53:19.427266Z  WARNING   message`, as in the reference worklog.
    pub line: String,
    /// The entry's non-empty lake fields (JSON payload parsed back into JSON).
    pub entry: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Relationship {
    /// Signature ids: `a` comes first (median lag >= 0).
    pub a: String,
    pub b: String,
    pub issue_a: usize,
    pub issue_b: usize,
    /// same_id, lag or window.
    pub level: String,
    pub lag_ms: f64,
    /// The larger of the two directions.
    pub confidence: f64,
    pub confidence_ab: f64,
    pub confidence_ba: f64,
    pub lift: f64,
    /// -log10 p.
    pub significance: f64,
    pub support_id: u64,
    pub support_lag: Option<u64>,
    pub support_window: u64,
}

/// A root cause and its effects (see [`crate::report::incidents`]).
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub id: usize,
    /// Unique among the incidents.
    pub title: String,
    /// The most urgent member's.
    pub priority: Priority,
    /// Why it has this priority: the rule that fired, and for which member.
    pub why: String,
    /// linked (a root cause with the effects linked to it), family (request signatures
    /// that differ only by path or method, in one status class) or single.
    pub kind: String,
    /// The root cause's issue id and signature id.
    pub root: usize,
    pub root_cause: String,
    /// Issue ids and signature ids of the members, root cause first.
    pub issues: Vec<usize>,
    pub members: Vec<String>,
    /// The effects, each with the evidence linking it to the root cause (linked only).
    pub effects: Vec<Effect>,
    /// The root cause's problem rows (a family's: all its members').
    pub count: u64,
    /// Over all members.
    pub first_seen: String,
    pub last_seen: String,
    /// The union of the members' impact: per value, a family's sum (different requests),
    /// a linked incident's lower bound (its largest count, or its request rows' sum if
    /// larger: see `gather::union`).
    pub impact: Impact,
    /// The root cause's status in the known-issue ledger.
    pub status: IssueStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct Effect {
    pub issue: usize,
    pub signature_id: String,
    /// same_id or lag (see [`Relationship`]).
    pub level: String,
    /// How long after the root cause it comes (median).
    pub lag_ms: f64,
    pub confidence: f64,
    pub lift: f64,
    pub significance: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    pub signature_id: String,
    /// The issue, when the signature is one.
    pub issue: Option<usize>,
    pub template: String,
    pub window_start: String,
    pub n: u64,
    pub baseline: f64,
    pub z: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryUsed {
    pub name: String,
    pub params: BTreeMap<String, String>,
    /// The command that reproduces it.
    pub command: String,
}

#[cfg(test)]
mod tests {
    use super::Range;

    fn range(bounds: [Option<&str>; 2], entries: [Option<&str>; 2], days: f64) -> Range {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Range {
            since: own(bounds[0]),
            until: own(bounds[1]),
            first_entry: own(entries[0]),
            last_entry: own(entries[1]),
            days,
        }
    }

    #[test]
    fn the_header_shows_the_range_to_the_second_and_entries_well_inside_it() {
        let week = range(
            [Some("2025-09-05T04:23:48.790530001Z"), None],
            [
                Some("2025-09-05T04:23:49.000001Z"),
                Some("2025-09-12T04:23:48.79053Z"),
            ],
            7.0,
        );
        assert_eq!(
            week.header(),
            "2025-09-05T04:23:48Z to 2025-09-12T04:23:48Z (7 days)"
        );
        let wide = range(
            [Some("2017-06-30T01:42:58Z"), None],
            [Some("2025-08-25T16:18:10.5Z"), Some("2025-09-16T01:42:58Z")],
            3000.0,
        );
        assert_eq!(
            wide.header(),
            "2017-06-30T01:42:58Z to 2025-09-16T01:42:58Z (3000 days); entries \
             2025-08-25T16:18:10Z to 2025-09-16T01:42:58Z"
        );
        let empty = range([None, None], [None, None], 0.0);
        assert_eq!(empty.header(), "- to - (0 days)");
    }
}
