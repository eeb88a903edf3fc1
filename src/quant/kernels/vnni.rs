//! VNNI kernels: `vpdpbusd` (u8 × i8 groups of four summed straight into
//! i32, no intermediate saturation) on 256-bit registers (AVX-VNNI, the
//! shared loops of [`super::avx2`]) and on 512-bit registers (AVX-512
//! VNNI: 64 columns per sparse step, 4 documents × 64 outputs per GEMM
//! tile).

use std::arch::x86_64::*;

use super::avx2::{Dot256, gemm256, sparse_checked, sparse256};
use super::{BLOCK, DenseInt8, Int8Kernel, check_gemm};

/// AVX-VNNI's 256-bit `vpdpbusd`.
struct DotAvxVnni;

impl Dot256 for DotAvxVnni {
    #[inline(always)]
    unsafe fn dot(acc: __m256i, x: __m256i, w: __m256i) -> __m256i {
        // SAFETY: the caller runs with AVX-VNNI enabled.
        unsafe { _mm256_dpbusd_avx_epi32(acc, x, w) }
    }
}

/// The AVX-VNNI kernel (256-bit `vpdpbusd`). Only handed out after
/// detection.
#[derive(Debug)]
pub struct AvxVnniKernel {
    _checked: (),
}

static AVX_VNNI: AvxVnniKernel = AvxVnniKernel { _checked: () };

impl AvxVnniKernel {
    /// The kernel, when this CPU has AVX2 and AVX-VNNI.
    pub fn detect() -> Option<&'static AvxVnniKernel> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("avxvnni"))
            .then_some(&AVX_VNNI)
    }
}

#[target_feature(enable = "avx2,avxvnni")]
fn sparse_avxvnni(rows: &[i8], width: usize, cols: &[u32], codes: &[i32], acc: &mut [i32]) {
    // SAFETY: AVX2 and AVX-VNNI are enabled; the caller checked the inputs.
    unsafe { sparse256::<DotAvxVnni>(rows, width, cols, codes, acc) }
}

#[target_feature(enable = "avx2,avxvnni")]
fn gemm_avxvnni(x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
    // SAFETY: as above.
    unsafe { gemm256::<DotAvxVnni>(x, batch, w, out) }
}

impl Int8Kernel for AvxVnniKernel {
    fn name(&self) -> &'static str {
        "avxvnni"
    }

    fn sparse_accumulate(
        &self,
        rows: &[i8],
        width: usize,
        cols: &[u32],
        codes: &[i32],
        acc: &mut [i32],
    ) {
        // vpdpbusd takes any u8; codes above 255 or negative do not fit a byte.
        // SAFETY: an AvxVnniKernel exists only after detection.
        unsafe { sparse_checked(rows, width, cols, codes, acc, codes_fit_u8, sparse_avxvnni) }
    }

    fn gemm(&self, x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
        check_gemm(x, batch, &w, out);
        // SAFETY: as above (any u8 is exact with vpdpbusd).
        unsafe { gemm_avxvnni(x, batch, w, out) }
    }
}

/// Whether every code is a byte (vpdpbusd is exact for all of them).
#[inline]
fn codes_fit_u8(codes: &[i32]) -> bool {
    codes.iter().all(|&c| (0..=255).contains(&c))
}

/// The AVX-512 VNNI kernel (512-bit `vpdpbusd`). Only handed out after
/// detection.
#[derive(Debug)]
pub struct Avx512VnniKernel {
    _checked: (),
}

static AVX512_VNNI: Avx512VnniKernel = Avx512VnniKernel { _checked: () };

impl Avx512VnniKernel {
    /// The kernel, when this CPU has AVX-512 F, BW and VNNI.
    pub fn detect() -> Option<&'static Avx512VnniKernel> {
        (is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni"))
        .then_some(&AVX512_VNNI)
    }
}

/// Columns per 512-bit sparse step and steps per pass (1,024 columns).
const CHUNK: usize = 64;
const SLAB: usize = 16;

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn sparse_avx512vnni(rows: &[i8], width: usize, cols: &[u32], codes: &[i32], acc: &mut [i32]) {
    let chunks = width / CHUNK;
    let base = rows.as_ptr();
    let mut slab = 0;
    while slab < chunks {
        let n_ch = SLAB.min(chunks - slab);
        let mut sums = [_mm512_setzero_si512(); 4 * SLAB];
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
            let c = _mm512_set1_epi32(packed as i32);
            for ch in 0..n_ch {
                let off = (slab + ch) * CHUNK;
                // SAFETY: every load reads 64 bytes inside a row.
                let (w0, w1, w2, w3) = unsafe {
                    (
                        _mm512_loadu_si512(ptr[0].add(off) as *const __m512i),
                        _mm512_loadu_si512(ptr[1].add(off) as *const __m512i),
                        _mm512_loadu_si512(ptr[2].add(off) as *const __m512i),
                        _mm512_loadu_si512(ptr[3].add(off) as *const __m512i),
                    )
                };
                let lo01 = _mm512_unpacklo_epi8(w0, w1);
                let hi01 = _mm512_unpackhi_epi8(w0, w1);
                let lo23 = _mm512_unpacklo_epi8(w2, w3);
                let hi23 = _mm512_unpackhi_epi8(w2, w3);
                let s = &mut sums[4 * ch..4 * ch + 4];
                s[0] = _mm512_dpbusd_epi32(s[0], c, _mm512_unpacklo_epi16(lo01, lo23));
                s[1] = _mm512_dpbusd_epi32(s[1], c, _mm512_unpackhi_epi16(lo01, lo23));
                s[2] = _mm512_dpbusd_epi32(s[2], c, _mm512_unpacklo_epi16(hi01, hi23));
                s[3] = _mm512_dpbusd_epi32(s[3], c, _mm512_unpackhi_epi16(hi01, hi23));
            }
        }
        // Vector q, 128-bit lane l, element e holds column 16l + 4q + e.
        for ch in 0..n_ch {
            let mut lanes = [0i32; 64];
            for q in 0..4 {
                // SAFETY: 16 i32 stored into a 64-element array at 16q.
                unsafe {
                    _mm512_storeu_si512(
                        lanes.as_mut_ptr().add(16 * q) as *mut __m512i,
                        sums[4 * ch + q],
                    )
                };
            }
            let out = &mut acc[(slab + ch) * CHUNK..(slab + ch + 1) * CHUNK];
            for q in 0..4 {
                for l in 0..4 {
                    for e in 0..4 {
                        let j = 16 * l + 4 * q + e;
                        out[j] = out[j].wrapping_add(lanes[16 * q + 4 * l + e]);
                    }
                }
            }
        }
        slab += n_ch;
    }
    let done = chunks * CHUNK;
    if done < width {
        // The remaining columns (fewer than 64): plain loop.
        let rest = width - done;
        let mut tail = vec![0i32; rest];
        for (&col, &code) in cols.iter().zip(codes) {
            let row = &rows[col as usize * width + done..(col as usize + 1) * width];
            for (a, &w) in tail.iter_mut().zip(row) {
                *a = a.wrapping_add(code * w as i32);
            }
        }
        for (a, t) in acc[done..width].iter_mut().zip(tail) {
            *a = a.wrapping_add(t);
        }
    }
}

/// Blocks of 16 outputs per 512-bit GEMM tile.
const NB: usize = 4;

/// One tile: `MR` documents × `NBK` blocks of 16 outputs.
#[inline(always)]
fn tile512<const MR: usize, const NBK: usize>(
    x: &[u8],
    b0: usize,
    w: &DenseInt8<'_>,
    blk0: usize,
    out: &mut [i32],
) {
    let p = w.packed;
    let stride = BLOCK * p.k4;
    let wb = p.data[blk0 * stride..(blk0 + NBK) * stride].as_ptr();
    // SAFETY: called only from `gemm_avx512vnni` (features enabled); loads
    // stay inside the NBK blocks and inside each document's k4 codes.
    unsafe {
        let mut acc = [[_mm512_setzero_si512(); NBK]; MR];
        for g in 0..p.k4 / 4 {
            let mut wv = [_mm512_setzero_si512(); NBK];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(wb.add(j * stride + 64 * g) as *const __m512i);
            }
            for (r, a) in acc.iter_mut().enumerate() {
                let xq = (x.as_ptr().add((b0 + r) * p.k4 + 4 * g) as *const i32).read_unaligned();
                let xb = _mm512_set1_epi32(xq);
                for j in 0..NBK {
                    a[j] = _mm512_dpbusd_epi32(a[j], xb, wv[j]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            for (j, v) in a.iter().enumerate() {
                let mut lanes = [0i32; BLOCK];
                _mm512_storeu_si512(lanes.as_mut_ptr() as *mut __m512i, *v);
                let o0 = (blk0 + j) * BLOCK;
                let n_valid = BLOCK.min(p.n - o0);
                let row = &mut out[(b0 + r) * p.n + o0..(b0 + r) * p.n + o0 + n_valid];
                row.copy_from_slice(&lanes[..n_valid]);
            }
        }
    }
}

/// Row tiles of up to 4 documents over `NBK` blocks starting at `blk0`.
#[inline(always)]
fn rows512<const NBK: usize>(
    x: &[u8],
    batch: usize,
    w: &DenseInt8<'_>,
    blk0: usize,
    out: &mut [i32],
) {
    let mut b0 = 0;
    while b0 + 4 <= batch {
        tile512::<4, NBK>(x, b0, w, blk0, out);
        b0 += 4;
    }
    match batch - b0 {
        3 => tile512::<3, NBK>(x, b0, w, blk0, out),
        2 => tile512::<2, NBK>(x, b0, w, blk0, out),
        1 => tile512::<1, NBK>(x, b0, w, blk0, out),
        _ => {}
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn gemm_avx512vnni(x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
    let blocks = w.packed.blocks();
    let mut blk = 0;
    while blk + NB <= blocks {
        rows512::<NB>(x, batch, &w, blk, out);
        blk += NB;
    }
    match blocks - blk {
        3 => rows512::<3>(x, batch, &w, blk, out),
        2 => rows512::<2>(x, batch, &w, blk, out),
        1 => rows512::<1>(x, batch, &w, blk, out),
        _ => {}
    }
}

impl Int8Kernel for Avx512VnniKernel {
    fn name(&self) -> &'static str {
        "avx512vnni"
    }

    fn sparse_accumulate(
        &self,
        rows: &[i8],
        width: usize,
        cols: &[u32],
        codes: &[i32],
        acc: &mut [i32],
    ) {
        // SAFETY: an Avx512VnniKernel exists only after detection.
        unsafe {
            sparse_checked(
                rows,
                width,
                cols,
                codes,
                acc,
                codes_fit_u8,
                sparse_avx512vnni,
            )
        }
    }

    fn gemm(&self, x: &[u8], batch: usize, w: DenseInt8<'_>, out: &mut [i32]) {
        check_gemm(x, batch, &w, out);
        // SAFETY: as above (any u8 is exact with vpdpbusd).
        unsafe { gemm_avx512vnni(x, batch, w, out) }
    }
}
