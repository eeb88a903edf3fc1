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
    fn agr_value_clamps() {
        assert_eq!(agr_value(36.0, GRAY_WEIGHT), 0.07f64 as f32);
        assert_eq!(agr_value(-1.0, GRAY_WEIGHT), 0.0);
        assert_eq!(agr_value(9.0, GRAY_WEIGHT), (0.5f64 * 0.07) as f32);
    }
}
