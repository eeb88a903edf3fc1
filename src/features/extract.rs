//! DIRECT + AGR feature extraction of one document (SPEC §3). Given the same
//! lexicon, the same text always gives the same (column, value) pairs: no
//! state is shared between documents except the reusable scratch buffers.

use serde::Serialize;

use crate::bits;
use crate::features::lexicon::{Lexicon, NO_COLUMN};
use crate::features::source::FeatureSource;
use crate::text::Normalization;

mod scan;
use scan::{scan_fast, scan_pairs_fast};

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
    /// Occurrence counts as bytes, indexed by scan key (the trigram index,
    /// or the model lexicon's scan key when the source scans its
    /// [`ScanLists`](crate::features::lexicon::ScanLists); 3 bytes of
    /// padding so a 4-byte gather at the last index stays inside): a
    /// quarter of `counts`' size, so the SIMD scans gather them straight
    /// from cache without the filter and presence tests. Valid only when
    /// `narrow_ok`.
    narrow: Vec<u8>,
    /// The scan keys set in `narrow` (cleared through them).
    narrow_keys: Vec<u32>,
    /// Per distinct trigram, the bounds of its scan list (entries), taken
    /// with its scan key while its record is in cache: the list scan then
    /// reads them from here instead of missing on the record again. Filled
    /// only when the source has scan lists and `narrow_ok`.
    spans: Vec<(u32, u32)>,
    /// Whether every count of the current text fits `narrow` (≤ 255).
    narrow_ok: bool,
    /// Whether `narrow` is indexed by trigram (the source has no scan
    /// lists), so the triple scans may read it.
    narrow_by_trigram: bool,
    /// Whether the current text was counted by scan key straight into
    /// `narrow` ([`FeatureScratch::count_by_key`]): `counts`, `present` and
    /// `filter` then do not hold it, and `narrow_keys` is aligned with
    /// `distinct`.
    by_key: bool,
}

impl FeatureScratch {
    fn reset(&mut self, n_trigrams: usize) {
        // Clear what the previous text set. The tables only grow: a live
        // lexicon gains trigrams every epoch, and reallocating its ~6 MB of
        // zeroed tables for each new size page-faulted them back in, one
        // page per trigram the next texts touched.
        if !self.by_key {
            for &t in &self.distinct {
                self.counts[t as usize] = 0;
                self.present[t as usize / 64] = 0;
            }
        }
        for &key in &self.narrow_keys {
            self.narrow[key as usize] = 0;
        }
        if self.counts.len() < n_trigrams {
            // Headroom, so that a growing lexicon reallocates rarely.
            let n = n_trigrams + n_trigrams / 16;
            self.counts.resize(n, 0);
            self.present.resize(n.div_ceil(64), 0);
            self.narrow.resize(n + 3, 0);
        }
        self.narrow_keys.clear();
        self.spans.clear();
        self.narrow_ok = false;
        if self.filter.len() != FILTER_BITS / 64 {
            self.filter = vec![0; FILTER_BITS / 64];
        } else if !self.by_key {
            for &t in &self.distinct {
                self.filter[t as usize % FILTER_BITS / 64] = 0;
            }
        }
        self.distinct.clear();
        self.by_key = false;
    }

    /// Sets the scratch to the counts of a text known by its `profile`
    /// (as [`FeatureScratch::profile`] left it), as if the text had just
    /// been counted: what re-extraction needs without the text.
    fn load_profile(
        &mut self,
        n_trigrams: usize,
        profile: &[ProfileEntry],
        scan_lexicon: Option<&Lexicon>,
    ) {
        self.reset(n_trigrams);
        for &(t, count, _, _) in profile {
            self.counts[t as usize] = count;
            self.present[t as usize / 64] |= 1 << (t % 64);
            let f = t as usize % FILTER_BITS;
            self.filter[f / 64] |= 1 << (f % 64);
            self.distinct.push(t);
        }
        self.fill_narrow(scan_lexicon);
    }

    /// Copies the counts of the distinct trigrams into `narrow` when all
    /// fit a byte (else the scans keep to the exact `u32` path), at their
    /// scan keys in `scan_lexicon` when the source scans its lists, else at
    /// their trigram indices.
    fn fill_narrow(&mut self, scan_lexicon: Option<&Lexicon>) {
        self.narrow_by_trigram = scan_lexicon.is_none();
        self.narrow_ok = self
            .distinct
            .iter()
            .all(|&t| self.counts[t as usize] <= 255);
        if !self.narrow_ok {
            return;
        }
        for &t in &self.distinct {
            let key = match scan_lexicon {
                Some(lex) => {
                    self.spans.push(lex.scan_span(t));
                    lex.scan_key(t)
                }
                None => t,
            };
            self.narrow[key as usize] = self.counts[t as usize] as u8;
            self.narrow_keys.push(key);
        }
    }

    /// Counts the looked-up trigrams of the current text (`indices`)
    /// straight into `narrow` at their scan keys in `model`, noting each
    /// distinct trigram's key and list bounds on its first occurrence: what
    /// the counting pass and [`FeatureScratch::fill_narrow`] leave, without
    /// the trigram-indexed tables (a few MB touched at random per text).
    /// Returns false, with nothing counted, when some trigram occurs more
    /// than 255 times: the caller then counts the exact way.
    fn count_by_key(&mut self, model: &Lexicon) -> bool {
        for (k, &i) in self.indices.iter().enumerate() {
            if let Some(&ahead) = self.indices.get(k + PREFETCH_AHEAD)
                && ahead != u32::MAX
            {
                model.prefetch_trigram(ahead);
            }
            // Half as far ahead, that trigram's record has arrived: start
            // loading its byte count.
            if let Some(&near) = self.indices.get(k + PREFETCH_AHEAD / 2)
                && near != u32::MAX
            {
                prefetch_at(&self.narrow, model.scan_key(near) as usize);
            }
            if i == u32::MAX {
                continue;
            }
            let key = model.scan_key(i);
            let count = &mut self.narrow[key as usize];
            match *count {
                0 => {
                    self.distinct.push(i);
                    self.narrow_keys.push(key);
                    self.spans.push(model.scan_span(i));
                }
                u8::MAX => {
                    for &key in &self.narrow_keys {
                        self.narrow[key as usize] = 0;
                    }
                    self.narrow_keys.clear();
                    self.spans.clear();
                    self.distinct.clear();
                    return false;
                }
                _ => {}
            }
            *count += 1;
        }
        self.narrow_ok = true;
        self.narrow_by_trigram = false;
        self.by_key = true;
        true
    }

    /// Empties pass 1's per-trigram results (`best`, `best_id`) and its
    /// queue for pass 2 (`chosen`).
    fn clear_bests(&mut self) {
        self.best.clear();
        self.best_id.clear();
        self.chosen.clear();
    }

    /// Whether the triple scans may read `narrow` (every count fits, and
    /// it is indexed by trigram).
    #[inline]
    fn narrow_by_trigram(&self) -> bool {
        self.narrow_ok && self.narrow_by_trigram
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
            .enumerate()
            .zip(&self.best)
            .zip(&self.best_id)
            .map(|(((i, &t), &b), &id)| {
                let count = if self.by_key {
                    self.narrow[self.narrow_keys[i] as usize] as u32
                } else {
                    self.counts[t as usize]
                };
                (t, count, b, id)
            })
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
    if !lex
        .scan_lexicon()
        .is_some_and(|model| scratch.count_by_key(model))
    {
        count_by_trigram(lex, scratch);
    }
    let mut pairs = Vec::new();
    // DIRECT: every distinct white trigram with a column → 1.0.
    for &t in &scratch.distinct {
        let col = lex.white_column(t);
        if col != NO_COLUMN {
            bits::insert(&mut scratch.set, col);
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
    // Pass 1: the best pentagram of every distinct trigram (it depends only
    // on the counts, not on what AGR sets). Its member triple is fetched
    // ahead, so pass 2 does not wait on one cache miss per trigram.
    match lex.scan_lexicon() {
        // The list bounds are in `spans` exactly when the counts fit bytes.
        Some(model) if scratch.narrow_ok => bests_by_span(model, scratch),
        _ => bests_by_list(lex, scratch),
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

/// How many distinct trigrams ahead pass 1 prefetches pentagram lists:
/// the lists of the next trigrams are cold (a few hundred KB per document
/// out of tens of MB).
const LIST_AHEAD: usize = 4;

/// Pass 1 of [`extract_pairs`] over a source's own triples: fills
/// `scratch.best`, `scratch.best_id` and `scratch.chosen` for every
/// distinct trigram in order.
fn bests_by_list<S: FeatureSource + ?Sized>(lex: &S, scratch: &mut FeatureScratch) {
    scratch.clear_bests();
    let n = scratch.distinct.len();
    for i in 0..n.min(LIST_AHEAD) {
        prefetch_list(lex.pentagram_lists(scratch.distinct[i]).0);
    }
    for i in 0..n {
        if i + LIST_AHEAD < n {
            prefetch_list(lex.pentagram_lists(scratch.distinct[i + LIST_AHEAD]).0);
        }
        let found = best_pentagram(lex, scratch.distinct[i], scratch);
        if let Some((best, _)) = found {
            lex.prefetch_pentagram(best);
            scratch.chosen.push(best);
        }
        scratch
            .best
            .push(found.map_or(u32::MAX, |(_, extra)| extra));
        scratch
            .best_id
            .push(found.map_or(u32::MAX, |(best, _)| best));
    }
}

/// Pass 1 of [`extract_pairs`] over the model lexicon's scan lists (byte
/// counts by scan key, list bounds in `scratch.spans`), with the same
/// results as [`bests_by_list`]. The scan gives the winning entry; its
/// pentagram sits in a parallel array that is read only for winners, a
/// cache miss per trigram: it is prefetched when the scan ends and read
/// [`ID_LAG`] trigrams later, so the misses overlap the following scans.
///
/// A winner whose two other members both occur in the text is not queued
/// for pass 2: AGR sets only white trigrams with a column that are not yet
/// set, and every such trigram of the text was set by DIRECT, so that
/// pentagram adds nothing (its pentagram is still resolved for the
/// profile).
fn bests_by_span(model: &Lexicon, scratch: &mut FeatureScratch) {
    scratch.clear_bests();
    // Per trigram of the lag window: whether its winner may add features.
    let mut adds = [false; ID_LAG];
    let n = scratch.distinct.len();
    for i in 0..n.min(LIST_AHEAD) {
        prefetch_list(model.scan_entries(scratch.spans[i]).0);
    }
    for i in 0..n {
        if i + LIST_AHEAD < n {
            prefetch_list(model.scan_entries(scratch.spans[i + LIST_AHEAD]).0);
        }
        if i >= ID_LAG {
            resolve_best(model, scratch, i - ID_LAG, adds[i % ID_LAG]);
        }
        let span = scratch.spans[i];
        if span.0 == span.1 {
            scratch.best.push(u32::MAX);
            scratch.best_id.push(u32::MAX);
        } else {
            let (pairs, _) = model.scan_entries(span);
            let mut best = (0, 0);
            scan_pairs_fast(pairs, &scratch.narrow, &mut best);
            let entry = span.0 + best.0;
            model.prefetch_scan_pentagram(entry);
            let at = 2 * best.0 as usize;
            adds[i % ID_LAG] = scratch.narrow[pairs[at] as usize] == 0
                || scratch.narrow[pairs[at + 1] as usize] == 0;
            scratch.best.push(best.1);
            // The winning entry for now; its pentagram after the lag.
            scratch.best_id.push(entry);
        }
    }
    for i in n.saturating_sub(ID_LAG)..n {
        resolve_best(model, scratch, i, adds[i % ID_LAG]);
    }
}

/// Trigrams between a winner's prefetch and the read of its pentagram in
/// [`bests_by_span`].
const ID_LAG: usize = 8;

/// Replaces the winning entry that [`bests_by_span`] left for distinct
/// trigram `i` by its pentagram, and queues that pentagram for pass 2 when
/// it `adds` features.
#[inline]
fn resolve_best(model: &Lexicon, scratch: &mut FeatureScratch, i: usize, adds: bool) {
    let entry = scratch.best_id[i];
    if entry != u32::MAX {
        let best = model.scan_pentagram(entry);
        scratch.best_id[i] = best;
        if adds {
            model.prefetch_pentagram(best);
            scratch.chosen.push(best);
        }
    }
}

/// The counting pass of [`extract_pairs`] by trigram index: occurrence
/// counts, presence bits and filter bits for the exact scans, then the
/// byte counts ([`FeatureScratch::fill_narrow`]).
fn count_by_trigram<S: FeatureSource + ?Sized>(lex: &S, scratch: &mut FeatureScratch) {
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
    scratch.fill_narrow(lex.scan_lexicon());
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
    scratch.load_profile(lex.n_trigrams(), profile, lex.scan_lexicon());
    let mut pairs = Vec::new();
    for entry in profile.iter_mut() {
        let t = entry.0;
        if stale(t) {
            let found = best_pentagram(lex, t, scratch);
            entry.2 = found.map_or(u32::MAX, |(_, extra)| extra);
            entry.3 = found.map_or(u32::MAX, |(best, _)| best);
        }
        let col = lex.white_column(t);
        if col != NO_COLUMN {
            bits::insert(&mut scratch.set, col);
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
        let col = lex.white_column(u);
        if col != NO_COLUMN && bits::insert(set, col) {
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

/// The pentagram of text trigram `t`'s list whose three trigram positions
/// occur most often in the text, repeats counted; ties go to the earliest.
/// Returns it with its count at the two positions other than t's (`None`:
/// t is in no known pentagram). Scans the source's scan lists over byte
/// counts when it has them and every count fits a byte, else its
/// [`FeatureSource::pentagram_lists`] triples.
fn best_pentagram<S: FeatureSource + ?Sized>(
    lex: &S,
    t: u32,
    scratch: &FeatureScratch,
) -> Option<(u32, u32)> {
    if scratch.narrow_ok
        && let Some(model) = lex.scan_lexicon()
    {
        return best_in_span(model, model.scan_span(t), scratch);
    }
    let (list, appended) = lex.pentagram_lists(t);
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

/// [`best_pentagram`] over the scan-list entries `span` of `model` (byte
/// counts by scan key). Starting from entry 0 with extra 0 and scanning
/// every entry with a strict `>` is the definition: entry 0 stays the best
/// unless a later entry beats its extra.
#[inline]
fn best_in_span(model: &Lexicon, span: (u32, u32), scratch: &FeatureScratch) -> Option<(u32, u32)> {
    let (pairs, pentagrams) = model.scan_entries(span);
    if pentagrams.is_empty() {
        return None;
    }
    let mut best = (0, 0);
    scan_pairs_fast(pairs, &scratch.narrow, &mut best);
    Some((pentagrams[best.0 as usize], best.1))
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
    scratch.load_profile(lex.n_trigrams(), profile, lex.scan_lexicon());
    let mut changes = Vec::new();
    for &t in trigrams {
        let Ok(i) = profile.binary_search_by_key(&t, |e| e.0) else {
            continue;
        };
        let (best, extra) = best_pentagram(lex, t, scratch).unwrap_or((u32::MAX, u32::MAX));
        if best != profile[i].3 {
            changes.push((profile[i].3, best));
        }
        profile[i].2 = extra;
        profile[i].3 = best;
    }
    changes
}
