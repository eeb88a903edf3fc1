//! Forward and backward pass of one training document: the gradients with
//! respect to the network's activations, from which the batch reduction
//! builds the weight gradients. Documents are independent, so a batch is
//! processed in parallel and reduced in document order (deterministic for
//! any thread count).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::features::SparseRow;
use crate::network::{Shape, encode_row, sigmoid};

/// Read-only view of the current weights.
#[derive(Clone, Copy)]
pub struct NetView<'a> {
    /// Sizes.
    pub shape: Shape,
    /// Encoder `[D][H]`.
    pub enc: &'a [f32],
    /// Linker `[E][H]`.
    pub link: &'a [f32],
    /// Head `[C][E]`.
    pub head: &'a [f32],
    /// Bias `[C]`.
    pub bias: &'a [f32],
}

/// Per-document settings of a step.
#[derive(Debug, Clone, Copy)]
pub struct StepConfig {
    /// Dropout probability on z.
    pub dropout: f32,
    /// Reconstruction loss weight.
    pub recon_weight: f32,
    /// Negative columns sampled for reconstruction.
    pub recon_negatives: usize,
    /// Label smoothing ε.
    pub label_smoothing: f32,
    /// Documents in the batch (losses are means over the batch).
    pub batch_len: usize,
}

/// Reconstruction gradients of one document.
pub struct ReconGrad {
    /// r = e · W_linkᵀ (H).
    pub r: Vec<f32>,
    /// ∂L/∂r (H).
    pub g_r: Vec<f32>,
    /// Columns reconstructed (active then sampled negatives).
    pub cols: Vec<u32>,
    /// ∂L/∂x̂ per reconstructed column.
    pub g_xhat: Vec<f32>,
}

/// Gradients of one document with respect to its activations.
pub struct DocGrad {
    /// Loss of the document (already divided by the batch size).
    pub loss: f64,
    /// ∂L/∂logits (C).
    pub g_logit: Vec<f32>,
    /// Linker output e (E).
    pub e: Vec<f32>,
    /// z after dropout (H).
    pub zd: Vec<f32>,
    /// ∂L/∂e, classification and reconstruction (E).
    pub g_e: Vec<f32>,
    /// ∂L/∂z before dropout (H).
    pub g_z: Vec<f32>,
    /// Reconstruction part, when enabled.
    pub recon: Option<ReconGrad>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Numerically stable binary cross-entropy from a logit.
fn bce(logit: f32, target: f32) -> f64 {
    let l = logit as f64;
    l.max(0.0) - l * target as f64 + (-l.abs()).exp().ln_1p()
}

/// Forward and backward of one document. `seed` drives its dropout mask and
/// negative samples.
pub fn doc_grad(
    net: NetView<'_>,
    row: &SparseRow,
    labels: &[u32],
    cfg: StepConfig,
    seed: u64,
) -> DocGrad {
    let Shape { d, h, e: n_e, c } = net.shape;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = vec![0.0f32; h];
    encode_row(net.enc, h, row, &mut z);
    let keep = 1.0 - cfg.dropout;
    let mask: Vec<f32> = (0..h)
        .map(|_| {
            if cfg.dropout > 0.0 && rng.random::<f32>() < cfg.dropout {
                0.0
            } else {
                1.0 / keep
            }
        })
        .collect();
    let zd: Vec<f32> = z.iter().zip(&mask).map(|(a, m)| a * m).collect();
    let e: Vec<f32> = net.link.chunks_exact(h).map(|row| dot(row, &zd)).collect();

    let batch = cfg.batch_len.max(1) as f32;
    let (lo, hi) = (cfg.label_smoothing / 2.0, 1.0 - cfg.label_smoothing / 2.0);
    let mut loss = 0.0f64;
    let mut g_logit = vec![0.0f32; c];
    let mut g_e = vec![0.0f32; n_e];
    for (k, head_row) in net.head.chunks_exact(n_e).enumerate() {
        let logit = dot(head_row, &e) + net.bias[k];
        let target = if labels.contains(&(k as u32)) { hi } else { lo };
        loss += bce(logit, target) / (batch as f64 * c as f64);
        let g = (sigmoid(logit) - target) / (batch * c as f32);
        g_logit[k] = g;
        axpy(g, head_row, &mut g_e);
    }

    let recon = (cfg.recon_weight > 0.0 && d > 0).then(|| {
        // r = e · W_linkᵀ, x̂_c = r · W_enc[c] on active columns plus negatives.
        let mut r = vec![0.0f32; h];
        for (k, link_row) in net.link.chunks_exact(h).enumerate() {
            axpy(e[k], link_row, &mut r);
        }
        let mut cols = row.cols.clone();
        let mut targets = row.vals.clone();
        for _ in 0..cfg.recon_negatives {
            let col = rng.random_range(0..d as u32);
            if row.cols.binary_search(&col).is_err() {
                cols.push(col);
                targets.push(0.0);
            }
        }
        let n = cols.len().max(1) as f32;
        let mut g_r = vec![0.0f32; h];
        let mut g_xhat = Vec::with_capacity(cols.len());
        for (&col, &x) in cols.iter().zip(&targets) {
            let w = &net.enc[col as usize * h..(col as usize + 1) * h];
            let diff = dot(&r, w) - x;
            loss += (cfg.recon_weight * diff * diff / (n * batch)) as f64;
            let g = 2.0 * cfg.recon_weight * diff / (n * batch);
            g_xhat.push(g);
            axpy(g, w, &mut g_r);
        }
        for (k, link_row) in net.link.chunks_exact(h).enumerate() {
            g_e[k] += dot(link_row, &g_r);
        }
        ReconGrad {
            r,
            g_r,
            cols,
            g_xhat,
        }
    });

    let mut g_z = vec![0.0f32; h];
    for (k, link_row) in net.link.chunks_exact(h).enumerate() {
        axpy(g_e[k], link_row, &mut g_z);
    }
    for (g, m) in g_z.iter_mut().zip(&mask) {
        *g *= m;
    }
    DocGrad {
        loss,
        g_logit,
        e,
        zd,
        g_e,
        g_z,
        recon,
    }
}

/// Sigmoid probabilities of a row under the current weights (no dropout).
pub fn predict_probs(net: NetView<'_>, row: &SparseRow) -> Vec<f32> {
    let Shape { h, e: n_e, .. } = net.shape;
    let mut z = vec![0.0f32; h];
    encode_row(net.enc, h, row, &mut z);
    let e: Vec<f32> = net.link.chunks_exact(h).map(|row| dot(row, &z)).collect();
    net.head
        .chunks_exact(n_e)
        .zip(net.bias)
        .map(|(row, b)| sigmoid(dot(row, &e) + b))
        .collect()
}
