//! The int8 forward pass of one document. Activations are quantized per
//! document, so a result never depends on which documents share a batch.

use crate::features::SparseRow;
use crate::quant::activation::{
    Arithmetic, QMAX_REDUCED, QParams, choose_qparams_fbgemm, quantize_one, quantize_one_fma,
    quantize_row_with,
};
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
pub fn input_codes(arithmetic: Arithmetic, vals: &[f32], codes: &mut Vec<i32>) -> QParams {
    let max = vals.iter().fold(0.0f32, |m, &v| m.max(v));
    codes.clear();
    match arithmetic {
        Arithmetic::Scyth => {
            let qp = crate::quant::choose_qparams(0.0, max, QMAX_REDUCED);
            let inv = 1.0 / qp.scale;
            codes.extend(vals.iter().map(|&v| {
                quantize_one(v, inv, qp.zero_point, QMAX_REDUCED) as i32 - qp.zero_point
            }));
            qp
        }
        Arithmetic::Fbgemm => {
            // The values and the implicit zeros are ≥ 0: the zero point is 0.
            let qp = choose_qparams_fbgemm(0.0, max, QMAX_REDUCED);
            let inv = 1.0 / qp.scale;
            codes.extend(
                vals.iter()
                    .map(|&v| quantize_one_fma(v, inv, qp.zero_point) as i32 - qp.zero_point),
            );
            qp
        }
    }
}

/// The code of value `v` in a row whose largest value is 1.0 (any row with
/// a DIRECT feature): the AGR level of a trigram, a function of its score
/// alone.
pub fn unit_row_code(arithmetic: Arithmetic, v: f32) -> i32 {
    let mut codes = Vec::with_capacity(2);
    input_codes(arithmetic, &[1.0, v], &mut codes);
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
    let qp = input_codes(w.arithmetic, &row.vals, &mut s.codes);
    s.acc.clear();
    s.acc.resize(shape.h, 0);
    kernel.sparse_accumulate(&w.enc, shape.h, &row.cols, &s.codes, &mut s.acc);
    if let Some(zp) = &w.zero_points {
        // (a − 0)(b − zp_b) summed: subtract zp_b · Σ a per latent unit.
        let code_sum: i32 = s.codes.iter().sum();
        for (a, &z) in s.acc.iter_mut().zip(&zp.enc) {
            *a -= code_sum * z;
        }
    }
    s.act.clear();
    s.act.extend(
        s.acc
            .iter()
            .zip(w.enc_scale.iter())
            .map(|(&a, &ws)| a as f32 * (qp.scale * ws)),
    );

    let zp = w.zero_points.as_ref();
    let linked = dense_layer(
        kernel,
        w.arithmetic,
        &s.act,
        Layer {
            w: &w.link,
            scales: &w.link_scale,
            row_sums: &w.link_row_sums,
            zero_points: zp.map(|z| &z.link[..]),
            bias: None,
        },
        shape.e,
        &mut s.q,
        &mut s.acc,
    );
    let logits = dense_layer(
        kernel,
        w.arithmetic,
        &linked,
        Layer {
            w: &w.head,
            scales: &w.head_scale,
            row_sums: &w.head_row_sums,
            zero_points: zp.map(|z| &z.head[..]),
            bias: Some(bias),
        },
        shape.c,
        &mut s.q,
        &mut s.acc,
    );
    Int8Output { linked, logits }
}

/// The stored parts of one dense int8 layer.
struct Layer<'a> {
    w: &'a [i8],
    scales: &'a [f32],
    row_sums: &'a [i32],
    zero_points: Option<&'a [i32]>,
    bias: Option<&'a [f32]>,
}

/// One dynamically quantized Linear: quantize `x` per row, integer GEMV,
/// correct for the zero points, dequantize, add the bias (fused into the
/// multiply with PyTorch's rules, as FBGEMM's compiled AVX2 code does).
fn dense_layer(
    kernel: &dyn Int8Kernel,
    arith: Arithmetic,
    x: &[f32],
    layer: Layer<'_>,
    n_out: usize,
    q: &mut Vec<u8>,
    acc: &mut Vec<i32>,
) -> Vec<f32> {
    let qp = quantize_row_with(x, QMAX_REDUCED, arith, q);
    acc.clear();
    acc.resize(n_out, 0);
    kernel.gemv(q, layer.w, acc);
    let code_sum: i32 = match layer.zero_points {
        Some(_) => q.iter().map(|&c| c as i32).sum(),
        None => 0,
    };
    (0..n_out)
        .map(|o| {
            let mut a = acc[o] - qp.zero_point * layer.row_sums[o];
            if let Some(zp) = layer.zero_points {
                a -= code_sum * zp[o];
            }
            let multiplier = qp.scale * layer.scales[o];
            match (layer.bias, arith) {
                (Some(b), Arithmetic::Fbgemm) => (a as f32).mul_add(multiplier, b[o]),
                (Some(b), Arithmetic::Scyth) => a as f32 * multiplier + b[o],
                (None, _) => a as f32 * multiplier,
            }
        })
        .collect()
}
