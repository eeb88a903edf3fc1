//! Training of one network (one ensemble member): mini-batch Adam with
//! lazy encoder updates, early stopping on the validation set, and the
//! weights of the best epoch.

use std::time::Instant;

use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::features::SparseRow;
use crate::metrics::{Thresholds, choose_thresholds, evaluate};
use crate::network::Shape;
use crate::train::adam::{Adam, Param};
use crate::train::step::{DocGrad, NetView, StepConfig, doc_grad, predict_probs};
use crate::train::{EpochSummary, TrainEvent, TrainOptions};

/// The training data shared by all members.
pub struct TrainData<'a> {
    /// Feature rows of the training input.
    pub rows: &'a [SparseRow],
    /// Label ids of each training row.
    pub targets: &'a [Vec<u32>],
    /// Indices of the rows trained on (the rest may be validation).
    pub train_idx: &'a [usize],
    /// Validation rows.
    pub val_rows: &'a [SparseRow],
    /// Validation label ids.
    pub val_targets: &'a [Vec<u32>],
    /// Label names.
    pub labels: &'a [String],
    /// Multi-label data (validation by micro-F1 rather than accuracy).
    pub multi_label: bool,
}

/// One trained member: its best weights and its epochs.
pub struct Member {
    /// Weights of the best epoch.
    pub best: Snapshot,
    /// Per-epoch records.
    pub epochs: Vec<EpochSummary>,
}

/// Trains one network of `shape` with `seed`.
pub fn train_member(
    data: &TrainData<'_>,
    shape: Shape,
    opts: &TrainOptions,
    seed: u64,
    on_event: &mut (dyn FnMut(TrainEvent) + Send),
) -> Result<Member> {
    let TrainData {
        rows,
        targets,
        train_idx,
        val_rows,
        val_targets,
        labels,
        multi_label,
    } = *data;
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 0, 0));
    let mut params = Params {
        enc: Param::new(init(&mut rng, shape.d * shape.h, shape.d)),
        link: Param::new(init(&mut rng, shape.e * shape.h, shape.h)),
        head: Param::new(init(&mut rng, shape.c * shape.e, shape.e)),
        bias: Param::new(prior_logits(train_idx, targets, shape.c)),
    };
    let mut adam = Adam::new(opts.learning_rate);
    let mut best: Option<Snapshot> = None;
    let mut epochs = Vec::new();
    let mut since_best = 0;
    let mut group_of = vec![u32::MAX; shape.d];
    let mut sum = WeightSum::default();
    for epoch in 1..=opts.epochs {
        let epoch_start = Instant::now();
        let mut order = train_idx.to_vec();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, 1, epoch as u64)));
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
                        mix(seed, epoch as u64, i as u64 + 2),
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
                rows,
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
                val_rows,
                val_targets,
                labels,
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
        if opts.average_epochs {
            sum.add(&params);
        }
        if since_best >= opts.patience {
            break;
        }
    }
    let mut best = best.context("no epoch was run (epochs = 0)")?;
    if opts.average_epochs && sum.n >= 2 && !val_rows.is_empty() {
        // The mean of the epoch-end weights, kept when validation scores it
        // at least as well as the best single epoch.
        let mean = sum.mean();
        let view = NetView {
            shape,
            enc: &mean.enc,
            link: &mean.link,
            head: &mean.head,
            bias: &mean.bias,
        };
        let score = validation_score(view, val_rows, val_targets, labels, multi_label);
        if score >= best.score {
            best = Snapshot { score, ..mean };
        }
    }
    Ok(Member { best, epochs })
}

/// Running sum of epoch-end weights, for epoch averaging.
#[derive(Default)]
struct WeightSum {
    n: usize,
    enc: Vec<f32>,
    link: Vec<f32>,
    head: Vec<f32>,
    bias: Vec<f32>,
}

impl WeightSum {
    fn add(&mut self, p: &Params) {
        fn acc(sum: &mut Vec<f32>, w: &[f32]) {
            if sum.is_empty() {
                sum.extend_from_slice(w);
            } else {
                sum.par_iter_mut().zip(w).for_each(|(s, &x)| *s += x);
            }
        }
        acc(&mut self.enc, &p.enc.w);
        acc(&mut self.link, &p.link.w);
        acc(&mut self.head, &p.head.w);
        acc(&mut self.bias, &p.bias.w);
        self.n += 1;
    }

    /// The mean, as a snapshot (epoch 0 marks an average).
    fn mean(&self) -> Snapshot {
        let scale = 1.0 / self.n.max(1) as f32;
        let div = |v: &[f32]| v.par_iter().map(|x| x * scale).collect::<Vec<f32>>();
        Snapshot {
            epoch: 0,
            score: 0.0,
            enc: div(&self.enc),
            link: div(&self.link),
            head: div(&self.head),
            bias: div(&self.bias),
        }
    }
}

/// Mixes a seed with stream identifiers into an independent seed.
pub fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut x =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// PyTorch's default Linear init: U(−1/√fan_in, 1/√fan_in).
pub fn init(rng: &mut ChaCha8Rng, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// Initial bias: the logit of each label's training frequency (smoothed,
/// clamped), so that training starts from the label priors and a text with
/// no features gets prior-like probabilities rather than 0.5.
pub fn prior_logits(train_idx: &[usize], targets: &[Vec<u32>], c: usize) -> Vec<f32> {
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

/// The weights of the best epoch so far.
pub struct Snapshot {
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation score.
    pub score: f64,
    /// Encoder `[D][H]`.
    pub enc: Vec<f32>,
    /// Linker `[E][H]`.
    pub link: Vec<f32>,
    /// Head `[C][E]`.
    pub head: Vec<f32>,
    /// Bias `[C]`.
    pub bias: Vec<f32>,
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

/// Validation score of probabilities: top-1 accuracy, or micro-F1 with
/// thresholds chosen on the same set for multi-label data.
pub fn score_of(probs: &[Vec<f32>], targets: &[Vec<u32>], labels: &[String], multi: bool) -> f64 {
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
