//! Text to words: lindera's segmenter followed by the part-of-speech
//! filter, with the filter decided once per dictionary entry so that the
//! per-token cost is one table lookup.

use std::borrow::Cow;

use anyhow::Result;
use lindera::dictionary::{Dictionary, Lattice};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::token::Token;

use super::pos::{FIELD_BASE_FORM, Keep, PosFilter};

/// A segmenter and a part-of-speech filter; immutable and shared between
/// threads, each of which owns a [`WordScratch`].
pub struct WordTokenizer {
    segmenter: Segmenter,
    filter: PosFilter,
    /// The decision for every system dictionary entry, by word id.
    system: Vec<Keep>,
    /// The decision for every unknown-word entry (unk.def), by word id.
    unknown: Vec<Keep>,
}

/// Per-thread scratch space: the Viterbi lattice, reused between texts.
#[derive(Default)]
pub struct WordScratch {
    lattice: Lattice,
}

impl WordTokenizer {
    /// A tokenizer over `dictionary` keeping the words `filter` keeps.
    pub fn new(dictionary: Dictionary, filter: PosFilter) -> WordTokenizer {
        let decide = |fields: &mut dyn Iterator<Item = &str>| {
            let fields: Vec<&str> = fields.take(2).collect();
            filter.decide(&fields)
        };
        let system = (0..dictionary.prefix_dictionary.word_count())
            .map(|id| decide(&mut dictionary.word_details_iter(id)))
            .collect();
        let unknown = (0..dictionary.unknown_dictionary.costs.len())
            .map(|id| decide(&mut dictionary.unknown_word_details_iter(id)))
            .collect();
        WordTokenizer {
            segmenter: Segmenter::new(Mode::Normal, dictionary, None),
            filter,
            system,
            unknown,
        }
    }

    /// The part-of-speech filter.
    pub fn filter(&self) -> PosFilter {
        self.filter
    }

    /// All tokens of `text`, unfiltered (lindera's output).
    pub fn tokens<'a>(
        &'a self,
        text: &'a str,
        scratch: &mut WordScratch,
    ) -> Result<Vec<Token<'a>>> {
        self.segmenter
            .segment_with_lattice(Cow::Borrowed(text), &mut scratch.lattice)
            .map_err(|e| anyhow::anyhow!("segmenting text: {e}"))
    }

    /// The filtered words of `text` in order, appended to `out`: surfaces of
    /// kept nouns, base forms of kept verbs and adjectives.
    pub fn words<'a>(
        &'a self,
        text: &'a str,
        scratch: &mut WordScratch,
        out: &mut Vec<&'a str>,
    ) -> Result<()> {
        for tok in self.tokens(text, scratch)? {
            let id = tok.word_id.id() as usize;
            let keep = if tok.word_id.is_unknown() {
                self.unknown.get(id)
            } else if tok.word_id.is_system() {
                self.system.get(id)
            } else {
                None
            };
            let surface = match tok.surface {
                Cow::Borrowed(s) => s,
                Cow::Owned(_) => text.get(tok.byte_start..tok.byte_end).unwrap_or(""),
            };
            match keep.copied().unwrap_or(Keep::Skip) {
                Keep::Skip => {}
                Keep::Surface if tok.word_id.is_unknown() && !is_wordlike(surface) => {}
                Keep::Surface => out.push(surface),
                Keep::BaseForm => out.push(self.base_form(&tok).unwrap_or(surface)),
            }
        }
        Ok(())
    }

    /// The distinct filtered words of `text`, sorted (one document's
    /// contribution to document frequencies).
    pub fn distinct_words(&self, text: &str, scratch: &mut WordScratch) -> Result<Vec<String>> {
        let mut words = Vec::new();
        self.words(text, scratch, &mut words)?;
        words.sort_unstable();
        words.dedup();
        Ok(words.into_iter().map(str::to_string).collect())
    }

    /// The base form (原形) of a system dictionary token, when it has one.
    fn base_form<'a>(&'a self, tok: &Token<'a>) -> Option<&'a str> {
        if !tok.word_id.is_system() || tok.word_id.is_unknown() {
            return None;
        }
        self.segmenter
            .dictionary
            .word_details_iter(tok.word_id.id() as usize)
            .nth(FIELD_BASE_FORM)
            .filter(|b| *b != "*" && !b.is_empty())
    }
}

/// Whether an unknown-word token looks like a word: IPADIC files runs of
/// symbols and punctuation (`)]`, `！　`) under 名詞 サ変接続, so a kept
/// unknown token must contain a letter (kana, kanji, Latin, …) and not be
/// a single ASCII character.
fn is_wordlike(s: &str) -> bool {
    let mut chars = s.chars();
    let single_ascii = matches!((chars.next(), chars.next()), (Some(c), None) if c.is_ascii());
    !single_ascii && s.chars().any(char::is_alphabetic)
}
