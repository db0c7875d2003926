//! Why a record was not turned into a row, and the quarantined record itself.

use std::fmt;
use std::sync::Arc;

/// The reason a record was quarantined. The snake_case name is what the summary and the
/// `_quarantine/` files say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The value ends before it is closed (cut file, cut element).
    TruncatedJson,
    /// Not JSON at all (a text line, a syntax error).
    InvalidJson,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A JSON scalar or array where a LogEntry object belongs.
    NotAnObject,
    /// A field of the wrong type (labels as a list, a nested object where a string belongs).
    WrongType,
    /// `timestamp`/`receiveTimestamp` present but unreadable (a number, not RFC 3339).
    BadTimestamp,
    /// Neither `timestamp` nor `receiveTimestamp`.
    MissingTimestamp,
    /// `severity` is not a LogSeverity name or number.
    BadSeverity,
    /// Larger than the record size limit; the first bytes are kept.
    TooLarge,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::TruncatedJson,
        Reason::InvalidJson,
        Reason::InvalidUtf8,
        Reason::NotAnObject,
        Reason::WrongType,
        Reason::BadTimestamp,
        Reason::MissingTimestamp,
        Reason::BadSeverity,
        Reason::TooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TruncatedJson => "truncated_json",
            Reason::InvalidJson => "invalid_json",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::NotAnObject => "not_an_object",
            Reason::WrongType => "wrong_type",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::MissingTimestamp => "missing_timestamp",
            Reason::BadSeverity => "bad_severity",
            Reason::TooLarge => "too_large",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record refused by the decoder, with a detail naming the field or the JSON position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }

    pub fn from_json_error(e: &serde_json::Error) -> Self {
        let reason = if e.is_eof() {
            Reason::TruncatedJson
        } else if e.is_data() {
            Reason::WrongType
        } else {
            Reason::InvalidJson
        };
        Rejection::new(reason, e.to_string())
    }
}

/// A quarantined record: where it came from, why, and its exact bytes.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub source: Arc<str>,
    pub offset: u64,
    pub line: u64,
    pub reason: Reason,
    pub detail: String,
    pub raw: Vec<u8>,
}

impl fmt::Display for Quarantined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (byte {}): {}: {}",
            self.source, self.line, self.offset, self.reason, self.detail
        )
    }
}
