//! The pentagram-list scan of AGR extraction (SPEC §3.2): the pentagram of
//! a list whose two other members occur most often in the text, ties to the
//! earliest. A portable scan and SIMD scans (AVX-512: 16 entries per step;
//! AVX2: 8), chosen at run time, all giving the same result (property
//! tested against the definition).

use super::{FILTER_BITS, FeatureScratch};

/// [`scan_pentagrams`] with the fastest scan this CPU has (AVX-512: 16
/// entries per step; AVX2: 8 entries per step over byte counts); same
/// result.
#[inline]
pub(super) fn scan_fast(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
    #[cfg(target_arch = "x86_64")]
    match simd_scan() {
        SimdScan::Avx512 => {
            // SAFETY: AVX-512F was detected.
            unsafe { avx512::scan_pentagrams(list, scratch, best) };
            return;
        }
        SimdScan::Avx2 if scratch.narrow_by_trigram() => {
            // SAFETY: AVX2 was detected.
            unsafe { avx2::scan_narrow(list, scratch, best) };
            return;
        }
        _ => {}
    }
    scan_pentagrams(list, scratch, best);
}

/// Moves `best` (entry index, extra count) to the first entry of `pairs`
/// (two scan keys per entry) with a strictly larger extra count, the
/// entry's two byte counts in `narrow` (indexed by scan key, with 3 bytes
/// of padding past the largest key) added. The fastest scan this CPU has
/// (AVX-512: 16 entries per step; AVX2: 8); same result as
/// [`scan_pairs`].
#[inline]
pub(super) fn scan_pairs_fast(pairs: &[u32], narrow: &[u8], best: &mut (u32, u32)) {
    #[cfg(target_arch = "x86_64")]
    match simd_scan() {
        SimdScan::Avx512 => {
            // SAFETY: AVX-512F was detected.
            unsafe { avx512::scan_pairs(pairs, narrow, best) };
            return;
        }
        SimdScan::Avx2 => {
            // SAFETY: AVX2 was detected.
            unsafe { avx2::scan_pairs(pairs, narrow, best) };
            return;
        }
        SimdScan::None => {}
    }
    scan_pairs(pairs, narrow, best);
}

/// The portable scan of [`scan_pairs_fast`]: a strict `>` keeping ties on
/// the earliest. Four entries per step: their extras are computed
/// independently and only their maximum is compared with the best (the
/// entry-by-entry comparison runs only when it wins), so no step waits on
/// the previous one's best.
#[inline]
fn scan_pairs(pairs: &[u32], narrow: &[u8], best: &mut (u32, u32)) {
    let extra = |entry: &[u32]| narrow[entry[0] as usize] as u32 + narrow[entry[1] as usize] as u32;
    let mut steps = pairs.chunks_exact(8);
    let mut at = 0u32;
    for step in &mut steps {
        let e = [
            extra(&step[0..2]),
            extra(&step[2..4]),
            extra(&step[4..6]),
            extra(&step[6..8]),
        ];
        step_of_four(e, best, |j| at + j as u32);
        at += 4;
    }
    for (j, entry) in steps.remainder().chunks_exact(2).enumerate() {
        let x = extra(entry);
        if x > best.1 {
            *best = (at + j as u32, x);
        }
    }
}

/// One step of the portable scans: the extras `e` of four consecutive
/// entries go through the entry-by-entry strict `>` (ties stay on the
/// earliest; `id_of(j)` names entry `j` in `best`), but only when their
/// maximum beats the best, which one comparison decides.
#[inline(always)]
fn step_of_four(e: [u32; 4], best: &mut (u32, u32), id_of: impl Fn(usize) -> u32) {
    if e[0].max(e[1]).max(e[2].max(e[3])) > best.1 {
        for (j, &x) in e.iter().enumerate() {
            if x > best.1 {
                *best = (id_of(j), x);
            }
        }
    }
}

/// The SIMD scans gather 4 bytes per scan key with no per-lane bounds
/// check: every key must have 4 bytes inside `narrow`. That holds by
/// construction (a loaded lexicon's lists are validated, its scan keys are
/// a permutation of its trigram indices, and the scratch table has one
/// byte per trigram plus 3 of padding); debug builds check every key.
#[cfg(target_arch = "x86_64")]
#[inline]
fn check_keys(pairs: &[u32], narrow: &[u8]) {
    debug_assert!(pairs.iter().all(|&k| (k as usize) + 4 <= narrow.len()));
    assert!(narrow.len() >= 4, "byte-count table without its padding");
}

/// The SIMD scan this process uses.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimdScan {
    /// AVX-512F: 16 entries per step.
    Avx512,
    /// AVX2: 8 entries per step (byte counts only; texts with a count over
    /// 255 take the portable scan).
    Avx2,
    /// The portable scan (plain loads, four entries per step).
    None,
}

/// The scan this process uses, decided once: the SIMD gather scans where
/// gathers are fast, else the portable scan of plain loads.
///
/// `SCYTH_KERNEL` limits the path as it does for the network kernels
/// (`scalar`: the portable scan; `avx2` or `avxvnni`: at most AVX2).
/// Within that limit `SCYTH_SCAN` chooses between gathers and loads
/// (`gather` or `loads`); by default AMD CPUs take the loads (see
/// [`gathers_are_slow`]) and others the widest gather scan they have.
#[cfg(target_arch = "x86_64")]
fn simd_scan() -> SimdScan {
    use std::sync::OnceLock;
    static CHOSEN: OnceLock<SimdScan> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let forced = std::env::var("SCYTH_KERNEL").ok();
        let gathers = match std::env::var("SCYTH_SCAN").ok().as_deref() {
            Some("gather") => true,
            Some("loads") => false,
            _ => !gathers_are_slow(),
        };
        match forced.as_deref() {
            Some("scalar") => SimdScan::None,
            _ if !gathers => SimdScan::None,
            _ if is_x86_feature_detected!("avx512f")
                && !matches!(forced.as_deref(), Some("avx2" | "avxvnni")) =>
            {
                SimdScan::Avx512
            }
            _ if is_x86_feature_detected!("avx2") => SimdScan::Avx2,
            _ => SimdScan::None,
        }
    })
}

/// Whether this CPU's vector gathers are slower than plain loads for the
/// scan: true on AMD (and Hygon) CPUs, whose Zen cores run `vpgatherdd`
/// as microcode. Measured on a Zen 4 EPYC: the AVX-512 pair scan takes
/// 1.9–2.1 ns per entry against 0.9–1.1 ns for the portable scan on
/// cache-resident lists, and 1.41 against 1.25 s of CPU (min of 5) for a
/// whole classification run of 2,944 livedoor articles.
#[cfg(target_arch = "x86_64")]
fn gathers_are_slow() -> bool {
    let id = std::arch::x86_64::__cpuid(0);
    let mut vendor = [0u8; 12];
    for (bytes, register) in vendor.chunks_exact_mut(4).zip([id.ebx, id.edx, id.ecx]) {
        bytes.copy_from_slice(&register.to_le_bytes());
    }
    matches!(&vendor, b"AuthenticAMD" | b"HygonGenuine")
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::FeatureScratch;

    /// The scan over byte counts ([`FeatureScratch::narrow`]), 8 entries
    /// (24 words, three vectors) per step: the second and third words of
    /// the triples are moved into two vectors by one permute per source
    /// vector and two blends, their counts gathered, and the step's maximum
    /// only looked at when some lane beats `best` (then the first lane with
    /// the maximum wins, as with the entry-by-entry strict `>`).
    #[target_feature(enable = "avx2")]
    pub(super) fn scan_narrow(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        debug_assert!(scratch.narrow_by_trigram());
        let narrow = scratch.narrow.as_ptr() as *const i32;
        // Second words: v0 lanes 1, 4, 7 → 0..3; v1 lanes 2, 5 → 3..5;
        // v2 lanes 0, 3, 6 → 5..8. Third words: v0 lanes 2, 5 → 0..2; v1
        // lanes 0, 3, 6 → 2..5; v2 lanes 1, 4, 7 → 5..8.
        let a0 = _mm256_setr_epi32(1, 4, 7, 0, 0, 0, 0, 0);
        let a1 = _mm256_setr_epi32(0, 0, 0, 2, 5, 0, 0, 0);
        let a2 = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 3, 6);
        let b0 = _mm256_setr_epi32(2, 5, 0, 0, 0, 0, 0, 0);
        let b1 = _mm256_setr_epi32(0, 0, 0, 3, 6, 0, 0, 0);
        let b2 = _mm256_setr_epi32(0, 0, 0, 0, 0, 1, 4, 7);
        let entries = list.len() / 3;
        let mut at = 0;
        while at < entries {
            let chunk = &list[3 * at..3 * entries.min(at + 8)];
            at += 8;
            let p = chunk.as_ptr() as *const i32;
            // Four steps ahead (384 bytes); a prefetch of any address has
            // no side effects.
            for line in 6..8 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(16 * line) as *const i8);
            }
            let n = chunk.len();
            let mut tail = [0i32; 24];
            let src = step_words(chunk, 24, &mut tail);
            // SAFETY: `src` points at 24 readable words (the chunk or `tail`).
            let (v0, v1, v2) = unsafe {
                (
                    _mm256_loadu_si256(src as *const __m256i),
                    _mm256_loadu_si256(src.add(8) as *const __m256i),
                    _mm256_loadu_si256(src.add(16) as *const __m256i),
                )
            };
            let a = _mm256_blend_epi32::<0b1110_0000>(
                _mm256_blend_epi32::<0b0001_1000>(
                    _mm256_permutevar8x32_epi32(v0, a0),
                    _mm256_permutevar8x32_epi32(v1, a1),
                ),
                _mm256_permutevar8x32_epi32(v2, a2),
            );
            let b = _mm256_blend_epi32::<0b1110_0000>(
                _mm256_blend_epi32::<0b0001_1100>(
                    _mm256_permutevar8x32_epi32(v0, b0),
                    _mm256_permutevar8x32_epi32(v1, b1),
                ),
                _mm256_permutevar8x32_epi32(v2, b2),
            );
            // Every lane index is a trigram index of this lexicon and
            // `narrow` has 3 bytes past the last one.
            step_best(a, b, n / 3, narrow, best, |j| chunk[3 * j]);
        }
    }

    /// [`super::scan_pairs`], 8 entries (16 words, two vectors) per step:
    /// the entries' first and second keys are moved into two vectors (one
    /// shuffle and one lane-order fix each), their byte counts gathered,
    /// and the lanes only looked at when one beats `best`.
    ///
    /// Every scan key of `pairs` must have 4 readable bytes in `narrow`
    /// (see [`super::check_keys`]).
    #[target_feature(enable = "avx2")]
    pub(super) fn scan_pairs(pairs: &[u32], narrow: &[u8], best: &mut (u32, u32)) {
        super::check_keys(pairs, narrow);
        let table = narrow.as_ptr() as *const i32;
        let entries = pairs.len() / 2;
        let mut at = 0;
        while at < entries {
            let chunk = &pairs[2 * at..2 * entries.min(at + 8)];
            let p = chunk.as_ptr() as *const i32;
            // Four steps ahead (256 bytes); a prefetch of any address has
            // no side effects.
            for line in 4..6 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(16 * line) as *const i8);
            }
            let n = chunk.len();
            let mut tail = [0i32; 24];
            let src = step_words(chunk, 16, &mut tail);
            // SAFETY: `src` points at 16 readable words (the chunk or `tail`).
            let (v0, v1) = unsafe {
                (
                    _mm256_loadu_ps(src as *const f32),
                    _mm256_loadu_ps(src.add(8) as *const f32),
                )
            };
            // Even words of v0 and v1 interleaved by 128-bit half, then put
            // back in entry order (64-bit lanes 0, 2, 1, 3).
            let a = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_castps_si256(
                _mm256_shuffle_ps::<0b10_00_10_00>(v0, v1),
            ));
            let b = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_castps_si256(
                _mm256_shuffle_ps::<0b11_01_11_01>(v0, v1),
            ));
            // Every lane's key has 4 bytes inside `narrow` (`check_keys`).
            step_best(a, b, n / 2, table, best, |j| (at + j) as u32);
            at += 8;
        }
    }

    /// One step of the AVX2 scans: the byte counts of the first `lanes`
    /// lanes' two other trigrams (`a`, `b`) are gathered from `table` and
    /// added (lanes past the list's end read and count nothing), and each
    /// lane that beats `best`, in lane order with a strict `>`, becomes the
    /// best as `(id_of(lane), extra)`. Every gathered index must have 4
    /// readable bytes in `table`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn step_best(
        a: __m256i,
        b: __m256i,
        lanes: usize,
        table: *const i32,
        best: &mut (u32, u32),
        id_of: impl Fn(usize) -> u32,
    ) {
        let valid = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(lanes as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        // SAFETY: the callers' indices have 4 bytes inside the table;
        // invalid lanes are not read.
        let (ca, cb) = unsafe {
            (
                _mm256_mask_i32gather_epi32::<1>(_mm256_setzero_si256(), table, a, valid),
                _mm256_mask_i32gather_epi32::<1>(_mm256_setzero_si256(), table, b, valid),
            )
        };
        let bytes = _mm256_set1_epi32(0xFF);
        let extra = _mm256_add_epi32(_mm256_and_si256(ca, bytes), _mm256_and_si256(cb, bytes));
        // Extras are at most 510, so the signed compare is exact.
        let beats = _mm256_cmpgt_epi32(extra, _mm256_set1_epi32(best.1 as i32));
        if _mm256_movemask_epi8(beats) == 0 {
            return;
        }
        let mut lanes_extra = [0u32; 8];
        // SAFETY: 8 u32 are one vector.
        unsafe { _mm256_storeu_si256(lanes_extra.as_mut_ptr() as *mut __m256i, extra) };
        for (j, &e) in lanes_extra.iter().enumerate() {
            if e > best.1 {
                *best = (id_of(j), e);
            }
        }
    }

    /// The words of one step: `chunk` itself when it holds all `full`
    /// words, else a copy in `tail` padded with zeros (a short last step),
    /// so every step loads whole vectors. Padding lanes are masked out of
    /// the gathers by the callers.
    #[inline]
    fn step_words(chunk: &[u32], full: usize, tail: &mut [i32; 24]) -> *const i32 {
        if chunk.len() == full {
            return chunk.as_ptr() as *const i32;
        }
        for (t, &w) in tail.iter_mut().zip(chunk) {
            *t = w as i32;
        }
        tail.as_ptr()
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{FILTER_BITS, FeatureScratch};

    /// Lane sources of the second and third words of 16 consecutive
    /// triples (48 words in three vectors): from the first two vectors,
    /// then (masked) from the third.
    const A_LO: [i32; 16] = [1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0];
    const A_HI: [i32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 8, 11, 14];
    const B_LO: [i32; 16] = [2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0];
    const B_HI: [i32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 6, 9, 12, 15];
    /// Lanes taken from the third vector: 11..16 for A, 10..16 for B.
    const A_HI_LANES: u16 = 0xF800;
    const B_HI_LANES: u16 = 0xFC00;

    /// Filter bits of 16 trigram indices as a lane mask.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn maybe_present(idx: __m512i, filter: *const i32) -> u16 {
        let f = _mm512_and_si512(idx, _mm512_set1_epi32(FILTER_BITS as i32 - 1));
        let word = _mm512_srli_epi32::<5>(f);
        let bit = _mm512_and_si512(f, _mm512_set1_epi32(31));
        // SAFETY: word < FILTER_BITS / 32, the filter's length in u32 words.
        let words = unsafe { _mm512_i32gather_epi32::<4>(word, filter) };
        _mm512_test_epi32_mask(_mm512_srlv_epi32(words, bit), _mm512_set1_epi32(1))
    }

    /// The lanes of `mask` whose trigram is set in the presence bitset
    /// (`bits`: the `u64` words of [`FeatureScratch::present`] read as
    /// little-endian `u32` halves, so bit t is bit t % 32 of half t / 32).
    ///
    /// # Safety
    /// Every lane of `mask` must index a bit inside the bitset.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn present(idx: __m512i, mask: u16, bits: *const i32) -> u16 {
        let word = _mm512_srli_epi32::<5>(idx);
        let bit = _mm512_and_si512(idx, _mm512_set1_epi32(31));
        // SAFETY: the caller guarantees the masked lanes are in bounds.
        let words =
            unsafe { _mm512_mask_i32gather_epi32::<4>(_mm512_setzero_si512(), mask, word, bits) };
        _mm512_mask_test_epi32_mask(mask, _mm512_srlv_epi32(words, bit), _mm512_set1_epi32(1))
    }

    /// The scan of [`super::scan_pentagrams`], 16 entries per step: over
    /// byte counts when every count of the text fits one, else over the
    /// exact `u32` counts. Same result either way.
    #[target_feature(enable = "avx512f")]
    pub(super) fn scan_pentagrams(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        if scratch.narrow_by_trigram() {
            scan_narrow(list, scratch, best);
        } else {
            scan_wide(list, scratch, best);
        }
    }

    /// Lanes `valid` of the next 16 entries at `p`: the trigram indices at
    /// their second and third words.
    ///
    /// # Safety
    /// `p` must point at `n` readable `u32` (`n` ≤ 48, the chunk's words).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn others(p: *const i32, n: usize) -> (__m512i, __m512i) {
        let mask = |from: usize| -> u16 {
            match n.saturating_sub(from) {
                0 => 0,
                m if m >= 16 => u16::MAX,
                m => (1u16 << m) - 1,
            }
        };
        // SAFETY: the masks cover exactly the chunk's n words.
        let (v0, v1, v2) = unsafe {
            (
                _mm512_maskz_loadu_epi32(mask(0), p),
                _mm512_maskz_loadu_epi32(mask(16), p.wrapping_add(16)),
                _mm512_maskz_loadu_epi32(mask(32), p.wrapping_add(32)),
            )
        };
        let (a_lo, a_hi) = (load(&A_LO), load(&A_HI));
        let (b_lo, b_hi) = (load(&B_LO), load(&B_HI));
        let a = _mm512_mask_permutexvar_epi32(
            _mm512_permutex2var_epi32(v0, a_lo, v1),
            A_HI_LANES,
            a_hi,
            v2,
        );
        let b = _mm512_mask_permutexvar_epi32(
            _mm512_permutex2var_epi32(v0, b_lo, v1),
            B_HI_LANES,
            b_hi,
            v2,
        );
        (a, b)
    }

    /// Walks `list` 16 entries per step: `extra_of(a, b, valid)` gets the
    /// two other trigrams of each lane (`valid`: the lanes holding an
    /// entry) and returns the lanes' extra counts (`None`: no lane can beat
    /// anything); when some lane beats `best`, its first maximum becomes the
    /// best, which is where the entry-by-entry scan with a strict `>` ends
    /// up too.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn scan_steps(
        list: &[u32],
        best: &mut (u32, u32),
        mut extra_of: impl FnMut(__m512i, __m512i, u16) -> Option<__m512i>,
    ) {
        let entries = list.len() / 3;
        let mut at = 0;
        while at < entries {
            let chunk = &list[3 * at..3 * entries.min(at + 16)];
            at += 16;
            let p = chunk.as_ptr() as *const i32;
            // Four steps ahead (768 bytes): three lines per step of 48 u32
            // (a prefetch of any address has no side effects).
            for line in 12..15 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(16 * line) as *const i8);
            }
            // SAFETY: the chunk holds chunk.len() words.
            let (a, b) = unsafe { others(p, chunk.len()) };
            let valid: u16 = match chunk.len() / 3 {
                16 => u16::MAX,
                m => (1u16 << m) - 1,
            };
            if let Some(extra) = extra_of(a, b, valid) {
                step_best(extra, best, |j| chunk[3 * j]);
            }
        }
    }

    /// When some lane of `extra` beats `best`, the first lane with the
    /// step's maximum becomes the best as `(id_of(lane), maximum)`: where
    /// the entry-by-entry scan with a strict `>` ends up too.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn step_best(extra: __m512i, best: &mut (u32, u32), id_of: impl Fn(usize) -> u32) {
        if _mm512_cmpgt_epu32_mask(extra, _mm512_set1_epi32(best.1 as i32)) == 0 {
            return;
        }
        let max = _mm512_reduce_max_epu32(extra);
        let first = _mm512_cmpeq_epi32_mask(extra, _mm512_set1_epi32(max as i32));
        *best = (id_of(first.trailing_zeros() as usize), max);
    }

    /// The byte counts of the `valid` lanes' two other trigrams (`a`, `b`)
    /// gathered from `table` and added (0 in the other lanes, which are
    /// not read). Every valid lane's index must have 4 readable bytes in
    /// `table`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn byte_extras(a: __m512i, b: __m512i, valid: u16, table: *const i32) -> __m512i {
        // SAFETY: the callers' valid indices have 4 bytes inside the table.
        let (ca, cb) = unsafe {
            (
                _mm512_mask_i32gather_epi32::<1>(_mm512_setzero_si512(), valid, a, table),
                _mm512_mask_i32gather_epi32::<1>(_mm512_setzero_si512(), valid, b, table),
            )
        };
        let bytes = _mm512_set1_epi32(0xFF);
        _mm512_add_epi32(_mm512_and_si512(ca, bytes), _mm512_and_si512(cb, bytes))
    }

    /// [`super::scan_pairs`], 16 entries (32 words, two vectors) per
    /// step: the entries' first and second keys are moved into two vectors
    /// by one two-source permute each, their byte counts gathered, and the
    /// step's maximum only looked at when some lane beats `best` (then the
    /// first lane with the maximum wins, as with the entry-by-entry strict
    /// `>`).
    ///
    /// Every scan key of `pairs` must have 4 readable bytes in `narrow`
    /// (see [`super::check_keys`]).
    #[target_feature(enable = "avx512f")]
    pub(super) fn scan_pairs(pairs: &[u32], narrow: &[u8], best: &mut (u32, u32)) {
        super::check_keys(pairs, narrow);
        const FIRST: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
        const SECOND: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];
        let table = narrow.as_ptr() as *const i32;
        let (first, second) = (load(&FIRST), load(&SECOND));
        let entries = pairs.len() / 2;
        let mut at = 0;
        while at < entries {
            let n = (entries - at).min(16);
            let p = pairs[2 * at..].as_ptr() as *const i32;
            // Four steps ahead (512 bytes): two lines per step (a prefetch
            // of any address has no side effects).
            for line in 8..10 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(16 * line) as *const i8);
            }
            let words = |from: usize| -> u16 {
                match (2 * n).saturating_sub(from) {
                    0 => 0,
                    m if m >= 16 => u16::MAX,
                    m => (1u16 << m) - 1,
                }
            };
            // SAFETY: the masks cover exactly the step's 2n words.
            let (v0, v1) = unsafe {
                (
                    _mm512_maskz_loadu_epi32(words(0), p),
                    _mm512_maskz_loadu_epi32(words(16), p.wrapping_add(16)),
                )
            };
            let valid: u16 = if n == 16 { u16::MAX } else { (1u16 << n) - 1 };
            let a = _mm512_permutex2var_epi32(v0, first, v1);
            let b = _mm512_permutex2var_epi32(v0, second, v1);
            // Every valid lane's key has 4 bytes inside `narrow`
            // (`check_keys`).
            let extra = byte_extras(a, b, valid, table);
            step_best(extra, best, |j| (at + j) as u32);
            at += 16;
        }
    }

    /// The scan when every count fits a byte: the two other trigrams'
    /// counts are gathered straight from [`FeatureScratch::narrow`] (0 for
    /// absent trigrams; a megabyte-sized table that stays in L2), two
    /// gathers per 16 entries.
    #[target_feature(enable = "avx512f")]
    fn scan_narrow(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        let narrow = scratch.narrow.as_ptr() as *const i32;
        // Every lane index is a trigram index of this lexicon and `narrow`
        // has 3 bytes past the last one.
        scan_steps(list, best, |a, b, valid| {
            Some(byte_extras(a, b, valid, narrow))
        });
    }

    /// The scan with exact `u32` counts (a text with a trigram occurring
    /// more than 255 times): lanes are tested against the L1 filter, then
    /// the exact presence bitset, before their counts are gathered.
    #[target_feature(enable = "avx512f")]
    fn scan_wide(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        debug_assert_eq!(scratch.filter.len(), FILTER_BITS / 64);
        let filter = scratch.filter.as_ptr() as *const i32;
        let counts = scratch.counts.as_ptr() as *const i32;
        let bits = scratch.present.as_ptr() as *const i32;
        let zero = _mm512_setzero_si512();
        scan_steps(list, best, |a, b, valid| {
            let ma = maybe_present(a, filter) & valid;
            let mb = maybe_present(b, filter) & valid;
            if ma | mb == 0 {
                return None;
            }
            // The filter's false positives name absent trigrams whose
            // counts lie anywhere in a multi-MB array: ask the exact
            // presence bitset (L2-resident) before gathering counts.
            // SAFETY: every lane index is a trigram index of this lexicon,
            // so its word is inside the bitset (only masked lanes are read).
            let (ma, mb) = unsafe { (present(a, ma, bits), present(b, mb, bits)) };
            if ma | mb == 0 {
                return None;
            }
            // SAFETY: every lane index is a trigram index of this lexicon,
            // below counts.len() (only masked lanes are read).
            let (ca, cb) = unsafe {
                (
                    _mm512_mask_i32gather_epi32::<4>(zero, ma, a, counts),
                    _mm512_mask_i32gather_epi32::<4>(zero, mb, b, counts),
                )
            };
            Some(_mm512_add_epi32(ca, cb))
        });
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(lanes: &[i32; 16]) -> __m512i {
        // SAFETY: 16 i32 are one vector.
        unsafe { _mm512_loadu_si512(lanes.as_ptr() as *const __m512i) }
    }
}

/// Moves `best` (pentagram, extra count) to the first entry of `list` with
/// a strictly larger total. Every entry contains the text trigram, so only
/// the other two positions decide; strictness keeps ties on the earliest.
/// Over byte counts when they fit (two byte reads per entry from a table a
/// quarter the size of `counts`: as fast as the filter, without its
/// follow-up reads), else filtered `u32` counts.
#[inline]
fn scan_pentagrams(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
    if scratch.narrow_by_trigram() {
        let narrow = &scratch.narrow;
        let extra =
            |entry: &[u32]| narrow[entry[1] as usize] as u32 + narrow[entry[2] as usize] as u32;
        // Four entries per step, as in `scan_pairs`.
        let mut steps = list.chunks_exact(12);
        for step in &mut steps {
            let e = [
                extra(&step[0..3]),
                extra(&step[3..6]),
                extra(&step[6..9]),
                extra(&step[9..12]),
            ];
            step_of_four(e, best, |j| step[3 * j]);
        }
        for entry in steps.remainder().chunks_exact(3) {
            let x = extra(entry);
            if x > best.1 {
                *best = (entry[0], x);
            }
        }
        return;
    }
    for entry in list.chunks_exact(3) {
        // An entry whose two other members are absent has extra 0, which
        // never beats the current best (≥ 0): skip it on the filter alone.
        if !(scratch.maybe_present(entry[1]) | scratch.maybe_present(entry[2])) {
            continue;
        }
        let extra = scratch.count(entry[1]) + scratch.count(entry[2]);
        if extra > best.1 {
            *best = (entry[0], extra);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A scratch holding `present` trigrams (with counts 1..=3) among
    /// `n_trigrams`, as the counting pass leaves it.
    fn scratch_with(n_trigrams: usize, present: &[u32]) -> FeatureScratch {
        let mut s = FeatureScratch::default();
        s.reset(n_trigrams);
        for (k, &t) in present.iter().enumerate() {
            if s.counts[t as usize] == 0 {
                s.distinct.push(t);
                s.present[t as usize / 64] |= 1 << (t % 64);
                let f = t as usize % FILTER_BITS;
                s.filter[f / 64] |= 1 << (f % 64);
            }
            s.counts[t as usize] += 1 + (k % 3) as u32;
        }
        s.fill_narrow(None);
        s
    }

    /// The scan without any filter: the definition.
    fn scan_naive(list: &[u32], s: &FeatureScratch, best: &mut (u32, u32)) {
        for e in list.chunks_exact(3) {
            let extra = s.count(e[1]) + s.count(e[2]);
            if extra > best.1 {
                *best = (e[0], extra);
            }
        }
    }

    /// Byte counts are used only while every count fits a byte: at 256
    /// occurrences the scans fall back to the exact `u32` counts.
    #[test]
    fn narrow_counts_only_when_they_fit() {
        // Counts 1, 2, 3, 1, 2, 3, ... added per occurrence.
        let mut s = scratch_with(100, &[7; 85]);
        assert_eq!(s.counts[7], 169);
        assert!(s.narrow_ok);
        assert_eq!(s.narrow[7], 169);
        s = scratch_with(100, &[7; 129]);
        assert_eq!(s.counts[7], 258);
        assert!(!s.narrow_ok);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// The filtered scan, the AVX2 scan and both AVX-512 scans (when
        /// this CPU has them) pick the same pentagram and extra as the
        /// plain definition, for lists of any length (tails shorter than a
        /// step included) and trigram indices that collide in the filter.
        #[test]
        fn fast_scans_equal_the_definition(
            n_entries in 0usize..120,
            n_present in 0usize..60,
            start_extra in 0u32..3,
            seed in any::<u64>(),
        ) {
            let n_trigrams = 3 * FILTER_BITS + 17;
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            // Few distinct values, some FILTER_BITS apart (filter collisions).
            let pick = |r: u64| ((r % 97) as usize + (r as usize >> 40) % 3 * FILTER_BITS) as u32;
            let present: Vec<u32> = (0..n_present).map(|_| pick(next())).collect();
            let list: Vec<u32> = (0..3 * n_entries).map(|_| pick(next())).collect();
            let s = scratch_with(n_trigrams, &present);
            let mut want = (u32::MAX, start_extra);
            scan_naive(&list, &s, &mut want);
            let mut got = (u32::MAX, start_extra);
            scan_pentagrams(&list, &s, &mut got);
            prop_assert_eq!(got, want);
            let mut fast = (u32::MAX, start_extra);
            scan_fast(&list, &s, &mut fast);
            prop_assert_eq!(fast, want);
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") && s.narrow_by_trigram() {
                let mut eight = (u32::MAX, start_extra);
                // SAFETY: AVX2 was detected.
                unsafe { avx2::scan_narrow(&list, &s, &mut eight) };
                prop_assert_eq!(eight, want);
            }
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx512f") {
                let mut wide = (u32::MAX, start_extra);
                // SAFETY: AVX-512F was detected.
                unsafe { avx512::scan_pentagrams(&list, &s, &mut wide) };
                prop_assert_eq!(wide, want);
            }
            // The exact u32 paths too (taken when a count exceeds 255).
            let mut s = s;
            s.narrow_ok = false;
            let mut exact = (u32::MAX, start_extra);
            scan_pentagrams(&list, &s, &mut exact);
            prop_assert_eq!(exact, want);
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx512f") {
                let mut exact = (u32::MAX, start_extra);
                // SAFETY: AVX-512F was detected.
                unsafe { avx512::scan_pentagrams(&list, &s, &mut exact) };
                prop_assert_eq!(exact, want);
            }
        }

        /// The pair scans (portable, AVX2 and AVX-512 when this CPU has
        /// them) pick the same entry and extra as the definition, for
        /// lists of any length (tails shorter than a step included), any
        /// starting best, and byte counts up to 255.
        #[test]
        fn pair_scans_equal_the_definition(
            n_entries in 0usize..120,
            n_keys in 1usize..200,
            start in 0u32..3,
            seed in any::<u64>(),
        ) {
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            // Byte counts: mostly 0, some small, a few up to 255.
            let mut narrow: Vec<u8> = (0..n_keys)
                .map(|_| match next() % 8 { 0 => (next() % 256) as u8, 1 | 2 => (next() % 4) as u8, _ => 0 })
                .collect();
            narrow.extend([0xAB; 3]);
            let pairs: Vec<u32> = (0..2 * n_entries).map(|_| (next() % n_keys as u64) as u32).collect();
            let mut want = (u32::MAX, start);
            for (i, e) in pairs.chunks_exact(2).enumerate() {
                let extra = narrow[e[0] as usize] as u32 + narrow[e[1] as usize] as u32;
                if extra > want.1 {
                    want = (i as u32, extra);
                }
            }
            let mut got = (u32::MAX, start);
            scan_pairs(&pairs, &narrow, &mut got);
            prop_assert_eq!(got, want);
            let mut fast = (u32::MAX, start);
            scan_pairs_fast(&pairs, &narrow, &mut fast);
            prop_assert_eq!(fast, want);
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") {
                let mut eight = (u32::MAX, start);
                // SAFETY: AVX2 was detected.
                unsafe { avx2::scan_pairs(&pairs, &narrow, &mut eight) };
                prop_assert_eq!(eight, want);
            }
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx512f") {
                let mut sixteen = (u32::MAX, start);
                // SAFETY: AVX-512F was detected.
                unsafe { avx512::scan_pairs(&pairs, &narrow, &mut sixteen) };
                prop_assert_eq!(sixteen, want);
            }
        }
    }
}
