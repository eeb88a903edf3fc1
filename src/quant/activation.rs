//! Dynamic activation quantization: the affine u8 parameters FBGEMM chooses
//! for a range, and quantization of one row with them.

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
    let scale_d = scale as f64;
    let zp_from_min = qmin as f64 - min as f64 / scale_d;
    let zp_from_max = qmax as f64 - max as f64 / scale_d;
    let err_min = (qmin as f64).abs() - (min as f64 / scale_d).abs();
    let err_max = (qmax as f64).abs() - (max as f64 / scale_d).abs();
    let initial = if err_min < err_max {
        zp_from_min
    } else {
        zp_from_max
    };
    let zero_point = if initial < qmin as f64 {
        qmin
    } else if initial > qmax as f64 {
        qmax
    } else {
        initial.round_ties_even() as i32
    };
    QParams { scale, zero_point }
}

/// Quantizes `x` into `out` (cleared) with parameters chosen from its own
/// range (per-row dynamic quantization), returning the parameters.
pub fn quantize_row(x: &[f32], qmax: i32, out: &mut Vec<u8>) -> QParams {
    let (min, max) = x
        .iter()
        .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let qp = choose_qparams(min, max, qmax);
    out.clear();
    let inv = 1.0 / qp.scale;
    out.extend(x.iter().map(|&v| quantize_one(v, inv, qp.zero_point, qmax)));
    qp
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
