//! Feature vectors of documents (SPEC §2–3): the lexicon (vocabulary,
//! statuses, scores, pentagram dictionary) and the DIRECT + AGR extraction.

pub mod extract;
pub mod imported;
pub mod lexicon;
pub mod live;
pub mod source;
pub mod state;

pub use extract::{
    FeatureKind, FeaturePair, FeatureScratch, ProfileEntry, SparseRow, extract, extract_pairs,
    reextract_pairs,
};
pub use imported::{ImportedTrigram, ImportedVocabulary};
pub use lexicon::{Lexicon, LexiconParams, NO_COLUMN};
pub use live::LiveLexicon;
pub use source::FeatureSource;
pub use state::{InputState, changed_df_ranges, input_state};
