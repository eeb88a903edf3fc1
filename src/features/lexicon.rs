//! The lexicon: every trigram of the statistics with its df, score, status
//! and column, and the pentagram dictionary used by AGR expansion. Built from
//! [`CorpusCounts`] at training time, or memory-mapped from a model file.

use serde::{Deserialize, Serialize};

use crate::buf::Buf;
use crate::stats::{CorpusCounts, ScoreParams, score};
use crate::text::{Trigram, trigram_weight};

/// Marks a trigram that has no input column.
pub const NO_COLUMN: u32 = u32::MAX;

/// How the vocabulary and pentagram dictionary are cut from the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LexiconParams {
    /// Scoring parameters (α, β, τ, gray weight).
    pub score: ScoreParams,
    /// Trigrams need at least this df to get a column.
    pub min_df: u32,
    /// Keep at most this many columns (the most frequent); `None` keeps all.
    pub max_columns: Option<usize>,
    /// Pentagrams need at least this df to be known.
    pub pent_min_df: u32,
}

impl Default for LexiconParams {
    fn default() -> LexiconParams {
        LexiconParams {
            score: ScoreParams::default(),
            min_df: 2,
            max_columns: None,
            pent_min_df: 2,
        }
    }
}

/// Trigram table and pentagram dictionary. Trigrams are identified by their
/// index in `keys` (sorted packed trigrams); pentagrams by their index in
/// first-appearance order.
pub struct Lexicon {
    /// How the lexicon was cut and scored (τ, gray weight, min_df, ...).
    pub params: LexiconParams,
    /// Documents in the statistics (N).
    pub n_docs: u64,
    /// Largest trigram df of the statistics.
    pub df_max: u32,
    /// Sorted packed trigrams of the statistics (every trigram with df ≥ 1).
    pub keys: Buf<u64>,
    /// Open-addressing hash index over `keys` (power-of-two length, at most
    /// half full, linear probing; slot = trigram index + 1, 0 = empty), so a
    /// lookup costs one or two memory accesses instead of a binary search,
    /// and needs no hash map built at load time.
    pub slots: Buf<u32>,
    /// df per trigram index.
    pub df: Buf<u32>,
    /// Score per trigram index (f64, as the SPEC computes it).
    pub score: Buf<f64>,
    /// 1 when the trigram is white, 0 when gray.
    pub white: Buf<u8>,
    /// Input column per trigram index, or [`NO_COLUMN`].
    pub column: Buf<u32>,
    /// Trigram index of every column (the inverse of `column`).
    pub column_trigram: Buf<u32>,
    /// CSR offsets (len = trigrams + 1) into `pent_lists`, in entries.
    pub pent_offsets: Buf<u32>,
    /// Per trigram, the known pentagrams containing it, in pentagram order,
    /// as triples `(pentagram, other, other)`: the pentagram and the trigrams
    /// at its two other positions, stored inline so that scoring a list
    /// reads it sequentially.
    pub pent_lists: Buf<u32>,
    /// Three trigram indices (offsets 0, 1, 2) per known pentagram.
    pub pent_trigrams: Buf<u32>,
    /// df per known pentagram.
    pub pent_df: Buf<u32>,
    /// Packed pentagram (two u64 halves, high first) per known pentagram.
    pub pent_keys: Buf<u64>,
    /// Per trigram, what feature extraction reads of it in one 16-byte
    /// record, plus one final record whose list start ends the last list
    /// (derived from `column`, `white`, `score`, `df` and `pent_offsets` by
    /// [`Lexicon::index_records`] once the lexicon is built or loaded;
    /// empty until then).
    pub records: Vec<TrigramRecord>,
    /// The pentagram lists in the layout extraction scans (derived with
    /// `records`).
    pub scan: ScanLists,
}

/// What extraction reads of one trigram, side by side: a long article has
/// ~900 distinct trigrams scattered over a table of millions, so reading
/// its white column, AGR value, list start and scan key from four arrays
/// costs four cache misses per trigram, and from one record one (four
/// records share a cache line and never straddle one). A list ends where
/// the next trigram's starts (the records have one more, final, entry).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(16))]
pub struct TrigramRecord {
    /// Input column when the trigram is white and has one, else
    /// [`NO_COLUMN`] (DIRECT and AGR both set only white columns).
    pub white_column: u32,
    /// AGR value (SPEC §3.2: `f32(clamp(score / 18, 0, 1) · gray_weight)`).
    pub agr: f32,
    /// Start of the trigram's pentagram list, in entries.
    pub list_start: u32,
    /// The trigram's scan key (see [`ScanLists`]).
    pub scan_key: u32,
}

/// The pentagram lists as extraction scans them, derived from
/// `pent_lists` at load: per entry the *scan keys* of its two other
/// trigrams side by side (8 bytes, where a `pent_lists` triple is 12), and
/// the entry's pentagram in a parallel array read only for a new best.
///
/// A trigram's scan key is its place in df-descending order (ties by
/// index). Extraction keeps a text's occurrence counts as bytes indexed by
/// scan key, so the counts of the frequent trigrams, which most list
/// entries name, share a few kilobytes of cache instead of being spread
/// over a table indexed by sorted trigram: on livedoor, 54% of the scanned
/// entries' trigrams have one of the 16,384 smallest keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanLists {
    /// Two scan keys per list entry (entries in `pent_lists` order).
    pub pairs: Vec<u32>,
    /// The pentagram of each list entry.
    pub pentagrams: Vec<u32>,
}

impl Lexicon {
    /// Derives [`Lexicon::records`] and [`Lexicon::scan`] from the
    /// per-trigram arrays (call once the lexicon's arrays are final;
    /// loading calls it after validating them, so every list bound is
    /// inside `pent_lists` and every list entry names a trigram). Linear in
    /// the trigrams and list entries.
    pub fn index_records(&mut self) {
        let gray_weight = self.params.score.gray_weight;
        let keys = scan_keys(&self.df);
        let (column, white, score, offsets) = (
            &*self.column,
            &*self.white,
            &*self.score,
            &*self.pent_offsets,
        );
        let n = column.len();
        self.records = (0..n)
            .map(|t| TrigramRecord {
                white_column: if white[t] == 1 { column[t] } else { NO_COLUMN },
                agr: crate::stats::agr_value(score[t], gray_weight),
                list_start: offsets[t],
                scan_key: keys[t],
            })
            .chain(std::iter::once(TrigramRecord {
                white_column: NO_COLUMN,
                list_start: offsets[n],
                ..TrigramRecord::default()
            }))
            .collect();
        let lists = &*self.pent_lists;
        self.scan = ScanLists {
            pairs: lists
                .chunks_exact(3)
                .flat_map(|e| [keys[e[1] as usize], keys[e[2] as usize]])
                .collect(),
            pentagrams: lists.chunks_exact(3).map(|e| e[0]).collect(),
        };
    }

    /// Trigram `t`'s scan key (see [`ScanLists`]).
    #[inline]
    pub fn scan_key(&self, t: u32) -> u32 {
        self.records[t as usize].scan_key
    }

    /// The bounds (in entries) of trigram `t`'s pentagram list.
    #[inline]
    pub fn scan_span(&self, t: u32) -> (u32, u32) {
        (
            self.records[t as usize].list_start,
            self.records[t as usize + 1].list_start,
        )
    }

    /// The list entries `span` (as [`Lexicon::scan_span`] gives them) as
    /// [`ScanLists`] holds them: two scan keys per entry, and the entries'
    /// pentagrams.
    #[inline]
    pub fn scan_entries(&self, (start, end): (u32, u32)) -> (&[u32], &[u32]) {
        let (start, end) = (start as usize, end as usize);
        (
            &self.scan.pairs[2 * start..2 * end],
            &self.scan.pentagrams[start..end],
        )
    }

    /// The pentagram of scan-list entry `entry` (an index into all lists,
    /// as `scan_span` bounds count them).
    #[inline]
    pub fn scan_pentagram(&self, entry: u32) -> u32 {
        self.scan.pentagrams[entry as usize]
    }

    /// Hint: [`Lexicon::scan_pentagram`] of `entry` will be read soon. No
    /// effect on results.
    #[inline]
    pub fn prefetch_scan_pentagram(&self, entry: u32) {
        crate::features::extract::prefetch_at(&self.scan.pentagrams, entry as usize);
    }

    /// Number of trigrams in the statistics.
    pub fn n_trigrams(&self) -> usize {
        self.keys.len()
    }

    /// Number of input columns (D).
    pub fn n_columns(&self) -> usize {
        self.column_trigram.len()
    }

    /// Number of known pentagrams.
    pub fn n_pentagrams(&self) -> usize {
        self.pent_df.len()
    }

    /// Index of a trigram in the statistics, if it was seen.
    #[inline]
    pub fn lookup(&self, t: Trigram) -> Option<u32> {
        let slots = &*self.slots;
        let keys = &*self.keys;
        let mask = slots.len() - 1;
        let mut at = slot_of(t.0, slots.len());
        loop {
            let s = slots[at];
            if s == 0 {
                return None;
            }
            if keys[s as usize - 1] == t.0 {
                return Some(s - 1);
            }
            at = (at + 1) & mask;
        }
    }

    /// Looks up many packed trigrams at once into `out` (cleared): the index
    /// of each, or `u32::MAX` when unseen. Done in passes (home slots for
    /// all keys, then key checks for all) so that the cache misses of
    /// different trigrams overlap instead of waiting on each other.
    pub fn lookup_many(&self, keys: &[u64], out: &mut Vec<u32>) {
        let slots = &*self.slots;
        let table = &*self.keys;
        let mask = slots.len() - 1;
        out.clear();
        out.extend(keys.iter().map(|&k| slots[slot_of(k, slots.len())]));
        for (slot, &k) in out.iter_mut().zip(keys) {
            let mut s = *slot;
            let mut at = slot_of(k, slots.len());
            loop {
                if s == 0 {
                    *slot = u32::MAX;
                    break;
                }
                if table[s as usize - 1] == k {
                    *slot = s - 1;
                    break;
                }
                at = (at + 1) & mask;
                s = slots[at];
            }
        }
    }

    /// The df of a trigram in these statistics (0 when unseen).
    pub fn df_of(&self, t: Trigram) -> u32 {
        self.lookup(t).map_or(0, |i| self.df[i as usize])
    }

    /// The trigram at an index.
    pub fn trigram(&self, index: u32) -> Trigram {
        Trigram(self.keys[index as usize])
    }

    /// Known pentagrams containing the trigram at `index`, in order, as
    /// `(pentagram, other trigram, other trigram)` triples flattened.
    pub fn pentagrams_of(&self, index: u32) -> &[u32] {
        let i = index as usize;
        &self.pent_lists[3 * self.pent_offsets[i] as usize..3 * self.pent_offsets[i + 1] as usize]
    }

    /// Number of white trigrams that have a column.
    pub fn white_columns(&self) -> usize {
        self.column_trigram
            .iter()
            .filter(|&&t| self.white[t as usize] == 1)
            .count()
    }

    /// Builds the lexicon from corpus counts (SPEC §2–3): scores and statuses
    /// for every trigram, columns for trigrams with df ≥ min_df ordered by df
    /// descending then code points ascending (cut at `max_columns`), and the
    /// known pentagrams (df ≥ pent_min_df) in first-appearance order.
    pub fn build(counts: &CorpusCounts, params: &LexiconParams) -> Lexicon {
        let mut entries: Vec<(u64, u32)> =
            counts.trigram_df.iter().map(|(t, &df)| (t.0, df)).collect();
        entries.sort_unstable();
        let df_max = entries.iter().map(|e| e.1).max().unwrap_or(0);
        let keys: Vec<u64> = entries.iter().map(|e| e.0).collect();
        let df: Vec<u32> = entries.iter().map(|e| e.1).collect();
        let scores: Vec<f64> = entries
            .iter()
            .map(|&(k, d)| score(&params.score, d, df_max, trigram_weight(Trigram(k).chars())))
            .collect();
        let white: Vec<u8> = scores
            .iter()
            .map(|&s| params.score.is_white(s) as u8)
            .collect();

        let mut by_df: Vec<u32> = (0..keys.len() as u32)
            .filter(|&i| df[i as usize] >= params.min_df)
            .collect();
        // df descending, then code points ascending (= index ascending).
        by_df.sort_by(|&a, &b| df[b as usize].cmp(&df[a as usize]).then(a.cmp(&b)));
        if let Some(max) = params.max_columns {
            by_df.truncate(max);
        }
        let mut column = vec![NO_COLUMN; keys.len()];
        for (col, &t) in by_df.iter().enumerate() {
            column[t as usize] = col as u32;
        }

        let mut known: Vec<(u64, crate::text::Pentagram, u32)> = counts
            .pentagrams
            .iter()
            .filter(|(_, c)| c.df >= params.pent_min_df)
            .map(|(p, c)| (c.first_seen, *p, c.df))
            .collect();
        known.sort_unstable_by_key(|k| k.0);
        let index_of = |t: Trigram| keys.binary_search(&t.0).map(|i| i as u32);
        let mut pent_trigrams = Vec::with_capacity(known.len() * 3);
        let mut pent_df = Vec::with_capacity(known.len());
        let mut pent_keys = Vec::with_capacity(known.len() * 2);
        for (_, p, d) in &known {
            for t in p.trigrams() {
                // A counted pentagram's trigrams were counted in the same documents.
                let idx = index_of(t).expect("pentagram trigram missing from statistics");
                pent_trigrams.push(idx);
            }
            pent_df.push(*d);
            pent_keys.extend_from_slice(&p.to_halves());
        }
        let (pent_offsets, pent_lists) = invert_pentagrams(&pent_trigrams, keys.len());

        let slots = build_slots(&keys);
        let mut lexicon = Lexicon {
            params: *params,
            n_docs: counts.n_docs,
            df_max,
            keys: keys.into(),
            slots: slots.into(),
            df: df.into(),
            score: scores.into(),
            white: white.into(),
            column: column.into(),
            column_trigram: by_df.into(),
            pent_offsets: pent_offsets.into(),
            pent_lists: pent_lists.into(),
            pent_trigrams: pent_trigrams.into(),
            pent_df: pent_df.into(),
            pent_keys: pent_keys.into(),
            records: Vec::new(),
            scan: ScanLists::default(),
        };
        lexicon.index_records();
        lexicon
    }
}

/// Home slot of a packed trigram in a table of `len` (a power of two) slots.
#[inline]
pub fn slot_of(key: u64, len: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - len.trailing_zeros())) as usize
}

/// The hash index of sorted keys (see [`Lexicon::slots`]).
pub fn build_slots(keys: &[u64]) -> Vec<u32> {
    let len = (2 * keys.len()).next_power_of_two().max(2);
    let mut slots = vec![0u32; len];
    for (i, &k) in keys.iter().enumerate() {
        let mut at = slot_of(k, len);
        while slots[at] != 0 {
            at = (at + 1) & (len - 1);
        }
        slots[at] = i as u32 + 1;
    }
    slots
}

/// The list entries a pentagram with trigrams `t` (offsets 0, 1, 2)
/// contributes: for each distinct trigram, `(trigram, other, other)`. A
/// trigram at two offsets is listed once.
pub fn pentagram_members(t: [u32; 3]) -> [Option<(u32, u32, u32)>; 3] {
    let entry = |k: usize| (t[k], t[(k + 1) % 3], t[(k + 2) % 3]);
    [
        Some(entry(0)),
        (t[1] != t[0]).then(|| entry(1)),
        (t[2] != t[0] && t[2] != t[1]).then(|| entry(2)),
    ]
}

/// Per-trigram lists of the pentagrams containing it (a trigram occurring at
/// two offsets of one pentagram lists it once), as CSR offsets (in entries)
/// and `(pentagram, other, other)` triples.
pub fn invert_pentagrams(pent_trigrams: &[u32], n_trigrams: usize) -> (Vec<u32>, Vec<u32>) {
    let members = |p: usize| {
        pentagram_members([
            pent_trigrams[3 * p],
            pent_trigrams[3 * p + 1],
            pent_trigrams[3 * p + 2],
        ])
    };
    let n_pent = pent_trigrams.len() / 3;
    let mut offsets = vec![0u32; n_trigrams + 1];
    for p in 0..n_pent {
        for (t, _, _) in members(p).into_iter().flatten() {
            offsets[t as usize + 1] += 1;
        }
    }
    for i in 0..n_trigrams {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut lists = vec![0u32; 3 * offsets[n_trigrams] as usize];
    for p in 0..n_pent {
        for (t, a, b) in members(p).into_iter().flatten() {
            let at = 3 * fill[t as usize] as usize;
            lists[at..at + 3].copy_from_slice(&[p as u32, a, b]);
            fill[t as usize] += 1;
        }
    }
    (offsets, lists)
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("n_docs", &self.n_docs)
            .field("df_max", &self.df_max)
            .field("trigrams", &self.n_trigrams())
            .field("columns", &self.n_columns())
            .field("pentagrams", &self.n_pentagrams())
            .finish()
    }
}

/// Each trigram's place in df-descending order, ties by index (the scan
/// keys of [`ScanLists`]), by a counting sort over the df values.
fn scan_keys(df: &[u32]) -> Vec<u32> {
    let max = df.iter().copied().max().unwrap_or(0) as usize;
    if max > 4 * df.len() + 1024 {
        // A counting array would outgrow the table: sort instead.
        let mut order: Vec<u32> = (0..df.len() as u32).collect();
        order.sort_unstable_by_key(|&t| (std::cmp::Reverse(df[t as usize]), t));
        let mut keys = vec![0; df.len()];
        for (key, &t) in order.iter().enumerate() {
            keys[t as usize] = key as u32;
        }
        return keys;
    }
    // Keys of df value d start after every trigram with a larger df:
    // next[max - d] counts those, then hands out keys in index order.
    let mut next = vec![0u32; max + 2];
    for &d in df {
        next[max - d as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    df.iter()
        .map(|&d| {
            let slot = &mut next[max - d as usize];
            *slot += 1;
            *slot - 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scan keys are a permutation of the trigram indices in df-descending
    /// order with ties by index, by counting sort and by the sort taken
    /// when df values outgrow a counting array.
    #[test]
    fn scan_keys_order_by_df_descending_then_index() {
        for df in [
            vec![3, 1, 3, 7, 1, 2],
            vec![5_000_000, 1, 2, 5_000_000, 9],
            vec![],
        ] {
            let keys = scan_keys(&df);
            let mut by_key = vec![u32::MAX; df.len()];
            for (t, &k) in keys.iter().enumerate() {
                assert_eq!(by_key[k as usize], u32::MAX, "key {k} given twice");
                by_key[k as usize] = t as u32;
            }
            assert!(by_key.windows(2).all(|w| {
                let (a, b) = (w[0] as usize, w[1] as usize);
                df[a] > df[b] || (df[a] == df[b] && a < b)
            }));
        }
        assert_eq!(scan_keys(&[3, 1, 3, 7, 1, 2]), vec![1, 4, 2, 0, 5, 3]);
    }
}
