//! RFC 3339 timestamps and protobuf durations, as Cloud Logging writes them.
//!
//! Hand-written because it runs several times per entry and the accepted forms are narrow:
//! `YYYY-MM-DDTHH:MM:SS[.f{0,9}](Z|±HH:MM)`, `t`/`z`/space accepted as in RFC 3339 §5.6's note.

use std::cell::Cell;

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;

pub const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

thread_local! {
    /// The last date (`YYYY-MM-DD`) [`parse_rfc3339`] accepted on this thread, with its day
    /// number: an export's timestamps share a handful of dates, so most skip the calendar.
    static LAST_DATE: Cell<([u8; 10], i64)> = const { Cell::new((*b"1970-01-01", 0)) };
}

/// Parses an RFC 3339 timestamp to UTC nanoseconds. The error says what was wrong.
pub fn parse_rfc3339(s: &str) -> Result<Nanos, &'static str> {
    let b = s.as_bytes();
    let Some(date) = b.first_chunk::<10>().filter(|_| b.len() >= 20) else {
        return Err("too short for an RFC 3339 timestamp");
    };
    // The day number of the date accepted last, or the fields of another date. A date
    // accepted before passed every check below that looks at it: skipping them leaves the
    // other checks in the same order, so any input gets the same error as without the memo.
    let day_or_fields = match LAST_DATE.get() {
        (last, days) if last == *date => Ok(days),
        _ => Err((digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?)),
    };
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err("expected YYYY-MM-DDTHH:MM:SS");
    }
    if b[13] != b':' || b[16] != b':' {
        return Err("expected HH:MM:SS");
    }
    let days = match day_or_fields {
        Ok(days) => days,
        Err((year, month, day)) => {
            if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
                return Err("date out of range");
            }
            let days = days_from_civil(year, month, day);
            LAST_DATE.set((*date, days));
            days
        }
    };
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time of day out of range");
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err("empty fractional seconds");
        }
        for _ in n..9 {
            frac *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let off = oh * 3600 + om * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return Err("expected Z or an offset like +00:00 at the end"),
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    // In i128: the whole seconds alone can be out of range while the instant is not
    // (1677-09-21T00:12:43.145224192Z, the earliest).
    i64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(frac))
        .map_err(|_| "timestamp out of range")
}

fn digits(b: &[u8], at: usize, n: usize) -> Result<i64, &'static str> {
    let mut v = 0i64;
    for &c in b.get(at..at + n).ok_or("too short")? {
        if !c.is_ascii_digit() {
            return Err("expected a digit");
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Ok(v)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The UTC day number of a timestamp.
pub fn day_of(ts: Nanos) -> i32 {
    ts.div_euclid(NANOS_PER_DAY) as i32
}

/// `YYYY-MM-DD` of a day number, as used in `dt=` partitions.
pub fn day_string(day: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(day));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 with nanoseconds, UTC (`2025-09-12T03:46:13.957993000Z`).
pub fn format_rfc3339(ts: Nanos) -> String {
    let nanos = ts.rem_euclid(1_000_000_000);
    format!("{}.{nanos:09}Z", to_the_second(ts))
}

/// RFC 3339 to the second (rounded down), UTC (`2025-09-12T03:46:13Z`): for people.
pub fn format_rfc3339_seconds(ts: Nanos) -> String {
    format!("{}Z", to_the_second(ts))
}

/// `2025-09-12T03:46:13` of `ts`, rounded down to the second.
fn to_the_second(ts: Nanos) -> String {
    let (y, m, d) = civil_from_days(ts.div_euclid(NANOS_PER_DAY));
    let secs = ts.rem_euclid(NANOS_PER_DAY) / 1_000_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A protobuf JSON duration (`"0.783137066s"`, `"3s"`, `"-1.5s"`) in milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<f64, &'static str> {
    let body = s.strip_suffix('s').ok_or("a duration ends in 's'")?;
    let v: f64 = body.parse().map_err(|_| "not a number of seconds")?;
    if v.is_finite() {
        Ok(v * 1000.0)
    } else {
        Err("not a finite duration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_for_people_are_rounded_down_to_the_second() {
        let t = parse_rfc3339("2025-09-05T04:23:48.790530001Z").expect("valid");
        assert_eq!(format_rfc3339(t), "2025-09-05T04:23:48.790530001Z");
        assert_eq!(format_rfc3339_seconds(t), "2025-09-05T04:23:48Z");
        // Before 1970 too: down, not toward zero.
        let t = parse_rfc3339("1969-12-31T23:59:59.5Z").expect("valid");
        assert_eq!(format_rfc3339(t), "1969-12-31T23:59:59.500000000Z");
        assert_eq!(format_rfc3339_seconds(t), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn fractional_digits_zero_to_nine() {
        let base = parse_rfc3339("2025-09-12T03:46:13Z").expect("valid");
        assert_eq!(base, 1_757_648_773_000_000_000);
        assert_eq!(
            parse_rfc3339("2025-09-12T03:46:13.9Z"),
            Ok(base + 900_000_000)
        );
        assert_eq!(
            parse_rfc3339("2025-09-12T03:46:13.957993Z"),
            Ok(base + 957_993_000)
        );
        assert_eq!(
            parse_rfc3339("2025-09-12T03:46:13.957993123Z"),
            Ok(base + 957_993_123)
        );
        // Digits past nanoseconds are dropped, not rounded.
        assert_eq!(
            parse_rfc3339("2025-09-12T03:46:13.9579931239Z"),
            Ok(base + 957_993_123)
        );
    }

    #[test]
    fn offsets_convert_to_utc() {
        let z = parse_rfc3339("2025-09-12T03:46:13Z");
        assert_eq!(parse_rfc3339("2025-09-12T05:46:13+02:00"), z);
        assert_eq!(parse_rfc3339("2025-09-11T20:46:13-07:00"), z);
        assert_eq!(parse_rfc3339("2025-09-12 03:46:13+00:00"), z);
    }

    /// The memo of the last date changes no answer: each input parsed right after each
    /// other (a valid date met last, or not) gives what it gives on a fresh thread.
    #[test]
    fn the_last_date_memo_changes_no_answer() {
        let inputs = [
            "2025-09-12T03:46:13.957993123Z",
            "2025-09-12T25:46:13Z",
            "2025-09-12x03:46:13Z",
            "2025-09-12T03-46:13Z",
            "2025-09-12T0a:46:13Z",
            "2025-09-12T03:46:13",
            "2024-02-29T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-0a-12T03:46:13Z",
            "2025-09-1",
            "1970-01-01T00:00:00Z",
            "\0\0\0\0\0\0\0\0\0\0T03:46:13Z",
            "1970-01-01T12:34:56Z",
        ];
        let fresh = |s: &'static str| {
            std::thread::spawn(move || parse_rfc3339(s))
                .join()
                .expect("no panic")
        };
        for first in inputs {
            for then in inputs {
                let _ = parse_rfc3339(first);
                assert_eq!(parse_rfc3339(then), fresh(then), "{then:?} after {first:?}");
            }
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2025-09-12",
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-09-12T03:46:13",
            "2025-09-12T03:46:13.Z",
            "2025-09-12T25:00:00Z",
            "2025-09-12T03:46:13+0200",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for day in [-800_000, -1, 0, 1, 20_343, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), day);
        }
        assert_eq!(day_string(day_of(1_757_648_773_000_000_000)), "2025-09-12");
        assert_eq!(
            format_rfc3339(1_757_648_773_957_993_000),
            "2025-09-12T03:46:13.957993000Z"
        );
        assert_eq!(day_string(day_of(-1)), "1969-12-31");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0.783137066s"), Ok(783.137066));
        assert_eq!(parse_duration_ms("3s"), Ok(3000.0));
        assert!(parse_duration_ms("3ms").is_err());
        assert!(parse_duration_ms("abc").is_err());
    }
}
