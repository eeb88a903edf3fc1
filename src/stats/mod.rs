//! Corpus statistics and trigram scores (SPEC §2): document frequencies of
//! trigrams and pentagrams, normalized IDF, character weights and the
//! white/gray status that decides which trigrams count directly.

pub mod counts;
pub mod score;

pub use counts::{CorpusCounts, DocNgrams, PentagramCount};
pub use score::{ScoreParams, agr_value, nidf, score, white_cutoff};
