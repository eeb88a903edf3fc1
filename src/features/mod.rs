//! Feature vectors of documents (SPEC §2–3): the lexicon (vocabulary,
//! statuses, scores, pentagram dictionary) and the DIRECT + AGR extraction.

pub mod extract;
pub mod imported;
pub mod lexicon;

pub use extract::{FeatureKind, FeaturePair, FeatureScratch, SparseRow, extract, extract_pairs};
pub use imported::{ImportedTrigram, ImportedVocabulary};
pub use lexicon::{Lexicon, LexiconParams, NO_COLUMN};
