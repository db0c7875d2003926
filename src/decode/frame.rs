//! Framing: cut a byte stream into one raw record per LogEntry, without parsing it.
//!
//! The layout is detected from content, never from the file name:
//! - `[` first: one JSON array as `gcloud logging read --format=json` prints it. Elements are
//!   cut one by one; the file is never held whole. Several arrays back to back also work.
//! - `{` first and the first value ends on its first line: newline-delimited JSON (sink files).
//! - `{` first otherwise: a stream of JSON values, pretty-printed or not (`gcloud logging tail`).
//! - anything else: lines; each non-blank line is one record (and will be quarantined if it is
//!   not a JSON object).
//!
//! Failure modes, each turned into a record carrying a [`FrameError`] so that it reaches the
//! quarantine with its position instead of being lost:
//! - a value still open at end of input (`Truncated`);
//! - a value that is cut short and followed by the start of the next element (gcloud's
//!   indentation, or a raw newline inside a string, shows where the next element begins);
//! - a record larger than `max_record` bytes (`TooLarge`; the first `max_record` bytes are kept,
//!   the rest of the record is skipped up to its end: one record, quarantined once).

use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Why framing could not produce a well-formed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Input ended (or the next element began) before the value was closed.
    Truncated,
    /// The record exceeded the size limit; only its first bytes are kept.
    TooLarge,
}

/// One record's place in a [`Chunk`] and in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// Byte offset of the record in the (decompressed) source stream.
    pub offset: u64,
    /// 1-based line number of the record's first byte.
    pub line: u64,
    pub error: Option<FrameError>,
}

/// A batch of records cut from one source: the bytes and where each record lies in them.
/// Dropped, it gives its buffer back to its framer (see [`Spares`]).
#[derive(Debug)]
pub struct Chunk {
    /// Private: a buffer changed after framing would not be what [`Spares`] says it is.
    data: Vec<u8>,
    pub spans: Vec<Span>,
    /// Blank lines seen in newline-delimited input (counted apart from records).
    pub blank_lines: u64,
    /// Where `data` goes when the chunk is dropped.
    spares: Spares,
    /// Bytes of `data`'s allocation written since it was allocated.
    init: usize,
}

impl Chunk {
    pub fn record(&self, span: &Span) -> &[u8] {
        &self.data[span.start..span.end]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.spares.give(std::mem::take(&mut self.data), self.init);
    }
}

/// Chunk buffers handed back by dropped chunks (and by finished framers), for the next
/// chunks. A buffer read into again is not zeroed again: zeroing each fresh buffer before
/// the reads wrote it was about 2% of ingest's cycles on one big file and 5% on a sink's
/// hourly files, where every file began with new buffers (`Vec::resize`; `Read` cannot
/// read into uninitialized memory on stable Rust), and its pages are mapped already. A
/// framer has its own unless given a run's ([`Framer::with_spares`]).
#[derive(Debug, Clone, Default)]
pub struct Spares(Arc<Mutex<Vec<Spare>>>);

/// A buffer, and how many bytes of its allocation were written (zeroed or read into).
#[derive(Debug)]
struct Spare {
    bytes: Vec<u8>,
    init: usize,
}

/// Buffers kept at most: the chunks in flight between the framers and the decoders are
/// about twice the decoder threads, plus one per framer; more spares would only hold memory.
const SPARES: usize = 8;

impl Spares {
    /// An empty buffer of at least `capacity` bytes and how many bytes of it were written:
    /// the spare written furthest (the most reads it spares from zeroing), or a new buffer
    /// when that one is too small (it is dropped: it would stay the furthest).
    fn take(&self, capacity: usize) -> (Vec<u8>, usize) {
        let mut spares = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let furthest = (spares.iter().enumerate())
            .max_by_key(|(_, s)| s.init)
            .map(|(i, _)| i);
        match furthest.map(|i| spares.swap_remove(i)) {
            Some(Spare { mut bytes, init }) if bytes.capacity() >= capacity => {
                bytes.clear();
                (bytes, init)
            }
            _ => (Vec::with_capacity(capacity), 0),
        }
    }

    fn give(&self, bytes: Vec<u8>, init: usize) {
        let mut spares = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if spares.len() < SPARES {
            spares.push(Spare { bytes, init });
        }
    }
}

/// The input layout detected from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Nothing but whitespace so far.
    Unknown,
    /// `[ {...}, {...} ]`
    Array,
    /// One record per line.
    Lines,
    /// JSON values one after another.
    Stream,
}

/// Tuning for [`Framer`]; the defaults suit files of any size.
#[derive(Debug, Clone)]
pub struct FrameOptions {
    /// Emit a chunk once it holds this many bytes of records.
    pub chunk_bytes: usize,
    /// Records above this size are cut and quarantined.
    pub max_record: usize,
    /// For interactive sources (stdin): hand over what is framed whenever a read comes back
    /// short, so a slow stream is not held back waiting for a full chunk.
    pub interactive: bool,
    pub read_size: usize,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            chunk_bytes: 2 << 20,
            max_record: 32 << 20,
            interactive: false,
            read_size: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening `[` (or after a closing `]`).
    Outside,
    /// Inside the array, expecting a value, `,` or `]`.
    Between,
}

/// Cuts records out of a reader. Call [`Framer::next_chunk`] until it returns `None`.
pub struct Framer<R> {
    reader: R,
    opts: FrameOptions,
    layout: Layout,
    array: ArrayState,
    buf: Vec<u8>,
    /// Bytes of `buf`'s allocation written since it was allocated (at least `buf.len()`):
    /// reads up to there need no zeroing first.
    init: usize,
    spares: Spares,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Scan position in `buf`.
    pos: usize,
    /// Line number at `pos`.
    line: u64,
    /// Start of the record in progress, with its line number.
    rec: Option<(usize, u64)>,
    /// Value scanner state for the record in progress.
    depth: u32,
    in_string: bool,
    escape: bool,
    /// Column of the first array element's `{` when it began a line: used to spot the next
    /// element when the current one was cut short.
    elem_indent: Option<usize>,
    /// The record in progress was cut as too large: its rest is read to its end and dropped.
    /// Holds the record's first byte, which says how it ends (a line, a value, a scalar).
    skipping: Option<u8>,
    spans: Vec<Span>,
    blank_lines: u64,
    eof: bool,
    done: bool,
    bytes: u64,
    read_error: Option<io::Error>,
}

impl<R> Drop for Framer<R> {
    /// The last buffer goes back too: the next source's framer starts with it.
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.capacity() > 0 {
            self.spares.give(buf, self.init);
        }
    }
}

impl<R: Read> Framer<R> {
    pub fn new(reader: R, opts: FrameOptions) -> Self {
        Framer {
            reader,
            opts,
            layout: Layout::Unknown,
            array: ArrayState::Outside,
            buf: Vec::new(),
            init: 0,
            spares: Spares::default(),
            base: 0,
            pos: 0,
            line: 1,
            rec: None,
            depth: 0,
            in_string: false,
            escape: false,
            elem_indent: None,
            spans: Vec::new(),
            blank_lines: 0,
            eof: false,
            done: false,
            bytes: 0,
            read_error: None,
            skipping: None,
        }
    }

    /// Takes chunk buffers from, and gives them back to, `spares`: a run's framers share
    /// one pool, so each source after the first starts with buffers written before.
    pub fn with_spares(mut self, spares: Spares) -> Self {
        (self.buf, self.init) = spares.take(0);
        self.spares = spares;
        self
    }

    /// Frames a stream that starts at `offset` (and line `line`) of its source, so spans
    /// and quarantined records keep their place in the whole object.
    pub fn resume_at(mut self, offset: u64, line: u64) -> Self {
        self.base = offset;
        self.line = line.max(1);
        self
    }

    /// The layout detected so far.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The read error that ended the input early, if any (a corrupt gzip stream, an I/O
    /// error). Records framed before it are kept.
    pub fn take_read_error(&mut self) -> Option<io::Error> {
        self.read_error.take()
    }

    /// Decompressed bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The next chunk of records, or `None` at the end of input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let started = Instant::now();
        loop {
            let short_read = if self.eof { false } else { self.fill()? };
            self.scan();
            if self.eof {
                self.finish_eof();
                self.done = true;
                return Ok(Some(self.take_chunk()));
            }
            let pending = self.pos - self.rec.map_or(self.pos, |(s, _)| s);
            let framed_bytes = self.spans.last().map_or(0, |s| s.end);
            if framed_bytes >= self.opts.chunk_bytes
                || (self.opts.interactive
                    && (short_read || started.elapsed() > Duration::from_millis(200))
                    && (!self.spans.is_empty() || self.blank_lines > 0))
            {
                return Ok(Some(self.take_chunk()));
            }
            if self.skipping.is_some() {
                self.release_skipped();
            } else if pending > self.opts.max_record {
                self.cut_too_large();
            }
        }
    }

    /// Reads more bytes; returns true when the read came back short.
    fn fill(&mut self) -> io::Result<bool> {
        let want = self.opts.read_size;
        let len = self.buf.len();
        let end = len + want;
        if self.buf.capacity() < end {
            self.buf.reserve(want);
            // The new allocation holds only the bytes copied into it.
            self.init = len;
        }
        if end <= self.init {
            // SAFETY: the first `init` bytes of this allocation were written since it was
            // allocated (zeroed below, read into, or copied in by `take_chunk`), and no
            // operation of `Vec` on bytes (truncate, drain, clear) makes them uninitialized;
            // `end` is within the capacity checked above.
            unsafe { self.buf.set_len(end) };
        } else {
            self.buf.resize(end, 0);
            self.init = end;
        }
        let n = loop {
            match self.reader.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Keep what was framed; the record in progress ends as truncated.
                    self.buf.truncate(len);
                    self.eof = true;
                    self.read_error = Some(e);
                    return Ok(true);
                }
            }
        };
        self.buf.truncate(len + n);
        self.bytes += n as u64;
        if n == 0 {
            self.eof = true;
        }
        Ok(n < want)
    }

    /// Hands over the framed records; the record in progress moves to a fresh buffer.
    fn take_chunk(&mut self) -> Chunk {
        let keep_from = self.rec.map_or(self.pos, |(s, _)| s);
        // Sized for a whole chunk up front: growing it read by read would reallocate and copy.
        let size =
            (self.buf.len() - keep_from).max(self.opts.chunk_bytes) + 2 * self.opts.read_size;
        let (mut tail, init) = self.spares.take(size);
        tail.extend_from_slice(&self.buf[keep_from..]);
        let init = init.max(tail.len());
        let mut data = std::mem::replace(&mut self.buf, tail);
        let data_init = std::mem::replace(&mut self.init, init);
        data.truncate(keep_from);
        self.base += keep_from as u64;
        self.pos -= keep_from;
        if let Some((s, l)) = self.rec {
            self.rec = Some((s - keep_from, l));
        }
        Chunk {
            data,
            spans: std::mem::take(&mut self.spans),
            blank_lines: std::mem::take(&mut self.blank_lines),
            spares: self.spares.clone(),
            init: data_init,
        }
    }

    fn push(&mut self, start: usize, mut end: usize, line: u64, mut error: Option<FrameError>) {
        // A record that crossed the limit and ended in the same read (before the check
        // between reads saw it) is cut here: the limit is exact whatever the read size.
        if end - start > self.opts.max_record {
            end = start + self.opts.max_record;
            error = Some(FrameError::TooLarge);
        }
        self.spans.push(Span {
            start,
            end,
            offset: self.base + start as u64,
            line,
            error,
        });
    }

    fn reset_value(&mut self) {
        self.depth = 0;
        self.in_string = false;
        self.escape = false;
    }

    fn scan(&mut self) {
        loop {
            let progressed = match self.layout {
                Layout::Unknown => self.detect(),
                Layout::Lines => self.scan_lines(),
                Layout::Array | Layout::Stream => self.scan_values(),
            };
            if !progressed {
                return;
            }
        }
    }

    /// Skips leading whitespace (and a BOM) and decides the layout. Returns true once decided.
    fn detect(&mut self) -> bool {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if self.pos == 0 && self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) && !self.eof {
            return false; // a short first read may hold part of a byte-order mark
        }
        if self.pos == 0 && self.buf.starts_with(BOM) {
            self.pos = 3;
        }
        self.skip_ws();
        let Some(&b) = self.buf.get(self.pos) else {
            return false;
        };
        self.layout = match b {
            b'[' => Layout::Array,
            b'{' => match first_value_on_one_line(&self.buf[self.pos..]) {
                Some(true) => Layout::Lines,
                Some(false) => Layout::Stream,
                None if self.eof || self.buf.len() - self.pos > self.opts.max_record => {
                    Layout::Lines
                }
                None => return false,
            },
            _ => Layout::Lines,
        };
        true
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    /// Newline-delimited records. Returns false when it needs more input.
    fn scan_lines(&mut self) -> bool {
        loop {
            let start = self.rec.map_or(self.pos, |(s, _)| s);
            let Some(nl) = memchr::memchr(b'\n', &self.buf[self.pos..]) else {
                self.rec = Some((start, self.rec.map_or(self.line, |(_, l)| l)));
                self.pos = self.buf.len();
                return false;
            };
            let end = self.pos + nl;
            let line = self.rec.map_or(self.line, |(_, l)| l);
            self.rec = None;
            self.pos = end + 1;
            self.line = line + 1;
            let mut content_end = end;
            if content_end > start && self.buf[content_end - 1] == b'\r' {
                content_end -= 1;
            }
            if self.skipping.take().is_some() {
                // The end of a record already quarantined as too large.
            } else if self.buf[start..content_end]
                .iter()
                .all(u8::is_ascii_whitespace)
            {
                self.blank_lines += 1;
            } else {
                self.push(start, content_end, line, None);
            }
        }
    }

    /// JSON values, top-level or as array elements. Returns false when it needs more input.
    fn scan_values(&mut self) -> bool {
        loop {
            if self.rec.is_none() {
                self.skip_ws();
                let Some(&b) = self.buf.get(self.pos) else {
                    return false;
                };
                if self.layout == Layout::Array {
                    match (self.array, b) {
                        (ArrayState::Outside, b'[') => {
                            self.array = ArrayState::Between;
                            self.pos += 1;
                            continue;
                        }
                        (ArrayState::Outside, _) => {
                            // Something after the array: read on as a stream of values.
                            self.layout = Layout::Stream;
                            return true;
                        }
                        (ArrayState::Between, b',') => {
                            self.pos += 1;
                            continue;
                        }
                        (ArrayState::Between, b']') => {
                            self.array = ArrayState::Outside;
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                }
                if self.layout == Layout::Array && self.elem_indent.is_none() {
                    self.elem_indent = Some(self.column(self.pos));
                }
                self.rec = Some((self.pos, self.line));
                self.reset_value();
            }
            if !self.scan_one_value() {
                return false;
            }
        }
    }

    /// Column of `at` if only spaces precede it on its line, else `usize::MAX`.
    fn column(&self, at: usize) -> usize {
        let line_start = memchr::memrchr(b'\n', &self.buf[..at]).map_or(0, |i| i + 1);
        if self.buf[line_start..at]
            .iter()
            .all(|&c| c == b' ' || c == b'\t')
        {
            at - line_start
        } else {
            usize::MAX
        }
    }

    /// Advances through the value in progress; pushes it when complete.
    /// Returns false when more input is needed.
    fn scan_one_value(&mut self) -> bool {
        let Some((start, line)) = self.rec else {
            return true;
        };
        // A skipped record's rest starts anywhere (the buffer may even be empty here): its
        // first byte was kept.
        let first = match self.skipping {
            Some(first) => first,
            None => self.buf[start],
        };
        if !matches!(first, b'{' | b'[' | b'"') {
            return self.scan_scalar(start, line);
        }
        let buf = &self.buf;
        let mut i = self.pos;
        let mut newlines = 0u64;
        while i < buf.len() {
            if self.in_string {
                if self.escape {
                    // The character right after a backslash, whatever it is (a raw newline
                    // there is invalid JSON, quarantined later, but still a line).
                    self.escape = false;
                    newlines += u64::from(buf[i] == b'\n');
                    i += 1;
                    continue;
                }
                match memchr::memchr3(b'"', b'\\', b'\n', &buf[i..]) {
                    None => {
                        i = buf.len();
                        break;
                    }
                    Some(k) => {
                        i += k;
                        match buf[i] {
                            b'\\' => {
                                self.escape = true;
                                i += 1;
                                continue;
                            }
                            b'"' => {
                                self.in_string = false;
                                i += 1;
                                if self.depth == 0 {
                                    return self.complete_value(start, i, line, newlines);
                                }
                                continue;
                            }
                            _ => {
                                // A raw newline cannot be in a JSON string: was it cut short?
                                match self.next_element_at(i) {
                                    Ok(Some(next)) => {
                                        return self.cut_truncated(start, next, line, newlines);
                                    }
                                    Ok(None) => {}
                                    Err(()) => break,
                                }
                                newlines += 1;
                                i += 1;
                                continue;
                            }
                        }
                    }
                }
            }
            match buf[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return self.complete_value(start, i + 1, line, newlines);
                    }
                }
                b'\n' => match self.next_element_at(i) {
                    Ok(Some(next)) => return self.cut_truncated(start, next, line, newlines),
                    Ok(None) => newlines += 1,
                    Err(()) => break,
                },
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        self.line += newlines;
        false
    }

    /// After the newline at `nl`, does the next element of the input begin (at the indentation
    /// where elements begin)? `Err(())` when the bytes to decide have not been read yet.
    fn next_element_at(&self, nl: usize) -> Result<Option<usize>, ()> {
        let indent = match self.layout {
            Layout::Stream => 0,
            Layout::Array => match self.elem_indent {
                Some(c) if c != usize::MAX => c,
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let rest = &self.buf[nl + 1..];
        let spaces = rest.iter().take_while(|&&c| c == b' ').count();
        match rest.get(spaces) {
            None if !self.eof && spaces <= indent => Err(()),
            Some(&b'{') if spaces == indent => Ok(Some(nl + 1 + spaces)),
            _ => Ok(None),
        }
    }

    fn complete_value(&mut self, start: usize, end: usize, line: u64, newlines: u64) -> bool {
        if self.skipping.take().is_none() {
            self.push(start, end, line, None);
        }
        self.pos = end;
        self.line += newlines;
        self.rec = None;
        true
    }

    fn cut_truncated(&mut self, start: usize, next: usize, line: u64, newlines: u64) -> bool {
        let mut end = next;
        while end > start && self.buf[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        if self.skipping.take().is_none() {
            self.push(start, end, line, Some(FrameError::Truncated));
        }
        self.pos = next;
        self.line += newlines + 1;
        self.rec = None;
        self.reset_value();
        true
    }

    /// A bare value (number, literal, garbage): up to a delimiter. In a stream, garbage runs to
    /// the end of its line so that a text file does not become one record per word.
    fn scan_scalar(&mut self, start: usize, line: u64) -> bool {
        let rest = &self.buf[self.pos..];
        let stop = if self.layout == Layout::Array {
            rest.iter()
                .position(|&c| matches!(c, b',' | b']' | b'\n' | b' ' | b'\t' | b'\r'))
        } else {
            memchr::memchr(b'\n', rest)
        };
        match stop {
            Some(k) => {
                let mut end = self.pos + k;
                while end > start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                if self.skipping.take().is_none() {
                    self.push(start, end, line, None);
                }
                self.pos += k;
                self.rec = None;
                true
            }
            None => {
                self.pos = self.buf.len();
                false
            }
        }
    }

    /// Quarantines the first `max_record` bytes of the record in progress; the rest of it
    /// is scanned to its end (the line's end, or the value's close) and dropped, so the
    /// record is counted once.
    fn cut_too_large(&mut self) {
        let Some((start, line)) = self.rec else {
            return;
        };
        self.push(
            start,
            start + self.opts.max_record,
            line,
            Some(FrameError::TooLarge),
        );
        self.skipping = Some(self.buf[start]);
        self.rec = Some((self.pos, line));
    }

    /// Drops the bytes of a too-large record scanned since the last call, so skipping a
    /// record of any size holds no more than a read of it.
    fn release_skipped(&mut self) {
        let Some((start, _)) = self.rec else {
            return;
        };
        if self.pos > start {
            self.buf.drain(start..self.pos);
            // Offsets are `base` + position: the bytes after the hole keep theirs.
            self.base += (self.pos - start) as u64;
            self.pos = start;
        }
    }

    fn finish_eof(&mut self) {
        if self.skipping.take().is_some() {
            // Input ended inside a record already quarantined as too large.
            self.rec = None;
            self.pos = self.buf.len();
        }
        if let Some((start, line)) = self.rec.take() {
            let mut end = self.buf.len();
            while end > start && self.buf[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            if end > start {
                let error = match self.layout {
                    Layout::Lines => None,
                    _ if self.depth > 0 || self.in_string => Some(FrameError::Truncated),
                    _ => None,
                };
                self.push(start, end, line, error);
            } else if self.layout == Layout::Lines && start < self.buf.len() {
                // Whitespace after the last newline; a final newline alone is no blank line.
                self.blank_lines += 1;
            }
            self.pos = self.buf.len();
        }
        if self.layout == Layout::Array && self.array == ArrayState::Between {
            // The array was never closed: the last element may be fine, but the input is cut.
            tracing::debug!("JSON array not closed at end of input");
        }
    }
}

/// Does the first JSON value in `bytes` end before the first newline? `None` if unknown yet.
fn first_value_on_one_line(bytes: &[u8]) -> Option<bool> {
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escape = false;
    for &b in bytes {
        if in_string {
            match (escape, b) {
                (true, _) => escape = false,
                (false, b'\\') => escape = true,
                (false, b'"') => in_string = false,
                (false, b'\n') => return Some(false),
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(true);
                }
            }
            b'\n' => return Some(false),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    type Framed = (Vec<(String, u64, Option<FrameError>)>, u64, Layout);

    fn frame_with(input: &[u8], opts: FrameOptions) -> Framed {
        let mut f = Framer::new(input, opts);
        let mut out = Vec::new();
        let mut blanks = 0;
        while let Some(chunk) = f.next_chunk().expect("read from slice") {
            blanks += chunk.blank_lines;
            for s in &chunk.spans {
                out.push((
                    String::from_utf8_lossy(chunk.record(s)).into_owned(),
                    s.line,
                    s.error,
                ));
            }
        }
        (out, blanks, f.layout())
    }

    fn frame(input: &[u8]) -> Framed {
        let small = FrameOptions {
            chunk_bytes: 7,
            read_size: 5,
            ..FrameOptions::default()
        };
        let a = frame_with(input, small);
        let b = frame_with(input, FrameOptions::default());
        assert_eq!(a, b, "framing must not depend on read or chunk sizes");
        a
    }

    /// Each chunk dropped gives its buffer back, and the next chunks are read into it: the
    /// bytes an earlier, longer record left there never show in a record.
    #[test]
    fn buffers_given_back_are_read_into_again_without_their_old_bytes() {
        let lines: Vec<String> = (0..300)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat((i * 7) % 90)))
            .collect();
        let input = lines.join("\n");
        let opts = FrameOptions {
            chunk_bytes: 200,
            read_size: 64,
            ..FrameOptions::default()
        };
        let mut f = Framer::new(input.as_bytes(), opts);
        let (mut got, mut chunks) = (Vec::new(), 0);
        while let Some(chunk) = f.next_chunk().expect("read from slice") {
            chunks += 1;
            got.extend(chunk.spans.iter().map(|s| chunk.record(s).to_vec()));
        }
        assert!(chunks > 50, "{chunks} chunks");
        let want: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
        assert_eq!(got, want);
        let spares = f.spares.0.lock().expect("not poisoned");
        assert_eq!(
            spares.len(),
            1,
            "the last chunk's buffer, back for a next chunk"
        );
        assert!(
            spares[0].init >= 200,
            "{} bytes known written",
            spares[0].init
        );
    }

    /// A run's framers share one pool: a finished framer's buffer starts the next source,
    /// whose records show none of the bytes the first one left there.
    #[test]
    fn a_finished_framer_hands_its_buffer_to_the_next_source() {
        let spares = Spares::default();
        let opts = FrameOptions {
            chunk_bytes: 64,
            read_size: 16,
            ..FrameOptions::default()
        };
        let first = r#"{"a":"a first record, longer than the second one"}"#;
        let second = r#"{"b":1}"#;
        let mut inits = Vec::new();
        for input in [first, second] {
            let mut f = Framer::new(input.as_bytes(), opts.clone()).with_spares(spares.clone());
            inits.push(f.init);
            let mut got = Vec::new();
            while let Some(chunk) = f.next_chunk().expect("read from slice") {
                got.extend(chunk.spans.iter().map(|s| chunk.record(s).to_vec()));
            }
            assert_eq!(got, vec![input.as_bytes().to_vec()]);
        }
        assert_eq!(inits[0], 0, "the first framer starts with a new buffer");
        assert!(
            inits[1] >= first.len(),
            "the second starts with written bytes: {inits:?}"
        );
        assert!(!spares.0.lock().expect("not poisoned").is_empty());
    }

    #[test]
    fn ndjson_lines_and_blank_lines() {
        let (recs, blanks, layout) = frame(b"{\"a\":1}\n\n{\"b\":\"x\\\"}\"}\r\n{\"c\":2}");
        assert_eq!(layout, Layout::Lines);
        assert_eq!(blanks, 1);
        let texts: Vec<_> = recs.iter().map(|r| (r.0.as_str(), r.1)).collect();
        assert_eq!(
            texts,
            [
                ("{\"a\":1}", 1),
                ("{\"b\":\"x\\\"}\"}", 3),
                ("{\"c\":2}", 4)
            ]
        );
    }

    #[test]
    fn gcloud_array_pretty() {
        let input = b"[\n  {\n    \"a\": \"}]\",\n    \"b\": [1, {\"c\": 2}]\n  },\n  {\n    \"d\": 1\n  }\n]\n";
        let (recs, _, layout) = frame(input);
        assert_eq!(layout, Layout::Array);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].1, 2);
        assert!(recs[0].0.starts_with('{') && recs[0].0.ends_with('}'));
        assert_eq!(recs[1].0, "{\n    \"d\": 1\n  }");
        assert_eq!(recs[1].1, 6);
    }

    #[test]
    fn array_scalars_and_nested_arrays_are_records() {
        let (recs, _, _) = frame(b"[1, \"s\", [2], {\"a\":1}]");
        let texts: Vec<_> = recs.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(texts, ["1", "\"s\"", "[2]", "{\"a\":1}"]);
    }

    #[test]
    fn concatenated_pretty_objects() {
        let input = b"{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}\n";
        let (recs, _, layout) = frame(input);
        assert_eq!(layout, Layout::Stream);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].1, 4);
    }

    #[test]
    fn truncated_at_eof() {
        let (recs, _, _) = frame(b"[\n  {\"a\": 1},\n  {\"b\": \"unfinished");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].2, Some(FrameError::Truncated));
    }

    #[test]
    fn truncated_element_followed_by_next_element() {
        let input = b"[\n  {\n    \"a\": \"cut\n  {\n    \"b\": 1\n  }\n]";
        let (recs, _, _) = frame(input);
        assert_eq!(recs.len(), 2, "{recs:?}");
        assert_eq!(recs[0].2, Some(FrameError::Truncated));
        assert_eq!(recs[1].0, "{\n    \"b\": 1\n  }");
        assert_eq!(recs[1].1, 4);
    }

    #[test]
    fn text_file_is_lines() {
        let (recs, _, layout) = frame(b"hello world\nnot json\n");
        assert_eq!(layout, Layout::Lines);
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn empty_input() {
        let (recs, blanks, layout) = frame(b"");
        assert!(recs.is_empty());
        assert_eq!(blanks, 0);
        assert_eq!(layout, Layout::Unknown);
        let (recs, _, _) = frame(b"  \n\n ");
        assert!(recs.is_empty());
    }

    #[test]
    fn too_large_records_are_cut() {
        let opts = FrameOptions {
            max_record: 16,
            read_size: 8,
            ..FrameOptions::default()
        };
        let input = b"{\"a\":\"0123456789012345678901234567890123456789\"}\n{\"b\":1}\n";
        let (recs, _, _) = frame_with(input, opts);
        assert_eq!(recs[0].2, Some(FrameError::TooLarge));
        assert_eq!(recs.last().map(|r| r.0.as_str()), Some("{\"b\":1}"));
    }

    /// Regression: after a backslash the scanner skipped the next quote, backslash or
    /// newline it found instead of the character right after it, so one `\n` or `\t` in a
    /// string left the string open and an array element was quarantined as truncated.
    #[test]
    fn an_escape_covers_only_the_next_character() {
        for input in [
            "[\n  {\"a\":\"x\\ny\"},\n  {\"b\":1}\n]\n",
            "{\n \"a\":\"tab\\there \\u00e9 \\\\ \\\"q\\\" end\"}\n{\n \"b\":1}\n",
        ] {
            let (recs, _, _) = frame(input.as_bytes());
            let errors: Vec<_> = recs.iter().filter_map(|r| r.2).collect();
            assert_eq!((recs.len(), errors), (2, vec![]), "{input:?}: {recs:?}");
            assert_eq!(recs[1].0.replace(['\n', ' '], ""), "{\"b\":1}", "{input:?}");
        }
    }

    /// Regression (#17): a record over the limit was counted twice (`too_large`, then the
    /// rest of it as `invalid_json`). It is one record in every layout, its first bytes kept,
    /// and the records after it keep their lines and byte offsets.
    #[test]
    fn a_too_large_record_is_one_record_in_every_layout() {
        let big = format!(
            "{{\"a\":\"{}\",\n \"b\":[1,{{\"c\":\"}}]\"}}]}}",
            "x".repeat(100)
        );
        let flat = big.replace('\n', "");
        // (input, the records besides the too-large one)
        let cases = [
            (format!("{flat}\n{{\"b\":1}}\n"), vec!["{\"b\":1}"]),
            (
                format!("[\n  {big},\n  {{\"b\":1}}\n]\n"),
                vec!["{\"b\":1}"],
            ),
            (
                format!("{{\n \"z\":0}}\n{big}\n{{\n \"b\":1}}\n"),
                vec!["{\n \"z\":0}", "{\n \"b\":1}"],
            ),
            (flat.clone(), vec![]),
            (format!("[{big}"), vec![]),
            // Garbage in a stream runs to its line's end, braces and all.
            (
                format!(
                    "{{\n \"z\":0}}\nnot json {{\"a\": ] {} }}\n{{\n \"b\":1}}\n",
                    "w".repeat(40)
                ),
                vec!["{\n \"z\":0}", "{\n \"b\":1}"],
            ),
        ];
        for (input, others) in &cases {
            let cut = input
                .find("not json")
                .or_else(|| input.find("{\"a\""))
                .expect("the big record");
            // Reads shorter than the limit, as in real use (a record complete in one read is
            // not measured).
            for read_size in [3, 7, 15] {
                let opts = FrameOptions {
                    max_record: 16,
                    read_size,
                    chunk_bytes: 5,
                    ..FrameOptions::default()
                };
                let mut f = Framer::new(input.as_bytes(), opts);
                let mut spans = Vec::new();
                while let Some(chunk) = f.next_chunk().expect("read from slice") {
                    for s in &chunk.spans {
                        let text = String::from_utf8_lossy(chunk.record(s)).into_owned();
                        spans.push((text, s.offset, s.line, s.error));
                    }
                }
                let what = format!("{input:?} read {read_size}: {spans:?}");
                let large: Vec<_> = spans
                    .iter()
                    .filter(|s| s.3 == Some(FrameError::TooLarge))
                    .collect();
                assert_eq!(large.len(), 1, "{what}");
                assert_eq!(large[0].0, input[cut..cut + 16], "{what}");
                assert_eq!(large[0].1, cut as u64, "{what}");
                let rest: Vec<_> = spans.iter().filter(|s| s.3.is_none()).collect();
                assert_eq!(rest.len() + 1, spans.len(), "{what}");
                assert_eq!(
                    rest.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
                    *others,
                    "{what}"
                );
                for s in rest {
                    let at = input.find(s.0.as_str()).expect("in the input");
                    assert_eq!(s.1, at as u64, "{what}: offset of {:?}", s.0);
                    assert_eq!(
                        s.2,
                        input[..at].matches('\n').count() as u64 + 1,
                        "{what}: line"
                    );
                }
            }
        }
    }
}
