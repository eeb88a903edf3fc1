//! 256-bit kernels: AVX2 (`vpmaddubsw` + `vpmaddwd`) here, and the shared
//! 256-bit loops that the AVX-VNNI kernel (`vpdpbusd` on ymm, in
//! [`super::vnni`]) runs with its own dot product.
//!
//! Sparse gather: four active rows at a time, their bytes interleaved
//! (`vpunpck{l,h}bw` then `vpunpck{l,h}wd`) so that each i32 lane j holds
//! `(w0[j], w1[j], w2[j], w3[j])`; one u8×i8 dot product with the four codes
//! broadcast adds all four rows. The interleave permutes j within 128-bit
//! lanes; accumulators keep that order and are put back once per call.
//!
//! GEMM: 4 documents × 16 outputs per tile over the packed weights
//! ([`PackedInt8`](super::PackedInt8)), each document's 4 input codes
//! broadcast against 64 packed bytes.

use std::arch::x86_64::*;

use super::scalar::{gemm_loop, sparse_accumulate_loop};
use super::{BLOCK, DenseInt8, Int8Kernel, bytes_fit_i7, check_gemm, codes_fit_i7};

/// A u8 × i8 dot product of 4-byte groups accumulated into i32 lanes.
pub(crate) trait Dot256 {
    /// `acc[l] + Σ_{q<4} x[4l+q] · w[4l+q]` for the 8 lanes (x unsigned ≤ 127,
    /// w signed).
    ///
    /// # Safety
    /// The CPU must have the instructions the implementation uses.
    unsafe fn dot(acc: __m256i, x: __m256i, w: __m256i) -> __m256i;
}

/// AVX2: `vpmaddubsw` (pairs into i16: |2 · 127 · 128| < 2^15, exact) then
/// `vpmaddwd` by ones (pairs of i16 into i32).
pub(crate) struct MaddAvx2;

impl Dot256 for MaddAvx2 {
    #[inline(always)]
    unsafe fn dot(acc: __m256i, x: __m256i, w: __m256i) -> __m256i {
        // SAFETY: the caller runs with AVX2 enabled.
        unsafe {
            let pairs = _mm256_maddubs_epi16(x, w);
            _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
        }
    }
}

/// Columns per 256-bit step of the sparse gather.
const CHUNK: usize = 32;
/// Chunks accumulated in registers/stack per pass (1,024 columns).
const SLAB: usize = 32;

/// The sparse gather-accumulate with dot product `D`; codes must be 0..=127.
///
/// # Safety
/// AVX2 (and whatever `D` uses) must be available; `cols` must index rows
/// of `rows` (checked by the caller).
#[inline(always)]
pub(crate) unsafe fn sparse256<D: Dot256>(
    rows: &[i8],
    width: usize,
    cols: &[u32],
    codes: &[i32],
    acc: &mut [i32],
) {
    let chunks = width / CHUNK;
    let base = rows.as_ptr();
    let mut slab = 0;
    while slab < chunks {
        let n_ch = SLAB.min(chunks - slab);
        // SAFETY: plain register values.
        let mut sums = [unsafe { _mm256_setzero_si256() }; 4 * SLAB];
        for (quad, qcodes) in cols.chunks(4).zip(codes.chunks(4)) {
            let mut ptr = [base; 4];
            let mut packed = 0u32;
            for (q, (&col, &code)) in quad.iter().zip(qcodes).enumerate() {
                // SAFETY: col < rows.len() / width (checked by the caller).
                ptr[q] = unsafe { base.add(col as usize * width) };
                packed |= (code as u32) << (8 * q);
            }
            if packed == 0 {
                continue;
            }
            // SAFETY: AVX2 is enabled; every load reads 32 bytes inside a row.
            unsafe {
                let c = _mm256_set1_epi32(packed as i32);
                for ch in 0..n_ch {
                    let off = (slab + ch) * CHUNK;
                    let w0 = _mm256_loadu_si256(ptr[0].add(off) as *const __m256i);
                    let w1 = _mm256_loadu_si256(ptr[1].add(off) as *const __m256i);
                    let w2 = _mm256_loadu_si256(ptr[2].add(off) as *const __m256i);
                    let w3 = _mm256_loadu_si256(ptr[3].add(off) as *const __m256i);
                    let lo01 = _mm256_unpacklo_epi8(w0, w1);
                    let hi01 = _mm256_unpackhi_epi8(w0, w1);
                    let lo23 = _mm256_unpacklo_epi8(w2, w3);
                    let hi23 = _mm256_unpackhi_epi8(w2, w3);
                    let s = &mut sums[4 * ch..4 * ch + 4];
                    s[0] = D::dot(s[0], c, _mm256_unpacklo_epi16(lo01, lo23));
                    s[1] = D::dot(s[1], c, _mm256_unpackhi_epi16(lo01, lo23));
                    s[2] = D::dot(s[2], c, _mm256_unpacklo_epi16(hi01, hi23));
                    s[3] = D::dot(s[3], c, _mm256_unpackhi_epi16(hi01, hi23));
                }
            }
        }
        // Vector q, 128-bit lane l, element e holds column 16l + 4q + e.
        for ch in 0..n_ch {
            let mut lanes = [0i32; 32];
            for q in 0..4 {
                // SAFETY: 8 i32 stored into a 32-element array at 8q.
                unsafe {
                    _mm256_storeu_si256(
                        lanes.as_mut_ptr().add(8 * q) as *mut __m256i,
                        sums[4 * ch + q],
                    )
                };
            }
            let out = &mut acc[(slab + ch) * CHUNK..(slab + ch + 1) * CHUNK];
            for q in 0..4 {
                for l in 0..2 {
                    for e in 0..4 {
                        let j = 16 * l + 4 * q + e;
                        out[j] = out[j].wrapping_add(lanes[8 * q + 4 * l + e]);
                    }
                }
            }
        }
        slab += n_ch;
    }
    // Columns past the last whole chunk.
    let done = chunks * CHUNK;
    if done < width {
        for (&col, &code) in cols.iter().zip(codes) {
            let row = &rows[col as usize * width + done..(col as usize + 1) * width];
            for (a, &w) in acc[done..].iter_mut().zip(row) {
                *a = a.wrapping_add(code * w as i32);
            }
        }
    }
}

/// One GEMM tile: `MR` documents × one 16-output block.
///
/// # Safety
/// As [`gemm256`]; rows `b0..b0 + MR` exist.
#[inline(always)]
unsafe fn tile256<D: Dot256, const MR: usize>(
    x: &[u8],
    b0: usize,
    w: &DenseInt8<'_>,
    blk: usize,
    out: &mut [i32],
) {
    let p = w.packed;
    let wb = p.block(blk).as_ptr();
    // SAFETY: register values; loads stay inside the block (k4 / 4 groups of
    // 64 bytes) and inside each document's k4 codes.
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for g in 0..p.k4 / 4 {
            let wlo = _mm256_loadu_si256(wb.add(64 * g) as *const __m256i);
            let whi = _mm256_loadu_si256(wb.add(64 * g + 32) as *const __m256i);
            for (r, a) in acc.iter_mut().enumerate() {
                let xq = (x.as_ptr().add((b0 + r) * p.k4 + 4 * g) as *const i32).read_unaligned();
                let xb = _mm256_set1_epi32(xq);
                a[0] = D::dot(a[0], xb, wlo);
                a[1] = D::dot(a[1], xb, whi);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let mut lanes = [0i32; BLOCK];
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, a[0]);
            _mm256_storeu_si256(lanes.as_mut_ptr().add(8) as *mut __m256i, a[1]);
            let o0 = blk * BLOCK;
            let n_valid = BLOCK.min(p.n - o0);
            let row = &mut out[(b0 + r) * p.n + o0..(b0 + r) * p.n + o0 + n_valid];
            row.copy_from_slice(&lanes[..n_valid]);
        }
    }
}

/// The batched GEMM with dot product `D`: blocks outside, documents inside
/// (a block's packed weights stay in L1 while the batch passes over them).
///
/// # Safety
/// AVX2 (and whatever `D` uses) must be available; shapes were checked.
#[inline(always)]
pub(crate) unsafe fn gemm256<D: Dot256>(x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
    for blk in 0..w.packed.blocks() {
        let mut b0 = 0;
        // SAFETY: as documented above; each tile stays below `batch`.
        unsafe {
            while b0 + 4 <= batch {
                tile256::<D, 4>(x, b0, &w, blk, out);
                b0 += 4;
            }
            match batch - b0 {
                3 => tile256::<D, 3>(x, b0, &w, blk, out),
                2 => tile256::<D, 2>(x, b0, &w, blk, out),
                1 => tile256::<D, 1>(x, b0, &w, blk, out),
                _ => {}
            }
        }
    }
}

/// Whether the rows named by `cols` exist.
#[inline]
pub(crate) fn cols_in_range(rows: &[i8], width: usize, cols: &[u32]) -> bool {
    let n_rows = rows.len().checked_div(width).unwrap_or(0);
    cols.iter().all(|&c| (c as usize) < n_rows)
}

/// A sparse gather-accumulate over SIMD rows: its signature.
pub(crate) type SparseFn = unsafe fn(&[i8], usize, &[u32], &[i32], &mut [i32]);

/// The shared front of every SIMD `sparse_accumulate`: trims `cols` and
/// `codes` to a common length, and runs `simd` when `fits(codes)` and
/// every column names a row, else the scalar loop (same integers).
///
/// # Safety
/// The CPU must have the features `simd` is compiled for.
pub(crate) unsafe fn sparse_checked(
    rows: &[i8],
    width: usize,
    cols: &[u32],
    codes: &[i32],
    acc: &mut [i32],
    fits: fn(&[i32]) -> bool,
    simd: SparseFn,
) {
    let n = cols.len().min(codes.len());
    let (cols, codes) = (&cols[..n], &codes[..n]);
    assert!(acc.len() >= width, "accumulator shorter than the rows");
    if fits(codes) && cols_in_range(rows, width, cols) {
        // SAFETY: the caller vouches for the CPU; the inputs were checked.
        unsafe { simd(rows, width, cols, codes, acc) }
    } else {
        sparse_accumulate_loop(rows, width, cols, codes, acc);
    }
}

/// The AVX2 kernel. Only handed out after the CPU was checked for AVX2.
#[derive(Debug)]
pub struct Avx2Kernel {
    _checked: (),
}

static AVX2: Avx2Kernel = Avx2Kernel { _checked: () };

impl Avx2Kernel {
    /// The AVX2 kernel, when this CPU has AVX2.
    pub fn detect() -> Option<&'static Avx2Kernel> {
        is_x86_feature_detected!("avx2").then_some(&AVX2)
    }
}

#[target_feature(enable = "avx2")]
fn sparse_avx2(rows: &[i8], width: usize, cols: &[u32], codes: &[i32], acc: &mut [i32]) {
    // SAFETY: AVX2 is enabled here; the caller checked cols and codes.
    unsafe { sparse256::<MaddAvx2>(rows, width, cols, codes, acc) }
}

#[target_feature(enable = "avx2")]
fn gemm_avx2(x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
    // SAFETY: AVX2 is enabled here; the caller checked shapes and codes.
    unsafe { gemm256::<MaddAvx2>(x, batch, w, out) }
}

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
        // SAFETY: an Avx2Kernel exists only after AVX2 was detected.
        unsafe { sparse_checked(rows, width, cols, codes, acc, codes_fit_i7, sparse_avx2) }
    }

    fn gemm(&self, x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
        check_gemm(x, batch, &w, out);
        if bytes_fit_i7(&x[..batch * w.packed.k4]) {
            // SAFETY: as above.
            unsafe { gemm_avx2(x, batch, w, out) }
        } else {
            gemm_loop(x, batch, w, out);
        }
    }
}
