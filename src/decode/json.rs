//! A validating, borrowing JSON cursor: the entry decoder reads each record in one pass,
//! descending into the objects whose fields it needs (resource, httpRequest, the payload)
//! and skipping everything else, where serde_json's derive would skip a nested object as a
//! raw value and then parse it again (docs/BENCHMARKS.md, "each entry read once").
//!
//! It accepts exactly the documents serde_json accepts when it skips a value (RFC 8259, any
//! depth of nesting); a fuzz target and property tests compare the two. It only says
//! *that* a record is malformed and where: the decoder asks serde_json for the wording
//! users know.
//!
//! Failure modes: [`SyntaxError`] with the byte offset (the input's length when it ends first).

use std::borrow::Cow;

/// A JSON value's text, as written (whitespace inside kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a> {
    text: &'a str,
    /// 0 only for a string without escapes. The cursor knows it from its one pass;
    /// without it every string field was scanned again for a backslash (2% of ingest). A
    /// whole word, not a `bool`: a `Raw` returned through memory was written with a byte
    /// store and copied with word loads, and each copy stalled on the store-to-load forward
    /// (5% of decoding, in `set`).
    escapes: usize,
}

impl<'a> Raw<'a> {
    /// `text` as a value the cursor read; `escapes` as [`Raw::may_have_escapes`] says.
    #[inline]
    pub(crate) fn new(text: &'a str, escapes: bool) -> Self {
        Raw {
            text,
            escapes: usize::from(escapes),
        }
    }

    pub fn get(self) -> &'a str {
        self.text
    }

    /// False only for a string without escapes: its text between the quotes is its
    /// content.
    pub fn may_have_escapes(self) -> bool {
        self.escapes != 0
    }
}

/// Where a document stops being JSON. One word: a second field (an `eof` flag) overlapped
/// `Raw::escapes` in `Result<Raw, SyntaxError>`, and every value read then stalled on a
/// store-to-load forward (decoding 10% slower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
}

type Result<T> = std::result::Result<T, SyntaxError>;

pub struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error(&self) -> SyntaxError {
        SyntaxError { offset: self.pos }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The input from the next byte that is not whitespace on.
    pub(crate) fn rest(&mut self) -> &'a str {
        self.ws();
        &self.text[self.pos..]
    }

    /// Moves past the first `n` bytes of [`Cursor::rest`]: a value the caller knows is
    /// valid JSON (the same bytes read before). It must end on a character boundary.
    pub(crate) fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    /// The next byte that is not whitespace, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        // Exports are compact: the next byte is rarely whitespace (one compare, one load).
        match self.bytes().get(self.pos) {
            Some(&b) if b > b' ' => Some(b),
            _ => {
                self.ws();
                self.bytes().get(self.pos).copied()
            }
        }
    }

    fn eat(&mut self, b: u8) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// The whole input as one value with nothing but whitespace after it.
    pub fn document(mut self) -> Result<Raw<'a>> {
        let v = self.value()?;
        self.end()?;
        Ok(v)
    }

    /// Nothing but whitespace is left.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error()),
        }
    }

    /// The object at the cursor: `field` is called with each key and must consume its
    /// value (with [`Cursor::value`], [`Cursor::object`] or [`Cursor::string`]). Returns
    /// the object's text.
    pub fn object<E: From<SyntaxError>>(
        &mut self,
        mut field: impl FnMut(Cow<'a, str>, &mut Self) -> std::result::Result<(), E>,
    ) -> std::result::Result<Raw<'a>, E> {
        let start = self.pos_of_next();
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(self.error().into());
                }
                let start = self.pos;
                let key = if self.quoted_end()? {
                    self.unescape(start)?
                } else {
                    Cow::Borrowed(&self.text[start + 1..self.pos - 1])
                };
                self.eat(b':')?;
                self.ws();
                field(key, self)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error().into()),
                }
            }
        }
        // Not a string.
        Ok(Raw::new(&self.text[start..self.pos], true))
    }

    fn pos_of_next(&mut self) -> usize {
        self.ws();
        self.pos
    }

    /// Skips (and checks) the value at the cursor; returns its text. Iterative, so any
    /// depth of nesting is read without recursion (serde_json skips values the same way).
    pub fn value(&mut self) -> Result<Raw<'a>> {
        let start = self.pos_of_next();
        // Most values are strings: no nesting to track.
        if self.bytes().get(start) == Some(&b'"') {
            let escapes = self.quoted_end()?;
            return Ok(Raw::new(&self.text[start..self.pos], escapes));
        }
        let mut open = Nesting::default();
        let mut escapes = false;
        loop {
            // A value starts here.
            match self.peek() {
                Some(b @ (b'{' | b'[')) => {
                    self.pos += 1;
                    let object = b == b'{';
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.pos += 1;
                    } else {
                        open.push(object);
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => escapes |= self.quoted_end()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.error()),
            }
            // A value ended: close what it ends, up to the next value.
            loop {
                let Some(in_object) = open.top() else {
                    let text = &self.text[start..self.pos];
                    return Ok(Raw::new(text, escapes || !text.starts_with('"')));
                };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b'}') if in_object => self.pos += 1,
                    Some(b']') if !in_object => self.pos += 1,
                    _ => return Err(self.error()),
                }
                open.pop();
            }
        }
    }

    /// A key and its colon, skipped.
    fn key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return Err(self.error());
        }
        self.quoted_end()?;
        self.eat(b':')
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        for &b in word.as_bytes() {
            match self.bytes().get(self.pos) {
                Some(&c) if c == b => self.pos += 1,
                _ => return Err(self.error()),
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<()> {
        if self.bytes().get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes().get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error()),
        }
        if self.bytes().get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error());
            }
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes().get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error());
            }
        }
        Ok(())
    }

    /// The string at the cursor, borrowed when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        let start = self.pos_of_next();
        let escaped = self.string_end()?;
        let inner = &self.text[start + 1..self.pos - 1];
        if !escaped {
            return Ok(Cow::Borrowed(inner));
        }
        self.unescape(start)
    }

    #[cold]
    fn unescape(&self, start: usize) -> Result<Cow<'a, str>> {
        // Escapes were checked; only a lone surrogate (`"\ud800"`) can still fail.
        serde_json::from_str::<String>(&self.text[start..self.pos])
            .map(Cow::Owned)
            .map_err(|_| SyntaxError { offset: start })
    }

    /// [`Cursor::string_end`] with the cursor on the opening quote, inlined: most keys and
    /// many values close within the 16 bytes after it, found with one compare and no call
    /// (decoding 10% fewer instructions).
    #[inline(always)]
    fn quoted_end(&mut self) -> Result<bool> {
        if let Some(end) = special_within_16(self.bytes(), self.pos + 1)
            && self.bytes()[end] == b'"'
        {
            self.pos = end + 1;
            return Ok(false);
        }
        self.string_end()
    }

    /// Moves past the string at the cursor (its opening quote); says whether it had escapes.
    fn string_end(&mut self) -> Result<bool> {
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            self.pos = special(self.bytes(), self.pos);
            match self.bytes().get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.bytes().get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                match self.bytes().get(self.pos) {
                                    Some(c) if c.is_ascii_hexdigit() => self.pos += 1,
                                    _ => return Err(self.error()),
                                }
                            }
                        }
                        _ => return Err(self.error()),
                    }
                }
                // A control character, or the end of the input.
                _ => return Err(self.error()),
            }
        }
    }
}

/// Whitespace outside strings removed, so the same entry pretty-printed by gcloud and compact
/// in a sink file stores the same text. `raw` must be valid JSON (a value the cursor read);
/// a single line is borrowed as it is.
pub fn compact(raw: &str) -> Cow<'_, str> {
    let b = raw.as_bytes();
    // Pretty-printed JSON always breaks lines; a single line is kept as written (sink files
    // are already compact, and scanning every payload twice costs a fifth of decoding).
    if memchr::memchr(b'\n', b).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Between strings: punctuation, numbers, literals and the whitespace to drop.
        let quote = memchr::memchr(b'"', &b[i..]).map_or(b.len(), |q| i + q);
        for part in raw[i..quote].split([' ', '\n', '\t', '\r']) {
            out.push_str(part);
        }
        if quote == b.len() {
            break;
        }
        // A string, copied whole.
        let mut end = quote + 1;
        loop {
            end = special(b, end);
            match b.get(end) {
                Some(b'"') => break,
                Some(b'\\') => end += 2,
                Some(_) => end += 1,
                None => break,
            }
        }
        let end = (end + 1).min(b.len());
        out.push_str(&raw[quote..end]);
        i = end;
    }
    Cow::Owned(out)
}

/// The containers a skipped value is inside: a bit per level (set: an object), the levels
/// past 64 in a vector, so the usual few levels never allocate.
#[derive(Default)]
struct Nesting {
    bits: u64,
    depth: usize,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            self.bits = (self.bits & !(1 << self.depth)) | (u64::from(object) << self.depth);
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    /// Whether the innermost open container is an object (`None`: none is open).
    fn top(&self) -> Option<bool> {
        let d = self.depth.checked_sub(1)?;
        if d < 64 {
            Some(self.bits & (1 << d) != 0)
        } else {
            self.deeper.last().copied()
        }
    }

    fn pop(&mut self) {
        self.depth -= 1;
        if self.depth >= 64 {
            self.deeper.pop();
        }
    }
}

/// The first index of `b[i..i + 16]` holding a quote, a backslash or a control character,
/// if any does (`None` too where SSE2 is not there or fewer than 16 bytes are left).
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn special_within_16(b: &[u8], i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if i + 16 <= b.len() {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; the load reads `b[i..i + 16]`, in
        // bounds by the condition above, and allows any alignment.
        let mask = unsafe {
            let v = _mm_loadu_si128(b.as_ptr().add(i).cast());
            // An unsigned byte is a control character when min(byte, 0x1f) == byte.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let hits = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
                ),
                control,
            );
            _mm_movemask_epi8(hits)
        };
        return (mask != 0).then(|| i + mask.trailing_zeros() as usize);
    }
    None
}

/// The first index from `i` holding a quote, a backslash or a control character (or the
/// length). Strings are most of a record's bytes, so this is the cursor's inner loop: 16
/// bytes per step with SSE2 (every x86_64 CPU has it), then eight with the has-zero-byte
/// trick.
fn special(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while i + 16 <= b.len() {
        if let Some(at) = special_within_16(b, i) {
            return at;
        }
        i += 16;
    }
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let quote = v ^ (ONES * u64::from(b'"'));
        let slash = v ^ (ONES * u64::from(b'\\'));
        let hits = (v.wrapping_sub(ONES * 0x20) & !v)
            | (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash);
        let hits = hits & HIGH;
        if hits != 0 {
            // Borrows only run upward from a real hit, so the lowest flagged byte is one.
            return i + hits.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(s: &str) -> bool {
        Cursor::new(s).document().is_ok()
    }

    fn serde_valid(s: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
    }

    #[test]
    fn agrees_with_serde_json_on_edge_cases() {
        let cases = [
            "{}",
            "[]",
            " { \"a\" : [ 1 , -0.5e+3 , true , null , \"x\\u00e9\\n\" ] } ",
            "01",
            "-",
            "1.",
            "1e",
            ".5",
            "+1",
            "1.5E-7",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"a\tb\"",
            "\"a\u{7f}b\"",
            "{\"a\":1,}",
            "[1,]",
            "{\"a\" 1}",
            "{1:2}",
            "tru",
            "nul",
            "{} x",
            "",
            "   ",
            "\"unclosed",
            "{\"a\":{\"b\":[{}]}}",
            "\"0123456789abcdef\\\"0123456789\"",
        ];
        for c in cases {
            assert_eq!(valid(c), serde_valid(c), "{c:?}");
        }
    }

    #[test]
    fn deep_nesting_is_read_without_recursion() {
        for depth in [63, 64, 65, 129, 100_000] {
            let doc = format!(
                r#"{}{{"a":1}}{}"#,
                "[{\"k\":".repeat(depth),
                "}]".repeat(depth)
            );
            assert!(valid(&doc), "depth {depth}");
            assert_eq!(valid(&doc), serde_valid(&doc), "depth {depth}");
            let bad = format!("{}{}", "[".repeat(depth), "}".repeat(depth));
            assert!(!valid(&bad), "depth {depth}");
        }
    }

    #[test]
    fn objects_visit_keys_and_return_their_text() {
        let text = r#"{"a": {"b": "x\"y"}, "c": [1, 2]}"#;
        let mut c = Cursor::new(text);
        let mut seen = Vec::new();
        let raw = c
            .object(|k, c| {
                if k == "a" {
                    c.object(|k2, c| {
                        seen.push((k2.into_owned(), c.string()?.into_owned()));
                        Ok::<_, SyntaxError>(())
                    })?;
                } else {
                    seen.push((k.into_owned(), c.value()?.get().to_owned()));
                }
                Ok::<_, SyntaxError>(())
            })
            .expect("valid");
        assert_eq!(raw.get(), text);
        assert_eq!(
            seen,
            [("b".into(), "x\"y".into()), ("c".into(), "[1, 2]".into())]
        );
    }

    #[test]
    fn compacting_keeps_strings() {
        assert_eq!(
            compact("{ \"a b\" :\n [ 1, \"x \\\" y\", \"\\\\\", true ] }"),
            "{\"a b\":[1,\"x \\\" y\",\"\\\\\",true]}"
        );
        assert_eq!(compact("{\"a\": 1}"), "{\"a\": 1}");
        assert_eq!(
            compact("{\n\t\"\u{e9}\\n\" : null\r\n}"),
            "{\"\u{e9}\\n\":null}"
        );
    }

    /// Strings whose end falls before, on and past the 16 bytes `quoted_end` looks at, with
    /// an escape, a control character or a multi-byte character at every place, as keys and
    /// as values: read as serde_json reads them.
    #[test]
    fn strings_around_the_16_byte_window_read_as_serde_json_reads_them() {
        let specials = [
            "", "\\n", "\\u00e9", "\\\"", "\u{1}", "\u{e9}", "\\", "\\\\", "\\x",
        ];
        for len in 0..36 {
            for special in specials {
                for at in 0..=len {
                    let body = format!("{}{special}{}", "a".repeat(at), "b".repeat(len - at));
                    let doc = format!("{{\"{body}\":\"{body}\",\"k\":[\"{body}\"]}}");
                    assert_eq!(valid(&doc), serde_valid(&doc), "{doc:?}");
                    let Ok(want) = serde_json::from_str::<String>(&format!("\"{body}\"")) else {
                        continue;
                    };
                    let mut c = Cursor::new(&doc);
                    let mut seen = Vec::new();
                    c.object(|k, c| {
                        seen.push(k.into_owned());
                        if seen.len() == 1 {
                            seen.push(c.string()?.into_owned());
                        } else {
                            c.value()?;
                        }
                        Ok::<_, SyntaxError>(())
                    })
                    .expect("valid");
                    assert_eq!(seen, [want.clone(), want, "k".into()], "{doc:?}");
                }
            }
        }
    }

    #[test]
    fn special_finds_the_first_stop_byte() {
        let s = b"abcdefghij\"klmnop\\";
        assert_eq!(special(s, 0), 10);
        assert_eq!(special(s, 11), 17);
        assert_eq!(special(b"abcdefghijklmnop\x01", 0), 16);
        assert_eq!(special(b"abc", 0), 3);
        // Past the 16-byte steps: a hit in each lane, and bytes above 0x7f are not control.
        for at in 0..40 {
            let mut long = vec![0xe9u8; 40];
            long[at] = [b'"', b'\\', 0x1f, 0x00][at % 4];
            assert_eq!(special(&long, 0), at);
            assert_eq!(special(&long, at.min(3)), at);
        }
        assert_eq!(special(&[0x7f; 40], 0), 40);
    }

    proptest::proptest! {
        #[test]
        fn any_text_valid_as_serde_json_says(s in "[ -~\\t\\n]{0,40}") {
            proptest::prop_assert_eq!(valid(&s), serde_valid(&s), "{:?}", s);
        }

        #[test]
        fn json_like_text_valid_as_serde_json_says(
            s in "[\\[\\]{}\",:0-9.eE+\\-tfrulnsa\\\\ ]{0,30}"
        ) {
            proptest::prop_assert_eq!(valid(&s), serde_valid(&s), "{:?}", s);
        }
    }
}
