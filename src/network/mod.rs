//! The SCYTH-5 network (SPEC §4) in f32: a linear encoder over sparse input
//! columns, a linker to the embedding and a category head with bias.
//!
//! Layouts: the encoder is `[D][H]` (one row per input column, so a sparse
//! document sums rows), the linker `[E][H]` and the head `[C][E]` (one row per
//! output, PyTorch's Linear layout).

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::buf::Buf;
use crate::features::SparseRow;

/// Sizes of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Input columns.
    pub d: usize,
    /// Latent size.
    pub h: usize,
    /// Embedding (linker) size.
    pub e: usize,
    /// Categories.
    pub c: usize,
}

/// f32 weights of the network.
#[derive(Debug)]
pub struct F32Weights {
    /// The sizes.
    pub shape: Shape,
    /// Encoder `[D][H]`.
    pub enc: Buf<f32>,
    /// Linker `[E][H]`.
    pub link: Buf<f32>,
    /// Head `[C][E]`.
    pub head: Buf<f32>,
    /// Head bias `[C]`.
    pub bias: Buf<f32>,
}

/// What the network gives for a batch of documents.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutput {
    /// Unnormalized linker output `[B][E]`.
    pub linked: Array2<f32>,
    /// Category logits `[B][C]`.
    pub logits: Array2<f32>,
}

impl BatchOutput {
    /// Sigmoid probabilities of row `i`.
    pub fn probabilities(&self, i: usize) -> Vec<f32> {
        self.logits.row(i).iter().map(|&l| sigmoid(l)).collect()
    }

    /// The L2-normalized embedding of row `i` (zero when the linker output is
    /// zero).
    pub fn embedding(&self, i: usize) -> Vec<f32> {
        l2_normalized(self.linked.row(i).as_slice().unwrap_or(&[]))
    }
}

/// Adds `x · W_enc` of one sparse row to `out` (H values): the sum of the
/// encoder rows of its active columns, scaled by their values.
pub fn encode_row(enc: &[f32], h: usize, row: &SparseRow, out: &mut [f32]) {
    for (&col, &val) in row.cols.iter().zip(&row.vals) {
        let w = &enc[col as usize * h..(col as usize + 1) * h];
        for (o, &wi) in out.iter_mut().zip(w) {
            *o += val * wi;
        }
    }
}

/// Logistic sigmoid, stable for large |x|.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `v / ‖v‖₂`, or zeros when `v` is zero.
pub fn l2_normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if norm == 0.0 {
        return vec![0.0; v.len()];
    }
    v.iter().map(|&x| (x as f64 / norm) as f32).collect()
}

impl F32Weights {
    /// Latent vectors `z = x · W_enc` of a batch, `[B][H]`.
    pub fn encode(&self, rows: &[&SparseRow]) -> Array2<f32> {
        let h = self.shape.h;
        let mut z = Array2::<f32>::zeros((rows.len(), h));
        for (mut out, row) in z.rows_mut().into_iter().zip(rows) {
            let out = out.as_slice_mut().expect("fresh array is contiguous");
            encode_row(&self.enc, h, row, out);
        }
        z
    }

    /// Forward pass of a batch of sparse rows.
    pub fn forward(&self, rows: &[&SparseRow]) -> BatchOutput {
        let z = self.encode(rows);
        self.forward_latent(&z)
    }

    /// Linker and head on latent vectors `[B][H]`.
    pub fn forward_latent(&self, z: &Array2<f32>) -> BatchOutput {
        let Shape { h, e, c, .. } = self.shape;
        let link =
            ArrayView2::from_shape((e, h), &self.link).expect("linker shape checked at load");
        let head = ArrayView2::from_shape((c, e), &self.head).expect("head shape checked at load");
        let linked = z.dot(&link.t());
        let mut logits = linked.dot(&head.t());
        for mut row in logits.rows_mut() {
            for (l, &b) in row.iter_mut().zip(self.bias.iter()) {
                *l += b;
            }
        }
        BatchOutput { linked, logits }
    }
}
