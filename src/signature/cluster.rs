//! Step 2 of signing, over the distinct shapes (thousands, not millions): shapes that differ
//! only in a few unmasked tokens become one template (Drain-like positional similarity),
//! then rules over the templates join what one statement prints in several forms: a column
//! with many values, optional parts and value lists, a long free-form tail, a rare code.
//!
//! Order-independent by construction: the shapes are sorted before clustering, so the same
//! set of shapes gives the same templates whatever order the lines came in and however
//! they were split across threads. Row counts per shape feed two rules (rare codes, free
//! tails), so templates may change as a statement's rows grow; ids of statements those
//! rules do not touch stay as they are.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::mask::VAR;

/// The thresholds and rules of clustering, in one value so that the generalization harness
/// (`accuracy::leave_one_out`) can vary them. [`Config::default`] is what the product runs;
/// nothing in it is per dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Share of positions that must agree for two shapes of equal length to be one template.
    pub similarity: f64,
    /// Most distinct values a merged column may take and still be split into one template
    /// per value: two values in a column are two statements (`HTTPS`/`SOCKS5`,
    /// `startup`/`shutdown`), many are a variable (user names, reasons).
    pub split_max_values: usize,
    /// Fixed words that must remain beside a merged column: `boot (command <*>)` and
    /// `wait (command <*>)` are two statements, not one with a variable first word.
    pub merge_min_fixed: usize,
    /// [`Rules::FREE_TAILS`]: a prefix of at least this many fixed words (a timestamp, a
    /// level and punctuation, as a log header inside the message has, are not enough),
    pub tail_min_fixed: usize,
    /// followed by at least this many different tails,
    pub tail_min_templates: usize,
    /// that are long (at least this many tokens on average)
    pub tail_min_tokens: f64,
    /// and rarely repeat (the median tail has at most this many rows),
    pub tail_max_rows: u64,
    /// and speak one vocabulary: at least this share of their words are words that a
    /// quarter of the tails use (SQL keywords and column names, frame names, JSON keys;
    /// different messages after a shared log header use different words).
    pub tail_min_shared: f64,
    /// [`Rules::RARE_CODES`]: a code seen in at most this many rows is a value.
    pub rare_rows: u64,
    pub rules: Rules,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            similarity: 0.5,
            split_max_values: 3,
            merge_min_fixed: 4,
            tail_min_fixed: 2,
            tail_min_templates: 8,
            tail_min_tokens: 5.0,
            tail_max_rows: 4,
            tail_min_shared: 0.5,
            rare_rows: 10,
            rules: Rules::ALL,
        }
    }
}

/// Switches for the rules after positional clustering, so that each one's effect can be
/// measured by taking it away (`accuracy::ablation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules(u32);

impl Rules {
    /// Split a cluster on a column with few values (`HTTPS`/`SOCKS5`).
    pub const SPLIT_FEW_VALUES: Rules = Rules(1);
    /// Merge templates that differ in one column with many values.
    pub const MANY_VALUED_COLUMNS: Rules = Rules(1 << 1);
    /// Merge templates equal up to runs of variables, `(<*>)` and values written in parts.
    pub const OPTIONAL_PARTS: Rules = Rules(1 << 2);
    /// A long tail that rarely repeats after a fixed prefix is one variable.
    pub const FREE_TAILS: Rules = Rules(1 << 3);
    /// A short code (`EUR`, `v2`, `KB`) seen in few rows does not split a statement.
    pub const RARE_CODES: Rules = Rules(1 << 4);
    pub const ALL: Rules = Rules((1 << 5) - 1);
    /// Every rule with its name, for reports.
    pub const NAMED: [(&'static str, Rules); 5] = [
        ("split_few_values", Rules::SPLIT_FEW_VALUES),
        ("many_valued_columns", Rules::MANY_VALUED_COLUMNS),
        ("optional_parts", Rules::OPTIONAL_PARTS),
        ("free_tails", Rules::FREE_TAILS),
        ("rare_codes", Rules::RARE_CODES),
    ];

    pub fn has(self, rule: Rules) -> bool {
        self.0 & rule.0 == rule.0
    }

    pub fn without(self, rule: Rules) -> Rules {
        Rules(self.0 & !rule.0)
    }
}

struct Cluster {
    template: Vec<String>,
}

impl Cluster {
    fn of(tokens: &[&str]) -> Self {
        Cluster {
            template: tokens.iter().map(|t| (*t).to_owned()).collect(),
        }
    }
}

/// Widens `template` to cover `tokens` (same length), position by position.
fn generalize(template: &mut [String], tokens: &[&str]) {
    for (t, new) in template.iter_mut().zip(tokens) {
        if t != new {
            *t = merge_token(t, new);
        }
    }
}

fn is_var(t: &str) -> bool {
    t.contains(VAR)
}

/// Tokens agree at a position: equal, or the template already generalizes it.
fn similarity(template: &[String], tokens: &[&str]) -> f64 {
    let (mut same, mut counted, mut same_all) = (0usize, 0usize, 0usize);
    for (a, b) in template.iter().zip(tokens) {
        let agree = usize::from(a.as_str() == *b || (is_var(a) && merge_token(a, b) == *a));
        same_all += agree;
        if is_word(a) || is_word(b) {
            counted += 1;
            same += agree;
        }
    }
    if counted == 0 {
        same_all as f64 / template.len().max(1) as f64
    } else {
        same as f64 / counted as f64
    }
}

/// The generalization of two tokens: equal tokens stay; otherwise the common prefix and
/// suffix up to a delimiter are kept around one `<*>` (`user=root`, `user=guest` ->
/// `user=<*>`).
fn merge_token(a: &str, b: &str) -> String {
    if a == b {
        return a.to_owned();
    }
    let delim = |c: u8| {
        matches!(
            c,
            b'=' | b':' | b'(' | b')' | b'[' | b']' | b',' | b'\'' | b'"'
        )
    };
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let mut prefix = ab.iter().zip(bb).take_while(|(x, y)| x == y).count();
    while prefix > 0 && !delim(ab[prefix - 1]) {
        prefix -= 1;
    }
    let max_suffix = ab.len().min(bb.len()) - prefix;
    let mut suffix = ab
        .iter()
        .rev()
        .zip(bb.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    while suffix > 0 && !delim(ab[ab.len() - suffix]) {
        suffix -= 1;
    }
    let mut out = String::with_capacity(prefix + VAR.len() + suffix);
    out.push_str(&a[..prefix]);
    out.push_str(VAR);
    out.push_str(&a[a.len() - suffix..]);
    out
}

fn is_request_line(toks: &[&str]) -> bool {
    matches!(toks, [method, path, status]
        if super::mask::HTTP_METHODS.contains(method)
            && path.starts_with('/')
            && status.len() == 3
            && status.bytes().all(|b| b.is_ascii_digit()))
}

/// Templates for `shapes` (any order, no duplicates) with the default [`Config`]:
/// `result[i]` is the template of `shapes[i]`, a shape that `rows[i]` rows have (a missing
/// count is one row).
pub fn cluster(shapes: &[&str], rows: &[u64]) -> Vec<String> {
    cluster_with(shapes, rows, &Config::default())
}

/// [`cluster`] with other thresholds or rules (the generalization harness).
pub fn cluster_with(shapes: &[&str], rows: &[u64], cfg: &Config) -> Vec<String> {
    let tokens: Vec<Vec<&str>> = shapes.iter().map(|s| s.split(' ').collect()).collect();
    let rows: Vec<u64> = (0..shapes.len())
        .map(|i| rows.get(i).copied().unwrap_or(1))
        .collect();
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by(|&a, &b| {
        tokens[a]
            .len()
            .cmp(&tokens[b].len())
            .then(shapes[a].cmp(shapes[b]))
    });

    let assigned = assign(shapes, &tokens, &order, cfg);
    // Members of each cluster, then split where a merged column takes only a few values.
    let mut members: BTreeMap<Slot, Vec<usize>> = BTreeMap::new();
    for &i in &order {
        members.entry(assigned[i]).or_default().push(i);
    }
    let splitter = Splitter {
        tokens: &tokens,
        rows: &rows,
        cfg,
    };
    let mut out = vec![String::new(); shapes.len()];
    for group in members.into_values() {
        for part in splitter.split(group) {
            let template = merge_all(&tokens, &part);
            for i in part {
                out[i] = template.clone();
            }
        }
    }
    if cfg.rules.has(Rules::MANY_VALUED_COLUMNS) {
        merge_many_valued_columns(&mut out, cfg);
    }
    if cfg.rules.has(Rules::FREE_TAILS) {
        collapse_free_tails(&mut out, &rows, cfg);
    }
    if cfg.rules.has(Rules::OPTIONAL_PARTS) {
        merge_optional_parts(&mut out);
    }
    out
}

/// Each shape's cluster, in `order`: bucketed by length and first token (as Drain's tree
/// does: a first word that differs names a different statement), then the most similar
/// cluster of its bucket, or a new one.
fn assign<'s>(
    shapes: &[&'s str],
    tokens: &[Vec<&'s str>],
    order: &[usize],
    cfg: &Config,
) -> Vec<Slot<'s>> {
    let mut buckets: BTreeMap<(usize, &str), Vec<Cluster>> = BTreeMap::new();
    let mut assigned = vec![
        Slot {
            tokens: 0,
            first: "",
            cluster: 0,
        };
        shapes.len()
    ];
    for &i in order {
        let toks = &tokens[i];
        let first = toks.first().copied().filter(|t| !is_var(t)).unwrap_or(VAR);
        if is_request_line(toks) {
            // `GET /ws 500`: endpoint and status already are the template; merging request
            // lines would fold every endpoint and status into `GET <*> <*>`.
            let clusters = buckets.entry((toks.len(), shapes[i])).or_default();
            if clusters.is_empty() {
                clusters.push(Cluster::of(toks));
            }
            assigned[i] = Slot {
                tokens: toks.len(),
                first: shapes[i],
                cluster: 0,
            };
            continue;
        }
        let key = (toks.len(), first);
        let clusters = buckets.entry(key).or_default();
        let best = clusters
            .iter()
            .enumerate()
            .map(|(k, c)| (k, similarity(&c.template, toks)))
            .filter(|(_, s)| *s >= cfg.similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let k = match best {
            Some((k, _)) => {
                generalize(&mut clusters[k].template, toks);
                k
            }
            None => {
                clusters.push(Cluster::of(toks));
                clusters.len() - 1
            }
        };
        assigned[i] = Slot {
            tokens: toks.len(),
            first,
            cluster: k,
        };
    }
    assigned
}

/// Templates that differ in one column only, where that column takes more than
/// [`Config::split_max_values`] values, are one template with a variable there. Clustering cannot
/// see this when the column is the first token (buckets are per first token) or when the
/// message is short (`removing chargen`, `removing echo`: half the words differ). A
/// template that qualifies in two columns joins the group of the lower one.
fn merge_many_valued_columns(templates: &mut [String], cfg: &Config) {
    let mut distinct: Vec<&str> = templates.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut groups: BTreeMap<(usize, String), Vec<&str>> = BTreeMap::new();
    for t in &distinct {
        let tokens: Vec<&str> = t.split(' ').collect();
        // The merged column is one of the fixed words; `merge_min_fixed` others must remain.
        let fixed = tokens.iter().filter(|t| !is_var(t)).count();
        if fixed <= cfg.merge_min_fixed {
            continue;
        }
        for c in 0..tokens.len() {
            if is_var(tokens[c]) {
                continue;
            }
            let mut key = tokens.clone();
            key[c] = VAR;
            groups.entry((c, key.join(" "))).or_default().push(t);
        }
    }
    let mut renamed: HashMap<String, String> = HashMap::new();
    for ((_, key), members) in groups {
        if members.len() > cfg.split_max_values {
            for m in members {
                renamed.entry(m.to_owned()).or_insert_with(|| key.clone());
            }
        }
    }
    rename(templates, &renamed);
}

/// Long free-form tails (a whole SQL statement, a list of stack frames after a fixed
/// prefix): each distinct text is a template of its own, so one statement becomes dozens of
/// rare signatures. Decided from the data, with no keyword list: a prefix of at least
/// [`Config::tail_min_fixed`] fixed words followed by at least
/// [`Config::tail_min_templates`] different tails that are long
/// ([`Config::tail_min_tokens`] on average) and rarely repeat (the median tail has at most
/// [`Config::tail_max_rows`] rows) but share a vocabulary ([`Config::tail_min_shared`]) is one
/// template: the longest prefix its tails share, then `<*>`. The shortest such prefix wins,
/// so the whole family becomes one template.
///
/// Failure mode: distinct statements that share a two-word opening, each long and each
/// seen a few times only (a burst of different rare errors after `Failed to`), become one
/// template until they have repeated enough; their rows keep their messages.
fn collapse_free_tails(templates: &mut [String], rows: &[u64], cfg: &Config) {
    let mut distinct: BTreeMap<&str, u64> = BTreeMap::new();
    for (t, &n) in templates.iter().zip(rows) {
        *distinct.entry(t.as_str()).or_default() += n;
    }
    let distinct: Vec<Distinct> = distinct
        .into_iter()
        .map(|(template, rows)| Distinct {
            template,
            rows,
            prefixes: tail_prefixes(template, cfg.tail_min_fixed),
        })
        .collect();
    // (templates, tail tokens) under every such prefix.
    let mut nodes: HashMap<&str, (usize, usize)> = HashMap::new();
    for d in &distinct {
        let n = d.template.split(' ').count();
        for p in &d.prefixes {
            let e = nodes.entry(&d.template[..p.end]).or_default();
            e.0 += 1;
            e.1 += n - p.tokens;
        }
    }
    nodes.retain(|_, (templates, tail)| {
        *templates >= cfg.tail_min_templates
            && *tail as f64 / *templates as f64 >= cfg.tail_min_tokens
    });
    if nodes.is_empty() {
        return;
    }
    // The tails under each remaining prefix, with their rows.
    let mut tails: HashMap<&str, Vec<(&str, u64)>> = HashMap::new();
    for d in &distinct {
        for p in &d.prefixes {
            let (prefix, tail) = (&d.template[..p.end], &d.template[p.end + 1..]);
            if nodes.contains_key(prefix) {
                tails.entry(prefix).or_default().push((tail, d.rows));
            }
        }
    }
    let rare: HashMap<&str, bool> = tails
        .into_iter()
        .map(|(prefix, tails)| {
            let mut rows: Vec<u64> = tails.iter().map(|t| t.1).collect();
            rows.sort_unstable();
            let free = rows[rows.len() / 2] <= cfg.tail_max_rows
                && shared_vocabulary(&tails) >= cfg.tail_min_shared;
            (prefix, free)
        })
        .collect();
    // Each template's shortest qualifying prefix; the family is every template under it.
    let mut families: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &distinct {
        let qualifying = d
            .prefixes
            .iter()
            .map(|p| &d.template[..p.end])
            .find(|prefix| rare.get(prefix).copied().unwrap_or(false));
        if let Some(prefix) = qualifying {
            families.entry(prefix).or_default().push(d.template);
        }
    }
    let mut renamed: HashMap<String, String> = HashMap::new();
    for members in families.into_values() {
        let first: Vec<&str> = members[0].split(' ').collect();
        // The tail `<*>` stands for at least one token of every member: a member that is
        // all prefix (`... start <*>` beside `... start <*> wait (command <*>)`) keeps its
        // last token in the tail, or the template would ask it for one more.
        let shortest = members.iter().map(|m| m.split(' ').count()).min();
        let common = members[1..]
            .iter()
            .fold(shortest.unwrap_or(1) - 1, |common, m| {
                first
                    .iter()
                    .zip(m.split(' '))
                    .take(common)
                    .take_while(|(a, b)| **a == *b)
                    .count()
            });
        let template = format!("{} {VAR}", first[..common].join(" "));
        for m in members {
            renamed.insert(m.to_owned(), template.clone());
        }
    }
    rename(templates, &renamed);
}

/// The share of the tails' words (counted each time they occur) that at least a quarter of
/// the tails (and two) use.
fn shared_vocabulary(tails: &[(&str, u64)]) -> f64 {
    fn words(tail: &str) -> impl Iterator<Item = &str> {
        tail.split(' ').filter(|w| is_word(w))
    }
    let mut used_by: HashMap<&str, usize> = HashMap::new();
    for (tail, _) in tails {
        let distinct: BTreeSet<&str> = words(tail).collect();
        for w in distinct {
            *used_by.entry(w).or_default() += 1;
        }
    }
    let common = (tails.len() / 4).max(2);
    let (mut shared, mut all) = (0usize, 0usize);
    for (tail, _) in tails {
        for w in words(tail) {
            all += 1;
            shared += usize::from(used_by[w] >= common);
        }
    }
    shared as f64 / all.max(1) as f64
}

/// A fixed token with at least two letters (not `-`, `|`, `<*>:<*>`).
fn is_word(token: &str) -> bool {
    !is_var(token) && token.bytes().filter(u8::is_ascii_alphabetic).count() >= 2
}

/// Where a shape landed: its bucket (token count and first token, or the whole shape for a
/// request line) and its cluster within the bucket.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot<'a> {
    tokens: usize,
    first: &'a str,
    cluster: usize,
}

/// Replaces every template that `renamed` maps to another.
fn rename(templates: &mut [String], renamed: &HashMap<String, String>) {
    for t in templates.iter_mut() {
        if let Some(new) = renamed.get(t.as_str()) {
            t.clone_from(new);
        }
    }
}

/// A distinct template in [`collapse_free_tails`], with its rows and its prefixes of enough
/// fixed words.
struct Distinct<'a> {
    template: &'a str,
    rows: u64,
    prefixes: Vec<Prefix>,
}

/// A prefix of a template: its number of tokens and the byte where it ends (a space).
struct Prefix {
    tokens: usize,
    end: usize,
}

/// Each prefix of `template` that holds at least `min_fixed` fixed words and leaves at least
/// one token after it.
fn tail_prefixes(template: &str, min_fixed: usize) -> Vec<Prefix> {
    let mut fixed = 0;
    let mut out = Vec::new();
    let mut start = 0;
    for (k, (at, _)) in template.match_indices(' ').enumerate() {
        fixed += usize::from(is_word(&template[start..at]));
        if fixed >= min_fixed {
            out.push(Prefix {
                tokens: k + 1,
                end: at,
            });
        }
        start = at + 1;
    }
    out
}

/// A statement that prints a list of values, or a value's restatement in parentheses only
/// sometimes (`5174 bytes (5.05 KB) received`, `delete blk_1 blk_2`), makes templates of
/// different lengths; a value written in parts (`<*>:<*>:<*>`) may be one `<*>` elsewhere.
/// Templates equal up to runs of `<*>`, `(<*>)` tokens and such values are one: they all
/// get the shortest of them (the smallest string among equally short ones) when it fits
/// every one of them ([`fits`]), else their common loose form, which does (a value written
/// `<*>:<*>:<*>` in one and `<*> <*>:<*>` in another is `<*>` there).
fn merge_optional_parts(templates: &mut [String]) {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in templates.iter().enumerate() {
        by_key.entry(loose_key(t)).or_default().push(i);
    }
    for (key, members) in by_key {
        let Some(shortest) = members
            .iter()
            .map(|&i| &templates[i])
            .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
            .cloned()
        else {
            continue;
        };
        let chosen = if members.iter().all(|&i| fits(&shortest, &templates[i])) {
            shortest
        } else {
            key
        };
        for i in members {
            templates[i].clone_from(&chosen);
        }
    }
}

/// Does `shape` (a message's shape, or a narrower template) belong to `template`: each
/// `<*>` read as any text, and a value the shape restates in parentheses (`(<*>)`) allowed
/// to be absent from the template, as `merge_optional_parts` leaves it out.
pub fn fits(template: &str, shape: &str) -> bool {
    let restated = |t: &str| t.starts_with('(') && t.ends_with(')') && t.contains(VAR);
    matches_template(template, shape)
        || (shape.split(' ').any(restated) && {
            let without: Vec<&str> = shape.split(' ').filter(|t| !restated(t)).collect();
            matches_template(template, &without.join(" "))
        })
}

/// A token made of variables and the punctuation between them only (`<*>:<*>`,
/// `<*>/<*>,<*>/<*>`): a list or a composite value.
fn is_value_list(token: &str) -> bool {
    token.matches(VAR).count() >= 2
        && token
            .split(VAR)
            .all(|p| p.bytes().all(|b| b",;|/:.-_".contains(&b)))
}

fn loose_key(template: &str) -> String {
    let mut key: Vec<&str> = Vec::new();
    for t in template.split(' ') {
        // `<*>` and `<*>:<*>:<*>` in one place: a value written in parts is one value.
        let t = if is_value_list(t) { VAR } else { t };
        let var_run = t == VAR && key.last() == Some(&VAR);
        if !var_run && t != "(<*>)" {
            key.push(t);
        }
    }
    key.join(" ")
}

/// Splits a cluster on a column whose tokens differ but take few distinct values.
struct Splitter<'a> {
    tokens: &'a [Vec<&'a str>],
    rows: &'a [u64],
    cfg: &'a Config,
}

impl Splitter<'_> {
    fn split(&self, group: Vec<usize>) -> Vec<Vec<usize>> {
        if group.len() < 2 || !self.cfg.rules.has(Rules::SPLIT_FEW_VALUES) {
            return vec![group];
        }
        let width = self.tokens[group[0]].len();
        let mut best: Option<(usize, usize)> = None; // (distinct, column)
        for col in 0..width {
            // The column's distinct values, with their rows.
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for &i in &group {
                *counts.entry(self.tokens[i][col]).or_default() += self.rows[i];
            }
            let distinct = counts.len();
            // A lone punctuation token (`****`, `--`) is structure, not a variable's value.
            let generalizes_another = counts.keys().any(|v| {
                is_var(v)
                    && counts.keys().any(|w| {
                        w != v
                            && (*v != VAR || w.bytes().any(|b| b.is_ascii_alphanumeric()))
                            && matches_template(v, w)
                    })
            });
            if !(2..=self.cfg.split_max_values).contains(&distinct)
                || generalizes_another
                || self.rare_codes(&group, col, &counts)
            {
                continue;
            }
            if best.is_none_or(|(d, _)| distinct < d) {
                best = Some((distinct, col));
            }
        }
        let Some((_, col)) = best else {
            return vec![group];
        };
        let mut parts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in group {
            parts.entry(self.tokens[i][col]).or_default().push(i);
        }
        parts.into_values().flat_map(|p| self.split(p)).collect()
    }

    /// Rare variants: a column whose values all look like codes (`EUR`/`PLN`, `v1`/`v2`,
    /// `KB`/`MB`), each seen in few rows, is a variable of one statement, as long as
    /// [`Config::merge_min_fixed`] fixed words remain beside it. Words that change the
    /// meaning (`Started`/`Paused`) are not codes and still split.
    ///
    /// Failure mode: two rare statements that differ only in an upper-case code
    /// (`link UP`/`link DOWN` seen a few times) are one template until one of them passes
    /// [`Config::rare_rows`] rows.
    fn rare_codes(&self, group: &[usize], col: usize, counts: &BTreeMap<&str, u64>) -> bool {
        if !self.cfg.rules.has(Rules::RARE_CODES)
            || !counts
                .iter()
                .all(|(v, &n)| n <= self.cfg.rare_rows && is_code(v))
        {
            return false;
        }
        let first = &self.tokens[group[0]];
        let fixed = (0..first.len())
            .filter(|&c| c != col && !is_var(first[c]))
            .filter(|&c| group.iter().all(|&i| self.tokens[i][c] == first[c]))
            .count();
        fixed >= self.cfg.merge_min_fixed
    }
}

/// A short code rather than a word: an upper-case abbreviation (`EUR`, `TLS`), a version
/// (`v2`, `V1.3`) or a unit (`KB`, `ms`); surrounding punctuation aside.
fn is_code(token: &str) -> bool {
    let t = token
        .trim_end_matches([',', '.', ';', ':', ')', ']'])
        .trim_start_matches(['(', '[']);
    let b = t.as_bytes();
    let abbreviation = (2..=5).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b.iter().filter(|c| c.is_ascii_uppercase()).count() >= 2;
    let version = matches!(b, [b'v' | b'V', d, rest @ ..]
        if d.is_ascii_digit() && rest.iter().all(|c| c.is_ascii_digit() || *c == b'.'));
    abbreviation || version || super::mask::is_unit(t)
}

/// Does `token` fit `pattern`, reading each `<*>` in the pattern as any text?
/// (`user=<*>` fits `user=root`; `(uid=<*>)` does not fit `LOGIN(uid=<*>)`.)
fn matches_template(pattern: &str, token: &str) -> bool {
    let mut parts = pattern.split(VAR);
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = token.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(k) => rest = &rest[k + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The template of a set of equal-length shapes: positions that differ become variables.
fn merge_all(tokens: &[Vec<&str>], part: &[usize]) -> String {
    let Some(&first) = part.first() else {
        return String::new();
    };
    let mut template = Cluster::of(&tokens[first]).template;
    for &i in &part[1..] {
        generalize(&mut template, &tokens[i]);
    }
    template.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_values_and_keeps_keys() {
        assert_eq!(merge_token("user=root", "user=guest"), "user=<*>");
        assert_eq!(merge_token("(root)", "(guest)"), "(<*>)");
        assert_eq!(merge_token("root", "guest"), "<*>");
        let users = ["admin", "test", "oracle", "pi"].map(|u| format!("Invalid user {u} from <*>"));
        let mut shapes: Vec<&str> = users.iter().map(String::as_str).collect();
        shapes.push("Accepted password for <*>");
        let t = cluster(&shapes, &[]);
        assert!(
            t[..4].iter().all(|x| x == "Invalid user <*> from <*>"),
            "{t:?}"
        );
        assert_eq!(t[4], "Accepted password for <*>");
        // Few values in a column are statements of their own, not a variable.
        let t = cluster(
            &[
                "<*> open through proxy <*> HTTPS",
                "<*> open through proxy <*> SOCKS5",
            ],
            &[500, 40],
        );
        assert_eq!(t[0], "<*> open through proxy <*> HTTPS");
        assert_eq!(t[1], "<*> open through proxy <*> SOCKS5");
    }

    #[test]
    fn optional_parts_lists_and_first_words() {
        // A restatement in parentheses that only some lines print.
        let t = cluster(
            &[
                "<*> close, <*> bytes sent, <*> bytes received",
                "<*> close, <*> bytes (<*>) sent, <*> bytes received",
            ],
            &[],
        );
        assert_eq!(t[0], t[1]);
        // A first word with many values is a variable; with a few, statements of their own.
        let tables =
            ["DSDT", "FACP", "APIC", "MCFG"].map(|n| format!("{n} (<*> DELL PE BKC <*>) @ <*>"));
        let t = cluster(&tables.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
        assert!(
            t.iter().all(|x| x == "<*> (<*> DELL PE BKC <*>) @ <*>"),
            "{t:?}"
        );
        let t = cluster(
            &tables[..3].iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
        );
        assert_eq!(t[0], tables[0]);
        // A lone punctuation token is structure, not one of a variable's values.
        let t = cluster(
            &[
                "Fan speeds ( <*> <*> **** <*> )",
                "Fan speeds ( <*> <*> <*> <*> )",
            ],
            &[],
        );
        assert_ne!(t[0], t[1]);
    }

    #[test]
    fn order_does_not_matter() {
        let a = ["x a b c", "x a b d", "x q r d", "y a b c"];
        let b = ["y a b c", "x q r d", "x a b d", "x a b c"];
        let ta = cluster(&a, &[]);
        let tb = cluster(&b, &[]);
        for (i, s) in a.iter().enumerate() {
            let j = b.iter().position(|x| x == s).expect("same set");
            assert_eq!(ta[i], tb[j]);
        }
    }
}
