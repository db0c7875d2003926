//! The LogEntry model: one raw record in, one normalized [`Row`] (or a [`Rejection`]) out.
//!
//! Faithful to Google's LogEntry JSON, with the leniency proto3 JSON parsers allow: int64 as
//! strings (`"responseSize": "754"`), enums as numbers (`"severity": 400`), `null` as absent,
//! and the Python client's shape (snake_case aliases, both text and JSON payloads).
//! Unknown top-level fields are ignored.
//!
//! Failure modes: every problem is a [`Rejection`] with a [`Reason`] and a detail naming the
//! field, so the quarantine says exactly what to fix.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use serde::de::IgnoredAny;
use smallvec::SmallVec;

use super::json::{self, Cursor, Raw, SyntaxError};
use super::quarantine::{Reason, Rejection};
use crate::common::severity::SEVERITIES;
use crate::common::time::{Nanos, parse_duration_ms, parse_rfc3339};

type Scan<T> = std::result::Result<T, Stop>;

/// Why a scan stopped: the record is not JSON, or a LogEntry object repeats a field (`at`:
/// the address of the repeated value, which lies in the record's text).
enum Stop {
    Syntax(SyntaxError),
    Duplicate { field: String, at: usize },
}

impl From<SyntaxError> for Stop {
    fn from(e: SyntaxError) -> Self {
        Stop::Syntax(e)
    }
}

/// Stores a LogEntry field's value; a field given twice is refused, as protobuf's JSON
/// parsers do (`logName` and `log_name` are the same field).
/// `field` is only written out for the error (no allocation per value).
/// Inlined, with the error apart: called for every field of every entry.
#[inline]
fn set<'a>(slot: &mut Option<Raw<'a>>, value: Raw<'a>, field: impl std::fmt::Display) -> Scan<()> {
    if slot.replace(value).is_some() {
        return Err(duplicate(field, value));
    }
    Ok(())
}

#[cold]
fn duplicate(field: impl std::fmt::Display, value: Raw<'_>) -> Stop {
    Stop::Duplicate {
        field: field.to_string(),
        at: value.get().as_ptr() as usize,
    }
}

/// The value at the cursor: an object read by `read` (which returns its text); anything else
/// is kept as its text, for the wrong-type error.
fn object_or_text<'a, E: From<SyntaxError>>(
    cur: &mut Cursor<'a>,
    read: impl FnOnce(&mut Cursor<'a>) -> std::result::Result<Raw<'a>, E>,
) -> std::result::Result<Raw<'a>, E> {
    if cur.peek() == Some(b'{') {
        read(cur)
    } else {
        Ok(cur.value()?)
    }
}

/// A string map such as labels: its text and its pairs in input order.
#[derive(Default)]
struct Map<'a> {
    raw: Option<Raw<'a>>,
    /// Inline up to eight pairs (a Cloud Run resource's labels are five): no allocation per
    /// map per entry.
    pairs: SmallVec<[(Cow<'a, str>, Raw<'a>); 8]>,
}

impl<'a> Map<'a> {
    /// Reads the value at the cursor: the pairs of an object; anything else is kept for
    /// the wrong-type error.
    fn read(&mut self, cur: &mut Cursor<'a>, field: &str) -> Scan<()> {
        let raw = object_or_text(cur, |cur| {
            cur.object(|k, c| {
                self.pairs.push((k, c.value()?));
                Ok::<_, SyntaxError>(())
            })
        })?;
        set(&mut self.raw, raw, field)
    }
}

/// The fields of one LogEntry, read in one pass over the record: the objects whose fields
/// become columns (resource, httpRequest, labels, the JSON payload) are read as the scan
/// meets them; any other value is kept as its text.
#[derive(Default)]
struct Fields<'a> {
    log_name: Option<Raw<'a>>,
    timestamp: Option<Raw<'a>>,
    receive_timestamp: Option<Raw<'a>>,
    severity: Option<Raw<'a>>,
    insert_id: Option<Raw<'a>>,
    labels: Map<'a>,
    operation: Option<Raw<'a>>,
    trace: Option<Raw<'a>>,
    span_id: Option<Raw<'a>>,
    trace_sampled: Option<Raw<'a>>,
    source_location: Option<Raw<'a>>,
    text_payload: Option<Raw<'a>>,
    proto_payload: Option<Raw<'a>>,
    /// Not LogEntry, but hand-written exports put the line here.
    message: Option<Raw<'a>>,
    /// `resource` as written, its `type` and its `labels`.
    resource: Option<Raw<'a>>,
    resource_type: Option<Raw<'a>>,
    resource_labels: Map<'a>,
    /// The resource object is one this thread read before: the first of [`SEEN_RESOURCES`].
    resource_seen: bool,
    http_request: Option<Raw<'a>>,
    http: HttpFields<'a>,
    json_payload: Option<Raw<'a>>,
    payload: PayloadFields<'a>,
}

impl<'a> Fields<'a> {
    /// Reads the record `text` into `f` (a default one: filled in place, the struct is big).
    fn read(text: &'a str, f: &mut Self) -> Scan<()> {
        let mut cur = Cursor::new(text);
        cur.object(|key, cur| {
            let slot = match key.as_ref() {
                "logName" | "log_name" => &mut f.log_name,
                "timestamp" => &mut f.timestamp,
                "receiveTimestamp" | "receive_timestamp" => &mut f.receive_timestamp,
                "severity" => &mut f.severity,
                "insertId" | "insert_id" => &mut f.insert_id,
                "operation" => &mut f.operation,
                "trace" => &mut f.trace,
                "spanId" | "span_id" => &mut f.span_id,
                "traceSampled" | "trace_sampled" => &mut f.trace_sampled,
                "sourceLocation" | "source_location" => &mut f.source_location,
                "textPayload" | "text_payload" => &mut f.text_payload,
                "protoPayload" | "proto_payload" => &mut f.proto_payload,
                "message" => &mut f.message,
                "labels" => return f.labels.read(cur, "labels"),
                "resource" => return f.read_resource(cur),
                "httpRequest" | "http_request" => {
                    let raw = object_or_text(cur, |cur| f.http.read(cur))?;
                    return set(&mut f.http_request, raw, "httpRequest");
                }
                "jsonPayload" | "json_payload" => {
                    let raw = object_or_text(cur, |cur| f.payload.read(cur))?;
                    return set(&mut f.json_payload, raw, "jsonPayload");
                }
                _ => {
                    cur.value()?;
                    return Ok(());
                }
            };
            set(slot, cur.value()?, &key)
        })?;
        cur.end()?;
        Ok(())
    }

    fn read_resource(&mut self, cur: &mut Cursor<'a>) -> Scan<()> {
        let rest = cur.rest();
        if let Some(n) = SEEN_RESOURCES.with_borrow_mut(|seen| self.reuse_resource(rest, seen)) {
            cur.skip(n);
            return Ok(());
        }
        let raw = object_or_text(cur, |cur| {
            cur.object(|k, c| match k.as_ref() {
                "type" => set(&mut self.resource_type, c.value()?, "resource.type"),
                "labels" => self.resource_labels.read(c, "resource.labels"),
                _ => c.value().map(drop).map_err(Stop::from),
            })
        })?;
        set(&mut self.resource, raw, "resource")?;
        self.remember_resource(raw);
        Ok(())
    }

    /// Fills the resource fields from a resource object this thread read before, when
    /// `rest` begins with its bytes (the same bytes are the same object), and makes it the
    /// first of `seen`; says how many bytes it spans. A record's second `resource` is left
    /// to the scan, which refuses it.
    fn reuse_resource(&mut self, rest: &'a str, seen: &mut [SeenResource]) -> Option<usize> {
        if self.resource.is_some() {
            return None;
        }
        let i = seen
            .iter()
            .position(|s| rest.starts_with(s.text.as_str()))?;
        seen[..=i].rotate_right(1);
        let seen = &seen[0];
        let n = seen.text.len();
        let text = &rest[..n];
        let at = |(r, escapes): &Place| Raw::new(&text[r.clone()], *escapes);
        self.resource = Some(Raw::new(text, true));
        self.resource_seen = true;
        self.resource_type = seen.type_at.as_ref().map(at);
        self.resource_labels.raw = seen.labels_at.as_ref().map(at);
        self.resource_labels.pairs.extend(
            seen.pairs
                .iter()
                .map(|(k, v)| (Cow::Borrowed(&text[k.clone()]), at(v))),
        );
        Some(n)
    }

    /// Keeps the resource object just read for [`Fields::reuse_resource`], first of the
    /// kept ones (the last kept goes): an object whose label keys have no escapes (the
    /// kept ones are borrowed from the record).
    fn remember_resource(&self, raw: Raw<'a>) {
        let text = raw.get();
        let borrowed = |k: &Cow<'_, str>| matches!(k, Cow::Borrowed(_));
        if !text.starts_with('{') || !self.resource_labels.pairs.iter().all(|(k, _)| borrowed(k)) {
            return;
        }
        let at = |r: Raw<'_>| (range_in(text, r.get()), r.may_have_escapes());
        SEEN_RESOURCES.with_borrow_mut(|kept| {
            if kept.len() < KEPT_RESOURCES {
                kept.push(SeenResource::default());
            }
            kept.rotate_right(1);
            let seen = &mut kept[0];
            seen.text.clear();
            seen.text.push_str(text);
            seen.derived = None;
            seen.type_at = self.resource_type.map(at);
            seen.labels_at = self.resource_labels.raw.map(at);
            seen.pairs.clear();
            seen.pairs.extend(
                self.resource_labels
                    .pairs
                    .iter()
                    .map(|(k, v)| (range_in(text, k), at(*v))),
            );
        });
    }
}

/// A `resource` object a thread read, byte for byte, and where its parts lie in it. The
/// entries of one service repeat it exactly (Cloud Run: a type and five labels, ~200
/// bytes), and comparing the bytes costs less than reading the object again (reading it
/// was 15% of decoding).
#[derive(Default)]
struct SeenResource {
    text: String,
    type_at: Option<Place>,
    labels_at: Option<Place>,
    /// Each label's key and value.
    pairs: Vec<(Range<usize>, Place)>,
    /// The columns [`resource`] derived from it, once derived, when each is a slice of it.
    derived: Option<Derived>,
}

/// Where a resource object's columns lie in its text (`None`: the column is null).
struct Derived([Option<Range<usize>>; 6]);

impl Derived {
    fn columns<'r, 'a>(row: &'r mut Row<'a>) -> [&'r mut Option<Cow<'a, str>>; 6] {
        [
            &mut row.resource_type,
            &mut row.resource_labels,
            &mut row.project_id,
            &mut row.service,
            &mut row.revision,
            &mut row.location,
        ]
    }

    /// The places of `row`'s resource columns in `text`, if all are slices of it.
    fn of(row: &mut Row<'_>, text: &str) -> Option<Self> {
        let mut places: [Option<Range<usize>>; 6] = Default::default();
        let within = text.as_ptr() as usize..=text.as_ptr() as usize + text.len();
        for (place, column) in places.iter_mut().zip(Self::columns(row)) {
            *place = match column {
                None => None,
                Some(Cow::Borrowed(s)) if within.contains(&(s.as_ptr() as usize)) => {
                    Some(range_in(text, s))
                }
                Some(_) => return None,
            };
        }
        Some(Derived(places))
    }

    fn apply<'a>(&self, row: &mut Row<'a>, text: &'a str) {
        for (place, column) in self.0.iter().zip(Self::columns(row)) {
            *column = place.clone().map(|r| Cow::Borrowed(&text[r]));
        }
    }
}

/// A value's bytes in [`SeenResource::text`], and whether it may have escapes.
type Place = (Range<usize>, bool);

/// Resource objects kept per thread, most recently met first. An export of several
/// services (a sink's, or the storefront bench's six resources at a time) interleaves them
/// record by record: with one kept, 38% of its records read theirs again.
const KEPT_RESOURCES: usize = 4;

thread_local! {
    static SEEN_RESOURCES: RefCell<Vec<SeenResource>> = const { RefCell::new(Vec::new()) };
}

/// Where `inner`, a slice of `outer`, lies in it.
fn range_in(outer: &str, inner: &str) -> Range<usize> {
    let start = inner.as_ptr() as usize - outer.as_ptr() as usize;
    start..start + inner.len()
}

#[derive(Default)]
struct HttpFields<'a> {
    method: Option<Raw<'a>>,
    url: Option<Raw<'a>>,
    status: Option<Raw<'a>>,
    latency: Option<Raw<'a>>,
    user_agent: Option<Raw<'a>>,
    remote_ip: Option<Raw<'a>>,
    server_ip: Option<Raw<'a>>,
    referer: Option<Raw<'a>>,
    protocol: Option<Raw<'a>>,
    request_size: Option<Raw<'a>>,
    response_size: Option<Raw<'a>>,
}

impl<'a> HttpFields<'a> {
    fn read(&mut self, cur: &mut Cursor<'a>) -> Scan<Raw<'a>> {
        cur.object(|key, c| {
            let slot = match key.as_ref() {
                "requestMethod" | "request_method" => &mut self.method,
                "requestUrl" | "request_url" => &mut self.url,
                "status" => &mut self.status,
                "latency" => &mut self.latency,
                "userAgent" | "user_agent" => &mut self.user_agent,
                "remoteIp" | "remote_ip" => &mut self.remote_ip,
                "serverIp" | "server_ip" => &mut self.server_ip,
                "referer" => &mut self.referer,
                "protocol" => &mut self.protocol,
                "requestSize" | "request_size" => &mut self.request_size,
                "responseSize" | "response_size" => &mut self.response_size,
                _ => return c.value().map(drop).map_err(Stop::from),
            };
            set(slot, c.value()?, format_args!("httpRequest.{key}"))
        })
    }
}

/// The payload fields read: the ones that carry the human line, in order of preference,
/// and the request id. A repeated key keeps its first value (as `json_get_str` does): a
/// payload is the application's own JSON, and refusing it would lose its message.
#[derive(Default)]
struct PayloadFields<'a> {
    request_id: Option<Raw<'a>>,
    message: Option<Raw<'a>>,
    msg: Option<Raw<'a>>,
    error: Option<Raw<'a>>,
    err: Option<Raw<'a>>,
    text: Option<Raw<'a>>,
    log: Option<Raw<'a>>,
    event: Option<Raw<'a>>,
}

impl<'a> PayloadFields<'a> {
    /// Reads the object at the cursor.
    fn read(&mut self, cur: &mut Cursor<'a>) -> std::result::Result<Raw<'a>, SyntaxError> {
        cur.object(|key, c| {
            let slot = match key.as_ref() {
                "request_id" => &mut self.request_id,
                "message" => &mut self.message,
                "msg" => &mut self.msg,
                "error" => &mut self.error,
                "err" => &mut self.err,
                "text" => &mut self.text,
                "log" => &mut self.log,
                "event" => &mut self.event,
                _ => return c.value().map(drop),
            };
            let v = c.value()?;
            slot.get_or_insert(v);
            Ok(())
        })
    }

    /// The fields of a payload object's text (`None`: not an object, or not JSON).
    fn of(text: &'a str) -> Option<Self> {
        let mut cur = Cursor::new(text);
        if cur.peek() != Some(b'{') {
            return None;
        }
        let mut p = PayloadFields::default();
        p.read(&mut cur).ok()?;
        cur.end().ok()?;
        Some(p)
    }
}

/// The `httpRequest` of an entry, normalized.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Http<'a> {
    pub method: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    pub status: Option<i32>,
    pub latency_ms: Option<f64>,
    pub user_agent: Option<Cow<'a, str>>,
    pub remote_ip: Option<Cow<'a, str>>,
    pub server_ip: Option<Cow<'a, str>>,
    pub referer: Option<Cow<'a, str>>,
    pub protocol: Option<Cow<'a, str>>,
    pub request_size: Option<i64>,
    pub response_size: Option<i64>,
}

/// One LogEntry, normalized to the lake's columns. Borrows from the raw record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Row<'a> {
    pub timestamp: Nanos,
    /// The entry had no `timestamp`; `timestamp` holds its `receiveTimestamp`.
    pub timestamp_missing: bool,
    pub receive_timestamp: Option<Nanos>,
    pub severity: &'static str,
    pub severity_number: i32,
    pub log_name: Option<Cow<'a, str>>,
    /// Shared by the entries of a log name: decoded once per name and decoder thread.
    pub log_id: Option<Arc<str>>,
    pub insert_id: Option<Cow<'a, str>>,
    pub resource_type: Option<Cow<'a, str>>,
    pub resource_labels: Option<Cow<'a, str>>,
    pub project_id: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
    pub revision: Option<Cow<'a, str>>,
    pub location: Option<Cow<'a, str>>,
    pub labels: Option<Cow<'a, str>>,
    pub trace: Option<Cow<'a, str>>,
    pub span_id: Option<Cow<'a, str>>,
    pub trace_sampled: Option<bool>,
    /// The payload's `request_id` string: what ties an untraced entry to its request.
    pub request_id: Option<Cow<'a, str>>,
    pub http: Http<'a>,
    pub text_payload: Option<Cow<'a, str>>,
    pub json_payload: Option<Cow<'a, str>>,
    pub proto_payload: Option<Cow<'a, str>>,
    pub operation: Option<Cow<'a, str>>,
    pub source_location: Option<Cow<'a, str>>,
    /// Borrowed from the record when it is one of its strings without escapes (or, for a
    /// JSON payload without a message field, the payload's text).
    pub message: Cow<'a, str>,
}

type Result<T> = std::result::Result<T, Rejection>;

fn wrong(field: &str, want: &str, raw: Raw<'_>) -> Rejection {
    Rejection::new(
        Reason::WrongType,
        format!("{field}: expected {want}, found {}", kind_of(raw)),
    )
}

fn kind_of(raw: Raw<'_>) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn present(raw: Option<Raw<'_>>) -> Option<Raw<'_>> {
    raw.filter(|r| r.get() != "null")
}

/// A JSON string's content, borrowed when it has no escapes. Inlined, the rest apart: a
/// `Result<Cow>` returned through memory stalled every caller on a store-to-load forward.
#[inline]
fn string<'a>(field: &str, raw: Raw<'a>) -> Result<Cow<'a, str>> {
    let s = raw.get();
    if s.starts_with('"') && !raw.may_have_escapes() {
        return Ok(Cow::Borrowed(&s[1..s.len() - 1]));
    }
    unescaped(field, raw)
}

#[cold]
fn unescaped<'a>(field: &str, raw: Raw<'a>) -> Result<Cow<'a, str>> {
    let s = raw.get();
    if !s.starts_with('"') {
        return Err(wrong(field, "a string", raw));
    }
    serde_json::from_str::<String>(s)
        .map(Cow::Owned)
        .map_err(|e| Rejection::new(Reason::InvalidJson, format!("{field}: {e}")))
}

#[inline]
fn opt_string<'a>(field: &str, raw: Option<Raw<'a>>) -> Result<Option<Cow<'a, str>>> {
    present(raw).map(|r| string(field, r)).transpose()
}

/// An int64 as proto3 JSON allows: a number or a decimal string.
fn int64(field: &str, raw: Raw<'_>) -> Result<i64> {
    let s = raw.get();
    let digits = s
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s);
    digits
        .parse::<i64>()
        .or_else(|_| {
            digits
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.is_finite())
                .map(|f| f as i64)
                .ok_or(())
        })
        .map_err(|()| wrong(field, "an integer (number or decimal string)", raw))
}

fn opt_int64(field: &str, raw: Option<Raw<'_>>) -> Result<Option<i64>> {
    present(raw).map(|r| int64(field, r)).transpose()
}

fn timestamp(field: &str, raw: Raw<'_>) -> Result<Nanos> {
    if raw.get().starts_with('{') {
        // `{"seconds": .., "nanos": ..}` as some clients serialize google.protobuf.Timestamp.
        let (mut seconds, mut nanos) = (None, None);
        Cursor::new(raw.get())
            .object(|k, c| match k.as_ref() {
                "seconds" => set(&mut seconds, c.value()?, "seconds"),
                "nanos" => set(&mut nanos, c.value()?, "nanos"),
                _ => c.value().map(drop).map_err(Stop::from),
            })
            .map_err(|e| match e {
                Stop::Duplicate { field: part, .. } => Rejection::new(
                    Reason::BadTimestamp,
                    format!("{field}: duplicate field `{part}`"),
                ),
                Stop::Syntax(_) => {
                    Rejection::new(Reason::BadTimestamp, format!("{field}: not JSON"))
                }
            })?;
        let secs = opt_int64(field, seconds)?.unwrap_or(0);
        let nanos = opt_int64(field, nanos)?.unwrap_or(0);
        return secs
            .checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(nanos))
            .ok_or_else(|| Rejection::new(Reason::BadTimestamp, format!("{field}: out of range")));
    }
    let s = string(field, raw).map_err(|_| {
        Rejection::new(
            Reason::BadTimestamp,
            format!(
                "{field}: expected an RFC 3339 string, found {}",
                kind_of(raw)
            ),
        )
    })?;
    parse_rfc3339(&s)
        .map_err(|e| Rejection::new(Reason::BadTimestamp, format!("{field}: {e}: {s:?}")))
}

fn severity(raw: Option<Raw<'_>>) -> Result<(&'static str, i32)> {
    let Some(raw) = present(raw) else {
        return Ok(SEVERITIES[0]);
    };
    let text = raw.get();
    // The usual form, a level's name as written by Cloud Logging: no copy made to compare.
    let quoted = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
    if let Some(&found) = quoted.and_then(|name| SEVERITIES.iter().find(|(n, _)| *n == name)) {
        return Ok(found);
    }
    if let Ok(n) = text.parse::<i64>() {
        // An enum by number; values between levels fall to the level below.
        let idx = (n.clamp(0, 800) / 100) as usize;
        return Ok(SEVERITIES[idx]);
    }
    let name = string("severity", raw)?;
    let upper = name.trim().to_ascii_uppercase();
    if let Some(&found) = SEVERITIES.iter().find(|(n, _)| *n == upper) {
        return Ok(found);
    }
    match upper.as_str() {
        "WARN" => Ok(SEVERITIES[4]),
        "FATAL" => Ok(SEVERITIES[6]),
        "" => Ok(SEVERITIES[0]),
        _ => upper
            .parse::<i64>()
            .map(|n| SEVERITIES[(n.clamp(0, 800) / 100) as usize])
            .map_err(|_| {
                Rejection::new(
                    Reason::BadSeverity,
                    format!("severity: {name:?} is not a LogSeverity name or number"),
                )
            }),
    }
}

/// A JSON object field kept as compact text; anything but an object is a wrong type.
fn object_text<'a>(field: &str, raw: Option<Raw<'a>>) -> Result<Option<Cow<'a, str>>> {
    match present(raw) {
        None => Ok(None),
        Some(r) if r.get().starts_with('{') => Ok(Some(json::compact(r.get()))),
        Some(r) => Err(wrong(field, "an object", r)),
    }
}

/// Checks a `map<string, string>` such as labels: values must be strings (numbers and
/// booleans are accepted as their text, as lenient clients send them).
fn check_string_map(field: &str, map: &Map<'_>) -> Result<()> {
    if let Some(raw) = map.raw.filter(|r| !r.get().starts_with('{')) {
        return Err(wrong(field, "an object of strings", raw));
    }
    for (k, v) in &map.pairs {
        match v.get().as_bytes().first() {
            Some(b'"') => drop(string(field, *v)?),
            Some(b'{' | b'[') => return Err(wrong(&format!("{field}.{k}"), "a string", *v)),
            _ => {}
        }
    }
    Ok(())
}

/// The first value of `key` in a checked string map that is neither null nor empty. Looked
/// up in the pairs as read, not in a converted copy: building that copy stalled on its
/// stores (2% of decoding).
fn map_get<'a>(map: &Map<'a>, key: &str) -> Option<Cow<'a, str>> {
    map.pairs
        .iter()
        .filter(|(k, _)| k == key)
        .find_map(|(_, v)| {
            let text = match v.get().as_bytes().first() {
                Some(b'"') => string("", *v).ok()?,
                Some(b'n') => return None,
                _ => Cow::Borrowed(v.get()),
            };
            (!text.is_empty()).then_some(text)
        })
}

/// Decodes one raw record. `bytes` must be a complete JSON value.
pub fn decode(bytes: &[u8]) -> Result<Row<'_>> {
    // SIMD validation: `std::str::from_utf8` was 1.1% of ingest's instructions.
    let text = simdutf8::compat::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            Reason::InvalidUtf8,
            format!("invalid UTF-8 at byte {} of the record", e.valid_up_to()),
        )
    })?;
    let mut cur = Cursor::new(text);
    match cur.peek() {
        Some(b'{') => {}
        Some(b'[') => {
            return Err(Rejection::new(
                Reason::NotAnObject,
                "a JSON array where a LogEntry object belongs",
            ));
        }
        _ => {
            return Err(match cur.document() {
                Ok(v) => Rejection::new(
                    Reason::NotAnObject,
                    format!("{} where a LogEntry object belongs", kind_of(v)),
                ),
                Err(e) => not_json(text, e),
            });
        }
    }
    let mut fields = Fields::default();
    match Fields::read(text, &mut fields) {
        Ok(()) => normalize(&fields),
        Err(Stop::Duplicate { field, at }) => Err(Rejection::new(
            Reason::WrongType,
            format!(
                "duplicate field `{field}` at {}",
                line_column(text, at.saturating_sub(text.as_ptr() as usize))
            ),
        )),
        Err(Stop::Syntax(e)) => Err(not_json(text, e)),
    }
}

/// A record that is not JSON, worded by serde_json (what is wrong, line and column) as
/// users of JSON tools know it; the cursor only found where.
fn not_json(text: &str, e: SyntaxError) -> Rejection {
    // An object as a map, so that its own errors are worded as for an object ("trailing
    // comma"); its values are skipped as the cursor skips them.
    let serde = if text.trim_start().starts_with('{') {
        serde_json::from_str::<HashMap<String, IgnoredAny>>(text).map(drop)
    } else {
        serde_json::from_str::<IgnoredAny>(text).map(drop)
    };
    match serde {
        Err(e) => Rejection::from_json_error(&e),
        // Not expected (the fuzz target compares the two); still a clear refusal.
        Ok(()) => Rejection::new(
            Reason::InvalidJson,
            format!("invalid JSON at {}", line_column(text, e.offset)),
        ),
    }
}

/// `line L column C` of a byte offset, as serde_json counts them.
fn line_column(text: &str, offset: usize) -> String {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
    format!("line {line} column {}", column + 1)
}

fn normalize<'a>(raw: &Fields<'a>) -> Result<Row<'a>> {
    let receive_timestamp = present(raw.receive_timestamp)
        .map(|r| timestamp("receiveTimestamp", r))
        .transpose()?;
    let (timestamp, timestamp_missing) = match present(raw.timestamp) {
        Some(r) => (timestamp("timestamp", r)?, false),
        None => match receive_timestamp {
            Some(t) => (t, true),
            None => {
                return Err(Rejection::new(
                    Reason::MissingTimestamp,
                    "neither timestamp nor receiveTimestamp is set",
                ));
            }
        },
    };
    let (severity, severity_number) = severity(raw.severity)?;
    let log_name = opt_string("logName", raw.log_name)?;
    let log_id = log_name.as_deref().map(log_id_of);

    let mut row = Row {
        timestamp,
        timestamp_missing,
        receive_timestamp,
        severity,
        severity_number,
        log_id,
        insert_id: opt_string("insertId", raw.insert_id)?,
        trace: opt_string("trace", raw.trace)?,
        span_id: opt_string("spanId", raw.span_id)?,
        trace_sampled: match present(raw.trace_sampled) {
            None => None,
            Some(r) => Some(match r.get() {
                "true" => true,
                "false" => false,
                _ => return Err(wrong("traceSampled", "a boolean", r)),
            }),
        },
        operation: object_text("operation", raw.operation)?,
        source_location: object_text("sourceLocation", raw.source_location)?,
        text_payload: opt_string("textPayload", raw.text_payload)?,
        json_payload: object_text("jsonPayload", raw.json_payload)?,
        proto_payload: object_text("protoPayload", raw.proto_payload)?,
        ..Row::default()
    };
    if let Some(r) = present(raw.labels.raw) {
        check_string_map("labels", &raw.labels)?;
        row.labels = Some(json::compact(r.get()));
    }
    if let Some(r) = present(raw.http_request) {
        row.http = http(r, &raw.http)?;
    }
    resource(&mut row, raw)?;
    if row.project_id.is_none() {
        row.project_id = log_name
            .as_deref()
            .and_then(project_of_log_name)
            .map(Cow::Owned);
    }
    row.log_name = log_name;
    // Only an object reaches the row as a payload (`object_text` above).
    let payload = present(raw.json_payload).map(|_| &raw.payload);
    row.request_id = payload.and_then(|p| payload_text(p.request_id));
    row.message = message(&row, payload, raw.proto_payload, raw.message)?;
    Ok(row)
}

/// `projects/p/logs/run.googleapis.com%2Fstderr` -> `run.googleapis.com/stderr`. An export
/// holds a handful of log names, so each thread keeps the last few it decoded: decoding
/// every row's was 1.6% of ingest's instructions (callgrind, bench.ndjson).
fn log_id_of(log_name: &str) -> Arc<str> {
    const KEEP: usize = 8;
    thread_local! {
        static DECODED: RefCell<Vec<(String, Arc<str>)>> = const { RefCell::new(Vec::new()) };
    }
    DECODED.with_borrow_mut(|decoded| {
        if let Some((_, id)) = decoded.iter().find(|(name, _)| name == log_name) {
            return id.clone();
        }
        let id = log_name.split_once("/logs/").map_or(log_name, |(_, id)| id);
        let id: Arc<str> = percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into();
        if decoded.len() == KEEP {
            decoded.remove(0);
        }
        decoded.push((log_name.to_owned(), id.clone()));
        id
    })
}

fn project_of_log_name(log_name: &str) -> Option<String> {
    let rest = log_name.strip_prefix("projects/")?;
    let (project, _) = rest.split_once('/')?;
    Some(project.to_owned())
}

fn http<'a>(raw: Raw<'a>, h: &HttpFields<'a>) -> Result<Http<'a>> {
    if !raw.get().starts_with('{') {
        return Err(wrong("httpRequest", "an object", raw));
    }
    let latency_ms = match present(h.latency) {
        None => None,
        Some(r) if r.get().starts_with('{') => {
            let nanos = timestamp("httpRequest.latency", r)?;
            Some(nanos as f64 / 1e6)
        }
        Some(r) => {
            let s = string("httpRequest.latency", r)?;
            Some(parse_duration_ms(&s).map_err(|e| {
                Rejection::new(
                    Reason::WrongType,
                    format!("httpRequest.latency: {e}: {s:?}"),
                )
            })?)
        }
    };
    let status = opt_int64("httpRequest.status", h.status)?
        .map(|s| {
            i32::try_from(s).map_err(|_| {
                wrong(
                    "httpRequest.status",
                    "an HTTP status",
                    h.status.unwrap_or(raw),
                )
            })
        })
        .transpose()?;
    Ok(Http {
        method: opt_string("httpRequest.requestMethod", h.method)?,
        url: opt_string("httpRequest.requestUrl", h.url)?,
        status,
        latency_ms,
        user_agent: opt_string("httpRequest.userAgent", h.user_agent)?,
        remote_ip: opt_string("httpRequest.remoteIp", h.remote_ip)?,
        server_ip: opt_string("httpRequest.serverIp", h.server_ip)?,
        referer: opt_string("httpRequest.referer", h.referer)?,
        protocol: opt_string("httpRequest.protocol", h.protocol)?,
        request_size: opt_int64("httpRequest.requestSize", h.request_size)?,
        response_size: opt_int64("httpRequest.responseSize", h.response_size)?,
    })
}

/// The resource columns: from the places [`SeenResource`] keeps when the object is one
/// met before (deriving them was 7% of decoding), else derived and then kept there.
fn resource<'a>(row: &mut Row<'a>, f: &Fields<'a>) -> Result<()> {
    let Some(raw) = present(f.resource) else {
        return Ok(());
    };
    let text = raw.get();
    let apply = |seen: &Vec<SeenResource>| {
        let derived = seen.first()?.derived.as_ref()?;
        derived.apply(row, text);
        Some(())
    };
    if f.resource_seen && SEEN_RESOURCES.with_borrow(apply).is_some() {
        return Ok(());
    }
    derive_resource(row, f, raw)?;
    SEEN_RESOURCES.with_borrow_mut(|seen| {
        if let Some(first) = seen.first_mut().filter(|s| s.text == text) {
            first.derived = Derived::of(row, text);
        }
    });
    Ok(())
}

/// Resource type and labels, and the columns derived from the common resource types.
fn derive_resource<'a>(row: &mut Row<'a>, f: &Fields<'a>, raw: Raw<'a>) -> Result<()> {
    if !raw.get().starts_with('{') {
        return Err(wrong("resource", "an object", raw));
    }
    row.resource_type = opt_string("resource.type", f.resource_type)?;
    let Some(labels_raw) = present(f.resource_labels.raw) else {
        return Ok(());
    };
    let labels = &f.resource_labels;
    check_string_map("resource.labels", labels)?;
    row.resource_labels = Some(json::compact(labels_raw.get()));
    let get = |k: &str| map_get(labels, k);
    let (service, revision, location) = match row.resource_type.as_deref().unwrap_or("") {
        "cloud_run_revision" => ("service_name", "revision_name", "location"),
        "cloud_run_job" => ("job_name", "execution_name", "location"),
        "k8s_container" | "k8s_pod" => ("container_name", "pod_name", "location"),
        "gce_instance" => ("instance_id", "", "zone"),
        "cloud_function" => ("function_name", "", "region"),
        "gae_app" => ("module_id", "version_id", "zone"),
        // Unknown or missing type: the Cloud Run names are the common case in exports.
        _ => ("service_name", "revision_name", "location"),
    };
    row.project_id = get("project_id");
    row.service = get(service);
    row.revision = if revision.is_empty() {
        None
    } else {
        get(revision)
    };
    row.location = get(location)
        .or_else(|| get("location"))
        .or_else(|| get("region"))
        .or_else(|| get("zone"));
    if row.resource_type.as_deref() == Some("k8s_container") && row.service.is_none() {
        row.service = get("namespace_name");
    }
    Ok(())
}

/// The human line of an entry.
fn message<'a>(
    row: &Row<'a>,
    payload: Option<&PayloadFields<'a>>,
    proto_payload: Option<Raw<'a>>,
    top_message: Option<Raw<'a>>,
) -> Result<Cow<'a, str>> {
    // Cloning a borrowed text copies a pointer, not the text.
    if let Some(t) = &row.text_payload {
        return Ok(t.clone());
    }
    if let Some(m) = payload.and_then(payload_message) {
        return Ok(m);
    }
    if let Some(m) = present(top_message) {
        return string("message", m);
    }
    if let Some(m) = request_line(&row.http) {
        return Ok(Cow::Owned(m));
    }
    if let Some(m) = present(proto_payload).and_then(proto_line) {
        return Ok(Cow::Owned(m));
    }
    Ok(row.json_payload.clone().unwrap_or_default())
}

/// A payload field's text (`None`: absent, null or not a string).
fn payload_text(r: Option<Raw<'_>>) -> Option<Cow<'_, str>> {
    present(r).and_then(|r| string("", r).ok())
}

/// The `request_id` of a JSON payload's text, as ingest reads it (for files written before
/// the lake had the column).
pub fn payload_request_id(json: &str) -> Option<Cow<'_, str>> {
    PayloadFields::of(json).and_then(|p| payload_text(p.request_id))
}

fn payload_message<'a>(p: &PayloadFields<'a>) -> Option<Cow<'a, str>> {
    payload_text(p.message)
        .or_else(|| payload_text(p.msg))
        .or_else(|| {
            let e = present(p.error)?;
            if e.get().starts_with('{') {
                PayloadFields::of(e.get()).and_then(|inner| payload_text(inner.message))
            } else {
                payload_text(Some(e))
            }
        })
        .or_else(|| payload_text(p.err))
        .or_else(|| payload_text(p.text))
        .or_else(|| payload_text(p.log))
        .or_else(|| payload_text(p.event))
}

/// `GET /ws 500` for request logs: method, path without query string, status.
fn request_line(http: &Http<'_>) -> Option<String> {
    let url = http.url.as_deref()?;
    let path = url_path(url);
    let mut line = String::with_capacity(path.len() + 12);
    if let Some(m) = &http.method {
        line.push_str(m);
        line.push(' ');
    }
    line.push_str(path);
    if let Some(s) = http.status {
        line.push(' ');
        line.push_str(itoa::Buffer::new().format(s));
    }
    Some(line)
}

/// The path of a URL, query string and fragment dropped. Byte searches (every request
/// log's message goes through here): `str::split_once("://")` and `find(['?', '#'])` took
/// 2.5% of ingest's instructions, and `memmem::find` builds a searcher per call (1% of
/// decoding); the first colon is nearly always the scheme's.
pub fn url_path(url: &str) -> &str {
    let b = url.as_bytes();
    let scheme_end = memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(b"//"));
    let path = match scheme_end {
        Some(i) => {
            let rest = &url[i + 3..];
            memchr::memchr(b'/', rest.as_bytes()).map_or("/", |j| &rest[j..])
        }
        None => url,
    };
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    &path[..end]
}

fn proto_line(raw: Raw<'_>) -> Option<String> {
    let (mut method_name, mut resource_name) = (None, None);
    Cursor::new(raw.get())
        .object(|k, c| {
            let v = c.value()?;
            match k.as_ref() {
                "methodName" => method_name.get_or_insert(v),
                "resourceName" => resource_name.get_or_insert(v),
                _ => return Ok(()),
            };
            Ok::<_, SyntaxError>(())
        })
        .ok()?;
    let method = string("", present(method_name)?).ok()?;
    match present(resource_name).and_then(|r| string("", r).ok()) {
        Some(res) => Some(format!("{method} {res}")),
        None => Some(method.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> Row<'_> {
        match decode(json.as_bytes()) {
            Ok(r) => r,
            Err(e) => panic!("{json}: {e:?}"),
        }
    }

    fn reason(json: &[u8]) -> Reason {
        match decode(json) {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => e.reason,
        }
    }

    #[test]
    fn cloud_run_request_log() {
        let r = ok(
            r#"{"httpRequest":{"latency":"0.003185s","protocol":"HTTP/1.1","remoteIp":"1.2.3.4","requestMethod":"GET","requestSize":"754","requestUrl":"https://x.a.run.app/ws?token=abc","responseSize":"120","status":500,"userAgent":"Mozilla/5.0 Chrome/140.0.0.0"},"insertId":"abc","logName":"projects/netra-staging/logs/run.googleapis.com%2Frequests","receiveTimestamp":"2025-09-12T03:50:39.1Z","resource":{"labels":{"configuration_name":"c","location":"us-central1","project_id":"netra-staging","revision_name":"rev-1","service_name":"netra-backend-staging"},"type":"cloud_run_revision"},"severity":"ERROR","timestamp":"2025-09-12T03:50:38.971441Z","trace":"projects/netra-staging/traces/t1","spanId":"s1","traceSampled":true}"#,
        );
        assert_eq!(r.message, "GET /ws 500");
        assert_eq!(r.log_id.as_deref(), Some("run.googleapis.com/requests"));
        assert_eq!(r.http.request_size, Some(754));
        assert!((r.http.latency_ms.unwrap_or_default() - 3.185).abs() < 1e-9);
        assert_eq!(r.service.as_deref(), Some("netra-backend-staging"));
        assert_eq!(r.revision.as_deref(), Some("rev-1"));
        assert_eq!(r.location.as_deref(), Some("us-central1"));
        assert_eq!(r.project_id.as_deref(), Some("netra-staging"));
        assert_eq!((r.severity, r.severity_number), ("ERROR", 500));
        assert_eq!(r.trace_sampled, Some(true));
    }

    #[test]
    fn message_extraction_order() {
        assert_eq!(
            ok(r#"{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{"msg":"m1"}}"#).message,
            "m1"
        );
        assert_eq!(
            ok(
                r#"{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{"error":{"message":"boom"}}}"#
            )
            .message,
            "boom"
        );
        assert_eq!(ok(r#"{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{"message":"a\nb"},"textPayload":"t"}"#).message, "t");
        assert_eq!(
            ok(r#"{"timestamp":"2025-01-01T00:00:00Z","message":"top"}"#).message,
            "top"
        );
        assert_eq!(
            ok(r#"{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{"k":1}}"#).message,
            r#"{"k":1}"#
        );
        assert_eq!(ok(r#"{"timestamp":"2025-01-01T00:00:00Z","protoPayload":{"methodName":"m","resourceName":"r"}}"#).message, "m r");
    }

    #[test]
    fn request_id_is_the_payloads_string_and_matches_the_compaction_reading() {
        let id = |payload: &str| {
            let entry =
                format!(r#"{{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{payload}}}"#);
            let r = ok(&entry);
            let old = payload_request_id(r.json_payload.as_deref().unwrap_or_default())
                .map(|c| c.into_owned());
            assert_eq!(r.request_id.as_deref(), old.as_deref(), "{payload}");
            r.request_id.map(|c| c.into_owned())
        };
        assert_eq!(
            id(r#"{"message":"m","request_id":"req_1"}"#).as_deref(),
            Some("req_1")
        );
        assert_eq!(id(r#"{"request_id":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(id(r#"{"request_id":42}"#), None);
        assert_eq!(id(r#"{"request_id":null}"#), None);
        assert_eq!(id(r#"{"ctx":{"request_id":"nested"}}"#), None);
        // A repeated key keeps its first value; the message is not lost.
        assert_eq!(
            id(r#"{"request_id":"a","request_id":"b"}"#).as_deref(),
            Some("a")
        );
        let twice =
            r#"{"timestamp":"2025-01-01T00:00:00Z","jsonPayload":{"message":"m","x":1,"x":2}}"#;
        assert_eq!(ok(twice).message, "m");
        assert_eq!(
            ok(r#"{"timestamp":"2025-01-01T00:00:00Z","textPayload":"request_id"}"#).request_id,
            None
        );
    }

    #[test]
    fn severity_leniency() {
        let sev = |s: &str| {
            ok(&format!(
                r#"{{"timestamp":"2025-01-01T00:00:00Z","severity":{s}}}"#
            ))
            .severity
        };
        assert_eq!(sev("400"), "WARNING");
        assert_eq!(sev("\"warning\""), "WARNING");
        assert_eq!(sev("\"WARN\""), "WARNING");
        // Each name as written, escaped, padded: the same level.
        for (name, _) in SEVERITIES {
            assert_eq!(sev(&format!("\"{name}\"")), name);
            assert_eq!(sev(&format!("\" {} \"", name.to_lowercase())), name);
        }
        assert_eq!(sev(r#""IN\u0046O""#), "INFO");
        assert_eq!(sev("null"), "DEFAULT");
        assert_eq!(
            ok(r#"{"timestamp":"2025-01-01T00:00:00Z"}"#).severity,
            "DEFAULT"
        );
        assert_eq!(
            reason(br#"{"timestamp":"2025-01-01T00:00:00Z","severity":"LOUD"}"#),
            Reason::BadSeverity
        );
    }

    #[test]
    fn missing_timestamp_uses_receive_timestamp() {
        let r = ok(r#"{"receiveTimestamp":"2025-01-01T00:00:01Z","textPayload":"x"}"#);
        assert!(r.timestamp_missing);
        assert_eq!(Some(r.timestamp), r.receive_timestamp);
        assert_eq!(reason(br#"{"textPayload":"x"}"#), Reason::MissingTimestamp);
    }

    #[test]
    fn rejections() {
        assert_eq!(reason(b"[1,2]"), Reason::NotAnObject);
        assert_eq!(reason(b"42"), Reason::NotAnObject);
        assert_eq!(reason(b"not json"), Reason::InvalidJson);
        assert_eq!(
            reason(b"{\"timestamp\": \"2025-01-01T00:00:00Z\""),
            Reason::TruncatedJson
        );
        assert_eq!(reason(b"{\"textPayload\":\"\xff\"}"), Reason::InvalidUtf8);
        assert_eq!(reason(br#"{"timestamp":1757648773}"#), Reason::BadTimestamp);
        assert_eq!(
            reason(br#"{"timestamp":"2025-01-01T00:00:00Z","labels":["a"]}"#),
            Reason::WrongType
        );
        assert_eq!(
            reason(br#"{"timestamp":"2025-01-01T00:00:00Z","resource":{"labels":{"a":{"b":1}}}}"#),
            Reason::WrongType
        );
    }

    #[test]
    fn repeated_logentry_fields_are_refused_where_they_repeat() {
        let detail = |json: &str| match decode(json.as_bytes()) {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => (e.reason, e.detail),
        };
        assert_eq!(
            detail(r#"{"timestamp":"2025-01-01T00:00:00Z","timestamp":"2025-01-01T00:00:01Z"}"#),
            (
                Reason::WrongType,
                "duplicate field `timestamp` at line 1 column 49".to_owned()
            )
        );
        assert_eq!(
            detail(
                "{\"timestamp\":\"2025-01-01T00:00:00Z\",\n \"httpRequest\": {\"status\": 200, \"status\": 500}}"
            ),
            (
                Reason::WrongType,
                "duplicate field `httpRequest.status` at line 2 column 43".to_owned()
            )
        );
        assert_eq!(
            detail(r#"{"log_name":"a","logName":"b","timestamp":"2025-01-01T00:00:00Z"}"#).1,
            "duplicate field `logName` at line 1 column 27"
        );
        // Not JSON: serde_json's wording, as for an object.
        assert_eq!(
            detail(r#"{"timestamp":"2025-01-01T00:00:00Z",}"#),
            (
                Reason::InvalidJson,
                "trailing comma at line 1 column 37".to_owned()
            )
        );
    }

    #[test]
    fn resource_types_map_to_service_revision_location() {
        let with = |kind: &str, labels: &str| {
            let json = format!(
                r#"{{"timestamp":"2025-01-01T00:00:00Z","logName":"projects/from-log/logs/x","resource":{{"type":"{kind}","labels":{labels}}}}}"#
            );
            let r = ok(&json);
            let owned = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
            (
                owned(r.project_id),
                owned(r.service),
                owned(r.revision),
                owned(r.location),
            )
        };
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            with(
                "k8s_container",
                r#"{"project_id":"p","location":"europe-west1","cluster_name":"c","namespace_name":"ns","pod_name":"api-7d9f","container_name":"api"}"#
            ),
            (s("p"), s("api"), s("api-7d9f"), s("europe-west1"))
        );
        assert_eq!(
            with(
                "gce_instance",
                r#"{"project_id":"p","instance_id":"123","zone":"us-east1-b"}"#
            ),
            (s("p"), s("123"), None, s("us-east1-b"))
        );
        assert_eq!(
            with(
                "cloud_function",
                r#"{"project_id":"p","function_name":"f","region":"us-central1"}"#
            ),
            (s("p"), s("f"), None, s("us-central1"))
        );
        // No project label: taken from logName.
        assert_eq!(
            with(
                "cloud_run_revision",
                r#"{"service_name":"svc","revision_name":"svc-1","location":"l"}"#
            ),
            (s("from-log"), s("svc"), s("svc-1"), s("l"))
        );
    }

    /// A thread that met a resource object before reads the next identical one from its
    /// bytes: every record decodes to what it decodes to on a thread of its own, resource
    /// objects repeated, changed, with escapes, malformed, given twice, or cut short.
    #[test]
    fn a_resource_met_before_decodes_as_on_a_fresh_thread() {
        let cloud_run = |svc: &str| {
            format!(
                r#"{{"type":"cloud_run_revision","labels":{{"service_name":"{svc}","revision_name":"{svc}-1","location":"l","project_id":"p"}}}}"#
            )
        };
        let resources = [
            cloud_run("a"),
            cloud_run("a"),
            cloud_run("b"),
            cloud_run("a"),
            r#"{"labels":{"service_name":"a\u0041","zone":"z"},"type":"gce_instance"}"#.into(),
            r#"{"labels":{"service_name":"a\u0041","zone":"z"},"type":"gce_instance"}"#.into(),
            r#"{"labels":{"serv\u0069ce_name":"k"}}"#.into(),
            r#"{"labels":{"serv\u0069ce_name":"k"}}"#.into(),
            r#"{ "type" : "t" , "labels" : { } }"#.into(),
            r#"{ "type" : "t" , "labels" : { } }"#.into(),
            r#"{"type":"t","type":"u"}"#.into(),
            r#"{"type":"t"}"#.into(),
            r#"{"type":"t"}"#.into(),
            r#"{"labels":"x"}"#.into(),
            r#"{"labels":"x"}"#.into(),
            r#""not an object""#.into(),
            "null".into(),
        ];
        // Services met in turn, more of them than are kept, and back to one kept earlier
        // (names of other lengths: their columns lie elsewhere in the object).
        let cycle = [
            "a", "bb", "ccc", "dddd", "eeeee", "ffffff", "a", "bb", "ffffff",
        ];
        let cycle = [&cycle[..], &["bb", "ccc", "a", "eeeee", "eeeee"]].concat();
        let mut resources = resources.to_vec();
        resources.extend(cycle.iter().chain(&cycle).map(|svc| cloud_run(svc)));
        let mut records: Vec<String> = resources
            .iter()
            .map(|r| {
                format!(
                    r#"{{"timestamp":"2025-09-12T03:50:38Z","resource":{r},"textPayload":"hi"}}"#
                )
            })
            .collect();
        // Given twice, and cut short right after a resource met before.
        let twice = format!(
            r#"{{"resource":{0},"timestamp":"2025-09-12T03:50:38Z","resource":{0}}}"#,
            cloud_run("a")
        );
        records.push(twice);
        records.push(format!(
            r#"{{"timestamp":"2025-09-12T03:50:38Z","resource":{}"#,
            cloud_run("a")
        ));
        records.push(format!(
            r#"{{"timestamp":"2025-09-12T03:50:38Z","resource":{}x}}"#,
            cloud_run("a")
        ));
        let summary = |r: &str| format!("{:?}", decode(r.as_bytes()));
        let alone: Vec<String> = records
            .iter()
            .map(|r| {
                let r = r.clone();
                std::thread::spawn(move || summary(&r))
                    .join()
                    .expect("decodes")
            })
            .collect();
        let in_turn: Vec<String> = records.iter().map(|r| summary(r)).collect();
        assert_eq!(in_turn, alone);
        assert!(
            in_turn[1].contains("service: Some(\"a\")"),
            "{}",
            in_turn[1]
        );
    }

    /// Each thread keeps the last few log ids it decoded: names beyond that many, and
    /// names met again after they were dropped, still decode to their own id.
    #[test]
    fn log_ids_are_decoded_per_name_whatever_was_decoded_before() {
        let names: Vec<String> = (0..20)
            .map(|i| format!("projects/p/logs/run.googleapis.com%2Flog{i}"))
            .collect();
        for round in 0..3 {
            for (i, name) in names.iter().enumerate().rev().skip(round) {
                assert_eq!(*log_id_of(name), format!("run.googleapis.com/log{i}"));
            }
        }
        assert_eq!(&*log_id_of("no-logs-part"), "no-logs-part");
        assert_eq!(&*log_id_of("projects/p/logs/%E2%9C%93"), "\u{2713}");
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("https://h.run.app/ws?x=1"), "/ws");
        assert_eq!(url_path("https://h.run.app"), "/");
        assert_eq!(url_path("/health#frag"), "/health");
        assert_eq!(url_path("http://h/a/b#f?x"), "/a/b");
        assert_eq!(url_path("wss://h?x=1/y"), "/y");
        assert_eq!(url_path("/p/\u{e9}t\u{e9}?q"), "/p/\u{e9}t\u{e9}");
        // The first colon followed by `//` ends the scheme, not the first colon.
        assert_eq!(url_path("/a:b://h/c?d"), "/c");
        assert_eq!(url_path("/a:"), "/a:");
    }
}
