//! Step 2 of signing, over the distinct shapes (thousands, not millions): shapes that differ
//! only in a few unmasked tokens become one template (Drain-like positional similarity).
//!
//! Order-independent by construction: the shapes are sorted before clustering, so the same
//! set of shapes gives the same templates whatever order the lines came in and however
//! they were split across threads.

use std::collections::{BTreeMap, HashMap};

use super::mask::VAR;

/// Share of positions that must agree for two shapes of equal length to be one template.
pub const SIMILARITY: f64 = 0.6;

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
    let same = template
        .iter()
        .zip(tokens)
        .filter(|(a, b)| a.as_str() == **b || (is_var(a) && merge_token(a, b) == **a))
        .count();
    same as f64 / template.len().max(1) as f64
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

/// Templates for `shapes` (any order, no duplicates needed): `result[i]` is the template
/// of `shapes[i]`.
pub fn cluster(shapes: &[&str]) -> Vec<String> {
    let tokens: Vec<Vec<&str>> = shapes.iter().map(|s| s.split(' ').collect()).collect();
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by(|&a, &b| {
        tokens[a]
            .len()
            .cmp(&tokens[b].len())
            .then(shapes[a].cmp(shapes[b]))
    });

    // Bucket by length and first token (as Drain's tree does): a first word that differs
    // names a different statement.
    let mut buckets: BTreeMap<(usize, &str), Vec<Cluster>> = BTreeMap::new();
    let mut assigned = vec![(0usize, "", 0usize); shapes.len()];
    for &i in &order {
        let toks = &tokens[i];
        let first = toks.first().copied().filter(|t| !is_var(t)).unwrap_or(VAR);
        if is_request_line(toks) {
            // `GET /ws 500`: endpoint and status already are the template; merging request
            // lines would fold every endpoint and status into `GET <*> <*>`.
            let clusters = buckets.entry((toks.len(), shapes[i])).or_default();
            if clusters.is_empty() {
                clusters.push(Cluster::of(toks));
            }
            assigned[i] = (toks.len(), shapes[i], 0);
            continue;
        }
        let key = (toks.len(), first);
        let clusters = buckets.entry(key).or_default();
        let best = clusters
            .iter()
            .enumerate()
            .map(|(k, c)| (k, similarity(&c.template, toks)))
            .filter(|(_, s)| *s >= SIMILARITY)
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
        assigned[i] = (toks.len(), first, k);
    }
    // Members of each cluster, then split where a merged column takes only a few values.
    let mut members: BTreeMap<(usize, &str, usize), Vec<usize>> = BTreeMap::new();
    for &i in &order {
        members.entry(assigned[i]).or_default().push(i);
    }
    let mut out = vec![String::new(); shapes.len()];
    for group in members.into_values() {
        for part in split_by_columns(&tokens, group) {
            let template = merge_all(&tokens, &part);
            for i in part {
                out[i] = template.clone();
            }
        }
    }
    merge_many_valued_columns(&mut out);
    merge_optional_parts(&mut out);
    out
}

/// Fixed words that must remain beside a merged column: `boot (command <*>)` and
/// `wait (command <*>)` are two statements, not one with a variable first word.
const MERGE_MIN_FIXED: usize = 3;

/// Templates that differ in one column only, where that column takes more than
/// [`SPLIT_MAX_VALUES`] values, are one template with a variable there. Clustering cannot
/// see this when the column is the first token (buckets are per first token) or when the
/// message is short (`removing chargen`, `removing echo`: half the words differ). A
/// template that qualifies in two columns joins the group of the lower one.
fn merge_many_valued_columns(templates: &mut [String]) {
    let mut distinct: Vec<&str> = templates.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut groups: BTreeMap<(usize, String), Vec<&str>> = BTreeMap::new();
    for t in &distinct {
        let tokens: Vec<&str> = t.split(' ').collect();
        // The merged column is one of the fixed words; MERGE_MIN_FIXED others must remain.
        let fixed = tokens.iter().filter(|t| !is_var(t)).count();
        if fixed <= MERGE_MIN_FIXED {
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
        if members.len() > SPLIT_MAX_VALUES {
            for m in members {
                renamed.entry(m.to_owned()).or_insert_with(|| key.clone());
            }
        }
    }
    for t in templates.iter_mut() {
        if let Some(new) = renamed.get(t.as_str()) {
            t.clone_from(new);
        }
    }
}

/// A statement that prints a list of values, or a value's restatement in parentheses only
/// sometimes (`5174 bytes (5.05 KB) received`, `delete blk_1 blk_2`), makes templates of
/// different lengths. Templates equal up to runs of `<*>` and `(<*>)` tokens are one: they
/// all get the shortest of them (the smallest string among equally short ones).
fn merge_optional_parts(templates: &mut [String]) {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, t) in templates.iter().enumerate() {
        by_key.entry(loose_key(t)).or_default().push(i);
    }
    for members in by_key.into_values() {
        let Some(shortest) = members
            .iter()
            .map(|&i| &templates[i])
            .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
            .cloned()
        else {
            continue;
        };
        for i in members {
            templates[i].clone_from(&shortest);
        }
    }
}

fn loose_key(template: &str) -> String {
    let mut key: Vec<&str> = Vec::new();
    for t in template.split(' ') {
        let var_run = t == VAR && key.last() == Some(&VAR);
        if !var_run && t != "(<*>)" {
            key.push(t);
        }
    }
    key.join(" ")
}

/// Most distinct values a merged column may take and still be split into one template per
/// value: two values in a column are two statements (`HTTPS`/`SOCKS5`,
/// `startup`/`shutdown`), many are a variable (user names, reasons).
pub const SPLIT_MAX_VALUES: usize = 3;

/// Splits a cluster on a column whose tokens differ but take few distinct values.
fn split_by_columns(tokens: &[Vec<&str>], group: Vec<usize>) -> Vec<Vec<usize>> {
    if group.len() < 2 {
        return vec![group];
    }
    let width = tokens[group[0]].len();
    let mut best: Option<(usize, usize)> = None; // (distinct, column)
    #[allow(clippy::needless_range_loop)] // `col` indexes every member's token list
    for col in 0..width {
        let mut values: Vec<&str> = group.iter().map(|&i| tokens[i][col]).collect();
        values.sort_unstable();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for v in values {
            match counts.last_mut() {
                Some((last, n)) if *last == v => *n += 1,
                _ => counts.push((v, 1)),
            }
        }
        let distinct = counts.len();
        // A lone punctuation token (`****`, `--`) is structure, not a variable's value.
        let generalizes_another = counts.iter().any(|(v, _)| {
            is_var(v)
                && counts.iter().any(|(w, _)| {
                    w != v
                        && (*v != VAR || w.bytes().any(|b| b.is_ascii_alphanumeric()))
                        && matches_template(v, w)
                })
        });
        if !(2..=SPLIT_MAX_VALUES).contains(&distinct) || generalizes_another {
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
        parts.entry(tokens[i][col]).or_default().push(i);
    }
    parts
        .into_values()
        .flat_map(|p| split_by_columns(tokens, p))
        .collect()
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
        let t = cluster(&shapes);
        assert!(
            t[..4].iter().all(|x| x == "Invalid user <*> from <*>"),
            "{t:?}"
        );
        assert_eq!(t[4], "Accepted password for <*>");
        // Few values in a column are statements of their own, not a variable.
        let t = cluster(&[
            "<*> open through proxy <*> HTTPS",
            "<*> open through proxy <*> SOCKS5",
        ]);
        assert_eq!(t[0], "<*> open through proxy <*> HTTPS");
        assert_eq!(t[1], "<*> open through proxy <*> SOCKS5");
    }

    #[test]
    fn optional_parts_lists_and_first_words() {
        // A restatement in parentheses that only some lines print.
        let t = cluster(&[
            "<*> close, <*> bytes sent, <*> bytes received",
            "<*> close, <*> bytes (<*>) sent, <*> bytes received",
        ]);
        assert_eq!(t[0], t[1]);
        // A first word with many values is a variable; with a few, statements of their own.
        let tables =
            ["DSDT", "FACP", "APIC", "MCFG"].map(|n| format!("{n} (<*> DELL PE BKC <*>) @ <*>"));
        let t = cluster(&tables.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            t.iter().all(|x| x == "<*> (<*> DELL PE BKC <*>) @ <*>"),
            "{t:?}"
        );
        let t = cluster(&tables[..3].iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(t[0], tables[0]);
        // A lone punctuation token is structure, not one of a variable's values.
        let t = cluster(&[
            "Fan speeds ( <*> <*> **** <*> )",
            "Fan speeds ( <*> <*> <*> <*> )",
        ]);
        assert_ne!(t[0], t[1]);
    }

    #[test]
    fn order_does_not_matter() {
        let a = ["x a b c", "x a b d", "x q r d", "y a b c"];
        let b = ["y a b c", "x q r d", "x a b d", "x a b c"];
        let ta = cluster(&a);
        let tb = cluster(&b);
        for (i, s) in a.iter().enumerate() {
            let j = b.iter().position(|x| x == s).expect("same set");
            assert_eq!(ta[i], tb[j]);
        }
    }
}
