//! Per-document prediction: text → features → f32 or int8 forward pass →
//! probabilities, decision and embedding. Batch and stream call this.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureScratch, SparseRow, extract};
use crate::model::Model;
use crate::network::{l2_normalized, sigmoid};
use crate::quant::plan::{
    FoldedPlan, PlanContext, forward_folded_f32, forward_folded_int8, forward_linked_f32,
    forward_linked_int8, resolve,
};
use crate::quant::{
    Int8Kernel, Int8Scratch, Plan, PlanChoice, default_kernel, forward_int8, forward_int8_batch,
};

/// Which weights run the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// int8 weights, dynamically quantized activations (the default).
    Int8,
    /// The float weights.
    F32,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Precision, String> {
        match s {
            "int8" => Ok(Precision::Int8),
            "f32" => Ok(Precision::F32),
            other => Err(format!("unknown precision {other:?} (int8 or f32)")),
        }
    }
}

/// Per-thread scratch buffers for prediction.
#[derive(Debug, Default)]
pub struct PredictScratch {
    /// Feature extraction buffers.
    pub features: FeatureScratch,
    int8: Int8Scratch,
    rows: Vec<SparseRow>,
    /// f32 logits of the folded plans, `[batch][C]`.
    logits: Vec<f32>,
}

/// Documents per batch when classifying many texts: enough for the dense
/// layers to run as GEMMs with their weights reused across documents, few
/// enough for the batch's activations to stay in L2.
pub const PREDICT_BATCH: usize = 32;

/// The result for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Sigmoid probability per category.
    pub probabilities: Vec<f32>,
    /// Unnormalized linker output (the embedding before L2 normalization);
    /// empty under the linked and folded plans, which skip the linker.
    pub linked: Vec<f32>,
    /// Number of set input columns.
    pub n_features: usize,
}

impl Prediction {
    /// The L2-normalized embedding (zero vector for a featureless text).
    pub fn embedding(&self) -> Vec<f32> {
        l2_normalized(&self.linked)
    }

    /// The `k` most probable categories, probability descending, ties to the
    /// lower id. Selects before sorting, so it costs O(C + k log k) (models
    /// with thousands of categories call it for every document).
    pub fn top_k(&self, k: usize) -> Vec<(u32, f32)> {
        let p = &self.probabilities;
        let by_probability =
            |a: &u32, b: &u32| p[*b as usize].total_cmp(&p[*a as usize]).then(a.cmp(b));
        let mut order: Vec<u32> = (0..p.len() as u32).collect();
        if k < order.len() {
            if k > 0 {
                order.select_nth_unstable_by(k - 1, by_probability);
            }
            order.truncate(k);
        }
        order.sort_by(by_probability);
        order.into_iter().map(|c| (c, p[c as usize])).collect()
    }
}

impl Model {
    /// The feature row of a text.
    pub fn features(&self, text: &str, scratch: &mut FeatureScratch) -> SparseRow {
        extract(&*self.lexicon, self.meta.normalization, text, scratch)
    }

    /// Classifies a text.
    pub fn predict_text(
        &self,
        text: &str,
        precision: Precision,
        scratch: &mut PredictScratch,
    ) -> Prediction {
        let row = self.features(text, &mut scratch.features);
        self.predict_row(&row, precision, scratch)
    }

    /// Classifies a batch of texts: features per text, then (int8) the
    /// encoder per document and the linker and head as one GEMM each over
    /// the batch. Each prediction equals [`Model::predict_text`] on that
    /// text alone, bit for bit (activations are quantized per document).
    pub fn predict_texts(
        &self,
        texts: &[&str],
        precision: Precision,
        scratch: &mut PredictScratch,
    ) -> Vec<Prediction> {
        self.predict_texts_with(texts, precision, default_kernel(), scratch)
    }

    /// Like [`Model::predict_texts`] with an explicit int8 kernel.
    pub fn predict_texts_with(
        &self,
        texts: &[&str],
        precision: Precision,
        kernel: &dyn Int8Kernel,
        scratch: &mut PredictScratch,
    ) -> Vec<Prediction> {
        self.predict_texts_plan(texts, precision, Plan::Full, kernel, scratch)
    }

    /// What [`resolve`] needs to know about this model.
    pub fn plan_context(&self, wants_embeddings: bool) -> PlanContext {
        PlanContext {
            shape: self.meta.shape,
            has_f32: self.f32_weights.is_some(),
            arithmetic: self.int8_weights.arithmetic,
            wants_embeddings,
        }
    }

    /// Resolves `choice` for this model and builds the plan's folded
    /// matrices now (once per process), so that a plan that cannot serve
    /// the request fails before any document and the one-time fold is not
    /// paid inside the first batch.
    pub fn prepare_plan(&self, choice: PlanChoice, wants_embeddings: bool) -> anyhow::Result<Plan> {
        let plan = resolve(choice, self.plan_context(wants_embeddings))?;
        if let Some(f) = &self.f32_weights {
            match plan {
                Plan::Full => {}
                Plan::Linked => {
                    self.int8_weights.plans.linked(f);
                }
                Plan::Folded => {
                    self.int8_weights.plans.folded(f);
                }
            }
        }
        Ok(plan)
    }

    /// Classifies a batch of texts with an inference plan (see
    /// [`crate::quant::plan`]): [`Plan::Full`] is [`Model::predict_texts`]
    /// (int8: the encoder per document, linker and head as one GEMM each);
    /// the folded plans give the same probabilities up to the rounding
    /// stated in `tests/suite/plans.rs`, and no embedding. Each prediction
    /// is independent of the batch it is in.
    ///
    /// # Panics
    /// With a folded plan on an int8-only model, or f32 precision on one
    /// ([`Model::prepare_plan`] and [`Model::check_precision`] refuse both).
    pub fn predict_texts_plan(
        &self,
        texts: &[&str],
        precision: Precision,
        plan: Plan,
        kernel: &dyn Int8Kernel,
        scratch: &mut PredictScratch,
    ) -> Vec<Prediction> {
        let mut rows = std::mem::take(&mut scratch.rows);
        rows.clear();
        rows.extend(
            texts
                .iter()
                .map(|t| self.features(t, &mut scratch.features)),
        );
        let refs: Vec<&SparseRow> = rows.iter().collect();
        let preds = self.predict_rows_plan(&refs, precision, plan, kernel, scratch);
        scratch.rows = rows;
        preds
    }

    /// [`Model::predict_texts_plan`] on feature rows.
    ///
    /// # Panics
    /// As [`Model::predict_texts_plan`].
    pub fn predict_rows_plan(
        &self,
        rows: &[&SparseRow],
        precision: Precision,
        plan: Plan,
        kernel: &dyn Int8Kernel,
        scratch: &mut PredictScratch,
    ) -> Vec<Prediction> {
        let c = self.meta.shape.c;
        let f32w = || {
            self.f32_weights
                .as_ref()
                .expect("folded plans need float weights (see Model::prepare_plan)")
        };
        let to_preds = |logits: &[f32]| -> Vec<Prediction> {
            rows.iter()
                .enumerate()
                .map(|(i, row)| Prediction {
                    probabilities: logits[i * c..(i + 1) * c]
                        .iter()
                        .map(|&l| sigmoid(l))
                        .collect(),
                    linked: Vec::new(),
                    n_features: row.cols.len(),
                })
                .collect()
        };
        match (plan, precision) {
            (Plan::Full, Precision::Int8) => {
                let out = forward_int8_batch(
                    &self.int8_weights,
                    &self.bias,
                    kernel,
                    rows,
                    &mut scratch.int8,
                );
                rows.iter()
                    .enumerate()
                    .map(|(i, row)| Prediction {
                        probabilities: out.logits(i).iter().map(|&l| sigmoid(l)).collect(),
                        linked: out.linked(i).to_vec(),
                        n_features: row.cols.len(),
                    })
                    .collect()
            }
            (Plan::Full, Precision::F32) => rows
                .iter()
                .map(|row| self.predict_row_with(row, precision, kernel, scratch))
                .collect(),
            (Plan::Linked, Precision::F32) => {
                let f = f32w();
                forward_linked_f32(
                    f,
                    self.int8_weights.plans.linked(f),
                    rows,
                    &mut scratch.logits,
                );
                to_preds(&scratch.logits)
            }
            (Plan::Folded, Precision::F32) => {
                let f = f32w();
                forward_folded_f32(
                    f,
                    self.int8_weights.plans.folded(f),
                    rows,
                    &mut scratch.logits,
                );
                to_preds(&scratch.logits)
            }
            (Plan::Linked, Precision::Int8) => {
                let w = &self.int8_weights;
                let lp = w.plans.linked(f32w());
                to_preds(forward_linked_int8(
                    w,
                    lp,
                    &self.bias,
                    kernel,
                    rows,
                    &mut scratch.int8,
                ))
            }
            (Plan::Folded, Precision::Int8) => {
                let w = &self.int8_weights;
                let fp = w.plans.folded(f32w());
                to_preds(forward_folded_int8(
                    w.arithmetic,
                    fp,
                    &self.bias,
                    kernel,
                    rows,
                    &mut scratch.int8,
                ))
            }
        }
    }

    /// The int8 folded plan ([`Model::prepare_plan`] builds it once), for
    /// a caller that keeps rows' folded accumulators itself (the stream
    /// patches them by code deltas).
    ///
    /// # Panics
    /// On a model without float weights (no folded plan; `prepare_plan`
    /// refuses the plan for it).
    pub fn folded_plan(&self) -> &FoldedPlan {
        let f = self
            .f32_weights
            .as_ref()
            .expect("folded plans need float weights (see Model::prepare_plan)");
        self.int8_weights.plans.folded(f)
    }

    /// The int8 folded plan's prediction for a row with `n_features`
    /// active columns, quantized with `scale`, whose folded accumulators
    /// are `acc` ([`FoldedPlan::accumulate`]): what
    /// [`Model::predict_rows_plan`] gives for that row under
    /// [`Plan::Folded`] and [`Precision::Int8`], from the same arithmetic.
    pub fn predict_folded_acc(
        &self,
        acc: &[i32],
        scale: f32,
        n_features: usize,
        scratch: &mut PredictScratch,
    ) -> Prediction {
        scratch.logits.clear();
        self.folded_plan()
            .extend_logits(acc, scale, &self.bias, &mut scratch.logits);
        Prediction {
            probabilities: scratch.logits.iter().map(|&l| sigmoid(l)).collect(),
            linked: Vec::new(),
            n_features,
        }
    }

    /// Runs the network on a feature row.
    pub fn predict_row(
        &self,
        row: &SparseRow,
        precision: Precision,
        scratch: &mut PredictScratch,
    ) -> Prediction {
        self.predict_row_with(row, precision, default_kernel(), scratch)
    }

    /// Like [`Model::predict_row`] with an explicit int8 kernel.
    ///
    /// # Panics
    /// With [`Precision::F32`] on an int8-only model (drivers check
    /// [`Model::check_precision`] first).
    pub fn predict_row_with(
        &self,
        row: &SparseRow,
        precision: Precision,
        kernel: &dyn Int8Kernel,
        scratch: &mut PredictScratch,
    ) -> Prediction {
        let (linked, logits) = match precision {
            Precision::Int8 => {
                let out = forward_int8(
                    &self.int8_weights,
                    &self.bias,
                    kernel,
                    row,
                    &mut scratch.int8,
                );
                (out.linked, out.logits)
            }
            Precision::F32 => {
                let out = self
                    .f32_weights
                    .as_ref()
                    .expect("f32 precision on an int8-only model (see Model::check_precision)")
                    .forward(&[row]);
                (out.linked.row(0).to_vec(), out.logits.row(0).to_vec())
            }
        };
        Prediction {
            probabilities: logits.iter().map(|&l| sigmoid(l)).collect(),
            linked,
            n_features: row.cols.len(),
        }
    }

    /// The decided label set of a prediction: the top-1 for single-label
    /// models, every category at or above its threshold for multi-label
    /// ones. `threshold` overrides the model's thresholds (and makes a
    /// single-label model decide by threshold too).
    pub fn decide(&self, prediction: &Prediction, threshold: Option<f32>) -> Vec<u32> {
        let rule = &self.meta.decision;
        match threshold {
            Some(t) => (0..prediction.probabilities.len() as u32)
                .filter(|&c| prediction.probabilities[c as usize] >= t)
                .collect(),
            None if !rule.multi_label => prediction.top_k(1).into_iter().map(|(c, _)| c).collect(),
            None => (0..prediction.probabilities.len() as u32)
                .filter(|&c| prediction.probabilities[c as usize] >= rule.threshold(c as usize))
                .collect(),
        }
    }
}
