//! Text normalization applied before n-gram extraction (SPEC §1.1).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

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
                let nfkc: String = text.nfkc().collect();
                out.extend(nfkc.to_lowercase().chars());
            }
        }
    }
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

    #[test]
    fn final_sigma_follows_python_lower() {
        // Python: "ΟΔΟΣ".lower() == "οδος" (final sigma).
        let chars = Normalization::Lowercase.apply("ΟΔΟΣ");
        assert_eq!(chars.iter().collect::<String>(), "οδος");
    }
}
