//! Text to n-grams: normalization, character weights and packed trigram /
//! pentagram windows (SPEC §1, and the character table of §2).

pub mod charweight;
pub mod ngram;
pub mod normalize;

pub use charweight::{char_weight, trigram_weight};
pub use ngram::{Pentagram, Trigram, pentagrams, trigrams};
pub use normalize::Normalization;
