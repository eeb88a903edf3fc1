//! Training of the SCYTH-5 network from labeled documents: corpus
//! statistics → lexicon → features → mini-batch Adam with sparse encoder
//! updates, dropout, BCE (multi-label capable) and an optional tied
//! reconstruction term → early stopping on validation → thresholds → int8.

pub mod adam;
pub mod options;
pub mod step;

pub use options::TrainOptions;

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::features::{FeatureScratch, Lexicon, SparseRow, extract};
use crate::metrics::{Thresholds, choose_thresholds, evaluate};
use crate::model::{DecisionRule, FORMAT_VERSION, Model, ModelMeta};
use crate::network::{F32Weights, Shape};
use crate::quant::Int8Weights;
use crate::stats::{CorpusCounts, DocNgrams};
use adam::{Adam, Param};
use step::{DocGrad, NetView, StepConfig, doc_grad, predict_probs};

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
    /// Per-epoch records.
    pub epochs: Vec<EpochSummary>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Its validation score.
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

/// Mixes a seed with stream identifiers into an independent seed.
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut x =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// PyTorch's default Linear init: U(−1/√fan_in, 1/√fan_in).
fn init(rng: &mut ChaCha8Rng, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// Initial bias: the logit of each label's training frequency (smoothed,
/// clamped), so that training starts from the label priors and a text with
/// no features gets prior-like probabilities rather than 0.5.
fn prior_logits(train_idx: &[usize], targets: &[Vec<u32>], c: usize) -> Vec<f32> {
    let mut counts = vec![0usize; c];
    for &i in train_idx {
        for &l in &targets[i] {
            counts[l as usize] += 1;
        }
    }
    let n = train_idx.len() as f64;
    counts
        .iter()
        .map(|&k| {
            let p = (k as f64 + 0.5) / (n + 1.0);
            (p / (1.0 - p)).ln().clamp(-10.0, 10.0) as f32
        })
        .collect()
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

/// The weights of the best epoch so far.
struct Snapshot {
    epoch: usize,
    score: f64,
    enc: Vec<f32>,
    link: Vec<f32>,
    head: Vec<f32>,
    bias: Vec<f32>,
}

struct Params {
    enc: Param,
    link: Param,
    head: Param,
    bias: Param,
}

impl Params {
    fn view(&self, shape: Shape) -> NetView<'_> {
        NetView {
            shape,
            enc: &self.enc.w,
            link: &self.link.w,
            head: &self.head.w,
            bias: &self.bias.w,
        }
    }
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

    let mut params = Params {
        enc: Param::new(init(&mut rng, shape.d * shape.h, shape.d)),
        link: Param::new(init(&mut rng, shape.e * shape.h, shape.h)),
        head: Param::new(init(&mut rng, shape.c * shape.e, shape.e)),
        bias: Param::new(prior_logits(&train_idx, &targets, shape.c)),
    };
    let mut adam = Adam::new(opts.learning_rate);
    let mut best: Option<Snapshot> = None;
    let mut epochs = Vec::new();
    let mut since_best = 0;
    let mut group_of = vec![u32::MAX; shape.d];
    for epoch in 1..=opts.epochs {
        let epoch_start = Instant::now();
        let mut order = train_idx.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
            opts.seed,
            1,
            epoch as u64,
        )));
        let batches: Vec<&[usize]> = order.chunks(opts.batch_size).collect();
        on_event(TrainEvent::EpochStart {
            epoch,
            batches: batches.len(),
        });
        let mut loss_sum = 0.0;
        for (b, batch) in batches.iter().enumerate() {
            let cfg = StepConfig {
                dropout: opts.dropout,
                recon_weight: opts.recon_weight,
                recon_negatives: opts.recon_negatives,
                label_smoothing: opts.label_smoothing,
                batch_len: batch.len(),
            };
            let net = params.view(shape);
            let grads: Vec<DocGrad> = batch
                .par_iter()
                .map(|&i| {
                    doc_grad(
                        net,
                        &rows[i],
                        &targets[i],
                        cfg,
                        mix(opts.seed, epoch as u64, i as u64 + 2),
                    )
                })
                .collect();
            loss_sum += grads.iter().map(|g| g.loss).sum::<f64>();
            adam.step += 1;
            apply_gradients(
                &mut params,
                &adam,
                shape,
                batch,
                &rows,
                &grads,
                &mut group_of,
            );
            on_event(TrainEvent::Batch {
                done: b + 1,
                loss: loss_sum / (b + 1) as f64,
            });
        }
        let val_score = if val_rows.is_empty() {
            -loss_sum
        } else {
            validation_score(
                params.view(shape),
                &val_rows,
                &val_targets,
                &labels,
                multi_label,
            )
        };
        let improved = best.as_ref().is_none_or(|b| val_score > b.score);
        if improved {
            best = Some(Snapshot {
                epoch,
                score: val_score,
                enc: params.enc.w.clone(),
                link: params.link.w.clone(),
                head: params.head.w.clone(),
                bias: params.bias.w.clone(),
            });
            since_best = 0;
        } else {
            since_best += 1;
        }
        let summary = EpochSummary {
            epoch,
            train_loss: loss_sum / batches.len().max(1) as f64,
            val_score,
            docs_per_s: train_idx.len() as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
            improved,
        };
        on_event(TrainEvent::EpochEnd(summary.clone()));
        epochs.push(summary);
        if since_best >= opts.patience {
            break;
        }
    }
    let Snapshot {
        epoch: best_epoch,
        score: best_val_score,
        enc,
        link,
        head,
        bias,
    } = best.context("no epoch was run (epochs = 0)")?;
    drop(params);

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
    };
    let mut model = Model {
        meta,
        lexicon,
        f32_weights,
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

/// Validation score: top-1 accuracy (single-label) or micro-F1 with
/// thresholds chosen on the same set (multi-label).
fn validation_score(
    net: NetView<'_>,
    rows: &[SparseRow],
    targets: &[Vec<u32>],
    labels: &[String],
    multi: bool,
) -> f64 {
    let probs: Vec<Vec<f32>> = rows.par_iter().map(|r| predict_probs(net, r)).collect();
    score_of(&probs, targets, labels, multi)
}

fn score_of(probs: &[Vec<f32>], targets: &[Vec<u32>], labels: &[String], multi: bool) -> f64 {
    let thresholds = if multi {
        choose_thresholds(targets, probs, labels.len())
    } else {
        Thresholds::uniform(0.5, labels.len())
    };
    let decided: Vec<Vec<u32>> = probs.iter().map(|p| thresholds.decide(p)).collect();
    let report = evaluate(targets, probs, &decided, 1, labels);
    if multi {
        report.micro_f1
    } else {
        report.accuracy
    }
}

/// Reduces the batch's per-document gradients into weight gradients (in
/// document order) and applies Adam: dense for linker, head and bias, lazy
/// for the encoder rows the batch touched.
fn apply_gradients(
    params: &mut Params,
    adam: &Adam,
    shape: Shape,
    batch: &[usize],
    rows: &[SparseRow],
    grads: &[DocGrad],
    group_of: &mut [u32],
) {
    let Shape { h, e: n_e, c, .. } = shape;
    // Linker [E][H]: Σ_j g_e[e]·zd + e[e]·g_r.
    let mut g_link = vec![0.0f32; n_e * h];
    g_link.par_chunks_mut(h).enumerate().for_each(|(k, out)| {
        for g in grads {
            let a = g.g_e[k];
            for (o, &z) in out.iter_mut().zip(&g.zd) {
                *o += a * z;
            }
            if let Some(r) = &g.recon {
                let b = g.e[k];
                for (o, &x) in out.iter_mut().zip(&r.g_r) {
                    *o += b * x;
                }
            }
        }
    });
    let mut g_head = vec![0.0f32; c * n_e];
    g_head.par_chunks_mut(n_e).enumerate().for_each(|(k, out)| {
        for g in grads {
            let a = g.g_logit[k];
            for (o, &x) in out.iter_mut().zip(&g.e) {
                *o += a * x;
            }
        }
    });
    let g_bias: Vec<f32> = (0..c)
        .map(|k| grads.iter().map(|g| g.g_logit[k]).sum())
        .collect();
    adam.update(
        &mut params.link.w,
        &g_link,
        &mut params.link.m,
        &mut params.link.v,
    );
    adam.update(
        &mut params.head.w,
        &g_head,
        &mut params.head.m,
        &mut params.head.v,
    );
    adam.update(
        &mut params.bias.w,
        &g_bias,
        &mut params.bias.m,
        &mut params.bias.v,
    );

    // Encoder rows: (column, document, kind, coefficient), stably sorted by
    // column so each row's sum runs in document order.
    let mut entries: Vec<(u32, u32, bool, f32)> = Vec::new();
    for (j, (&i, g)) in batch.iter().zip(grads).enumerate() {
        for (&col, &val) in rows[i].cols.iter().zip(&rows[i].vals) {
            entries.push((col, j as u32, false, val));
        }
        if let Some(r) = &g.recon {
            for (&col, &gx) in r.cols.iter().zip(&r.g_xhat) {
                entries.push((col, j as u32, true, gx));
            }
        }
    }
    entries.sort_by_key(|e| e.0);
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let col = entries[start].0;
        let mut end = start;
        while end < entries.len() && entries[end].0 == col {
            end += 1;
        }
        group_of[col as usize] = groups.len() as u32;
        groups.push((start, end));
        start = end;
    }
    let group_of_ro: &[u32] = group_of;
    let entries = &entries;
    let groups = &groups;
    let adam = *adam;
    params
        .enc
        .w
        .par_chunks_mut(h)
        .zip(params.enc.m.par_chunks_mut(h))
        .zip(params.enc.v.par_chunks_mut(h))
        .enumerate()
        .for_each_init(
            || vec![0.0f32; h],
            |g, (col, ((w, m), v))| {
                let gi = group_of_ro[col];
                if gi == u32::MAX {
                    return;
                }
                g.iter_mut().for_each(|x| *x = 0.0);
                let (s, e) = groups[gi as usize];
                for &(_, j, recon, coef) in &entries[s..e] {
                    let src = match (&grads[j as usize].recon, recon) {
                        (Some(r), true) => &r.r,
                        _ => &grads[j as usize].g_z,
                    };
                    for (gi, &x) in g.iter_mut().zip(src) {
                        *gi += coef * x;
                    }
                }
                adam.update(w, g, m, v);
            },
        );
    for &(s, _) in groups.iter() {
        group_of[entries[s].0 as usize] = u32::MAX;
    }
}
