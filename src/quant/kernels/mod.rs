//! The integer kernels behind one small trait, so that instruction-set
//! versions replace the portable one without touching callers: one file per
//! instruction set beside the portable reference ([`scalar`]). The kernel is
//! chosen once at run time (`is_x86_feature_detected!`), never at build
//! time; `SCYTH_KERNEL=scalar|avx2|avxvnni|avx512vnni` forces one (tests,
//! benchmarks; an unknown or unavailable name warns once and keeps the
//! default).
//!
//! Every kernel computes the same integers as the portable one, bit for bit
//! (property tests below): products are exact in i32, and the AVX2 paths'
//! `vpmaddubsw` pairs stay inside i16 because activation codes are at most
//! 127 (`QMAX_REDUCED`) and weights at least −128: 2 · 127 · 128 = 32,512 <
//! 32,767. A call whose codes exceed 127 (never produced by the quantizer)
//! runs the portable loop instead, so no input can saturate.

use std::sync::OnceLock;

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod vnni;

pub use scalar::ScalarKernel;

/// Outputs per packed block: one 512-bit vector of i32, two 256-bit ones.
pub const BLOCK: usize = 16;

/// A dense int8 matrix `[n][k]` (PyTorch's `[out][in]`) re-laid out for the
/// SIMD GEMMs: blocks of [`BLOCK`] output rows, and within a block, for each
/// group of 4 inputs, the 4 bytes of each of the 16 rows (64 bytes: one
/// `vpdpbusd` operand, or two `vpmaddubsw` ones). Rows and inputs are padded
/// with zero weights to whole blocks and groups. Packing reads the matrix
/// once (a few MB at most for the dense layers; the encoder is never packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedInt8 {
    /// Output rows.
    pub n: usize,
    /// Inputs.
    pub k: usize,
    /// Inputs rounded up to a multiple of 4: the row stride of activations.
    pub k4: usize,
    /// `[n / 16][k4 / 4][16][4]` weights.
    pub data: Vec<i8>,
}

impl PackedInt8 {
    /// Packs a row-major `[n][k]` matrix.
    pub fn pack(w: &[i8], n: usize, k: usize) -> PackedInt8 {
        assert_eq!(
            w.len(),
            n * k,
            "packing a {n}x{k} matrix from {} codes",
            w.len()
        );
        let k4 = k.div_ceil(4) * 4;
        let blocks = n.div_ceil(BLOCK);
        let mut data = vec![0i8; blocks * BLOCK * k4];
        for o in 0..n {
            let (blk, r) = (o / BLOCK, o % BLOCK);
            let base = blk * BLOCK * k4;
            for (i, &v) in w[o * k..(o + 1) * k].iter().enumerate() {
                data[base + (i / 4) * BLOCK * 4 + r * 4 + i % 4] = v;
            }
        }
        PackedInt8 { n, k, k4, data }
    }

    /// Number of 16-row blocks.
    pub fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }

    /// The packed bytes of block `b`.
    #[inline]
    pub fn block(&self, b: usize) -> &[i8] {
        &self.data[b * BLOCK * self.k4..(b + 1) * BLOCK * self.k4]
    }
}

/// One dense int8 layer as the kernels take it: the stored row-major
/// weights (the portable kernel reads these) and their packed copy.
#[derive(Debug, Clone, Copy)]
pub struct DenseInt8<'a> {
    /// `[n][k]` row-major codes.
    pub w: &'a [i8],
    /// The same codes packed.
    pub packed: &'a PackedInt8,
}

/// Integer building blocks of the int8 forward pass.
pub trait Int8Kernel: Send + Sync {
    /// Name for reports and `SCYTH_KERNEL`.
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

    /// Dense GEMM over a batch: `out[b·n + o] = Σ_i x[b·k4 + i] · w[o·k + i]`
    /// for `b < batch`, `o < n`, `i < k`, where `x` holds `batch` rows of
    /// u8 codes with stride `k4` (padding bytes are ignored).
    fn gemm(&self, x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]);
}

/// Whether every code fits the SIMD paths (0 ≤ c ≤ 127).
#[inline]
pub(crate) fn codes_fit_i7(codes: &[i32]) -> bool {
    codes.iter().all(|&c| (0..=127).contains(&c))
}

/// Whether every activation byte is at most 127.
#[inline]
pub(crate) fn bytes_fit_i7(x: &[u8]) -> bool {
    x.iter().fold(0u8, |m, &v| m | v) < 128
}

/// Checks the shapes a kernel call relies on (panics like slice indexing
/// would in the portable kernel).
#[inline]
pub(crate) fn check_gemm(x: &[u8], batch: usize, w: &DenseInt8<'_>, out: &[i32]) {
    let p = w.packed;
    assert_eq!(w.w.len(), p.n * p.k, "weights are not {}x{}", p.n, p.k);
    assert!(
        x.len() >= batch * p.k4,
        "activations shorter than {batch}x{}",
        p.k4
    );
    assert!(
        out.len() >= batch * p.n,
        "output shorter than {batch}x{}",
        p.n
    );
}

/// Every kernel this CPU can run, the portable one first, fastest last.
pub fn available_kernels() -> Vec<&'static dyn Int8Kernel> {
    let mut kernels: Vec<&'static dyn Int8Kernel> = vec![&ScalarKernel];
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(k) = avx2::Avx2Kernel::detect() {
            kernels.push(k);
        }
        if let Some(k) = vnni::AvxVnniKernel::detect() {
            kernels.push(k);
        }
        if let Some(k) = vnni::Avx512VnniKernel::detect() {
            kernels.push(k);
        }
    }
    kernels
}

/// Names `SCYTH_KERNEL` accepts (where the CPU has them).
pub const KERNEL_NAMES: [&str; 4] = ["scalar", "avx2", "avxvnni", "avx512vnni"];

/// The kernel used by default: `SCYTH_KERNEL` if set to an available
/// kernel's name, else the fastest available one (an unknown or unavailable
/// name is reported once on stderr). Chosen once.
pub fn default_kernel() -> &'static dyn Int8Kernel {
    static CHOSEN: OnceLock<&'static dyn Int8Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let kernels = available_kernels();
        let fastest = kernels[kernels.len() - 1];
        match std::env::var("SCYTH_KERNEL") {
            Ok(name) if !name.is_empty() => {
                match kernels.iter().copied().find(|k| k.name() == name) {
                    Some(k) => k,
                    None => {
                        let why = if KERNEL_NAMES.contains(&name.as_str()) {
                            "not available on this CPU"
                        } else {
                            "unknown"
                        };
                        eprintln!(
                            "scyth: warning: SCYTH_KERNEL={name} is {why} (known: {}); using {}",
                            KERNEL_NAMES.join(", "),
                            fastest.name()
                        );
                        fastest
                    }
                }
            }
            _ => fastest,
        }
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
        let w = [1i8, 1, 1, -1, 0, 127];
        let packed = PackedInt8::pack(&w, 2, 3);
        assert_eq!(packed.k4, 4);
        let mut out = vec![0i32; 2];
        // One row of 3 codes, padded to 4 (the pad byte is ignored).
        k.gemm(
            &[1, 2, 3, 99],
            1,
            DenseInt8 {
                w: &w,
                packed: &packed,
            },
            &mut out,
        );
        assert_eq!(out, [6, -1 + 381]);
    }

    #[test]
    fn packing_places_each_weight() {
        let (n, k) = (18, 6);
        let w: Vec<i8> = (0..n * k).map(|i| (i % 251) as i8).collect();
        let p = PackedInt8::pack(&w, n, k);
        assert_eq!((p.k4, p.blocks(), p.data.len()), (8, 2, 2 * 16 * 8));
        for o in 0..n {
            for i in 0..k {
                let at = (o / 16) * 16 * 8 + (i / 4) * 64 + (o % 16) * 4 + i % 4;
                assert_eq!(p.data[at], w[o * k + i], "o={o} i={i}");
            }
        }
        // Padding rows and inputs are zero.
        assert_eq!(
            p.data.iter().filter(|&&v| v != 0).count(),
            w.iter().filter(|&&v| v != 0).count()
        );
    }

    /// A deterministic stream of pseudo-random numbers (xorshift).
    fn stream(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Integer results are exact: every available kernel equals the
        /// portable one bit for bit, extremes included (codes 0–127, and
        /// 128–255 which the SIMD paths hand to the portable loop; weights
        /// −128…127; widths, inputs, outputs and batches that are not
        /// multiples of the vector lanes, blocks or tiles).
        #[test]
        fn every_kernel_equals_scalar(
            width in 1usize..150,
            n_rows in 1usize..40,
            n_active in 0usize..30,
            batch in 1usize..11,
            n_out in 1usize..70,
            wide_codes in any::<bool>(),
            extremes in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let mut next = stream(seed);
            let weight = |r: u64| if extremes { [-128i8, 127, -127][(r % 3) as usize] } else { r as u8 as i8 };
            let rows: Vec<i8> = (0..width * n_rows).map(|_| weight(next())).collect();
            let cols: Vec<u32> = (0..n_active).map(|_| (next() % n_rows as u64) as u32).collect();
            let top = if wide_codes { 256 } else { 128 };
            let codes: Vec<i32> = cols.iter().map(|_| (next() % top) as i32).collect();
            let mut want_acc: Vec<i32> = (0..width).map(|_| (next() % 1000) as i32 - 500).collect();
            let start = want_acc.clone();
            ScalarKernel.sparse_accumulate(&rows, width, &cols, &codes, &mut want_acc);

            let k = width;
            let w: Vec<i8> = (0..n_out * k).map(|_| weight(next())).collect();
            let packed = PackedInt8::pack(&w, n_out, k);
            let x: Vec<u8> = (0..batch * packed.k4).map(|_| (next() % top) as u8).collect();
            let dense = DenseInt8 { w: &w, packed: &packed };
            let mut want_out = vec![0i32; batch * n_out];
            ScalarKernel.gemm(&x, batch, dense, &mut want_out);
            for kern in available_kernels() {
                let mut acc = start.clone();
                kern.sparse_accumulate(&rows, width, &cols, &codes, &mut acc);
                prop_assert_eq!(&acc, &want_acc, "sparse, kernel {}", kern.name());
                let mut out = vec![0i32; batch * n_out];
                kern.gemm(&x, batch, dense, &mut out);
                prop_assert_eq!(&out, &want_out, "gemm, kernel {}", kern.name());
            }
        }
    }

    /// The integer GEMM against an f32 product of the same codes: exact
    /// (every i32 here is below 2^24, so f32 represents it and the f32 sums
    /// of integers are exact too), which pins the kernels to plain
    /// arithmetic rather than only to each other.
    #[test]
    fn gemm_matches_f32_product() {
        let (batch, n, k) = (5, 37, 70);
        let mut next = stream(7);
        let w: Vec<i8> = (0..n * k).map(|_| next() as u8 as i8).collect();
        let packed = PackedInt8::pack(&w, n, k);
        let x: Vec<u8> = (0..batch * packed.k4)
            .map(|_| (next() % 128) as u8)
            .collect();
        let mut want = vec![0f32; batch * n];
        for b in 0..batch {
            for o in 0..n {
                want[b * n + o] = (0..k)
                    .map(|i| x[b * packed.k4 + i] as f32 * w[o * k + i] as f32)
                    .sum();
            }
        }
        for kern in available_kernels() {
            let mut out = vec![0i32; batch * n];
            kern.gemm(
                &x,
                batch,
                DenseInt8 {
                    w: &w,
                    packed: &packed,
                },
                &mut out,
            );
            let got: Vec<f32> = out.iter().map(|&v| v as f32).collect();
            assert_eq!(got, want, "kernel {}", kern.name());
        }
    }
}
