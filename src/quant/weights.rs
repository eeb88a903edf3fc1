//! Symmetric per-output-channel int8 weights and their scales.

use std::sync::OnceLock;

use crate::buf::Buf;
use crate::network::{F32Weights, Shape};
use crate::quant::activation::Arithmetic;
use crate::quant::kernels::PackedInt8;
use crate::quant::plan::PlanCache;

/// Largest weight code: symmetric range [-127, 127].
pub const WMAX: f32 = 127.0;

/// int8 weights of the network, in the same layouts as [`F32Weights`].
#[derive(Debug)]
pub struct Int8Weights {
    /// The sizes.
    pub shape: Shape,
    /// Encoder codes `[D][H]`; output channel = column h.
    pub enc: Buf<i8>,
    /// Encoder scale per output channel `[H]`.
    pub enc_scale: Buf<f32>,
    /// Linker codes `[E][H]`.
    pub link: Buf<i8>,
    /// Linker scale per output `[E]`.
    pub link_scale: Buf<f32>,
    /// Head codes `[C][E]`.
    pub head: Buf<i8>,
    /// Head scale per output `[C]`.
    pub head_scale: Buf<f32>,
    /// Σ of each linker row's codes minus `H ·` its weight zero point, for
    /// the activation zero point.
    pub link_row_sums: Vec<i32>,
    /// Σ of each head row's codes minus `E ·` its weight zero point.
    pub head_row_sums: Vec<i32>,
    /// Weight zero points per output channel, when any is non-zero
    /// (imported affine checkpoints); `None` for symmetric weights.
    pub zero_points: Option<ZeroPoints>,
    /// Rounding rules of the pass: scyth's, or PyTorch's for imported models.
    pub arithmetic: Arithmetic,
    /// The linker and head packed for the SIMD GEMMs, made on first use
    /// (the encoder is never copied: it stays memory-mapped).
    packed: OnceLock<PackedLayers>,
    /// The folded matrices of the linked and folded plans, made on first
    /// use from the model's float weights (see [`crate::quant::plan`]).
    pub plans: PlanCache,
}

/// The dense layers packed for the GEMM kernels.
#[derive(Debug)]
pub struct PackedLayers {
    /// Linker `[E][H]` packed.
    pub link: PackedInt8,
    /// Head `[C][E]` packed.
    pub head: PackedInt8,
}

/// Weight zero points per output channel of each layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZeroPoints {
    /// Encoder, per latent unit `[H]`.
    pub enc: Vec<i32>,
    /// Linker `[E]`.
    pub link: Vec<i32>,
    /// Head `[C]`.
    pub head: Vec<i32>,
}

fn scale_of(max_abs: f32) -> f32 {
    if max_abs > 0.0 { max_abs / WMAX } else { 1.0 }
}

fn code(w: f32, scale: f32) -> i8 {
    (w / scale).round_ties_even().clamp(-WMAX, WMAX) as i8
}

/// Quantizes a row-major `[rows][cols]` matrix with one scale per row.
pub fn quantize_per_row(w: &[f32], cols: usize) -> (Vec<i8>, Vec<f32>) {
    let mut codes = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len() / cols.max(1));
    for row in w.chunks(cols.max(1)) {
        let s = scale_of(row.iter().fold(0.0f32, |m, &x| m.max(x.abs())));
        scales.push(s);
        codes.extend(row.iter().map(|&x| code(x, s)));
    }
    (codes, scales)
}

/// Quantizes a row-major `[rows][cols]` matrix with one scale per column.
pub fn quantize_per_column(w: &[f32], cols: usize) -> (Vec<i8>, Vec<f32>) {
    let mut max_abs = vec![0.0f32; cols];
    for row in w.chunks(cols) {
        for (m, &x) in max_abs.iter_mut().zip(row) {
            *m = m.max(x.abs());
        }
    }
    let scales: Vec<f32> = max_abs.into_iter().map(scale_of).collect();
    let mut codes = Vec::with_capacity(w.len());
    for row in w.chunks(cols) {
        codes.extend(row.iter().zip(&scales).map(|(&x, &s)| code(x, s)));
    }
    (codes, scales)
}

/// Σ of the codes of each row of a `[rows][cols]` matrix.
pub fn row_sums(codes: &[i8], cols: usize) -> Vec<i32> {
    codes
        .chunks(cols.max(1))
        .map(|r| r.iter().map(|&c| c as i32).sum())
        .collect()
}

impl Int8Weights {
    /// Quantizes f32 weights (per output channel, symmetric).
    pub fn quantize(w: &F32Weights) -> Int8Weights {
        let Shape { h, e, .. } = w.shape;
        let (enc, enc_scale) = quantize_per_column(&w.enc, h);
        let (link, link_scale) = quantize_per_row(&w.link, h);
        let (head, head_scale) = quantize_per_row(&w.head, e);
        Int8Weights::from_parts(
            w.shape,
            enc.into(),
            enc_scale.into(),
            link.into(),
            link_scale.into(),
            head.into(),
            head_scale.into(),
        )
    }

    /// Assembles weights from stored parts, deriving the row sums.
    pub fn from_parts(
        shape: Shape,
        enc: Buf<i8>,
        enc_scale: Buf<f32>,
        link: Buf<i8>,
        link_scale: Buf<f32>,
        head: Buf<i8>,
        head_scale: Buf<f32>,
    ) -> Int8Weights {
        let link_row_sums = row_sums(&link, shape.h);
        let head_row_sums = row_sums(&head, shape.e);
        Int8Weights {
            shape,
            enc,
            enc_scale,
            link,
            link_scale,
            head,
            head_scale,
            link_row_sums,
            head_row_sums,
            zero_points: None,
            arithmetic: Arithmetic::Scyth,
            packed: OnceLock::new(),
            plans: PlanCache::default(),
        }
    }

    /// The linker and head packed for the GEMM kernels (packed once, on
    /// first use: about a millisecond per MB of weights).
    pub fn packed(&self) -> &PackedLayers {
        self.packed.get_or_init(|| {
            let Shape { h, e, c, .. } = self.shape;
            PackedLayers {
                link: PackedInt8::pack(&self.link, e, h),
                head: PackedInt8::pack(&self.head, c, e),
            }
        })
    }

    /// Switches to PyTorch's rounding rules and sets the weight zero points
    /// (all-zero points are dropped: symmetric weights need no correction).
    pub fn with_fbgemm(mut self, zero_points: Option<ZeroPoints>) -> Int8Weights {
        self.arithmetic = Arithmetic::Fbgemm;
        let zp = zero_points.filter(|z| {
            [&z.enc, &z.link, &z.head]
                .iter()
                .any(|v| v.iter().any(|&x| x != 0))
        });
        if let Some(z) = &zp {
            let Shape { h, e, .. } = self.shape;
            for (s, &p) in self.link_row_sums.iter_mut().zip(&z.link) {
                *s -= h as i32 * p;
            }
            for (s, &p) in self.head_row_sums.iter_mut().zip(&z.head) {
                *s -= e as i32 * p;
            }
        }
        self.zero_points = zp;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_row_and_per_column_scales() {
        let w = [1.0f32, -0.5, 0.25, 0.0, 0.0, 0.0];
        let (codes, scales) = quantize_per_row(&w, 3);
        assert_eq!(scales, [1.0 / 127.0, 1.0]);
        assert_eq!(codes, [127, -64, 32, 0, 0, 0]);
        let (codes, scales) = quantize_per_column(&w, 3);
        assert_eq!(scales, [1.0 / 127.0, 0.5 / 127.0, 0.25 / 127.0]);
        assert_eq!(codes, [127, -127, 127, 0, 0, 0]);
        assert_eq!(row_sums(&codes, 3), [127, 0]);
    }
}
