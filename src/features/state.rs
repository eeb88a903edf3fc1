//! What a trigram contributes to the int8 input of a document, as a
//! function of its df: white or gray, and the int8 code of its AGR value.
//!
//! In a document with at least one DIRECT feature the row's largest value is
//! 1.0, so the quantization scale is fixed and a trigram's code depends on
//! its score alone. Scores do not increase with df, so for one character
//! weight and one df_max the state is a step function of df with at most a
//! few dozen steps. When df_max moves, the trigrams whose state changes are
//! exactly those whose df lies in the ranges where the old and the new step
//! functions differ ([`changed_df_ranges`]): the stream finds them with a
//! range query on an index ordered by (weight, df) instead of rescanning the
//! vocabulary.

use std::ops::RangeInclusive;

use crate::quant::{Arithmetic, unit_row_code};
use crate::stats::{ScoreParams, agr_value, score};

/// A trigram's contribution state: white or gray, and its AGR level (the
/// int8 code of its AGR value in a row whose largest value is 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputState {
    /// White (may be a feature) or gray (never is).
    pub white: bool,
    /// int8 code of the AGR value.
    pub level: i32,
}

/// The state of a trigram of character weight `weight` with document
/// frequency `df` when the largest df is `df_max` (SPEC §2–3, §5), for a
/// model trained by scyth (its statuses follow from df; scyth's int8 rules).
pub fn input_state(params: &ScoreParams, weight: u8, df: u32, df_max: u32) -> InputState {
    let s = score(params, df, df_max, weight);
    InputState {
        white: params.is_white(s),
        level: unit_row_code(Arithmetic::Scyth, agr_value(s, params.gray_weight)),
    }
}

/// The step function of [`input_state`] over `df ∈ 1..=df_max`, as
/// `(last df of the step, state)` in df order. Found by binary search over
/// [`input_state`] itself (the state never increases with df), so it agrees
/// with the direct evaluation exactly.
pub fn state_steps(params: &ScoreParams, weight: u8, df_max: u32) -> Vec<(u32, InputState)> {
    let mut steps = Vec::new();
    let mut lo = 1u32;
    while lo <= df_max {
        let state = input_state(params, weight, lo, df_max);
        // Invariant: state at `last` equals `state`; `hi` is past the step.
        let (mut last, mut hi) = (lo, df_max as u64 + 1);
        while (last as u64) + 1 < hi {
            let mid = ((last as u64 + hi) / 2) as u32;
            if input_state(params, weight, mid, df_max) == state {
                last = mid;
            } else {
                hi = mid as u64;
            }
        }
        steps.push((last, state));
        lo = last + 1;
    }
    steps
}

/// The df values in `1..=min(old, new)` at which a trigram of weight
/// `weight` has a different state under df_max `old` than under `new`, as
/// disjoint ascending ranges. (A trigram with a larger df changed its own
/// df in the same step and is checked directly.)
pub fn changed_df_ranges(
    params: &ScoreParams,
    weight: u8,
    old: u32,
    new: u32,
) -> Vec<RangeInclusive<u32>> {
    let limit = old.min(new);
    let (a, b) = (
        state_steps(params, weight, old),
        state_steps(params, weight, new),
    );
    let mut ranges: Vec<RangeInclusive<u32>> = Vec::new();
    let (mut i, mut j, mut lo) = (0, 0, 1u32);
    while lo <= limit && i < a.len() && j < b.len() {
        let hi = a[i].0.min(b[j].0).min(limit);
        if a[i].1 != b[j].1 {
            match ranges.last_mut() {
                Some(r) if *r.end() + 1 == lo => *r = *r.start()..=hi,
                _ => ranges.push(lo..=hi),
            }
        }
        if a[i].0 == hi {
            i += 1;
        }
        if b[j].0 == hi {
            j += 1;
        }
        lo = hi + 1;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(tau: f64) -> ScoreParams {
        ScoreParams {
            tau,
            ..ScoreParams::default()
        }
    }

    #[test]
    fn steps_agree_with_direct_evaluation() {
        for tau in [0.0, 3.5, 7.0, 12.5] {
            let p = params(tau);
            for weight in [0u8, 1, 2, 6, 12, 18] {
                for df_max in [1u32, 2, 3, 17, 200, 1000] {
                    let steps = state_steps(&p, weight, df_max);
                    let mut at = 0;
                    for df in 1..=df_max {
                        while steps[at].0 < df {
                            at += 1;
                        }
                        assert_eq!(
                            steps[at].1,
                            input_state(&p, weight, df, df_max),
                            "tau {tau} weight {weight} df {df} df_max {df_max}"
                        );
                    }
                    assert_eq!(steps.last().map(|s| s.0), Some(df_max));
                }
            }
        }
    }

    #[test]
    fn changed_ranges_are_exactly_the_differing_dfs() {
        for tau in [0.0, 6.0, 11.0] {
            let p = params(tau);
            for weight in [0u8, 2, 7, 18] {
                for (old, new) in [
                    (50u32, 51u32),
                    (51, 50),
                    (10, 400),
                    (400, 10),
                    (1, 2),
                    (7, 7),
                ] {
                    let ranges = changed_df_ranges(&p, weight, old, new);
                    for df in 1..=old.min(new) {
                        let differs =
                            input_state(&p, weight, df, old) != input_state(&p, weight, df, new);
                        let listed = ranges.iter().any(|r| r.contains(&df));
                        assert_eq!(differs, listed, "tau {tau} w {weight} df {df} {old}->{new}");
                    }
                    for pair in ranges.windows(2) {
                        assert!(pair[0].end() + 1 < *pair[1].start(), "ranges merged");
                    }
                }
            }
        }
    }
}
