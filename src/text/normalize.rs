//! Text normalization applied before n-gram extraction (SPEC §1.1).

use serde::{Deserialize, Serialize};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// How a model normalizes text; stored in the model and applied identically
/// at training and inference time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Unicode lowercase only (imported SCYTH-5 checkpoints).
    Lowercase,
    /// NFKC, then Unicode lowercase (models trained by scyth): full-width
    /// ASCII becomes ASCII and half-width katakana full-width.
    #[default]
    NfkcLowercase,
}

impl Normalization {
    /// Normalizes `text` into a vector of Unicode scalar values, the unit
    /// every n-gram window is counted in.
    pub fn apply(self, text: &str) -> Vec<char> {
        let mut out = Vec::with_capacity(text.len());
        self.apply_into(text, &mut out);
        out
    }

    /// Like [`Normalization::apply`], reusing `out` (cleared first) to avoid
    /// an allocation per document on the hot path.
    pub fn apply_into(self, text: &str, out: &mut Vec<char>) {
        out.clear();
        match self {
            Normalization::Lowercase => out.extend(text.to_lowercase().chars()),
            Normalization::NfkcLowercase => {
                if !nfkc_lowercase_by_segments(text, out) {
                    out.clear();
                    out.extend(nfkc_then_lowercase(text).chars());
                }
            }
        }
    }
}

/// NFKC, then Unicode lowercase, over the whole text: the definition.
fn nfkc_then_lowercase(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    nfkc.to_lowercase()
}

/// Whether normalization may cut the text before `c`: `c` is a starter
/// (canonical combining class 0) that NFKC keeps as it is and that never
/// composes with what precedes it (NFKC_Quick_Check = Yes). Then
/// NFKC(a + b) = NFKC(a) + NFKC(b) where `b` starts with `c` (UAX #15).
/// ASCII, CJK ideographs, hiragana and katakana — most of a Japanese
/// text — answer from a range check.
fn is_boundary(c: char) -> bool {
    match c {
        '\0'..='\x7f' | '\u{4e00}'..='\u{9fff}' | '\u{3041}'..='\u{3096}' => true,
        '\u{30a1}'..='\u{30fa}' | '\u{30fc}' => true,
        _ => {
            canonical_combining_class(c) == 0
                && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
        }
    }
}

/// NFKC + lowercase computed segment by segment: a character between two
/// boundaries ([`is_boundary`]) is already normalized and is only
/// lowercased; every other stretch, from a boundary to the next, goes
/// through the `unicode-normalization` crate. Lowercasing is per character,
/// which equals `str::to_lowercase` except for the final-sigma rule, so a
/// text whose NFKC form holds a capital sigma returns `false` (and `out`
/// must be recomputed by the definition). Equal to [`nfkc_then_lowercase`]
/// otherwise, which the tests check over every code point.
fn nfkc_lowercase_by_segments(text: &str, out: &mut Vec<char>) -> bool {
    let mut sigma = false;
    let mut push = |c: char, out: &mut Vec<char>| match c {
        '\0'..='\x7f' => out.push(c.to_ascii_lowercase()),
        // Uncased scripts: lowercasing is the identity.
        '\u{3041}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' => out.push(c),
        _ => {
            sigma |= c == '\u{3a3}';
            out.extend(c.to_lowercase());
        }
    };
    // The current segment: `text[start..end]`, starting at a boundary
    // (or at the start of the text); `single` when it is that one
    // boundary character alone.
    let mut flush = |segment: &str, single: bool, out: &mut Vec<char>| {
        if single {
            segment.chars().for_each(|c| push(c, out));
        } else {
            segment.chars().nfkc().for_each(|c| push(c, out));
        }
    };
    let (mut start, mut single) = (0, false);
    for (at, c) in text.char_indices() {
        if is_boundary(c) {
            if at > start {
                flush(&text[start..at], single, out);
            }
            (start, single) = (at, true);
        } else {
            single = false;
        }
    }
    if text.len() > start {
        flush(&text[start..], single, out);
    }
    !sigma
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_only_keeps_full_width() {
        let chars = Normalization::Lowercase.apply("ＡＢＣ Tokyo");
        assert_eq!(chars.iter().collect::<String>(), "ａｂｃ tokyo");
    }

    #[test]
    fn nfkc_folds_full_width_and_half_width_katakana() {
        let chars = Normalization::NfkcLowercase.apply("ＡＢＣ１２ ｶﾀｶﾅ");
        assert_eq!(chars.iter().collect::<String>(), "abc12 カタカナ");
    }

    /// The segmented NFKC + lowercase against the definition.
    fn check(text: &str) {
        let mut fast = Vec::new();
        let segmented = nfkc_lowercase_by_segments(text, &mut fast);
        let slow: Vec<char> = nfkc_then_lowercase(text).chars().collect();
        if segmented {
            assert_eq!(
                fast,
                slow,
                "{text:?} ({:x?})",
                text.chars().map(u32::from).collect::<Vec<_>>()
            );
        }
        assert_eq!(Normalization::NfkcLowercase.apply(text), slow, "{text:?}");
    }

    #[test]
    fn segmented_nfkc_equals_the_definition_for_every_code_point() {
        // Every scalar value alone, after a composing base, before a
        // combining mark, a voicing mark and a Hangul vowel (characters
        // that compose with what precedes them), and after a Hangul
        // leading consonant.
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            check(&format!("a{c}\u{301}"));
            check(&format!("\u{304b}{c}\u{3099}"));
            check(&format!("\u{1100}{c}\u{1161}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn segmented_nfkc_equals_the_definition_on_mixed_text(
            picks in proptest::collection::vec(0usize..32, 0..40)
        ) {
            // Characters that decompose, compose, reorder or lowercase
            // unusually, and plain Japanese.
            const ALPHABET: [&str; 32] = [
                "a", "E", "\u{301}", "\u{327}", "\u{3099}", "\u{309a}", "\u{309b}", "か", "ウ",
                "ｶ", "ﾞ", "ﾟ", "Ａ", "１", "㈱", "ﬁ", "\u{1100}", "\u{1161}", "\u{11a8}", "가",
                "Σ", "Ϲ", "Ο", "İ", "ẞ", "\u{f900}", "漢", "ー", " ", "\n", "\u{315}", "\u{5b0}",
            ];
            let text: String = picks.iter().map(|&i| ALPHABET[i]).collect();
            check(&text);
        }
    }

    #[test]
    fn final_sigma_follows_python_lower() {
        // Python: "ΟΔΟΣ".lower() == "οδος" (final sigma).
        let chars = Normalization::Lowercase.apply("ΟΔΟΣ");
        assert_eq!(chars.iter().collect::<String>(), "οδος");
    }
}
