//! Step 1 of signing, per line and stateless: mask the variable parts of a message, giving
//! its *shape* (`Failed to create session <*> for user_id=<*>`).
//!
//! A line is split into whitespace-separated tokens; each token into words at punctuation
//! (`: = , ( ) [ ] { } ; ' "` ...), and each word is classed by what it looks like, never by
//! where it came from: numbers and anything starting with a digit (IPs, sizes, durations,
//! versions), long hex runs (hashes, UUID parts, request ids), words with several digits
//! (`blk_-633`, `req_1757648773791_1414_94357186`), paths and URLs, e-mail addresses, host
//! names, JWT-like tokens, quoted values after `=` or `:` (spaces included), booleans and
//! nulls (`true`, `None`; but a capitalized one that opens the line is a word: `None of
//! ...`). A unit abbreviation or a bound belongs to its number (`2.1 KB`, `<1 sec`), and
//! three or more values that end a line are one list. Words with a single trailing digit
//! (`eth1`, `ssh2`, `SOCKS5`) are kept: they name things. A time of day is written
//! `<*>:<*>:<*>` as Loghub's labels write it, the weekday, month, day and year around it
//! included (`at Sun Jul 24 02:38:22 2005` -> `at <*>:<*>:<*>`); a full stop that ends the
//! line after a value stays (`on port <*>.`).
//!
//! Multi-line messages are signed by their meaningful lines: the first line, and for Python
//! tracebacks the exception line, so frame addresses and line numbers never split a group.
//! Whitespace runs collapse to one space.

/// The variable marker, as Loghub writes it.
pub const VAR: &str = "<*>";

/// Joins the two meaningful lines of a multi-line message in its shape.
const JOIN: &str = " | ";

/// Writes the shape of `msg` into `out` (cleared first).
pub fn shape_into(msg: &str, out: &mut String) {
    out.clear();
    if memchr::memchr(b'\n', msg.as_bytes()).is_some() {
        let (head, tail) = meaningful_lines(msg);
        shape_line(head, out);
        if let Some(t) = tail {
            out.push_str(JOIN);
            shape_line(t, out);
        }
    } else {
        shape_line(msg, out);
    }
}

/// First non-blank line, and the exception line of a traceback (the last line that looks
/// like `pkg.SomeError: ...`), if the message has one.
fn meaningful_lines(msg: &str) -> (&str, Option<&str>) {
    let mut lines = msg.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let exception = msg
        .lines()
        .map(str::trim)
        .rfind(|l| is_exception_line(l))
        .filter(|l| *l != first);
    (first, exception)
}

fn is_exception_line(l: &str) -> bool {
    let name = l.split([':', ' ']).next().unwrap_or("");
    let last = name.rsplit('.').next().unwrap_or("");
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        && (last.ends_with("Error") || last.ends_with("Exception") || last.ends_with("Exit"))
}

/// Byte classes, looked up once per byte: one pass over a token tells which of the costlier
/// checks (URL, e-mail, JWT, clock, MAC) can apply at all.
const DIGIT: u8 = 1;
const COLON: u8 = 2;
const AT: u8 = 4;
const DOT: u8 = 8;
const DELIM: u8 = 16;

const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = DIGIT;
        c += 1;
    }
    let delims = b":=,()[]{};\"'|<>&";
    let mut i = 0;
    while i < delims.len() {
        t[delims[i] as usize] |= DELIM;
        i += 1;
    }
    t[b':' as usize] |= COLON;
    t[b'@' as usize] = AT;
    t[b'.' as usize] = DOT;
    t
};

fn is_delim(b: u8) -> bool {
    CLASSES[b as usize] & DELIM != 0
}

pub(crate) const HTTP_METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Masks one line, appending to `out`.
///
/// One function on purpose: it is the hot loop of every ingest (criterion
/// `mask_loghub_20k_no_cache`), and its per-token state (request line, quoted value, date
/// run) is cheapest kept in locals of one loop.
fn shape_line(line: &str, out: &mut String) {
    let start_len = out.len();
    // `METHOD /path STATUS` (request lines): the endpoint and status name the problem, so
    // the path is masked segment by segment and the status is kept.
    let mut request = 0u8;
    let mut tokens = line.split_ascii_whitespace().peekable();
    // Tokens that start before this offset were taken into a quoted value.
    let mut taken_until = 0;
    // Where the date before a clock began (`Sun Jul 24 02:38:22 2005`), in `out`.
    let mut date_at: Option<usize> = None;
    // Most lines hold no quote at all: their tokens skip the quoted-value test.
    let quotes = memchr::memchr2(b'"', b'\'', line.as_bytes()).is_some();
    while let Some(mut token) = tokens.next() {
        let at = token.as_ptr() as usize - line.as_ptr() as usize;
        if at < taken_until {
            continue;
        }
        let before = out.len();
        let date_run = date_at.take();
        // `2.1 KB` is one value, as `2.1KB` is: a unit after a variable joins it.
        if out.len() > start_len
            && out.ends_with(VAR)
            && let Some(unit) = unit_len(token)
        {
            shape_token(&token[unit..], out);
            request = 0;
            continue;
        }
        if out.len() > start_len {
            out.push(' ');
        }
        // `tag="View Lock"`: a quoted value is one variable, spaces and all.
        if let Some(end) = quotes.then(|| quoted_value_end(line, at, token)).flatten() {
            token = &line[at..end];
            taken_until = end;
        }
        let upper = token.as_bytes().first().is_some_and(u8::is_ascii_uppercase);
        // `None of the replicas ...`: a capitalized word that opens the line is a word.
        if upper && out.len() == start_len && matches!(token, "None" | "True" | "False") {
            out.push_str(token);
            continue;
        }
        // Weekday and month names inside a date (`Sun Jul 24 02:38:22 2005`) are values.
        if upper
            && is_calendar_word(token)
            && tokens
                .peek()
                .is_some_and(|n| is_calendar_word(n) || n.starts_with(|c: char| c.is_ascii_digit()))
        {
            date_at = date_run.or(Some(before));
            out.push_str(VAR);
            request = 0;
            continue;
        }
        // A time of day is written `<*>:<*>:<*>` (Loghub's convention), the date before it
        // and the year after it included.
        if let Some(clock) = clock_len(token) {
            if let Some(start) = date_run {
                out.truncate(start);
                if out.len() > start_len {
                    out.push(' ');
                }
            }
            out.push_str("<*>:<*>:<*>");
            let mut rest = &token[clock..];
            if let Some(year) = tokens.next_if(|n| clock_year(n)) {
                rest = &year[4..];
            }
            out.push_str(rest);
            request = 0;
            continue;
        }
        if date_run.is_some() && token.len() <= 2 && token.bytes().all(|b| b.is_ascii_digit()) {
            date_at = date_run; // the day of the month
        }
        match request {
            1 if token.starts_with('/') => {
                shape_url_path(token, out);
                request = 2;
                continue;
            }
            2 if token.len() == 3 && token.bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str(token);
                request = 0;
                continue;
            }
            _ => {}
        }
        request = u8::from(upper && HTTP_METHODS.contains(&token));
        // `on port 55904.`: a full stop that ends the line ends the sentence, not the value.
        if let Some(value) = token.strip_suffix('.')
            && tokens.peek().is_none()
            && value.bytes().all(|b| !is_delim(b))
            && value
                .as_bytes()
                .last()
                .is_some_and(u8::is_ascii_alphanumeric)
            && classify(value) == Word::Var
        {
            out.push_str(VAR);
            out.push('.');
            continue;
        }
        shape_token(token, out);
    }
    collapse_trailing_list(out, start_len);
}

/// Three or more variables that end a line are one list (`delete blk_1 blk_2 blk_3`), so
/// long lists give one shape whatever their length (one- and two-value lists are joined
/// later, when templates equal up to runs of `<*>` are merged).
fn collapse_trailing_list(out: &mut String, start: usize) {
    const TAIL: &str = " <*>";
    let mut end = out.len();
    let mut run = 0;
    while end >= start + TAIL.len() && out[start..end].ends_with(TAIL) {
        end -= TAIL.len();
        run += 1;
    }
    if run >= 3 {
        out.truncate(end + TAIL.len());
    }
}

/// Unit abbreviations that follow a number (`2.1 KB`, `<1 sec`), by length of the unit
/// when `token` is one (trailing punctuation allowed: `KB,`).
fn unit_len(token: &str) -> Option<usize> {
    let unit = token.trim_end_matches([',', ';', '.', ')', ']', '}']);
    is_unit(unit).then_some(unit.len())
}

/// A unit abbreviation: `KB`, `ms`, `sec`.
pub(crate) fn is_unit(word: &str) -> bool {
    const UNITS: [&str; 19] = [
        "B", "KB", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "ns", "us", "µs", "ms", "s",
        "sec", "secs", "min", "mins",
    ];
    UNITS.contains(&word)
}

/// Where the token holding the closing quote ends, when `token` (at byte `at` of `line`)
/// opens a quoted value after `=` or `:` and does not close it; again while the tokens taken
/// open another (`a=" ":" "`): else the shape, masked again, would mask that one too.
fn quoted_value_end(line: &str, at: usize, token: &str) -> Option<usize> {
    let mut end = open_value_end(line, at, token)?;
    while let Some(next) = open_value_end(line, at, &line[at..end]).filter(|&e| e > end) {
        end = next;
    }
    Some(end)
}

fn open_value_end(line: &str, at: usize, token: &str) -> Option<usize> {
    let b = token.as_bytes();
    if !b.iter().any(|&c| c == b'"' || c == b'\'') {
        return None;
    }
    // Quotes pair left to right: a quote that closes a value (`403:'`) opens none.
    let mut open = None;
    for i in 1..b.len() {
        match open {
            Some(o) if b[i] == b[o] => open = None,
            None if matches!(b[i], b'"' | b'\'') && matches!(b[i - 1], b'=' | b':') => {
                open = Some(i);
            }
            _ => {}
        }
    }
    let open = open?;
    let rest = &line.as_bytes()[at + open + 1..];
    // Never closed by a quote past the ` | ` that joins a message's two meaningful lines:
    // the shape, masked again, would pair quotes of different lines.
    let rest = &rest[..memchr::memmem::find(rest, JOIN.as_bytes()).unwrap_or(rest.len())];
    let close = at + open + 1 + memchr::memchr(b[open], rest)?;
    let end = line.as_bytes()[close..]
        .iter()
        .position(u8::is_ascii_whitespace)
        .map_or(line.len(), |k| close + k);
    Some(end)
}

fn is_calendar_word(t: &str) -> bool {
    if t.len() > 4 {
        return false;
    }
    const NAMES: [&str; 19] = [
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES.contains(&t.trim_end_matches(','))
}

/// `/api/threads/4f0c.../messages?limit=20` -> `/api/threads/<*>/messages`.
fn shape_url_path(path: &str, out: &mut String) {
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_uuid(seg) || classify(seg) != Word::Keep {
            out.push_str(VAR);
        } else {
            out.push_str(seg);
        }
    }
}

fn shape_token(token: &str, out: &mut String) {
    // `<1`, `>=100`, `~5`: a bound is part of its value.
    let token = match token.as_bytes() {
        [b'<' | b'>' | b'~', b'=', d, ..] | [b'<' | b'>' | b'~', d, ..] if d.is_ascii_digit() => {
            token.trim_start_matches(['<', '>', '~', '='])
        }
        _ => token,
    };
    let b = token.as_bytes();
    let seen = b.iter().fold(0u8, |acc, &c| acc | CLASSES[c as usize]);
    // Whole-token classes first: they contain delimiters that must not split them.
    if seen & COLON != 0
        && let Some(scheme_end) = memchr::memmem::find(b, b"://")
    {
        let scheme = &token[..scheme_end];
        if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+')
        {
            out.push_str(scheme);
            out.push_str("://");
            out.push_str(VAR);
            // Closing punctuation after a URL is the sentence's (`(see http://x/y)`), and
            // kept apart the shape masks to itself again (`hdfs://<*>)` stays).
            let url = token.trim_end_matches([')', ']', '}', ',', ';', '.']);
            out.push_str(&token[url.len().max(scheme_end + 3)..]);
            return;
        }
    }
    if (seen & AT != 0 && is_email(token))
        || (seen & DOT != 0 && b.len() > 30 && is_jwt(token))
        || (seen & COLON != 0 && (is_clock(token) || is_mac(token)))
    {
        out.push_str(VAR);
        return;
    }
    if seen & DELIM == 0 {
        push_classified(token, classify(token), out);
        return;
    }
    let mut i = 0;
    let mut prev_delim: u8 = 0;
    while i < b.len() {
        if is_delim(b[i]) {
            // A quoted value after `=` or `:` is a variable as a whole.
            if (b[i] == b'\'' || b[i] == b'"')
                && matches!(prev_delim, b'=' | b':')
                && let Some(close) = b[i + 1..].iter().position(|&c| c == b[i])
            {
                out.push(b[i] as char);
                out.push_str(VAR);
                out.push(b[i] as char);
                i += close + 2;
                prev_delim = b[i - 1];
                continue;
            }
            out.push(b[i] as char);
            prev_delim = b[i];
            i += 1;
            continue;
        }
        let end = b[i..]
            .iter()
            .position(|&c| is_delim(c))
            .map_or(b.len(), |k| i + k);
        let word = &token[i..end];
        // The value of `key=value`: numbers, dotted or path-like names, addresses.
        let class = classify(word);
        if prev_delim == b'=' && (class != Word::Keep || word.contains(['.', '/', '@'])) {
            out.push_str(VAR);
        } else {
            push_classified(word, class, out);
        }
        prev_delim = 0;
        i = end;
    }
}

fn push_classified(word: &str, class: Word, out: &mut String) {
    match class {
        Word::Keep => out.push_str(word),
        Word::Var => out.push_str(VAR),
        Word::Suffix(k) => {
            out.push_str(&word[..k]);
            out.push_str(VAR);
        }
    }
}

/// How a word (no delimiters inside) is masked.
#[derive(Debug, PartialEq, Eq)]
enum Word {
    Keep,
    Var,
    /// Keep the first `k` bytes, mask the rest (`node-123` -> `node-<*>`).
    Suffix(usize),
}

/// Does this word look like a value rather than a name?
fn classify(w: &str) -> Word {
    let b = w.as_bytes();
    let Some(&first) = b.first() else {
        return Word::Keep;
    };
    if first.is_ascii_digit()
        || ((first == b'-' || first == b'+' || first == b'.')
            && b.get(1).is_some_and(u8::is_ascii_digit))
    {
        return Word::Var;
    }
    if matches!(
        w,
        "true" | "false" | "True" | "False" | "null" | "None" | "NULL"
    ) {
        return Word::Var;
    }
    // Most words hold no digit (`Received`, `block`): then only a path with levels or a
    // host name is a value.
    if !b.iter().any(u8::is_ascii_digit) {
        return if is_path(b) || (b.contains(&b'.') && is_host_name(w)) {
            Word::Var
        } else {
            Word::Keep
        };
    }
    // One pass: digit count, longest digit run, longest hex run holding a digit, letters.
    let (mut digits, mut run, mut longest_run) = (0usize, 0usize, 0usize);
    let (mut hex, mut hex_digit, mut hex_run) = (0usize, false, 0usize);
    let (mut letters, mut dots) = (0usize, 0usize);
    for &c in b {
        if c.is_ascii_digit() {
            digits += 1;
            run += 1;
            longest_run = longest_run.max(run);
            hex_digit = true;
        } else {
            run = 0;
        }
        if c.is_ascii_hexdigit() {
            hex += 1;
            if hex_digit {
                hex_run = hex_run.max(hex);
            }
        } else {
            hex = 0;
            hex_digit = false;
        }
        letters += usize::from(c.is_ascii_alphabetic());
        dots += usize::from(c == b'.');
    }
    if longest_run >= 5 || hex_run >= 8 {
        return Word::Var; // ids, counters, hashes: `blk_-633...`, `req_1757..._94357186`
    }
    if is_path(b) || (first == b'/' && digits > 0) {
        return Word::Var; // a path with levels or numbers in it
    }
    if digits > 0 {
        let trailing = run;
        let sep = b.len().checked_sub(trailing + 1).map(|k| b[k]);
        if trailing == digits && matches!(sep, Some(b'-' | b'_' | b'#')) {
            return Word::Suffix(b.len() - trailing); // `node-123`, `worker_7`
        }
        if trailing == digits
            && ((trailing == 1 && letters >= 2) || (trailing <= 3 && letters >= 3))
        {
            return Word::Keep; // a name with a number in it: `eth1`, `ee0`, `ssh2`, `e820`
        }
        if digits >= 2 {
            return Word::Var;
        }
    }
    if dots >= 2 && is_host_name(w) {
        Word::Var
    } else {
        Word::Keep
    }
}

/// `/var/log/x`, `\Windows\System32` (after `C:`): a path with levels.
fn is_path(b: &[u8]) -> bool {
    matches!(b, [sep @ (b'/' | b'\\'), rest @ ..] if rest.contains(sep))
}

/// `00:11:e3:ba:c3:0f` (a MAC address): one variable.
fn is_mac(t: &str) -> bool {
    let t = t.trim_end_matches([',', '.', ';', ')']).as_bytes();
    t.len() >= 14
        && (t.len() + 1).is_multiple_of(3)
        && t.chunks(3).all(|c| {
            c[0].is_ascii_hexdigit()
                && c[1].is_ascii_hexdigit()
                && c.get(2).is_none_or(|&s| s == b':')
        })
}

/// Length of the `HH:MM:SS` that `token` is, before trailing punctuation.
fn clock_len(token: &str) -> Option<usize> {
    let b = token.as_bytes();
    let n = match b {
        [h, b':', ..] if h.is_ascii_digit() => 1,
        [h1, h2, b':', ..] if h1.is_ascii_digit() && h2.is_ascii_digit() => 2,
        _ => return None,
    };
    let end = n + 6;
    let digits = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let clock = digits(n + 1) && digits(n + 2) && b.get(n + 3) == Some(&b':') && digits(n + 4);
    (clock
        && digits(n + 5)
        && b[end.min(b.len())..]
            .iter()
            .all(|c| matches!(c, b',' | b'.' | b';' | b')')))
    .then_some(end)
}

/// A four-digit year after a clock (`2005`, `2005,`).
fn clock_year(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() >= 4
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..]
            .iter()
            .all(|c| matches!(c, b',' | b'.' | b';' | b')'))
}

/// `00:39`: a two-part clock time is one variable, not `<*>:<*>`.
fn is_clock(t: &str) -> bool {
    let t = t.trim_end_matches([',', '.', ';', ')']);
    let (clock, fraction) = t.split_once('.').unwrap_or((t, ""));
    if fraction.contains(':') {
        return false;
    }
    let mut parts = 0;
    for p in clock.split(':') {
        parts += 1;
        if !(1..=2).contains(&p.len()) || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    (2..=3).contains(&parts)
}

/// `short.weixin.qq.com`: at least three labels, the last a short lowercase TLD.
fn is_host_name(w: &str) -> bool {
    let labels = w.split('.').count();
    if labels < 3 {
        return false;
    }
    let tld = w.rsplit('.').next().unwrap_or("");
    (2..=4).contains(&tld.len()) && tld.bytes().all(|c| c.is_ascii_lowercase())
}

fn is_email(t: &str) -> bool {
    let t = t.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '\'' | '"'));
    match t.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !user.contains(' ')
        }
        None => false,
    }
}

/// Three base64url segments separated by dots, the first starting like a JWT header.
fn is_jwt(t: &str) -> bool {
    let t = t.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
    t.starts_with("eyJ") && t.split('.').count() == 3 && t.len() > 30
}

/// `8-4-4-4-12` hex digits, 36 characters: anything shorter is refused before it is trimmed
/// or split (a path segment is tested here, and most are short words).
fn is_uuid(t: &str) -> bool {
    const LEN: usize = 36;
    if t.len() < LEN {
        return false;
    }
    let t = t.trim_matches(|c: char| !c.is_ascii_hexdigit());
    let mut parts = t.split('-');
    t.len() == LEN
        && [8, 4, 4, 4, 12].iter().all(|&n| {
            parts
                .next()
                .is_some_and(|p| p.len() == n && p.bytes().all(|c| c.is_ascii_hexdigit()))
        })
        && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::{is_uuid, shape_into};

    fn shape(msg: &str) -> String {
        let mut s = String::new();
        shape_into(msg, &mut s);
        s
    }

    /// The length check before the split refuses only what the split refused.
    #[test]
    fn uuids_as_the_split_saw_them() {
        let split = |t: &str| {
            let t = t.trim_matches(|c: char| !c.is_ascii_hexdigit());
            let parts: Vec<&str> = t.split('-').collect();
            parts.len() == 5
                && [8, 4, 4, 4, 12]
                    .iter()
                    .zip(&parts)
                    .all(|(n, p)| p.len() == *n && p.bytes().all(|c| c.is_ascii_hexdigit()))
        };
        let id = "3f2b8c1e-9a4d-4e7b-b2c5-1d0e6f7a8b9c";
        for t in [
            id.to_string(),
            format!("({id})"),
            format!("{id},"),
            format!("{id}-0"),
            format!("x{id}"),
            id.replace('-', ""),
            id[..35].to_string(),
            id.replacen('b', "g", 1),
            format!("--{id}--"),
            "3f2b8c1e-9a4d-4e7b-b2c5-1d0e6f7a8b9c-1d0e".to_string(),
            "3f2b8c1e9-a4d-4e7b-b2c5-1d0e6f7a8b9c".to_string(),
            "orders".to_string(),
            String::new(),
        ] {
            assert_eq!(is_uuid(&t), split(&t), "{t}");
        }
        assert!(is_uuid(id) && is_uuid(&format!("({id})")) && !is_uuid(&format!("{id}-0")));
    }

    #[test]
    fn loghub_style_lines() {
        let cases = [
            (
                "PacketResponder 1 for block blk_38865049064139660 terminating",
                "PacketResponder <*> for block <*> terminating",
            ),
            (
                "Received block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010 of size 91178",
                "Received block <*> src: <*>:<*> dest: <*>:<*> of size <*>",
            ),
            (
                "Running task 21.0 in stage 28.0 (TID 1301)",
                "Running task <*> in stage <*> (TID <*>)",
            ),
            (
                "Input split: hdfs://10.10.34.11:9000/pjhe/logs/2kSOSP.log:65628+7292",
                "Input split: hdfs://<*>",
            ),
            (
                "updateClipping isOverlap:true, getTopPadding=333.0, Translation=-487.0",
                "updateClipping isOverlap:<*>, getTopPadding=<*>, Translation=<*>",
            ),
            (
                "jk2_init() Found child 3746 in scoreboard slot 7",
                "jk2_init() Found child <*> in scoreboard slot <*>",
            ),
            (
                "Received disconnect from 183.62.140.253: 11: Bye Bye [preauth]",
                "Received disconnect from <*>: <*>: Bye Bye [preauth]",
            ),
            (
                "NIFF: node node-12 has detected an available network connection on network 5 via interface ee0",
                "NIFF: node node-<*> has detected an available network connection on network <*> via interface ee0",
            ),
            (
                "short.weixin.qq.com:80 close, 785 bytes sent",
                "<*>:<*> close, <*> bytes sent",
            ),
            // A unit after a number, and a bound before it, belong to the value.
            (
                "Block rdd_2 stored as bytes in memory (estimated size 2.1 KB, free 3.4 GB)",
                "Block rdd_<*> stored as bytes in memory (estimated size <*>, free <*>)",
            ),
            ("x close, lifetime <1 sec", "x close, lifetime <*>"),
            (
                "None of the 3 replicas answered",
                "None of the <*> replicas answered",
            ),
            ("cache hit: None", "cache hit: <*>"),
            (
                "Loaded Servicing Stack with Core: C:\\Windows\\winsxs\\cbscore.dll",
                "Loaded Servicing Stack with Core: C:<*>",
            ),
            // A quoted value is one variable, spaces included.
            (
                "acquire lock=1, tag=\"View Lock\", ws=null",
                "acquire lock=<*>, tag=\"<*>\", ws=<*>",
            ),
            // A list that ends the line is one variable, whatever its length.
            (
                "BLOCK* ask 10.0.0.1:50010 to delete blk_-1608999687919862906 blk_-7178306931869191437 blk_7503483334202473044",
                "BLOCK* ask <*>:<*> to delete <*>",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(shape(line), want, "{line}");
        }
    }

    #[test]
    fn cloud_run_lines() {
        let cases = [
            (
                "CRITICAL ERROR: Failed to create request-scoped database session req_1757648773791_1414_94357186 for user_id='service:netra-backend'. Error: 403: Not authenticated",
                "CRITICAL ERROR: Failed to create request-scoped database session <*> for user_id='<*>'. Error: <*>: Not authenticated",
            ),
            (
                "CRITICAL: ASGI scope error in WebSocket exclusion: 'URL' object has no attribute 'query_params'",
                "CRITICAL: ASGI scope error in WebSocket exclusion: 'URL' object has no attribute 'query_params'",
            ),
            (
                "User user12@netrasystems.ai (4f0c2a9e-1b2c-4d5e-8f90-123456789abc) signed in",
                "User <*> (<*>) signed in",
            ),
            (
                "Token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk rejected",
                "Token <*> rejected",
            ),
            (
                "GET /api/threads/4f0c2a9e-1b2c-4d5e-8f90-123456789abc/messages?limit=20 200",
                "GET /api/threads/<*>/messages 200",
            ),
            ("GET /ws 500", "GET /ws 500"),
            ("Listed 12 threads in 3.5ms", "Listed <*> threads in <*>"),
        ];
        for (line, want) in cases {
            assert_eq!(shape(line), want, "{line}");
        }
    }

    #[test]
    fn tracebacks_sign_on_first_and_exception_line() {
        let a = "Traceback (most recent call last):\n  File \"/app/x.py\", line 88, in f\n    rows = await s.execute(q)\nsqlalchemy.exc.OperationalError: connection to server at \"10.1.2.3\", port 5432 failed";
        let b = "Traceback (most recent call last):\n  File \"/app/x.py\", line 131, in g\n    y()\nsqlalchemy.exc.OperationalError: connection to server at \"10.9.9.9\", port 5432 failed";
        assert_eq!(shape(a), shape(b));
        assert!(
            shape(a).starts_with(
                "Traceback (most recent call last): | sqlalchemy.exc.OperationalError:"
            )
        );
    }
}
