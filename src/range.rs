//! `--since`, `--until`, `--now`: RFC 3339 times, dates, or relative spans (`7d`, `36h`,
//! `90m`) that count back from `--now`, or else from a reference the caller picks: the newest
//! entry in the lake for `query` and `report` (exports are often old, so "the last 7 days"
//! means the export's last 7 days), the wall clock for `ingest`.
//!
//! Failure modes: a value that is none of the three forms is a [`RangeError`] naming the flag.

use crate::common::time::{Nanos, format_rfc3339, parse_rfc3339};

/// A `--since`/`--until`/`--now` value that could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "--{flag} {detail}; use RFC 3339 (2025-09-12T03:00:00Z), a date (2025-09-12) or a span (7d, 36h, 90m)"
)]
pub struct RangeError {
    pub flag: &'static str,
    pub detail: String,
}

/// The times as the user gave them.
#[derive(Debug, Clone, Default)]
pub struct RangeSpec {
    pub since: Option<String>,
    pub until: Option<String>,
    pub now: Option<String>,
}

/// Now, in UTC nanoseconds: what spans such as `7d` count back from when nothing else is
/// given.
pub fn wall_clock() -> Nanos {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// A resolved half-open range `[since, until)`, in UTC nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeRange {
    pub since: Option<Nanos>,
    pub until: Option<Nanos>,
}

const SEC: i64 = 1_000_000_000;

/// A relative span in nanoseconds: `7d`, `36h`, `90m`, `45s`, `2w`.
fn relative(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let unit = match unit {
        's' => SEC,
        'm' => 60 * SEC,
        'h' => 3600 * SEC,
        'd' => 86_400 * SEC,
        'w' => 7 * 86_400 * SEC,
        _ => return None,
    };
    n.checked_mul(unit)
}

fn absolute(s: &str) -> Result<Nanos, String> {
    if s.len() == 10 {
        return parse_rfc3339(&format!("{s}T00:00:00Z")).map_err(|e| format!("{s:?}: {e}"));
    }
    parse_rfc3339(s).map_err(|e| format!("{s:?}: {e}"))
}

impl RangeSpec {
    /// Resolves relative times against `now` (or `newest`, the newest entry in the lake).
    pub fn resolve(&self, newest: Option<Nanos>) -> Result<TimeRange, RangeError> {
        let bad = |flag: &'static str, detail: String| RangeError { flag, detail };
        let now = match &self.now {
            Some(n) => absolute(n).map_err(|e| bad("now", e))?,
            // One nanosecond past the newest entry, so `--since 1h` includes it.
            None => newest.map_or(0, |t| t.saturating_add(1)),
        };
        let at = |flag: &'static str, v: &Option<String>| match v {
            None => Ok(None),
            Some(s) => time_at(flag, s, now).map(Some),
        };
        Ok(TimeRange {
            since: at("since", &self.since)?,
            until: at("until", &self.until)?,
        })
    }
}

/// One time as `--FLAG` gives it: RFC 3339, a date, or a span counted back from `now`.
pub fn time_at(flag: &'static str, value: &str, now: Nanos) -> Result<Nanos, RangeError> {
    match relative(value) {
        Some(span) => now.checked_sub(span).ok_or_else(|| RangeError {
            flag,
            detail: format!("{value:?} counts back past the years a timestamp can hold"),
        }),
        None => absolute(value).map_err(|detail| RangeError { flag, detail }),
    }
}

impl TimeRange {
    /// Whether nothing limits the range.
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    pub fn contains(&self, t: Nanos) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether the half-open span `[start, end)` shares any instant with the range.
    pub fn overlaps(&self, start: Nanos, end: Nanos) -> bool {
        self.since.is_none_or(|s| end > s) && self.until.is_none_or(|u| start < u)
    }

    /// A bound as an SQL timestamp literal (NULL when open), for the `query_range` view.
    pub fn sql_bound(bound: Option<Nanos>) -> String {
        match bound {
            Some(t) => format!("TIMESTAMP '{}'", format_rfc3339(t)),
            None => "CAST(NULL AS TIMESTAMP)".to_owned(),
        }
    }

    /// Whether every instant of the half-open span `[start, end)` is in the range: a lake
    /// file whose rows all are needs no row-level filter.
    pub fn covers(&self, start: Nanos, end: Nanos) -> bool {
        self.since.is_none_or(|s| start >= s) && self.until.is_none_or(|u| end <= u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_counts_back_from_the_newest_entry() {
        let newest = parse_rfc3339("2025-09-12T04:00:00Z").ok();
        let spec = RangeSpec {
            since: Some("7d".into()),
            ..RangeSpec::default()
        };
        let r = spec.resolve(newest).expect("resolves");
        assert_eq!(
            r.since,
            parse_rfc3339("2025-09-05T04:00:00.000000001Z").ok()
        );
        let spec = RangeSpec {
            since: Some("36h".into()),
            now: Some("2025-09-12".into()),
            ..RangeSpec::default()
        };
        assert_eq!(
            spec.resolve(newest).expect("ok").since,
            parse_rfc3339("2025-09-10T12:00:00Z").ok()
        );
        let bad = RangeSpec {
            until: Some("yesterday".into()),
            ..RangeSpec::default()
        };
        assert!(bad.resolve(newest).is_err());
    }

    #[test]
    fn a_span_is_covered_only_when_all_of_it_is_in_range() {
        let r = TimeRange {
            since: Some(100),
            until: Some(200),
        };
        assert!(r.covers(100, 200));
        assert!(!r.covers(99, 150), "starts before since");
        assert!(!r.covers(150, 201), "ends after until");
        assert!(r.overlaps(99, 150) && r.overlaps(150, 201));
        assert!(TimeRange::default().covers(i64::MIN, i64::MAX));
    }
}
