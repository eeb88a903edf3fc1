//! Text to words: lindera's segmenter followed by the part-of-speech
//! filter, with the filter (and the base form of verbs and adjectives)
//! decided once per dictionary entry, so that the per-token cost is one
//! table lookup.

use std::borrow::Cow;

use anyhow::Result;
use lindera::dictionary::{Dictionary, Lattice};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::token::Token;
use rustc_hash::FxHashMap;

use super::pos::{FIELD_BASE_FORM, Keep, PosFilter};

/// Per-entry decision: skip the token.
const SKIP: u16 = 0;
/// Per-entry decision: keep the surface; `SURFACE < n < LOOKUP` keeps
/// `base_forms[n - SURFACE - 1]`.
const SURFACE: u16 = 1;
/// Per-entry decision: keep the base form, read from the dictionary at
/// run time (only when there are more distinct base forms than fit the
/// table; IPADIC has far fewer). A 2-byte table keeps the lookup in cache.
const LOOKUP: u16 = u16::MAX;

/// A segmenter and a part-of-speech filter; immutable and shared between
/// threads, each of which owns a [`WordScratch`].
pub struct WordTokenizer {
    segmenter: Segmenter,
    filter: PosFilter,
    /// The decision for every system dictionary entry, by word id.
    system: Vec<u16>,
    /// The decision for every unknown-word entry (unk.def), by word id.
    unknown: Vec<u16>,
    /// The distinct base forms of kept verbs and adjectives.
    base_forms: Vec<Box<str>>,
}

/// A kept word and the bytes of the text it was read from (a verb's base
/// form stands for its inflected surface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordSpan<'a> {
    /// Byte range of the surface in the segmented text.
    pub bytes: std::ops::Range<usize>,
    /// The word as counted: the surface, or the base form.
    pub word: &'a str,
}

/// Per-thread scratch space: the Viterbi lattice, reused between texts.
#[derive(Default)]
pub struct WordScratch {
    lattice: Lattice,
}

/// Builds the decision tables, interning base forms.
#[derive(Default)]
struct Tables {
    ids: FxHashMap<String, u16>,
    base_forms: Vec<Box<str>>,
}

impl Tables {
    fn decide<'d>(&mut self, filter: &PosFilter, fields: impl Iterator<Item = &'d str>) -> u16 {
        let fields: Vec<&str> = fields.take(FIELD_BASE_FORM + 1).collect();
        match filter.decide(&fields) {
            Keep::Skip => SKIP,
            Keep::Surface => SURFACE,
            Keep::BaseForm => match fields.get(FIELD_BASE_FORM) {
                Some(&b) if b != "*" && !b.is_empty() => {
                    if let Some(&id) = self.ids.get(b) {
                        return id;
                    }
                    let next = usize::from(SURFACE) + 1 + self.base_forms.len();
                    match u16::try_from(next) {
                        Ok(id) if id < LOOKUP => {
                            self.ids.insert(b.to_string(), id);
                            self.base_forms.push(b.into());
                            id
                        }
                        _ => LOOKUP,
                    }
                }
                _ => SURFACE,
            },
        }
    }
}

impl WordTokenizer {
    /// A tokenizer over `dictionary` keeping the words `filter` keeps.
    pub fn new(dictionary: Dictionary, filter: PosFilter) -> WordTokenizer {
        let mut t = Tables::default();
        let system = (0..dictionary.prefix_dictionary.word_count())
            .map(|id| t.decide(&filter, dictionary.word_details_iter(id)))
            .collect();
        let unknown = (0..dictionary.unknown_dictionary.costs.len())
            .map(|id| t.decide(&filter, dictionary.unknown_word_details_iter(id)))
            .collect();
        WordTokenizer {
            segmenter: Segmenter::new(Mode::Normal, dictionary, None),
            filter,
            system,
            unknown,
            base_forms: t.base_forms,
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
        self.for_each_word(text, scratch, |span| out.push(span.word))
    }

    /// The filtered words of `text` in order with where they stand in it,
    /// appended to `out` (for attributing character n-grams to words).
    pub fn word_spans<'a>(
        &'a self,
        text: &'a str,
        scratch: &mut WordScratch,
        out: &mut Vec<WordSpan<'a>>,
    ) -> Result<()> {
        self.for_each_word(text, scratch, |span| out.push(span))
    }

    /// Segments `text` and calls `f` on every word the filter keeps.
    fn for_each_word<'a>(
        &'a self,
        text: &'a str,
        scratch: &mut WordScratch,
        mut f: impl FnMut(WordSpan<'a>),
    ) -> Result<()> {
        for tok in self.tokens(text, scratch)? {
            let id = tok.word_id.id() as usize;
            let unknown = tok.word_id.is_unknown();
            let decision = if unknown {
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
            let word = match decision.copied().unwrap_or(SKIP) {
                SKIP => continue,
                SURFACE if unknown && !is_wordlike(surface) => continue,
                SURFACE => surface,
                LOOKUP => self.base_form(&tok).unwrap_or(surface),
                n => self
                    .base_forms
                    .get(usize::from(n - SURFACE - 1))
                    .map_or(surface, |b| b),
            };
            f(WordSpan {
                bytes: tok.byte_start..tok.byte_end,
                word,
            });
        }
        Ok(())
    }

    /// The distinct filtered words of `text`, sorted, replacing the
    /// contents of `out` (one document's contribution to document
    /// frequencies).
    pub fn distinct_words<'a>(
        &'a self,
        text: &'a str,
        scratch: &mut WordScratch,
        out: &mut Vec<&'a str>,
    ) -> Result<()> {
        out.clear();
        self.words(text, scratch, out)?;
        out.sort_unstable();
        out.dedup();
        Ok(())
    }

    /// The base form (原形) of a system dictionary token, when it has one.
    fn base_form<'a>(&'a self, tok: &Token<'a>) -> Option<&'a str> {
        if !tok.word_id.is_system() {
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
