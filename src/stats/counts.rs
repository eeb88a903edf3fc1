//! Document-frequency counting over a corpus: the statistics every score is
//! derived from. Per-document n-gram sets are computed independently (in
//! parallel) and merged in input order, so pentagram first-appearance order
//! does not depend on threading.

use rustc_hash::FxHashMap;

use crate::text::{Pentagram, Trigram, pentagrams, trigrams};

/// The distinct n-grams of one normalized document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocNgrams {
    /// Distinct trigrams (sorted).
    pub trigrams: Vec<Trigram>,
    /// Distinct pentagrams in order of first position in the text.
    pub pentagrams: Vec<Pentagram>,
}

impl DocNgrams {
    /// The distinct trigrams and pentagrams of a normalized text.
    pub fn of(chars: &[char]) -> DocNgrams {
        let mut tris: Vec<Trigram> = trigrams(chars).collect();
        tris.sort_unstable();
        tris.dedup();
        let mut seen = rustc_hash::FxHashSet::default();
        let pents = pentagrams(chars).filter(|p| seen.insert(*p)).collect();
        DocNgrams {
            trigrams: tris,
            pentagrams: pents,
        }
    }
}

/// Pentagram statistics: document frequency and first-appearance rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PentagramCount {
    /// Documents containing the pentagram.
    pub df: u32,
    /// Order of first appearance over the corpus (0 = first).
    pub first_seen: u64,
}

/// N, df of every trigram, and df plus first appearance of every pentagram.
#[derive(Debug, Clone, Default)]
pub struct CorpusCounts {
    /// Number of documents seen.
    pub n_docs: u64,
    /// Document frequency of every trigram seen (df ≥ 1).
    pub trigram_df: FxHashMap<Trigram, u32>,
    /// Document frequency and first appearance of every pentagram seen.
    pub pentagrams: FxHashMap<Pentagram, PentagramCount>,
}

impl CorpusCounts {
    /// Adds one document's n-grams. Documents must be added in input order
    /// for pentagram order to follow the SPEC.
    pub fn add(&mut self, doc: &DocNgrams) {
        self.n_docs += 1;
        for t in &doc.trigrams {
            *self.trigram_df.entry(*t).or_insert(0) += 1;
        }
        for p in &doc.pentagrams {
            let next = self.pentagrams.len() as u64;
            self.pentagrams
                .entry(*p)
                .or_insert(PentagramCount {
                    df: 0,
                    first_seen: next,
                })
                .df += 1;
        }
    }

    /// The largest trigram df (0 for an empty corpus).
    pub fn df_max(&self) -> u32 {
        self.trigram_df.values().copied().max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn df_counts_documents_not_occurrences() {
        let mut counts = CorpusCounts::default();
        counts.add(&DocNgrams::of(&chars("ababab")));
        counts.add(&DocNgrams::of(&chars("abx")));
        assert_eq!(counts.n_docs, 2);
        assert_eq!(counts.trigram_df[&Trigram::new(['a', 'b', 'a'])], 1);
        assert_eq!(counts.trigram_df[&Trigram::new(['b', 'a', 'b'])], 1);
        assert_eq!(counts.trigram_df[&Trigram::new(['a', 'b', 'x'])], 1);
        assert_eq!(counts.df_max(), 1);
    }

    #[test]
    fn pentagram_first_appearance_order() {
        let mut counts = CorpusCounts::default();
        counts.add(&DocNgrams::of(&chars("abcdef")));
        counts.add(&DocNgrams::of(&chars("zabcde")));
        let rank = |s: &str| {
            let c = chars(s);
            counts.pentagrams[&Pentagram::new([c[0], c[1], c[2], c[3], c[4]])]
        };
        assert_eq!(
            rank("abcde"),
            PentagramCount {
                df: 2,
                first_seen: 0
            }
        );
        assert_eq!(rank("bcdef").first_seen, 1);
        assert_eq!(rank("zabcd").first_seen, 2);
    }

    #[test]
    fn short_and_empty_texts_have_no_ngrams() {
        assert_eq!(DocNgrams::of(&[]), DocNgrams::default());
        assert!(DocNgrams::of(&chars("ab")).trigrams.is_empty());
    }
}
