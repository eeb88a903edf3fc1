//! Category keywords: the words that most distinguish each category from
//! the rest, by the log-odds ratio with an informative Dirichlet prior
//! (Monroe, Colaresi and Quinn 2008, "Fightin' Words", eq. 16–22).
//!
//! With `y_i` the count of word `w` in category `i`, `n_i` the sum of all
//! counts in `i`, `y_j`, `n_j` the same for all other categories, and a
//! prior `α_w = α₀ · y_w / n` proportional to the word's pooled count:
//!
//! ```text
//! δ = ln((y_i + α_w) / (n_i + α₀ − y_i − α_w)) − ln((y_j + α_w) / (n_j + α₀ − y_j − α_w))
//! σ² ≈ 1/(y_i + α_w) + 1/(y_j + α_w)
//! z = δ / σ
//! ```
//!
//! Counts are document frequencies (a word counts once per document), and
//! the default prior scale `α₀` is the pooled total `n`, so `α_w = y_w`:
//! rare words are shrunk towards the corpus rate and no longer dominate.
//! Words are ranked by z.

use std::collections::BTreeMap;

use serde::Serialize;

use super::counts::WordDf;

/// Parameters of [`keywords`].
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordParams {
    /// The prior scale α₀ (default: the pooled total count `n`).
    pub prior_scale: Option<f64>,
    /// Minimum df of a word in the category.
    pub min_count: u64,
    /// Number of words to report per category.
    pub top: usize,
}

impl Default for KeywordParams {
    fn default() -> Self {
        KeywordParams {
            prior_scale: None,
            min_count: 3,
            top: 20,
        }
    }
}

/// One keyword of a category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyword {
    /// The word.
    pub word: String,
    /// Its df in the category (`y_i`).
    pub count: u64,
    /// Its df in all other categories (`y_j`).
    pub rest_count: u64,
    /// The log-odds ratio δ.
    pub delta: f64,
    /// δ / σ.
    pub z: f64,
}

/// `(δ, σ²)` for counts `y_i` of `n_i` against `y_j` of `n_j` with prior
/// `α_w` of total `α₀` (see the module documentation).
pub fn log_odds(y_i: f64, n_i: f64, y_j: f64, n_j: f64, alpha_w: f64, alpha_0: f64) -> (f64, f64) {
    let odds = |y: f64, n: f64| ((y + alpha_w) / (n + alpha_0 - y - alpha_w)).ln();
    let delta = odds(y_i, n_i) - odds(y_j, n_j);
    let var = 1.0 / (y_i + alpha_w) + 1.0 / (y_j + alpha_w);
    (delta, var)
}

/// The top keywords of every category against all the others.
pub fn keywords(
    by_category: &BTreeMap<String, WordDf>,
    params: &KeywordParams,
) -> BTreeMap<String, Vec<Keyword>> {
    let mut pooled = WordDf::default();
    for d in by_category.values() {
        pooled.add(d);
    }
    let n = pooled.total() as f64;
    let alpha_0 = params.prior_scale.unwrap_or(n);
    let mut out = BTreeMap::new();
    for (cat, d) in by_category {
        let n_i = d.total() as f64;
        let n_j = n - n_i;
        let mut kws: Vec<Keyword> =
            d.df.iter()
                .filter(|&(_, &y)| y >= params.min_count)
                .map(|(w, &y)| {
                    let y_w = pooled.get(w);
                    let alpha_w = alpha_0 * y_w as f64 / n;
                    let y_j = y_w - y;
                    let (delta, var) = log_odds(y as f64, n_i, y_j as f64, n_j, alpha_w, alpha_0);
                    Keyword {
                        word: w.clone(),
                        count: y,
                        rest_count: y_j,
                        delta,
                        z: delta / var.sqrt(),
                    }
                })
                .collect();
        kws.sort_by(|x, y| y.z.total_cmp(&x.z).then_with(|| x.word.cmp(&y.word)));
        kws.truncate(params.top);
        out.insert(cat.clone(), kws);
    }
    out
}
