//! Timely/differential dataflow graphs of scyth's streaming mode (SPEC §7),
//! built from the pure core in `src/` with no second implementation of any
//! SPEC rule. This is the only part of the library that imports timely and
//! differential dataflow.
//!
//! - [`stats`]: corpus statistics as plain functions from collections to
//!   collections (per-document trigrams, document frequencies, N, df_max);
//! - [`driver`]: runs those graphs over batches of document changes and reads
//!   the statistics back after every batch (for tests and the CLI).

pub mod aggregate;
pub mod bests;
pub mod classifier;
pub mod classify;
pub mod docrow;
pub mod driver;
pub mod first_seen;
pub mod holders;
pub mod prune;
pub mod run;
pub mod stats;
pub mod words;

pub use aggregate::aggregate_per_time;
pub use classifier::{Classification, Classifier, EpochReport, StatChange};
pub use classify::{StreamModel, UserRanking, classify, statistics};
pub use driver::{DocChange, StreamError, StreamStats, run_df_stream};
pub use run::{Batch, EpochOutput, Sink, Source, SourceStep, run_classification};
pub use stats::{df_max, distinct_trigrams, document_count, document_frequencies};
pub use words::word_statistics;
