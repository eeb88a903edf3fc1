//! Why a document got a label: the network is linear, so the top label's
//! logit is exactly the bias plus one contribution per set input column,
//! `value · (W_enc[col] · W_link · W_head[:, label])` (f32 weights).

use serde::Serialize;

use crate::features::{FeatureKind, FeaturePair, extract_pairs};
use crate::model::Model;
use crate::model::predict::PredictScratch;
use crate::text::Pentagram;

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
        let pairs = extract_pairs(
            &*self.lexicon,
            self.meta.normalization,
            text,
            &mut scratch.features,
        );
        let w = &self.f32_weights;
        let s = w.shape;
        let head_row = &w.head[label as usize * s.e..(label as usize + 1) * s.e];
        // u = W_link · W_head[:, label] in latent space (H).
        let mut u = vec![0.0f32; s.h];
        for (k_e, link_row) in w.link.chunks_exact(s.h).enumerate() {
            let a = head_row[k_e];
            for (ui, &l) in u.iter_mut().zip(link_row) {
                *ui += a * l;
            }
        }
        let mut out: Vec<Explanation> = pairs
            .into_iter()
            .map(|pair| {
                let row = &w.enc[pair.column as usize * s.h..(pair.column as usize + 1) * s.h];
                let dot: f32 = row.iter().zip(&u).map(|(a, b)| a * b).sum();
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
            .collect();
        out.retain(|e| e.contribution > 0.0);
        out.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        out.truncate(k);
        out
    }
}
