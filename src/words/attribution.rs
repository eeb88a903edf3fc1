//! Which words carried a decision: the classifier's evidence is character
//! trigrams (SPEC §3), each with an exact share of the label's logit
//! ([`crate::model::explain`]); a reader wants words. This module hands
//! each trigram's share to the words it was read from.
//!
//! **The rule.** A piece of evidence (a DIRECT trigram, or an AGR feature
//! with the trigrams of its pentagram) is found at every position of the
//! text where one of its trigrams occurs. Its contribution is split
//! equally between those occurrences, and each occurrence's share equally
//! between its three characters. A character inside a kept word (after the
//! part-of-speech filter) gives its share to that word; a character
//! outside every kept word (particles, punctuation, skipped parts of
//! speech) leaves it unattributed. So the word contributions plus the
//! unattributed rest add up to the evidence's total — nothing is counted
//! twice — and a word's score is the part of the logit its characters
//! carried. Evidence none of whose trigrams occurs in the text (an AGR
//! pentagram can contain trigrams the text lacks, but never all three) is
//! unattributed.

use anyhow::Result;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::tokenize::{WordScratch, WordSpan, WordTokenizer};

/// One feature's share of a logit and the trigrams that stand for it in
/// the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The trigrams whose occurrences carry it (one for DIRECT, the
    /// distinct trigrams of the pentagram for AGR).
    pub trigrams: Vec<[char; 3]>,
    /// Its contribution to the logit.
    pub contribution: f32,
}

/// A word's share of a logit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordContribution {
    /// The word (surface, or base form for verbs and adjectives).
    pub word: String,
    /// Sum of the shares its characters received.
    pub contribution: f32,
    /// How many times the word occurs in the text.
    pub count: u32,
}

/// Evidence spread over words.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Every kept word of the text, contribution descending (ties by word).
    pub words: Vec<WordContribution>,
    /// The part of the evidence that fell on no kept word.
    pub unattributed: f32,
}

impl Attribution {
    /// The `k` words with the largest positive contributions.
    pub fn top_positive(&self, k: usize) -> Vec<WordContribution> {
        self.words
            .iter()
            .filter(|w| w.contribution > 0.0)
            .take(k)
            .cloned()
            .collect()
    }
}

/// No word owns this character.
const NO_WORD: u32 = u32::MAX;

/// Spreads `evidence` over the words of `text` by the rule in the module
/// documentation. `text` must be the text the trigrams were read from
/// (the model's normalized text), so that positions agree.
pub fn attribute(
    tokenizer: &WordTokenizer,
    text: &str,
    evidence: &[Evidence],
    scratch: &mut WordScratch,
) -> Result<Attribution> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans: Vec<WordSpan<'_>> = Vec::new();
    tokenizer.word_spans(text, scratch, &mut spans)?;

    // Character index of every byte offset that starts a character.
    let mut char_at_byte: FxHashMap<usize, usize> = FxHashMap::default();
    for (i, (b, _)) in text.char_indices().enumerate() {
        char_at_byte.insert(b, i);
    }
    char_at_byte.insert(text.len(), chars.len());

    let mut index_of: FxHashMap<&str, u32> = FxHashMap::default();
    let mut words: Vec<(&str, f64, u32)> = Vec::new();
    let mut owner = vec![NO_WORD; chars.len()];
    for span in &spans {
        let (Some(&start), Some(&end)) = (
            char_at_byte.get(&span.bytes.start),
            char_at_byte.get(&span.bytes.end),
        ) else {
            continue;
        };
        let w = *index_of.entry(span.word).or_insert_with(|| {
            words.push((span.word, 0.0, 0));
            (words.len() - 1) as u32
        });
        words[w as usize].2 += 1;
        owner[start..end].fill(w);
    }

    let mut positions: FxHashMap<[char; 3], Vec<u32>> = FxHashMap::default();
    for (i, w) in chars.windows(3).enumerate() {
        positions
            .entry([w[0], w[1], w[2]])
            .or_default()
            .push(i as u32);
    }

    let mut unattributed = 0.0f64;
    for ev in evidence {
        let total: usize = ev
            .trigrams
            .iter()
            .map(|t| positions.get(t).map_or(0, Vec::len))
            .sum();
        let c = f64::from(ev.contribution);
        if total == 0 {
            unattributed += c;
            continue;
        }
        let per_char = c / (3 * total) as f64;
        for at in ev
            .trigrams
            .iter()
            .filter_map(|t| positions.get(t))
            .flatten()
        {
            for &o in &owner[*at as usize..*at as usize + 3] {
                match words.get_mut(o as usize) {
                    Some(w) => w.1 += per_char,
                    None => unattributed += per_char,
                }
            }
        }
    }

    let mut out: Vec<WordContribution> = words
        .into_iter()
        .map(|(word, c, count)| WordContribution {
            word: word.to_string(),
            contribution: c as f32,
            count,
        })
        .collect();
    out.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then_with(|| a.word.cmp(&b.word))
    });
    Ok(Attribution {
        words: out,
        unattributed: unattributed as f32,
    })
}
