//! A lexicon whose statistics move: the stream's view of a model's lexicon
//! after more documents arrived (SPEC §7).
//!
//! Columns are fixed by the model. Everything else follows the live
//! statistics: df of every trigram (the model's df plus the stream's), the
//! largest df, statuses and scores (evaluated from df on demand, with the
//! same functions as [`Lexicon::build`]), and the known pentagrams: the
//! model's, in their stored order, followed by pentagrams that became known
//! in the stream, ordered by first appearance in the stream. Trigrams the
//! model never saw get indices after the model's.
//!
//! The stream updates a `LiveLexicon` change by change; the batch oracle
//! builds one from counts in one go ([`LiveLexicon::with_counts`]). Feature
//! extraction reads either through [`FeatureSource`], so both run the same
//! SPEC code.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::bits;
use crate::features::extract::prefetch_at;
use crate::features::lexicon::{Lexicon, NO_COLUMN, pentagram_members};
use crate::features::source::FeatureSource;
use crate::stats::{CorpusCounts, agr_value, score, white_cutoff};
use crate::text::{Pentagram, Trigram, trigram_weight};

/// Index of a model's known pentagrams by packed pentagram, shared by all
/// workers of a stream (built once per model).
pub type PentagramIndex = FxHashMap<u128, u32>;

/// The pentagram index of a lexicon.
pub fn pentagram_index(lex: &Lexicon) -> PentagramIndex {
    (0..lex.n_pentagrams())
        .map(|p| {
            let halves = [lex.pent_keys[2 * p], lex.pent_keys[2 * p + 1]];
            (Pentagram::from_halves(halves).0, p as u32)
        })
        .collect()
}

/// Pentagrams known in the stream and not in the model, appended to the
/// lists of their trigrams in first-appearance order.
#[derive(Debug, Default)]
struct Appended {
    /// Pentagram index (after the model's) of each appended pentagram.
    index: FxHashMap<u128, u32>,
    /// Trigram indices at offsets 0, 1, 2 of each appended pentagram.
    trigrams: Vec<[u32; 3]>,
    /// First-appearance rank of each appended pentagram (its list order).
    ranks: Vec<u128>,
    /// Per trigram: ranks (ascending) and the matching list triples.
    lists: FxHashMap<u32, (Vec<u128>, Vec<u32>)>,
    /// One bit per trigram index: whether `lists` holds it. Extraction
    /// asks for every distinct trigram of a text, and most have no
    /// appended list: the bit (a few hundred KB, cache-resident) answers
    /// without a hash lookup into a table of tens of thousands of lists.
    has_list: Vec<u64>,
    /// Indices of removed pentagrams that insertions may reuse (see
    /// [`LiveLexicon::recycle_removed`]).
    free: Vec<u32>,
    /// Indices removed since the last [`LiveLexicon::recycle_removed`]:
    /// still named by profiles until the stream has updated them.
    released: Vec<u32>,
}

/// A model's lexicon with live statistics. See the module documentation.
pub struct LiveLexicon {
    base: Arc<Lexicon>,
    base_pentagrams: Arc<PentagramIndex>,
    /// Live df per trigram index (model's trigrams first).
    df: Vec<u32>,
    /// Character weight per trigram index.
    weight: Vec<u8>,
    /// Trigrams the model never saw: packed trigram → index.
    new_index: FxHashMap<u64, u32>,
    /// Packed trigram of each new index (offset by the model's count).
    new_keys: Vec<u64>,
    /// New indices whose trigram left the statistics (df 0) and that
    /// [`LiveLexicon::index_or_insert`] may give to another trigram.
    free_trigrams: Vec<u32>,
    /// New indices released since the last [`LiveLexicon::recycle_removed`]:
    /// the epoch that released them may still name them.
    released_trigrams: Vec<u32>,
    df_max: u32,
    /// Per character weight, the largest white df under `df_max`
    /// ([`white_cutoff`]): statuses without evaluating scores.
    cutoffs: [u32; WEIGHTS],
    n_docs: u64,
    appended: Appended,
}

/// Number of character weights (0–18).
const WEIGHTS: usize = crate::stats::score::MAX_WEIGHT as usize + 1;

/// The white cutoffs of every weight under `df_max`.
fn cutoffs(params: &crate::stats::ScoreParams, df_max: u32) -> [u32; WEIGHTS] {
    std::array::from_fn(|w| white_cutoff(params, w as u8, df_max))
}

impl LiveLexicon {
    /// The model's lexicon with no stream documents yet.
    pub fn new(base: Arc<Lexicon>, base_pentagrams: Arc<PentagramIndex>) -> LiveLexicon {
        let weight = base
            .keys
            .iter()
            .map(|&k| trigram_weight(Trigram(k).chars()))
            .collect();
        LiveLexicon {
            df: base.df.to_vec(),
            weight,
            new_index: FxHashMap::default(),
            new_keys: Vec::new(),
            free_trigrams: Vec::new(),
            released_trigrams: Vec::new(),
            df_max: base.df_max,
            cutoffs: cutoffs(&base.params.score, base.df_max),
            n_docs: base.n_docs,
            appended: Appended::default(),
            base_pentagrams,
            base,
        }
    }

    /// The batch oracle: the model's lexicon plus `counts` of the stream's
    /// documents (added in input order, so first appearances are the
    /// stream's order).
    pub fn with_counts(
        base: Arc<Lexicon>,
        base_pentagrams: Arc<PentagramIndex>,
        counts: &CorpusCounts,
    ) -> LiveLexicon {
        let mut live = LiveLexicon::new(base, base_pentagrams);
        let mut df_max = live.base.df_max;
        for (t, &df) in &counts.trigram_df {
            let i = live.index_or_insert(t.0);
            live.df[i as usize] += df;
            df_max = df_max.max(live.df[i as usize]);
        }
        live.set_df_max(df_max);
        live.n_docs += counts.n_docs;
        let min = live.base.params.pent_min_df;
        for (p, c) in &counts.pentagrams {
            if c.df >= min {
                live.insert_pentagram(*p, c.first_seen as u128);
            }
        }
        live
    }

    /// The model's lexicon.
    pub fn base(&self) -> &Lexicon {
        &self.base
    }

    /// The model's pentagram index.
    pub fn base_pentagrams(&self) -> &Arc<PentagramIndex> {
        &self.base_pentagrams
    }

    /// Documents in the statistics (the model's plus the stream's).
    pub fn n_docs(&self) -> u64 {
        self.n_docs
    }

    /// Sets the number of documents.
    pub fn set_n_docs(&mut self, n: u64) {
        self.n_docs = n;
    }

    /// The largest df.
    pub fn df_max(&self) -> u32 {
        self.df_max
    }

    /// Sets the largest df (the stream computes it from all dfs).
    pub fn set_df_max(&mut self, df_max: u32) {
        if df_max != self.df_max {
            self.cutoffs = cutoffs(&self.base.params.score, df_max);
        }
        self.df_max = df_max;
    }

    /// The index of a packed trigram, if seen by the model or the stream.
    pub fn index_of(&self, key: u64) -> Option<u32> {
        self.base
            .lookup(Trigram(key))
            .or_else(|| self.new_index.get(&key).copied())
    }

    /// The index of a packed trigram, adding it (df 0) when new: under a
    /// recycled index when one is free (see
    /// [`LiveLexicon::release_trigram`]), else under a new one.
    pub fn index_or_insert(&mut self, key: u64) -> u32 {
        if let Some(i) = self.index_of(key) {
            return i;
        }
        let weight = trigram_weight(Trigram(key).chars());
        let i = match self.free_trigrams.pop() {
            Some(i) => {
                let k = i as usize;
                self.new_keys[k - self.base.n_trigrams()] = key;
                self.df[k] = 0;
                self.weight[k] = weight;
                i
            }
            None => {
                self.new_keys.push(key);
                self.df.push(0);
                self.weight.push(weight);
                (self.df.len() - 1) as u32
            }
        };
        self.new_index.insert(key, i);
        i
    }

    /// Forgets trigram `t` when only the stream saw it and its df is 0 (its
    /// last document left a windowed stream): its key no longer finds it,
    /// and after the next [`LiveLexicon::recycle_removed`] its index may
    /// name another trigram. Without it, every trigram a windowed stream
    /// ever saw would keep an index for good, and the trigram tables would
    /// grow with the length of the stream instead of with what it holds.
    /// Returns whether `t` was released. The caller must hold nothing that
    /// names `t` past the epoch (a trigram of df 0 is in no held document
    /// and no known pentagram).
    pub fn release_trigram(&mut self, t: u32) -> bool {
        let n = self.base.n_trigrams();
        if (t as usize) < n || self.df[t as usize] != 0 {
            return false;
        }
        let key = self.new_keys[t as usize - n];
        if self.new_index.get(&key) != Some(&t) {
            return false;
        }
        self.new_index.remove(&key);
        self.released_trigrams.push(t);
        true
    }

    /// Number of trigram indices ever allocated (the model's, held and
    /// free), for reports and tests of the bound.
    pub fn trigram_capacity(&self) -> usize {
        self.df.len()
    }

    /// The packed trigram at an index.
    pub fn key(&self, t: u32) -> u64 {
        let n = self.base.n_trigrams();
        if (t as usize) < n {
            self.base.keys[t as usize]
        } else {
            self.new_keys[t as usize - n]
        }
    }

    /// Live df of trigram `t`.
    pub fn df(&self, t: u32) -> u32 {
        self.df[t as usize]
    }

    /// The model's df of trigram `t` (0 for a trigram only the stream saw).
    pub fn base_df_at(&self, t: u32) -> u32 {
        self.base.df.get(t as usize).copied().unwrap_or(0)
    }

    /// Sets the live df of trigram `t`, returning the old one.
    pub fn set_df_at(&mut self, t: u32, df: u32) -> u32 {
        std::mem::replace(&mut self.df[t as usize], df)
    }

    /// Character weight of trigram `t`.
    pub fn weight(&self, t: u32) -> u8 {
        self.weight[t as usize]
    }

    /// Sets the df of a packed trigram, returning its index and old df.
    pub fn set_df(&mut self, key: u64, df: u32) -> (u32, u32) {
        let i = self.index_or_insert(key);
        (i, self.set_df_at(i, df))
    }

    /// Live score of trigram `t` (SPEC §2).
    pub fn score(&self, t: u32) -> f64 {
        score(
            &self.base.params.score,
            self.df[t as usize],
            self.df_max,
            self.weight[t as usize],
        )
    }

    /// Whether the model knows pentagram `p` (it then stays known).
    pub fn is_model_pentagram(&self, p: Pentagram) -> bool {
        self.base_pentagrams.contains_key(&p.0)
    }

    /// Number of pentagrams known in the stream beyond the model's.
    pub fn n_appended_pentagrams(&self) -> usize {
        self.appended.index.len()
    }

    /// Makes pentagram `p` known with first-appearance rank `rank` (its
    /// place among appended pentagrams). Model pentagrams and pentagrams
    /// already appended are left alone. Returns the trigram indices of `p`
    /// when it was added.
    pub fn insert_pentagram(&mut self, p: Pentagram, rank: u128) -> Option<[u32; 3]> {
        if self.is_model_pentagram(p) || self.appended.index.contains_key(&p.0) {
            return None;
        }
        let tris = p.trigrams().map(|t| self.index_or_insert(t.0));
        let n = self.base.n_pentagrams();
        let id = match self.appended.free.pop() {
            Some(id) => {
                self.appended.trigrams[id as usize - n] = tris;
                self.appended.ranks[id as usize - n] = rank;
                id
            }
            None => {
                self.appended.trigrams.push(tris);
                self.appended.ranks.push(rank);
                (n + self.appended.trigrams.len() - 1) as u32
            }
        };
        self.appended.index.insert(p.0, id);
        for (t, a, b) in pentagram_members(tris).into_iter().flatten() {
            bits::insert(&mut self.appended.has_list, t);
            let (ranks, triples) = self.appended.lists.entry(t).or_default();
            let at = ranks.partition_point(|&r| r < rank);
            ranks.insert(at, rank);
            triples.splice(3 * at..3 * at, [id, a, b]);
        }
        Some(tris)
    }

    /// Makes an appended pentagram unknown again (its documents left the
    /// stream). Returns its trigram indices when it was known. It leaves
    /// every list; its index keeps naming its trigrams and rank (so bests
    /// that named it can still be patched out) until the next
    /// [`LiveLexicon::recycle_removed`] lets an insertion reuse it.
    pub fn remove_pentagram(&mut self, p: Pentagram) -> Option<[u32; 3]> {
        let id = self.appended.index.remove(&p.0)?;
        self.appended.released.push(id);
        let k = id as usize - self.base.n_pentagrams();
        let (tris, rank) = (self.appended.trigrams[k], self.appended.ranks[k]);
        for (t, _, _) in pentagram_members(tris).into_iter().flatten() {
            // Ranks are ascending: the entry is found by rank.
            if let Some((ranks, triples)) = self.appended.lists.get_mut(&t)
                && let Some(at) = entry_position(ranks, triples, rank, id)
            {
                ranks.remove(at);
                triples.drain(3 * at..3 * at + 3);
                if ranks.is_empty() {
                    // A list only stream pentagrams filled goes with them,
                    // so the lists hold only the trigrams of known ones.
                    self.appended.lists.remove(&t);
                    bits::remove(&mut self.appended.has_list, t);
                }
            }
        }
        Some(tris)
    }

    /// Moves appended pentagram `p` to a later first-appearance rank
    /// (its first documents left a windowed stream) in place: it keeps its
    /// index and members, and only its position in its trigrams' lists
    /// changes. Returns its index, trigrams and old rank; `None` (nothing
    /// done) when `p` is not appended or `rank` is not later than its own,
    /// which the caller handles as a removal and an insertion.
    pub fn move_pentagram(&mut self, p: Pentagram, rank: u128) -> Option<(u32, [u32; 3], u128)> {
        let id = *self.appended.index.get(&p.0)?;
        let k = id as usize - self.base.n_pentagrams();
        let (tris, old) = (self.appended.trigrams[k], self.appended.ranks[k]);
        if rank <= old {
            return None;
        }
        self.appended.ranks[k] = rank;
        for (t, _, _) in pentagram_members(tris).into_iter().flatten() {
            let Some((ranks, triples)) = self.appended.lists.get_mut(&t) else {
                continue;
            };
            let Some(from) = entry_position(ranks, triples, old, id) else {
                continue;
            };
            // Shift the entries between the old and the new place one slot
            // towards the front and put the pentagram after them.
            let to = ranks.partition_point(|&r| r < rank) - 1;
            let entry = [
                triples[3 * from],
                triples[3 * from + 1],
                triples[3 * from + 2],
            ];
            ranks.copy_within(from + 1..=to, from);
            triples.copy_within(3 * (from + 1)..3 * (to + 1), 3 * from);
            ranks[to] = rank;
            triples[3 * to..3 * to + 3].copy_from_slice(&entry);
        }
        Some((id, tris, old))
    }

    /// The appended entries of `t`'s list whose first-appearance rank lies
    /// in `range`, in list order: their ranks and (pentagram, other, other)
    /// triples.
    pub fn appended_in(&self, t: u32, range: std::ops::Range<u128>) -> (&[u128], &[u32]) {
        let Some((ranks, triples)) = self.appended.lists.get(&t) else {
            return (&[], &[]);
        };
        let from = ranks.partition_point(|&r| r < range.start);
        let to = ranks.partition_point(|&r| r < range.end);
        (&ranks[from..to], &triples[3 * from..3 * to])
    }

    /// Lets insertions reuse the indices of the pentagrams removed and the
    /// trigrams released ([`LiveLexicon::release_trigram`]) since the last
    /// call. Call it only when nothing names them any more: the
    /// stream calls it at the start of an epoch, after every held
    /// document's best pentagrams were updated for the previous epoch's
    /// removals. Without it, every pentagram that moves in list order (its
    /// first documents leave a windowed stream) would take a new index for
    /// good, and the pentagram tables would grow with the length of the
    /// stream instead of with what it holds.
    pub fn recycle_removed(&mut self) {
        let appended = &mut self.appended;
        appended.free.append(&mut appended.released);
        self.free_trigrams.append(&mut self.released_trigrams);
    }

    /// Number of pentagram indices ever allocated beyond the model's (held
    /// and free), for reports and tests of the bound.
    pub fn appended_capacity(&self) -> usize {
        self.appended.trigrams.len()
    }

    /// The index of an appended (stream-known) pentagram.
    pub fn appended_id(&self, p: Pentagram) -> Option<u32> {
        self.appended.index.get(&p.0).copied()
    }

    /// The list position key of pentagram index `id`: `None` for a model
    /// pentagram (model entries precede every appended one), else its
    /// first-appearance rank (appended entries are in rank order). Keys of
    /// entries of one list compare as their positions, model entries aside.
    pub fn list_key(&self, id: u32) -> Option<u128> {
        let n = self.base.n_pentagrams();
        (id as usize)
            .checked_sub(n)
            .and_then(|k| self.appended.ranks.get(k).copied())
    }

    /// Every trigram sharing a known pentagram with `t` (the trigrams whose
    /// best-pentagram choice can bring `t` into a document), `t` excluded.
    pub fn pentagram_neighbours(&self, t: u32, out: &mut Vec<u32>) {
        let (list, appended) = self.pentagram_lists(t);
        for entry in list.chunks_exact(3).chain(appended.chunks_exact(3)) {
            out.extend_from_slice(&entry[1..3]);
        }
    }
}

/// Where pentagram `id`, of first-appearance rank `rank`, sits in a list
/// of ascending `ranks` with its (pentagram, other, other) `triples`.
fn entry_position(ranks: &[u128], triples: &[u32], rank: u128, id: u32) -> Option<usize> {
    (ranks.partition_point(|&r| r < rank)..ranks.len())
        .take_while(|&k| ranks[k] == rank)
        .find(|&k| triples[3 * k] == id)
}

impl FeatureSource for LiveLexicon {
    fn n_trigrams(&self) -> usize {
        self.df.len()
    }

    fn lookup_many(&self, keys: &[u64], out: &mut Vec<u32>) {
        self.base.lookup_many(keys, out);
        if self.new_index.is_empty() {
            return;
        }
        for (slot, key) in out.iter_mut().zip(keys) {
            if *slot == u32::MAX
                && let Some(&i) = self.new_index.get(key)
            {
                *slot = i;
            }
        }
    }

    #[inline]
    fn column(&self, t: u32) -> u32 {
        self.base
            .column
            .get(t as usize)
            .copied()
            .unwrap_or(NO_COLUMN)
    }

    #[inline]
    fn is_white(&self, t: u32) -> bool {
        let df = self.df[t as usize];
        // White exactly when df ≤ its weight's cutoff ([`white_cutoff`]
        // agrees with the score's comparison for every df up to df_max;
        // a df above it, which the stream never holds, is scored).
        df > 0
            && if df <= self.df_max {
                df <= self.cutoffs[self.weight[t as usize] as usize]
            } else {
                self.base.params.score.is_white(self.score(t))
            }
    }

    #[inline]
    fn agr_value(&self, t: u32) -> f32 {
        agr_value(self.score(t), self.base.params.score.gray_weight)
    }

    fn pentagram_lists(&self, t: u32) -> (&[u32], &[u32]) {
        let model: &[u32] = if (t as usize) < self.base.n_trigrams() {
            self.base.pentagrams_of(t)
        } else {
            &[]
        };
        let appended = if bits::contains(&self.appended.has_list, t) {
            self.appended
                .lists
                .get(&t)
                .map_or(&[][..], |(_, triples)| triples.as_slice())
        } else {
            &[]
        };
        (model, appended)
    }

    #[inline]
    fn prefetch_trigram(&self, t: u32) {
        // What extraction reads per trigram: what an AGR member needs
        // (status, column), and the model's list offsets.
        self.prefetch_agr(t);
        prefetch_at(&self.base.pent_offsets, t as usize);
    }

    #[inline]
    fn prefetch_pentagram(&self, p: u32) {
        if (p as usize) < self.base.n_pentagrams() {
            self.base.prefetch_pentagram(p);
        }
    }

    #[inline]
    fn prefetch_agr(&self, t: u32) {
        let i = t as usize;
        prefetch_at(&self.df, i);
        prefetch_at(&self.weight, i);
        prefetch_at(&self.base.column, i);
    }

    fn pentagram_trigrams(&self, p: u32) -> [u32; 3] {
        let n = self.base.n_pentagrams();
        if (p as usize) < n {
            self.base.pentagram_trigrams(p)
        } else {
            self.appended.trigrams[p as usize - n]
        }
    }
}

impl std::fmt::Debug for LiveLexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLexicon")
            .field("trigrams", &self.df.len())
            .field("df_max", &self.df_max)
            .field("n_docs", &self.n_docs)
            .field("appended_pentagrams", &self.appended.index.len())
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::features::{
        FeatureScratch, LexiconParams, ProfileEntry, extract_pairs, reextract_pairs,
    };
    use crate::stats::DocNgrams;
    use crate::text::Normalization;

    /// Texts over a four-letter alphabet (kanji, kana, ASCII), so that
    /// trigrams repeat and best-pentagram ties are common.
    pub(crate) fn texts(seed: u64, n: usize, len: usize) -> Vec<String> {
        let alphabet = ['日', 'の', 'a', '本'];
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        alphabet[(state >> 33) as usize % alphabet.len()]
                    })
                    .collect()
            })
            .collect()
    }

    /// Corpus counts of `texts` (NFKC + lowercase).
    pub(crate) fn counts(texts: &[String]) -> CorpusCounts {
        let mut counts = CorpusCounts::default();
        for t in texts {
            counts.add(&DocNgrams::of(&Normalization::NfkcLowercase.apply(t)));
        }
        counts
    }

    fn sorted_row(pairs: &[crate::features::FeaturePair]) -> Vec<(u32, u32)> {
        let mut row: Vec<(u32, u32)> = pairs
            .iter()
            .map(|p| (p.column, p.value.to_bits()))
            .collect();
        row.sort_unstable();
        row
    }

    /// A windowed stream moves pentagrams again and again (removed, then
    /// inserted under a later rank). Removed indices keep naming their
    /// trigrams until [`LiveLexicon::recycle_removed`], are reused after it,
    /// and the lists stay exactly those of a lexicon built from scratch with
    /// the final ranks, while the index table stays as large as the most
    /// pentagrams ever known at once (not the number of moves).
    #[test]
    fn moved_pentagrams_reuse_indices_and_keep_lists_exact() {
        let params = LexiconParams {
            pent_min_df: 2,
            ..LexiconParams::default()
        };
        let base = Arc::new(Lexicon::build(&counts(&texts(7, 6, 14)), &params));
        let index = Arc::new(pentagram_index(&base));
        let stream_counts = counts(&texts(1007, 8, 16));
        let pents: Vec<Pentagram> = stream_counts
            .pentagrams
            .keys()
            .copied()
            .filter(|p| !index.contains_key(&p.0))
            .collect();
        assert!(pents.len() >= 20, "{} pentagrams", pents.len());
        let mut live = LiveLexicon::new(base.clone(), index.clone());
        let mut ranks: Vec<u128> = (0..pents.len() as u128).collect();
        for (p, &r) in pents.iter().zip(&ranks) {
            live.insert_pentagram(*p, r);
        }
        let most = live.appended_capacity();
        for round in 1..=30u128 {
            // A third of the pentagrams move to the end of the order.
            let n = pents.len() as u128;
            for (k, p) in pents
                .iter()
                .enumerate()
                .filter(|(k, _)| k % 3 == round as usize % 3)
            {
                let id = live.appended_id(*p).expect("known");
                let old = ranks[k];
                ranks[k] = round * n + k as u128;
                if round % 2 == 0 {
                    // In place: same index, later rank; an earlier rank is
                    // refused.
                    assert_eq!(live.move_pentagram(*p, old), None);
                    let (moved, tris, from) = live.move_pentagram(*p, ranks[k]).expect("later");
                    assert_eq!((moved, from), (id, old));
                    assert_eq!(live.pentagram_trigrams(id), tris);
                    assert_eq!(live.list_key(id), Some(ranks[k]));
                    continue;
                }
                let tris = live.remove_pentagram(*p).expect("removed");
                // Still names its trigrams until recycled.
                assert_eq!(live.pentagram_trigrams(id), tris);
                live.insert_pentagram(*p, ranks[k]);
                assert_ne!(live.appended_id(*p), Some(id), "reused within the epoch");
            }
            live.recycle_removed();
        }
        assert!(
            live.appended_capacity() <= most + pents.len(),
            "{} indices for {} pentagrams",
            live.appended_capacity(),
            pents.len()
        );
        let mut fresh = LiveLexicon::new(base, index);
        let mut order: Vec<(u128, Pentagram)> =
            ranks.iter().copied().zip(pents.iter().copied()).collect();
        order.sort_unstable();
        for &(r, p) in &order {
            fresh.insert_pentagram(p, r);
        }
        // Trigrams the model never saw take indices in insertion order, so
        // the two lexicons are compared by packed trigram.
        let list = |live: &LiveLexicon, key: u64| -> Vec<[u64; 5]> {
            let t = live.index_of(key).expect("indexed");
            let (_, appended) = live.pentagram_lists(t);
            appended
                .chunks_exact(3)
                .map(|e| {
                    let [a, b, c] = live.pentagram_trigrams(e[0]).map(|u| live.key(u));
                    [a, b, c, live.key(e[1]), live.key(e[2])]
                })
                .collect()
        };
        assert_eq!(live.n_trigrams(), fresh.n_trigrams());
        for t in 0..live.n_trigrams() as u32 {
            let key = live.key(t);
            assert_eq!(list(&live, key), list(&fresh, key), "trigram {key:x}");
        }
    }

    /// A trigram only the stream saw is released when its df falls to 0:
    /// its key stops finding it at once, its index is reused only after
    /// [`LiveLexicon::recycle_removed`] (with df 0 and the new trigram's
    /// weight), and the model's trigrams and trigrams still counted are
    /// never released.
    #[test]
    fn released_trigrams_are_reused_after_recycling() {
        let base = Arc::new(Lexicon::build(
            &counts(&texts(7, 6, 14)),
            &LexiconParams::default(),
        ));
        let index = Arc::new(pentagram_index(&base));
        let mut live = LiveLexicon::new(base.clone(), index);
        let n = base.n_trigrams();
        let key = |s: &str| {
            let c: Vec<char> = s.chars().collect();
            Trigram::new([c[0], c[1], c[2]]).0
        };
        let (a, b, c) = (key("xyz"), key("漢字語"), key("かなだ"));
        let (ta, _) = live.set_df(a, 2);
        let (tb, _) = live.set_df(b, 1);
        assert_eq!((ta as usize, tb as usize), (n, n + 1));
        assert!(!live.release_trigram(0), "a model trigram stays");
        assert!(!live.release_trigram(ta), "a counted trigram stays");
        live.set_df_at(ta, 0);
        assert!(live.release_trigram(ta));
        assert!(!live.release_trigram(ta), "released once");
        assert_eq!(live.index_of(a), None);
        // Not reused within the epoch that released it.
        let (tc, _) = live.set_df(c, 3);
        assert_eq!(tc as usize, n + 2);
        live.recycle_removed();
        let (ta2, old) = live.set_df(a, 1);
        assert_eq!((ta2, old), (ta, 0), "reused, with df 0");
        assert_eq!(live.weight(ta2), trigram_weight(Trigram(a).chars()));
        assert_eq!(live.key(ta2), a);
        live.set_df_at(tb, 0);
        live.release_trigram(tb);
        live.recycle_removed();
        let d = key("ダダダ");
        let (td, _) = live.set_df(d, 1);
        assert_eq!(td, tb);
        assert_eq!(live.weight(td), 6);
        assert_eq!(live.trigram_capacity(), n + 3);
        assert_eq!(live.index_of(b), None);
        assert_eq!(live.index_of(c), Some(tc));
    }

    /// Re-extraction from a kept profile, re-searching only the lists that
    /// changed, equals a full extraction of the text after pentagrams
    /// become known (before and after the existing ones in rank order) or
    /// unknown and dfs move.
    #[test]
    fn reextract_from_profile_equals_full_extraction_40_texts() {
        let norm = Normalization::NfkcLowercase;
        let mut changed = 0;
        for seed in 0..40u64 {
            let base_texts = texts(seed, 6, 14);
            let params = LexiconParams {
                pent_min_df: 2,
                ..LexiconParams::default()
            };
            let base = Arc::new(Lexicon::build(&counts(&base_texts), &params));
            let index = Arc::new(pentagram_index(&base));
            let mut live = LiveLexicon::new(base, index);
            let stream = texts(seed + 1000, 6, 12);
            let stream_counts = counts(&stream);
            let add_dfs = |live: &mut LiveLexicon| {
                for (t, df) in &stream_counts.trigram_df {
                    let (i, old) = live.set_df(t.0, 0);
                    live.set_df(t.0, old + df);
                    live.set_df_max(live.df_max.max(live.df(i)));
                }
            };
            // The stream's documents are counted (so the document's own
            // trigrams are known, as in the stream) and half of their
            // pentagrams are known, with ranks that leave gaps.
            add_dfs(&mut live);
            let pents: Vec<(Pentagram, u128)> = stream_counts
                .pentagrams
                .iter()
                .map(|(p, c)| (*p, c.first_seen as u128))
                .collect();
            let mut known = Vec::new();
            for &(p, rank) in pents.iter().step_by(2) {
                if live.insert_pentagram(p, 2 * rank + 1).is_some() {
                    known.push(p);
                }
            }
            let doc = &stream[0];
            let mut scratch = FeatureScratch::default();
            extract_pairs(&live, norm, doc, &mut scratch);
            let mut profile: Vec<ProfileEntry> = scratch.profile().collect();
            profile.sort_unstable();

            // Then dfs and df_max move, the other pentagrams become known
            // (interleaving in rank order) and some known ones leave.
            add_dfs(&mut live);
            let mut stale: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
            for &(p, rank) in pents.iter().skip(1).step_by(2) {
                if let Some(tris) = live.insert_pentagram(p, 2 * rank) {
                    stale.extend(tris);
                }
            }
            for p in known.iter().step_by(3) {
                if let Some(tris) = live.remove_pentagram(*p) {
                    stale.extend(tris);
                }
            }
            let full = extract_pairs(&live, norm, doc, &mut scratch);
            let mut want: Vec<ProfileEntry> = scratch.profile().collect();
            want.sort_unstable();
            if profile != want {
                changed += 1;
            }
            let partial =
                reextract_pairs(&live, &mut profile, |t| stale.contains(&t), &mut scratch);
            assert_eq!(sorted_row(&partial), sorted_row(&full), "seed {seed}");
            assert_eq!(profile, want, "seed {seed}");
        }
        // The changes did move best pentagrams (the test compares something).
        assert!(
            changed >= 10,
            "only {changed} of 40 texts changed a best pentagram"
        );
    }
}
