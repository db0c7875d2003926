//! Numbers as people read them in summaries and reports.

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` with its noun: (1, "row", "rows") -> "1 row", (1200, ...) -> "1,200 rows".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(151_200), "151,200");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn one_is_singular() {
        assert_eq!(
            super::plural(1, "problem row", "problem rows"),
            "1 problem row"
        );
        assert_eq!(super::plural(0, "row", "rows"), "0 rows");
        assert_eq!(super::plural(1_200, "row", "rows"), "1,200 rows");
    }
}
