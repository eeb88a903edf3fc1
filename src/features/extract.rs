//! DIRECT + AGR feature extraction of one document (SPEC §3). Given the same
//! lexicon, the same text always gives the same (column, value) pairs: no
//! state is shared between documents except the reusable scratch buffers.

use serde::Serialize;

use crate::features::lexicon::NO_COLUMN;
use crate::features::source::FeatureSource;
use crate::text::Normalization;

/// Why a column got its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A white trigram of the text itself (value 1.0).
    Direct,
    /// A white trigram added from the best pentagram of a text trigram.
    Agr {
        /// The pentagram it came from (index in the lexicon).
        pentagram: u32,
    },
}

/// One set input column with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeaturePair {
    /// Input column.
    pub column: u32,
    /// Trigram index in the lexicon.
    pub trigram: u32,
    /// Feature value.
    pub value: f32,
    /// DIRECT or AGR.
    pub kind: FeatureKind,
}

/// A sparse input row: columns ascending with their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseRow {
    /// Set columns, ascending.
    pub cols: Vec<u32>,
    /// Values of `cols`.
    pub vals: Vec<f32>,
}

impl SparseRow {
    /// True when the document has no features.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// Builds a row from pairs in any order.
    pub fn from_pairs(pairs: &[FeaturePair]) -> SparseRow {
        let mut sorted: Vec<(u32, f32)> = pairs.iter().map(|p| (p.column, p.value)).collect();
        sorted.sort_unstable_by_key(|p| p.0);
        SparseRow {
            cols: sorted.iter().map(|p| p.0).collect(),
            vals: sorted.iter().map(|p| p.1).collect(),
        }
    }
}

/// Bits of the small presence filter: 64 Ki bits (8 KiB) stay in L1 and,
/// with the ~1,000 distinct trigrams of a long article, are ~1.5% set.
const FILTER_BITS: usize = 1 << 16;

/// Reusable per-thread buffers for extraction.
///
/// Occurrence counts live in a dense array indexed by trigram, guarded by a
/// bitset (a few hundred KB, cache-resident) so that scoring the long
/// pentagram lists of common trigrams costs a bit test per entry, not a hash
/// lookup. In front of that bitset sits an 8 KiB filter indexed by the low
/// bits of the trigram index: most list entries name trigrams absent from
/// the text, and the filter rejects almost all of them from L1 (it can only
/// say "maybe present", never hide a present trigram, so results are
/// unchanged). All are sized on first use and cleared per document through
/// the list of distinct trigrams (and the set columns).
#[derive(Debug, Default)]
pub struct FeatureScratch {
    chars: Vec<char>,
    keys: Vec<u64>,
    indices: Vec<u32>,
    counts: Vec<u32>,
    present: Vec<u64>,
    filter: Vec<u64>,
    distinct: Vec<u32>,
    /// Per distinct trigram: the extra count of its best pentagram
    /// (`u32::MAX` when it has none).
    best: Vec<u32>,
    /// Per distinct trigram: its best pentagram (`u32::MAX` when none).
    best_id: Vec<u32>,
    /// Set input columns of the current text (bitset, grown on demand).
    set: Vec<u64>,
    /// The best pentagram of each distinct trigram that has one, in order.
    chosen: Vec<u32>,
    /// Occurrence counts as bytes (indexed by trigram, 3 bytes of padding
    /// so a 4-byte gather at the last index stays inside): a quarter of
    /// `counts`' size, so the AVX-512 scan gathers them straight from L2
    /// without the filter and presence tests. Valid only when `narrow_ok`.
    narrow: Vec<u8>,
    /// Whether every count of the current text fits `narrow` (≤ 255).
    narrow_ok: bool,
}

impl FeatureScratch {
    fn reset(&mut self, n_trigrams: usize) {
        if self.counts.len() != n_trigrams {
            self.counts = vec![0; n_trigrams];
            self.present = vec![0; n_trigrams.div_ceil(64)];
            self.narrow = vec![0; n_trigrams + 3];
        } else {
            for &t in &self.distinct {
                self.counts[t as usize] = 0;
                self.present[t as usize / 64] = 0;
                self.narrow[t as usize] = 0;
            }
        }
        self.narrow_ok = false;
        if self.filter.len() != FILTER_BITS / 64 {
            self.filter = vec![0; FILTER_BITS / 64];
        } else {
            for &t in &self.distinct {
                self.filter[t as usize % FILTER_BITS / 64] = 0;
            }
        }
        self.distinct.clear();
    }

    /// Copies the counts of the distinct trigrams into `narrow` when all
    /// fit a byte (else the scans keep to the exact `u32` path).
    fn fill_narrow(&mut self) {
        self.narrow_ok = self
            .distinct
            .iter()
            .all(|&t| self.counts[t as usize] <= 255);
        if self.narrow_ok {
            for &t in &self.distinct {
                self.narrow[t as usize] = self.counts[t as usize] as u8;
            }
        }
    }

    /// Whether trigram `t` may occur in the current text (false: it does not).
    #[inline]
    fn maybe_present(&self, t: u32) -> bool {
        let i = t as usize % FILTER_BITS;
        self.filter[i / 64] & (1 << (i % 64)) != 0
    }

    /// The last extracted text's distinct trigrams (those the source knows)
    /// as [`ProfileEntry`]s in order of first occurrence. The stream keeps
    /// this per document to tell which newly known pentagrams can change its
    /// features, and to re-derive its features without the text
    /// ([`reextract_pairs`]).
    pub fn profile(&self) -> impl Iterator<Item = ProfileEntry> + '_ {
        self.distinct
            .iter()
            .zip(&self.best)
            .zip(&self.best_id)
            .map(|((&t, &b), &id)| (t, self.counts[t as usize], b, id))
    }

    /// Occurrences of trigram `t` in the current text.
    #[inline]
    fn count(&self, t: u32) -> u32 {
        if self.present[t as usize / 64] & (1 << (t % 64)) == 0 {
            0
        } else {
            self.counts[t as usize]
        }
    }
}

/// One distinct trigram of an extracted text: `(trigram, occurrences,
/// extra count of its best pentagram, best pentagram)`, the last two
/// `u32::MAX` for a trigram in no known pentagram.
pub type ProfileEntry = (u32, u32, u32, u32);

/// Features of `text` as a sparse row (columns ascending).
pub fn extract<S: FeatureSource + ?Sized>(
    lex: &S,
    norm: Normalization,
    text: &str,
    scratch: &mut FeatureScratch,
) -> SparseRow {
    SparseRow::from_pairs(&extract_pairs(lex, norm, text, scratch))
}

/// Features of `text` with provenance, in the order they were set: DIRECT
/// pairs first (trigram order of first occurrence), then AGR pairs.
pub fn extract_pairs<S: FeatureSource + ?Sized>(
    lex: &S,
    norm: Normalization,
    text: &str,
    scratch: &mut FeatureScratch,
) -> Vec<FeaturePair> {
    scratch.reset(lex.n_trigrams());
    norm.apply_into(text, &mut scratch.chars);
    scratch.keys.clear();
    scratch.keys.extend(
        scratch
            .chars
            .windows(3)
            .map(|w| crate::text::Trigram::new([w[0], w[1], w[2]]).0),
    );
    lex.lookup_many(&scratch.keys, &mut scratch.indices);
    // Start loading what the passes below read per trigram (its count, and
    // column, status and list offsets): a few cache misses per distinct
    // trigram, overlapped instead of waited for one by one.
    for (k, &i) in scratch.indices.iter().enumerate() {
        if let Some(&ahead) = scratch.indices.get(k + PREFETCH_AHEAD)
            && ahead != u32::MAX
        {
            prefetch_at(&scratch.counts, ahead as usize);
            lex.prefetch_trigram(ahead);
        }
        if i == u32::MAX {
            continue;
        }
        let c = &mut scratch.counts[i as usize];
        if *c == 0 {
            scratch.distinct.push(i);
            scratch.present[i as usize / 64] |= 1 << (i % 64);
            let f = i as usize % FILTER_BITS;
            scratch.filter[f / 64] |= 1 << (f % 64);
        }
        *c += 1;
    }
    scratch.fill_narrow();
    let mut pairs = Vec::new();
    // DIRECT: every distinct white trigram with a column → 1.0.
    for &t in &scratch.distinct {
        let col = lex.column(t);
        if col != NO_COLUMN && lex.is_white(t) {
            insert_column(&mut scratch.set, col);
            pairs.push(FeaturePair {
                column: col,
                trigram: t,
                value: 1.0,
                kind: FeatureKind::Direct,
            });
        }
    }
    // AGR: for each distinct trigram in first-occurrence order, its best
    // pentagram's white trigrams not yet set.
    scratch.best.clear();
    scratch.best_id.clear();
    scratch.chosen.clear();
    const AHEAD: usize = 4;
    for &t in scratch.distinct.iter().take(AHEAD) {
        prefetch_list(lex.pentagram_lists(t).0);
    }
    // Pass 1: the best pentagram of every distinct trigram (it depends only
    // on the counts, not on what AGR sets). Its member triple is fetched
    // ahead, so pass 2 does not wait on one cache miss per trigram.
    for i in 0..scratch.distinct.len() {
        let t = scratch.distinct[i];
        // The lists of the next trigrams are cold (a few hundred KB per
        // document out of tens of MB): start loading them now.
        if let Some(&next) = scratch.distinct.get(i + AHEAD) {
            prefetch_list(lex.pentagram_lists(next).0);
        }
        let (list, appended) = lex.pentagram_lists(t);
        let found = best_pentagram(list, appended, scratch);
        if let Some((best, _)) = found {
            lex.prefetch_pentagram(best);
        }
        scratch
            .best
            .push(found.map_or(u32::MAX, |(_, extra)| extra));
        scratch
            .best_id
            .push(found.map_or(u32::MAX, |(best, _)| best));
        if let Some((best, _)) = found {
            scratch.chosen.push(best);
        }
    }
    // Pass 2, in the same order: each best pentagram's white trigrams not
    // yet set.
    for &p in scratch.chosen.iter().take(PREFETCH_AHEAD) {
        for u in lex.pentagram_trigrams(p) {
            lex.prefetch_agr(u);
        }
    }
    for i in 0..scratch.chosen.len() {
        let best = scratch.chosen[i];
        if let Some(&ahead) = scratch.chosen.get(i + PREFETCH_AHEAD) {
            for u in lex.pentagram_trigrams(ahead) {
                lex.prefetch_agr(u);
            }
        }
        push_agr(lex, best, &mut scratch.set, &mut pairs);
    }
    clear_columns(&mut scratch.set, &pairs);
    pairs
}

/// The features of a text known by its `profile` (as [`FeatureScratch::profile`]
/// left it after the text's last extraction), without the text: the best
/// pentagram of every trigram for which `stale` says its pentagram list may
/// have changed since is searched again (the same scan as
/// [`extract_pairs`], so ties go to the same pentagram), the others keep
/// theirs, and the row is rebuilt from the DIRECT trigrams and the best
/// pentagrams under the source's current statuses and values. `profile`
/// is updated in place.
///
/// This gives exactly [`extract_pairs`]' columns and values: a best
/// pentagram depends only on the text's counts and its trigram's list,
/// and a column's value only on its trigram (1.0 when DIRECT, else its AGR
/// value), never on the order in which the columns were set. Only the
/// order of the returned pairs (and AGR provenance) may differ.
pub fn reextract_pairs<S: FeatureSource + ?Sized>(
    lex: &S,
    profile: &mut [ProfileEntry],
    stale: impl Fn(u32) -> bool,
    scratch: &mut FeatureScratch,
) -> Vec<FeaturePair> {
    scratch.reset(lex.n_trigrams());
    for &(t, count, _, _) in profile.iter() {
        scratch.counts[t as usize] = count;
        scratch.present[t as usize / 64] |= 1 << (t % 64);
        let f = t as usize % FILTER_BITS;
        scratch.filter[f / 64] |= 1 << (f % 64);
        scratch.distinct.push(t);
    }
    scratch.fill_narrow();
    let mut pairs = Vec::new();
    for entry in profile.iter_mut() {
        let t = entry.0;
        if stale(t) {
            let (list, appended) = lex.pentagram_lists(t);
            let found = best_pentagram(list, appended, scratch);
            entry.2 = found.map_or(u32::MAX, |(_, extra)| extra);
            entry.3 = found.map_or(u32::MAX, |(best, _)| best);
        }
        let col = lex.column(t);
        if col != NO_COLUMN && lex.is_white(t) {
            insert_column(&mut scratch.set, col);
            pairs.push(FeaturePair {
                column: col,
                trigram: t,
                value: 1.0,
                kind: FeatureKind::Direct,
            });
        }
    }
    for &(_, _, _, best) in profile.iter() {
        if best == u32::MAX {
            continue;
        }
        push_agr(lex, best, &mut scratch.set, &mut pairs);
    }
    clear_columns(&mut scratch.set, &pairs);
    pairs
}

/// AGR step for one best pentagram: each of its white trigrams with a
/// column not yet set gets its AGR value (SPEC §3.2).
#[inline]
fn push_agr<S: FeatureSource + ?Sized>(
    lex: &S,
    best: u32,
    set: &mut Vec<u64>,
    pairs: &mut Vec<FeaturePair>,
) {
    for u in lex.pentagram_trigrams(best) {
        let col = lex.column(u);
        if col != NO_COLUMN && lex.is_white(u) && insert_column(set, col) {
            pairs.push(FeaturePair {
                column: col,
                trigram: u,
                value: lex.agr_value(u),
                kind: FeatureKind::Agr { pentagram: best },
            });
        }
    }
}

/// Leaves the set-column bitset empty again (only the words `pairs`
/// touched), ready for the next text.
fn clear_columns(set: &mut [u64], pairs: &[FeaturePair]) {
    for p in pairs {
        set[p.column as usize / 64] = 0;
    }
}

/// How far ahead (in trigrams or chosen pentagrams) the passes prefetch:
/// enough to cover a memory latency with the work of the items between.
const PREFETCH_AHEAD: usize = 16;

/// Asks the CPU to start loading the cache line of `slice[i]` (a hint: no
/// effect on results; nothing when `i` is out of bounds or on other
/// architectures).
#[inline]
pub(crate) fn prefetch_at<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = slice.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetching a valid address has no side effects.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(x as *const T as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}

/// Cache lines of a pentagram list prefetched ahead (1 KiB: a typical
/// text trigram's whole list; the scan prefetches further itself).
const LIST_PREFETCH_LINES: usize = 16;

/// Asks the CPU to start loading the first cache lines of a pentagram list
/// (a hint: no effect on results, nothing on other architectures).
#[inline]
fn prefetch_list(list: &[u32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        for line in list.chunks(16).take(LIST_PREFETCH_LINES) {
            // SAFETY: prefetching a valid address has no side effects.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = list;
}

/// Marks column `col` in the bitset `set` (grown on demand); false when it
/// already was set.
#[inline]
fn insert_column(set: &mut Vec<u64>, col: u32) -> bool {
    let word = col as usize / 64;
    if word >= set.len() {
        set.resize((word + 1).next_power_of_two(), 0);
    }
    let bit = 1u64 << (col % 64);
    let fresh = set[word] & bit == 0;
    set[word] |= bit;
    fresh
}

/// The pentagram of `list` then `appended` (triples `(pentagram, other,
/// other)` of a text trigram t) whose three trigram positions occur most
/// often in the text, repeats counted; ties go to the earliest. Returns it
/// with its count at the two positions other than t's.
fn best_pentagram(list: &[u32], appended: &[u32], scratch: &FeatureScratch) -> Option<(u32, u32)> {
    let (first, rest, tail) = match list.split_first_chunk::<3>() {
        Some((first, rest)) => (first, rest, appended),
        None => {
            let (first, rest) = appended.split_first_chunk::<3>()?;
            (first, rest, &[][..])
        }
    };
    let mut best = (first[0], scratch.count(first[1]) + scratch.count(first[2]));
    scan_fast(rest, scratch, &mut best);
    scan_fast(tail, scratch, &mut best);
    Some(best)
}

/// [`scan_pentagrams`] with the fastest scan this CPU has (AVX-512: 16
/// entries per step, the filter tested with gathers); same result.
#[inline]
fn scan_fast(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
    #[cfg(target_arch = "x86_64")]
    if scan_avx512_available() {
        // SAFETY: AVX-512F was detected.
        unsafe { avx512::scan_pentagrams(list, scratch, best) };
        return;
    }
    scan_pentagrams(list, scratch, best);
}

/// Whether the AVX-512 scan may run: the CPU has AVX-512F and
/// `SCYTH_KERNEL` does not force the portable paths (`scalar`, `avx2`).
#[cfg(target_arch = "x86_64")]
fn scan_avx512_available() -> bool {
    use std::sync::OnceLock;
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let forced = std::env::var("SCYTH_KERNEL").ok();
        is_x86_feature_detected!("avx512f")
            && !matches!(forced.as_deref(), Some("scalar" | "avx2" | "avxvnni"))
    })
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

    /// The scan of [`super::scan_pentagrams`], 16 entries per step. The
    /// counts of the lanes that pass the filter are gathered (`counts` is 0
    /// for every absent trigram, the others are the text's own few hundred
    /// cache lines); when the step's largest extra beats `best`, its first
    /// lane becomes the best, which is where the entry-by-entry scan with a
    /// strict `>` ends up too.
    #[target_feature(enable = "avx512f")]
    pub(super) fn scan_pentagrams(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        if scratch.narrow_ok {
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

    /// The scan when every count fits a byte: the two other trigrams'
    /// counts are gathered straight from [`FeatureScratch::narrow`] (0 for
    /// absent trigrams; a megabyte-sized table that stays in L2), two
    /// gathers per 16 entries, and the step's maximum is only reduced when
    /// some lane beats `best`.
    #[target_feature(enable = "avx512f")]
    fn scan_narrow(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        let narrow = scratch.narrow.as_ptr() as *const i32;
        let bytes = _mm512_set1_epi32(0xFF);
        let entries = list.len() / 3;
        let mut at = 0;
        while at < entries {
            let chunk = &list[3 * at..3 * entries.min(at + 16)];
            at += 16;
            let p = chunk.as_ptr() as *const i32;
            for line in 12..15 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(16 * line) as *const i8);
            }
            // SAFETY: the chunk holds chunk.len() words.
            let (a, b) = unsafe { others(p, chunk.len()) };
            let valid: u16 = match chunk.len() / 3 {
                16 => u16::MAX,
                m => (1u16 << m) - 1,
            };
            // SAFETY: every lane index is a trigram index of this lexicon
            // and `narrow` has 3 bytes past the last one, so each 4-byte
            // read is inside it (only valid lanes are read).
            let (ca, cb) = unsafe {
                (
                    _mm512_mask_i32gather_epi32::<1>(_mm512_setzero_si512(), valid, a, narrow),
                    _mm512_mask_i32gather_epi32::<1>(_mm512_setzero_si512(), valid, b, narrow),
                )
            };
            let extra = _mm512_add_epi32(_mm512_and_si512(ca, bytes), _mm512_and_si512(cb, bytes));
            if _mm512_cmpgt_epu32_mask(extra, _mm512_set1_epi32(best.1 as i32)) == 0 {
                continue;
            }
            let max = _mm512_reduce_max_epu32(extra);
            let first = _mm512_cmpeq_epi32_mask(extra, _mm512_set1_epi32(max as i32));
            let j = first.trailing_zeros() as usize;
            *best = (chunk[3 * j], max);
        }
    }

    /// The scan with exact `u32` counts (a text with a trigram occurring
    /// more than 255 times).
    #[target_feature(enable = "avx512f")]
    fn scan_wide(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
        debug_assert_eq!(scratch.filter.len(), FILTER_BITS / 64);
        let filter = scratch.filter.as_ptr() as *const i32;
        let counts = scratch.counts.as_ptr() as *const i32;
        let bits = scratch.present.as_ptr() as *const i32;
        let (a_lo, a_hi) = (load(&A_LO), load(&A_HI));
        let (b_lo, b_hi) = (load(&B_LO), load(&B_HI));
        let zero = _mm512_setzero_si512();
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
            // SAFETY: the masks cover exactly the chunk's u32 (48 for a
            // whole step, fewer for the last): masked-off lanes read nothing.
            let (v0, v1, v2) = unsafe {
                let n = chunk.len();
                let mask = |from: usize| -> u16 {
                    match n.saturating_sub(from) {
                        0 => 0,
                        m if m >= 16 => u16::MAX,
                        m => (1u16 << m) - 1,
                    }
                };
                (
                    _mm512_maskz_loadu_epi32(mask(0), p),
                    _mm512_maskz_loadu_epi32(mask(16), p.wrapping_add(16)),
                    _mm512_maskz_loadu_epi32(mask(32), p.wrapping_add(32)),
                )
            };
            let valid: u16 = match chunk.len() / 3 {
                16 => u16::MAX,
                m => (1u16 << m) - 1,
            };
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
            let ma = maybe_present(a, filter) & valid;
            let mb = maybe_present(b, filter) & valid;
            if ma | mb == 0 {
                continue;
            }
            // The filter's false positives name absent trigrams whose
            // counts lie anywhere in a multi-MB array: ask the exact
            // presence bitset (L2-resident) before gathering counts.
            // SAFETY: every lane index is a trigram index of this lexicon,
            // so its word is inside the bitset (only masked lanes are read).
            let (ma, mb) = unsafe { (present(a, ma, bits), present(b, mb, bits)) };
            if ma | mb == 0 {
                continue;
            }
            // SAFETY: every lane index is a trigram index of this lexicon,
            // below counts.len() (only masked lanes are read).
            let (ca, cb) = unsafe {
                (
                    _mm512_mask_i32gather_epi32::<4>(zero, ma, a, counts),
                    _mm512_mask_i32gather_epi32::<4>(zero, mb, b, counts),
                )
            };
            let extra = _mm512_add_epi32(ca, cb);
            let max = _mm512_reduce_max_epu32(extra);
            if max > best.1 {
                let first = _mm512_cmpeq_epi32_mask(extra, _mm512_set1_epi32(max as i32));
                let j = first.trailing_zeros() as usize;
                *best = (chunk[3 * j], max);
            }
        }
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
#[inline]
fn scan_pentagrams(list: &[u32], scratch: &FeatureScratch, best: &mut (u32, u32)) {
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

/// For a text known by its `profile` (as in [`reextract_pairs`]): searches
/// again, with the extraction's own scan (so ties go to the same entry),
/// the best pentagram of each of `trigrams` (those of the profile whose
/// best may have left its list), updates `profile`, and returns the best
/// pentagrams that changed as (old, new) indices (`u32::MAX`: none). The
/// stream patches a held document's row from them instead of rebuilding it.
pub(crate) fn research_bests<S: FeatureSource + ?Sized>(
    lex: &S,
    profile: &mut [ProfileEntry],
    trigrams: &[u32],
    scratch: &mut FeatureScratch,
) -> Vec<(u32, u32)> {
    scratch.reset(lex.n_trigrams());
    for &(t, count, _, _) in profile.iter() {
        scratch.counts[t as usize] = count;
        scratch.present[t as usize / 64] |= 1 << (t % 64);
        let f = t as usize % FILTER_BITS;
        scratch.filter[f / 64] |= 1 << (f % 64);
        scratch.distinct.push(t);
    }
    scratch.fill_narrow();
    let mut changes = Vec::new();
    for &t in trigrams {
        let Ok(i) = profile.binary_search_by_key(&t, |e| e.0) else {
            continue;
        };
        let (list, appended) = lex.pentagram_lists(t);
        let (best, extra) = best_pentagram(list, appended, scratch).unwrap_or((u32::MAX, u32::MAX));
        if best != profile[i].3 {
            changes.push((profile[i].3, best));
        }
        profile[i].2 = extra;
        profile[i].3 = best;
    }
    changes
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
        s.fill_narrow();
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

        /// The filtered scan and the AVX-512 scan (when this CPU has it)
        /// pick the same pentagram and extra as the plain definition, for
        /// lists of any length (tails shorter than 16 entries included) and
        /// trigram indices that collide in the filter.
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
            if is_x86_feature_detected!("avx512f") {
                let mut wide = (u32::MAX, start_extra);
                // SAFETY: AVX-512F was detected.
                unsafe { avx512::scan_pentagrams(&list, &s, &mut wide) };
                prop_assert_eq!(wide, want);
                // The exact u32 path too (taken when a count exceeds 255).
                let mut s = s;
                s.narrow_ok = false;
                let mut exact = (u32::MAX, start_extra);
                // SAFETY: AVX-512F was detected.
                unsafe { avx512::scan_pentagrams(&list, &s, &mut exact) };
                prop_assert_eq!(exact, want);
            }
        }
    }
}
