//! Which tokens count as words: a part-of-speech filter over IPADIC's
//! detail fields (`品詞, 品詞細分類1, …, 原形, …`), decided once per
//! dictionary entry.

use std::fmt;
use std::str::FromStr;

/// Index of the major part of speech (品詞) in IPADIC's detail fields.
pub const FIELD_POS: usize = 0;
/// Index of the first part-of-speech subdivision (品詞細分類1).
pub const FIELD_POS_DETAIL: usize = 1;
/// Index of the base (dictionary) form (原形).
pub const FIELD_BASE_FORM: usize = 6;

/// A part-of-speech class that the filter can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PosClass {
    /// Common nouns: 名詞 一般, サ変接続, 形容動詞語幹, ナイ形容詞語幹.
    Noun,
    /// Proper nouns: 名詞 固有名詞 (people, places, organizations).
    Proper,
    /// Independent verbs (動詞 自立), counted by their base form.
    Verb,
    /// Independent adjectives (形容詞 自立), counted by their base form.
    Adj,
}

impl PosClass {
    const ALL: [PosClass; 4] = [
        PosClass::Noun,
        PosClass::Proper,
        PosClass::Verb,
        PosClass::Adj,
    ];

    fn name(self) -> &'static str {
        match self {
            PosClass::Noun => "noun",
            PosClass::Proper => "proper",
            PosClass::Verb => "verb",
            PosClass::Adj => "adj",
        }
    }
}

/// What to do with one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Not a word for the statistics (particles, symbols, numerals, …).
    Skip,
    /// Count the token as written.
    Surface,
    /// Count the token's base form (原形), e.g. 走っ → 走る.
    BaseForm,
}

/// The set of kept classes; everything else is skipped, in particular
/// numerals (名詞 数), non-independent and suffix nouns (非自立, 接尾),
/// pronouns, adverbial nouns (副詞可能), symbols and particles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosFilter {
    kept: [bool; 4],
}

impl Default for PosFilter {
    /// Nouns, proper nouns and verbs.
    fn default() -> Self {
        PosFilter::of(&[PosClass::Noun, PosClass::Proper, PosClass::Verb])
    }
}

impl PosFilter {
    /// A filter keeping exactly `classes`.
    pub fn of(classes: &[PosClass]) -> PosFilter {
        let mut kept = [false; 4];
        for c in classes {
            kept[*c as usize] = true;
        }
        PosFilter { kept }
    }

    /// Whether `class` is kept.
    pub fn keeps(&self, class: PosClass) -> bool {
        self.kept[class as usize]
    }

    /// The decision for a token with these IPADIC detail fields.
    pub fn decide(&self, fields: &[&str]) -> Keep {
        let pos = fields.get(FIELD_POS).copied().unwrap_or("");
        let detail = fields.get(FIELD_POS_DETAIL).copied().unwrap_or("");
        let class = match (pos, detail) {
            ("名詞", "一般" | "サ変接続" | "形容動詞語幹" | "ナイ形容詞語幹") => {
                PosClass::Noun
            }
            ("名詞", "固有名詞") => PosClass::Proper,
            ("動詞", "自立") => PosClass::Verb,
            ("形容詞", "自立") => PosClass::Adj,
            _ => return Keep::Skip,
        };
        if !self.keeps(class) {
            Keep::Skip
        } else if matches!(class, PosClass::Verb | PosClass::Adj) {
            Keep::BaseForm
        } else {
            Keep::Surface
        }
    }
}

impl FromStr for PosFilter {
    type Err = String;

    /// Parses a comma-separated list of `noun`, `proper`, `verb`, `adj`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut classes = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match PosClass::ALL.iter().find(|c| c.name() == part) {
                Some(c) => classes.push(*c),
                None => {
                    return Err(format!(
                        "unknown part of speech {part:?} (expected noun, proper, verb or adj)"
                    ));
                }
            }
        }
        if classes.is_empty() {
            return Err("no part of speech given".to_string());
        }
        Ok(PosFilter::of(&classes))
    }
}

impl fmt::Display for PosFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = PosClass::ALL
            .iter()
            .filter(|c| self.keeps(**c))
            .map(|c| c.name())
            .collect();
        f.write_str(&names.join(","))
    }
}
