//! The integer kernels behind one small trait, so that instruction-set
//! versions replace the portable one without touching callers. The kernel is
//! chosen once at run time (`is_x86_feature_detected!`), never at build time;
//! `SCYTH_KERNEL=scalar|avx2` forces one (tests, benchmarks).

use std::sync::OnceLock;

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

/// The loops every kernel runs; instruction-set kernels compile them with
/// their target features enabled so the compiler vectorizes them for it.
#[inline(always)]
fn sparse_accumulate_loop(rows: &[i8], width: usize, cols: &[u32], codes: &[i32], acc: &mut [i32]) {
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

#[inline(always)]
fn gemv_loop(x: &[u8], w: &[i8], out: &mut [i32]) {
    let n = x.len();
    for (o, slot) in out.iter_mut().enumerate() {
        let row = &w[o * n..(o + 1) * n];
        *slot = x.iter().zip(row).map(|(&a, &b)| a as i32 * b as i32).sum();
    }
}

/// The portable reference kernel (baseline x86-64: SSE2).
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
        sparse_accumulate_loop(rows, width, cols, codes, acc);
    }

    fn gemv(&self, x: &[u8], w: &[i8], out: &mut [i32]) {
        gemv_loop(x, w, out);
    }
}

/// The same loops compiled for AVX2 (8 × i32 lanes, sign-extending loads).
/// Only handed out after the CPU was checked for AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub struct Avx2Kernel {
    _checked: (),
}

#[cfg(target_arch = "x86_64")]
impl Avx2Kernel {
    /// The AVX2 kernel, when this CPU has AVX2.
    pub fn detect() -> Option<Avx2Kernel> {
        is_x86_feature_detected!("avx2").then_some(Avx2Kernel { _checked: () })
    }
}

/// The one AVX2 kernel value, handed out by [`available_kernels`] only after
/// detection.
#[cfg(target_arch = "x86_64")]
static AVX2: Avx2Kernel = Avx2Kernel { _checked: () };

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sparse_accumulate_avx2(rows: &[i8], width: usize, cols: &[u32], codes: &[i32], acc: &mut [i32]) {
    sparse_accumulate_loop(rows, width, cols, codes, acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gemv_avx2(x: &[u8], w: &[i8], out: &mut [i32]) {
    gemv_loop(x, w, out);
}

#[cfg(target_arch = "x86_64")]
impl Int8Kernel for Avx2Kernel {
    fn name(&self) -> &'static str {
        "avx2"
    }

    fn sparse_accumulate(
        &self,
        rows: &[i8],
        width: usize,
        cols: &[u32],
        codes: &[i32],
        acc: &mut [i32],
    ) {
        // SAFETY: an Avx2Kernel exists only after `detect` saw AVX2.
        unsafe { sparse_accumulate_avx2(rows, width, cols, codes, acc) }
    }

    fn gemv(&self, x: &[u8], w: &[i8], out: &mut [i32]) {
        // SAFETY: as above.
        unsafe { gemv_avx2(x, w, out) }
    }
}

/// Every kernel this CPU can run, the portable one first.
pub fn available_kernels() -> Vec<&'static dyn Int8Kernel> {
    let mut kernels: Vec<&'static dyn Int8Kernel> = vec![&ScalarKernel];
    #[cfg(target_arch = "x86_64")]
    if Avx2Kernel::detect().is_some() {
        kernels.push(&AVX2);
    }
    kernels
}

/// The kernel used by default: `SCYTH_KERNEL` if set to an available
/// kernel's name, else the fastest available one. Chosen once.
pub fn default_kernel() -> &'static dyn Int8Kernel {
    static CHOSEN: OnceLock<&'static dyn Int8Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let kernels = available_kernels();
        let forced = std::env::var("SCYTH_KERNEL").ok();
        forced
            .and_then(|name| kernels.iter().copied().find(|k| k.name() == name))
            .unwrap_or_else(|| kernels[kernels.len() - 1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Integer results are exact: every available kernel equals the
        /// portable one bit for bit, extremes included (codes 0–127,
        /// weights −127…127, widths that are not multiples of the lanes).
        #[test]
        fn every_kernel_equals_scalar(
            width in 1usize..70,
            n_rows in 1usize..40,
            seed in any::<u64>(),
        ) {
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let rows: Vec<i8> = (0..width * n_rows).map(|_| ((next() % 255) as i32 - 127) as i8).collect();
            let cols: Vec<u32> = (0..n_rows.min(25)).map(|_| (next() % n_rows as u64) as u32).collect();
            let codes: Vec<i32> = cols.iter().map(|_| (next() % 128) as i32).collect();
            let x: Vec<u8> = (0..width).map(|_| (next() % 128) as u8).collect();
            let mut want_acc = vec![0i32; width];
            ScalarKernel.sparse_accumulate(&rows, width, &cols, &codes, &mut want_acc);
            let mut want_out = vec![0i32; n_rows];
            ScalarKernel.gemv(&x, &rows, &mut want_out);
            for k in available_kernels() {
                let mut acc = vec![0i32; width];
                k.sparse_accumulate(&rows, width, &cols, &codes, &mut acc);
                prop_assert_eq!(&acc, &want_acc, "kernel {}", k.name());
                let mut out = vec![0i32; n_rows];
                k.gemv(&x, &rows, &mut out);
                prop_assert_eq!(&out, &want_out, "kernel {}", k.name());
            }
        }
    }
}
