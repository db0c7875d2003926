//! Significance functions for `sql/co_occurrence.sql`, registered in every session.
//!
//! Both return `-log10 P(X >= k)` (the upper-tail p-value on a log scale: 2 means p = 0.01,
//! 300 means p = 1e-300), so evidence far beyond f64's smallest p-value still orders:
//! - `hypergeom_significance(k, population, successes, draws)`: X ~ Hypergeometric; the
//!   chance that two signatures share at least `k` of `population` ids or windows when one
//!   occupies `successes` and the other `draws` of them at random (one-sided Fisher test).
//! - `binom_significance(k, n, p)`: X ~ Binomial(n, p); the chance that at least `k` of
//!   `n` events have a partner within the lag when each does with probability `p`.
//!
//! Terms are summed in log space from `k` outwards and stop once they no longer change the
//! sum, so the cost is a few standard deviations of terms, not `n`. A NULL argument gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// Registers the significance functions in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(udf(
        "hypergeom_significance",
        vec![DataType::Int64; 4],
        |args| {
            let [k, population, successes, draws] = args else {
                return None;
            };
            Some(hypergeom_significance(
                *k as i64,
                *population as i64,
                *successes as i64,
                *draws as i64,
            ))
        },
    ));
    ctx.register_udf(udf(
        "binom_significance",
        vec![DataType::Int64, DataType::Int64, DataType::Float64],
        |args| {
            let [k, n, p] = args else { return None };
            Some(binom_significance(*k as i64, *n as i64, *p))
        },
    ));
}

/// A Float64 function of numeric arguments (Int64 ones arrive as f64, exact below 2^53).
fn udf(
    name: &str,
    inputs: Vec<DataType>,
    f: impl Fn(&[f64]) -> Option<f64> + Send + Sync + 'static,
) -> ScalarUDF {
    let types = inputs.clone();
    create_udf(
        name,
        inputs,
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let len = arrays.first().map_or(0, |a| a.len());
            let mut row = vec![0.0; arrays.len()];
            let out: Float64Array = (0..len)
                .map(|i| {
                    for ((slot, array), ty) in row.iter_mut().zip(&arrays).zip(&types) {
                        *slot = value(array, ty, i)?;
                    }
                    f(&row)
                })
                .collect();
            let out: ArrayRef = Arc::new(out);
            Ok(if all_scalar {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            } else {
                ColumnarValue::Array(out)
            })
        }),
    )
}

fn value(array: &ArrayRef, ty: &DataType, i: usize) -> Option<f64> {
    if array.is_null(i) {
        return None;
    }
    match ty {
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(i) as f64),
        _ => Some(array.as_primitive::<Float64Type>().value(i)),
    }
}

/// `-log10 P(X >= k)` for X ~ Hypergeometric(population, successes, draws).
pub fn hypergeom_significance(k: i64, population: i64, successes: i64, draws: i64) -> f64 {
    let (big_k, n) = (successes.max(0), draws.max(0));
    // Approximate populations (approx_distinct) must still hold both sets and their overlap.
    let big_n = population.max(big_k).max(n).max(big_k + n - k.max(0));
    let lo = (n + big_k - big_n).max(0);
    let hi = n.min(big_k);
    let ln_denominator = ln_choose(big_n, n);
    let ln_pmf = |x: i64| ln_choose(big_k, x) + ln_choose(big_n - big_k, n - x) - ln_denominator;
    let mode = ((n + 1) as f64 * (big_k + 1) as f64 / (big_n + 2) as f64).floor() as i64;
    upper_tail(k, lo, hi, mode.clamp(lo, hi), ln_pmf)
}

/// `-log10 P(X >= k)` for X ~ Binomial(n, p).
pub fn binom_significance(k: i64, n: i64, p: f64) -> f64 {
    let n = n.max(0);
    let p = p.clamp(0.0, 1.0);
    if p <= 0.0 {
        return if k <= 0 { 0.0 } else { f64::MAX.log10() };
    }
    if p >= 1.0 {
        return 0.0;
    }
    let (ln_p, ln_q) = (p.ln(), (-p).ln_1p());
    let ln_pmf = |x: i64| ln_choose(n, x) + x as f64 * ln_p + (n - x) as f64 * ln_q;
    let mode = (((n + 1) as f64) * p).floor() as i64;
    upper_tail(k, 0, n, mode.clamp(0, n), ln_pmf)
}

/// `-log10` of the upper tail from `k` of a unimodal distribution on `lo..=hi`.
fn upper_tail(k: i64, lo: i64, hi: i64, mode: i64, ln_pmf: impl Fn(i64) -> f64) -> f64 {
    if k <= lo {
        return 0.0;
    }
    if k > hi {
        return f64::MAX.log10();
    }
    if k > mode {
        // Terms fall from k on: the tail is their sum.
        let ln_tail = ln_sum((k..=hi).map(&ln_pmf));
        (-ln_tail / std::f64::consts::LN_10).max(0.0)
    } else {
        // The tail holds the mode, so it is not small: 1 - the (falling) lower tail.
        let lower = ln_sum((lo..k).rev().map(&ln_pmf)).exp();
        -(1.0 - lower).max(f64::MIN_POSITIVE).log10().min(0.0)
    }
}

/// ln of a sum of falling terms given as logs, stopping when they no longer count.
fn ln_sum(terms: impl Iterator<Item = f64>) -> f64 {
    let mut first = None;
    let mut acc = 0.0f64;
    for t in terms {
        let top = *first.get_or_insert(t);
        let rel = (t - top).exp();
        acc += rel;
        if rel < acc * 1e-17 {
            break;
        }
    }
    first.map_or(f64::NEG_INFINITY, |top| top + acc.ln())
}

fn ln_choose(n: i64, k: i64) -> f64 {
    if k < 0 || k > n {
        return f64::NEG_INFINITY;
    }
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

fn ln_factorial(n: i64) -> f64 {
    libm::lgamma(n as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(sig: f64) -> f64 {
        10f64.powf(-sig)
    }

    #[test]
    fn hypergeometric_tail_matches_exact_fractions() {
        // Population 10, 4 marked, draw 3: P(X >= 2) = (C(4,2)C(6,1) + C(4,3)) / C(10,3) = 40/120.
        assert!((p(hypergeom_significance(2, 10, 4, 3)) - 40.0 / 120.0).abs() < 1e-12);
        // P(X >= 1) = 1 - C(6,3)/C(10,3) = 100/120 (the tail holds the mode).
        assert!((p(hypergeom_significance(1, 10, 4, 3)) - 100.0 / 120.0).abs() < 1e-12);
        assert_eq!(hypergeom_significance(0, 10, 4, 3), 0.0);
        // Two ids out of a million, always together: p = 1 / C(1e6, 2).
        let s = hypergeom_significance(2, 1_000_000, 2, 2);
        let expected = -(2.0f64 / (1e6 * (1e6 - 1.0))).log10();
        assert!((s - expected).abs() < 1e-6, "{s} vs {expected}");
    }

    #[test]
    fn binomial_tail_matches_exact_fractions() {
        // n = 4, p = 1/2: P(X >= 3) = 5/16, P(X >= 1) = 15/16.
        assert!((p(binom_significance(3, 4, 0.5)) - 5.0 / 16.0).abs() < 1e-12);
        assert!((p(binom_significance(1, 4, 0.5)) - 15.0 / 16.0).abs() < 1e-12);
        // Far tails stay finite and ordered where p itself would underflow.
        let strong = binom_significance(5_000, 5_000, 0.01);
        assert!((strong - 10_000.0).abs() < 1e-6, "{strong}");
        assert!(binom_significance(4_000, 5_000, 0.01) < strong);
    }

    #[test]
    fn chance_overlaps_are_not_significant() {
        // Expected overlap 100 * 100 / 1000 = 10: seeing 10 is p ~ 0.5.
        assert!(hypergeom_significance(10, 1000, 100, 100) < 0.5);
        assert!(binom_significance(10, 100, 0.1) < 0.5);
    }
}
