//! Step 1 of signing, per line and stateless: mask the variable parts of a message, giving
//! its *shape* (`Failed to create session <*> for user_id=<*>`).
//!
//! A line is split into whitespace-separated tokens; each token into words at punctuation
//! (`: = , ( ) [ ] { } ; ' "` ...), and each word is classed by what it looks like, never by
//! where it came from: numbers and anything starting with a digit (IPs, sizes, durations,
//! versions), long hex runs (hashes, UUID parts, request ids), words with several digits
//! (`blk_-633`, `req_1757648773791_1414_94357186`), paths and URLs, e-mail addresses, host
//! names, JWT-like tokens, quoted values and booleans that follow `=` or `:`. Words with a
//! single trailing digit (`eth1`, `ssh2`, `SOCKS5`) are kept: they name things.
//!
//! Multi-line messages are signed by their meaningful lines: the first line, and for Python
//! tracebacks the exception line, so frame addresses and line numbers never split a group.
//! Whitespace runs collapse to one space.

/// The variable marker.
pub const VAR: &str = "<*>";

/// Writes the shape of `msg` into `out` (cleared first).
pub fn shape_into(msg: &str, out: &mut String) {
    out.clear();
    if memchr::memchr(b'\n', msg.as_bytes()).is_some() {
        let (head, tail) = meaningful_lines(msg);
        shape_line(head, out);
        if let Some(t) = tail {
            out.push_str(" | ");
            shape_line(t, out);
        }
    } else {
        shape_line(msg, out);
    }
}

/// The shape of `msg`.
pub fn shape(msg: &str) -> String {
    let mut s = String::with_capacity(msg.len());
    shape_into(msg, &mut s);
    s
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

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b':' | b'='
            | b','
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b';'
            | b'"'
            | b'\''
            | b'|'
            | b'<'
            | b'>'
            | b'&'
    )
}

pub(crate) const HTTP_METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Masks one line, appending to `out`.
fn shape_line(line: &str, out: &mut String) {
    let start_len = out.len();
    // `METHOD /path STATUS` (request lines): the endpoint and status name the problem, so
    // the path is masked segment by segment and the status is kept.
    let mut request = 0u8;
    let mut tokens = line.split_ascii_whitespace().peekable();
    while let Some(token) = tokens.next() {
        if out.len() > start_len {
            out.push(' ');
        }
        // Weekday and month names inside a date (`Sun Jul 24 02:38:22 2005`) are values.
        if is_calendar_word(token)
            && tokens
                .peek()
                .is_some_and(|n| is_calendar_word(n) || n.starts_with(|c: char| c.is_ascii_digit()))
        {
            out.push_str(VAR);
            request = 0;
            continue;
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
        request = u8::from(HTTP_METHODS.contains(&token));
        shape_token(token, out);
    }
}

fn is_calendar_word(t: &str) -> bool {
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
    // Whole-token classes first: they contain delimiters that must not split them.
    if let Some(scheme_end) = token.find("://") {
        let scheme = &token[..scheme_end];
        if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+')
        {
            out.push_str(scheme);
            out.push_str("://");
            out.push_str(VAR);
            return;
        }
    }
    if is_email(token) || is_jwt(token) || is_clock(token) || is_mac(token) {
        out.push_str(VAR);
        return;
    }
    let b = token.as_bytes();
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
        if prev_delim == b'=' && (classify(word) != Word::Keep || word.contains(['.', '/', '@'])) {
            out.push_str(VAR);
        } else {
            match classify(word) {
                Word::Keep => out.push_str(word),
                Word::Var => out.push_str(VAR),
                Word::Suffix(k) => {
                    out.push_str(&word[..k]);
                    out.push_str(VAR);
                }
            }
        }
        prev_delim = 0;
        i = end;
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
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let longest_run = b
        .split(|c| !c.is_ascii_digit())
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    let hex_run = b
        .split(|c| !c.is_ascii_hexdigit())
        .filter(|r| r.iter().any(u8::is_ascii_digit))
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if longest_run >= 5 || hex_run >= 8 {
        return Word::Var; // ids, counters, hashes: `blk_-633...`, `req_1757..._94357186`
    }
    if first == b'/' && (b[1..].contains(&b'/') || digits > 0) {
        return Word::Var; // a path with levels or numbers in it
    }
    if digits > 0 {
        let trailing = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
        let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
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
    if is_host_name(w) {
        Word::Var
    } else {
        Word::Keep
    }
}

/// `00:11:e3:ba:c3:0f` (a MAC address): one variable.
fn is_mac(t: &str) -> bool {
    let t = t.trim_end_matches([',', '.', ';', ')']);
    let parts: Vec<&str> = t.split(':').collect();
    parts.len() >= 5
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// `02:38:22`, `00:39`: a clock time is one variable, not `<*>:<*>`.
fn is_clock(t: &str) -> bool {
    let t = t.trim_end_matches([',', '.', ';', ')']);
    let parts: Vec<&str> = t.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().enumerate().all(|(i, p)| {
            let p = if i == parts.len() - 1 {
                p.split('.').next().unwrap_or("")
            } else {
                p
            };
            (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit())
        })
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

fn is_uuid(t: &str) -> bool {
    let t = t.trim_matches(|c: char| !c.is_ascii_hexdigit());
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::shape;

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
