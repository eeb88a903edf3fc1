//! Word-level corpus statistics (issue 6): Japanese text segmented into
//! words by lindera with an IPADIC dictionary built at run time
//! ([`dict`]), filtered by part of speech ([`pos`], [`tokenize`]), counted
//! as document frequencies per time bucket and per category ([`bucket`],
//! [`counts`]), and scored: emerging words ([`mod@emerging`], Dunning's G²)
//! and category keywords ([`mod@keywords`], log-odds with an informative
//! Dirichlet prior).
//!
//! The counts are plain maps that can be added and subtracted, so the
//! batch command and a streaming dataflow can share them.

pub mod attribution;
pub mod bucket;
pub mod counts;
pub mod dict;
pub mod emerging;
pub mod keywords;
pub mod pos;
pub mod tokenize;

pub use attribution::{Attribution, Evidence, WordContribution, attribute};
pub use bucket::TimeBucket;
pub use counts::{WordCount, WordDf, WordStats};
pub use dict::{build_dictionary, default_dict_dir, load_dictionary};
pub use emerging::{Emerging, EmergingParams, EmergingWord, emerging, g2};
pub use keywords::{Keyword, KeywordParams, keywords, log_odds};
pub use pos::{Keep, PosClass, PosFilter};
pub use tokenize::{WordScratch, WordSpan, WordTokenizer};
