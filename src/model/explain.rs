//! Why a document got a label: the network is linear, so the top label's
//! logit is exactly the bias plus one contribution per set input column,
//! `value · (W_enc[col] · W_link · W_head[:, label])` (f32 weights, or the
//! dequantized int8 weights of an int8-only model).

use serde::Serialize;

use crate::features::{FeatureKind, FeaturePair, extract_pairs};
use crate::model::Model;
use crate::model::predict::PredictScratch;
use crate::network::F32Weights;
use crate::quant::Int8Weights;
use crate::text::Pentagram;
use crate::words::Evidence;

/// One feature's share of a label's logit.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The feature pair.
    pub pair: FeaturePair,
    /// The trigram as text.
    pub trigram: String,
    /// The pentagram an AGR feature came from, as text.
    pub pentagram: Option<String>,
    /// Its contribution to the logit.
    pub contribution: f32,
}

impl Model {
    /// The `k` features contributing most to `label`'s logit for `text`,
    /// largest first (only positive contributions: the evidence for the
    /// label).
    pub fn explain(
        &self,
        text: &str,
        label: u32,
        k: usize,
        scratch: &mut PredictScratch,
    ) -> Vec<Explanation> {
        let mut out = self.contributions(text, label, scratch);
        out.retain(|e| e.contribution > 0.0);
        out.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        out.truncate(k);
        out
    }

    /// Every feature of `text` with its contribution to `label`'s logit,
    /// in feature order; they add up to the logit minus the bias (up to
    /// f32 rounding).
    pub fn contributions(
        &self,
        text: &str,
        label: u32,
        scratch: &mut PredictScratch,
    ) -> Vec<Explanation> {
        let pairs = extract_pairs(
            &*self.lexicon,
            self.meta.normalization,
            text,
            &mut scratch.features,
        );
        let s = self.meta.shape;
        let weights = Weights::of(self);
        // u = W_link · W_head[:, label] in latent space (H).
        let mut u = vec![0.0f32; s.h];
        for k_e in 0..s.e {
            let a = weights.head(label as usize, k_e);
            for (h, ui) in u.iter_mut().enumerate() {
                *ui += a * weights.link(k_e, h);
            }
        }
        pairs
            .into_iter()
            .map(|pair| {
                let col = pair.column as usize;
                let dot: f32 = u
                    .iter()
                    .enumerate()
                    .map(|(h, b)| weights.enc(col, h) * b)
                    .sum();
                let pentagram = match pair.kind {
                    FeatureKind::Agr { pentagram } => {
                        let keys = &self.lexicon.pent_keys
                            [2 * pentagram as usize..2 * pentagram as usize + 2];
                        Some(Pentagram::from_halves([keys[0], keys[1]]).to_text())
                    }
                    FeatureKind::Direct => None,
                };
                Explanation {
                    trigram: self.lexicon.trigram(pair.trigram).to_text(),
                    pentagram,
                    contribution: pair.value * dot,
                    pair,
                }
            })
            .collect()
    }
}

impl Explanation {
    /// The feature as word-attribution evidence: its trigram (DIRECT), or
    /// the distinct trigrams of its pentagram (AGR), whose occurrences in
    /// the normalized text carried it.
    pub fn evidence(&self) -> Evidence {
        let trigrams = match &self.pentagram {
            Some(p) => {
                let c: Vec<char> = p.chars().collect();
                let mut t: Vec<[char; 3]> = c.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
                t.sort_unstable();
                t.dedup();
                t
            }
            None => {
                let c: Vec<char> = self.trigram.chars().collect();
                c.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
            }
        };
        Evidence {
            trigrams,
            contribution: self.contribution,
        }
    }
}

/// The weights explanations read: the float ones, or the int8 codes
/// dequantized (`(code − zero point) · scale`) when the model has none.
enum Weights<'a> {
    F32(&'a F32Weights),
    Int8(&'a Int8Weights),
}

impl<'a> Weights<'a> {
    fn of(model: &'a Model) -> Weights<'a> {
        match &model.f32_weights {
            Some(f) => Weights::F32(f),
            None => Weights::Int8(&model.int8_weights),
        }
    }

    /// Encoder weight of column `d`, latent unit `h` (channel = `h`).
    fn enc(&self, d: usize, h: usize) -> f32 {
        match self {
            Weights::F32(w) => w.enc[d * w.shape.h + h],
            Weights::Int8(q) => dequantize(
                q.enc[d * q.shape.h + h],
                q.zero_points.as_ref().map_or(0, |z| z.enc[h]),
                q.enc_scale[h],
            ),
        }
    }

    /// Linker weight of output `e`, input `h` (channel = `e`).
    fn link(&self, e: usize, h: usize) -> f32 {
        match self {
            Weights::F32(w) => w.link[e * w.shape.h + h],
            Weights::Int8(q) => dequantize(
                q.link[e * q.shape.h + h],
                q.zero_points.as_ref().map_or(0, |z| z.link[e]),
                q.link_scale[e],
            ),
        }
    }

    /// Head weight of category `c`, input `e` (channel = `c`).
    fn head(&self, c: usize, e: usize) -> f32 {
        match self {
            Weights::F32(w) => w.head[c * w.shape.e + e],
            Weights::Int8(q) => dequantize(
                q.head[c * q.shape.e + e],
                q.zero_points.as_ref().map_or(0, |z| z.head[c]),
                q.head_scale[c],
            ),
        }
    }
}

/// An int8 weight as the float it stands for: `(code − zero point) · scale`.
fn dequantize(code: i8, zero_point: i32, scale: f32) -> f32 {
    (i32::from(code) - zero_point) as f32 * scale
}
