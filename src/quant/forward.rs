//! The int8 forward pass of one document. Activations are quantized per
//! document, so a result never depends on which documents share a batch.

use crate::features::SparseRow;
use crate::quant::activation::{QMAX_REDUCED, QParams, quantize_one, quantize_row};
use crate::quant::kernel::Int8Kernel;
use crate::quant::weights::Int8Weights;

/// Reusable per-thread buffers of the int8 pass.
#[derive(Debug, Default)]
pub struct Int8Scratch {
    codes: Vec<i32>,
    acc: Vec<i32>,
    act: Vec<f32>,
    q: Vec<u8>,
}

/// Result of the int8 pass for one document (dequantized to f32).
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Output {
    /// Unnormalized linker output `[E]`.
    pub linked: Vec<f32>,
    /// Category logits `[C]`.
    pub logits: Vec<f32>,
}

/// The int8 encoder input of a sparse row: its values quantized per row
/// (zero point subtracted) into `codes` (cleared), and the parameters used.
/// Feature values are ≥ 0, so the zero point is 0 and only the set columns
/// carry codes. Two rows with the same columns and codes give the same int8
/// result, which is what lets the stream skip re-classifying documents whose
/// statistics moved without moving their codes.
pub fn input_codes(vals: &[f32], codes: &mut Vec<i32>) -> QParams {
    let max = vals.iter().fold(0.0f32, |m, &v| m.max(v));
    let qp = crate::quant::choose_qparams(0.0, max, QMAX_REDUCED);
    let inv = 1.0 / qp.scale;
    codes.clear();
    codes.extend(
        vals.iter()
            .map(|&v| quantize_one(v, inv, qp.zero_point, QMAX_REDUCED) as i32 - qp.zero_point),
    );
    qp
}

/// The code of value `v` in a row whose largest value is 1.0 (any row with
/// a DIRECT feature): the AGR level of a trigram, a function of its score
/// alone.
pub fn unit_row_code(v: f32) -> i32 {
    let mut codes = Vec::with_capacity(2);
    input_codes(&[1.0, v], &mut codes);
    codes[1]
}

/// Runs the int8 network on one sparse row; `bias` is the head bias.
pub fn forward_int8(
    w: &Int8Weights,
    bias: &[f32],
    kernel: &dyn Int8Kernel,
    row: &SparseRow,
    s: &mut Int8Scratch,
) -> Int8Output {
    let shape = w.shape;
    // Encoder: input values are ≥ 0, so the zero point is 0 and inactive
    // columns contribute nothing; only active rows are gathered.
    let qp = input_codes(&row.vals, &mut s.codes);
    s.acc.clear();
    s.acc.resize(shape.h, 0);
    kernel.sparse_accumulate(&w.enc, shape.h, &row.cols, &s.codes, &mut s.acc);
    s.act.clear();
    s.act.extend(
        s.acc
            .iter()
            .zip(w.enc_scale.iter())
            .map(|(&a, &ws)| a as f32 * (qp.scale * ws)),
    );

    let linked = dense_layer(
        kernel,
        &s.act,
        &w.link,
        &w.link_scale,
        &w.link_row_sums,
        None,
        shape.e,
        &mut s.q,
        &mut s.acc,
    );
    let logits = dense_layer(
        kernel,
        &linked,
        &w.head,
        &w.head_scale,
        &w.head_row_sums,
        Some(bias),
        shape.c,
        &mut s.q,
        &mut s.acc,
    );
    Int8Output { linked, logits }
}

/// One dynamically quantized Linear: quantize `x` per row, integer GEMV,
/// correct for the zero point, dequantize, add the bias.
#[allow(clippy::too_many_arguments)]
fn dense_layer(
    kernel: &dyn Int8Kernel,
    x: &[f32],
    w: &[i8],
    scales: &[f32],
    row_sums: &[i32],
    bias: Option<&[f32]>,
    n_out: usize,
    q: &mut Vec<u8>,
    acc: &mut Vec<i32>,
) -> Vec<f32> {
    let qp = quantize_row(x, QMAX_REDUCED, q);
    acc.clear();
    acc.resize(n_out, 0);
    kernel.gemv(q, w, acc);
    (0..n_out)
        .map(|o| {
            let a = acc[o] - qp.zero_point * row_sums[o];
            let y = a as f32 * (qp.scale * scales[o]);
            match bias {
                Some(b) => y + b[o],
                None => y,
            }
        })
        .collect()
}
