//! User-defined categories (as in the SCYTH-5 demo): each category is the
//! mean embedding ("standard vector") of its example texts, and a text is
//! scored against it by cosine similarity rescaled as
//! `sigmoid((cos − c0) · k)`. Works with any model, imported or trained.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

use crate::network::sigmoid;

/// Centre of the rescaling: a cosine of `c0` scores 0.5.
pub const DEFAULT_C0: f32 = 0.96;
/// Steepness of the rescaling.
pub const DEFAULT_K: f32 = 60.0;

/// Format tag of a categories file.
const FORMAT: &str = "scyth-categories";

/// One user category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCategory {
    /// Its name (the label of its examples).
    pub name: String,
    /// Examples that had an embedding (featureless texts are skipped).
    pub n_examples: usize,
    /// Mean of the examples' L2-normalized embeddings.
    pub vector: Vec<f32>,
}

/// A set of user categories for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCategories {
    /// `scyth-categories`.
    pub format: String,
    /// Checksum of the model the embeddings came from (hex).
    pub model_checksum: String,
    /// Embedding size (E).
    pub dim: usize,
    /// `int8` or `f32`: the weights that made the embeddings.
    pub precision: String,
    /// The categories, in first-seen label order.
    pub categories: Vec<UserCategory>,
}

/// One category's score for a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoryScore {
    /// Index into [`UserCategories::categories`].
    pub category: usize,
    /// Cosine similarity of the text's embedding and the category vector.
    pub cosine: f32,
    /// `sigmoid((cosine − c0) · k)`.
    pub score: f32,
}

/// Accumulates example embeddings per label.
#[derive(Debug, Default)]
pub struct CategoryBuilder {
    names: Vec<String>,
    sums: Vec<Vec<f64>>,
    counts: Vec<usize>,
}

impl CategoryBuilder {
    /// Adds one example's L2-normalized embedding under each of `labels`;
    /// a zero embedding (no features) is not counted.
    pub fn add(&mut self, labels: &[String], embedding: &[f32]) {
        for label in labels {
            let i = match self.names.iter().position(|n| n == label) {
                Some(i) => i,
                None => {
                    self.names.push(label.clone());
                    self.sums.push(vec![0.0; embedding.len()]);
                    self.counts.push(0);
                    self.names.len() - 1
                }
            };
            if embedding.iter().all(|&x| x == 0.0) {
                continue;
            }
            for (s, &x) in self.sums[i].iter_mut().zip(embedding) {
                *s += x as f64;
            }
            self.counts[i] += 1;
        }
    }

    /// The categories (mean vectors); labels whose examples all lacked
    /// features get a zero vector and score `sigmoid(−c0·k)`.
    pub fn finish(self, model_checksum: u64, dim: usize, precision: &str) -> UserCategories {
        let categories = self
            .names
            .into_iter()
            .zip(self.sums.into_iter().zip(self.counts))
            .map(|(name, (sum, n))| UserCategory {
                name,
                n_examples: n,
                vector: sum
                    .iter()
                    .map(|&s| if n == 0 { 0.0 } else { (s / n as f64) as f32 })
                    .collect(),
            })
            .collect();
        UserCategories {
            format: FORMAT.to_string(),
            model_checksum: format!("{model_checksum:016x}"),
            dim,
            precision: precision.to_string(),
            categories,
        }
    }
}

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())) as f32
    }
}

impl UserCategories {
    /// Reads a categories file.
    pub fn load(path: &Path) -> Result<UserCategories> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading categories file {}", path.display()))?;
        let c: UserCategories = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a categories file", path.display()))?;
        ensure!(
            c.format == FORMAT,
            "{}: format {:?}, expected {FORMAT:?}",
            path.display(),
            c.format
        );
        ensure!(
            c.categories.iter().all(|k| k.vector.len() == c.dim),
            "{}: a category vector is not {}-dimensional",
            path.display(),
            c.dim
        );
        Ok(c)
    }

    /// Writes the categories as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// The categories decided at `threshold` (best first) and the `top_k`
    /// best, from [`UserCategories::rank`]: what batch and stream report.
    pub fn decide(
        &self,
        embedding: &[f32],
        c0: f32,
        k: f32,
        threshold: f32,
        top_k: usize,
    ) -> (Vec<CategoryScore>, Vec<CategoryScore>) {
        let ranked = self.rank(embedding, c0, k);
        let decided = ranked
            .iter()
            .filter(|s| s.score >= threshold)
            .copied()
            .collect();
        let top = ranked.into_iter().take(top_k).collect();
        (decided, top)
    }

    /// Every category's score for an (L2-normalized or not) embedding, best
    /// first (ties to the earlier category).
    pub fn rank(&self, embedding: &[f32], c0: f32, k: f32) -> Vec<CategoryScore> {
        let mut scores: Vec<CategoryScore> = self
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cos = cosine(embedding, &c.vector);
                CategoryScore {
                    category: i,
                    cosine: cos,
                    score: sigmoid((cos - c0) * k),
                }
            })
            .collect();
        scores.sort_by(|a, b| {
            b.cosine
                .total_cmp(&a.cosine)
                .then(a.category.cmp(&b.category))
        });
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_vectors_and_ranking() {
        let mut b = CategoryBuilder::default();
        let l = |s: &str| vec![s.to_string()];
        b.add(&l("a"), &[1.0, 0.0]);
        b.add(&l("a"), &[0.0, 1.0]);
        b.add(&["b".to_string(), "a".to_string()], &[0.0, 0.0]);
        b.add(&l("b"), &[-1.0, 0.0]);
        let c = b.finish(7, 2, "int8");
        assert_eq!(c.categories[0].vector, [0.5, 0.5]);
        assert_eq!(
            c.categories[0].n_examples, 2,
            "the zero embedding is not counted"
        );
        assert_eq!(c.categories[1].vector, [-1.0, 0.0]);
        let r = c.rank(&[1.0, 1.0], DEFAULT_C0, DEFAULT_K);
        assert_eq!(r[0].category, 0);
        assert!((r[0].cosine - 1.0).abs() < 1e-6);
        assert!((r[0].score - sigmoid(0.04 * 60.0)).abs() < 1e-5);
        assert!(r[1].score < 1e-20);
    }
}
