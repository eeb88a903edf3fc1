//! Model metadata stored as JSON in the model file's header.

use serde::{Deserialize, Serialize};

use crate::features::LexiconParams;
use crate::network::Shape;
use crate::text::Normalization;

/// Version of the model file layout; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// How probabilities become the multi-label decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRule {
    /// Single-label models always decide their top-1 label; multi-label
    /// models decide every label whose probability reaches its threshold
    /// (possibly none).
    pub multi_label: bool,
    /// Threshold for categories without their own.
    pub global: f32,
    /// Per-category thresholds (empty: the global one everywhere).
    pub per_category: Vec<f32>,
}

impl DecisionRule {
    /// The threshold of category `c`.
    pub fn threshold(&self, c: usize) -> f32 {
        self.per_category.get(c).copied().unwrap_or(self.global)
    }
}

/// The JSON metadata of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Text normalization applied before n-grams.
    pub normalization: Normalization,
    /// Scoring and vocabulary parameters.
    pub lexicon: LexiconParams,
    /// Documents in the statistics (N).
    pub n_docs: u64,
    /// Largest trigram df in the statistics.
    pub df_max: u32,
    /// Network sizes.
    pub shape: Shape,
    /// Category names, index = category id.
    pub labels: Vec<String>,
    /// Decision rule.
    pub decision: DecisionRule,
    /// Free-form record of how the model was trained (options, epochs,
    /// validation scores, timings).
    pub training: serde_json::Value,
    /// Where the model comes from (absent from the JSON for models scyth
    /// trained, so their files are unchanged).
    #[serde(default, skip_serializing_if = "ModelSource::is_trained")]
    pub source: ModelSource,
}

/// Where a model comes from; decides the int8 rounding rules and whether
/// statuses may be recomputed from df.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Trained by scyth: statuses follow from df and τ; scyth's int8 rules.
    #[default]
    Trained,
    /// Imported from a SCYTH-5 PyTorch checkpoint: lowercase-only text,
    /// statuses and scores frozen as stored (no df), PyTorch's int8 rules.
    ImportedScyth5,
}

impl ModelSource {
    /// True for models scyth trained.
    pub fn is_trained(&self) -> bool {
        *self == ModelSource::Trained
    }
}
