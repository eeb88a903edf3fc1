//! Trigram score and status (SPEC §2), small and separate from storage so the
//! batch counts and the stream's df feed the same formulas.

use serde::{Deserialize, Serialize};

/// α of SCYTH-5: how much rarity (normalized IDF) weighs.
pub const ALPHA: f64 = 12.0;
/// β of SCYTH-5: the f64 nearest one third; scores multiply by it.
pub const BETA: f64 = 1.0 / 3.0;
/// Value scale of trigrams added by pentagram expansion (AGR).
pub const GRAY_WEIGHT: f64 = 0.07;
/// The maximum trigram weight; AGR values are `score / 18`, clamped.
pub const MAX_WEIGHT: f64 = 18.0;

/// The scoring parameters stored in a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreParams {
    /// Weight of normalized IDF in the score.
    pub alpha: f64,
    /// Weight of the character-type weight in the score.
    pub beta: f64,
    /// White threshold τ: a trigram is white when `score >= tau`.
    pub tau: f64,
    /// Scale of values added by pentagram expansion.
    pub gray_weight: f64,
}

impl Default for ScoreParams {
    fn default() -> ScoreParams {
        ScoreParams {
            alpha: ALPHA,
            beta: BETA,
            tau: 0.0,
            gray_weight: GRAY_WEIGHT,
        }
    }
}

/// Normalized IDF with `df_min = 1`: `(ln df_max − ln df) / ln df_max`, and 0
/// when `df_max = 1`. It does not depend on the number of documents.
pub fn nidf(df: u32, df_max: u32) -> f64 {
    if df_max <= 1 {
        return 0.0;
    }
    let ln_max = (df_max as f64).ln();
    (ln_max - (df as f64).ln()) / ln_max
}

/// `score = α · nidf + β · weight`, in f64.
pub fn score(params: &ScoreParams, df: u32, df_max: u32, weight: u8) -> f64 {
    params.alpha * nidf(df, df_max) + params.beta * weight as f64
}

impl ScoreParams {
    /// White/gray status of a score: white when `score >= tau`.
    pub fn is_white(&self, score: f64) -> bool {
        score >= self.tau
    }
}

/// The largest document frequency at which a trigram of character weight
/// `weight` is still white when the largest df is `df_max` (0: never white).
///
/// `score` does not increase with df, so for a fixed weight the white
/// trigrams are exactly those with `df ≤ white_cutoff(..)`. There are only
/// 19 weights, so the whole status table is 19 numbers per df_max: when
/// df_max moves, only trigrams whose df lies between an old and a new cutoff
/// change status, which the stream finds by a range query. Computed by
/// binary search over [`score`] itself, so it agrees with
/// `is_white(score(..))` exactly.
pub fn white_cutoff(params: &ScoreParams, weight: u8, df_max: u32) -> u32 {
    let white = |df: u32| params.is_white(score(params, df, df_max, weight));
    if df_max == 0 || !white(1) {
        return 0;
    }
    // Invariant: white(lo), and hi is past the last white df.
    let (mut lo, mut hi) = (1u32, df_max as u64 + 1);
    while (lo as u64) + 1 < hi {
        let mid = ((lo as u64 + hi) / 2) as u32;
        if white(mid) {
            lo = mid;
        } else {
            hi = mid as u64;
        }
    }
    lo
}

/// Value of a trigram added by pentagram expansion:
/// `f32(clamp(score / 18, 0, 1) · gray_weight)`, computed in f64 and rounded
/// once.
pub fn agr_value(score: f64, gray_weight: f64) -> f32 {
    ((score / MAX_WEIGHT).clamp(0.0, 1.0) * gray_weight) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nidf_edges() {
        assert_eq!(nidf(1, 1), 0.0, "df_max = 1 gives 0");
        assert_eq!(nidf(1, 10), 1.0, "the rarest trigram is 1");
        assert_eq!(nidf(10, 10), 0.0, "the commonest trigram is 0");
        let mid = nidf(5, 25);
        assert!((mid - 0.5).abs() < 1e-12);
    }

    #[test]
    fn score_multiplies_by_beta() {
        let p = ScoreParams::default();
        // weight 18, df 1: 12 · 1 + 18 · (1/3) computed as a product.
        assert_eq!(score(&p, 1, 100, 18), 12.0 + 18.0 * (1.0 / 3.0));
        assert_eq!(score(&p, 100, 100, 3), 3.0 * BETA);
    }

    #[test]
    fn status_tie_is_white() {
        let p = ScoreParams {
            tau: 6.0,
            ..ScoreParams::default()
        };
        assert!(p.is_white(6.0));
        assert!(!p.is_white(6.0 - 1e-12));
    }

    #[test]
    fn white_cutoff_agrees_with_score_for_every_df_weight_and_tau() {
        for tau in [0.0, 3.0, 6.0, 8.0, 10.3, 12.1, 14.0, 18.0, 25.0] {
            let p = ScoreParams {
                tau,
                ..ScoreParams::default()
            };
            for df_max in [1u32, 2, 3, 7, 50, 333] {
                for weight in 0..=18u8 {
                    let cutoff = white_cutoff(&p, weight, df_max);
                    for df in 1..=df_max {
                        let white = p.is_white(score(&p, df, df_max, weight));
                        assert_eq!(
                            white,
                            df <= cutoff,
                            "tau {tau} df_max {df_max} weight {weight} df {df} cutoff {cutoff}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn white_cutoff_edges() {
        let p = ScoreParams::default();
        assert_eq!(white_cutoff(&p, 0, 0), 0, "no statistics");
        assert_eq!(white_cutoff(&p, 0, 10), 10, "tau 0: everything white");
        let strict = ScoreParams {
            tau: 100.0,
            ..ScoreParams::default()
        };
        assert_eq!(white_cutoff(&strict, 18, 10), 0, "unreachable tau");
    }

    #[test]
    fn agr_value_clamps() {
        assert_eq!(agr_value(36.0, GRAY_WEIGHT), 0.07f64 as f32);
        assert_eq!(agr_value(-1.0, GRAY_WEIGHT), 0.0);
        assert_eq!(agr_value(9.0, GRAY_WEIGHT), (0.5f64 * 0.07) as f32);
    }
}
