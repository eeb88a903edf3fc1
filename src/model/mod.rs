//! A trained model: metadata, lexicon and weights, loaded from one
//! memory-mapped file, plus the per-document prediction API every driver
//! (batch CLI, stream) calls.

pub mod categories;
pub mod explain;
pub mod file;
pub mod import;
pub mod meta;
pub mod predict;
pub mod synth;

pub use file::{load, save};
pub use meta::{DecisionRule, FORMAT_VERSION, ModelMeta, ModelSource};
pub use predict::{Precision, PredictScratch, Prediction};

use std::sync::Arc;

use anyhow::Result;

use crate::buf::Buf;
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
    /// Float weights; `None` for int8-only models (files without the f32
    /// tensors, e.g. `scyth synth-model` or `scyth import --int8-only`),
    /// whose float encoder would be four times the int8 one (8.3 GB at
    /// SCYTH-5 scale). Such models classify with int8 only.
    pub f32_weights: Option<F32Weights>,
    /// int8 weights.
    pub int8_weights: Int8Weights,
    /// Head bias `[C]`, added in f32 by both precisions (so int8-only models
    /// carry it too; equal to `f32_weights.bias` when those exist).
    pub bias: Buf<f32>,
    /// xxh3 checksum of the whole payload (metadata and tensors).
    pub checksum: u64,
}

impl Model {
    /// True when the model has no float weights (see [`Model::f32_weights`]).
    pub fn is_int8_only(&self) -> bool {
        self.f32_weights.is_none()
    }

    /// The float weights, or an error saying that this model is int8-only.
    pub fn f32(&self) -> Result<&F32Weights> {
        self.f32_weights.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "this model is int8-only (its file stores no f32 weights): f32 precision is not available, use int8"
            )
        })
    }

    /// Fails when the model cannot run `precision` (f32 on an int8-only
    /// model); drivers call this once before predicting, so that
    /// [`Model::predict_text`] never meets missing weights.
    pub fn check_precision(&self, precision: Precision) -> Result<()> {
        match precision {
            Precision::Int8 => Ok(()),
            Precision::F32 => self.f32().map(|_| ()),
        }
    }

    /// The same model without its float weights (what an int8-only file
    /// stores): classification with int8 is unchanged.
    pub fn into_int8_only(mut self) -> Model {
        self.f32_weights = None;
        self
    }
}
