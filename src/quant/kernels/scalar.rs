//! The portable reference kernel: plain loops over the stored layouts, the
//! definition every SIMD kernel is tested against.

use super::{DenseInt8, Int8Kernel, check_gemm};

/// The portable reference kernel (baseline x86-64: SSE2, or any target).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScalarKernel;

/// `acc[j] += Σ_i codes[i] · rows[cols[i]·width + j]`, row by row.
#[inline(always)]
pub(crate) fn sparse_accumulate_loop(
    rows: &[i8],
    width: usize,
    cols: &[u32],
    codes: &[i32],
    acc: &mut [i32],
) {
    for (&col, &code) in cols.iter().zip(codes) {
        if code == 0 {
            continue;
        }
        let row = &rows[col as usize * width..(col as usize + 1) * width];
        for (a, &w) in acc.iter_mut().zip(row) {
            *a = a.wrapping_add(code.wrapping_mul(w as i32));
        }
    }
}

/// `out[b·n + o] = Σ_i x[b·k4 + i] · w[o·k + i]` over the row-major weights.
#[inline(always)]
pub(crate) fn gemm_loop(x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
    check_gemm(x, batch, &w, out);
    let (n, k, k4) = (w.packed.n, w.packed.k, w.packed.k4);
    for b in 0..batch {
        let xb = &x[b * k4..b * k4 + k];
        for (o, slot) in out[b * n..(b + 1) * n].iter_mut().enumerate() {
            let row = &w.w[o * k..(o + 1) * k];
            *slot = xb
                .iter()
                .zip(row)
                .fold(0i32, |s, (&a, &c)| s.wrapping_add(a as i32 * c as i32));
        }
    }
}

impl Int8Kernel for ScalarKernel {
    fn name(&self) -> &'static str {
        "scalar"
    }

    fn sparse_accumulate(
        &self,
        rows: &[i8],
        width: usize,
        cols: &[u32],
        codes: &[i32],
        acc: &mut [i32],
    ) {
        sparse_accumulate_loop(rows, width, cols, codes, acc);
    }

    fn gemm(&self, x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
        gemm_loop(x, batch, w, out);
    }
}
