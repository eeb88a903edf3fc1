//! DIRECT + AGR feature extraction of one document (SPEC §3). Given the same
//! lexicon, the same text always gives the same (column, value) pairs: no
//! state is shared between documents except the reusable scratch buffers.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::features::lexicon::{Lexicon, NO_COLUMN};
use crate::stats::agr_value;
use crate::text::{Normalization, trigrams};

/// Why a column got its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A white trigram of the text itself (value 1.0).
    Direct,
    /// A white trigram added from the best pentagram of a text trigram.
    Agr {
        /// The pentagram it came from (index in the lexicon).
        pentagram: u32,
    },
}

/// One set input column with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeaturePair {
    /// Input column.
    pub column: u32,
    /// Trigram index in the lexicon.
    pub trigram: u32,
    /// Feature value.
    pub value: f32,
    /// DIRECT or AGR.
    pub kind: FeatureKind,
}

/// A sparse input row: columns ascending with their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRow {
    /// Set columns, ascending.
    pub cols: Vec<u32>,
    /// Values of `cols`.
    pub vals: Vec<f32>,
}

impl SparseRow {
    /// True when the document has no features.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// Builds a row from pairs in any order.
    pub fn from_pairs(pairs: &[FeaturePair]) -> SparseRow {
        let mut sorted: Vec<(u32, f32)> = pairs.iter().map(|p| (p.column, p.value)).collect();
        sorted.sort_unstable_by_key(|p| p.0);
        SparseRow {
            cols: sorted.iter().map(|p| p.0).collect(),
            vals: sorted.iter().map(|p| p.1).collect(),
        }
    }
}

/// Reusable per-thread buffers for extraction.
#[derive(Debug, Default)]
pub struct FeatureScratch {
    chars: Vec<char>,
    positions: Vec<Option<u32>>,
    counts: FxHashMap<u32, u32>,
    distinct: Vec<u32>,
    set: FxHashSet<u32>,
}

/// Features of `text` as a sparse row (columns ascending).
pub fn extract(lex: &Lexicon, norm: Normalization, text: &str, scratch: &mut FeatureScratch) -> SparseRow {
    SparseRow::from_pairs(&extract_pairs(lex, norm, text, scratch))
}

/// Features of `text` with provenance, in the order they were set: DIRECT
/// pairs first (trigram order of first occurrence), then AGR pairs.
pub fn extract_pairs(
    lex: &Lexicon,
    norm: Normalization,
    text: &str,
    scratch: &mut FeatureScratch,
) -> Vec<FeaturePair> {
    norm.apply_into(text, &mut scratch.chars);
    scratch.positions.clear();
    scratch.counts.clear();
    scratch.distinct.clear();
    scratch.set.clear();
    for t in trigrams(&scratch.chars) {
        let idx = lex.lookup(t);
        scratch.positions.push(idx);
        if let Some(i) = idx {
            let c = scratch.counts.entry(i).or_insert(0);
            if *c == 0 {
                scratch.distinct.push(i);
            }
            *c += 1;
        }
    }
    let column = &*lex.column;
    let white = &*lex.white;
    let mut pairs = Vec::new();
    // DIRECT: every distinct white trigram with a column → 1.0.
    for &t in &scratch.distinct {
        let col = column[t as usize];
        if white[t as usize] == 1 && col != NO_COLUMN {
            scratch.set.insert(col);
            pairs.push(FeaturePair {
                column: col,
                trigram: t,
                value: 1.0,
                kind: FeatureKind::Direct,
            });
        }
    }
    // AGR: for each distinct trigram in first-occurrence order, its best
    // pentagram's white trigrams not yet set.
    let pent_trigrams = &*lex.pent_trigrams;
    let gray_weight = lex.params.score.gray_weight;
    for &t in &scratch.distinct {
        let list = lex.pentagrams_of(t);
        let Some(best) = best_pentagram(list, pent_trigrams, &scratch.counts) else {
            continue;
        };
        for &u in &pent_trigrams[3 * best as usize..3 * best as usize + 3] {
            let col = column[u as usize];
            if white[u as usize] == 1 && col != NO_COLUMN && scratch.set.insert(col) {
                pairs.push(FeaturePair {
                    column: col,
                    trigram: u,
                    value: agr_value(lex.score[u as usize], gray_weight),
                    kind: FeatureKind::Agr { pentagram: best },
                });
            }
        }
    }
    pairs
}

/// The pentagram of `list` whose three trigram positions occur most often in
/// the text (repeats counted); ties go to the earliest in the list.
fn best_pentagram(list: &[u32], pent_trigrams: &[u32], counts: &FxHashMap<u32, u32>) -> Option<u32> {
    let mut best: Option<(u32, u32)> = None;
    for &p in list {
        let tris = &pent_trigrams[3 * p as usize..3 * p as usize + 3];
        let total: u32 = tris.iter().map(|t| counts.get(t).copied().unwrap_or(0)).sum();
        if best.is_none_or(|(_, b)| total > b) {
            best = Some((p, total));
        }
    }
    best.map(|b| b.0)
}
