//! The integer kernels behind one small trait, so faster instruction-set
//! versions can replace the portable one without touching callers.

/// Integer building blocks of the int8 forward pass.
pub trait Int8Kernel: Send + Sync {
    /// Name for reports.
    fn name(&self) -> &'static str;

    /// Sparse gather-accumulate: `acc[j] += Σ_i codes[i] · rows[cols[i]·width + j]`
    /// (the encoder over a document's active columns).
    fn sparse_accumulate(
        &self,
        rows: &[i8],
        width: usize,
        cols: &[u32],
        codes: &[i32],
        acc: &mut [i32],
    );

    /// Dense GEMV: `out[o] = Σ_i x[i] · w[o·x.len() + i]` for each output `o`.
    fn gemv(&self, x: &[u8], w: &[i8], out: &mut [i32]);
}

/// The portable reference kernel: plain loops the compiler may vectorize.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScalarKernel;

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
        for (&col, &code) in cols.iter().zip(codes) {
            if code == 0 {
                continue;
            }
            let row = &rows[col as usize * width..(col as usize + 1) * width];
            for (a, &w) in acc.iter_mut().zip(row) {
                *a += code * w as i32;
            }
        }
    }

    fn gemv(&self, x: &[u8], w: &[i8], out: &mut [i32]) {
        let n = x.len();
        for (o, slot) in out.iter_mut().enumerate() {
            let row = &w[o * n..(o + 1) * n];
            *slot = x.iter().zip(row).map(|(&a, &b)| a as i32 * b as i32).sum();
        }
    }
}

/// The kernel used by default on this machine.
pub fn default_kernel() -> &'static dyn Int8Kernel {
    &ScalarKernel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_kernel_small_cases() {
        let k = ScalarKernel;
        let rows: Vec<i8> = vec![1, 2, 3, -4, 5, -6];
        let mut acc = vec![0i32; 2];
        k.sparse_accumulate(&rows, 2, &[2, 0], &[3, 2], &mut acc);
        assert_eq!(acc, [3 * 5 + 2, 3 * -6 + 2 * 2]);
        let mut out = vec![0i32; 2];
        k.gemv(&[1, 2, 3], &[1, 1, 1, -1, 0, 127], &mut out);
        assert_eq!(out, [6, -1 + 381]);
    }
}
