//! The folder layout a Cloud Logging sink writes to a bucket, and which of its folders and
//! files can hold entries in a time range:
//!
//! ```text
//! LOG_ID/YYYY/MM/DD/HH:MM:SS_HH:MM:SS_S0.json     e.g. run.googleapis.com/stderr/2025/09/05/08:00:00_08:59:59_S0.json
//! ```
//! The date folders and the file's hour are the entries' timestamps in UTC (late entries go
//! to `_An` shards of the same hour), so a folder or file whose span misses the range is
//! skipped without being listed or read. Paths that do not follow the layout are kept; the
//! rows of every file read are still filtered by timestamp.

use crate::common::time::{Nanos, days_from_civil};
use crate::range::TimeRange;

const SEC: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * SEC;

fn number(s: &str, digits: usize, lo: u32, hi: u32) -> Option<u32> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (lo..=hi).contains(n))
}

/// The start of the day named by the last three components `YYYY/MM/DD`, if they are one.
fn day_start(parts: &[&str]) -> Option<Nanos> {
    let [y, m, d] = parts.get(parts.len().checked_sub(3)?..)? else {
        return None;
    };
    let y = number(y, 4, 1970, 9999)?;
    let m = number(m, 2, 1, 12)?;
    let d = number(d, 2, 1, 31)?;
    // Nanoseconds end in April 2262: a date whose day does not fit whole is not judged
    // (kept), so the day's end below never overflows.
    days_from_civil(y.into(), m.into(), d.into())
        .checked_mul(DAY)
        .filter(|start| start.checked_add(DAY).is_some())
}

/// Seconds into the day of `HH:MM:SS`.
fn clock(s: &str) -> Option<i64> {
    let mut it = s.split(':');
    let h = number(it.next()?, 2, 0, 23)?;
    let m = number(it.next()?, 2, 0, 59)?;
    let sec = number(it.next()?, 2, 0, 59)?;
    it.next()
        .is_none()
        .then_some(i64::from(h * 3600 + m * 60 + sec))
}

/// Whether a folder (its path components) may hold entries in `range`: false only for a
/// sink date folder `YYYY/MM/DD` whose day misses the range.
pub fn folder_may_match(parts: &[&str], range: &TimeRange) -> bool {
    day_start(parts).is_none_or(|start| range.overlaps(start, start + DAY))
}

/// Whether a file (its path components, the file name last) may hold entries in `range`:
/// false for a file in a sink date folder whose day, or whose hour span
/// (`08:00:00_08:59:59_S0.json`), misses the range.
pub fn file_may_match(parts: &[&str], range: &TimeRange) -> bool {
    let Some((name, dirs)) = parts.split_last() else {
        return true;
    };
    let Some(day) = day_start(dirs) else {
        return true;
    };
    let mut span = name.split('_');
    match (span.next().and_then(clock), span.next().and_then(clock)) {
        (Some(from), Some(to)) if from <= to => {
            range.overlaps(day + from * SEC, day + (to + 1) * SEC)
        }
        _ => range.overlaps(day, day + DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::time::parse_rfc3339;

    fn range(since: &str, until: &str) -> TimeRange {
        TimeRange {
            since: parse_rfc3339(since).ok(),
            until: parse_rfc3339(until).ok(),
        }
    }

    fn parts(p: &str) -> Vec<&str> {
        p.split('/').collect()
    }

    #[test]
    fn date_folders_outside_the_range_are_skipped() {
        let r = range("2025-09-05T00:00:00Z", "2025-09-12T00:00:00Z");
        assert!(folder_may_match(
            &parts("b/run.googleapis.com/stderr/2025/09/05"),
            &r
        ));
        assert!(folder_may_match(
            &parts("b/run.googleapis.com/stderr/2025/09/11"),
            &r
        ));
        assert!(!folder_may_match(
            &parts("b/run.googleapis.com/stderr/2025/09/12"),
            &r
        ));
        assert!(!folder_may_match(
            &parts("b/run.googleapis.com/stderr/2025/09/04"),
            &r
        ));
        // Year and month folders are listed (cheap); only whole dates decide.
        assert!(folder_may_match(&parts("b/stderr/2024"), &r));
        assert!(folder_may_match(&parts("b/stderr/2024/01"), &r));
        // Not a date: kept.
        assert!(folder_may_match(&parts("b/stderr/2025/13/01"), &r));
        assert!(folder_may_match(&parts("b/stderr/v2/09/04"), &r));
        assert!(folder_may_match(
            &parts("x/2025/09/01"),
            &TimeRange::default()
        ));
    }

    /// Fuzzing found it: a date folder past 2262 overflowed the nanoseconds of its day
    /// (a panic in debug builds, a wrapped and wrong skip in release).
    #[test]
    fn dates_past_what_nanoseconds_hold_are_kept() {
        let r = range("2025-09-05T00:00:00Z", "2025-09-12T00:00:00Z");
        assert!(folder_may_match(&parts("s/9999/12/31"), &r));
        assert!(folder_may_match(&parts("s/2262/04/11"), &r));
        assert!(file_may_match(
            &parts("s/2262/04/11/23:00:00_23:59:59_S0.json"),
            &r
        ));
        assert!(!folder_may_match(&parts("s/2262/04/10"), &r));
    }

    #[test]
    fn hourly_files_are_judged_by_their_hour() {
        let r = range("2025-09-05T08:30:00Z", "2025-09-05T10:00:00Z");
        let at = |name: &str| file_may_match(&parts(&format!("s/2025/09/05/{name}")), &r);
        assert!(!at("07:00:00_07:59:59_S0.json"));
        assert!(at("08:00:00_08:59:59_S0.json"));
        assert!(at("09:00:00_09:59:59_A1.json"));
        assert!(!at("10:00:00_10:59:59_S0.json"));
        // Another name in a date folder: judged by the day.
        assert!(at("export.json"));
        assert!(!file_may_match(&parts("s/2025/09/06/export.json"), &r));
        // Outside the layout: kept.
        assert!(file_may_match(&parts("exports/week.json.gz"), &r));
    }
}
