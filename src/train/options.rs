//! Training options and their defaults (chosen on livedoor validation data;
//! the README explains each choice).

use serde::{Deserialize, Serialize};

use crate::features::LexiconParams;
use crate::text::Normalization;

/// Everything that shapes a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Text normalization (NFKC + lowercase for scyth's own models).
    pub normalization: Normalization,
    /// Vocabulary, τ and pentagram cut.
    pub lexicon: LexiconParams,
    /// Latent size H.
    pub latent: usize,
    /// Embedding (linker) size E.
    pub embedding: usize,
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation score.
    pub patience: usize,
    /// Documents per optimizer step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// Dropout probability on the latent vector z.
    pub dropout: f32,
    /// Weight of the tied reconstruction loss (0 disables it).
    pub recon_weight: f32,
    /// Random negative columns sampled per document for reconstruction.
    pub recon_negatives: usize,
    /// Label smoothing ε: targets become ε/2 and 1 − ε/2.
    pub label_smoothing: f32,
    /// Share of the training documents held out for early stopping and
    /// threshold choice when no dev file is given.
    pub validation_fraction: f32,
    /// Also try the mean of the epoch-end weights and keep it when the
    /// validation set scores it at least as well as the best epoch.
    pub average_epochs: bool,
    /// Ensemble members: K networks trained with different seeds, each with
    /// `latent` units and `embedding / K` embedding dimensions, combined into
    /// one SPEC network (latent K·H, embedding E) whose logits are the mean
    /// of the members' logits.
    pub ensemble: usize,
    /// Seed of every random choice (init, shuffling, dropout, negatives).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            normalization: Normalization::NfkcLowercase,
            lexicon: LexiconParams {
                max_columns: Some(200_000),
                ..LexiconParams::default()
            },
            latent: 256,
            embedding: 512,
            epochs: 20,
            patience: 2,
            batch_size: 32,
            learning_rate: 3e-4,
            dropout: 0.2,
            recon_weight: 0.0,
            recon_negatives: 16,
            label_smoothing: 0.0,
            validation_fraction: 0.1,
            ensemble: 1,
            average_epochs: false,
            seed: 42,
            threads: 2,
        }
    }
}
