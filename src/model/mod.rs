//! A trained model: metadata, lexicon and weights, loaded from one
//! memory-mapped file, plus the per-document prediction API every driver
//! (batch CLI, stream) calls.

pub mod categories;
pub mod explain;
pub mod file;
pub mod import;
pub mod meta;
pub mod predict;

pub use file::{load, save};
pub use meta::{DecisionRule, FORMAT_VERSION, ModelMeta, ModelSource};
pub use predict::{Precision, PredictScratch, Prediction};

use std::sync::Arc;

use crate::features::Lexicon;
use crate::network::F32Weights;
use crate::quant::Int8Weights;

/// Everything needed to turn text into classifications. Immutable once
/// built, shared by all threads.
#[derive(Debug)]
pub struct Model {
    /// Parameters, labels, decision rule and training record.
    pub meta: ModelMeta,
    /// Statistics, vocabulary and pentagram dictionary.
    pub lexicon: Arc<Lexicon>,
    /// Float weights.
    pub f32_weights: F32Weights,
    /// int8 weights.
    pub int8_weights: Int8Weights,
    /// xxh3 checksum of the whole payload (metadata and tensors).
    pub checksum: u64,
}
