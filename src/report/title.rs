//! Titles: a template as a person would name the problem in a tracker.
//!
//! A title keeps the template's words and shows its variables as `<*>` (paths keep their
//! shape, `/api/threads/{id}/messages`), so no word is dropped from the middle and nothing
//! reads as a fragment. It is the exception line of a traceback, without a leading
//! severity word, cut at the end of its first clause; a trailing run of variables and the
//! connector words before them goes (`... session <*> for user_id=<*>` ends at `session`);
//! past [`MAX`] characters it is cut at a word boundary, never after a connector or inside
//! an open bracket, and marked with `…`.
//!
//! [`distinguish`] makes titles unique within a list: first by a longer form of the
//! template, then by service, log name and, as a last resort, the signature id.

use std::collections::BTreeMap;

/// Longest title, in characters, before the ellipsis.
pub const MAX: usize = 80;

/// Words that cannot end a title: they point at something that was cut away.
const CONNECTORS: [&str; 22] = [
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the",
    "to", "via", "was", "with", "-", "=", "|",
];

fn is_connector(word: &str) -> bool {
    let bare = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '=');
    CONNECTORS.iter().any(|c| c.eq_ignore_ascii_case(bare))
}

fn is_variable(word: &str) -> bool {
    // `<*>`, `'<*>'.`, `user_id=<*>`, `(<*>)`: the word holds nothing but a masked value,
    // perhaps behind a key.
    word.contains("<*>") && {
        let value = word.split_once('=').map_or(word, |(_, v)| v);
        value
            .replace("<*>", "")
            .chars()
            .all(|c| !c.is_alphanumeric())
    }
}

fn is_severity_word(word: &str) -> bool {
    let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
    // A level as a prefix is upper case (`ERROR`), or marked (`Error:`, `[error]`); the
    // word in a sentence is not (`Error in request-scoped session`).
    let marked = bare == bare.to_ascii_uppercase() || word.ends_with(':') || word.starts_with('[');
    // Decorations such as `[🔴]` or `-` go too, a masked value does not.
    (bare.is_empty() && !word.contains("<*>"))
        || (marked
            && matches!(
                bare.to_ascii_uppercase().as_str(),
                "CRITICAL" | "ERROR" | "WARNING" | "WARN" | "INFO" | "FATAL" | "DEBUG" | "NOTICE"
            ))
}

/// The line of a multi-line template that names the problem: a traceback's exception
/// line, else "Traceback in FUNCTION" (its first frame's function).
fn headline(template: &str) -> std::borrow::Cow<'_, str> {
    if !template.starts_with("Traceback") {
        return template.split(" | ").next().unwrap_or(template).into();
    }
    // Lines are ` | `-joined by the signer, or a literal backslash-n where the app escaped them itself.
    let lines: Vec<&str> = template
        .split(" | ")
        .flat_map(|l| l.split("\\n"))
        .map(str::trim)
        .collect();
    let exception = lines.iter().skip(1).rev().find(|l| {
        let head = l.split(':').next().unwrap_or("");
        !head.contains(' ')
            && (head.ends_with("Error") || head.ends_with("Exception") || head.ends_with("Exit"))
    });
    if let Some(e) = exception {
        return (*e).into();
    }
    let function = lines.iter().find_map(|l| {
        l.strip_prefix("File ")?
            .rsplit_once(", in ")
            .map(|(_, f)| f)
    });
    match function {
        Some(f) => format!("Traceback in {f}").into(),
        None => lines.get(1).copied().unwrap_or(template).into(),
    }
}

/// The words of a template's headline, severity prefix gone, path variables as `{id}`.
fn words(template: &str) -> Vec<String> {
    let line = headline(template);
    let all: Vec<&str> = line.split_whitespace().collect();
    all[prefix_len(&all)..]
        .iter()
        .map(|w| {
            if w.starts_with('/') {
                w.replace("<*>", "{id}")
            } else {
                (*w).to_owned()
            }
        })
        .collect()
}

/// How many leading words are a log line's prefix rather than its message: severity
/// words and decorations (`CRITICAL:`, `[🔴]`), bracketed groups of values and levels
/// (`[<*> <*> <*>] [<*>] [ERROR]`, a timestamp and pid), and values before a level
/// (`<*> <*> ERROR`). A value that starts the message itself stays (`<*> in session`).
fn prefix_len(words: &[&str]) -> usize {
    let prefix_word = |w: &str| {
        let bare =
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '<' && c != '>' && c != '*');
        is_variable(bare) || bare.is_empty() || is_severity_word(w)
    };
    let mut k = 0;
    loop {
        if words.get(k).is_some_and(|w| is_severity_word(w)) {
            k += 1;
            continue;
        }
        // A bracketed group of values and levels, up to six words.
        if words.get(k).is_some_and(|w| w.starts_with('[')) {
            let end = (k..words.len().min(k + 6)).find(|&j| words[j].ends_with(']'));
            if let Some(end) = end.filter(|&e| words[k..=e].iter().all(|w| prefix_word(w))) {
                k = end + 1;
                continue;
            }
        }
        // Values directly before a level: `<*> <*> ERROR`.
        let values = words[k..].iter().take_while(|w| is_variable(w)).count();
        if values > 0
            && words.get(k + values).is_some_and(|w| {
                is_severity_word(w) && !w.trim_matches(|c: char| !c.is_alphanumeric()).is_empty()
            })
        {
            k += values;
            continue;
        }
        return k.min(words.len().saturating_sub(1));
    }
}

/// Drops trailing connectors (and the ellipsis-worthy words after a cut).
fn trim_connectors(words: &mut Vec<String>) {
    while words.len() > 1 && words.last().is_some_and(|w| is_connector(w)) {
        words.pop();
    }
}

/// Joins words up to `max` characters at a word boundary, `…` when cut.
fn fit(mut words: Vec<String>, max: usize) -> String {
    let full = words.join(" ");
    if full.chars().count() <= max {
        return full;
    }
    let mut len = 0;
    let mut keep = 0;
    for (k, w) in words.iter().enumerate() {
        let add = w.chars().count() + usize::from(k > 0);
        if len + add > max.saturating_sub(1) {
            break;
        }
        len += add;
        keep = k + 1;
    }
    if keep == 0 {
        // One word longer than the title: cut inside it.
        let cut: String = full.chars().take(max.saturating_sub(1)).collect();
        return format!("{cut}…");
    }
    words.truncate(keep);
    // Never stop inside an open bracket or on a connector.
    while words.len() > 1 && (opened(&words) || words.last().is_some_and(|w| is_connector(w))) {
        words.pop();
    }
    let s = words.join(" ");
    format!("{}…", s.trim_end_matches([':', ',', ';', ' ']))
}

/// Whether the words leave a bracket open.
fn opened(words: &[String]) -> bool {
    let s = words.join(" ");
    s.matches(['(', '[', '{']).count() > s.matches([')', ']', '}']).count()
}

fn clean_end(s: &str) -> String {
    s.trim_end_matches([':', '.', ',', ';', '-', ' '])
        .to_owned()
}

/// A short title from a template (see the module doc).
pub fn title(template: &str) -> String {
    let mut words = words(template);
    // The first clause, once it has a few words.
    if let Some(cut) = words
        .iter()
        .enumerate()
        .skip(2)
        .find(|(_, w)| {
            (w.ends_with(':') || w.ends_with('.') || w.ends_with('!')) && !w.ends_with("...")
        })
        .map(|(i, _)| i)
    {
        words.truncate(cut + 1);
    }
    // A trailing phrase of values (`<*> for user_id=<*>`), when enough words stay; one
    // trailing value stays (`exited with code <*>`).
    let keep = words
        .iter()
        .rposition(|w| !is_variable(w) && !is_connector(w))
        .map_or(0, |k| k + 1);
    let values = words[keep..].iter().filter(|w| is_variable(w)).count();
    if keep >= 3 && values >= 2 && !opened(&words[..keep]) {
        words.truncate(keep);
    }
    trim_connectors(&mut words);
    let out = clean_end(&fit(words, MAX));
    if out.is_empty() {
        template.chars().take(MAX).collect()
    } else {
        out
    }
}

/// The longer form used to tell titles apart: the whole headline, up to 120 characters.
fn long_title(template: &str) -> String {
    let mut words = words(template);
    trim_connectors(&mut words);
    clean_end(&fit(words, 120))
}

/// What tells one titled thing from another with the same title.
pub struct Titled<'a> {
    pub title: String,
    pub template: &'a str,
    pub service: Option<&'a str>,
    pub log_id: Option<&'a str>,
    pub signature_id: &'a str,
}

/// The titles made unique, in order: items sharing a title get the longer form of their
/// template, then their service, then their log name, then their signature id.
pub fn distinguish(mut items: Vec<Titled<'_>>) -> Vec<String> {
    type Step = fn(&Titled<'_>) -> Option<String>;
    let steps: [Step; 4] = [
        |t| Some(long_title(t.template)),
        |t| t.service.map(|s| format!("{} ({s})", t.title)),
        |t| t.log_id.map(|l| format!("{} ({l})", t.title)),
        |t| Some(format!("{} ({})", t.title, t.signature_id)),
    ];
    for step in steps {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (k, t) in items.iter().enumerate() {
            groups.entry(t.title.clone()).or_default().push(k);
        }
        for ks in groups.values().filter(|ks| ks.len() > 1) {
            let proposed: Vec<Option<String>> = ks.iter().map(|&k| step(&items[k])).collect();
            // Only a step that tells at least two of them apart is taken.
            let mut distinct: Vec<&String> = proposed.iter().flatten().collect();
            distinct.sort();
            distinct.dedup();
            if distinct.len() < 2 {
                continue;
            }
            for (&k, p) in ks.iter().zip(proposed) {
                if let Some(p) = p {
                    items[k].title = p;
                }
            }
        }
    }
    items.into_iter().map(|t| t.title).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_read_like_the_worklog() {
        assert_eq!(
            title(
                "Session access failed (middleware not installed?): SessionMiddleware must be installed to access request.session"
            ),
            "Session access failed (middleware not installed?)"
        );
        assert_eq!(
            title(
                "CRITICAL: ASGI scope error in WebSocket exclusion: 'URL' object has no attribute 'query_params'"
            ),
            "ASGI scope error in WebSocket exclusion"
        );
        assert_eq!(
            title(
                "CRITICAL ERROR: Failed to create request-scoped database session <*> for user_id='<*>'. Error: <*>: Not authenticated"
            ),
            "Failed to create request-scoped database session"
        );
        assert_eq!(title("GET /ws 500"), "GET /ws 500");
        assert_eq!(
            title("GET /api/threads/<*>/messages 500"),
            "GET /api/threads/{id}/messages 500"
        );
        assert_eq!(
            title(
                "Traceback (most recent call last): | File \"/app/x.py\", line <*>, in run | sqlalchemy.exc.OperationalError: timeout expired"
            ),
            "sqlalchemy.exc.OperationalError: timeout expired"
        );
        assert_eq!(title("<*> <*>"), "<*> <*>");
        // gunicorn's prefix: a timestamp, a pid and the level in brackets.
        assert_eq!(
            title("[<*> <*> <*>] [<*>] [ERROR] Worker (pid:<*>) exited with code <*>"),
            "Worker (pid:<*>) exited with code <*>"
        );
        assert_eq!(title("<*> <*> ERROR Cache miss"), "Cache miss");
        assert_eq!(
            title("Error in request-scoped session <*>: <*>: Not authenticated"),
            "Error in request-scoped session <*>"
        );
        // Lines the app escaped itself, cut before the exception line.
        assert_eq!(
            title(
                "Traceback (most recent call last):\\n File \"<*>\", line <*>, in wait_for\\n return fut.result()\\n File \"<*>\", line <*>, in _ensure_tab"
            ),
            "Traceback in wait_for"
        );
    }

    #[test]
    fn variables_stay_as_placeholders_so_no_fragment_is_left() {
        // These lost their masked words and read as fragments before.
        assert_eq!(
            title("Memory limit of <*> exceeded with <*> used"),
            "Memory limit of <*> exceeded with <*> used"
        );
        assert_eq!(
            title("Cache hit for key <*> (ttl <*>)"),
            "Cache hit for key <*> (ttl <*>)"
        );
        assert_eq!(
            title("FX rates served from cache (generation <*>, <*> pairs)"),
            "FX rates served from cache (generation <*>, <*> pairs)"
        );
        // Too short to lose its variable.
        assert_eq!(title("Connection to <*>"), "Connection to <*>");
        assert_eq!(
            title("Worker (pid:<*>) exited with code <*>"),
            "Worker (pid:<*>) exited with code <*>"
        );
        // A trailing phrase of values goes; the words before it stay.
        assert_eq!(
            title("<*> in request-scoped session <*> for <*>"),
            "<*> in request-scoped session"
        );
    }

    #[test]
    fn long_titles_stop_at_a_word_and_never_on_a_connector_or_open_bracket() {
        let t = title(
            "Upstream call to the pricing service took longer than the configured deadline while the checkout flow waited for a quote (attempt <*> of <*>)",
        );
        assert!(t.ends_with('…'), "{t}");
        assert!(t.chars().count() <= MAX + 1, "{t}");
        let last = t
            .trim_end_matches('…')
            .split_whitespace()
            .last()
            .unwrap_or("");
        assert!(!is_connector(last), "{t}");
        assert!(!t.contains('('), "{t}");
    }

    #[test]
    fn shared_titles_are_told_apart() {
        let a = "Validation failed for field <*> in POST /v1/entries: amount must be positive";
        let b = "Validation failed for field <*> in POST /v1/entries: currency is required";
        let c = "WebSocket connection rejected in staging";
        let items = vec![
            Titled {
                title: title(a),
                template: a,
                service: Some("ledger"),
                log_id: None,
                signature_id: "1",
            },
            Titled {
                title: title(b),
                template: b,
                service: Some("ledger"),
                log_id: None,
                signature_id: "2",
            },
            Titled {
                title: title(c),
                template: c,
                service: Some("backend"),
                log_id: Some("run.googleapis.com/stdout"),
                signature_id: "3",
            },
            Titled {
                title: title(c),
                template: c,
                service: Some("frontend"),
                log_id: Some("run.googleapis.com/stdout"),
                signature_id: "4",
            },
        ];
        assert_eq!(items[0].title, items[1].title);
        let titles = distinguish(items);
        assert_eq!(
            titles,
            [
                "Validation failed for field <*> in POST /v1/entries: amount must be positive",
                "Validation failed for field <*> in POST /v1/entries: currency is required",
                "WebSocket connection rejected in staging (backend)",
                "WebSocket connection rejected in staging (frontend)",
            ]
        );
    }
}
