//! Named queries: the files of `sql/`, compiled into the binary. Each starts with a comment
//! giving its purpose, its parameters with defaults (`-- params: name = default`), and its
//! output columns. Parameters are written `${name}` in the SQL.

use std::collections::BTreeMap;

use super::EngineError;

/// (name, SQL text) of every named query.
pub const QUERIES: [(&str, &str); 10] = [
    (
        "signature_frequencies",
        include_str!("../../sql/signature_frequencies.sql"),
    ),
    (
        "severity_windows",
        include_str!("../../sql/severity_windows.sql"),
    ),
    ("bursts", include_str!("../../sql/bursts.sql")),
    (
        "new_and_rising",
        include_str!("../../sql/new_and_rising.sql"),
    ),
    ("co_occurrence", include_str!("../../sql/co_occurrence.sql")),
    ("totals", include_str!("../../sql/totals.sql")),
    ("issues", include_str!("../../sql/issues.sql")),
    ("impact", include_str!("../../sql/impact.sql")),
    ("recent", include_str!("../../sql/recent.sql")),
    (
        "signature_windows",
        include_str!("../../sql/signature_windows.sql"),
    ),
];

/// Defaults declared in a query's header: `-- params: window = 1 hour`.
pub fn defaults(sql: &str) -> BTreeMap<String, String> {
    sql.lines()
        .take_while(|l| l.starts_with("--"))
        .filter_map(|l| l.trim_start_matches('-').trim().strip_prefix("params:"))
        .flat_map(|p| p.split(';'))
        .filter_map(|p| {
            let p = p.split("  ").next().unwrap_or(p);
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The SQL of `name` with its parameters filled from `params`, then from its defaults.
pub fn render(name: &str, params: &BTreeMap<String, String>) -> Result<String, EngineError> {
    let Some((_, sql)) = QUERIES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = QUERIES.iter().map(|(n, _)| *n).collect();
        return Err(EngineError::Usage(format!(
            "no named query {name:?}; available: {}",
            names.join(", ")
        )));
    };
    substitute(sql, params)
}

/// Fills `${name}` placeholders from `params`, then from the header's defaults.
pub fn substitute(sql: &str, params: &BTreeMap<String, String>) -> Result<String, EngineError> {
    let mut values = defaults(sql);
    values.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| EngineError::Usage("unclosed ${ in the query".into()))?;
        let key = &after[..end];
        let value = values
            .get(key)
            .ok_or_else(|| EngineError::Usage(format!("the query needs --param {key}=VALUE")))?;
        if value.contains('\'') {
            return Err(EngineError::Usage(format!(
                "--param {key}: quotes are not allowed in values"
            )));
        }
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_query_declares_its_contract_and_renders() {
        for (name, sql) in QUERIES {
            assert!(
                sql.starts_with(&format!("-- {name}:")),
                "{name} starts with its purpose"
            );
            assert!(
                sql.contains("-- params:") && sql.contains("-- columns:"),
                "{name} header"
            );
            let rendered = render(name, &BTreeMap::new()).expect("defaults fill every parameter");
            assert!(!rendered.contains("${"), "{name}");
        }
        let mut p = BTreeMap::new();
        p.insert("window".to_owned(), "5 minutes".to_owned());
        assert!(
            render("severity_windows", &p)
                .expect("renders")
                .contains("INTERVAL '5 minutes'")
        );
        assert!(render("nope", &p).is_err());
    }
}
