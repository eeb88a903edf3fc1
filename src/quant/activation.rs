//! Dynamic activation quantization: the affine u8 parameters FBGEMM chooses
//! for a range, and quantization of one row with them.

/// Which rounding rules the int8 pass follows. Both quantize activations
/// per document with `reduce_range`; they differ only in last-bit details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arithmetic {
    /// scyth's own rules (models scyth trains): f32 scale, product rounded
    /// before the zero point is added, bias added after the product.
    #[default]
    Scyth,
    /// PyTorch's FBGEMM dynamic quantization on x86, bit for bit (imported
    /// checkpoints): f64 scale for the zero point, the small-scale floor,
    /// fused multiply-adds for the zero point and the bias.
    Fbgemm,
}

/// Affine quantization parameters: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// Step between codes.
    pub scale: f32,
    /// Code of real zero.
    pub zero_point: i32,
}

/// Largest activation code with `reduce_range` (7 bits), which keeps pairs of
/// u8 × i8 products inside i16 for the SIMD kernels.
pub const QMAX_REDUCED: i32 = 127;

/// Parameters for values in `[min, max]` mapped onto `[0, qmax]`, following
/// FBGEMM's `ChooseQuantizationParams`: the range is widened to include 0,
/// a zero scale becomes 0.1, and the zero point is taken from the end with
/// the smaller rounding error, then clamped and rounded to nearest even.
pub fn choose_qparams(min: f32, max: f32, qmax: i32) -> QParams {
    let min = min.min(0.0);
    let max = max.max(0.0);
    let qmin = 0i32;
    let mut scale = ((max as f64 - min as f64) / (qmax - qmin) as f64) as f32;
    if scale == 0.0 || (1.0 / scale).is_infinite() {
        scale = 0.1;
    }
    QParams {
        scale,
        zero_point: nudged_zero_point(min, max, scale as f64, qmin, qmax),
    }
}

/// Scales below this are raised to it by PyTorch's
/// `quant_utils::ChooseQuantizationParams` (with the range widened to match).
pub const SMALL_SCALE_THRESHOLD: f32 = 6.1e-5;

/// The parameters PyTorch's dynamic quantization chooses on x86
/// (`quant_utils::ChooseQuantizationParams`, the caller having already
/// halved `qmax` for `reduce_range`): like [`choose_qparams`], but the scale
/// stays in f64 until the zero point is chosen, and scales below
/// [`SMALL_SCALE_THRESHOLD`] are raised to it.
pub fn choose_qparams_fbgemm(min: f32, max: f32, qmax: i32) -> QParams {
    let mut min = min.min(0.0);
    let mut max = max.max(0.0);
    let qmin = 0i32;
    let levels = qmax - qmin;
    let mut scale = (max as f64 - min as f64) / levels as f64;
    if scale as f32 == 0.0 || (1.0 / scale as f32).is_infinite() {
        scale = 0.1;
    }
    if scale < SMALL_SCALE_THRESHOLD as f64 {
        let original = scale as f32;
        scale = SMALL_SCALE_THRESHOLD as f64;
        if min == 0.0 {
            max = SMALL_SCALE_THRESHOLD * levels as f32;
        } else if max == 0.0 {
            min = -SMALL_SCALE_THRESHOLD * levels as f32;
        } else {
            let amplifier = SMALL_SCALE_THRESHOLD / original;
            min *= amplifier;
            max *= amplifier;
        }
    }
    QParams {
        scale: scale as f32,
        zero_point: nudged_zero_point(min, max, scale, qmin, qmax),
    }
}

/// The zero point from whichever end of `[min, max]` has the smaller
/// rounding error, clamped to `[qmin, qmax]` and rounded to nearest even.
fn nudged_zero_point(min: f32, max: f32, scale: f64, qmin: i32, qmax: i32) -> i32 {
    let zp_from_min = qmin as f64 - min as f64 / scale;
    let zp_from_max = qmax as f64 - max as f64 / scale;
    let err_min = (qmin as f64).abs() - (min as f64 / scale).abs();
    let err_max = (qmax as f64).abs() - (max as f64 / scale).abs();
    let initial = if err_min < err_max {
        zp_from_min
    } else {
        zp_from_max
    };
    if initial < qmin as f64 {
        qmin
    } else if initial > qmax as f64 {
        qmax
    } else {
        initial.round_ties_even() as i32
    }
}

/// Quantizes `x` into `out` (cleared) with parameters chosen from its own
/// range (per-row dynamic quantization), returning the parameters.
pub fn quantize_row(x: &[f32], qmax: i32, out: &mut Vec<u8>) -> QParams {
    quantize_row_with(x, qmax, Arithmetic::Scyth, out)
}

/// [`quantize_row`] with the given rounding rules.
pub fn quantize_row_with(x: &[f32], qmax: i32, arith: Arithmetic, out: &mut Vec<u8>) -> QParams {
    let (min, max) = x
        .iter()
        .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    out.clear();
    match arith {
        Arithmetic::Scyth => {
            let qp = choose_qparams(min, max, qmax);
            let inv = 1.0 / qp.scale;
            out.extend(x.iter().map(|&v| quantize_one(v, inv, qp.zero_point, qmax)));
            qp
        }
        Arithmetic::Fbgemm => {
            let qp = choose_qparams_fbgemm(min, max, qmax);
            let inv = 1.0 / qp.scale;
            out.extend(x.iter().map(|&v| quantize_one_fma(v, inv, qp.zero_point)));
            qp
        }
    }
}

/// One code as FBGEMM's (legacy) AVX2 quantizer makes it:
/// `clamp(round_half_even(fma(v, 1/scale, zero_point)), 0, 255)`, the
/// zero point added before the single rounding.
pub fn quantize_one_fma(v: f32, inv_scale: f32, zero_point: i32) -> u8 {
    // The largest f32 below i32::MAX, as FBGEMM clips before converting.
    const MAX_CONVERTIBLE: f32 = 2_147_483_520.0;
    let t = v.mul_add(inv_scale, zero_point as f32).min(MAX_CONVERTIBLE);
    (t.round_ties_even() as i32).clamp(0, 255) as u8
}

/// One code: `clamp(round_half_even(v / scale) + zero_point, 0, qmax)`.
pub fn quantize_one(v: f32, inv_scale: f32, zero_point: i32, qmax: i32) -> u8 {
    let q = (v * inv_scale).round_ties_even() as i32 + zero_point;
    q.clamp(0, qmax) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonnegative_range_has_zero_point_zero() {
        let qp = choose_qparams(0.0, 1.0, QMAX_REDUCED);
        assert_eq!(qp.zero_point, 0);
        assert!((qp.scale - 1.0 / 127.0).abs() < 1e-9);
        let mut q = Vec::new();
        quantize_row(&[1.0, 0.0, 0.5, 0.07], QMAX_REDUCED, &mut q);
        assert_eq!(q, [127, 0, 64, 9]);
    }

    /// Pinned against PyTorch 2.15 (`torch._choose_qparams_per_tensor(x,
    /// reduce_range=True)`, its scale rounded to f32 as FBGEMM uses it),
    /// including the small-scale floor on both sides of zero.
    #[test]
    fn fbgemm_qparams_match_pytorch() {
        let cases: [(f32, f32, u32, i32); 7] = [
            (0.0, 1e-3, 0x387f_da40, 0),
            (-2e-4, 5e-4, 0x387f_da40, 36),
            (-3e-3, 0.0, 0x387f_da40, 127),
            (0.0, 0.0, 0x3dcc_cccd, 0),
            (-1.5, 2.0, 0x3ce1_c387, 54),
            (-0.37, 0.0123, 0x3b45_4762, 123),
            (1e-9, 2e-9, 0x387f_da40, 0),
        ];
        for (lo, hi, scale_bits, zp) in cases {
            let qp = choose_qparams_fbgemm(lo, hi, QMAX_REDUCED);
            assert_eq!(
                (qp.scale.to_bits(), qp.zero_point),
                (scale_bits, zp),
                "[{lo}, {hi}]"
            );
        }
    }

    #[test]
    fn zero_row_uses_fallback_scale() {
        let mut q = Vec::new();
        let qp = quantize_row(&[0.0; 4], QMAX_REDUCED, &mut q);
        assert_eq!(qp.scale, 0.1);
        assert_eq!(q, [0; 4]);
    }

    #[test]
    fn signed_range_round_trips_within_half_a_step() {
        let x = [-1.5f32, -0.2, 0.0, 0.3, 2.0];
        let mut q = Vec::new();
        let qp = quantize_row(&x, QMAX_REDUCED, &mut q);
        for (&v, &c) in x.iter().zip(&q) {
            let back = qp.scale * (c as i32 - qp.zero_point) as f32;
            assert!((back - v).abs() <= qp.scale * 0.5 + 1e-6, "{v} -> {back}");
        }
    }
}
