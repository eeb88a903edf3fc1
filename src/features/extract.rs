//! DIRECT + AGR feature extraction of one document (SPEC §3). Given the same
//! lexicon, the same text always gives the same (column, value) pairs: no
//! state is shared between documents except the reusable scratch buffers.

use serde::Serialize;

use crate::features::lexicon::NO_COLUMN;
use crate::features::source::FeatureSource;
use crate::text::Normalization;

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

/// Bits of the small presence filter: 64 Ki bits (8 KiB) stay in L1 and,
/// with the ~1,000 distinct trigrams of a long article, are ~1.5% set.
const FILTER_BITS: usize = 1 << 16;

/// Reusable per-thread buffers for extraction.
///
/// Occurrence counts live in a dense array indexed by trigram, guarded by a
/// bitset (a few hundred KB, cache-resident) so that scoring the long
/// pentagram lists of common trigrams costs a bit test per entry, not a hash
/// lookup. In front of that bitset sits an 8 KiB filter indexed by the low
/// bits of the trigram index: most list entries name trigrams absent from
/// the text, and the filter rejects almost all of them from L1 (it can only
/// say "maybe present", never hide a present trigram, so results are
/// unchanged). All are sized on first use and cleared per document through
/// the list of distinct trigrams (and the set columns).
#[derive(Debug, Default)]
pub struct FeatureScratch {
    chars: Vec<char>,
    keys: Vec<u64>,
    indices: Vec<u32>,
    counts: Vec<u32>,
    present: Vec<u64>,
    filter: Vec<u64>,
    distinct: Vec<u32>,
    /// Per distinct trigram: the extra count of its best pentagram
    /// (`u32::MAX` when it has none).
    best: Vec<u32>,
    /// Set input columns of the current text (bitset, grown on demand).
    set: Vec<u64>,
}

impl FeatureScratch {
    fn reset(&mut self, n_trigrams: usize) {
        if self.counts.len() != n_trigrams {
            self.counts = vec![0; n_trigrams];
            self.present = vec![0; n_trigrams.div_ceil(64)];
        } else {
            for &t in &self.distinct {
                self.counts[t as usize] = 0;
                self.present[t as usize / 64] = 0;
            }
        }
        if self.filter.len() != FILTER_BITS / 64 {
            self.filter = vec![0; FILTER_BITS / 64];
        } else {
            for &t in &self.distinct {
                self.filter[t as usize % FILTER_BITS / 64] = 0;
            }
        }
        self.distinct.clear();
    }

    /// Whether trigram `t` may occur in the current text (false: it does not).
    #[inline]
    fn maybe_present(&self, t: u32) -> bool {
        let i = t as usize % FILTER_BITS;
        self.filter[i / 64] & (1 << (i % 64)) != 0
    }

    /// The last extracted text's distinct trigrams (those the source knows)
    /// as `(trigram, occurrences, extra count of its best pentagram)`, the
    /// extra being `u32::MAX` for a trigram in no known pentagram. The
    /// stream keeps this per document to tell which newly known pentagrams
    /// can change its features.
    pub fn profile(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.distinct
            .iter()
            .zip(&self.best)
            .map(|(&t, &b)| (t, self.counts[t as usize], b))
    }

    /// Occurrences of trigram `t` in the current text.
    #[inline]
    fn count(&self, t: u32) -> u32 {
        if self.present[t as usize / 64] & (1 << (t % 64)) == 0 {
            0
        } else {
            self.counts[t as usize]
        }
    }
}

/// Features of `text` as a sparse row (columns ascending).
pub fn extract<S: FeatureSource + ?Sized>(
    lex: &S,
    norm: Normalization,
    text: &str,
    scratch: &mut FeatureScratch,
) -> SparseRow {
    SparseRow::from_pairs(&extract_pairs(lex, norm, text, scratch))
}

/// Features of `text` with provenance, in the order they were set: DIRECT
/// pairs first (trigram order of first occurrence), then AGR pairs.
pub fn extract_pairs<S: FeatureSource + ?Sized>(
    lex: &S,
    norm: Normalization,
    text: &str,
    scratch: &mut FeatureScratch,
) -> Vec<FeaturePair> {
    scratch.reset(lex.n_trigrams());
    norm.apply_into(text, &mut scratch.chars);
    scratch.keys.clear();
    scratch.keys.extend(
        scratch
            .chars
            .windows(3)
            .map(|w| crate::text::Trigram::new([w[0], w[1], w[2]]).0),
    );
    lex.lookup_many(&scratch.keys, &mut scratch.indices);
    for &i in &scratch.indices {
        if i == u32::MAX {
            continue;
        }
        let c = &mut scratch.counts[i as usize];
        if *c == 0 {
            scratch.distinct.push(i);
            scratch.present[i as usize / 64] |= 1 << (i % 64);
            let f = i as usize % FILTER_BITS;
            scratch.filter[f / 64] |= 1 << (f % 64);
        }
        *c += 1;
    }
    let mut pairs = Vec::new();
    // DIRECT: every distinct white trigram with a column → 1.0.
    for &t in &scratch.distinct {
        let col = lex.column(t);
        if col != NO_COLUMN && lex.is_white(t) {
            insert_column(&mut scratch.set, col);
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
    scratch.best.clear();
    for i in 0..scratch.distinct.len() {
        let t = scratch.distinct[i];
        let (list, appended) = lex.pentagram_lists(t);
        let found = best_pentagram(list, appended, scratch);
        scratch
            .best
            .push(found.map_or(u32::MAX, |(_, extra)| extra));
        let Some((best, _)) = found else {
            continue;
        };
        for u in lex.pentagram_trigrams(best) {
            let col = lex.column(u);
            if col != NO_COLUMN && lex.is_white(u) && insert_column(&mut scratch.set, col) {
                pairs.push(FeaturePair {
                    column: col,
                    trigram: u,
                    value: lex.agr_value(u),
                    kind: FeatureKind::Agr { pentagram: best },
                });
            }
        }
    }
    for p in &pairs {
        scratch.set[p.column as usize / 64] = 0;
    }
    pairs
}

/// Marks column `col` in the bitset `set` (grown on demand); false when it
/// already was set.
#[inline]
fn insert_column(set: &mut Vec<u64>, col: u32) -> bool {
    let word = col as usize / 64;
    if word >= set.len() {
        set.resize((word + 1).next_power_of_two(), 0);
    }
    let bit = 1u64 << (col % 64);
    let fresh = set[word] & bit == 0;
    set[word] |= bit;
    fresh
}

/// The pentagram of `list` then `appended` (triples `(pentagram, other,
/// other)` of a text trigram t) whose three trigram positions occur most
/// often in the text, repeats counted; ties go to the earliest. Returns it
/// with its count at the two positions other than t's.
fn best_pentagram(list: &[u32], appended: &[u32], scratch: &FeatureScratch) -> Option<(u32, u32)> {
    let (first, rest, tail) = match list.split_first_chunk::<3>() {
        Some((first, rest)) => (first, rest, appended),
        None => {
            let (first, rest) = appended.split_first_chunk::<3>()?;
            (first, rest, &[][..])
        }
    };
    let mut best = (first[0], scratch.count(first[1]) + scratch.count(first[2]));
    scan_pentagrams(rest, scratch, &mut best);
    scan_pentagrams(tail, scratch, &mut best);
    Some(best)
}

/// Moves `best` (pentagram, extra count) to the first entry of `list` with
/// a strictly larger total. Every entry contains the text trigram, so only
/// the other two positions decide; strictness keeps ties on the earliest.
#[inline]
fn scan_pentagrams(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
    for entry in list.chunks_exact(3) {
        // An entry whose two other members are absent has extra 0, which
        // never beats the current best (≥ 0): skip it on the filter alone.
        if !(scratch.maybe_present(entry[1]) | scratch.maybe_present(entry[2])) {
            continue;
        }
        let extra = scratch.count(entry[1]) + scratch.count(entry[2]);
        if extra > best.1 {
            *best = (entry[0], extra);
        }
    }
}
