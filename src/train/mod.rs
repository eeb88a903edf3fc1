//! Training of the SCYTH-5 network from labeled documents: corpus
//! statistics → lexicon → features → mini-batch Adam with sparse encoder
//! updates, dropout, BCE (multi-label capable) and an optional tied
//! reconstruction term → early stopping on validation → thresholds → int8.

pub mod adam;
pub mod ensemble;
pub mod member;
pub mod options;
pub mod step;

pub use options::TrainOptions;

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::features::{FeatureScratch, Lexicon, SparseRow, extract};
use crate::metrics::{Thresholds, choose_thresholds};
use crate::model::{DecisionRule, FORMAT_VERSION, Model, ModelMeta};
use crate::network::{F32Weights, Shape};
use crate::quant::Int8Weights;
use crate::stats::{CorpusCounts, DocNgrams};
use member::{TrainData, mix, score_of, train_member};

/// A training document: text and its label names (possibly several, or
/// none for a multi-label corpus).
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledDoc {
    /// The text.
    pub text: String,
    /// Gold labels.
    pub labels: Vec<String>,
}

/// What happens during training, for progress display.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// Statistics and features are ready.
    Prepared {
        /// Training documents (after the validation split).
        train_docs: usize,
        /// Validation documents.
        val_docs: usize,
        /// Input columns D.
        columns: usize,
        /// Trigrams in the statistics.
        trigrams: usize,
        /// Known pentagrams.
        pentagrams: usize,
        /// Seconds spent on statistics and features.
        seconds: f64,
    },
    /// An ensemble member begins (1-based).
    MemberStart {
        /// This member.
        member: usize,
        /// Members in all.
        of: usize,
    },
    /// An epoch begins.
    EpochStart {
        /// 1-based epoch.
        epoch: usize,
        /// Batches in it.
        batches: usize,
    },
    /// A batch finished.
    Batch {
        /// Batches done in this epoch.
        done: usize,
        /// Mean loss so far in this epoch.
        loss: f64,
    },
    /// An epoch finished.
    EpochEnd(EpochSummary),
}

/// One epoch's record.
#[derive(Debug, Clone, Serialize)]
pub struct EpochSummary {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation score (accuracy, or micro-F1 for multi-label).
    pub val_score: f64,
    /// Training documents per second (not stored in the model, so that a
    /// seed gives a byte-identical file).
    #[serde(skip)]
    pub docs_per_s: f64,
    /// Whether this epoch became the best.
    pub improved: bool,
}

/// Result of a training run besides the model.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    /// Per-epoch records (of every ensemble member, in order).
    pub epochs: Vec<EpochSummary>,
    /// The epoch whose weights were kept (the latest over ensemble members).
    pub best_epoch: usize,
    /// Validation score of the final f32 model.
    pub best_val_score: f64,
    /// Name of the validation score.
    pub val_metric: String,
    /// Validation score of the int8 model.
    pub int8_val_score: f64,
    /// Wall time in seconds (not stored in the model, see `docs_per_s`).
    #[serde(skip)]
    pub seconds: f64,
}

/// Trains a model. `dev` (if given) is used for early stopping and threshold
/// choice instead of a split of `docs`. Deterministic for a given seed.
pub fn train(
    docs: &[LabeledDoc],
    dev: Option<&[LabeledDoc]>,
    opts: &TrainOptions,
    on_event: &mut (dyn FnMut(TrainEvent) + Send),
) -> Result<(Model, TrainSummary)> {
    ensure!(!docs.is_empty(), "no training documents");
    ensure!(
        opts.latent > 0 && opts.embedding > 0,
        "latent and embedding sizes must be positive"
    );
    ensure!(
        (0.0..1.0).contains(&opts.dropout),
        "dropout must be in [0, 1)"
    );
    ensure!(opts.batch_size > 0, "batch size must be positive");
    ensure!(
        opts.ensemble >= 1 && opts.embedding.is_multiple_of(opts.ensemble),
        "the embedding size ({}) must be a multiple of the ensemble size ({})",
        opts.embedding,
        opts.ensemble
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .context("starting worker threads")?;
    pool.install(|| train_in_pool(docs, dev, opts, on_event))
}

/// Label names (sorted) and each document's label ids.
fn label_table(docs: &[LabeledDoc]) -> (Vec<String>, bool) {
    let names: BTreeSet<&String> = docs.iter().flat_map(|d| &d.labels).collect();
    let multi = docs.iter().any(|d| d.labels.len() != 1);
    (names.into_iter().cloned().collect(), multi)
}

fn label_ids(doc: &LabeledDoc, names: &[String]) -> Vec<u32> {
    let mut ids: Vec<u32> = doc
        .labels
        .iter()
        .filter_map(|l| names.binary_search(l).ok().map(|i| i as u32))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Corpus statistics and lexicon of the training texts.
pub fn build_lexicon(texts: &[&str], opts: &TrainOptions) -> Lexicon {
    let norm = opts.normalization;
    let per_doc: Vec<DocNgrams> = texts
        .par_iter()
        .map(|t| DocNgrams::of(&norm.apply(t)))
        .collect();
    let mut counts = CorpusCounts::default();
    for doc in &per_doc {
        counts.add(doc);
    }
    drop(per_doc);
    Lexicon::build(&counts, &opts.lexicon)
}

fn featurize(lex: &Lexicon, opts: &TrainOptions, docs: &[LabeledDoc]) -> Vec<SparseRow> {
    docs.par_iter()
        .map_init(FeatureScratch::default, |s, d| {
            extract(lex, opts.normalization, &d.text, s)
        })
        .collect()
}

fn train_in_pool(
    docs: &[LabeledDoc],
    dev: Option<&[LabeledDoc]>,
    opts: &TrainOptions,
    on_event: &mut (dyn FnMut(TrainEvent) + Send),
) -> Result<(Model, TrainSummary)> {
    let started = Instant::now();
    let (labels, multi_label) = label_table(docs);
    ensure!(!labels.is_empty(), "the training documents carry no labels");
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let lexicon = build_lexicon(&texts, opts);
    let rows = featurize(&lexicon, opts, docs);
    let targets: Vec<Vec<u32>> = docs.iter().map(|d| label_ids(d, &labels)).collect();

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (train_idx, val_rows, val_targets) = match dev {
        Some(dev) => {
            let val_rows = featurize(&lexicon, opts, dev);
            let val_targets: Vec<Vec<u32>> = dev.iter().map(|d| label_ids(d, &labels)).collect();
            ((0..docs.len()).collect::<Vec<_>>(), val_rows, val_targets)
        }
        None => {
            let mut order: Vec<usize> = (0..docs.len()).collect();
            order.shuffle(&mut rng);
            let n_val = if docs.len() >= 20 {
                ((docs.len() as f32 * opts.validation_fraction).round() as usize).max(1)
            } else {
                0
            };
            let (val, train) = order.split_at(n_val);
            let mut train = train.to_vec();
            train.sort_unstable();
            let val_rows = val.iter().map(|&i| rows[i].clone()).collect();
            let val_targets: Vec<Vec<u32>> = val.iter().map(|&i| targets[i].clone()).collect();
            (train, val_rows, val_targets)
        }
    };
    let shape = Shape {
        d: lexicon.n_columns(),
        h: opts.latent,
        e: opts.embedding,
        c: labels.len(),
    };
    on_event(TrainEvent::Prepared {
        train_docs: train_idx.len(),
        val_docs: val_rows.len(),
        columns: shape.d,
        trigrams: lexicon.n_trigrams(),
        pentagrams: lexicon.n_pentagrams(),
        seconds: started.elapsed().as_secs_f64(),
    });

    let data = TrainData {
        rows: &rows,
        targets: &targets,
        train_idx: &train_idx,
        val_rows: &val_rows,
        val_targets: &val_targets,
        labels: &labels,
        multi_label,
    };
    let k = opts.ensemble.max(1);
    let member_shape = Shape {
        e: shape.e / k,
        h: shape.h,
        ..shape
    };
    let mut members = Vec::with_capacity(k);
    let mut epochs = Vec::new();
    for m in 0..k {
        on_event(TrainEvent::MemberStart {
            member: m + 1,
            of: k,
        });
        let seed = if m == 0 {
            opts.seed
        } else {
            mix(opts.seed, 7, m as u64)
        };
        let member = train_member(&data, member_shape, opts, seed, on_event)?;
        epochs.extend(member.epochs);
        members.push(member.best);
    }
    let best_epoch = members.iter().map(|m| m.epoch).max().unwrap_or(0);
    let (enc, link, head, bias, shape) = ensemble::combine(&members, member_shape);
    drop(members);

    let f32_weights = F32Weights {
        shape,
        enc: enc.into(),
        link: link.into(),
        head: head.into(),
        bias: bias.into(),
    };
    let int8_weights = Int8Weights::quantize(&f32_weights);
    let val_probs: Vec<Vec<f32>> = val_rows
        .par_iter()
        .map(|r| f32_weights.forward(&[r]).probabilities(0))
        .collect();
    let best_val_score = if val_rows.is_empty() {
        0.0
    } else {
        score_of(&val_probs, &val_targets, &labels, multi_label)
    };
    let thresholds = if multi_label && !val_rows.is_empty() {
        choose_thresholds(&val_targets, &val_probs, labels.len())
    } else {
        Thresholds::uniform(0.5, labels.len())
    };
    let decision = DecisionRule {
        multi_label,
        global: thresholds.global,
        per_category: thresholds.per_category.clone(),
    };
    let meta = ModelMeta {
        format_version: FORMAT_VERSION,
        normalization: opts.normalization,
        lexicon: lexicon.params,
        n_docs: lexicon.n_docs,
        df_max: lexicon.df_max,
        shape,
        labels: labels.clone(),
        decision,
        training: serde_json::Value::Null,
        source: Default::default(),
    };
    let mut model = Model {
        meta,
        lexicon: lexicon.into(),
        bias: f32_weights.bias.to_vec().into(),
        f32_weights: Some(f32_weights),
        int8_weights,
        checksum: 0,
    };
    let int8_val_score = if val_rows.is_empty() {
        0.0
    } else {
        let probs: Vec<Vec<f32>> = val_rows
            .par_iter()
            .map_init(crate::model::PredictScratch::default, |s, r| {
                model
                    .predict_row(r, crate::model::Precision::Int8, s)
                    .probabilities
            })
            .collect();
        score_of(&probs, &val_targets, &labels, multi_label)
    };
    let summary = TrainSummary {
        epochs,
        best_epoch,
        best_val_score,
        val_metric: if multi_label { "micro_f1" } else { "accuracy" }.to_string(),
        int8_val_score,
        seconds: started.elapsed().as_secs_f64(),
    };
    model.meta.training = serde_json::json!({
        "options": opts,
        "train_docs": docs.len(),
        "validation_docs": val_rows.len(),
        "validation_source": if dev.is_some() { "dev file" } else { "split of the training input" },
        "summary": summary,
    });
    Ok((model, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<LabeledDoc> {
        let sports = [
            "野球の試合で逆転勝ち",
            "サッカーの試合で先制点",
            "野球の投手が完封勝利",
            "サッカー代表が勝利した",
        ];
        let economy = [
            "株価が大きく上昇した",
            "円相場と株価が下落",
            "日銀の金利と株価の動き",
            "企業の決算で株価上昇",
        ];
        let mut docs = Vec::new();
        for round in 0..6 {
            for (s, e) in sports.iter().zip(&economy) {
                docs.push(LabeledDoc {
                    text: format!("{s}。{round}"),
                    labels: vec!["sports".into()],
                });
                docs.push(LabeledDoc {
                    text: format!("{e}。{round}"),
                    labels: vec!["economy".into()],
                });
            }
        }
        docs
    }

    fn small_options() -> TrainOptions {
        TrainOptions {
            latent: 16,
            embedding: 8,
            epochs: 15,
            patience: 15,
            batch_size: 4,
            learning_rate: 1e-2,
            threads: 1,
            lexicon: crate::features::LexiconParams {
                min_df: 1,
                ..TrainOptions::default().lexicon
            },
            ..TrainOptions::default()
        }
    }

    fn train_quiet(opts: &TrainOptions) -> (Model, TrainSummary) {
        train(&corpus(), None, opts, &mut |_| {}).expect("training the toy corpus")
    }

    #[test]
    fn learns_a_separable_toy_corpus_with_and_without_reconstruction() {
        for recon_weight in [0.0, 0.5] {
            let opts = TrainOptions {
                recon_weight,
                ..small_options()
            };
            let (model, summary) = train_quiet(&opts);
            assert!(!model.meta.decision.multi_label);
            assert!(
                summary.best_val_score >= 0.99,
                "recon {recon_weight}: {}",
                summary.best_val_score
            );
            let first = summary.epochs.first().map(|e| e.train_loss).unwrap_or(0.0);
            let last = summary.epochs.last().map(|e| e.train_loss).unwrap_or(1.0);
            assert!(last < first, "loss must fall: {first} -> {last}");
            let mut s = crate::model::PredictScratch::default();
            let p = model.predict_text("サッカーの試合", crate::model::Precision::Int8, &mut s);
            let sports = model
                .meta
                .labels
                .iter()
                .position(|l| l == "sports")
                .expect("label");
            assert_eq!(p.top_k(1)[0].0 as usize, sports);
        }
    }

    #[test]
    fn same_seed_gives_identical_weights_across_thread_counts() {
        let one = train_quiet(&small_options()).0;
        let two = train_quiet(&TrainOptions {
            threads: 2,
            ..small_options()
        })
        .0;
        let (f1, f2) = (one.f32().unwrap(), two.f32().unwrap());
        assert_eq!(&*f1.enc, &*f2.enc);
        assert_eq!(&*f1.head, &*f2.head);
        let other = train_quiet(&TrainOptions {
            seed: 7,
            ..small_options()
        })
        .0;
        assert_ne!(&*f1.enc, &*other.f32().unwrap().enc);
    }

    #[test]
    fn epoch_averaging_never_scores_worse_on_validation() {
        let plain = train_quiet(&TrainOptions {
            epochs: 6,
            ..small_options()
        })
        .1;
        let averaged = train_quiet(&TrainOptions {
            epochs: 6,
            average_epochs: true,
            ..small_options()
        })
        .1;
        assert!(averaged.best_val_score >= plain.best_val_score);
        assert_eq!(averaged.epochs.len(), plain.epochs.len(), "same epochs run");
    }

    #[test]
    fn ensemble_of_two_has_double_latent_and_same_embedding() {
        let opts = TrainOptions {
            ensemble: 2,
            ..small_options()
        };
        let (model, summary) = train_quiet(&opts);
        assert_eq!((model.meta.shape.h, model.meta.shape.e), (32, 8));
        assert!(summary.best_val_score >= 0.99);
        let bad = TrainOptions {
            ensemble: 3,
            ..small_options()
        };
        assert!(
            train(&corpus(), None, &bad, &mut |_| {}).is_err(),
            "8 is not a multiple of 3"
        );
    }
}
