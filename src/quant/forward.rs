//! The int8 forward pass of one document. Activations are quantized per
//! document, so a result never depends on which documents share a batch.

use crate::features::SparseRow;
use crate::quant::activation::{
    Arithmetic, QMAX_REDUCED, QParams, choose_qparams_fbgemm, quantize_one, quantize_one_fma,
    quantize_row_with,
};
use crate::quant::kernels::{DenseInt8, Int8Kernel};
use crate::quant::weights::Int8Weights;

/// Reusable per-thread buffers of the int8 pass (one document or a batch).
#[derive(Debug, Default)]
pub struct Int8Scratch {
    pub(crate) codes: Vec<i32>,
    pub(crate) acc: Vec<i32>,
    /// Encoder outputs, `[batch][H]`.
    pub(crate) act: Vec<f32>,
    /// Linker outputs, `[batch][E]`.
    pub(crate) linked: Vec<f32>,
    /// Logits, `[batch][C]`.
    pub(crate) logits: Vec<f32>,
    /// One row's codes before they are copied into `x`.
    q: Vec<u8>,
    /// Quantized layer inputs, `[batch][k4]`.
    x: Vec<u8>,
    /// Per document: activation parameters and code sum of the layer input.
    rows: Vec<(QParams, i32)>,
}

/// The results of [`forward_int8_batch`], borrowed from the scratch.
#[derive(Debug, Clone, Copy)]
pub struct Int8Batch<'a> {
    /// Linker outputs `[batch][E]`.
    pub linked: &'a [f32],
    /// Logits `[batch][C]`.
    pub logits: &'a [f32],
    e: usize,
    c: usize,
}

impl<'a> Int8Batch<'a> {
    /// Documents in the batch.
    pub fn len(&self) -> usize {
        self.logits.len().checked_div(self.c).unwrap_or(0)
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.logits.is_empty()
    }

    /// Unnormalized linker output of document `i`.
    pub fn linked(&self, i: usize) -> &'a [f32] {
        &self.linked[i * self.e..(i + 1) * self.e]
    }

    /// Logits of document `i`.
    pub fn logits(&self, i: usize) -> &'a [f32] {
        &self.logits[i * self.c..(i + 1) * self.c]
    }
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
    let quantizer = RowQuantizer::for_max(arithmetic, max);
    codes.clear();
    // The arithmetic is chosen once per row, not per value.
    match arithmetic {
        Arithmetic::Scyth => codes.extend(vals.iter().map(|&v| quantizer.code_scyth(v))),
        Arithmetic::Fbgemm => codes.extend(vals.iter().map(|&v| quantizer.code_fbgemm(v))),
    }
    quantizer.qp
}

/// The code of value `v` in a row whose largest value is 1.0 (any row with
/// a DIRECT feature): the AGR level of a trigram, a function of its score
/// alone.
pub fn unit_row_code(arithmetic: Arithmetic, v: f32) -> i32 {
    // The row [1.0, v], as `input_codes` would quantize it.
    RowQuantizer::for_max(arithmetic, v.max(1.0)).code(v)
}

/// The quantization of one row's values, fixed by the row's largest value:
/// what [`input_codes`] applies to every value. For a row whose largest
/// value is 1.0 (every row with a DIRECT feature) it is the same for all
/// rows, so a value's code can be computed alone, which is what lets the
/// stream patch a held row's accumulators by code deltas.
#[derive(Debug, Clone, Copy)]
pub struct RowQuantizer {
    arithmetic: Arithmetic,
    /// Scale and zero point of the row's codes.
    pub qp: QParams,
    inv: f32,
}

impl RowQuantizer {
    /// The quantizer of a row whose largest value is `max` (values ≥ 0).
    pub fn for_max(arithmetic: Arithmetic, max: f32) -> RowQuantizer {
        let qp = match arithmetic {
            Arithmetic::Scyth => crate::quant::choose_qparams(0.0, max, QMAX_REDUCED),
            // The values and the implicit zeros are ≥ 0: the zero point is 0.
            Arithmetic::Fbgemm => choose_qparams_fbgemm(0.0, max, QMAX_REDUCED),
        };
        RowQuantizer {
            arithmetic,
            qp,
            inv: 1.0 / qp.scale,
        }
    }

    /// The code of value `v` (zero point subtracted; 0 for 0.0).
    #[inline]
    pub fn code(&self, v: f32) -> i32 {
        match self.arithmetic {
            Arithmetic::Scyth => self.code_scyth(v),
            Arithmetic::Fbgemm => self.code_fbgemm(v),
        }
    }

    #[inline]
    fn code_scyth(&self, v: f32) -> i32 {
        let zp = self.qp.zero_point;
        quantize_one(v, self.inv, zp, QMAX_REDUCED) as i32 - zp
    }

    #[inline]
    fn code_fbgemm(&self, v: f32) -> i32 {
        let zp = self.qp.zero_point;
        quantize_one_fma(v, self.inv, zp) as i32 - zp
    }
}

/// Runs the int8 network on one sparse row; `bias` is the head bias. The
/// same code as a batch of one: a document's result never depends on the
/// batch it is classified in.
pub fn forward_int8(
    w: &Int8Weights,
    bias: &[f32],
    kernel: &dyn Int8Kernel,
    row: &SparseRow,
    s: &mut Int8Scratch,
) -> Int8Output {
    let out = forward_int8_batch(w, bias, kernel, &[row], s);
    Int8Output {
        linked: out.linked(0).to_vec(),
        logits: out.logits(0).to_vec(),
    }
}

/// Runs the int8 network on a batch of sparse rows: the encoder gathers per
/// document, then the linker and the head each run as one integer GEMM over
/// the batch. Activations are still quantized per document (per row), and
/// every float operation is the per-document one, so each result equals
/// [`forward_int8`] on that document alone, bit for bit.
pub fn forward_int8_batch<'s>(
    w: &Int8Weights,
    bias: &[f32],
    kernel: &dyn Int8Kernel,
    rows: &[&SparseRow],
    s: &'s mut Int8Scratch,
) -> Int8Batch<'s> {
    let shape = w.shape;
    let packed = w.packed();
    encode_batch(w, kernel, rows, s);

    let zp = w.zero_points.as_ref();
    let act = std::mem::take(&mut s.act);
    let mut linked = std::mem::take(&mut s.linked);
    dense_layer(
        kernel,
        w.arithmetic,
        &act,
        rows.len(),
        Layer {
            w: DenseInt8 {
                w: &w.link,
                packed: &packed.link,
            },
            scales: &w.link_scale,
            row_sums: &w.link_row_sums,
            zero_points: zp.map(|z| &z.link[..]),
            bias: None,
        },
        s,
        &mut linked,
    );
    let mut logits = std::mem::take(&mut s.logits);
    dense_layer(
        kernel,
        w.arithmetic,
        &linked,
        rows.len(),
        Layer {
            w: DenseInt8 {
                w: &w.head,
                packed: &packed.head,
            },
            scales: &w.head_scale,
            row_sums: &w.head_row_sums,
            zero_points: zp.map(|z| &z.head[..]),
            bias: Some(bias),
        },
        s,
        &mut logits,
    );
    s.act = act;
    s.linked = linked;
    s.logits = logits;
    Int8Batch {
        linked: &s.linked,
        logits: &s.logits,
        e: shape.e,
        c: shape.c,
    }
}

/// The int8 encoder of a batch into `s.act` (`[batch][H]`, replaced):
/// per document, its input codes gathered over the active encoder rows,
/// corrected for weight zero points and dequantized. Shared by the full and
/// the linked plan, so both see the same latent vectors.
pub(crate) fn encode_batch(
    w: &Int8Weights,
    kernel: &dyn Int8Kernel,
    rows: &[&SparseRow],
    s: &mut Int8Scratch,
) {
    let shape = w.shape;
    // Encoder: input values are ≥ 0, so the zero point is 0 and inactive
    // columns contribute nothing; only active rows are gathered.
    s.act.clear();
    for row in rows {
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
        s.act.extend(
            s.acc
                .iter()
                .zip(w.enc_scale.iter())
                .map(|(&a, &ws)| a as f32 * (qp.scale * ws)),
        );
    }
}

/// The stored parts of one dense int8 layer.
pub(crate) struct Layer<'a> {
    pub(crate) w: DenseInt8<'a>,
    pub(crate) scales: &'a [f32],
    pub(crate) row_sums: &'a [i32],
    pub(crate) zero_points: Option<&'a [i32]>,
    pub(crate) bias: Option<&'a [f32]>,
}

/// One dynamically quantized Linear over a batch: quantize each row of `x`
/// (`[batch][k]`) with its own parameters, one integer GEMM, then per row
/// correct for the zero points, dequantize and add the bias (fused into the
/// multiply with PyTorch's rules, as FBGEMM's compiled AVX2 code does) into
/// `out` (`[batch][n]`, replaced).
pub(crate) fn dense_layer(
    kernel: &dyn Int8Kernel,
    arith: Arithmetic,
    x: &[f32],
    batch: usize,
    layer: Layer<'_>,
    s: &mut Int8Scratch,
    out: &mut Vec<f32>,
) {
    let (n, k, k4) = (layer.w.packed.n, layer.w.packed.k, layer.w.packed.k4);
    s.x.clear();
    s.x.resize(batch * k4, 0);
    s.rows.clear();
    for b in 0..batch {
        let qp = quantize_row_with(&x[b * k..(b + 1) * k], QMAX_REDUCED, arith, &mut s.q);
        s.x[b * k4..b * k4 + k].copy_from_slice(&s.q);
        let code_sum: i32 = match layer.zero_points {
            Some(_) => s.q.iter().map(|&c| c as i32).sum(),
            None => 0,
        };
        s.rows.push((qp, code_sum));
    }
    s.acc.clear();
    s.acc.resize(batch * n, 0);
    kernel.gemm(&s.x, batch, layer.w, &mut s.acc);
    out.clear();
    for (b, &(qp, code_sum)) in s.rows.iter().enumerate() {
        let acc = &s.acc[b * n..(b + 1) * n];
        out.extend((0..n).map(|o| {
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
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::kernels::{PackedInt8, available_kernels};
    use crate::quant::weights::{quantize_per_row, row_sums};

    /// The int8 dense layer against the f32 product `x · Wᵀ`. Rounding each
    /// activation to its step `s_x` errs by at most `s_x / 2`, each weight
    /// by `s_w[o] / 2`, so output `o` is off by at most
    /// `Σ_i (|x_i| · s_w[o] + |W_oi| · s_x + s_x · s_w[o] / 2) / 2`, plus f32
    /// rounding of the sums (1e-5 relative here). Every kernel gives the
    /// same integers, so the same bound holds for all of them; the test
    /// also checks that the bound is not vacuous (the worst error reaches
    /// at least 2% of it: the errors are a random walk, ~1/√k of the sum).
    #[test]
    fn dense_layer_is_within_the_quantization_bound_of_f32() {
        let (batch, n, k) = (6, 40, 96);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
        };
        let wf: Vec<f32> = (0..n * k).map(|_| uniform() * 0.3).collect();
        let x: Vec<f32> = (0..batch * k).map(|_| uniform()).collect();
        let (codes, scales) = quantize_per_row(&wf, k);
        let sums = row_sums(&codes, k);
        let packed = PackedInt8::pack(&codes, n, k);
        let mut worst_ratio = 0.0f32;
        for kernel in available_kernels() {
            let mut s = Int8Scratch::default();
            let mut out = Vec::new();
            let layer = Layer {
                w: DenseInt8 {
                    w: &codes,
                    packed: &packed,
                },
                scales: &scales,
                row_sums: &sums,
                zero_points: None,
                bias: None,
            };
            dense_layer(
                kernel,
                Arithmetic::Scyth,
                &x,
                batch,
                layer,
                &mut s,
                &mut out,
            );
            for b in 0..batch {
                let xb = &x[b * k..(b + 1) * k];
                let (lo, hi) = xb
                    .iter()
                    .fold((0f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
                let sx = (hi - lo) / QMAX_REDUCED as f32;
                for o in 0..n {
                    let w = &wf[o * k..(o + 1) * k];
                    let exact: f32 = xb.iter().zip(w).map(|(a, c)| a * c).sum();
                    let bound: f32 = xb
                        .iter()
                        .zip(w)
                        .map(|(a, c)| {
                            (a.abs() * scales[o] + c.abs() * sx + sx * scales[o] / 2.0) / 2.0
                        })
                        .sum::<f32>()
                        + 1e-5 * exact.abs().max(1.0);
                    let err = (out[b * n + o] - exact).abs();
                    assert!(
                        err <= bound,
                        "kernel {} doc {b} out {o}: error {err} > bound {bound}",
                        kernel.name()
                    );
                    worst_ratio = worst_ratio.max(err / bound);
                }
            }
        }
        assert!(
            worst_ratio > 0.02,
            "bound too loose to test anything ({worst_ratio})"
        );
    }
}
